"""keras.ops.linalg on nnfast: values against float64 NumPy/SciPy and Keras fixtures,
gradients against finite differences (one line per op)."""
import os

import numpy as np
import pytest

from nnfast import ops
from nnfast.ops import linalg
from conftest import check_grads

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "ops_nn", "keras_ops_nn.npz"))
rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def spd(n, batch=()):
    a = rng.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float32)


def close(got, ref, tol=1e-4):
    got = np.asarray(got)
    assert got.shape == np.shape(ref), (got.shape, np.shape(ref))
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=tol, atol=tol)


def sym(f):
    """f on the symmetric part of its input (finite differences then stay symmetric)."""
    return lambda a: f((a + ops.swapaxes(a, -1, -2)) * 0.5)


def test_values_against_numpy():
    a, b = spd(4, (2,)), r(2, 4, 3)
    a64 = a.astype(np.float64)
    close(linalg.inv(a), np.linalg.inv(a64))
    close(linalg.det(a), np.linalg.det(a64), 1e-3)
    close(linalg.solve(a, b), np.linalg.solve(a64, b))
    close(linalg.solve(a[0], b[0, :, 0]), np.linalg.solve(a64[0], b[0, :, 0]))
    close(linalg.cholesky(a), np.linalg.cholesky(a64))
    close(linalg.cholesky(a, upper=True), np.swapaxes(np.linalg.cholesky(a64), -1, -2))
    close(linalg.cholesky_inverse(linalg.cholesky(a)), np.linalg.inv(a64), 1e-4)
    close(linalg.cholesky_inverse(linalg.cholesky(a, upper=True), upper=True), np.linalg.inv(a64))
    w, v = linalg.eigh(a)
    close(w, np.linalg.eigh(a64)[0])
    close(np.asarray(v) @ (np.asarray(w)[..., None] * np.swapaxes(np.asarray(v), -1, -2)), a, 1e-3)
    q, rr = linalg.qr(r(5, 3))
    assert q.shape == (5, 3) and rr.shape == (3, 3)
    assert linalg.qr(r(5, 3), mode="complete")[0].shape == (5, 5)
    x = r(5, 3)
    u, s, vh = linalg.svd(x, full_matrices=False)
    close(np.asarray(u) * np.asarray(s) @ np.asarray(vh), x)
    close(linalg.svd(x, compute_uv=False), np.linalg.svd(x.astype(np.float64), compute_uv=False))
    close(linalg.pinv(x), np.linalg.pinv(x.astype(np.float64)))
    close(linalg.matrix_rank(np.ones((2, 3, 3), np.float32)), [1, 1], 0)
    tri = np.tril(spd(3))
    close(linalg.solve_triangular(tri, r(3, 2) * 0 + 1, lower=True),
          np.linalg.solve(tri.astype(np.float64), np.ones((3, 2))))
    ew, ev = linalg.eig(np.array([[0.0, -1.0], [1.0, 0.0]], np.float32))
    assert ew.dtype == np.complex64
    np.testing.assert_allclose(sorted(np.asarray(ew).imag), [-1, 1], atol=1e-6)


def test_values_against_keras():
    a = FIX["lin_a"]
    lu, p = linalg.lu_factor(a)
    close(lu, FIX["lu_factor__0"], 1e-5)
    np.testing.assert_array_equal(np.asarray(p), FIX["lu_factor__1"])
    close(linalg.norm(a), FIX["norm_fro"], 1e-5)
    close(linalg.norm(a, ord="nuc"), FIX["norm_nuc"], 1e-5)
    close(linalg.norm(a, ord=-2, axis=(0, 1)), FIX["norm_m2"], 1e-5)
    close(linalg.norm(a, ord=3, axis=1), FIX["norm_v3"], 1e-5)
    close(linalg.lstsq(FIX["lstsq_a"], FIX["lstsq_b"]), FIX["lstsq"], 1e-5)
    close(linalg.matrix_rank(np.ones((3, 3), np.float32)), FIX["matrix_rank"], 0)


@pytest.mark.parametrize("ord,axis", [(None, None), (1, None), (np.inf, 1), (-np.inf, 0), (0, 1),
                                      (2.5, -1), ("fro", (0, 1)), ("nuc", (1, 2)), (1, (0, 1)),
                                      (-1, (1, 2)), (np.inf, (0, 2)), (2, (1, 2)), (-2, (2, 1))])
