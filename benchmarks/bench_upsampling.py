"""UpSampling2D(interpolation="bilinear") forward and forward+backward, nnfast against
PyTorch ``F.interpolate(mode="bilinear", align_corners=False)`` (the same half-pixel
formula as tf.image.resize), same thread count, medians of several runs.

nnfast runs on channels_last (Keras's default) and channels_first; PyTorch on NCHW
contiguous and on channels_last memory format (its fastest upsampling path).

Run: python benchmarks/bench_upsampling.py [threads]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import have_torch, median_time, print_table  # noqa: E402

import nnfast  # noqa: E402
from nnfast.ops import image_ops  # noqa: E402

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
nnfast.config.set_num_threads(THREADS)
CASES = [(32, 16, 16, 64), (16, 32, 32, 32), (8, 64, 64, 16)]


def nnfast_step(x, g, data_format):
    v = nnfast.Variable(x)
    g = g if data_format == "channels_last" else np.ascontiguousarray(g.transpose(0, 3, 1, 2))
    size = (2 * x.shape[2], 2 * x.shape[3]) if data_format == "channels_first" \
        else (2 * x.shape[1], 2 * x.shape[2])

    def run():
        with nnfast.GradientTape() as tape:
            y = image_ops.resize(v, size, "bilinear", data_format)
        tape.gradient(y, [v], output_gradients=g)
    return run


rows = []
torch = None
if have_torch():
    import torch
    torch.set_num_threads(THREADS)
for n, h, w, c in CASES:
    rng = np.random.default_rng(0)
    x = rng.random((n, h, w, c), dtype=np.float32)
    g = rng.random((n, 2 * h, 2 * w, c), dtype=np.float32)
    xf = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    gf = np.ascontiguousarray(g.transpose(0, 3, 1, 2))
    fwd_last = median_time(lambda: image_ops.resize(x, (2 * h, 2 * w)), repeats=7)
    fwd_first = median_time(lambda: image_ops.resize(xf, (2 * h, 2 * w),
                                                     data_format="channels_first"), repeats=7)
    step_last = median_time(nnfast_step(x, g, "channels_last"), repeats=7)
    row = [f"{(n, h, w, c)}", f"{fwd_last * 1e3:.2f}", f"{fwd_first * 1e3:.2f}",
           f"{step_last * 1e3:.2f}"]
    if torch is not None:
        interp = torch.nn.functional.interpolate
        xt = torch.from_numpy(xf)
        xcl = xt.contiguous(memory_format=torch.channels_last)
        t_nchw = median_time(lambda: interp(xt, scale_factor=2, mode="bilinear"), repeats=7)
        t_cl = median_time(lambda: interp(xcl, scale_factor=2, mode="bilinear"), repeats=7)
        xr = xcl.clone().requires_grad_(True)
        gt = torch.from_numpy(gf).contiguous(memory_format=torch.channels_last)

        def torch_step():
            interp(xr, scale_factor=2, mode="bilinear").backward(gt)
            xr.grad = None
        t_step = median_time(torch_step, repeats=7)
        ref = interp(xt, scale_factor=2, mode="bilinear").numpy().transpose(0, 2, 3, 1)
        diff = np.abs(np.asarray(image_ops.resize(x, (2 * h, 2 * w))) - ref).max()
        row += [f"{t_nchw * 1e3:.2f}", f"{t_cl * 1e3:.2f}", f"{t_step * 1e3:.2f}",
                f"{t_cl / fwd_last:.2f}", f"{diff:.1e}"]
    rows.append(row)

headers = ["shape NHWC (x2)", "nnfast NHWC ms", "nnfast NCHW ms", "nnfast NHWC fwd+bwd ms"]
if torch is not None:
    headers += ["torch NCHW ms", "torch CL ms", "torch CL fwd+bwd ms",
                "torch CL / nnfast NHWC", "max |diff|"]
print(f"threads={THREADS}")
print_table(headers, rows)
