"""Convolution, pooling and batch-norm kernels and the Keras tutorial CNN: nnfast vs PyTorch
CPU, side by side in one process with the same thread count.

nnfast runs NHWC (Keras's channels_last); PyTorch runs its preferred NCHW (contiguous) on the
same shapes. Each measurement alternates the two frameworks and reports medians, so load from
other processes hits both alike. Ratios > 1 mean nnfast is faster.

    PYTHONPATH=python python3 benchmarks/bench_conv.py [--threads 2] [--repeats 7] [--quick]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

import nnfast
from nnfast import layers, ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RatioChart, cpu_name  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def timeit(fn, min_seconds=0.05):
    """Mean seconds per call over a loop of at least min_seconds (short kernels would
    otherwise measure the scheduler's time slices on a busy machine)."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def side_by_side(nn_fn, torch_fn, repeats):
    """Median seconds per call of nn_fn and torch_fn, measured in alternating rounds."""
    nn_fn()
    torch_fn()
    a, b = [], []
    for _ in range(repeats):
        a.append(timeit(nn_fn))
        b.append(timeit(torch_fn))
    return statistics.median(a), statistics.median(b)


CHART = RatioChart("Convolution kernels and the tutorial CNN")


def row(name, work, unit, t_nn, t_torch):
    CHART.add(name, "PyTorch", t_torch / t_nn)
    print(f"{name:<44} nnfast {work / t_nn:9.2f} {unit}  torch {work / t_torch:9.2f} {unit}  "
          f"ratio {t_torch / t_nn:5.2f}x")


# --- kernels -------------------------------------------------------------------------------


def bench_conv(repeats, batch, h, w, cin, cout, k, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, h, w, cin)).astype(np.float32)
    kern = (rng.standard_normal((k, k, cin, cout)) * 0.1).astype(np.float32)
    bias = np.zeros(cout, np.float32)
    y = np.asarray(ops.conv_fused(x, kern, bias, stride, padding))
    g = rng.standard_normal(y.shape).astype(np.float32)
    oh, ow = y.shape[1:3]
    flops = 2.0 * batch * oh * ow * cout * k * k * cin
    from nnfast import _core
    from nnfast.ops.conv import _pad_before

    pads = (_pad_before(h, k, stride, 1, padding), _pad_before(w, k, stride, 1, padding))
    dx = np.empty_like(x)
    dk = np.empty_like(kern)
    db = np.empty_like(bias)
    yb = np.empty_like(y)

    # Keras/TF 'same' with stride 2 pads (0, 1): torch's symmetric padding cannot express it,
    # so torch gets the input pre-padded once, outside the timing.
    xt = x.transpose(0, 3, 1, 2)
    if padding == "same" and stride > 1:
        xt = np.pad(xt, ((0, 0), (0, 0), (pads[0], (oh - 1) * stride + k - h - pads[0]),
                         (pads[1], (ow - 1) * stride + k - w - pads[1])))
    tx = torch.from_numpy(xt.copy()).requires_grad_(True)
    tk = torch.from_numpy(kern.transpose(3, 2, 0, 1).copy()).requires_grad_(True)
    tb = torch.zeros(cout, requires_grad=True)
    tpad = padding if stride == 1 else 0
    tg = torch.from_numpy(g.transpose(0, 3, 1, 2).copy())

    def nn_fwd():
        _core.conv2d_forward(x, kern, bias, yb, (stride, stride), pads, (1, 1))

    def t_fwd():
        with torch.no_grad():
            torch.nn.functional.conv2d(tx, tk, tb, stride, tpad)

    def nn_bwd():
        _core.conv2d_backward_data(g, kern, dx, (stride, stride), pads, (1, 1))
        _core.conv2d_backward_weights(x, g, dk, db, (stride, stride), pads, (1, 1))

    out = torch.nn.functional.conv2d(tx, tk, tb, stride, tpad)

    def t_bwd():
        torch.autograd.grad(out, (tx, tk, tb), tg, retain_graph=True)

    name = f"conv{k}x{k} s{stride} {padding} {h}x{w}x{cin}->{cout} b{batch}"
    row(name + " fwd", flops / 1e9, "GFLOP/s", *side_by_side(nn_fwd, t_fwd, repeats))
    row(name + " bwd", 2 * flops / 1e9, "GFLOP/s", *side_by_side(nn_bwd, t_bwd, repeats))


