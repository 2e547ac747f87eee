"""Elementwise activation kernels (forward and backward) and fused loss kernels, each ISA
variant of nnfast's registry against NumPy doing the same work in float32 in the same
process (ufuncs into preallocated outputs; SciPy's erf for GELU).

Medians of several runs at the thread count given (default 1); the ratio is NumPy time /
nnfast time (> 1: nnfast is faster). Run with an older build's PYTHONPATH to compare builds.
Run: OMP_NUM_THREADS=1 python benchmarks/bench_elementwise.py [--threads 1] [--repeats 15]
"""
import argparse
import os
import sys

import numpy as np
from scipy import special

sys.path.insert(0, os.path.dirname(__file__))
from _common import median_time, print_table  # noqa: E402

import nnfast  # noqa: E402
from nnfast import _core  # noqa: E402
from nnfast.ops.nn import ACTIVATION_IDS  # noqa: E402


def numpy_activations(x, y, dy, dx):
    """name -> (forward, backward) NumPy float32 closures writing into y / dx."""
    def sigmoid(out):
        np.negative(x, out=out)
        np.exp(out, out=out)
        np.add(out, 1, out=out)
        np.reciprocal(out, out=out)

    def sigmoid_bwd():
        np.subtract(1, y, out=dx)
        np.multiply(dx, y, out=dx)
        np.multiply(dx, dy, out=dx)

    def gelu():
        np.multiply(x, np.float32(0.7071067811865476), out=y)
        special.erf(y, out=y)
        np.add(y, 1, out=y)
        np.multiply(y, x, out=y)
        np.multiply(y, np.float32(0.5), out=y)

    return {
        "relu": (lambda: np.maximum(x, 0, out=y), lambda: np.multiply(dy, x > 0, out=dx)),
        "sigmoid": (lambda: sigmoid(y), sigmoid_bwd),
        "tanh": (lambda: np.tanh(x, out=y),
                 lambda: (np.multiply(y, y, out=dx), np.subtract(1, dx, out=dx),
                          np.multiply(dx, dy, out=dx))),
        "softplus": (lambda: np.logaddexp(0, x, out=y), None),
        "swish": (lambda: (sigmoid(y), np.multiply(y, x, out=y)), None),
        "gelu": (gelu, None),
        "elu": (lambda: np.copyto(y, np.where(x > 0, x, np.expm1(x))), None),
        "exponential": (lambda: np.exp(x, out=y), None),
    }


def numpy_losses(z, labels, p):
    """name -> NumPy float32 closure of the same loss (per-row values)."""
    def softmax_ce():
        m = z.max(-1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(-1, keepdims=True)
        probs = e / s
        return np.log(s[:, 0]) + m[:, 0] - z[np.arange(len(z)), labels], probs

    def bce():
        q = np.clip(p, 1e-7, 1 - 1e-7)
        return -(labels_dense * np.log(q) + (1 - labels_dense) * np.log1p(-q)).mean(-1)

    labels_dense = (p > 0.5).astype(np.float32)
    return {"softmax_ce": softmax_ce, "binary_ce": bce}, labels_dense


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    nnfast.config.set_num_threads(args.threads)
    isas = nnfast.config.available_isas()
    print(f"threads: {args.threads}, "
          f"ISAs: {', '.join(isas)}, medians of {args.repeats}; time per call in us")
    rng = np.random.default_rng(0)
    rows = []
    for shape in ((32, 512), (1 << 20,)):
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        y, dy, dx = np.empty_like(x), rng.standard_normal(shape).astype(np.float32), \
            np.empty_like(x)
        for name, (np_fwd, np_bwd) in numpy_activations(x, y, dy, dx).items():
            act = ACTIVATION_IDS[name]
            alpha = 1.0 if name == "elu" else 0.0
            t_np = median_time(np_fwd, args.repeats)
            t_npb = median_time(np_bwd, args.repeats) if np_bwd else None
            for isa in isas:
                nnfast.config.set_max_isa(isa)
                t = median_time(lambda: _core.activation_forward(act, x, y, alpha), args.repeats)
                _core.activation_forward(act, x, y, alpha)
                tb = median_time(lambda: _core.activation_backward(act, x, y, dy, dx, alpha),
                                 args.repeats)
                rows.append([name, "x".join(map(str, shape)), isa,
                             _core.selected_kernels().get("activation", "?"),
                             f"{t * 1e6:.1f}", f"{t_np / t:.2f}x", f"{tb * 1e6:.1f}",
                             f"{t_npb / tb:.2f}x" if t_npb else "-"])
    print_table(["activation", "shape", "cap", "kernel", "fwd us", "vs NumPy", "bwd us",
                 "vs NumPy"], rows)

    rows = []
    for n, c in ((512, 10), (512, 46), (128, 1000)):
        z = (rng.standard_normal((n, c)) * 3).astype(np.float32)
        labels = rng.integers(0, c, n).astype(np.int64)
        p = rng.uniform(0, 1, (n, c)).astype(np.float32)
        fns, dense = numpy_losses(z, labels, p)
        probs, loss = np.empty_like(z), np.empty(n, np.float32)
        drow, dz = np.ones(n, np.float32), np.empty_like(z)
        ours = {
            "softmax_ce": lambda: _core.softmax_cross_entropy_forward(z, None, labels, probs,
                                                                      loss),
            "binary_ce": lambda: _core.binary_crossentropy_forward(p, dense, False, 1e-7, loss),
        }
        backward = {
            "softmax_ce": lambda: _core.softmax_cross_entropy_backward(probs, None, labels,
                                                                       drow, dz),
            "binary_ce": lambda: _core.binary_crossentropy_backward(p, dense, drow, False, 1e-7,
                                                                    dz),
        }
        for name, np_fn in fns.items():
            t_np = median_time(np_fn, args.repeats)
            for isa in isas:
                nnfast.config.set_max_isa(isa)
                t = median_time(ours[name], args.repeats)
                tb = median_time(backward[name], args.repeats)
                rows.append([name, f"{n}x{c}", isa, _core.selected_kernels().get("loss", "?"),
                             f"{t * 1e6:.1f}", f"{t_np / t:.2f}x", f"{tb * 1e6:.1f}"])
    nnfast.config.set_max_isa(_core.cpu_best_isa())
    print()
    print_table(["loss", "shape", "cap", "kernel", "fwd us", "vs NumPy", "bwd us"], rows)


if __name__ == "__main__":
    main()
