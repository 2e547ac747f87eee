"""Tensor contractions of ``keras.ops.numpy``: ``einsum``, ``tensordot``, ``dot``,
``inner``, ``outer``, ``vdot``, ``kron``, ``cross``, ``correlate``, ``corrcoef`` and
``slogdet``.

``einsum`` lowers every two-operand contraction to a batched matrix product: the letters
are sorted into batch, kept-left, kept-right and contracted groups, the operands are
transposed and reshaped to ``(batch, m, k)`` and ``(batch, k, n)``, and float32 products
run on nnfast's SGEMM (``_core.gemm``/``gemm_batched``). Letters summed out of a single
operand are summed first; repeated letters take a diagonal first; more than two operands
contract pairwise from the left. Every step is differentiable.
"""

import string

import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops import precision
from nnfast.ops._dtype import promote, raw, unary_input
from nnfast.ops.array import broadcast_to, expand_dims, reshape, transpose
from nnfast.ops.math import matmul, multiply, subtract, sum as _sum
from nnfast.ops.array import concatenate, get_item, moveaxis, pad as _pad
from nnfast.ops.indexing import flip, index_map
from nnfast.ops.math import matmul_promoted, mean, sqrt, Sum


def _bmm(a, b, trans_a=False, trans_b=False):
    """Batched product of 3-D arrays on SGEMM for float32 (NumPy otherwise)."""
    if a.dtype == np.float32 and b.dtype == np.float32 and a.size and b.size:
        m = a.shape[2] if trans_a else a.shape[1]
        n = b.shape[1] if trans_b else b.shape[2]
        out = np.empty((a.shape[0], m, n), np.float32)
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        if a.shape[0] == 1:  # (EinsumDense's products: in a mixed policy's compute dtype)
            precision.gemm(a[0], b[0], out[0], trans_a=trans_a, trans_b=trans_b)
        else:
            _core.gemm_batched(a, b, out, trans_a=trans_a, trans_b=trans_b)
        return out
    a = np.swapaxes(a, 1, 2) if trans_a else a
    b = np.swapaxes(b, 1, 2) if trans_b else b
    return np.matmul(a, b)


class BatchedContract(Function):
    """out(batch, m, n) = A(batch, m, k) @ B(batch, k, n), where A is operand ``a`` with its
    axes permuted by ``perm_a`` and grouped (stored as (batch, k, m) when ``trans_a``: the
    layout closest to ``a``'s own, so the permuting copy moves whole inner rows), likewise
    B; the product is reshaped to ``out_shape`` and permuted by ``perm_out``."""

    @staticmethod
    def forward(
        ctx,
        a,
        b,
        perm_a=None,
        perm_b=None,
        trans_a=False,
        trans_b=False,
        dims=None,
        out_shape=None,
        perm_out=None,
    ):
        nb, m, k, n = dims
        a3 = np.transpose(a, perm_a).reshape((nb, k, m) if trans_a else (nb, m, k))
        b3 = np.transpose(b, perm_b).reshape((nb, n, k) if trans_b else (nb, k, n))
        if ctx.recording:
            ctx.save_for_backward(a3, b3)
            ctx.meta = (a.shape, b.shape, perm_a, perm_b, trans_a, trans_b, perm_out)
        out = _bmm(a3, b3, trans_a, trans_b).reshape(out_shape)
        if perm_out == tuple(range(len(perm_out))):
            return out
        # NOTE: .copy() keeps 0-d results 0-d (ascontiguousarray would make them (1,)).
        return np.transpose(out, perm_out).copy()

    @staticmethod
    def backward(ctx, g):
        a3, b3 = ctx.saved
        shape_a, shape_b, perm_a, perm_b, trans_a, trans_b, perm_out = ctx.meta
        nb = a3.shape[0]
        m = a3.shape[2] if trans_a else a3.shape[1]
        n = b3.shape[1] if trans_b else b3.shape[2]
        g3 = np.transpose(g, np.argsort(perm_out)).reshape(nb, m, n).astype(a3.dtype, copy=False)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # dA = G @ B^T, stored transposed (B @ G^T) when A is
            ga3 = (
                _bmm(b3, g3, trans_a=trans_b, trans_b=True)
                if trans_a
                else _bmm(g3, b3, trans_b=not trans_b)
            )
            ga = np.transpose(ga3.reshape(tuple(shape_a[i] for i in perm_a)), np.argsort(perm_a))
        if ctx.needs_input_grad[1]:
            # dB = A^T @ G, stored transposed (G^T @ A) when B is
            gb3 = (
                _bmm(g3, a3, trans_a=True, trans_b=trans_a)
                if trans_b
                else _bmm(a3, g3, trans_a=not trans_a)
            )
            gb = np.transpose(gb3.reshape(tuple(shape_b[i] for i in perm_b)), np.argsort(perm_b))
        return ga, gb


