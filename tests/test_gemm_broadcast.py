"""Broadcast matmul (`_core.gemm_broadcast`, `ops.matmul` of stacks whose batch axes
broadcast) against float64 NumPy, on odd shapes around every small-kernel block size, for
every ISA variant this CPU runs."""

import numpy as np
import pytest

from nnfast import _core, ops
from nnfast.ops import matmul_broadcast


def _isas():
    order = ["ref", "avx2", "avx512"]
    return order[: order.index(_core.cpu_best_isa()) + 1]


@pytest.fixture(params=_isas())
def isa(request):
    previous = _core.active_isa()
    _core.set_max_isa(request.param)
    yield request.param
    _core.set_max_isa(previous)


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _close(got, want, k):
    tol = 4e-5 * (np.sqrt(max(k, 1)) + 1)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


# Rows around the row blocks (avx512 14/12/8/6/5, avx2 8/6/4, remainders), columns around
# the vector widths (8, 16) and chunk splits (avx512 5 vectors = 80, avx2 3 = 24).
ROWS = [1, 3, 4, 5, 7, 9, 13, 14, 15, 29]
COLS = [1, 7, 8, 9, 16, 17, 24, 25, 47, 64, 80, 81, 96, 113, 161]


def test_every_block_shape_against_float64(isa):
    rng = np.random.default_rng(0)
    k = 11
    for m in ROWS:
        for n in COLS:
            a, b = _f32(rng, 2, m, k), _f32(rng, 3, k, n)
            ia = np.array([0, 1, 1, 0, 1], np.int64)
            ib = np.array([2, 0, 1, 1, 2], np.int64)
            c = np.full((5, m, n), np.nan, np.float32)
            _core.gemm_broadcast(a, b, ia, ib, c)
            want = np.matmul(a[ia].astype(np.float64), b[ib].astype(np.float64))
            _close(c, want, k)
    assert _core.gemm_small_kernel_name() == f"f32_gemm_small_{isa}"


@pytest.mark.parametrize("m,k,n", [(64, 96, 80), (37, 1, 53), (5, 0, 9), (300, 70, 33),
                                   (17, 1100, 19), (9, 20, 170)])
def test_small_and_packed_routes(isa, m, k, n):
    # (300, ...), k = 1100 and n = 170 exceed the small kernel's limits: the packed SGEMM runs them;
    # k = 0 gives zeros.
    rng = np.random.default_rng(1)
    a, b = _f32(rng, 3, m, k), _f32(rng, 2, k, n)
    ia = np.array([0, 1, 2, 2], np.int64)
    ib = np.array([1, 1, 0, 1], np.int64)
    c = np.full((4, m, n), np.nan, np.float32)
    _core.gemm_broadcast(a, b, ia, ib, c)
    _close(c, np.matmul(a[ia].astype(np.float64), b[ib].astype(np.float64)), k)


def test_threads_give_the_same_bits():
    rng = np.random.default_rng(2)
    a, b = _f32(rng, 4, 33, 40), _f32(rng, 5, 40, 70)
    ia, ib = np.repeat(np.arange(4), 5), np.tile(np.arange(5), 4)
    saved = _core.num_threads()
    try:
        outs = []
        for threads in (1, 2):
            _core.set_num_threads(threads)
            c = np.empty((20, 33, 70), np.float32)
            _core.gemm_broadcast(a, b, ia, ib, c)
            outs.append(c)
    finally:
        _core.set_num_threads(saved)
    np.testing.assert_array_equal(outs[0], outs[1])


def test_bad_arguments_raise():
    a, b = np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32)
    c = np.empty((2, 3, 5), np.float32)
    ok = np.array([0, 1], np.int64)
    with pytest.raises(ValueError, match=r"a_index\[1\] = 2 is outside \[0, 2\)"):
        _core.gemm_broadcast(a, b, np.array([0, 2], np.int64), ok, c)
    with pytest.raises(ValueError, match=r"b_index\[0\] = -1"):
        _core.gemm_broadcast(a, b, ok, np.array([-1, 0], np.int64), c)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        _core.gemm_broadcast(a, np.ones((3, 5, 5), np.float32), ok, ok, c)
    with pytest.raises(ValueError, match="expected shape"):
        _core.gemm_broadcast(a, b, ok, ok, np.empty((2, 3, 4), np.float32))
    with pytest.raises(TypeError, match="int64"):
        _core.gemm_broadcast(a, b, ok.astype(np.int32), ok, c)
    buf = np.zeros(2 * 3 * 5, np.float32)
    with pytest.raises(ValueError, match="may not overlap"):
        _core.gemm_broadcast(buf[:24].reshape(2, 3, 4), b, ok, ok, buf.reshape(2, 3, 5))


@pytest.mark.parametrize("shape_a,shape_b", [
    ((8, 1, 64, 96), (12, 96, 80)),      # the benchmark's shapes
    ((64, 128), (16, 4, 128, 96)),       # a 2-D left operand against a stack
    ((3, 1, 5, 7), (4, 7, 9)),           # below the size where NumPy runs it
    ((2, 3, 1, 33, 17), (5, 17, 29)),
    ((1, 40, 50), (7, 1, 50, 60)),
    ((40, 50), (3, 50, 60)),
    ((2, 1, 30, 40), (1, 3, 40, 1)),
])
def test_ops_matmul_broadcast_values(shape_a, shape_b):
    rng = np.random.default_rng(3)
    a, b = _f32(rng, *shape_a), _f32(rng, *shape_b)
    got = ops.matmul(a, b).numpy()
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape and got.dtype == np.float32
    _close(got, want, shape_a[-1])


def test_ops_matmul_broadcast_gradient_against_finite_differences():
    import nnfast

    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 1, 3, 4))
    b = rng.standard_normal((3, 4, 5))
    w = rng.standard_normal((2, 3, 3, 5))
    ta, tb = nnfast.Variable(a.astype(np.float32)), nnfast.Variable(b.astype(np.float32))
    with nnfast.GradientTape() as tape:
        loss = ops.sum(ops.matmul(ta, tb) * w.astype(np.float32))
    ga, gb = tape.gradient(loss, [ta, tb])

    def f(a_, b_):
        return float(np.sum(np.matmul(a_, b_) * w))

    eps = 1e-6
    for x, g, which in ((a, ga, 0), (b, gb, 1)):
        num = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[i] += eps
            xm[i] -= eps
            args_p = (xp, b) if which == 0 else (a, xp)
            args_m = (xm, b) if which == 0 else (a, xm)
            num[i] = (f(*args_p) - f(*args_m)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(g), num, rtol=1e-4, atol=1e-4)


def test_routes_only_broadcast_float32_stacks():
    f = np.ones
    assert matmul_broadcast.accepts(f((8, 1, 64, 96), "float32"), f((12, 96, 80), "float32"))
    assert not matmul_broadcast.accepts(f((8, 1, 64, 96)), f((12, 96, 80)))  # float64
    assert not matmul_broadcast.accepts(f((4, 64, 96), "float32"), f((4, 96, 80), "float32"))
    assert not matmul_broadcast.accepts(f((64, 96), "float32"), f((96, 80), "float32"))
    assert not matmul_broadcast.accepts(f((2, 1, 3, 4), "float32"), f((5, 4, 6), "float32"))
    with pytest.raises(ValueError, match="batch axes do not broadcast"):
        matmul_broadcast.broadcast_product(f((2, 64, 96), "float32"), f((3, 96, 80), "float32"))