def test_norm_against_numpy(ord, axis):
    x = r(3, 4, 5) if axis is not None and not isinstance(axis, int) else r(4, 5)
    ref = np.linalg.norm(x.astype(np.float64), ord=ord, axis=axis)
    close(linalg.norm(x, ord=ord, axis=axis), ref)
    close(linalg.norm(x, ord=ord, axis=axis, keepdims=True),
          np.linalg.norm(x.astype(np.float64), ord=ord, axis=axis, keepdims=True))
    if ord != 0:
        check_grads(lambda t: linalg.norm(t, ord=ord, axis=axis), x)


GRADS = [
    ("inv", lambda: check_grads(linalg.inv, spd(3, (2,)))),
    ("det", lambda: check_grads(linalg.det, r(2, 3, 3))),
    ("solve", lambda: check_grads(linalg.solve, spd(3), r(3, 2))),
    ("solve_vector", lambda: check_grads(linalg.solve, spd(3, (2,)), r(2, 3))),
    ("solve_triangular", lambda: check_grads(
        lambda a, b: linalg.solve_triangular(a, b, lower=True), spd(3), r(3, 2))),
    ("cholesky", lambda: check_grads(sym(linalg.cholesky), spd(3))),
    ("cholesky_upper", lambda: check_grads(sym(lambda a: linalg.cholesky(a, upper=True)), spd(3))),
    ("cholesky_inverse", lambda: check_grads(linalg.cholesky_inverse, np.tril(spd(3)))),
    ("eigh_values", lambda: check_grads(sym(lambda a: linalg.eigh(a)[0]), spd(3))),
    # Eigenvectors are defined up to sign: check a sign-free function of them.
    ("eigh_vectors", lambda: check_grads(sym(lambda a: ops.square(linalg.eigh(a)[1])), spd(3))),
    ("qr_r", lambda: check_grads(lambda a: linalg.qr(a)[1], r(4, 3))),
    ("qr_q", lambda: check_grads(lambda a: linalg.qr(a)[0], r(4, 3))),
    ("svd_values", lambda: check_grads(lambda a: linalg.svd(a, compute_uv=False), r(4, 3))),
    ("svd_uv", lambda: check_grads(
        lambda a: ops.square(linalg.svd(a, full_matrices=False)[0]), r(4, 3))),
    ("svd_vh", lambda: check_grads(lambda a: ops.square(linalg.svd(a)[2]), r(3, 3))),
    ("pinv", lambda: check_grads(linalg.pinv, r(4, 3))),
    ("lstsq", lambda: check_grads(linalg.lstsq, r(5, 3), r(5, 2))),
]


@pytest.mark.parametrize("name,check", GRADS, ids=[g[0] for g in GRADS])
def test_gradients(name, check):
    check()


def test_jvp_and_errors():
    x, t = r(3), r(3)
    out, tangent = linalg.jvp(lambda a: ops.multiply(ops.sin(a), a), (x,), (t,))
    close(out, np.sin(x.astype(np.float64)) * x, 1e-6)
    close(tangent, (np.cos(x.astype(np.float64)) * x + np.sin(x)) * t, 1e-5)
    m = r(3, 3)
    out, tangent, aux = linalg.jvp(lambda a, b: (ops.matmul(a, b), 7), (m, m), (t[:, None] * m, m),
                                   has_aux=True)
    assert aux == 7
    close(tangent, (t[:, None] * m) @ m + m @ m, 1e-4)
    with pytest.raises(ValueError, match="square"):
        linalg.inv(r(3, 2))
    with pytest.raises(ValueError, match="positive definite"):
        linalg.cholesky(-np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match="mode"):
        linalg.qr(r(2, 2), mode="r")
    with pytest.raises(ValueError, match="shapes"):
        linalg.solve(spd(3), r(4, 1))
    import nnfast

    v = nnfast.Variable(r(2, 2))
    with nnfast.GradientTape() as tape:
        y = ops.sum(linalg.lu_factor(v)[0])
    with pytest.raises(NotImplementedError, match="lu_factor"):
        tape.gradient(y, v)