def _suffix_kept(perm):
    """How many trailing axes a permutation leaves in place (longer = cheaper copy)."""
    count, nd = 0, len(perm)
    while count < nd and perm[nd - 1 - count] == nd - 1 - count:
        count += 1
    return count


# --- einsum ----------------------------------------------------------------------------------


def _parse(subscripts, ndims):
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: {len(terms)} operand subscripts for {len(ndims)} operands. "
            f"Received: subscripts={subscripts!r}"
        )
    used = set(subscripts) - set(",.->")
    free = [c for c in string.ascii_letters if c not in used]
    ell_len = max(
        [nd - len(t.replace("...", "")) for t, nd in zip(terms, ndims) if "..." in t] or [0]
    )
    ell = "".join(free[:ell_len])
    expanded = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            n = nd - len(t.replace("...", ""))
            t = t.replace("...", ell[ell_len - n :] if n else "")
        if len(t) != nd:
            raise ValueError(f"einsum: subscript {t!r} does not match an operand of rank {nd}.")
        expanded.append(t)
    if out is None:
        counts = {}
        for t in expanded:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return expanded, out


def _diagonal_first(x, sub):
    """(x with repeated letters reduced to their diagonal, its subscripts)."""
    if len(set(sub)) == len(sub):
        return x, sub
    uniq = "".join(dict.fromkeys(sub))
    return index_map(x, lambda a: np.einsum(f"{sub}->{uniq}", a)), uniq


def _sum_out(x, sub, keep):
    """Sums the letters of ``sub`` not in ``keep``."""
    axes = tuple(i for i, c in enumerate(sub) if c not in keep)
    if not axes:
        return x, sub
    return _sum(x, axis=axes), "".join(c for c in sub if c in keep)


