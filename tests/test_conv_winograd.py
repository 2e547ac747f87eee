"""Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions (cpp/src/ops/conv_winograd.cpp, the tile
transforms in cpp/src/kernels/conv/winograd_*.cpp, the products on the conv register tiles):
forward with every epilogue, input gradient and kernel gradient against float64 NumPy
references on odd shapes (odd output sizes leave partial tiles, 'same' and uneven padding put
tiles across the border), for every ISA variant, and the cost rule's choice of tile size."""
import numpy as np
import pytest

from nnfast import _core

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RELU, TANH = 1, 3


def _padded_conv(x, k, pads, out_hw):
    """float64 stride-1 cross-correlation with `pads` before and whatever padding after
    gives `out_hw` outputs (zeros outside the input)."""
    (pt, pl), (oh, ow) = pads, out_hw
    pb, pr = oh + 2 - x.shape[1] - pt, ow + 2 - x.shape[2] - pl
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    return ref.conv2d(xp, k)


def _data(batch, h, w, cin, cout, pads, out_hw, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, h, w, cin)).astype(np.float32)
    k = (rng.standard_normal((3, 3, cin, cout)) / np.sqrt(9 * cin)).astype(np.float32)
    dy = rng.standard_normal((batch, *out_hw, cout)).astype(np.float32)
    return x, k, dy


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


F4, F2, F4_ADJOINT = "winograd_f4x4_3x3", "winograd_f2x2_3x3", "winograd_f4x4_3x3_adjoint"
# (batch, h, w, in_c, out_c, pads, out size, route): >= 192 output tiles of 2x2, odd sizes.
FORWARD_CASES = [
    (4, 29, 27, 17, 33, (0, 0), (27, 25), F4),   # valid: partial tiles on the bottom and right
    (2, 33, 31, 20, 16, (1, 1), (33, 31), F4),   # 'same'
    (4, 30, 24, 16, 40, (2, 0), (30, 22), F4),   # uneven padding: 2 before the rows, 0 before cols
    (3, 30, 29, 32, 64, (1, 1), (30, 29), F4),   # the tutorial CNN's channel counts
    # 4x4 tiles would compute as many products here (5x5 outputs: 2x2 tiles of 4x4 or 3x3
    # of 2x2) with costlier transforms: the cost rule keeps 2x2.
    (64, 7, 5, 16, 18, (0, 1), (5, 5), F2),
]
# The input gradient takes Winograd where the cost rule says it beats the register tiles:
# mostly as the adjoint of the forward on its 4x4 tiles; as a forward conv of the output
# gradient with the flipped kernel where the input is smaller than the output (padding 2) or
# 2x2 tiles cost least.
BACKWARD_DATA_CASES = [
    (3, 33, 25, 65, 67, (0, 0), (31, 23), F4_ADJOINT),
    (4, 24, 25, 64, 64, (1, 1), (24, 25), F4_ADJOINT),
    (16, 13, 13, 32, 64, (0, 0), (11, 11), F4_ADJOINT),  # the tutorial CNN's second conv
    (4, 30, 24, 16, 40, (2, 0), (30, 22), F4_ADJOINT),   # uneven padding
    (5, 20, 19, 17, 33, (2, 1), (22, 19), F4),
    (60, 6, 6, 64, 64, (1, 1), (6, 6), F2),
]


@pytest.mark.parametrize("case", FORWARD_CASES)
@pytest.mark.parametrize("epilogue", ["bias_relu", "linear", "scale_residual_tanh"])
def test_winograd_forward_matches_reference(case, epilogue, isa):
    batch, h, w, cin, cout, pads, out_hw, route = case
    x, k, residual = _data(batch, h, w, cin, cout, pads, out_hw)
    rng = np.random.default_rng(1)
    bias = rng.standard_normal(cout).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, cout).astype(np.float32)
    y = np.empty((batch, *out_hw, cout), np.float32)
    want = _padded_conv(x, k, pads, out_hw)
    if epilogue == "bias_relu":
        _core.conv2d_forward(x, k, bias, y, (1, 1), pads, (1, 1), 1, RELU)
        want = np.maximum(want + bias, 0.0)
    elif epilogue == "linear":
        _core.conv2d_forward(x, k, None, y, (1, 1), pads, (1, 1), 1, 0)
    else:
        _core.conv2d_forward(x, k, bias, y, (1, 1), pads, (1, 1), 1, TANH, scale=scale,
                             residual=residual)
        want = np.tanh(want * scale + bias + residual)
    assert _core.selected_kernels()["conv2d_forward"] == route
    assert _core.selected_kernels()["conv2d_winograd"].endswith(f"_{isa}")
    _close(y, want)


