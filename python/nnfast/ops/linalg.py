"""``keras.ops.linalg``: decompositions, solves, norms and ``jvp``, on NumPy/SciPy LAPACK
(float32 in, float32 out, any leading batch axes), each with its gradient beside it.
(The module is also ``nnfast.ops.linalg``; Keras has every name at ``keras.ops`` too.)"""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value


def _mat(x, what, square=False):
    a = np.asarray(value(x))
    if a.dtype.kind != "f" or a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        kind = "square matrices" if square else "matrices"
        raise ValueError(f"{what} expects {kind} (rank >= 2, shape (..., M, M)); received "
                         f"x.shape={a.shape}")
    return a


def _arg(x, what, square=False):
    """Checks ``x`` and returns what the op is applied to: the Tensor itself (so the tape
    sees it) or the converted array."""
    a = _mat(x, what, square)
    return x if isinstance(x, Tensor) and x.value.dtype == a.dtype else a


def _t(a):
    return np.swapaxes(a, -1, -2)


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


class Inv(Function):
    @staticmethod
    def forward(ctx, x):
        y = np.linalg.inv(x.astype(np.float64))
        ctx.save_for_backward(y)
        return _f32(y)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return _f32(-_t(y) @ g @ _t(y))


def inv(x):
    """Inverse of square matrices ``(..., M, M)``.

    Args:
        x: ``(..., M, M)`` square matrices (batched over leading axes).

    Example:
        >>> ops.inv(np.array([[2.0, 0.0], [0.0, 4.0]], "float32"))  # [[0.5, 0], [0, 0.25]]
    """
    return Inv.apply(_arg(x, "inv", square=True))


class Det(Function):
    @staticmethod
    def forward(ctx, x):
        x64 = x.astype(np.float64)
        d = np.linalg.det(x64)
        ctx.save_for_backward(x64, d)
        return np.asarray(d, np.float32)

    @staticmethod
    def backward(ctx, g):
        x, d = ctx.saved
        # d det / dA = det * A^-T (the adjugate transposed, which stays finite when singular).
        adj_t = _t(np.linalg.inv(x)) * d[..., None, None] if np.all(d != 0) else \
            _t(_adjugate(x))
        return _f32(np.asarray(g)[..., None, None] * adj_t)


def _adjugate(x):
    u, s, vt = np.linalg.svd(x)
    # adj(A) = adj(V^T) adj(S) adj(U) with adj(S)_ii = prod_{j != i} s_j.
    n = s.shape[-1]
    prods = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1)
    det_u, det_v = np.linalg.det(u), np.linalg.det(vt)
    return (_t(vt) * prods[..., None, :]) @ _t(u) * (det_u * det_v)[..., None, None]


def det(x):
    """Determinant of square matrices ``(..., M, M)`` -> ``(...)``.

    Args:
        x: ``(..., M, M)`` square matrices (batched over leading axes).

    Example:
        >>> ops.det(np.array([[1.0, 2.0], [3.0, 4.0]], "float32"))  # -2.0
    """
    return Det.apply(_arg(x, "det", square=True))


class Solve(Function):
    """x = a^-1 b, batched; b may be a matrix (..., M, K) or a vector (..., M)."""

    @staticmethod
    def forward(ctx, a, b, vector=False):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        bm = b64[..., None] if vector else b64
        x = np.linalg.solve(a64, bm)
        ctx.save_for_backward(a64, x, vector)
        return _f32(x[..., 0] if vector else x)

    @staticmethod
    def backward(ctx, g):
        a, x, vector = ctx.saved
        gm = np.asarray(g, np.float64)
        gm = gm[..., None] if vector else gm
        gb = np.linalg.solve(_t(a), gm)
        ga = -gb @ _t(x)
        ga = _sum_to(ga, a.shape)
        return _f32(ga), _f32(gb[..., 0] if vector else gb)


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdims=True)
    return g