def _contract2(a, sa, b, sb, out):
    """einsum(f"{sa},{sb}->{out}") for diagonal-free operands."""
    a, sa = _sum_out(a, sa, set(sb) | set(out))
    b, sb = _sum_out(b, sb, set(sa) | set(out))
    # groups in the output's order, so the product often lands in place (no final copy)
    batch = [c for c in out if c in sa and c in sb]
    contract = [c for c in sa if c in sb and c not in out]
    left = [c for c in out if c in sa and c not in sb]
    right = [c for c in out if c in sb and c not in sa]
    size = {}
    for c, n in list(zip(sa, a.shape)) + list(zip(sb, b.shape)):
        if c in size and size[c] != n and 1 not in (size[c], n):
            raise ValueError(f"einsum: dimension {c!r} has sizes {size[c]} and {n}.")
        size[c] = max(size.get(c, n), n)
    # NOTE: size-1 axes broadcast as NumPy's einsum does.
    if tuple(size[c] for c in sa) != tuple(a.shape):
        a = broadcast_to(a, tuple(size[c] for c in sa))
    if tuple(size[c] for c in sb) != tuple(b.shape):
        b = broadcast_to(b, tuple(size[c] for c in sb))
    prod_ = lambda cs: int(np.prod([size[c] for c in cs], dtype=np.int64))  # noqa: E731
    perm_a = tuple(sa.index(c) for c in batch + left + contract)
    perm_at = tuple(sa.index(c) for c in batch + contract + left)
    trans_a = _suffix_kept(perm_at) > _suffix_kept(perm_a)
    perm_b = tuple(sb.index(c) for c in batch + contract + right)
    perm_bt = tuple(sb.index(c) for c in batch + right + contract)
    trans_b = _suffix_kept(perm_bt) > _suffix_kept(perm_b)
    mid = batch + left + right
    perm_out = tuple(mid.index(c) for c in out)
    return BatchedContract.apply(
        a,
        b,
        perm_a=perm_at if trans_a else perm_a,
        perm_b=perm_bt if trans_b else perm_b,
        trans_a=trans_a,
        trans_b=trans_b,
        dims=(prod_(batch), prod_(left), prod_(contract), prod_(right)),
        out_shape=tuple(size[c] for c in mid),
        perm_out=perm_out,
    )


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over ``operands`` as described by ``subscripts`` (NumPy's
    notation, ``...`` and implicit output included).

    Two-operand contractions run as one batched matrix product on nnfast's SGEMM for
    float32; differentiable in every operand.

    Args:
        subscripts: the contraction, e.g. ``"ij,jk->ik"``.
        *operands: the tensors, one per comma-separated term.
        **kwargs: none are supported (Keras's signature); any keyword raises TypeError.

    Returns:
        The contracted tensor, with the axes named after ``->`` (or, implicitly, the labels
        used once, in alphabetical order).

    Raises:
        ValueError: when the operand count or an operand's rank disagrees with
            ``subscripts``.

    Example:
        >>> a, b = np.ones((2, 3, 4), "float32"), np.ones((2, 4, 5), "float32")
        >>> ops.einsum("bij,bjk->bik", a, b).shape  # batched matmul
        (2, 3, 5)
        >>> q, k = np.ones((2, 7, 4, 8), "float32"), np.ones((2, 6, 4, 8), "float32")
        >>> ops.einsum("bqhd,bkhd->bhqk", q, k).shape  # attention scores
        (2, 4, 7, 6)
    """
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}.")
    if not operands:
        raise ValueError("einsum: expected at least one operand.")
    ops_, _ = promote(*operands)
    ops_ = [unary_input(o) for o in ops_]
    if ops_[0].dtype == np.bool_:
        return Tensor(np.asarray(np.einsum(subscripts, *[raw(o) for o in ops_])))
    subs, out = _parse(subscripts, [o.ndim for o in ops_])
    pairs = [_diagonal_first(o, s) for o, s in zip(ops_, subs)]
    x, sx = pairs[0]
    for i in range(1, len(pairs)):
        y, sy = pairs[i]
        later = set(out).union(*[set(s) for _, s in pairs[i + 1 :]])
        keep = "".join(dict.fromkeys(c for c in sx + sy if c in later))
        if set(keep) == set(out):
            keep = out
        x, sx = _contract2(x, sx, y, sy, keep), keep
    x, sx = _sum_out(x, sx, set(out))
    if sx != out:
        x = transpose(x, tuple(sx.index(c) for c in out))
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


# --- products built on einsum / matmul --------------------------------------------------------


def tensordot(x1, x2, axes=2):
    """Sums products over ``axes`` (an int: the last N of ``x1`` with the first N of
    ``x2``; or two sequences of axes).

    Args:
        x1: first tensor.
        x2: second tensor.
        axes: an int N, or a pair of axis lists ``(axes_of_x1, axes_of_x2)``.

    Returns:
        The free axes of ``x1`` followed by those of ``x2``.

    Example:
        >>> ops.tensordot(np.ones((2, 3, 4)), np.ones((4, 5)), axes=1).shape
        (2, 3, 5)
    """
    (a, b), _ = promote(x1, x2)
    a, b = unary_input(a), unary_input(b)
    if isinstance(axes, int):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [i % max(a.ndim, 1) for i in ax_a]
    ax_b = [i % max(b.ndim, 1) for i in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in ax_a] + [
        c for j, c in enumerate(sb) if j not in ax_b
    ]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def dot(x1, x2):
    """NumPy's ``dot`` (see ``nnfast.ops.dot``)."""
    (a, b), _ = promote(x1, x2)
    a, b = unary_input(a), unary_input(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim <= 2:
        return matmul_promoted(a, b, _int8_to_int32=False)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2]))


