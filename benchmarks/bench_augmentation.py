"""Augmentation throughput: images/s of one batch of random rotation + shift + shear + zoom
(bilinear, reflect fill), for

* nnfast ``ImageDataGenerator`` (one vectorized NumPy gather per batch),
* Keras's own per-image path (scipy.ndimage.affine_transform, order=1, per channel, as
  keras.preprocessing.image.apply_affine_transform does),
* PyTorch ``affine_grid`` + ``grid_sample`` on the whole batch (the torch way; reflection
  padding, bilinear), same thread count.

Medians of several runs; ratios printed. Run: python benchmarks/bench_augmentation.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import have_torch, median_time, print_table  # noqa: E402

import nnfast  # noqa: E402
from nnfast.preprocessing.image import ImageDataGenerator, _transform_matrices  # noqa: E402

THREADS = 1
nnfast.config.set_num_threads(THREADS)
CASES = [(256, 32, 32, 3), (64, 96, 96, 3), (16, 224, 224, 3)]
gen = ImageDataGenerator(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                         shear_range=10, zoom_range=0.2, fill_mode="reflect")


def keras_per_image(x, params):
    from scipy import ndimage

    n, h, w, c = x.shape
    m = _transform_matrices(params["theta"], params["tx"], params["ty"], params["shear"],
                            params["zx"], params["zy"], h, w)
    out = np.empty_like(x)
    for i in range(n):
        for ch in range(c):
            out[i, :, :, ch] = ndimage.affine_transform(x[i, :, :, ch], m[i, :2, :2],
                                                        m[i, :2, 2], order=1, mode="reflect")
    return out


def torch_batch(torch, xt, theta):
    grid = torch.nn.functional.affine_grid(theta, list(xt.shape), align_corners=False)
    return torch.nn.functional.grid_sample(xt, grid, mode="bilinear",
                                           padding_mode="reflection", align_corners=False)


rows = []
for shape in CASES:
    n = shape[0]
    x = (np.random.default_rng(0).random(shape) * 255).astype(np.float32)
    rng = np.random.RandomState(0)
    params = gen.get_random_transforms(n, shape[1:], rng)
    t_nn = median_time(lambda: gen.apply_transforms(x, params), repeats=5)
    t_keras = median_time(lambda: keras_per_image(x, params), repeats=3)
    row = [f"{shape}", f"{n / t_nn:,.0f}", f"{n / t_keras:,.0f}", f"{t_keras / t_nn:.2f}x"]
    if have_torch():
        import torch

        torch.set_num_threads(THREADS)
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        # A comparable random affine per image, in torch's normalized coordinates.
        a = np.deg2rad(params["theta"])
        theta = np.zeros((n, 2, 3), np.float32)
        theta[:, 0, 0] = np.cos(a) * params["zy"]
        theta[:, 0, 1] = -np.sin(a) * params["zx"]
        theta[:, 1, 0] = np.sin(a) * params["zy"]
        theta[:, 1, 1] = np.cos(a) * params["zx"]
        theta[:, 0, 2] = 2 * params["ty"] / shape[2]
        theta[:, 1, 2] = 2 * params["tx"] / shape[1]
        tt = torch.from_numpy(theta)
        t_torch = median_time(lambda: torch_batch(torch, xt, tt), repeats=5)
        row += [f"{n / t_torch:,.0f}", f"{t_torch / t_nn:.2f}x"]
    else:
        row += ["-", "-"]
    rows.append(row)

print(f"Random affine augmentation, images/s ({THREADS} thread), median of runs")
print_table(["batch (n,h,w,c)", "nnfast", "keras per-image", "nnfast/keras",
             "torch grid_sample", "nnfast/torch"], rows)