def bench_conv_pool(repeats, batch, h, w, cin, cout, k, pool):
    """The fused Conv2D(relu) -> MaxPooling2D block (what the tutorial CNN's first two layers
    run as) against torch's conv2d + relu + max_pool2d."""
    from nnfast import _core

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, h, w, cin)).astype(np.float32)
    kern = (rng.standard_normal((k, k, cin, cout)) * 0.3).astype(np.float32)
    bias = np.zeros(cout, np.float32)
    oh, ow = h - k + 1, w - k + 1
    y = np.empty((batch, oh // pool, ow // pool, cout), np.float32)
    am = np.empty(y.shape, np.uint8)
    geom = ((1, 1), (0, 0), (1, 1), (oh, ow), (pool, pool), (0, 0))
    g = rng.standard_normal(y.shape).astype(np.float32)
    dk, db = np.empty_like(kern), np.empty_like(bias)
    flops = 2.0 * batch * oh * ow * cout * k * k * cin
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    tk = torch.from_numpy(kern.transpose(3, 2, 0, 1).copy()).requires_grad_(True)
    tb = torch.zeros(cout, requires_grad=True)
    F = torch.nn.functional

    def t_fwd():
        with torch.no_grad():
            F.max_pool2d(F.relu(F.conv2d(tx, tk, tb)), pool)

    tout = F.max_pool2d(F.relu(F.conv2d(tx, tk, tb)), pool)
    tg = torch.from_numpy(g.transpose(0, 3, 1, 2).copy())
    name = f"conv{k}x{k}+relu+maxpool{pool} {h}x{w}x{cin}->{cout} b{batch}"
    _core.conv2d_relu_maxpool_forward(x, kern, bias, y, am, *geom)
    row(name + " fwd", flops / 1e9, "GFLOP/s", *side_by_side(
        lambda: _core.conv2d_relu_maxpool_forward(x, kern, bias, y, am, *geom), t_fwd, repeats))
    row(name + " bwd", flops / 1e9, "GFLOP/s", *side_by_side(
        lambda: _core.conv2d_relu_maxpool_backward_weights(x, g, y, am, dk, db, *geom),
        lambda: torch.autograd.grad(tout, (tk, tb), tg, retain_graph=True), repeats))


def bench_pool_bn(repeats, batch, h, w, c):
    from nnfast import _core

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, h, w, c)).astype(np.float32)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    y = np.empty((batch, h // 2, w // 2, c), np.float32)
    am = np.empty(y.shape, np.int32)
    g = rng.standard_normal(y.shape).astype(np.float32)
    dx = np.empty_like(x)
    mbytes = x.nbytes / 1e9
    row(f"maxpool2x2 fwd {h}x{w}x{c} b{batch}", mbytes, "GB/s", *side_by_side(
        lambda: _core.max_pool2d_forward(x, y, am, (2, 2), (2, 2), (0, 0)),
        lambda: torch.nn.functional.max_pool2d(tx, 2), repeats))
    txg = tx.clone().requires_grad_(True)
    tout = torch.nn.functional.max_pool2d(txg, 2)
    tg = torch.from_numpy(g.transpose(0, 3, 1, 2).copy())
    row(f"maxpool2x2 bwd {h}x{w}x{c} b{batch}", mbytes, "GB/s", *side_by_side(
        lambda: _core.max_pool2d_backward(g, am, dx, (2, 2), (2, 2), (0, 0)),
        lambda: torch.autograd.grad(tout, txg, tg, retain_graph=True), repeats))
    ya = np.empty_like(y)
    row(f"avgpool2x2 fwd {h}x{w}x{c} b{batch}", mbytes, "GB/s", *side_by_side(
        lambda: _core.avg_pool2d_forward(x, ya, (2, 2), (2, 2), (0, 0)),
        lambda: torch.nn.functional.avg_pool2d(tx, 2), repeats))
    gamma, beta = np.ones(c, np.float32), np.zeros(c, np.float32)
    yb, mean, var = np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32)
    tgam, tbet = torch.ones(c), torch.zeros(c)
    rm, rv = torch.zeros(c), torch.ones(c)
    x2 = x.reshape(-1, c)
    row(f"batchnorm train fwd {h}x{w}x{c} b{batch}", mbytes, "GB/s", *side_by_side(
        lambda: _core.batch_norm_forward_training(x2, gamma, beta, 1e-3, yb.reshape(-1, c), mean,
                                                  var),
        lambda: torch.nn.functional.batch_norm(tx, rm, rv, tgam, tbet, True, 0.01, 1e-3),
        repeats))
    gy = rng.standard_normal(x2.shape).astype(np.float32)
    dxb, dg, dbb = np.empty_like(x2), np.empty(c, np.float32), np.empty(c, np.float32)
    txb = tx.clone().requires_grad_(True)
    tgb, tbb = tgam.clone().requires_grad_(True), tbet.clone().requires_grad_(True)
    tyb = torch.nn.functional.batch_norm(txb, rm.clone(), rv.clone(), tgb, tbb, True, 0.01, 1e-3)
    tgy = torch.from_numpy(gy.reshape(x.shape).transpose(0, 3, 1, 2).copy())
    row(f"batchnorm bwd {h}x{w}x{c} b{batch}", mbytes, "GB/s", *side_by_side(
        lambda: _core.batch_norm_backward(x2, gy, gamma, mean, var, 1e-3, True, dxb, dg, dbb),
        lambda: torch.autograd.grad(tyb, (txb, tgb, tbb), tgy, retain_graph=True), repeats))


# --- the tutorial CNN ------------------------------------------------------------------------


def nnfast_cnn():
    model = nnfast.Sequential([
        nnfast.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def torch_cnn():
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(5408, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    return model, opt


def bench_cnn(repeats, quick):
    from nnfast.models import fusion

    rng = np.random.default_rng(0)
    for batch in (32, 128):
        steps = 20 if quick else 40
        n = batch * steps
        x = rng.random((n, 28, 28, 1), dtype=np.float32)
        labels = rng.integers(0, 10, n)
        y = np.eye(10, dtype=np.float32)[labels]
        # The same model with the Conv2D -> MaxPooling2D pair run as two ops (built without
        # the Sequential peephole), to show what the fused op buys.
        fusion.FUSE_CONV_POOL = False
        unfused = nnfast_cnn()
        fusion.FUSE_CONV_POOL = True
        model = nnfast_cnn()
        tmodel, topt = torch_cnn()
        tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        ty = torch.from_numpy(labels)
        loss_fn = torch.nn.CrossEntropyLoss()

        def nn_epoch():
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

        def t_epoch():
            tmodel.train()
            perm = torch.randperm(n)
            for i in range(0, n, batch):
                idx = perm[i:i + batch]
                topt.zero_grad()
                loss = loss_fn(tmodel(tx[idx]), ty[idx])
                loss.backward()
                topt.step()

        def nn_epoch_unfused():
            unfused.fit(x, y, batch_size=batch, epochs=1, verbose=0)

        row(f"tutorial CNN train (fit) batch {batch}", n, "samples/s",
            *side_by_side(nn_epoch, t_epoch, repeats))
        row(f"  same, conv+pool unfused, batch {batch}", n, "samples/s",
            *side_by_side(nn_epoch_unfused, t_epoch, repeats))

    n = 1024 * (4 if quick else 8)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    tx = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    model = nnfast_cnn()
    tmodel, _ = torch_cnn()
    tmodel.eval()

    def t_predict():
        with torch.no_grad():
            for i in range(0, n, 1024):
                tmodel(tx[i:i + 1024])

    row("tutorial CNN predict batch 1024", n, "samples/s", *side_by_side(
        lambda: model.predict(x, batch_size=1024, verbose=0), t_predict, repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="fewer shapes and steps")
    parser.add_argument("--only", choices=["kernels", "cnn"], default=None)
    parser.add_argument("--chart", help="also write a PNG chart of the ratios to this path")
    args = parser.parse_args()
    if torch is None:
        raise SystemExit("PyTorch is needed for the comparison (pip install torch)")
    torch.set_num_threads(args.threads)
    nnfast.config.set_num_threads(args.threads)
    print(f"threads={args.threads} nnfast {nnfast.config.kernel_info()} torch {torch.__version__}")
    print("layouts: nnfast NHWC (channels_last), torch NCHW (its default contiguous layout)")
    if args.only in (None, "kernels"):
        bench_conv(args.repeats, 8, 56, 56, 64, 64, 3, 1, "same")
        bench_conv(args.repeats, 128, 28, 28, 1, 32, 3, 1, "valid")
        bench_conv_pool(args.repeats, 128, 28, 28, 1, 32, 3, 2)
        if not args.quick:
            bench_conv(args.repeats, 8, 56, 56, 64, 128, 3, 2, "same")
            bench_conv(args.repeats, 8, 28, 28, 128, 256, 1, 1, "valid")
        bench_pool_bn(args.repeats, 128, 26, 26, 32)
        if not args.quick:
            bench_pool_bn(args.repeats, 8, 56, 56, 64)
    if args.only in (None, "cnn"):
        bench_cnn(max(3, args.repeats // 2), args.quick)
    if args.chart:
        CHART.title += f", {args.threads} thread(s)"
        CHART.save(args.chart, f"{cpu_name()}; median of {args.repeats}")


if __name__ == "__main__":
    main()