def inner(x1, x2):
    """Sum of products over the last axes (a product for scalars).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: tensor whose last axis matches ``x1``'s.

    Returns:
        Tensor of shape ``x1.shape[:-1] + x2.shape[:-1]``.

    Example:
        >>> ops.inner(np.array([1.0, 2.0]), np.array([3.0, 4.0]))  # 11.0
        <Tensor shape=() dtype=float64
        array(11.)>
    """
    (a, b), _ = promote(x1, x2)
    a, b = unary_input(a), unary_input(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(x1, x2):
    """Outer product of the flattened inputs: ``(x1.size, x2.size)``.

    Args:
        x1: first tensor (flattened).
        x2: second tensor (flattened).

    Returns:
        ``(x1.size, x2.size)`` tensor.

    Example:
        >>> ops.outer(np.array([1.0, 2.0]), np.array([1.0, 10.0]))  # [[1, 10], [2, 20]]
        <Tensor shape=(2, 2) dtype=float64
        array([[ 1., 10.],
               [ 2., 20.]])>
    """
    (a, b), _ = promote(x1, x2)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def vdot(x1, x2):
    """Dot product of the flattened inputs (a scalar).

    Args:
        x1: first tensor (flattened).
        x2: second tensor with as many elements.

    Returns:
        A scalar tensor.

    Example:
        >>> ops.vdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))  # 11.0
        <Tensor shape=() dtype=float64
        array(11.)>
    """
    (a, b), _ = promote(x1, x2)
    # NOTE: Keras's vdot keeps the input dtype (no 32-bit accumulation of small ints).
    return Sum.apply(multiply(reshape(a, (-1,)), reshape(b, (-1,))))


def kron(x1, x2):
    """Kronecker product: blocks of ``x2`` scaled by each element of ``x1``.

    Args:
        x1: first tensor.
        x2: second tensor.

    Returns:
        The block tensor.

    Example:
        >>> ops.kron(np.eye(2), np.ones((2, 2))).shape
        (4, 4)
    """
    (a, b), _ = promote(x1, x2)
    a, b = unary_input(a), unary_input(b)
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    # interleave: a[i0, 1, i1, 1, ...] * b[1, j0, 1, j1, ...]
    ea = reshape(a, tuple(s for d in a.shape for s in (d, 1)))
    eb = reshape(b, tuple(s for d in b.shape for s in (1, d)))
    prod_ = multiply(ea, eb)
    return reshape(prod_, tuple(p * q for p, q in zip(a.shape, b.shape)))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, z = 0) along the given axes.

    Args:
        x1: tensor whose ``axisa`` has size 2 or 3.
        x2: tensor whose ``axisb`` has size 2 or 3.
        axisa: the vector axis of ``x1`` (default -1).
        axisb: the vector axis of ``x2`` (default -1).
        axisc: the vector axis of the result (default -1).
        axis: when given, overrides ``axisa``, ``axisb`` and ``axisc``.

    Returns:
        The cross products, of the broadcast batch shape.

    Example:
        >>> ops.cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))  # [0, 0, 1]
        <Tensor shape=(3,) dtype=float64
        array([0., 0., 1.])>
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    (a, b), _ = promote(x1, x2)
    a, b = moveaxis(unary_input(a), axisa, -1), moveaxis(unary_input(b), axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(
            f"cross: vectors must have 2 or 3 components. "
            f"Received: x1.shape={a.shape}, x2.shape={b.shape}"
        )

    def comp(v, i):
        if i < v.shape[-1]:
            return get_item(v, (Ellipsis, slice(i, i + 1)))
        return Tensor(np.zeros(v.shape[:-1] + (1,), v.dtype))

    a0, a1, a2 = (comp(a, i) for i in range(3))
    b0, b1, b2 = (comp(b, i) for i in range(3))
    z = subtract(multiply(a0, b1), multiply(a1, b0))
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return reshape(z, z.shape[:-1])
    c = concatenate(
        [
            subtract(multiply(a1, b2), multiply(a2, b1)),
            subtract(multiply(a2, b0), multiply(a0, b2)),
            z,
        ],
        axis=-1,
    )
    return moveaxis(c, -1, axisc)


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D tensors (``mode``: valid, same or full).

    Args:
        x1: 1-D tensor.
        x2: 1-D tensor.
        mode: ``"valid"`` (default), ``"same"`` or ``"full"``.

    Returns:
        1-D tensor of length ``max(n, m) - min(n, m) + 1`` (valid), ``max(n, m)`` (same) or ``n
            + m - 1`` (full).

    Example:
        >>> ops.correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0]))  # [2, 3]
        <Tensor shape=(2,) dtype=float64
        array([2., 3.])>
    """
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be valid, same or full. Received: mode={mode!r}")
    (a, v), _ = promote(x1, x2, to_float=True)
    a, v = unary_input(a), unary_input(v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"correlate: inputs must be 1-D. Received: {a.shape}, {v.shape}")
    n, m = a.shape[0], v.shape[0]
    if n < m:
        # NumPy swaps the operands and reverses the result
        return flip(correlate(v, a, mode), 0)
    pad = {"valid": (0, 0), "same": (m // 2, m - 1 - m // 2), "full": (m - 1, m - 1)}[mode]
    padded = _pad(a, [pad]) if pad != (0, 0) else a
    length = padded.shape[0] - m + 1
    windows = index_map(
        padded, lambda arr: np.lib.stride_tricks.sliding_window_view(arr, m)[:length]
    )
    return matmul(windows, v)


def corrcoef(x):
    """Pearson correlation coefficients of the rows of ``x`` (variables in rows).

    Args:
        x: ``(variables, observations)`` 2-D tensor (a 1-D tensor is one variable).

    Returns:
        ``(variables, variables)`` correlation matrix.

    Example:
        >>> ops.corrcoef(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]]))  # [[1, 0.9934], [0.9934, 1]]
        <Tensor shape=(2, 2) dtype=float64
        array([[1.        , 0.99339927],
               [0.99339927, 1.        ]])>
    """
    x = unary_input(x, to_float=True)
    if x.ndim == 1:
        x = reshape(x, (1, -1))
    c = subtract(x, mean(x, axis=1, keepdims=True))
    cov = matmul(c, transpose(c))
    d = sqrt(einsum("ii->i", cov))
    return cov / (expand_dims(d, 1) * expand_dims(d, 0))


class SLogDet(Function):
    @staticmethod
    def forward(ctx, x):
        sign, logdet = np.linalg.slogdet(x)
        if ctx.recording:
            ctx.save_for_backward(x)
        return np.asarray(sign, x.dtype), np.asarray(logdet, x.dtype)

    @staticmethod
    def backward(ctx, g_sign, g_logdet):
        (x,) = ctx.saved
        if g_logdet is None:
            return None
        inv_t = np.swapaxes(np.linalg.inv(x), -1, -2)
        return (np.asarray(g_logdet)[..., None, None] * inv_t).astype(x.dtype)


def slogdet(x):
    """(sign, log|det|) of square matrices (batched over leading axes); ``logdet`` is
    differentiable (its gradient is ``inv(x).T``).

    Args:
        x: ``(..., M, M)`` square matrices (batched over leading axes).

    Returns:
        ``(sign, logabsdet)``, each of shape ``(...)``.

    Example:
        >>> sign, logdet = ops.slogdet(np.array([[2.0, 0.0], [0.0, -3.0]]))  # -1, log(6)
    """
    x = unary_input(x, to_float=True)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"slogdet: expected square matrices. Received: shape={x.shape}")
    return SLogDet.apply(x)
