"""int8 GEMM of quantized layers (`_core.gemm_int8`, `_core.int8_dense`): every
implementation this CPU runs (AMX-INT8 tiles, AVX512_VNNI, the scalar reference) against an
exact int64 NumPy product, and the dense step against Keras's quantize-multiply-dequantize
scheme written in NumPy."""

import numpy as np
import pytest

from nnfast import _core
from nnfast.ops.quantized import quantize_rows

VARIANTS = _core.gemm_int8_variants()
EPS = np.float32(1e-7)


@pytest.fixture(params=VARIANTS)
def variant(request):
    return request.param


@pytest.fixture
def threads():
    saved = _core.num_threads()
    yield
    _core.set_num_threads(saved)


# Around the tiles (AMX 32x32 over 64-deep chunks, VNNI 8x32 over groups of 4): depths not a
# multiple of 4 or 64, rows and columns on both sides of 8, 16, 32.
SHAPES = [(1, 1, 1), (3, 5, 2), (7, 17, 3), (8, 32, 64), (9, 33, 65), (16, 16, 63),
          (17, 31, 130), (31, 47, 5), (32, 32, 256), (33, 64, 1), (65, 100, 259),
          (2, 300, 1000)]


def _reference(a, b):
    return a.astype(np.int64) @ b.astype(np.int64)


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_int64_reference(variant, shape):
    m, n, k = shape
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    out = np.full((m, n), 12345, np.int32)
    _core.gemm_int8(a, _core.int8_pack_kernel(b), out, variant=variant)
    np.testing.assert_array_equal(out, _reference(a, b))


@pytest.mark.parametrize("av,bv", [(-128, -128), (-128, 127), (127, -128), (127, 127)])
def test_extremes(variant, av, bv):
    # vpdpbusd's 128 offset turns -128 into 0 and 127 into 255: the corners of its range.
    m, n, k = 37, 35, 4099
    a = np.full((m, k), av, np.int8)
    b = np.full((k, n), bv, np.int8)
    a[::3, ::5] = -av - 1 if av < 0 else -av
    out = np.empty((m, n), np.int32)
    _core.gemm_int8(a, _core.int8_pack_kernel(b), out, variant=variant)
    np.testing.assert_array_equal(out, _reference(a, b))


@pytest.mark.parametrize("shape", [(1, 100, 77), (70, 90, 333)])
def test_threads_deterministic(variant, threads, shape):
    m, n, k = shape
    rng = np.random.default_rng(1)
    x = rng.standard_normal((m, k)).astype(np.float32)
    packed = _core.int8_pack_kernel(rng.integers(-127, 128, (k, n), dtype=np.int8))
    scale = rng.uniform(1, 100, n).astype(np.float32)
    outs = []
    for t in (1, 2, 3):
        _core.set_num_threads(t)
        y = np.empty((m, n), np.float32)
        _core.int8_dense(x, packed, scale, None, y, EPS, variant=variant)
        outs.append(y)
    for y in outs[1:]:
        np.testing.assert_array_equal(y, outs[0])


@pytest.mark.parametrize("shape", [(1, 10, 784), (5, 33, 65), (40, 64, 2000), (7, 5, 9)])
def test_int8_dense_is_keras_scheme(variant, shape):
    m, n, k = shape
    rng = np.random.default_rng(k)
    x = (rng.standard_normal((m, k)) * rng.uniform(0.01, 10, (m, 1))).astype(np.float32)
    # Row 0's scale is exactly 1 (127 / (127 + eps) rounds to 1): its halves are ties,
    # rounded to even as np.round does.
    x[0] = 0
    x[0, :6] = [127, 0.5, 1.5, -2.5, 3.5, -0.5]
    kq = rng.integers(-127, 128, (k, n), dtype=np.int8)
    kscale = rng.uniform(1, 500, n).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    xq, x_scale = quantize_rows(x)
    acc = _reference(xq.astype(np.int8), kq).astype(np.float32)  # int32 sums, cast as Keras
    want = acc / (x_scale * kscale)
    y = np.empty((m, n), np.float32)
    _core.int8_dense(x, _core.int8_pack_kernel(kq), kscale, None, y, EPS, variant=variant)
    np.testing.assert_array_equal(y, want)
    _core.int8_dense(x, _core.int8_pack_kernel(kq), kscale, bias, y, EPS, variant=variant)
    np.testing.assert_array_equal(y, want + bias)


def test_zero_and_nonfinite_rows(variant):
    kq = np.arange(-6, 6, dtype=np.int8).reshape(4, 3)
    x = np.array([[0, 0, 0, 0], [1, np.nan, 0, 0], [np.inf, 1, 0, 0], [1, 2, 3, 4]],
                 np.float32)
    y = np.empty((4, 3), np.float32)
    _core.int8_dense(x, _core.int8_pack_kernel(kq), np.ones(3, np.float32), None, y, EPS,
                     variant=variant)
    np.testing.assert_array_equal(y[0], 0.0)
    assert np.isnan(y[1]).all() and np.isnan(y[2]).all()
    assert np.isfinite(y[3]).all()


def test_isa_cap_leaves_the_reference():
    saved = _core.active_isa()
    avx_vnni = "avxvnni" in _core.gemm_int8_variants()  # the 256-bit tile needs only AVX2
    try:
        _core.set_max_isa("avx2")
        assert _core.gemm_int8_variants() == ["avxvnni"] * avx_vnni + ["ref"]
        _core.set_max_isa("ref")
        assert _core.gemm_int8_variants() == ["ref"]
        assert _core.gemm_int8_kernel_name() == "int8_gemm_ref"
        _core.set_max_isa("avx2")
        with pytest.raises(ValueError, match="cannot run"):
            a = np.ones((2, 2), np.int8)
            _core.gemm_int8(a, _core.int8_pack_kernel(a), np.empty((2, 2), np.int32),
                            variant="avx512vnni")
    finally:
        _core.set_max_isa(saved)


