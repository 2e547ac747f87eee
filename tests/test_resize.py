"""Bilinear resize kernels (nnfast._core.resize_bilinear_forward/backward, used by
ops.image_ops.resize and UpSampling2D(interpolation="bilinear")) against a float64 NumPy
reference with tf.image.resize's half-pixel taps, against the dense-matrix GEMM path the
other interpolations use, and against finite differences; every ISA this CPU supports."""
import numpy as np
import pytest

import nnfast
from nnfast import _core
from nnfast.ops import image_ops

from conv_reference import check_grads, isa  # noqa: F401  (isa is a fixture)

# (batch, h, w, c) -> (out_h, out_w): up, down, mixed, non-integer factors, one-pixel axes,
# channel counts below, at and above a 16-lane vector, and a strong width downsampling
# (taps of 16 neighbouring outputs span more than 32 inputs).
CASES = [((2, 5, 7, 3), (15, 14)), ((1, 9, 4, 2), (4, 11)), ((3, 1, 6, 1), (3, 6)),
         ((2, 13, 11, 37), (5, 29)), ((1, 7, 9, 1), (20, 3)), ((2, 3, 40, 16), (7, 90)),
         ((1, 5, 100, 2), (4, 17)), ((2, 4, 133, 1), (9, 19)), ((1, 6, 5, 17), (6, 5)),
         ((2, 1, 1, 5), (4, 3))]


def taps(out_size, in_size):
    """Per output index: lower/upper source index and the weight of the upper one, from the
    float32 half-pixel coordinate (i + 0.5) * (in / out) - 0.5 as tf.image.resize computes it."""
    scale = np.float32(in_size) / np.float32(out_size)
    s = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    fl = np.floor(s)
    lo = np.maximum(fl, 0).astype(np.int64)
    hi = np.minimum(np.ceil(s), in_size - 1).astype(np.int64)
    return lo, hi, (s - fl).astype(np.float64)


def axis_matrix(out_size, in_size):
    """float64 (out, in) interpolation matrix of one axis."""
    lo, hi, t = taps(out_size, in_size)
    m = np.zeros((out_size, in_size))
    np.add.at(m, (np.arange(out_size), lo), 1.0 - t)
    np.add.at(m, (np.arange(out_size), hi), t)
    return m


def reference(x, out_h, out_w):
    """float64 bilinear resize of an NHWC batch: a lerp between the two source rows, then
    between the two source columns."""
    x = x.astype(np.float64)
    lo, hi, t = taps(out_h, x.shape[1])
    rows = x[:, lo] * (1 - t)[None, :, None, None] + x[:, hi] * t[None, :, None, None]
    lo, hi, t = taps(out_w, x.shape[2])
    return rows[:, :, lo] * (1 - t)[None, None, :, None] + rows[:, :, hi] * t[None, None, :, None]


def reference_backward(g, h, w):
    """float64 adjoint: dx[b, i, j, c] = sum_{o, p} Mh[o, i] Mw[p, j] g[b, o, p, c]."""
    mh, mw = axis_matrix(g.shape[1], h), axis_matrix(g.shape[2], w)
    return np.einsum("oi,pj,bopc->bijc", mh, mw, g.astype(np.float64))


def matrix_path(x, out_h, out_w, trans=False):
    """The GEMM-based separable path with the float32 matrices (what bilinear used before).
    With ``trans``, x is an output gradient and (out_h, out_w) the input's spatial size."""
    if trans:
        mh = image_ops.resize_matrix(x.shape[1], out_h, "bilinear")
        mw = image_ops.resize_matrix(x.shape[2], out_w, "bilinear")
    else:
        mh = image_ops.resize_matrix(out_h, x.shape[1], "bilinear")
        mw = image_ops.resize_matrix(out_w, x.shape[2], "bilinear")
    return image_ops._apply_separable(np.ascontiguousarray(x, np.float32), mh, mw, False,
                                      trans=trans)


