"""SGEMM (`_core.gemm`) against float64 NumPy, for every ISA variant this CPU runs."""

import numpy as np
import pytest

from nnfast import _core

RELU, SIGMOID, TANH = 1, 2, 3  # ids in cpp/include/nnfast/activation.h order


def _isas():
    order = ["ref", "avx2", "avx512"]
    return order[: order.index(_core.cpu_best_isa()) + 1]


@pytest.fixture(params=_isas())
def isa(request):
    previous = _core.active_isa()
    _core.set_max_isa(request.param)
    yield request.param
    _core.set_max_isa(previous)


@pytest.fixture
def threads():
    saved = _core.num_threads()
    yield
    _core.set_num_threads(saved)


def _operands(rng, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    return a, b


def _expected(a, b, trans_a, trans_b, alpha=1.0, beta=0.0, c=None, bias=None, act=0):
    a64 = a.astype(np.float64).T if trans_a else a.astype(np.float64)
    b64 = b.astype(np.float64).T if trans_b else b.astype(np.float64)
    out = alpha * (a64 @ b64)
    if beta != 0.0:
        out += beta * c.astype(np.float64)
    if bias is not None:
        out += bias
    if act == RELU:
        out = np.maximum(out, 0.0)
    elif act == SIGMOID:
        out = 1.0 / (1.0 + np.exp(-out))
    elif act == TANH:
        out = np.tanh(out)
    return out


def _check(got, want, k):
    tol = 1e-5 * (np.sqrt(max(k, 1)) + 1) * 4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# Sizes around every ISA's register tile (ref 4x8, avx2 6x16, avx512 14x32), primes, 0 and 1.
EDGE_M = [0, 1, 3, 4, 5, 6, 7, 13, 14, 15, 29, 37]
EDGE_N = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 53]
EDGE_K = [0, 1, 2, 17, 64, 129]


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_edge_shapes(isa, trans_a, trans_b):
    rng = np.random.default_rng(0)
    for m in EDGE_M:
        for n in EDGE_N:
            k = EDGE_K[(m + n) % len(EDGE_K)]
            a, b = _operands(rng, m, n, k, trans_a, trans_b)
            c = np.full((m, n), np.nan, np.float32)  # beta == 0 must not read C
            _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b)
            _check(c, _expected(a, b, trans_a, trans_b), k)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("shape", [(1, 301, 1), (211, 67, 401), (97, 331, 173), (30, 10, 900)])
def test_blocked_shapes_alpha_beta(isa, trans_a, trans_b, shape):
    # k > KC and m > MC exercise several depth/row blocks and beta on the first one only.
    m, n, k = shape
    rng = np.random.default_rng(1)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    c = c0.copy()
    _core.gemm(a, b, c, trans_a=trans_a, trans_b=trans_b, alpha=-0.75, beta=0.5)
    _check(c, _expected(a, b, trans_a, trans_b, -0.75, 0.5, c0), k)


@pytest.mark.parametrize("act", [0, RELU, SIGMOID, TANH])
@pytest.mark.parametrize("shape", [(32, 128, 784), (33, 10, 128), (5, 47, 3), (3, 5, 0)])
def test_bias_activation_epilogue(isa, act, shape):
    m, n, k = shape
    rng = np.random.default_rng(2)
    a, b = _operands(rng, m, n, k, False, False)
    a *= 0.1
    bias = rng.standard_normal(n).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    c = c0.copy()
    _core.gemm(a, b, c, beta=1.0, bias=bias, activation=act)
    _check(c, _expected(a, b, False, False, 1.0, 1.0, c0, bias, act), k)


def test_alpha_zero_ignores_operands(isa):
    a = np.full((5, 7), np.nan, np.float32)
    b = np.full((7, 9), np.inf, np.float32)
    c = np.ones((5, 9), np.float32)
    _core.gemm(a, b, c, alpha=0.0, beta=2.0)
    np.testing.assert_array_equal(c, 2.0)


@pytest.mark.parametrize("shape", [(32, 128, 784), (784, 128, 32), (300, 301, 302), (64, 2000, 40)])
def test_threads_deterministic(isa, threads, shape):
    m, n, k = shape
    rng = np.random.default_rng(3)
    a, b = _operands(rng, m, n, k, False, False)
    results = {}
    for t in (1, 2):
        _core.set_num_threads(t)
        runs = []
        for _ in range(2):
            c = np.full((m, n), np.nan, np.float32)
            _core.gemm(a, b, c)
            runs.append(c)
        np.testing.assert_array_equal(runs[0], runs[1])
        results[t] = runs[0]
    _check(results[1], _expected(a, b, False, False), k)
    _check(results[2], _expected(a, b, False, False), k)


def test_fast_variants_match_reference():
    previous = _core.active_isa()
    rng = np.random.default_rng(4)
    a, b = _operands(rng, 45, 77, 250, True, False)
    outs = []
    try:
        for name in _isas():
            _core.set_max_isa(name)
            c = np.empty((45, 77), np.float32)
            _core.gemm(a, b, c, trans_a=True)
            outs.append(c)
    finally:
        _core.set_max_isa(previous)
    for c in outs[1:]:
        np.testing.assert_allclose(c, outs[0], rtol=1e-4, atol=1e-4)


def test_kernel_name_follows_isa():
    previous = _core.active_isa()
    try:
        for name in _isas():
            _core.set_max_isa(name)
            assert _core.gemm_kernel_name().endswith(name)
    finally:
        _core.set_max_isa(previous)


def test_shape_mismatch_raises_value_error():
    a = np.zeros((3, 4), np.float32)
    b = np.zeros((5, 6), np.float32)
    c = np.zeros((3, 6), np.float32)
    with pytest.raises(ValueError, match=r"\(3, 4\)") as info:
        _core.gemm(a, b, c)
    assert "(5, 6)" in str(info.value)
    with pytest.raises(ValueError):
        _core.gemm(a, np.zeros((4, 6), np.float32), np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError):
        _core.gemm(a, np.zeros((4, 6), np.float32), c, bias=np.zeros(5, np.float32))


def test_float64_raises_type_error():
    a = np.zeros((3, 4), np.float64)
    b = np.zeros((4, 6), np.float32)
    c = np.zeros((3, 6), np.float32)
    with pytest.raises(TypeError):
        _core.gemm(a, b, c)