def solve(a, b):
    """Solves ``a @ x = b`` for ``x``; ``a`` ``(..., M, M)``, ``b`` ``(..., M, K)`` or
    ``(..., M)``.

    Args:
        a: ``(..., M, M)`` coefficient matrices.
        b: ``(..., M)`` or ``(..., M, K)`` right-hand sides.

    Example:
        >>> ops.solve(np.eye(2, dtype="float32") * 2, np.ones((2, 1), "float32"))  # 0.5s
    """
    am = _mat(a, "solve", square=True)
    bv = np.asarray(value(b))
    vector = bv.ndim == am.ndim - 1
    if bv.shape[-1 if vector else -2] != am.shape[-1]:
        raise ValueError(f"solve: incompatible shapes a.shape={am.shape}, b.shape={bv.shape}")
    return Solve.apply(a if isinstance(a, Tensor) else am,
                       b if isinstance(b, Tensor) else bv.astype(np.float32), vector=vector)


class SolveTriangular(Function):
    @staticmethod
    def forward(ctx, a, b, lower=False, vector=False):
        from scipy.linalg import solve_triangular as _st

        a64 = np.tril(a) if lower else np.triu(a)
        a64 = a64.astype(np.float64)
        b64 = b.astype(np.float64)
        bm = b64[..., None] if vector else b64
        shape = np.broadcast_shapes(a64.shape[:-2], bm.shape[:-2])
        aa = np.broadcast_to(a64, shape + a64.shape[-2:]).reshape((-1,) + a64.shape[-2:])
        bb = np.broadcast_to(bm, shape + bm.shape[-2:]).reshape((-1,) + bm.shape[-2:])
        x = np.stack([_st(ai, bi, lower=lower) for ai, bi in zip(aa, bb)]).reshape(
            shape + bm.shape[-2:])
        ctx.save_for_backward(a64, x, lower, vector)
        return _f32(x[..., 0] if vector else x)

    @staticmethod
    def backward(ctx, g):
        a, x, lower, vector = ctx.saved
        gm = np.asarray(g, np.float64)
        gm = gm[..., None] if vector else gm
        gb = np.linalg.solve(_t(a), gm)
        ga = -gb @ _t(x)
        ga = np.tril(ga) if lower else np.triu(ga)
        return _f32(_sum_to(ga, a.shape)), _f32(gb[..., 0] if vector else gb)


def solve_triangular(a, b, lower=False):
    """Solves ``a @ x = b`` with ``a`` triangular (only its ``lower`` or upper triangle is
    read).

    Args:
        a: ``(..., M, M)`` triangular matrices.
        b: ``(..., M)`` or ``(..., M, K)`` right-hand sides.
        lower: use the lower triangle of ``a`` (default: the upper one).

    Example:
        >>> ops.solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]], "float32"),
        ...                      np.array([2.0, 3.0], "float32"), lower=True)  # [1, 2]
    """
    am = _mat(a, "solve_triangular", square=True)
    bv = np.asarray(value(b))
    vector = bv.ndim == am.ndim - 1
    return SolveTriangular.apply(a if isinstance(a, Tensor) else am,
                                 b if isinstance(b, Tensor) else bv.astype(np.float32),
                                 lower=bool(lower), vector=vector)


class Cholesky(Function):
    @staticmethod
    def forward(ctx, x, upper=False):
        try:
            l64 = np.linalg.cholesky(x.astype(np.float64))
        except np.linalg.LinAlgError as e:
            raise ValueError(f"cholesky: the input is not symmetric positive definite ({e})") \
                from None
        ctx.save_for_backward(l64, upper)
        return _f32(_t(l64) if upper else l64)

    @staticmethod
    def backward(ctx, g):
        l, upper = ctx.saved
        gl = np.asarray(g, np.float64)
        if upper:
            gl = _t(gl)
        gl = np.tril(gl)
        # A = L L^T: dA = 1/2 L^-T Phi(L^T dL) L^-1 symmetrized, Phi halving the diagonal.
        p = _t(l) @ gl
        p = np.tril(p) - 0.5 * np.eye(l.shape[-1]) * p
        linv = np.linalg.inv(l)
        s = _t(linv) @ p @ linv
        return _f32(0.5 * (s + _t(s)))


