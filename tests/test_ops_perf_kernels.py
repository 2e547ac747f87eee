"""The C++ kernels behind ops.top_k, ops.take, ops.logsumexp and ops.image.extract_patches
against float64 NumPy references on random odd shapes (every ISA variant where the kernel
has several), their edge cases and errors, and their gradients."""
import json
import os

import numpy as np
import pytest
from conftest import check_grads

import nnfast
from nnfast import _core, ops

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "ops_perf")


# --- top_k ----------------------------------------------------------------------------------


def top_k_reference(x, k):
    """TF's order as a stable sort: larger first, ties by lower index, NaN below -inf."""
    nan = np.isnan(x)
    key = np.where(nan | (x == 0), 0.0, -x.astype(np.float64))  # -0.0 and 0.0 tie
    # lexsort is stable and sorts by its last key first: numbers before NaNs, then by -x.
    idx = np.lexsort((key, nan), axis=-1)[..., :k]
    return np.take_along_axis(x, idx, axis=-1), idx


def awkward_rows(rng, shape):
    """Random rows with ties, infinities, signed zeros and NaNs mixed in."""
    x = rng.standard_normal(shape).astype(np.float32)
    x[..., ::7] = np.round(x[..., ::7])  # ties
    flat = x.reshape(-1, shape[-1])
    if shape[-1] > 4:
        flat[0, 1], flat[0, 3] = np.inf, -np.inf
        flat[-1, ::3] = np.nan
        flat[-1, 2] = -0.0
    return x


# (shape, k) for each selection path: block-maximum prefilter (long rows, small k), heap,
# nth_element (large k), and the edges k = n, k = 0, one column.
@pytest.mark.parametrize("shape,k", [((3, 1031), 3), ((2, 5, 4099), 7), ((5, 97), 7),
                                     ((4, 37), 20), ((3, 13), 13), ((6, 9), 0), ((4, 1), 1),
                                     ((1, 257), 31), ((7,), 2), ((2, 2200), 17)])
def test_top_k_kernel_matches_stable_sort_bit_for_bit(shape, k):
    x = awkward_rows(np.random.default_rng(sum(shape) + k), shape)
    values, indices = _core.top_k(x, k)
    ref_values, ref_indices = top_k_reference(x, k)
    assert indices.dtype == np.int32 and values.shape == ref_values.shape
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(values.view(np.int32), ref_values.view(np.int32))  # bits


def test_top_k_rows_of_nan_and_negative_infinity():
    x = np.array([[np.nan] * 40, [-np.inf] * 20 + [np.nan] * 20,
                  [np.nan] * 38 + [1.0, -np.inf]], np.float32)
    for k in (1, 2, 3, 5, 40):
        np.testing.assert_array_equal(_core.top_k(x, k)[1], top_k_reference(x, k)[1])
    long_rows = np.full((2, 4096), -np.inf, np.float32)
    long_rows[1, 100:] = np.nan
    long_rows[1, 7] = 2.0
    np.testing.assert_array_equal(_core.top_k(long_rows, 3)[1], top_k_reference(long_rows, 3)[1])


def test_top_k_range_checks_raise():
    x = np.zeros((2, 5), np.float32)
    for k in (-1, 6):
        with pytest.raises(ValueError, match="k"):
            _core.top_k(x, k)
        with pytest.raises(ValueError, match="k"):
            ops.top_k(x, k)
    with pytest.raises(ValueError, match="rank >= 1"):
        _core.top_k(np.array(1.0, np.float32), 1)
    with pytest.raises(TypeError, match="float32"):
        _core.top_k(np.zeros((2, 5)), 1)


def test_top_k_nan_rows_against_tensorflow_record():
    # TF's comparison-based kernel gives NaN no consistent place (see the generator); nnfast
    # keeps one total order. The rows without NaN, and the all-NaN row, agree with TF.
    with open(os.path.join(FIXTURES, "top_k_nan_tf.json")) as f:
        cases = json.load(f)["cases"]
    agree = 0
    for case in cases:
        x = np.array([[np.nan if v is None else v for v in case["row"]]], np.float32)
        _, indices = ops.top_k(x, case["k"])
        np.testing.assert_array_equal(np.asarray(indices)[0], top_k_reference(x, case["k"])[1][0])
        has_nan = any(v is None for v in case["row"])
        if not has_nan or all(v is None for v in case["row"]):
            assert np.asarray(indices)[0].tolist() == case["tf_indices"], case
        agree += np.asarray(indices)[0].tolist() == case["tf_indices"]
    assert agree >= 12  # as recorded: TF disagrees with itself on the others


