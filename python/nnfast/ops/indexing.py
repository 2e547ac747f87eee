"""Ops that move, copy or select elements (``keras.ops.numpy`` names): ``take``,
``take_along_axis``, flips, rolls, diagonals, triangles, splits and stacks.

Most are ``IndexMap``: a forward that only rearranges elements of its input, whose
gradient is found by running the same forward on element numbers and summing the output
gradient back onto them (one ``bincount``, no per-element Python). ``take`` along the
first axis of a float32 tensor runs on nnfast's row-gather kernel.
"""

import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function, _tape_stack
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import promote, raw, unary_input
from nnfast.ops.array import concatenate, get_item, reshape, split
from nnfast.ops.array import broadcast_to, where
from nnfast.ops.math import subtract, sum as _sum


class IndexMap(Function):
    """y = fn(x) where fn only copies elements of x (or fills new places with zeros)."""

    @staticmethod
    def forward(ctx, x, fn=None):
        ctx.shape, ctx.fn = np.shape(x), fn
        out = fn(np.asarray(x))
        return np.array(out) if np.ndim(out) == 0 else np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        n = int(np.prod(ctx.shape))
        # element numbers from 1 so that places the forward zero-fills map to -1
        src = ctx.fn(np.arange(1, n + 1, dtype=np.int64).reshape(ctx.shape)).reshape(-1) - 1
        keep = src >= 0
        grads = g.reshape(-1)
        if g.dtype.kind == "c":
            out = np.bincount(src[keep], grads[keep].real, n) + 1j * np.bincount(
                src[keep], grads[keep].imag, n
            )
        else:
            out = np.bincount(src[keep], grads[keep], n)
        return out.reshape(ctx.shape).astype(g.dtype, copy=False)


def index_map(x, fn):
    """Applies element-moving ``fn`` to ``x`` differentiably."""
    return IndexMap.apply(unary_input(x), fn=fn)


# --- take ---------------------------------------------------------------------------------


def _int_indices(indices):
    idx = np.asarray(raw(indices))
    if idx.dtype.kind not in "iu":
        if idx.dtype.kind == "f" and np.all(np.isfinite(idx)) and np.all(idx == np.round(idx)):
            return idx.astype(np.int64)
        raise TypeError(f"take: indices must be integers. Received: indices.dtype={idx.dtype}")
    return idx


def _wrap_indices(indices, n):
    """Integer indices in [0, n) (negative ones counted from the end); IndexError outside."""
    idx = _int_indices(indices).astype(np.int64, copy=False)
    if not idx.size:
        return idx
    lo, hi = idx.min(), idx.max()
    if lo < -n or hi >= n:
        raise IndexError(
            f"take: indices must lie in [-{n}, {n}). Received: indices in [{lo}, {hi}]"
        )
    return np.where(idx < 0, idx + n, idx) if lo < 0 else idx


def _row_ids(idx, pre, n):
    """Row numbers in the (pre * n, post) view of x for taking ``idx`` along the middle axis."""
    flat = idx.reshape(-1)
    if pre == 1:
        return np.ascontiguousarray(flat)
    return (np.arange(pre, dtype=np.int64)[:, None] * n + flat[None, :]).reshape(-1)


def _gather(x, idx, axis):
    """``np.take(x, idx, axis)`` on nnfast's gather kernel (object arrays through NumPy)."""
    out = _core.take_new_array(x, idx, axis)
    if out is not None:
        return out
    if x.dtype.hasobject:  # the kernel copies bytes: never Python object pointers
        return np.take(x, idx, axis=axis)
    if idx.dtype == np.uint64 and idx.size and idx.max() > np.iinfo(np.int64).max:
        # (as int64 these would wrap to negative indices, counted from the end)
        raise IndexError(f"take: indices must lie in [-{x.shape[axis]}, {x.shape[axis]}). "
                         f"Received: index {idx.max()}")
    # strided arrays, or indices other than native int32/int64 (astype keeps a 0-d index 0-d)
    return _core.take_new_array(np.ascontiguousarray(x), idx.astype(np.int64, order="C"), axis)