def cholesky(x, upper=False):
    """Cholesky factor of symmetric positive-definite matrices: lower ``L`` with
    ``x = L L^T`` (or upper ``U = L^T`` with ``upper=True``).

    Args:
        x: ``(..., M, M)`` symmetric positive-definite matrices.
        upper: return the upper factor ``U`` (``x = U^T U``) instead of the lower one.

    Example:
        >>> ops.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]], "float32"))
    """
    return Cholesky.apply(_arg(x, "cholesky", square=True), upper=bool(upper))


def cholesky_inverse(x, upper=False):
    """Inverse of ``A`` from its Cholesky factor ``x`` (``A = x x^T``, or ``x^T x`` when
    ``upper``).

    Args:
        x: ``(..., M, M)`` Cholesky factors.
        upper: ``x`` is the upper factor (``A = x^T x``).

    Example:
        >>> L = ops.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]], "float32"))
        >>> ops.cholesky_inverse(L)  # inverse of [[4, 2], [2, 3]]
    """
    from nnfast.ops.array import swapaxes
    from nnfast.ops.math import matmul

    _mat(x, "cholesky_inverse", square=True)
    xt = swapaxes(x, -1, -2)
    return inv(matmul(xt, x) if upper else matmul(x, xt))


class Eigh(Function):
    @staticmethod
    def forward(ctx, x):
        w, v = np.linalg.eigh(x.astype(np.float64))
        ctx.save_for_backward(w, v)
        return _f32(w), _f32(v)

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved
        inner = np.zeros(v.shape)
        if gv is not None:
            diff = w[..., None, :] - w[..., :, None]
            n = w.shape[-1]
            with np.errstate(divide="ignore"):
                f = np.where(np.eye(n, dtype=bool), 0.0, 1.0 / diff)
            inner = f * (_t(v) @ np.asarray(gv, np.float64))
        if gw is not None:
            inner = inner + np.asarray(gw, np.float64)[..., None, :] * np.eye(w.shape[-1])
        ga = v @ inner @ _t(v)
        return _f32(0.5 * (ga + _t(ga)))