def test_top_k_op_values_gradient_and_other_dtypes():
    x = np.random.default_rng(3).standard_normal((3, 50)).astype(np.float32)
    check_grads(lambda t: ops.top_k(t, 4)[0], x)
    ints = np.array([[3, 1, 3, 2]], np.int32)  # the NumPy path keeps the same order
    values, indices = ops.top_k(ints, 3)
    assert np.asarray(values).tolist() == [[3, 3, 2]] and np.asarray(indices).tolist() == [[0, 2, 3]]


# --- take -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int16, np.bool_,
                                   np.complex64, np.uint32])
def test_take_kernel_any_dtype_any_axis(dtype):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((5, 7, 3, 2)) * 10).astype(dtype)
    for axis in range(4):
        n = x.shape[axis]
        for idx_dtype in (np.int32, np.int64):
            idx = rng.integers(-n, n, (2, 3)).astype(idx_dtype)
            out = np.empty(x.shape[:axis] + idx.shape + x.shape[axis + 1:], x.dtype)
            _core.take(x, idx, axis, out)
            np.testing.assert_array_equal(out, np.take(x, idx, axis=axis))
            np.testing.assert_array_equal(np.asarray(ops.take(x, idx, axis=axis)),
                                          np.take(x, idx, axis=axis))


@pytest.mark.parametrize("row_bytes", [16, 32, 64, 128, 256])
def test_take_fixed_size_rows(row_bytes):
    # Rows of 16-128 bytes take the fixed-size copies (embedding tables of 4-32 floats).
    rng = np.random.default_rng(8)
    for dtype in (np.float32, np.int8):
        width = row_bytes // np.dtype(dtype).itemsize
        x = (rng.standard_normal((3, 37, width)) * 50).astype(dtype)
        idx = rng.integers(-37, 37, (5, 11))
        for axis, table in ((0, x[1]), (1, x)):
            out = np.empty(table.shape[:axis] + idx.shape + table.shape[axis + 1:], dtype)
            _core.take(table, idx, axis, out)
            np.testing.assert_array_equal(out, np.take(table, idx, axis=axis))


