"""nnfast's softmax, image.resize and image.extract_patches against NumPy doing the same
work in the same process (NumPy's natural way: exp/max/sum reductions; gather-and-lerp or
separable matrix products for resizing; sliding_window_view + one copy for patches).

Medians of several runs; the ratio is NumPy time / nnfast time (> 1: nnfast is faster).
Run: python benchmarks/bench_ops_nn.py [--threads N]   (default: nnfast's thread count)
"""
import argparse
import os
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.dirname(__file__))
from _common import median_time, print_table  # noqa: E402

import nnfast  # noqa: E402
from nnfast import ops  # noqa: E402
from nnfast.ops.image_ops import resize_matrix  # noqa: E402

rng = np.random.default_rng(0)


def np_softmax(a, axis=-1):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def np_bilinear(img, out):
    n, h, w, c = img.shape
    idx = []
    for o, i in zip(out, (h, w)):
        s = (np.arange(o) + 0.5) * (i / o) - 0.5
        # TF's half-pixel taps: max(floor(s), 0) and min(ceil(s), i - 1), weight s - floor(s).
        lo = np.clip(np.floor(s).astype(int), 0, i - 1)
        hi = np.clip(np.ceil(s).astype(int), 0, i - 1)
        idx.append((lo, hi, (s - np.floor(s)).astype(np.float32)))
    (r0, r1, fr), (c0, c1, fc) = idx
    rows = img[:, r0] * (1 - fr)[:, None, None] + img[:, r1] * fr[:, None, None]
    return rows[:, :, c0] * (1 - fc)[:, None] + rows[:, :, c1] * fc[:, None]


def np_separable(img, out, interpolation):
    mh = resize_matrix(out[0], img.shape[1], interpolation)
    mw = resize_matrix(out[1], img.shape[2], interpolation)
    return np.einsum("oh,nhwc->nowc", mh, np.einsum("pw,nhwc->nhpc", mw, img, optimize=True),
                     optimize=True)


def np_patches(img, size, stride):
    n = img.shape[0]
    v = sliding_window_view(img, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    out = np.ascontiguousarray(v.transpose(0, 1, 2, 4, 5, 3))
    return out.reshape(n, out.shape[1], out.shape[2], -1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        nnfast.config.set_num_threads(args.threads)
    x2 = rng.standard_normal((256, 1000)).astype(np.float32)
    x3 = rng.standard_normal((32, 64, 128)).astype(np.float32)
    img = rng.uniform(size=(16, 64, 64, 3)).astype(np.float32)
    big = rng.uniform(size=(8, 224, 224, 3)).astype(np.float32)
    ih = np.arange(128) // 2
    cases = [
        ("softmax (256, 1000)", lambda: ops.softmax(x2), lambda: np_softmax(x2)),
        ("softmax axis=1 (32, 64, 128)", lambda: ops.softmax(x3, axis=1),
         lambda: np_softmax(x3, 1)),
        ("resize bilinear 16x64x64x3 -> 128", lambda: ops.image.resize(img, (128, 128)),
         lambda: np_bilinear(img, (128, 128))),
        ("resize bicubic 16x64x64x3 -> 32", lambda: ops.image.resize(img, (32, 32), "bicubic"),
         lambda: np_separable(img, (32, 32), "bicubic")),
        ("resize nearest 16x64x64x3 -> 128",
         lambda: ops.image.resize(img, (128, 128), "nearest"), lambda: img[:, ih][:, :, ih]),
        ("extract_patches 8x224x224x3 16x16/16", lambda: ops.image.extract_patches(big, 16),
         lambda: np_patches(big, 16, 16)),
        ("extract_patches 8x224x224x3 3x3/1", lambda: ops.image.extract_patches(big, 3, 1),
         lambda: np_patches(big, 3, 1)),
    ]
    rows = []
    for name, fast, ref in cases:
        t_fast, t_ref = median_time(fast, repeats=7), median_time(ref, repeats=7)
        rows.append((name, f"{t_fast * 1e3:.3f}", f"{t_ref * 1e3:.3f}", f"{t_ref / t_fast:.2f}"))
    print(f"threads: {nnfast.config.get_num_threads()}, ISA: {nnfast.config.active_isa()}")
    print_table(["op", "nnfast ms", "numpy ms", "numpy/nnfast"], rows)


if __name__ == "__main__":
    main()