@pytest.mark.parametrize("shape,out", CASES)
def test_forward_matches_float64_reference(shape, out, isa):  # noqa: F811
    x = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    want = reference(x, *out)
    got = np.asarray(image_ops.resize(x, out))
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # The same float32 taps as the matrix path, so the two agree to float32 rounding.
    np.testing.assert_allclose(got, matrix_path(x, *out), rtol=1e-6, atol=1e-6)
    # channels_first is the same resize of each feature map.
    xf = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    got_cf = np.asarray(image_ops.resize(xf, out, data_format="channels_first"))
    np.testing.assert_allclose(got_cf.transpose(0, 2, 3, 1), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,out", CASES)
def test_backward_matches_float64_adjoint(shape, out, isa):  # noqa: F811
    rng = np.random.default_rng(sum(out))
    g = rng.normal(size=(shape[0], out[0], out[1], shape[3])).astype(np.float32)
    dx = np.empty(shape, np.float32)
    _core.resize_bilinear_backward(g, dx)
    want = reference_backward(g, shape[1], shape[2])
    np.testing.assert_allclose(dx, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, matrix_path(g, shape[1], shape[2], trans=True), rtol=1e-5,
                               atol=2e-6)
    # Through the tape, both data formats.
    for fmt in ("channels_last", "channels_first"):
        tr = fmt == "channels_first"
        x = np.zeros(shape, np.float32)
        v = nnfast.Variable(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if tr else x)
        with nnfast.GradientTape() as tape:
            y = image_ops.resize(v, out, data_format=fmt)
        gt = np.ascontiguousarray(g.transpose(0, 3, 1, 2)) if tr else g
        (grad,) = tape.gradient(y, [v], output_gradients=gt)
        grad = np.asarray(grad)
        np.testing.assert_allclose(grad.transpose(0, 2, 3, 1) if tr else grad, want, rtol=1e-5,
                                   atol=1e-5)


def test_same_size_is_an_exact_copy_and_constants_survive(isa):  # noqa: F811
    x = np.random.default_rng(0).normal(size=(2, 7, 5, 19)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(image_ops.resize(x, (7, 5))), x)
    ones = np.full((1, 6, 9, 3), 2.5, np.float32)
    for out in ((13, 4), (3, 22), (1, 1)):
        np.testing.assert_allclose(np.asarray(image_ops.resize(ones, out)), 2.5, rtol=1e-6)


@pytest.mark.parametrize("shape,out,fmt", [((2, 3, 4, 2), (7, 9), "channels_last"),
                                           ((1, 6, 7, 3), (4, 3), "channels_last"),
                                           ((2, 2, 3, 5), (5, 4), "channels_first")])
def test_gradient_finite_differences(shape, out, fmt, isa):  # noqa: F811
    x = np.random.default_rng(2).normal(size=shape).astype(np.float32)

    def ref(a):
        if fmt == "channels_first":
            return reference(a.transpose(0, 2, 3, 1), *out).transpose(0, 3, 1, 2)
        return reference(a, *out)
    check_grads(lambda a: image_ops.resize(a, out, data_format=fmt), ref, [x])


def test_thread_count_does_not_change_bits():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 40, 37, 16)).astype(np.float32)
    g = rng.normal(size=(3, 81, 75, 16)).astype(np.float32)
    before = nnfast.config.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            nnfast.config.set_num_threads(threads)
            y = np.empty_like(g)
            dx = np.empty_like(x)
            _core.resize_bilinear_forward(x, y)
            _core.resize_bilinear_backward(g, dx)
            results.append((y, dx))
    finally:
        nnfast.config.set_num_threads(before)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][0], reference(x, 81, 75), rtol=1e-5, atol=1e-5)


def test_empty_batches():
    y = np.empty((0, 4, 6, 3), np.float32)
    _core.resize_bilinear_forward(np.zeros((0, 2, 3, 3), np.float32), y)
    dx = np.full((2, 3, 4, 0), 1.0, np.float32)
    _core.resize_bilinear_backward(np.zeros((2, 5, 6, 0), np.float32), dx)
    assert np.asarray(image_ops.resize(np.zeros((0, 3, 3, 2), np.float32), (5, 5))).shape == \
        (0, 5, 5, 2)


def test_bad_inputs_raise():
    x = np.zeros((2, 4, 5, 3), np.float32)
    with pytest.raises(ValueError, match="4-D"):
        _core.resize_bilinear_forward(x[0], np.zeros((8, 10, 3), np.float32))
    with pytest.raises(ValueError, match="batch and channels"):
        _core.resize_bilinear_forward(x, np.zeros((2, 8, 10, 4), np.float32))
    with pytest.raises(ValueError, match="batch and channels"):
        _core.resize_bilinear_backward(np.zeros((3, 8, 10, 3), np.float32), x.copy())
    with pytest.raises(TypeError, match="float32"):
        _core.resize_bilinear_forward(x.astype(np.float64), np.zeros((2, 8, 10, 3), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.resize_bilinear_forward(x[:, :, ::2], np.zeros((2, 8, 10, 3), np.float32))
    ro = np.zeros((2, 8, 10, 3), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        _core.resize_bilinear_forward(x, ro)
    with pytest.raises(ValueError, match="empty image"):
        _core.resize_bilinear_forward(np.zeros((2, 0, 5, 3), np.float32),
                                      np.zeros((2, 8, 10, 3), np.float32))
    with pytest.raises(ValueError, match="4-D"):
        image_ops.resize(np.zeros((4, 5, 3), np.float32), (8, 10))
    with pytest.raises(ValueError, match="positive"):
        image_ops.resize(x, (0, 10))
    with pytest.raises(ValueError, match="interpolation"):
        image_ops.resize(x, (8, 10), "trilinear")
