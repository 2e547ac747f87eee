"""Ops that models call in training loops, nnfast against NumPy on the same work, in the
same process: medians of interleaved runs, thread counts printed, ratio = NumPy / nnfast
(> 1 means nnfast is faster).

take (embedding-style row gathers and gathers along an inner axis), einsum (attention and
dense-style contractions; NumPy with and without ``optimize``), matmul with broadcast batch
axes, and, where nnfast has them, softmax, logsumexp, top_k, image.resize and
image.extract_patches (skipped otherwise).

Run: python benchmarks/bench_ops.py [threads] [name filter ...]
(filters keep the lines whose name contains one of them, e.g. ``1 take patches``)
"""

import os
import sys

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
NAME_FILTERS = sys.argv[2:]
# NumPy's BLAS gets the same thread count as nnfast (set before NumPy loads it).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import statistics  # noqa: E402
import time  # noqa: E402

from _common import print_table  # noqa: E402

import nnfast  # noqa: E402
from nnfast import ops  # noqa: E402

nnfast.config.set_num_threads(THREADS)
rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def softmax_ref(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def logsumexp_ref(x):
    m = x.max(-1, keepdims=True)
    return (np.log(np.exp(x - m).sum(-1, keepdims=True)) + m)[..., 0]


def top_k_ref(x, k):
    idx = np.argpartition(-x, k - 1, axis=-1)[..., :k]
    vals = np.take_along_axis(x, idx, -1)
    order = np.argsort(-vals, axis=-1, kind="stable")
    return np.take_along_axis(vals, order, -1), np.take_along_axis(idx, order, -1)


def resize_ref(x, h, w):
    # bilinear, half-pixel centres (tf.image.resize): separable gather + lerp in NumPy
    def axis_weights(n_in, n_out):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    lo, hi, t = axis_weights(x.shape[1], h)
    x = x[:, lo] * (1 - t)[None, :, None, None] + x[:, hi] * t[None, :, None, None]
    lo, hi, t = axis_weights(x.shape[2], w)
    return x[:, :, lo] * (1 - t)[None, None, :, None] + x[:, :, hi] * t[None, None, :, None]


def patches_ref(x, size):
    b, h, w, c = x.shape
    v = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))[:, ::size, ::size]
    return np.ascontiguousarray(v.transpose(0, 1, 2, 4, 5, 3)).reshape(b, h // size, w // size, -1)


# Shapes models use: an embedding of a 20k vocabulary (keras.io's text transformer: 32-wide
# rows, 200 tokens; a 128-wide table at batch 256), a 50k x 256 LM embedding; time steps
# picked from a sequence batch; attention with heads; ViT patches (keras.io's 72 px / 6 px
# example and ViT-B/16 at 224 px).
table = f32(20000, 128)
ids = rng.integers(0, 20000, (256, 64))
table_small, ids_small = f32(20000, 32), rng.integers(0, 20000, (32, 200))
table_large, ids_large = f32(50000, 256), rng.integers(0, 50000, (64, 128))
seq = f32(64, 50, 256)
inner_ids = rng.integers(0, 50, (20,))
seq_large, inner_large = f32(128, 200, 256), rng.integers(0, 200, (50,))
q, k = f32(16, 64, 8, 32), f32(16, 64, 8, 32)
scores = f32(16, 8, 64, 64)
xd, wd = f32(32, 64, 256), f32(256, 256)
a4, b3 = f32(8, 1, 64, 96), f32(12, 96, 80)
a3, b4 = f32(64, 128), f32(16, 4, 128, 96)
a4_large, b3_large = f32(32, 1, 128, 64), f32(8, 64, 128)
logits = f32(4096, 1000)
img = f32(16, 64, 64, 16)
img_vit, img_vit_large = f32(32, 72, 72, 3), f32(32, 224, 224, 3)

cases = [
    (
        "take rows (20000x128)[256x64]",
        lambda: ops.take(table, ids, axis=0),
        lambda: np.take(table, ids, axis=0),
    ),
    (
        "take rows (20000x32)[32x200]",
        lambda: ops.take(table_small, ids_small, axis=0),
        lambda: np.take(table_small, ids_small, axis=0),
    ),
    (
        "take rows (50000x256)[64x128]",
        lambda: ops.take(table_large, ids_large, axis=0),
        lambda: np.take(table_large, ids_large, axis=0),
    ),
    (
        "take axis=1 (128,200,256)[50]",
        lambda: ops.take(seq_large, inner_large, axis=1),
        lambda: np.take(seq_large, inner_large, axis=1),
    ),
    (
        "take axis=1 (64,50,256)[20]",
        lambda: ops.take(seq, inner_ids, axis=1),
        lambda: np.take(seq, inner_ids, axis=1),
    ),
    (
        "einsum bqhd,bkhd->bhqk",
        lambda: ops.einsum("bqhd,bkhd->bhqk", q, k),
        lambda: np.einsum("bqhd,bkhd->bhqk", q, k),
    ),
    (
        "einsum bhqk,bkhd->bqhd",
        lambda: ops.einsum("bhqk,bkhd->bqhd", scores, k),
        lambda: np.einsum("bhqk,bkhd->bqhd", scores, k),
    ),
    (
        "einsum btd,de->bte",
        lambda: ops.einsum("btd,de->bte", xd, wd),
        lambda: np.einsum("btd,de->bte", xd, wd),
    ),
    ("matmul (8,1,64,96)@(12,96,80)", lambda: ops.matmul(a4, b3), lambda: np.matmul(a4, b3)),
    ("matmul (64,128)@(16,4,128,96)", lambda: ops.matmul(a3, b4), lambda: np.matmul(a3, b4)),
    ("matmul (32,1,128,64)@(8,64,128)", lambda: ops.matmul(a4_large, b3_large),
     lambda: np.matmul(a4_large, b3_large)),
]
optimized = {
    "einsum bqhd,bkhd->bhqk": lambda: np.einsum("bqhd,bkhd->bhqk", q, k, optimize=True),
    "einsum bhqk,bkhd->bqhd": lambda: np.einsum("bhqk,bkhd->bqhd", scores, k, optimize=True),
    "einsum btd,de->bte": lambda: np.einsum("btd,de->bte", xd, wd, optimize=True),
}
if hasattr(ops, "softmax"):
    cases.append(("softmax (4096,1000)", lambda: ops.softmax(logits), lambda: softmax_ref(logits)))
if hasattr(ops, "logsumexp"):
    cases.append(
        (
            "logsumexp (4096,1000) axis=-1",
            lambda: ops.logsumexp(logits, axis=-1),
            lambda: logsumexp_ref(logits),
        )
    )
if hasattr(ops, "top_k"):
    cases.append(
        ("top_k (4096,1000) k=5", lambda: ops.top_k(logits, 5), lambda: top_k_ref(logits, 5))
    )
image = getattr(ops, "image", None)
if image is not None and hasattr(image, "resize"):
    cases.append(
        (
            "image.resize 64->96 bilinear",
            lambda: image.resize(img, (96, 96)),
            lambda: resize_ref(img, 96, 96),
        )
    )
if image is not None and hasattr(image, "extract_patches"):
    cases.append(
        (
            "image.extract_patches 8x8",
            lambda: image.extract_patches(img, 8),
            lambda: patches_ref(img, 8),
        )
    )
    cases.append(
        (
            "image.extract_patches (32,72,72,3) 6x6",
            lambda: image.extract_patches(img_vit, 6),
            lambda: patches_ref(img_vit, 6),
        )
    )
    cases.append(
        (
            "image.extract_patches (32,224,224,3) 16x16",
            lambda: image.extract_patches(img_vit_large, 16),
            lambda: patches_ref(img_vit_large, 16),
        )
    )
skipped = [n for n in ("softmax", "logsumexp", "top_k") if not hasattr(ops, n)]
skipped += [
    f"image.{n}" for n in ("resize", "extract_patches") if image is None or not hasattr(image, n)
]

if NAME_FILTERS:
    cases = [c for c in cases if any(f in c[0] for f in NAME_FILTERS)]
REPEATS = 15


def interleaved_medians(*fns, repeats=REPEATS):
    """(wall, cpu) median seconds of each of ``fns``, run in turn within each repeat so a
    busy machine's load falls on all alike. CPU time (this process) is the fairer measure
    on a shared machine: preemption inflates wall time but not CPU time."""
    for fn in fns:
        fn()
    walls = [[] for _ in fns]
    cpus = [[] for _ in fns]
    for _ in range(repeats):
        for fn, wall, cpu in zip(fns, walls, cpus):
            w, c = time.perf_counter(), time.process_time()
            fn()
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus)]