@pytest.mark.parametrize("case",
                         FORWARD_CASES[:3] + FORWARD_CASES[4:] + BACKWARD_DATA_CASES[:3]
                         + BACKWARD_DATA_CASES[4:5])
def test_winograd_kernel_gradient_matches_reference(case, isa):
    batch, h, w, cin, cout, pads, out_hw, route = case
    x, k, dy = _data(batch, h, w, cin, cout, pads, out_hw, seed=2)
    dk, db = np.empty_like(k), np.empty(cout, np.float32)
    _core.conv2d_backward_weights(x, dy, dk, db, (1, 1), pads, (1, 1))
    # (The input gradient's adjoint route runs on the forward's 4x4 tiles.)
    assert _core.selected_kernels()["conv2d_backward_weights"] == {F4_ADJOINT: F4}.get(route,
                                                                                      route)
    (pt, pl), (oh, ow) = pads, out_hw
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, oh + 2 - h - pt), (pl, ow + 2 - w - pl),
                                       (0, 0)))
    want = np.zeros((3, 3, cin, cout))
    for i in range(3):
        for j in range(3):
            patch = xp[:, i:i + oh, j:j + ow].reshape(-1, cin)
            want[i, j] = patch.T @ dy.reshape(-1, cout).astype(np.float64)
    _close(dk, want)
    _close(db, dy.astype(np.float64).reshape(-1, cout).sum(0))


@pytest.mark.parametrize("case", BACKWARD_DATA_CASES)
def test_winograd_input_gradient_matches_reference(case, isa):
    batch, h, w, cin, cout, pads, out_hw, route = case
    x, k, dy = _data(batch, h, w, cin, cout, pads, out_hw, seed=3)
    dx = np.empty_like(x)
    _core.conv2d_backward_data(dy, k, dx, (1, 1), pads, (1, 1))
    assert _core.selected_kernels()["conv2d_backward_data"] == route
    # The adjoint: a correlation of dy, padded by 2 - pad, with the flipped, transposed kernel.
    flipped = k[::-1, ::-1].transpose(0, 1, 3, 2)
    _close(dx, _padded_conv(dy, flipped, (2 - pads[0], 2 - pads[1]), (h, w)))


def test_small_or_narrow_convolutions_keep_the_other_routes():
    k = np.ones((3, 3, 32, 32), np.float32)
    x = np.ones((2, 14, 14, 32), np.float32)  # 98 tiles: the kernel transform would not pay
    _core.conv2d_forward(x, k, None, np.empty((2, 14, 14, 32), np.float32), (1, 1), (1, 1),
                         (1, 1))
    assert not _core.selected_kernels()["conv2d_forward"].startswith("winograd")
    x = np.ones((1, 28, 28, 32), np.float32)  # 196 tiles: it does
    _core.conv2d_forward(x, k, None, np.empty((1, 28, 28, 32), np.float32), (1, 1), (1, 1),
                         (1, 1))
    assert _core.selected_kernels()["conv2d_forward"] == F4
    # 540 tiles, but at 16 -> 24 channels the transforms outweigh the input gradient's savings
    # over the register tiles (which skip no products but transform nothing).
    x = np.ones((60, 6, 6, 16), np.float32)
    _core.conv2d_backward_data(np.ones((60, 6, 6, 24), np.float32),
                               np.ones((3, 3, 16, 24), np.float32), x, (1, 1), (1, 1), (1, 1))
    assert not _core.selected_kernels()["conv2d_backward_data"].startswith("winograd")


@pytest.mark.parametrize("batch", [1, 3])
def test_adjoint_input_gradient_same_bits_at_any_thread_count(batch):
    # Overlapping patches accumulate their tiles' shares in one order whatever the split:
    # even tile rows, then odd ones, each row left to right.
    x, k, dy = _data(batch, 46, 45, 32, 32, (1, 1), (46, 45), seed=4)  # >= 192 tiles at batch 1
    before = _core.num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            _core.set_num_threads(threads)
            dx = np.full_like(x, np.nan)
            _core.conv2d_backward_data(dy, k, dx, (1, 1), (1, 1), (1, 1))
            assert _core.selected_kernels()["conv2d_backward_data"] == F4_ADJOINT
            results.append(dx)
    finally:
        _core.set_num_threads(before)
    for dx in results[1:]:
        np.testing.assert_array_equal(dx, results[0])
    flipped = k[::-1, ::-1].transpose(0, 1, 3, 2)
    _close(results[0], _padded_conv(dy, flipped, (1, 1), (46, 45)))