def test_bad_arguments_raise():
    packed = _core.int8_pack_kernel(np.ones((4, 3), np.int8))
    assert (packed.k, packed.n) == (4, 3)
    with pytest.raises(TypeError, match="expected a int8 array"):
        _core.int8_pack_kernel(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match="4 columns"):
        _core.gemm_int8(np.ones((2, 5), np.int8), packed, np.empty((2, 3), np.int32))
    with pytest.raises(ValueError, match=r"expected shape \(2, 3\)"):
        _core.gemm_int8(np.ones((2, 4), np.int8), packed, np.empty((2, 4), np.int32))
    with pytest.raises(TypeError, match="int32"):
        _core.gemm_int8(np.ones((2, 4), np.int8), packed, np.empty((2, 3), np.int64))
    with pytest.raises(ValueError, match="kernel_scale must have 3"):
        _core.int8_dense(np.ones((2, 4), np.float32), packed, np.ones(2, np.float32), None,
                         np.empty((2, 3), np.float32), EPS)
    with pytest.raises(ValueError, match="variant must be one of"):
        _core.gemm_int8(np.ones((2, 4), np.int8), packed, np.empty((2, 3), np.int32),
                        variant="sse")
    with pytest.raises(ValueError, match="read-only"):
        out = np.empty((2, 3), np.int32)
        out.flags.writeable = False
        _core.gemm_int8(np.ones((2, 4), np.int8), packed, out)


def _quantized_dense(units=24, in_dim=70):
    import nnfast

    layer = nnfast.layers.Dense(units, activation="relu")
    layer.build((None, in_dim))
    layer.quantize("int8")
    return layer


def test_quantized_dense_packs_once_and_repacks_after_assign():
    from nnfast.layers import quantization
    from nnfast.ops.quantized import quantize_rows

    layer = _quantized_dense()
    packed = quantization.packed_kernel(layer.kernel)
    assert packed is not None and (packed.k, packed.n) == (70, 24)
    assert quantization.packed_kernel(layer.kernel) is packed  # cached
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 70)).astype(np.float32)

    def float_route():
        xq, xs = quantize_rows(x)
        y = (xq.astype(np.float64) @ np.asarray(layer.kernel.value, np.float64)).astype(
            np.float32) / (xs * np.asarray(layer.kernel_scale.value))
        return np.maximum(y + np.asarray(layer.bias.value), 0)

    np.testing.assert_array_equal(np.asarray(layer(x)), float_route())
    layer.kernel.assign(rng.integers(-127, 128, (70, 24), dtype=np.int8))
    assert quantization.packed_kernel(layer.kernel) is not packed
    np.testing.assert_array_equal(np.asarray(layer(x)), float_route())


def test_quantized_dense_copies_and_pickles():
    import copy
    import pickle

    from nnfast.layers import quantization

    layer = _quantized_dense(units=5, in_dim=3)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert isinstance(clone.kernel, quantization.Int8KernelVariable)
        np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(layer(x)))
        assert quantization.packed_kernel(clone.kernel) is not None


def test_quantized_dense_without_int8_units_takes_the_float_route():
    # Under an ISA cap below avx512 the layer gives the same numbers through the fp32 GEMM.
    layer = _quantized_dense(units=40, in_dim=33)
    x = np.random.default_rng(5).standard_normal((9, 33)).astype(np.float32)
    with_units = np.asarray(layer(x))
    saved = _core.active_isa()
    try:
        _core.set_max_isa("avx2")
        np.testing.assert_array_equal(np.asarray(layer(x)), with_units)
    finally:
        _core.set_max_isa(saved)


def test_deepest_kernel_sums_exactly_and_deeper_is_refused(variant):
    from nnfast.ops.quantized import MAX_PACKED_DEPTH, pack_int8_kernel

    k = MAX_PACKED_DEPTH  # 128 * 128 * k is the largest sum below 2**31
    a = np.full((2, k), -128, np.int8)
    b = np.full((k, 3), -128, np.int8)
    b[:, 1] = 127
    out = np.empty((2, 3), np.int32)
    _core.gemm_int8(a, _core.int8_pack_kernel(b), out, variant=variant)
    np.testing.assert_array_equal(out, _reference(a, b))
    with pytest.raises(ValueError, match="exceeds"):
        _core.int8_pack_kernel(np.zeros((k + 1, 1), np.int8))
    assert pack_int8_kernel(np.zeros((k + 1, 1), np.int8)) is None


def test_avx_vnni_variant_runs_without_avx512(isa):
    """The 256-bit AVX-VNNI tile is what a client CPU (AVX2 + AVX-VNNI, no AVX-512) runs: under
    an avx2 cap it is the best variant wherever the CPU has AVX-VNNI."""
    if "avxvnni" not in _core.gemm_int8_variants():
        pytest.skip("this CPU (or the ISA cap) has no AVX-VNNI")
    if isa == "avx2":
        assert _core.gemm_int8_kernel_name() == "int8_gemm_3x32_avxvnni"
    rng = np.random.default_rng(9)
    a = rng.integers(-128, 128, (7, 333), dtype=np.int8)
    b = rng.integers(-128, 128, (333, 45), dtype=np.int8)
    out = np.empty((7, 45), np.int32)
    _core.gemm_int8(a, _core.int8_pack_kernel(b), out, variant="avxvnni")
    np.testing.assert_array_equal(out, a.astype(np.int64) @ b.astype(np.int64))