def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices: ``(w, v)`` with
    ``x @ v = v * w``. Differentiable (for distinct eigenvalues).

    Args:
        x: ``(..., M, M)`` symmetric matrices (the lower triangle is read).

    Example:
        >>> w, v = ops.eigh(np.array([[2.0, 1.0], [1.0, 2.0]], "float32"))  # w = [1, 3]
    """
    return Eigh.apply(_arg(x, "eigh", square=True))


class _NoGradient(Function):
    """An op whose result nnfast does not differentiate: asking for its gradient raises."""

    name = "op"

    @classmethod
    def backward(cls, ctx, *grads):
        raise NotImplementedError(f"The gradient of keras.ops.{cls.name} is not implemented "
                                  "in nnfast")


class Eig(_NoGradient):
    name = "eig"

    @staticmethod
    def forward(ctx, x):
        w, v = np.linalg.eig(x.astype(np.float64))
        return w.astype(np.complex64), v.astype(np.complex64)


def eig(x):
    """Eigenvalues and right eigenvectors of general square matrices (complex64 results;
    not differentiable in nnfast).

    Args:
        x: ``(..., M, M)`` square matrices (batched over leading axes).

    Example:
        >>> w, v = ops.eig(np.array([[0.0, -1.0], [1.0, 0.0]], "float32"))  # w = [j, -j]
    """
    return Eig.apply(_arg(x, "eig", square=True))


class LUFactor(_NoGradient):
    name = "lu_factor"

    @staticmethod
    def forward(ctx, x):
        from scipy.linalg import lu_factor as _lu

        flat = x.astype(np.float64).reshape((-1,) + x.shape[-2:])
        lus, pivs = zip(*[_lu(m) for m in flat]) if len(flat) else ((), ())
        lu = np.asarray(lus).reshape(x.shape)
        # LAPACK's swaps -> TF's permutation p, with x[i] = (L U)[p[i]].
        perms = []
        for piv in pivs:
            order = np.arange(x.shape[-2])
            for i, j in enumerate(piv):
                order[[i, j]] = order[[j, i]]
            perms.append(np.argsort(order))
        p = np.asarray(perms, dtype=np.int32).reshape(x.shape[:-1])
        return _f32(lu), p


def lu_factor(x):
    """LU factorization with partial pivoting: ``(lu, p)``, ``lu`` holding ``L`` (unit
    diagonal, below) and ``U``, and ``p`` the row permutation as TensorFlow returns it
    (``x[i] = (L @ U)[p[i]]``). Not differentiable in nnfast.

    Args:
        x: ``(..., M, M)`` square matrices (batched over leading axes).

    Example:
        >>> lu, piv = ops.lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]], "float32"))
    """
    return LUFactor.apply(_arg(x, "lu_factor"))


class QR(Function):
    @staticmethod
    def forward(ctx, x, mode="reduced"):
        q, r = np.linalg.qr(x.astype(np.float64), mode="reduced" if mode == "reduced"
                            else "complete")
        ctx.save_for_backward(q, r, x.shape)
        return _f32(q), _f32(r)

    @staticmethod
    def backward(ctx, gq, gr):
        q, r, shape = ctx.saved
        m, n = shape[-2:]
        if m < n or q.shape[-1] != n:
            raise NotImplementedError("The gradient of keras.ops.qr is implemented for "
                                      f"M >= N (reduced mode) only; received shape {shape}")
        gq = np.zeros(q.shape) if gq is None else np.asarray(gq, np.float64)
        gr = np.zeros(r.shape) if gr is None else np.asarray(gr, np.float64)
        # dA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q (Walter & Lehmann; as JAX).
        mm = r @ _t(gr) - _t(gq) @ q
        low = np.tril(mm, -1)
        copyltu = low + _t(low) + np.eye(n) * mm
        rhs = gq + q @ copyltu
        ga = _t(np.linalg.solve(r, _t(rhs)))
        return _f32(ga)


def qr(x, mode="reduced"):
    """QR decomposition ``x = q @ r``; ``mode`` ``"reduced"`` (``q`` ``(..., M, K)``) or
    ``"complete"`` (``q`` ``(..., M, M)``), K = min(M, N).

    Args:
        x: ``(..., M, N)`` matrices.
        mode: ``"reduced"`` (default) or ``"complete"``.

    Example:
        >>> q, r = ops.qr(np.random.rand(5, 3).astype("float32"))
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"`mode` argument value not supported. Expected one of "
                         f"{{'reduced', 'complete'}}. Received: mode={mode}")
    return QR.apply(_arg(x, "qr"), mode=mode)


