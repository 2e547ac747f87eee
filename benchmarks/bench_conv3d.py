"""Conv3D kernels and a ConvLSTM2D layer (forward + backward): nnfast vs PyTorch CPU, side by
side in one process with the same thread count (1 and 2 threads by default).

nnfast runs NDHWC (Keras's channels_last); PyTorch runs its preferred NCDHW (contiguous).
Each measurement alternates the two frameworks and reports medians, so load from other
processes hits both alike. Ratios > 1 mean nnfast is faster. The ConvLSTM in PyTorch (which
has none) is the same computation written the usual way: one convolution for every step's
input projection, then per step a 'same' convolution of h and the gates.

    PYTHONPATH=python python3 benchmarks/bench_conv3d.py [--threads 1 2] [--repeats 7]
"""
import argparse
import statistics
import time

import numpy as np

import nnfast
from nnfast import _core, layers, ops

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def timeit(fn, min_seconds=0.1):
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def side_by_side(nn_fn, torch_fn, repeats):
    nn_fn()
    torch_fn()
    a, b = [], []
    for _ in range(repeats):
        a.append(timeit(nn_fn))
        b.append(timeit(torch_fn))
    return statistics.median(a), statistics.median(b)


def row(name, work, unit, t_nn, t_torch):
    print(f"{name:<52} nnfast {work / t_nn:8.2f} {unit}  torch {work / t_torch:8.2f} {unit}  "
          f"ratio {t_torch / t_nn:5.2f}x", flush=True)


def bench_conv3d(repeats, batch, d, h, w, cin, cout, k):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, d, h, w, cin)).astype(np.float32)
    kern = (rng.standard_normal((k, k, k, cin, cout)) * 0.1).astype(np.float32)
    bias = np.zeros(cout, np.float32)
    pad = (k - 1) // 2
    y = np.empty((batch, d, h, w, cout), np.float32)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = np.empty_like(x), np.empty_like(kern), np.empty_like(bias)
    geom = ((1, 1, 1), (pad,) * 3, (1, 1, 1))
    flops = 2.0 * batch * d * h * w * cout * k ** 3 * cin
    tx = torch.from_numpy(x.transpose(0, 4, 1, 2, 3).copy()).requires_grad_(True)
    tk = torch.from_numpy(kern.transpose(4, 3, 0, 1, 2).copy()).requires_grad_(True)
    tb = torch.zeros(cout, requires_grad=True)
    tg = torch.from_numpy(g.transpose(0, 4, 1, 2, 3).copy())

    def nn_fwd():
        _core.conv3d_forward(x, kern, bias, y, *geom)

    def t_fwd():
        with torch.no_grad():
            torch.nn.functional.conv3d(tx, tk, tb, 1, pad)

    def nn_bwd():
        _core.conv3d_backward_data(g, kern, dx, *geom)
        _core.conv3d_backward_weights(x, g, dk, db, *geom)

    out = torch.nn.functional.conv3d(tx, tk, tb, 1, pad)

    def t_bwd():
        torch.autograd.grad(out, (tx, tk, tb), tg, retain_graph=True)

    name = f"conv3d {k}^3 same {d}x{h}x{w}x{cin}->{cout} b{batch}"
    row(name + " fwd", flops / 1e9, "GFLOP/s", *side_by_side(nn_fwd, t_fwd, repeats))
    row(name + " bwd", 2 * flops / 1e9, "GFLOP/s", *side_by_side(nn_bwd, t_bwd, repeats))


def torch_conv_lstm(x, wk, wr, b):
    """x (B, T, C, H, W); wk (4F, C, k, k); wr (4F, F, k, k); Keras's gates i, f, c, o."""
    bsz, steps = x.shape[:2]
    f = wr.shape[1]
    k = wk.shape[-1]
    proj = torch.nn.functional.conv2d(x.reshape((bsz * steps,) + x.shape[2:]), wk, b,
                                      padding=k // 2)
    proj = proj.reshape((bsz, steps) + proj.shape[1:])
    h = torch.zeros((bsz, f) + x.shape[3:])
    c = torch.zeros_like(h)
    outs = []
    for t in range(steps):
        z = proj[:, t] + torch.nn.functional.conv2d(h, wr, padding=k // 2)
        i, fg, gg, o = torch.split(z, f, dim=1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(gg)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1)


def bench_conv_lstm(repeats, batch, steps, hw, cin, filters, k):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, steps, hw, hw, cin)).astype(np.float32)
    layer = layers.ConvLSTM2D(filters, k, padding="same", return_sequences=True)
    layer(x[:1])
    kern, rec, bias = layer.get_weights()
    tx = torch.from_numpy(x.transpose(0, 1, 4, 2, 3).copy()).requires_grad_(True)
    twk = torch.from_numpy(kern.transpose(3, 2, 0, 1).copy()).requires_grad_(True)
    twr = torch.from_numpy(rec.transpose(3, 2, 0, 1).copy()).requires_grad_(True)
    tb = torch.from_numpy(bias.copy()).requires_grad_(True)
    np.testing.assert_allclose(
        np.asarray(layer(x)).transpose(0, 1, 4, 2, 3),
        torch_conv_lstm(tx, twk, twr, tb).detach().numpy(), rtol=1e-3, atol=1e-4)
    xv = nnfast.Variable(x)

    def nn_step():
        with nnfast.GradientTape() as tape:
            loss = ops.sum(layer(xv))
        tape.gradient(loss, [xv] + layer.trainable_weights)

    def t_step():
        loss = torch_conv_lstm(tx, twk, twr, tb).sum()
        torch.autograd.grad(loss, (tx, twk, twr, tb))

    def nn_fwd():
        layer(x)

    def t_fwd():
        with torch.no_grad():
            torch_conv_lstm(tx, twk, twr, tb)

    flops = 2.0 * batch * steps * hw * hw * 4 * filters * k * k * (cin + filters)
    name = f"ConvLSTM2D({filters}, {k}) {steps}x{hw}x{hw}x{cin} b{batch}"
    row(name + " fwd", flops / 1e9, "GFLOP/s", *side_by_side(nn_fwd, t_fwd, repeats))
    row(name + " fwd+bwd", 3 * flops / 1e9, "GFLOP/s", *side_by_side(nn_step, t_step, repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if torch is None:
        raise SystemExit("PyTorch is not installed: pip install torch==2.13.0")
    for n in args.threads:
        nnfast.config.set_num_threads(n)
        torch.set_num_threads(n)
        print(f"--- {n} thread(s); nnfast {nnfast.config.kernel_info()['gemm_kernel']}, "
              f"conv3d {_core.conv3d_variant_name()}; torch {torch.__version__}")
        bench_conv3d(args.repeats, 2, 16, 32, 32, 1, 32, 3)      # first layer of a volume CNN
        bench_conv3d(args.repeats, 2, 8, 16, 16, 32, 64, 3)      # a middle layer
        bench_conv3d(args.repeats, 4, 8, 28, 28, 16, 16, 3)      # video clips
        bench_conv_lstm(args.repeats, 4, 8, 32, 1, 16, 3)       # next-frame prediction
        bench_conv_lstm(args.repeats, 4, 8, 16, 16, 32, 3)


if __name__ == "__main__":
    main()
