"""bfloat16 GEMM (`_core.gemm(..., precision="bfloat16")`): every implementation this CPU
runs (AMX tiles, AVX512_BF16, rounding + the fp32 GEMM) against float64 NumPy on the
bf16-rounded operands: a bf16 x bf16 product is exact in fp32, so only the fp32 summation
order differs from the reference."""

import numpy as np
import pytest

from nnfast import _core

from test_gemm import RELU, SIGMOID, TANH, _expected

VARIANTS = _core.gemm_bf16_variants()


def bf16(x):
    """x rounded to the nearest bfloat16 (ties to even), as float32."""
    bits = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def _check(got, want, a, b, trans_a, trans_b, k):
    # fp32 accumulation error, relative to the sum of |products|
    scale = (np.abs(a.T if trans_a else a).astype(np.float64)
             @ np.abs(b.T if trans_b else b).astype(np.float64))
    tol = 4e-7 * (np.sqrt(max(k, 1)) + 1) * (scale + 1)
    assert np.all(np.abs(got - want) <= tol), np.max(np.abs(got - want) - tol)


@pytest.fixture(params=VARIANTS)
def variant(request):
    return request.param


@pytest.fixture
def threads():
    saved = _core.num_threads()
    yield
    _core.set_num_threads(saved)


# Around every variant's tile (AMX 32x32 with 32-deep chunks, AVX512_BF16 14x32), odd depths.
SHAPES = [(1, 1, 1), (3, 5, 2), (13, 17, 19), (14, 32, 64), (31, 33, 31), (33, 31, 33),
          (32, 32, 32), (17, 65, 300), (70, 90, 1100), (3, 2000, 7), (300, 40, 2049)]


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_rounded_reference(variant, trans_a, trans_b, shape):
    m, n, k = shape
    rng = np.random.default_rng(hash(shape) % 2**32)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    c = c0.copy()
    _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=-0.75, beta=0.5, bias=bias,
               precision="bfloat16", bf16_variant=variant)
    ra, rb = bf16(np.float32(-0.75) * a), bf16(b)  # alpha is applied before rounding
    want = _expected(ra, rb, trans_a, trans_b, 1.0, 0.5, c0, bias)
    _check(c, want, ra, rb, trans_a, trans_b, k)


@pytest.mark.parametrize("act", [RELU, SIGMOID, TANH])
def test_activation_epilogue(variant, act):
    rng = np.random.default_rng(5)
    a = (0.1 * rng.standard_normal((37, 129))).astype(np.float32)
    b = rng.standard_normal((129, 45)).astype(np.float32)
    bias = rng.standard_normal(45).astype(np.float32)
    c = np.full((37, 45), np.nan, np.float32)
    _core.gemm(a, b, c, bias=bias, activation=act, precision="bfloat16", bf16_variant=variant)
    want = _expected(bf16(a), bf16(b), False, False, bias=bias, act=act)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)


def test_differs_from_float32_by_bf16_rounding_only():
    """The result is the bf16-rounded product, not the fp32 one: about 3 significant digits."""
    rng = np.random.default_rng(6)
    a = rng.standard_normal((64, 256)).astype(np.float32)
    b = rng.standard_normal((256, 48)).astype(np.float32)
    c32, c16 = np.empty((64, 48), np.float32), np.empty((64, 48), np.float32)
    _core.gemm(a, b, c32)
    _core.gemm(a, b, c16, precision="bfloat16")
    exact = a.astype(np.float64) @ b.astype(np.float64)
    err16 = np.abs(c16 - exact).max() / np.abs(exact).max()
    assert 1e-4 < err16 < 2e-2
    assert np.abs(c32 - exact).max() / np.abs(exact).max() < 1e-5


@pytest.mark.parametrize("shape", [(300, 301, 302), (64, 2000, 40), (1000, 96, 256)])
def test_threads_deterministic(variant, threads, shape):
    m, n, k = shape
    rng = np.random.default_rng(7)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    results = []
    for t in (1, 2):
        _core.set_num_threads(t)
        c = np.full((m, n), np.nan, np.float32)
        _core.gemm(a, b, c, precision="bfloat16", bf16_variant=variant)
        results.append(c)
    np.testing.assert_array_equal(results[0], results[1])


def test_nan_and_inf_propagate(variant):
    a = np.ones((20, 40), np.float32)
    a[3, 7], a[5, 0] = np.nan, np.inf
    b = np.ones((40, 30), np.float32)
    c = np.zeros((20, 30), np.float32)
    _core.gemm(a, b, c, precision="bfloat16", bf16_variant=variant)
    assert np.isnan(c[3]).all() and np.isinf(c[5]).all()
    assert np.all(c[0] == 40.0)


def test_isa_cap_falls_back_to_float32_route():
    saved = _core.active_isa()
    try:
        _core.set_max_isa("avx2")
        assert _core.gemm_bf16_variants() == ["via_f32"]
        assert _core.gemm_bf16_kernel_name() == "bf16_via_f32_gemm"
        with pytest.raises(ValueError, match="cannot run"):
            a = np.ones((2, 2), np.float32)
            _core.gemm(a, a, np.empty((2, 2), np.float32), precision="bfloat16",
                       bf16_variant="avx512bf16")
    finally:
        _core.set_max_isa(saved)


def test_bad_arguments_raise():
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="precision must be"):
        _core.gemm(a, a.T.copy(), np.empty((2, 2), np.float32), precision="float16")
    with pytest.raises(ValueError, match="bf16_variant must be"):
        _core.gemm(a, a.T.copy(), np.empty((2, 2), np.float32), precision="bfloat16",
                   bf16_variant="tpu")


def test_round_to_bfloat16_matches_reference_and_keeps_specials():
    rng = np.random.default_rng(8)
    x = np.concatenate([rng.standard_normal(1001).astype(np.float32) * 1e3,
                        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, 3.4e38,
                                  # ties: 1 + 2^-8 rounds to 1 (even), 1 + 3*2^-8 up
                                  1 + 2 ** -8, 1 + 3 * 2 ** -8], np.float32)])
    out = np.empty_like(x)
    _core.round_to_bfloat16(x, out)
    finite = np.isfinite(x)
    np.testing.assert_array_equal(out[finite], bf16(x[finite]))
    assert np.isnan(out[np.isnan(x)]).all()
    assert list(out[-2:]) == [1.0, 1 + 4 * 2 ** -8]
    _core.round_to_bfloat16(x, x)  # in place
    np.testing.assert_array_equal(x[finite], out[finite])
    with pytest.raises(ValueError, match="elements"):
        _core.round_to_bfloat16(x, np.empty(3, np.float32))