class SVD(Function):
    @staticmethod
    def forward(ctx, x, full_matrices=True, compute_uv=True):
        x64 = x.astype(np.float64)
        if not compute_uv:
            u, s, vt = np.linalg.svd(x64, full_matrices=False)
            ctx.save_for_backward(u, s, vt, False)
            return _f32(s)
        u, s, vt = np.linalg.svd(x64, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vt, full_matrices)
        return _f32(u), _f32(s), _f32(vt)

    @staticmethod
    def backward(ctx, *grads):
        u, s, vt, full = ctx.saved
        k = s.shape[-1]
        if len(grads) == 1:
            return _f32(u[..., :, :k] * np.asarray(grads[0], np.float64)[..., None, :] @ vt[..., :k, :])
        gu, gs, gvt = grads
        if full and (u.shape[-1] != k or vt.shape[-2] != k):
            raise NotImplementedError("The gradient of keras.ops.svd with full_matrices=True "
                                      "is implemented for square matrices only")
        eye = np.eye(k)
        gs = np.zeros(s.shape) if gs is None else np.asarray(gs, np.float64)
        ga = u @ (gs[..., :, None] * eye) @ vt
        if gu is not None or gvt is not None:
            v = _t(vt)
            gu = np.zeros(u.shape) if gu is None else np.asarray(gu, np.float64)
            gv = np.zeros(v.shape) if gvt is None else _t(np.asarray(gvt, np.float64))
            s2 = s[..., None, :] ** 2 - s[..., :, None] ** 2
            with np.errstate(divide="ignore"):
                f = np.where(eye.astype(bool), 0.0, 1.0 / s2)
            utgu, vtgv = _t(u) @ gu, _t(v) @ gv
            sm = s[..., :, None] * eye
            j = f * (utgu - _t(utgu))
            kk = f * (vtgv - _t(vtgv))
            ga = ga + u @ (j @ sm + sm @ kk) @ vt
            m, n = u.shape[-2], v.shape[-2]
            sinv = (1.0 / s)[..., :, None] * eye
            if m > k:
                ga = ga + (np.eye(m) - u @ _t(u)) @ gu @ sinv @ vt
            if n > k:
                ga = ga + u @ sinv @ _t(gv) @ (np.eye(n) - v @ vt)
        return _f32(ga)


def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition ``x = u @ diag(s) @ vh``: ``(u, s, vh)``, or just ``s``
    (descending) with ``compute_uv=False``. Differentiable (distinct singular values; with
    ``full_matrices=True`` for square inputs).

    Args:
        x: ``(..., M, N)`` matrices.
        full_matrices: ``u`` and ``vh`` square (default) or reduced to ``K = min(M, N)``
            columns/rows.
        compute_uv: also return ``u`` and ``vh`` (default True).

    Example:
        >>> u, s, vh = ops.svd(np.random.rand(4, 3).astype("float32"), full_matrices=False)
    """
    return SVD.apply(_arg(x, "svd"), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))


class Pinv(Function):
    @staticmethod
    def forward(ctx, x, rcond=None):
        p = np.linalg.pinv(x.astype(np.float64), rcond=1e-15 if rcond is None else rcond)
        ctx.save_for_backward(x.astype(np.float64), p)
        return _f32(p)

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.saved
        g = np.asarray(g, np.float64)
        m, n = a.shape[-2:]
        # Golub & Pereyra's derivative of the pseudo-inverse (constant rank).
        ga = (-_t(p) @ g @ _t(p)
              + (np.eye(m) - a @ p) @ _t(g) @ p @ _t(p)
              + _t(p) @ p @ _t(g) @ (np.eye(n) - p @ a))
        return _f32(ga)


def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse ``(..., N, M)`` of ``(..., M, N)`` matrices (singular
    values below ``rcond * largest`` are treated as zero).

    Args:
        x: ``(..., M, N)`` matrices.
        rcond: relative cutoff for small singular values (None: NumPy's default).

    Example:
        >>> ops.pinv(np.array([[1.0, 0.0], [0.0, 0.0]], "float32"))  # [[1, 0], [0, 0]]
    """
    return Pinv.apply(_arg(x, "pinv"), rcond=rcond)


class Lstsq(Function):
    @staticmethod
    def forward(ctx, a, b, rcond=None, vector=False):
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        bm = b64[:, None] if vector else b64
        x = np.linalg.lstsq(a64, bm, rcond=rcond)[0]
        ctx.save_for_backward(a64, bm, x, vector)
        return _f32(x[:, 0] if vector else x)

    @staticmethod
    def backward(ctx, g):
        a, b, x, vector = ctx.saved
        if a.shape[0] < a.shape[1]:
            raise NotImplementedError("The gradient of keras.ops.lstsq is implemented for "
                                      f"M >= N (full column rank) only; received a.shape={a.shape}")
        gm = np.asarray(g, np.float64)
        gm = gm[:, None] if vector else gm
        # x = (A^T A)^-1 A^T b: with z = (A^T A)^-1 g, gB = A z and gA = r z^T - A z x^T.
        z = np.linalg.solve(_t(a) @ a, gm)
        r = b - a @ x
        ga = r @ _t(z) - a @ z @ _t(x)
        gb = a @ z
        return _f32(ga), _f32(gb[:, 0] if vector else gb)