class Take(Function):
    """out = x[..., indices, ...] along ``axis``: nnfast's gather kernel (any dtype, any
    axis; it checks the range and counts negative indices from the end). The gradient
    scatter-adds rows of the (leading * n, trailing) view of x back with the embedding
    kernel, for any axis."""

    @staticmethod
    def forward(ctx, x, idx, axis=0):
        if ctx.recording:
            ctx.shape, ctx.axis, ctx.idx = x.shape, axis, idx
        return _gather(x, idx, axis)

    @staticmethod
    def backward(ctx, g):
        axis, shape = ctx.axis, ctx.shape
        idx = _wrap_indices(ctx.idx, shape[axis])
        pre = int(np.prod(shape[:axis], dtype=np.int64))
        post = int(np.prod(shape[axis + 1 :], dtype=np.int64))
        rows = np.ascontiguousarray(g).reshape(pre * idx.size, post)
        ids = _row_ids(idx, pre, shape[axis])
        if g.dtype == np.float32 and rows.size:
            out = np.zeros((pre * shape[axis], post), np.float32)
            _core.embedding_backward(rows, ids, out, None)
        else:
            out = np.zeros((pre * shape[axis], post), g.dtype)
            np.add.at(out, ids, rows)
        return out.reshape(shape), None


def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` when None).

    Negative indices count from the end; out-of-range indices raise ``IndexError``.
    Differentiable with respect to ``x``.

    Args:
        x: tensor of shape ``(..., n, ...)``.
        indices: integer tensor of any shape.
        axis: the axis to gather along.

    Returns:
        ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]``.

    Example:
        >>> ops.take(np.arange(12.).reshape(3, 4), [2, 0], axis=0).shape
        (2, 4)
    """
    if not _tape_stack and type(axis) is int and type(indices) is np.ndarray:
        # Fast path (a training loop's gather: an array or tensor and an int32/int64 index
        # array, nothing recording): one C++ call checks, allocates and gathers. None means
        # strided arrays or other index dtypes, which the general path below converts.
        data = x.value if type(x) is Tensor else x
        if type(data) is np.ndarray:
            out = _core.take_new_array(data, indices, axis)
            if out is not None:
                return Tensor(out)
    x = unary_input(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    nd = x.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"take: axis {axis} is out of range for a tensor of rank {nd}.")
    axis %= nd
    idx = _int_indices(indices)
    if not _tape_stack:  # nothing records: no node, and two Python layers fewer per call
        return Tensor(_gather(x.value if isinstance(x, Tensor) else x, idx, axis))
    return Take.apply(x, idx, axis=axis)


class TakeAlongAxis(Function):
    @staticmethod
    def forward(ctx, x, idx, axis=0):
        ctx.shape, ctx.idx, ctx.axis = x.shape, idx, axis
        return np.take_along_axis(x, idx, axis=axis)

    @staticmethod
    def backward(ctx, g):
        out = np.zeros(ctx.shape, g.dtype)
        idx = np.broadcast_to(ctx.idx, g.shape)
        grid = list(np.ix_(*[np.arange(n) for n in g.shape]))
        grid[ctx.axis] = idx
        np.add.at(out, tuple(grid), g)
        return out, None


def take_along_axis(x, indices, axis=None):
    """``x`` gathered with ``indices`` that match it along every axis but ``axis``
    (broadcasting), as ``np.take_along_axis``; negative indices count from the end.

    Args:
        x: input tensor or array-like.
        indices: integer indices broadcastable with ``x``.
        axis: the axis taken along, or None (the flattened tensor).

    Example:
        >>> x = np.array([[10.0, 30.0, 20.0]])
        >>> keras.ops.take_along_axis(x, np.array([[1, 0]]), axis=1).numpy()
        array([[30., 10.]])
    """
    x = unary_input(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis %= max(x.ndim, 1)
    idx = _wrap_indices(indices, x.shape[axis])
    if idx.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices must have the rank of x. "
            f"Received: x.shape={x.shape}, indices.shape={idx.shape}"
        )
    shape = tuple(max(a, b) if i != axis else b for i, (a, b) in enumerate(zip(x.shape, idx.shape)))
    xb_shape = tuple(s if i != axis else x.shape[axis] for i, s in enumerate(shape))
    if xb_shape != x.shape:
        x = broadcast_to(x, xb_shape)
    return TakeAlongAxis.apply(x, np.broadcast_to(idx, shape), axis=axis)


# --- flips, rolls, diagonals --------------------------------------------------------------


def flip(x, axis=None):
    """Reverses the order of elements along ``axis`` (all axes when None).

    Args:
        x: input tensor or array-like.
        axis: the axis (or axes) reversed, or None (all).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.flip(x, axis=1).numpy()
        array([[3., 5., 1.],
               [6., 2., 4.]], dtype=float32)
    """
    return index_map(x, lambda a: np.flip(a, axis=axis))


def fliplr(x):
    """Reverses along axis 1.

    Args:
        x: a tensor of rank >= 2.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.fliplr(x).numpy()
        array([[3., 5., 1.],
               [6., 2., 4.]], dtype=float32)
    """
    return flip(x, axis=1)


def flipud(x):
    """Reverses along axis 0.

    Args:
        x: a tensor of rank >= 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.flipud(x).numpy()
        array([[4., 2., 6.],
               [1., 5., 3.]], dtype=float32)
    """
    return flip(x, axis=0)


def roll(x, shift, axis=None):
    """Shifts elements cyclically by ``shift`` along ``axis`` (flattened when None).

    Args:
        x: input tensor or array-like.
        shift: how many places elements move (may be negative).
        axis: the axis (or axes), or None (the flattened tensor).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.roll(x, 1, axis=1).numpy()
        array([[3., 1., 5.],
               [6., 4., 2.]], dtype=float32)
    """
    return index_map(x, lambda a: np.roll(a, shift, axis=axis))


def rot90(array, k=1, axes=(0, 1)):
    """Rotates by 90 degrees ``k`` times in the plane of ``axes``.

    Args:
        array: a tensor of rank >= 2.
        k: the number of quarter turns (default 1).
        axes: the plane rotated (default (0, 1)).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.rot90(x).numpy()
        array([[3., 6.],
               [5., 2.],
               [1., 4.]], dtype=float32)
    """
    array = unary_input(array)
    if array.ndim < 2:
        raise ValueError(f"rot90: expected a tensor of rank >= 2. Received: shape={array.shape}")
    return index_map(array, lambda a: np.rot90(a, k=k, axes=tuple(axes)))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal over axes ``axis1``/``axis2`` (moved to the last axis).

    Args:
        x: input tensor or array-like.
        offset: the diagonal's offset (default 0).
        axis1: the first axis of the 2-D planes (default 0).
        axis2: the second axis (default 1).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.diagonal(x).numpy()
        array([1., 2.], dtype=float32)
    """
    return index_map(x, lambda a: np.diagonal(a, offset, axis1, axis2))


def diag(x, k=0):
    """For a vector, a matrix with it on diagonal ``k``; for a matrix, its diagonal ``k``.

    Args:
        x: a 1-D tensor (builds a diagonal matrix) or a 2-D one (extracts a diagonal).
        k: the diagonal's offset (default 0; > 0 above).

    Example:
        >>> keras.ops.diag(np.array([1.0, 2.0])).numpy()
        array([[1., 0.],
               [0., 2.]])
    """
    x = unary_input(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"diag: expected a 1-D or 2-D tensor. Received: shape={x.shape}")
    return index_map(x, lambda a: np.diag(a, k))


def diagflat(x, k=0):
    """A matrix with the flattened ``x`` on diagonal ``k``.

    Args:
        x: a tensor (flattened).
        k: the diagonal's offset (default 0).

    Example:
        >>> keras.ops.diagflat(np.array([[1.0, 2.0]])).numpy()
        array([[1., 0.],
               [0., 2.]])
    """
    return index_map(x, lambda a: np.diagflat(a, k))


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the ``offset`` diagonal (bool/small ints sum in int32, as ``sum``).

    Args:
        x: input tensor or array-like.
        offset: the diagonal's offset (default 0).
        axis1: the first axis of the 2-D planes (default 0).
        axis2: the second axis (default 1).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.trace(x).numpy()
        array(3., dtype=float32)
    """
    return _sum(diagonal(x, offset, axis1, axis2), axis=-1)


def tril(x, k=0):
    """Zeros above diagonal ``k`` of the last two axes.

    Args:
        x: input tensor or array-like.
        k: the diagonal above which elements are zeroed (default 0).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.tril(x).numpy()
        array([[1., 0., 0.],
               [4., 2., 0.]], dtype=float32)
    """
    return index_map(x, lambda a: np.tril(a, k))


def triu(x, k=0):
    """Zeros below diagonal ``k`` of the last two axes.

    Args:
        x: input tensor or array-like.
        k: the diagonal below which elements are zeroed (default 0).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.triu(x).numpy()
        array([[1., 5., 3.],
               [0., 2., 6.]], dtype=float32)
    """
    return index_map(x, lambda a: np.triu(a, k))


def ravel(x):
    """``x`` flattened to one axis (C order).

    Args:
        x: input tensor or array-like.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.ravel(x).numpy()
        array([1., 5., 3., 4., 2., 6.], dtype=float32)
    """
    return reshape(x, (-1,))


def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when None).

    Args:
        x1: the first tensor.
        x2: the tensor appended.
        axis: the axis joined along, or None (both flattened).

    Example:
        >>> keras.ops.append(np.array([1.0, 2.0]), np.array([3.0])).numpy()
        array([1., 2., 3.])
    """
    (a, b), _ = promote(x1, x2)
    if axis is None:
        return concatenate([reshape(a, (-1,)), reshape(b, (-1,))], axis=0)
    return concatenate([a, b], axis=axis)


def diff(a, n=1, axis=-1):
    """The ``n``-th forward difference along ``axis``.

    Args:
        a: input tensor or array-like.
        n: how many times differences are taken (default 1).
        axis: the axis (default -1).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.diff(x, axis=1).numpy()
        array([[ 4., -2.],
               [-2.,  4.]], dtype=float32)
    """
    a = unary_input(a)
    if n < 0:
        raise ValueError(f"diff: n must be >= 0. Received: n={n}")
    for _ in range(n):
        size = a.shape[axis]
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[axis], hi[axis] = slice(0, max(size - 1, 0)), slice(1, size)
        if a.dtype == np.bool_:
            a = Tensor(np.not_equal(raw(a)[tuple(hi)], raw(a)[tuple(lo)]))
        else:
            a = subtract(get_item(a, tuple(hi)), get_item(a, tuple(lo)))
    return a if isinstance(a, Tensor) else Tensor(np.asarray(a))


# --- splits and stacks ----------------------------------------------------------------------


def array_split(x, indices_or_sections, axis=0):
    """Splits into ``indices_or_sections`` parts (sizes differing by at most one) or at the
    given indices.

    Args:
        x: input tensor or array-like.
        indices_or_sections: an int N (N near-equal parts) or a list of split indices.
        axis: the axis split (default 0).

    Example:
        >>> x = np.arange(5.0)
        >>> [p.shape for p in keras.ops.array_split(x, 2)]
        [(3,), (2,)]
    """
    x = unary_input(x)
    n = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0:
            raise ValueError(
                f"array_split: number of sections must be > 0. Received: {indices_or_sections}"
            )
        q, r = divmod(n, indices_or_sections)
        sizes = [q + 1] * r + [q] * (indices_or_sections - r)
        cuts = np.cumsum(sizes)[:-1].tolist()
    else:
        cuts = [int(i) for i in indices_or_sections]
    return _split_at(x, cuts, axis)


def _split_at(x, cuts, axis):
    n = x.shape[axis]
    bounds = [0] + [min(max(c, 0), n) for c in cuts] + [n]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        key = [slice(None)] * x.ndim
        key[axis] = slice(lo, max(lo, hi))
        out.append(get_item(x, tuple(key)))
    return out


def hsplit(x, indices_or_sections):
    """Splits along axis 1 (axis 0 for vectors).

    Args:
        x: input tensor or array-like.
        indices_or_sections: an int N (N equal parts) or a list of split indices.

    Example:
        >>> x = np.zeros((2, 4))
        >>> [p.shape for p in keras.ops.hsplit(x, 2)]
        [(2, 2), (2, 2)]
    """
    x = unary_input(x)
    return split(x, indices_or_sections, axis=1 if x.ndim > 1 else 0)


def vsplit(x, indices_or_sections):
    """Splits along axis 0.

    Args:
        x: input tensor or array-like.
        indices_or_sections: an int N (N equal parts) or a list of split indices.

    Example:
        >>> x = np.zeros((4, 2))
        >>> [p.shape for p in keras.ops.vsplit(x, 2)]
        [(2, 2), (2, 2)]
    """
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """Splits along axis 2.

    Args:
        x: input tensor or array-like.
        indices_or_sections: an int N (N equal parts) or a list of split indices.

    Example:
        >>> x = np.zeros((2, 2, 4))
        >>> [p.shape for p in keras.ops.dsplit(x, 2)]
        [(2, 2, 2), (2, 2, 2)]
    """
    return split(x, indices_or_sections, axis=2)


def _at_least(x, ndim):
    x = unary_input(x)
    if x.ndim >= ndim:
        return x
    if ndim == 2:
        return reshape(x, (1, -1) if x.ndim == 1 else (1, 1))
    shape = {0: (1, 1, 1), 1: (1, -1, 1), 2: x.shape + (1,)}[x.ndim]
    return reshape(x, shape)


def hstack(xs):
    """Joins along axis 1 (axis 0 for vectors).

    Args:
        xs: a list of tensors.

    Example:
        >>> keras.ops.hstack([np.zeros((2, 1)), np.ones((2, 2))]).shape
        (2, 3)
    """
    xs = [unary_input(x) for x in xs]
    return concatenate(xs, axis=1 if xs[0].ndim > 1 else 0)


def vstack(xs):
    """Joins as rows: vectors become rows, then along axis 0.

    Args:
        xs: a list of tensors.

    Example:
        >>> keras.ops.vstack([np.zeros((1, 3)), np.ones((2, 3))]).shape
        (3, 3)
    """
    return concatenate([_at_least(x, 2) for x in xs], axis=0)


def dstack(xs):
    """Joins along a third axis (inputs raised to rank 3).

    Args:
        xs: a list of tensors.

    Example:
        >>> keras.ops.dstack([np.zeros((2, 3)), np.ones((2, 3))]).shape
        (2, 3, 2)
    """
    return concatenate([_at_least(x, 3) for x in xs], axis=2)


def select(condlist, choicelist, default=0):
    """``choicelist[i]`` where ``condlist[i]`` first holds, else ``default``.

    Args:
        condlist: a list of boolean tensors.
        choicelist: a list of tensors, one per condition.
        default: the value where no condition holds (default 0).

    Example:
        >>> x = np.array([-2.0, 0.0, 3.0])
        >>> keras.ops.select([x < 0, x > 0], [-x, x * 10], default=99.0).numpy()
        array([ 2., 99., 30.])
    """
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: condlist and choicelist must have the same length. "
            f"Received: {len(condlist)} and {len(choicelist)}"
        )
    if not condlist:
        raise ValueError("select: condlist must not be empty.")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out


def unravel_index(indices, shape):
    """The tuple of coordinate tensors of flat ``indices`` in an array of ``shape``.

    Args:
        indices: flat integer indices.
        shape: the shape they index into.

    Example:
        >>> [int(i[0]) for i in keras.ops.unravel_index(np.array([5]), (2, 3))]
        [1, 2]
    """
    idx = np.asarray(raw(indices))
    return tuple(
        Tensor(c.astype(idx.dtype if idx.dtype.kind in "iu" else np.int32))
        for c in np.unravel_index(idx, tuple(int(s) for s in shape))
    )
