"""Convolution kernels, ops and layers against float64 NumPy references of Keras's
definitions, for every ISA; gradients against finite differences; layer contracts."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = [
    # (input shape, kernel shape, strides, padding, dilation, groups)
    ((2, 7, 9, 3), (3, 3, 3, 5), (1, 1), "valid", (1, 1), 1),
    ((2, 7, 9, 3), (3, 3, 3, 5), (1, 1), "same", (1, 1), 1),
    ((1, 11, 8, 4), (3, 2, 4, 17), (2, 3), "same", (1, 1), 1),
    ((3, 10, 9, 2), (3, 3, 2, 6), (1, 1), "same", (2, 2), 1),
    ((2, 9, 9, 6), (3, 3, 2, 9), (2, 2), "valid", (1, 1), 3),
    ((2, 8, 8, 16), (1, 1, 16, 7), (1, 1), "valid", (1, 1), 1),   # pointwise fast path
    ((1, 28, 28, 1), (3, 3, 1, 32), (1, 1), "valid", (1, 1), 1),  # the tutorial's first layer
    ((2, 6, 5, 33), (5, 5, 33, 3), (1, 2), "same", (1, 1), 1),
]


@pytest.mark.parametrize("case", CASES)
def test_conv2d_forward_matches_reference(case, isa):
    xs, ks, strides, padding, dilation, groups = case
    x, k, b = rand(*xs), rand(*ks), rand(ks[-1])
    got = ops.conv_fused(x, k, b, strides, padding, dilation, activation="relu")
    want = np.maximum(ref.conv2d(x, k, strides, padding, dilation, groups, b), 0)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_conv2d_backward_matches_reference(case, isa):
    xs, ks, strides, padding, dilation, groups = case
    x, k, b = rand(*xs), rand(*ks), rand(ks[-1])
    w = rand(*np.shape(ref.conv2d(x, k, strides, padding, dilation, groups)))
    dx, dk, db = ref.tape_grads(
        lambda x_, k_, b_: ops.conv_fused(x_, k_, b_, strides, padding, dilation), [x, k, b], w)
    # Exact adjoints in float64: dx = conv^T(w), dk = sum over pixels x_patch * w.
    eps_dx = ref.numeric_grad(
        lambda xi: float(np.sum(ref.conv2d(xi, k, strides, padding, dilation, groups) * w)),
        x, 1.0)
    eps_dk = ref.numeric_grad(
        lambda ki: float(np.sum(ref.conv2d(x, ki, strides, padding, dilation, groups) * w)),
        k, 1.0)
    # The reference is linear in x and k, so a unit central difference is exact.
    np.testing.assert_allclose(dx, eps_dx, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dk, eps_dk, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(db, w.reshape(-1, ks[-1]).sum(0), rtol=1e-4, atol=1e-3)


def test_conv2d_gradients_with_activation_finite_differences():
    x, k, b = rand(1, 5, 4, 2), rand(3, 3, 2, 3), rand(3)

    def reference(x_, k_, b_):
        z = ref.conv2d(x_, k_, (1, 1), "same", (1, 1), 1, b_)
        return np.tanh(z)

    ref.check_grads(lambda x_, k_, b_: ops.conv_fused(x_, k_, b_, 1, "same", activation="tanh"),
                    reference, [x, k, b])


@pytest.mark.parametrize("dm,strides,padding", [(1, (1, 1), "same"), (2, (2, 1), "valid"),
                                                (3, (2, 2), "same")])
def test_depthwise_matches_reference(dm, strides, padding, isa):
    x, k, b = rand(2, 9, 7, 5), rand(3, 3, 5, dm), rand(5 * dm)
    got = ops.conv_fused(x, k, b, strides, padding, depthwise=True)
    want = ref.depthwise_conv2d(x, k, strides, padding) + b
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    w = rand(*want.shape)
    dx, dk, db = ref.tape_grads(
        lambda x_, k_, b_: ops.conv_fused(x_, k_, b_, strides, padding, depthwise=True),
        [x, k, b], w)
    lin = lambda xi, ki: float(np.sum(ref.depthwise_conv2d(xi, ki, strides, padding) * w))  # noqa
    np.testing.assert_allclose(dx, ref.numeric_grad(lambda xi: lin(xi, k), x, 1.0), rtol=1e-4,
                               atol=1e-3)
    np.testing.assert_allclose(dk, ref.numeric_grad(lambda ki: lin(x, ki), k, 1.0), rtol=1e-4,
                               atol=1e-3)
    np.testing.assert_allclose(db, w.reshape(-1, 5 * dm).sum(0), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("strides,padding,output_padding", [
    ((1, 1), "valid", None), ((2, 2), "same", None), ((2, 3), "valid", None),
    ((2, 2), "same", (1, 0)), ((3, 2), "valid", (1, 1))])
def test_conv_transpose_matches_reference(strides, padding, output_padding, isa):
    x, k, b = rand(2, 4, 5, 3), rand(3, 3, 6, 3), rand(6)
    got = ops.conv_transpose_fused(x, k, b, strides, padding, output_padding)
    want = ref.conv2d_transpose(x, k, strides, padding, output_padding) + b
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    w = rand(*want.shape)
    dx, dk = ref.tape_grads(
        lambda x_, k_: ops.conv_transpose_fused(x_, k_, None, strides, padding, output_padding),
        [x, k], w)
    lin = lambda xi, ki: float(np.sum(  # noqa: E731
        ref.conv2d_transpose(xi, ki, strides, padding, output_padding) * w))
    np.testing.assert_allclose(dx, ref.numeric_grad(lambda xi: lin(xi, k), x, 1.0), rtol=1e-4,
                               atol=1e-3)
    np.testing.assert_allclose(dk, ref.numeric_grad(lambda ki: lin(x, ki), k, 1.0), rtol=1e-4,
                               atol=1e-3)


def test_conv1d_causal_and_channels_first():
    x, k = rand(2, 11, 3), rand(3, 3, 4)
    got = ops.conv_fused(x, k, None, 1, "causal", 2)
    xp = np.pad(x, ((0, 0), (4, 0), (0, 0)))
    want = ref.conv2d(xp[:, None], k[None], (1, 1), "valid", (1, 2))[:, 0]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    x4, k4 = rand(2, 3, 8, 7), rand(3, 3, 3, 4)
    got = ops.conv(x4, k4, padding="same", data_format="channels_first")
    want = ref.conv2d(x4.transpose(0, 2, 3, 1), k4, padding="same").transpose(0, 3, 1, 2)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def test_conv_same_bits_whatever_isa_tile_split():
    # A batch spanning several tiles gives the same per-image result as one image alone.
    x, k = rand(5, 30, 30, 8), rand(3, 3, 8, 16)
    full = np.asarray(ops.conv(x, k, padding="same"))
    one = np.asarray(ops.conv(x[3:4], k, padding="same"))
    np.testing.assert_array_equal(full[3:4], one)


def test_conv_bad_inputs_raise():
    with pytest.raises(ValueError, match="kernel"):
        ops.conv(rand(1, 5, 5, 3), rand(3, 3, 2, 4))
    with pytest.raises(ValueError, match="padding"):
        ops.conv(rand(1, 5, 5, 3), rand(3, 3, 3, 4), padding="full")
    with pytest.raises(ValueError, match="empty"):
        ops.conv(rand(1, 2, 2, 3), rand(3, 3, 3, 4))
    from nnfast import _core

    with pytest.raises(TypeError, match="float32"):
        _core.conv2d_forward(np.zeros((1, 5, 5, 3)), rand(3, 3, 3, 4), None,
                             np.zeros((1, 3, 3, 4), np.float32), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="kernel"):
        _core.conv2d_forward(rand(1, 5, 5, 3), rand(3, 3, 2, 4), None,
                             np.zeros((1, 3, 3, 4), np.float32), (1, 1), (0, 0), (1, 1))