def lstsq(a, b, rcond=None):
    """Least-squares solution of ``a @ x = b`` for 2-D ``a`` ``(M, N)`` and ``b`` ``(M,)`` or
    ``(M, K)``.

    Args:
        a: ``(M, N)`` coefficient matrix.
        b: ``(M,)`` or ``(M, K)`` right-hand side.
        rcond: singular values below ``rcond * largest`` count as zero (None: machine precision
            times ``max(M, N)``).

    Example:
        >>> ops.lstsq(np.array([[1.0], [1.0]], "float32"), np.array([1.0, 3.0], "float32"))  # [2]
    """
    am = _mat(a, "lstsq")
    bv = np.asarray(value(b))
    if am.ndim != 2 or bv.ndim not in (1, 2) or bv.shape[0] != am.shape[0]:
        raise ValueError(f"lstsq expects a (M, N) and b (M,) or (M, K); received "
                         f"a.shape={am.shape}, b.shape={bv.shape}")
    return Lstsq.apply(a if isinstance(a, Tensor) else am,
                       b if isinstance(b, Tensor) else bv.astype(np.float32),
                       rcond=rcond, vector=bv.ndim == 1)


def matrix_rank(x, tol=None):
    """Number of singular values above ``tol`` (default ``max(M, N) * eps * largest``), as
    int32 per matrix.

    Args:
        x: ``(..., M, N)`` matrices.
        tol: the singular-value threshold, or None for the default.

    Example:
        >>> ops.matrix_rank(np.ones((3, 3), "float32"))  # 1
    """
    a = _mat(x, "matrix_rank")
    s = np.linalg.svd(a, compute_uv=False)
    if tol is None:
        tol = s.max(axis=-1, keepdims=True) * max(a.shape[-2:]) * np.finfo(np.float32).eps
    else:
        tol = np.asarray(value(tol))[..., None]
    return Tensor(np.asarray((s > tol).sum(axis=-1), dtype=np.int32))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - keras.ops argument name
    """Vector or matrix norm, as ``numpy.linalg.norm``, differentiable.

    Args:
        ord: vector norms: None/2, inf, -inf, 0, any p; matrix norms (``axis`` a pair, or a
            2-D input with ``axis=None``): None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf.
        axis: None (the whole vector, or the matrix of a 2-D input), an int, or a pair.
        x: input tensor.
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> ops.norm(np.array([3.0, 4.0], "float32"))  # 5.0
    """
    from nnfast.ops import math as m
    from nnfast.ops.array import reshape

    xv = np.asarray(value(x))
    nd = xv.ndim
    if axis is None:
        if ord is not None and nd == 2:
            axis = (0, 1)
        else:
            flat = reshape(x, (-1,))
            y = norm(flat, ord=ord, axis=0)
            return reshape(y, (1,) * nd) if keepdims else y
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, (list, tuple)):
        if len(axis) != 2:
            raise ValueError(f"norm: axis must be an int or a pair, received axis={axis}")
        return _matrix_norm(x, ord, tuple(a % nd for a in axis), keepdims)
    if ord is None or ord == 2:
        return m.sqrt(m.sum(m.square(x), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"Invalid `ord` argument for vector norm. Received: ord={ord}")
    if ord == np.inf:
        return m.max(m.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return m.min(m.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return Tensor(np.asarray((xv != 0).sum(axis=axis, keepdims=keepdims), np.float32))
    if ord == 1:
        return m.sum(m.abs(x), axis=axis, keepdims=keepdims)
    p = float(ord)
    return m.power(m.sum(m.power(m.abs(x), p), axis=axis, keepdims=keepdims), 1.0 / p)


def _matrix_norm(x, ord, axis, keepdims):
    from nnfast.ops import math as m
    from nnfast.ops.array import expand_dims, transpose

    r, c = axis
    if ord in (None, "fro", "f"):
        y = m.sqrt(m.sum(m.square(x), axis=axis, keepdims=keepdims))
        return y
    if ord in (1, -1, np.inf, -np.inf):
        # 1: max column sum (sum over rows); inf: max row sum (sum over columns).
        sum_axis, red_axis = (r, c) if ord in (1, -1) else (c, r)
        sums = m.sum(m.abs(x), axis=sum_axis, keepdims=True)
        y = (m.max if ord > 0 else m.min)(sums, axis=red_axis, keepdims=True)
        if not keepdims:
            from nnfast.ops.array import squeeze

            y = squeeze(y, axis=tuple(sorted(axis)))
        return y
    if ord in (2, -2, "nuc"):
        nd = np.ndim(value(x))
        moved = transpose(x, [i for i in range(nd) if i not in (r, c)] + [r, c])
        s = svd(moved, compute_uv=False)
        y = (m.sum(s, axis=-1) if ord == "nuc" else m.max(s, axis=-1) if ord == 2
             else m.min(s, axis=-1))
        if keepdims:
            for a in sorted(axis):
                y = expand_dims(y, a)
        return y
    raise ValueError(f"Invalid `ord` argument for matrix norm. Received: ord={ord}")


def jvp(fun, primals, tangents, has_aux=False):
    """Jacobian-vector product of ``fun`` at ``primals`` along ``tangents``:
    ``(outputs, J @ tangents)`` (plus ``aux`` with ``has_aux``).

    nnfast differentiates in reverse mode, so this computes one reverse pass per output
    element (exact, but costly for large outputs).

    Args:
        fun: a function of ``len(primals)`` tensors returning a tensor (or a tuple
            ``(tensor, aux)`` with ``has_aux``).
        primals: tuple (or list) of the arrays ``fun`` is evaluated at.
        tangents: tuple (or list) of arrays of the primals' shapes: the direction.
        has_aux: ``fun`` returns ``(output, aux)``; ``aux`` is returned unchanged.

    Example:
        >>> out, tangent_out = ops.jvp(ops.square, (np.array([3.0], "float32"),),
        ...                            (np.array([1.0], "float32"),))  # 9, 6
    """
    from nnfast.backend.tape import GradientTape

    if not isinstance(primals, (list, tuple)) or not isinstance(tangents, (list, tuple)):
        raise TypeError("jvp: `primals` and `tangents` must be tuples or lists, received "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    xs = [Tensor(np.array(value(p), dtype=np.float32)) for p in primals]
    ts = [np.asarray(value(t), dtype=np.float64) for t in tangents]
    for x, t in zip(xs, ts):
        if x.shape != t.shape:
            raise ValueError(f"jvp: primal shape {x.shape} and tangent shape {t.shape} differ")
    with GradientTape(persistent=True) as tape:
        tape.watch(xs)
        result = fun(*xs)
    out, aux = result if has_aux else (result, None)
    if not isinstance(out, Tensor):
        out = Tensor(np.asarray(value(out)))
    tangent_out = np.zeros(out.shape, np.float64)
    flat = tangent_out.reshape(-1)
    for i in range(flat.size):
        seed = np.zeros(out.shape, out.dtype)
        seed.reshape(-1)[i] = 1
        grads = tape.gradient(out, xs, output_gradients=seed)
        flat[i] = sum(float((g.astype(np.float64) * t).sum()) for g, t in zip(grads, ts)
                      if g is not None)
    tangent_out = Tensor(tangent_out.astype(np.float32))
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)