def test_take_edges_and_errors():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(ops.take(x, 2, axis=1)), x[:, 2])  # 0-d index
    assert np.asarray(ops.take(x, np.zeros((0, 2), np.int64), axis=2)).shape == (2, 3, 0, 2)
    np.testing.assert_array_equal(np.asarray(ops.take(x, [-1, 23])), [23.0, 23.0])  # flat
    with pytest.raises(IndexError, match=r"indices must lie in \[-3, 3\).*index -4 at position 1"):
        ops.take(x, [0, -4], axis=1)
    with pytest.raises(IndexError, match="out of bounds"):
        ops.take(np.zeros((0, 3), np.float32), [0], axis=0)
    out = np.empty((2, 1, 4), np.float32)
    with pytest.raises(ValueError, match="expected shape"):
        _core.take(x, np.array([0]), 1, np.empty((2, 2, 4), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        _core.take(x, np.array([0]), 1, np.empty((2, 1, 4), np.float64))
    with pytest.raises(TypeError, match="int32 or int64"):
        _core.take(x, np.array([0], np.uint8), 1, out)
    with pytest.raises(ValueError, match="overlap"):
        flat = np.zeros(20, np.float32)
        _core.take(flat, np.array([0, 1]), 0, flat[:2])


# Row sizes around each copy route of the gather kernels: single elements and short rows
# (fixed-size moves), sizes that are not a multiple of 4 bytes (memcpy), and float-lane rows
# with whole vectors and masked tails of both vector widths (8 and 16 lanes).
ROW_BYTES = [1, 2, 3, 4, 8, 12, 16, 20, 32, 36, 60, 64, 68, 124, 128, 132, 252, 516, 1028]


@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_take_kernel_every_isa_row_sizes(isa, idx_dtype):
    rng = np.random.default_rng(11)
    for row_bytes in ROW_BYTES:
        x = rng.integers(0, 256, (3, 17, row_bytes), dtype=np.uint8)
        idx = rng.integers(-17, 17, (4, 5)).astype(idx_dtype)
        for axis, table in ((0, x[1]), (1, x)):
            out = np.full(table.shape[:axis] + idx.shape + table.shape[axis + 1:], 7, np.uint8)
            _core.take(table, idx, axis, out)
            np.testing.assert_array_equal(out, np.take(table, idx, axis=axis), str(row_bytes))
            np.testing.assert_array_equal(_core.take_new_array(table, idx, axis),
                                          np.take(table, idx, axis=axis))


def test_take_kernel_every_isa_float_bits_and_threads(isa):
    # Float rows are copied as lanes: NaN payloads, -0.0 and denormals keep their bits; two
    # threads split a large gather (64 KiB per thread at least) into the same bytes.
    rng = np.random.default_rng(12)
    bits = rng.integers(0, 2**32, (300, 37), dtype=np.uint64).astype(np.uint32)
    bits[0, :4] = [0x7FC00001, 0xFFA00000, 0x80000000, 0x00000001]
    table = bits.view(np.float32)
    idx = rng.integers(-300, 300, 4001)
    previous = nnfast.config.get_num_threads()
    try:
        for threads in (1, 2):
            nnfast.config.set_num_threads(threads)
            got = _core.take_new_array(table, idx, 0)
            np.testing.assert_array_equal(got.view(np.uint32), np.take(bits, idx, axis=0))
    finally:
        nnfast.config.set_num_threads(previous)


@pytest.mark.parametrize("position", [0, 5, 3998])
def test_take_kernel_every_isa_names_the_first_bad_index(isa, position):
    rng = np.random.default_rng(13)
    table = rng.standard_normal((50, 40)).astype(np.float32)
    idx = rng.integers(-50, 50, 4000)
    idx[position] = 50
    idx[-1] = -51  # a later bad index: the message names the first
    previous = nnfast.config.get_num_threads()
    try:
        for threads in (1, 2):
            nnfast.config.set_num_threads(threads)
            for idx_dtype in (np.int32, np.int64):
                with pytest.raises(IndexError, match=rf"index 50 at position {position} \(out "
                                   r"of bounds for axis 0 with size 50\)"):
                    _core.take_new_array(table, idx.astype(idx_dtype), 0)
            with pytest.raises(IndexError, match=rf"position {position} .*axis 1 with size 50"):
                ops.take(np.zeros((3, 50, 2), np.float32), idx, axis=1)
    finally:
        nnfast.config.set_num_threads(previous)


def test_take_new_array_hands_back_what_it_cannot_gather():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    idx = np.array([3, -1])
    assert _core.take_new_array(x[:, ::2], idx, 0) is None  # strided input
    assert _core.take_new_array(x, idx.astype(np.uint16), 0) is None  # index dtype to convert
    assert _core.take_new_array(np.array([None, 1], object), idx, 0) is None
    records = np.zeros(3, dtype=[("a", "f4"), ("o", "O")])  # object fields: never byte copies
    assert _core.take_new_array(records, np.array([1]), 0) is None
    with pytest.raises(TypeError, match="Python objects"):
        _core.take(records, np.array([1]), 0, np.empty(1, records.dtype))
    np.testing.assert_array_equal(_core.take_new_array(x, idx, -1), x[:, [3, -1]])
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor of rank 2"):
        _core.take_new_array(x, idx, 2)
    # the op converts those and gives NumPy's values
    np.testing.assert_array_equal(np.asarray(ops.take(x[:, ::2], np.array([2, 0], np.uint16), 1)),
                                  x[:, ::2][:, [2, 0]])
    np.testing.assert_array_equal(np.asarray(ops.take(x[:, ::2], np.array([-1, 1]), 1)),
                                  x[:, ::2][:, [-1, 1]])
    with pytest.raises(IndexError, match="18446744073709551615"):
        ops.take(x, np.array([1, 2**64 - 1], np.uint64), 0)
    np.testing.assert_array_equal(np.asarray(ops.take(np.array([None, 1], object), idx[1:])),
                                  np.array([1], object))


def test_take_gradient_scatter_adds_repeats_on_inner_axes():
    x = np.random.default_rng(5).standard_normal((3, 4, 5)).astype(np.float32)
    check_grads(lambda t: ops.take(t, np.array([[4, -1], [0, 4]]), axis=2), x)


# --- logsumexp ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (17, 33), (5, 2, 129), (2, 3, 1000)])
def test_logsumexp_kernel_every_isa(isa, shape):
    x = (np.random.default_rng(len(shape)).standard_normal(shape) * 8).astype(np.float32)
    out = np.empty(x.size // shape[-1], np.float32)
    _core.logsumexp_rows(x, out)
    x64 = x.astype(np.float64)
    m = x64.max(-1, keepdims=True)
    ref = (np.log(np.exp(x64 - m).sum(-1)) + m[..., 0]).reshape(-1)
    np.testing.assert_allclose(out, ref, rtol=2e-6, atol=2e-6)


def test_logsumexp_non_finite_rows_every_isa(isa):
    inf, nan = np.inf, np.nan
    x = np.array([[1.0, inf, 2.0] + [0.0] * 30, [-inf] * 33, [1.0, nan] + [0.0] * 31,
                  [inf, nan] + [0.0] * 31, [-inf] * 32 + [nan], [-inf] * 32 + [3.0],
                  [-200.0, 0.0] + [-300.0] * 31], np.float32)
    out = np.empty(len(x), np.float32)
    _core.logsumexp_rows(x, out)
    np.testing.assert_array_equal(out[:5], [inf, -inf, nan, nan, nan])
    np.testing.assert_allclose(out[5:], [3.0, 0.0], rtol=1e-6)


def test_logsumexp_op_axes_and_gradient():
    x = np.random.default_rng(2).standard_normal((3, 4, 5)).astype(np.float32)
    x64 = x.astype(np.float64)
    for axis, keepdims in [(-1, False), ((1, 2), True), (None, False), (0, False),
                           ([2, 1], False), (1, True)]:
        ax = tuple(axis) if isinstance(axis, list) else axis
        ref = np.log(np.exp(x64).sum(axis=ax, keepdims=keepdims))
        got = np.asarray(ops.logsumexp(x, axis=axis, keepdims=keepdims))
        assert got.shape == ref.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-6)
    check_grads(lambda t: ops.logsumexp(t, axis=-1), x)
    check_grads(lambda t: ops.logsumexp(t, axis=(1, 2), keepdims=True), x)


# --- extract_patches ------------------------------------------------------------------------


def patches_reference(x, size, strides, dilation, padding):
    """tf.image.extract_patches by loops over output pixels (float64)."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = size, strides, dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        top = max((oh - 1) * sh + span_h - h, 0) // 2
        left = max((ow - 1) * sw + span_w - w, 0) // 2
    else:
        oh, ow, top, left = (h - span_h) // sh + 1, (w - span_w) // sw + 1, 0, 0
    out = np.zeros((n, oh, ow, kh, kw, c))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    r, q = i * sh + a * dh - top, j * sw + b * dw - left
                    if 0 <= r < h and 0 <= q < w:
                        out[:, i, j, a, b] = x[:, r, q]
    return out.reshape(n, oh, ow, -1)


@pytest.mark.parametrize("shape,size,strides,dilation,padding", [
    ((2, 9, 11, 3), (3, 3), (3, 3), (1, 1), "valid"),
    ((1, 10, 7, 5), (2, 3), (1, 2), (1, 1), "same"),
    ((3, 13, 12, 2), (3, 2), (2, 3), (2, 3), "same"),
    ((2, 8, 9, 1), (4, 4), (4, 4), (1, 1), "same"),
    ((1, 7, 7, 4), (7, 7), (1, 1), (1, 1), "valid"),
])
def test_extract_patches_kernel(isa, shape, size, strides, dilation, padding):
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    got = np.asarray(ops.image.extract_patches(x, size, strides, dilation, padding))
    ref = patches_reference(x.astype(np.float64), size, strides, dilation, padding)
    np.testing.assert_array_equal(got, ref.astype(np.float32))


def test_extract_patches_eager_square_path_matches_the_general_one():
    # ViT's call (an int size, defaults) goes straight to the kernel when nothing records;
    # strided, float64 or channels_first-configured inputs take the general path.
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 13, 11, 3)).astype(np.float32)
    ref = patches_reference(x.astype(np.float64), (4, 4), (4, 4), (1, 1), "valid")
    for images in (x, ops.convert_to_tensor(x), x[:, ::-1][:, ::-1], x.astype(np.float64)):
        got = ops.image.extract_patches(images, 4)
        np.testing.assert_array_equal(np.asarray(got), ref.astype(np.float32))
    previous = nnfast.config.image_data_format()
    try:
        nnfast.config.set_image_data_format("channels_first")
        first = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        got = np.asarray(ops.image.extract_patches(first, 4))
        np.testing.assert_array_equal(got, ref.astype(np.float32).transpose(0, 3, 1, 2))
    finally:
        nnfast.config.set_image_data_format(previous)
    with pytest.raises(ValueError, match="larger than the input"):
        ops.image.extract_patches(x, 12)


def test_extract_patches_gradient_and_channels_first():
    x = np.random.default_rng(9).standard_normal((2, 6, 5, 3)).astype(np.float32)
    check_grads(lambda t: ops.image.extract_patches(t, (2, 3), (1, 2), padding="same"), x)
    first = np.transpose(x, (0, 3, 1, 2))
    got = np.asarray(ops.image.extract_patches(first, 2, data_format="channels_first"))
    ref = patches_reference(x.astype(np.float64), (2, 2), (2, 2), (1, 1), "valid")
    np.testing.assert_array_equal(got, np.transpose(ref, (0, 3, 1, 2)).astype(np.float32))


def test_extract_patches_kernel_rejects_bad_geometry():
    x = np.zeros((1, 4, 4, 2), np.float32)
    with pytest.raises(ValueError, match="expected shape"):
        _core.extract_patches_2d(x, [2, 2], [2, 2], [1, 1], [0, 0], np.empty((1, 2, 2, 7), np.float32))
    with pytest.raises(ValueError, match=">= 1"):
        _core.extract_patches_2d(x, [2, 2], [0, 2], [1, 1], [0, 0], np.empty((1, 2, 2, 8), np.float32))
    with pytest.raises(ValueError, match=">= 0"):
        _core.extract_patches_2d(x, [2, 2], [2, 2], [1, 1], [-1, 0], np.empty((1, 2, 2, 8), np.float32))
    with pytest.raises(ValueError, match="overflow"):
        _core.extract_patches_2d(x, [2**40, 2**40], [1, 1], [1, 1], [0, 0],
                                 np.empty((1, 1, 1, 0), np.float32))
    with pytest.raises(ValueError, match="overflow"):
        _core.extract_patches_2d(x, [2, 2], [2**62, 1], [1, 1], [0, 0],
                                 np.empty((1, 4, 1, 8), np.float32))


# --- softmax over an inner axis -------------------------------------------------------------


@pytest.mark.parametrize("shape,axis", [((3, 7, 5), 1), ((17, 4), 0), ((2, 33, 3, 19), 1),
                                        ((4, 1, 6), 1), ((5, 9, 2), 0)])
def test_softmax_along_axis_kernel_every_isa(isa, shape, axis):
    x = (np.random.default_rng(len(shape) + axis).standard_normal(shape) * 6).astype(np.float32)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis, keepdims=True))
    p = e / e.sum(axis, keepdims=True)
    for log, ref in ((False, p), (True, np.log(p))):
        out = np.empty_like(x)
        _core.softmax_along_axis(x, axis, out, log)
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ops.softmax(x, axis=axis)), p, rtol=1e-5, atol=1e-7)


def test_softmax_along_axis_non_finite_and_gradient(isa):
    x = np.array([[0.0, -np.inf, np.nan, np.inf], [1.0, -np.inf, 0.0, 0.0],
                  [2.0, -np.inf, 0.0, 0.0]], np.float32)
    out = np.asarray(ops.softmax(x, axis=0))
    with np.errstate(invalid="ignore"):
        e = np.exp(x - x.max(0, keepdims=True))
        ref = e / e.sum(0, keepdims=True)
    np.testing.assert_allclose(out, ref, rtol=1e-6)  # NaN columns where NumPy's are NaN
    y = np.random.default_rng(4).standard_normal((3, 5, 4)).astype(np.float32)
    check_grads(lambda t: ops.softmax(t, axis=1), y)
    check_grads(lambda t: ops.log_softmax(t, axis=0), y)


# --- segment_sum on the scatter-add kernel --------------------------------------------------


def test_segment_sum_float32_matches_add_at_bit_for_bit():
    rng = np.random.default_rng(11)
    data = rng.standard_normal((301, 3, 5)).astype(np.float32)
    ids = rng.integers(-2, 40, 301)  # negative ids are dropped, as TF's unsorted segment ops
    got = np.asarray(ops.segment_sum(data, ids, num_segments=37))  # ids >= 37 dropped too
    ref = np.zeros((37, 3, 5), np.float32)
    keep = (ids >= 0) & (ids < 37)
    np.add.at(ref, ids[keep], data[keep])
    np.testing.assert_array_equal(got, ref)
    check_grads(lambda t: ops.segment_sum(t, ids[:7], num_segments=37), data[:7])