def first(out):
    return out[0] if isinstance(out, tuple) else out


rows = []
for name, ours, theirs in cases:
    np.testing.assert_allclose(np.asarray(first(ours())), first(theirs()), rtol=2e-3, atol=2e-3)
    fns = [ours, theirs] + ([optimized[name]] if name in optimized else [])
    (w_ours, c_ours), (w_np, c_np), *opt = interleaved_medians(*fns)
    row = [name, f"{w_ours * 1e3:.2f}", f"{w_np * 1e3:.2f}", f"{w_np / w_ours:.2f}",
           f"{c_ours * 1e3:.2f}", f"{c_np * 1e3:.2f}", f"{c_np / c_ours:.2f}"]
    row += [f"{opt[0][1] * 1e3:.2f}", f"{opt[0][1] / c_ours:.2f}"] if opt else ["-", "-"]
    rows.append(row)

print(f"threads: nnfast {THREADS}, NumPy's BLAS {os.environ['OPENBLAS_NUM_THREADS']} "
      f"(NumPy {np.__version__}); medians of {REPEATS} interleaved runs; "
      "ratio = NumPy time / nnfast time")
print_table(["op", "wall ms", "np wall ms", "ratio", "cpu ms", "np cpu ms", "cpu ratio",
             "np.einsum(optimize) cpu ms", "cpu ratio"], rows)
if skipped:
    print("skipped (not in nnfast.ops on this branch):", ", ".join(skipped))
