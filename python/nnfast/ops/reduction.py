"""Reductions and statistics of ``keras.ops.numpy`` beyond ``math.py``'s: NaN-ignoring
reductions, quantiles and the median, ``average``, ``ptp``, ``all``/``any``,
cumulative products, counting, histograms and searching.

Differentiable ones are composed of differentiable ops (a quantile is a sort followed by
a linear interpolation, ``nanmean`` a masked sum over a count), so their gradients come
from the tape; counting and searching return plain integer or boolean tensors.
"""

import numpy as np

from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import promote, raw, unary_input
from nnfast.ops.array import Where, cast, reshape, sort
from nnfast.ops.size_limit import check_result_size
from nnfast.ops.math import (
    _axis,
    accumulation_input,
    add,
    divide,
    max as _max,
    mean,
    min as _min,
    multiply,
    prod,
    sqrt,
    square,
    subtract,
    sum as _sum,
)
from nnfast.ops.array import get_item, moveaxis, transpose
from nnfast.ops.indexing import diff, take_along_axis
from nnfast.ops.math import cumsum


def _arr(x):
    x = unary_input(x)
    return x.value if isinstance(x, Tensor) else x


def _zero_nans(x):
    """x with NaN replaced by 0 (differentiable; NaN places get no gradient)."""
    if x.dtype.kind != "f":
        return x
    nan = np.isnan(_arr(x))
    return Where.apply(nan, np.zeros((), x.dtype), x) if nan.any() else x


def _fill_nans(x, fill):
    nan = np.isnan(_arr(x))
    return Where.apply(nan, np.asarray(fill, x.dtype), x) if nan.any() else x


def all(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops name
    """True where every element along ``axis`` is nonzero.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.all(x, axis=1).numpy()
        array([ True,  True])
    """
    return Tensor(np.asarray(np.all(_arr(x), axis=_axis(axis), keepdims=keepdims)))


def any(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops name
    """True where some element along ``axis`` is nonzero.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.any(x, axis=0).numpy()
        array([ True,  True,  True])
    """
    return Tensor(np.asarray(np.any(_arr(x), axis=_axis(axis), keepdims=keepdims)))


def count_nonzero(x, axis=None):
    """Number (int32) of nonzero elements along ``axis``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.count_nonzero(x, axis=1).numpy()
        array([3, 3], dtype=int32)
    """
    return Tensor(np.asarray(np.count_nonzero(_arr(x), axis=_axis(axis)), dtype=np.int32))


def ptp(x, axis=None, keepdims=False):
    """Range ``max - min`` along ``axis``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.ptp(x, axis=1).numpy()
        array([4., 4.], dtype=float32)
    """
    x = unary_input(x)
    return subtract(_max(x, axis, keepdims), _min(x, axis, keepdims))


def average(x, axis=None, weights=None):
    """Mean of ``x`` along ``axis`` weighted by ``weights`` (of ``x``'s shape, or 1-D along
    ``axis``); plain mean without weights. Ints compute in floatx.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        weights: weights broadcastable to ``x`` along ``axis``, or None (the plain mean).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.average(x, axis=1, weights=np.array([1.0, 0.0, 1.0])).numpy()
        array([2., 5.])
    """
    x = unary_input(x, to_float=True)
    if weights is None:
        return mean(x, axis=axis)
    (x, w), _ = promote(x, weights, to_float=True)
    if w.ndim == 1 and x.ndim > 1:
        if axis is None:
            raise ValueError("average: 1-D weights need an axis. Received: axis=None")
        shape = [1] * x.ndim
        shape[axis] = -1
        w = reshape(w, shape)
    return divide(
        _sum(multiply(x, w), axis=axis), _sum(multiply(w, np.ones(x.shape, x.dtype)), axis=axis)
    )


def nansum(x, axis=None, keepdims=False):
    """Sum over ``axis`` treating NaN as 0.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nansum(np.array([1.0, np.nan, 2.0])).numpy()
        array(3.)
    """
    return _sum(_zero_nans(accumulation_input(x)), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """Product over ``axis`` treating NaN as 1.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanprod(np.array([3.0, np.nan, 2.0])).numpy()
        array(6.)
    """
    x = accumulation_input(x)
    if x.dtype.kind == "f":
        x = _fill_nans(x, 1)
    return prod(x, axis=axis, keepdims=keepdims)


def _count(x, axis, keepdims):
    valid = ~np.isnan(_arr(x))
    return np.sum(valid, axis=_axis(axis), keepdims=keepdims).astype(x.dtype)


def nanmean(x, axis=None, keepdims=False):
    """Mean over ``axis`` of the non-NaN elements (NaN where all are NaN).

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanmean(np.array([1.0, np.nan, 2.0])).numpy()
        array(1.5)
    """
    x = unary_input(x, to_float=True)
    total = _sum(_zero_nans(x), axis=axis, keepdims=keepdims)
    return divide(total, _count(x, axis, keepdims))


def nanvar(x, axis=None, keepdims=False):
    """Variance over ``axis`` of the non-NaN elements.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanvar(np.array([1.0, np.nan, 3.0])).numpy()
        array(1.)
    """
    x = unary_input(x, to_float=True)
    # NaN places are zeroed before squaring so no NaN reaches the gradient of the mean.
    centered = _zero_nans(subtract(x, nanmean(x, axis=axis, keepdims=True)))
    return divide(_sum(square(centered), axis=axis, keepdims=keepdims), _count(x, axis, keepdims))


def nanstd(x, axis=None, keepdims=False):
    """Standard deviation over ``axis`` of the non-NaN elements.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanstd(np.array([1.0, np.nan, 3.0])).numpy()
        array(1.)
    """
    return sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def nanmax(x, axis=None, keepdims=False):
    """Max over ``axis`` ignoring NaN (NaN where all are NaN).

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanmax(np.array([1.0, np.nan, 2.0])).numpy()
        array(2.)
    """
    x = unary_input(x)
    if x.dtype.kind != "f":
        return _max(x, axis, keepdims)
    a = _arr(x)
    all_nan = np.all(np.isnan(a), axis=_axis(axis), keepdims=keepdims)
    out = _max(_fill_nans(x, -np.inf), axis, keepdims)
    return Where.apply(all_nan, np.asarray(np.nan, x.dtype), out) if all_nan.any() else out


def nanmin(x, axis=None, keepdims=False):
    """Min over ``axis`` ignoring NaN (NaN where all are NaN).

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanmin(np.array([1.0, np.nan, 2.0])).numpy()
        array(1.)
    """
    x = unary_input(x)
    if x.dtype.kind != "f":
        return _min(x, axis, keepdims)
    a = _arr(x)
    all_nan = np.all(np.isnan(a), axis=_axis(axis), keepdims=keepdims)
    out = _min(_fill_nans(x, np.inf), axis, keepdims)
    return Where.apply(all_nan, np.asarray(np.nan, x.dtype), out) if all_nan.any() else out


def _nan_arg(fn, x, axis, keepdims):
    a = _arr(x)
    if a.dtype.kind == "f":
        fill = -np.inf if fn is np.argmax else np.inf
        nan = np.isnan(a)
        a = np.where(nan, fill, a)
    out = fn(a, axis=axis)
    if a.dtype.kind == "f":
        out = np.where(np.all(nan, axis=axis), -1, out)
    if keepdims:
        out = np.expand_dims(out, tuple(range(a.ndim)) if axis is None else axis)
    return Tensor(np.asarray(out, dtype=np.int32))


def nanargmax(x, axis=None, keepdims=False):
    """Index (int32) of the largest non-NaN value along ``axis`` (-1 where all are NaN).

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanargmax(np.array([1.0, np.nan, 3.0])).numpy()
        array(2, dtype=int32)
    """
    return _nan_arg(np.argmax, x, axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """Index (int32) of the smallest non-NaN value along ``axis`` (-1 where all are NaN).

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanargmin(np.array([1.0, np.nan, 3.0])).numpy()
        array(0, dtype=int32)
    """
    return _nan_arg(np.argmin, x, axis, keepdims)


class CumProd(Function):
    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.shape, ctx.axis = x.shape, axis
        flat = x.reshape(-1) if axis is None else x
        out = np.cumprod(flat, axis=0 if axis is None else axis).astype(x.dtype)
        ctx.save_for_backward(flat, out)
        return out

    @staticmethod
    def backward(ctx, g):
        flat, out = ctx.saved
        axis = 0 if ctx.axis is None else ctx.axis
        # d out_j / d x_i = prod_{k<=j, k!=i} x_k: exact also with zeros, via the
        # exclusive products on the left times the running products on the right.
        moved_x = np.moveaxis(flat, axis, -1)
        moved_g = np.moveaxis(g.reshape(flat.shape), axis, -1)
        n = moved_x.shape[-1]
        if np.all(moved_x != 0):
            # d/dx_i sum_j g_j out_j = (sum_{j>=i} g_j out_j) / x_i
            moved_out = np.moveaxis(out.reshape(flat.shape), axis, -1)
            tail = np.flip(np.cumsum(np.flip(moved_g * moved_out, -1), -1), -1)
            return np.moveaxis(tail / moved_x, -1, axis).reshape(ctx.shape).astype(flat.dtype)
        grad = np.zeros_like(moved_x)
        if n:
            left = np.cumprod(
                np.concatenate([np.ones_like(moved_x[..., :1]), moved_x[..., :-1]], -1), -1
            )
            for i in range(n):  # NOTE: a loop over the axis, each step vectorized over the rest
                right = np.cumprod(moved_x[..., i + 1 :], -1)
                tail = (moved_g[..., i + 1 :] * right).sum(-1) if i + 1 < n else 0
                grad[..., i] = left[..., i] * (moved_g[..., i] + tail)
        return np.moveaxis(grad, -1, axis).reshape(ctx.shape)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (flattened when None); bool multiplies in int32.

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        dtype: the result's dtype, or None.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.cumprod(x, axis=1).numpy()
        array([[ 1.,  5., 15.],
               [ 4.,  8., 48.]], dtype=float32)
    """
    x = unary_input(x)
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype == np.bool_:
        x = cast(x, "int32")
    return CumProd.apply(x, axis=axis)


def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum treating NaN as 0.

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        dtype: the result's dtype, or None.

    Example:
        >>> keras.ops.nancumsum(np.array([1.0, np.nan, 3.0])).numpy()
        array([1., 1., 4.])
    """
    return cumsum(_zero_nans(unary_input(x)), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """Cumulative product treating NaN as 1.

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        dtype: the result's dtype, or None.

    Example:
        >>> keras.ops.nancumprod(np.array([2.0, np.nan, 3.0])).numpy()
        array([2., 2., 6.])
    """
    x = unary_input(x)
    if x.dtype.kind == "f":
        x = _fill_nans(x, 1)
    return cumprod(x, axis=axis, dtype=dtype)


# --- quantiles ------------------------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x, q, axis, method, keepdims, ignore_nan):
    if method not in _METHODS:
        raise ValueError(f"quantile: method must be one of {_METHODS}. Received: method={method!r}")
    x = unary_input(x, to_float=True)
    qv = np.asarray(raw(q), dtype=np.float64)
    if np.any((qv < 0) | (qv > 1)):
        raise ValueError(f"quantile: q must lie in [0, 1]. Received: q={qv}")
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else tuple(a % nd for a in np.atleast_1d(axis))
    rest = tuple(i for i in range(nd) if i not in axes)
    moved = transpose(x, rest + axes)
    flat = reshape(moved, tuple(x.shape[i] for i in rest) + (-1,))
    xs = sort(flat, axis=-1)  # NaN sorts last
    a = _arr(flat)
    n_valid = np.sum(~np.isnan(a), axis=-1) if ignore_nan else np.full(a.shape[:-1], a.shape[-1])
    pos = qv.reshape(qv.shape + (1,) * (flat.ndim - 1)) * np.maximum(n_valid - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n_valid - 1, 0))
    frac = pos - lo
    if method == "lower":
        hi, frac = lo, np.zeros_like(frac)
    elif method == "higher":
        lo, frac = np.ceil(pos).astype(np.int64), np.zeros_like(frac)
        hi = lo
    elif method == "midpoint":
        frac = np.where(pos > lo, 0.5, 0.0)
    elif method == "nearest":
        nearest = np.round(pos).astype(np.int64)  # NumPy rounds halves to even here too
        lo, hi, frac = nearest, nearest, np.zeros_like(frac)
    qshape = qv.shape
    lead = flat.shape[:-1]

    def gather(idx):
        # idx: q.shape + lead -> values of shape q.shape + lead
        idx2 = np.moveaxis(
            idx.reshape(qshape + lead),
            tuple(range(len(qshape))),
            tuple(range(len(lead), len(lead) + len(qshape))),
        )
        idx2 = idx2.reshape(lead + (-1,))
        vals = take_along_axis(xs, idx2, axis=-1)
        vals = reshape(vals, lead + qshape)
        return (
            moveaxis(
                vals, tuple(range(len(lead), len(lead) + len(qshape))), tuple(range(len(qshape)))
            )
            if qshape
            else vals
        )

    lo_b = np.broadcast_to(lo, qshape + lead) if lo.ndim else np.broadcast_to(lo, lead)
    hi_b = np.broadcast_to(hi, qshape + lead) if hi.ndim else np.broadcast_to(hi, lead)
    v_lo, v_hi = gather(lo_b), gather(hi_b)
    w = np.broadcast_to(frac, qshape + lead).astype(x.dtype)
    out = add(v_lo, multiply(subtract(v_hi, v_lo), w))
    if ignore_nan:
        empty = np.broadcast_to(n_valid == 0, qshape + lead)
        if empty.any():
            out = Where.apply(empty, np.asarray(np.nan, x.dtype), out)
    elif np.isnan(a).any():
        has_nan = np.broadcast_to(np.isnan(a).any(-1), qshape + lead)
        out = Where.apply(has_nan, np.asarray(np.nan, x.dtype), out)
    if keepdims:
        shape = list(x.shape)
        for i in axes:
            shape[i] = 1
        out = reshape(out, qshape + tuple(shape))
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1], a number or a tensor) of ``x`` along
    ``axis``; NaN propagates. ``method``: linear, lower, higher, midpoint or nearest.
    Differentiable (the gradient goes to the one or two order statistics used).

    Args:
        x: input tensor.
        q: quantile(s) in [0, 1].
        axis: int, tuple of ints, or None (all axes).
        method: NumPy's interpolation method (default ``"linear"``).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.quantile(x, 0.5, axis=1).numpy()
        array([3., 4.], dtype=float32)
    """
    return _quantile(x, q, axis, method, keepdims, ignore_nan=False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` ignoring NaN (NaN where all are NaN).

    Args:
        x: input tensor.
        q: quantile(s) in [0, 1].
        axis: int, tuple of ints, or None (all axes).
        method: NumPy's interpolation method (default ``"linear"``).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanquantile(np.array([1.0, np.nan, 3.0]), 0.5).numpy()
        array(2.)
    """
    return _quantile(x, q, axis, method, keepdims, ignore_nan=True)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` with ``q`` in percent.

    Args:
        x: input tensor.
        q: percentile(s) in [0, 100].
        axis: int, tuple of ints, or None (all axes).
        method: NumPy's interpolation method (default ``"linear"``).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.percentile(x, 50, axis=1).numpy()
        array([3., 4.], dtype=float32)
    """
    return quantile(x, np.asarray(raw(q), np.float64) / 100, axis, method, keepdims)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``nanquantile`` with ``q`` in percent.

    Args:
        x: input tensor.
        q: percentile(s) in [0, 100].
        axis: int, tuple of ints, or None (all axes).
        method: NumPy's interpolation method (default ``"linear"``).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanpercentile(np.array([1.0, np.nan, 3.0]), 50).numpy()
        array(2.)
    """
    return nanquantile(x, np.asarray(raw(q), np.float64) / 100, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    """The median along ``axis`` (mean of the two middle values for even counts).

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.median(x, axis=1).numpy()
        array([3., 4.], dtype=float32)
    """
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    """The median of the non-NaN elements along ``axis``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> keras.ops.nanmedian(np.array([1.0, np.nan, 3.0, 10.0])).numpy()
        array(3.)
    """
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


# --- integration, counting, searching ------------------------------------------------------


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (samples at ``x``, or
    spaced ``dx`` apart).

    Args:
        y: the sampled values.
        x: the sample points, or None (spacing ``dx``).
        dx: the spacing when ``x`` is None (default 1.0).
        axis: the axis integrated over (default -1).

    Example:
        >>> keras.ops.trapezoid(np.array([1.0, 2.0, 3.0])).numpy()
        array(4.)
    """
    y = unary_input(y, to_float=True)
    n = y.shape[axis]
    lo = [slice(None)] * y.ndim
    hi = [slice(None)] * y.ndim
    lo[axis], hi[axis] = slice(0, max(n - 1, 0)), slice(1, n)
    mid = multiply(add(get_item(y, tuple(hi)), get_item(y, tuple(lo))), 0.5)
    if x is None:
        return multiply(_sum(mid, axis=axis), dx)
    d = diff(x, axis=axis if np.ndim(raw(x)) > 1 else -1)
    if d.ndim == 1 and y.ndim > 1:
        shape = [1] * y.ndim
        shape[axis] = -1
        d = reshape(d, shape)
    return _sum(multiply(mid, d), axis=axis)


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts (int32) of each value of the non-negative ints ``x`` (1-D, or 2-D counted per
    row), or sums of ``weights`` per value.

    Args:
        x: input tensor or array-like.
        weights: per-element weights summed into the bins, or None (counts).
        minlength: the least number of bins returned.
        sparse: only False (dense output).

    Example:
        >>> keras.ops.bincount(np.array([0, 1, 1, 3])).numpy()
        array([1, 2, 0, 1], dtype=int32)
    """
    if sparse:
        raise NotImplementedError("bincount(sparse=True): nnfast has no sparse tensors.")
    a = _arr(x)
    if a.dtype.kind not in "iub" or (a.size and a.min() < 0):
        raise ValueError(f"bincount: x must hold non-negative integers. Received: dtype={a.dtype}")
    w = None if weights is None else _arr(weights)
    length = max(int(minlength), int(a.max()) + 1 if a.size else 0)
    # np.bincount counts in int64/float64 before the cast: refuse a length that cannot fit.
    check_result_size("bincount", (a.shape[0] if a.ndim == 2 else 1, length), np.float64,
                      minlength=minlength, max_of_x=int(a.max()) if a.size else None)
    out_dtype = (
        np.int32 if w is None else (w.dtype if w.dtype.kind == "f" else np.dtype(np.float32))
    )
    if a.ndim == 1:
        out = np.bincount(a, w, length)
    elif a.ndim == 2:
        out = (
            np.stack(
                [
                    np.bincount(r, None if w is None else wr, length)
                    for r, wr in zip(a, a if w is None else w)
                ]
            )
            if len(a)
            else np.zeros((0, length))
        )
    else:
        raise ValueError(f"bincount: x must be 1-D or 2-D. Received: shape={a.shape}")
    return Tensor(np.asarray(out).astype(out_dtype))


def histogram(x, bins=10, range=None):  # noqa: A002 - keras.ops argument name
    """(counts, bin_edges) of the 1-D ``x`` over ``bins`` equal bins spanning ``range``
    (the data's min and max by default), both in ``x``'s dtype as in Keras.

    Args:
        x: input tensor or array-like.
        bins: the number of equal-width bins (default 10).
        range: ``(low, high)`` of the bins, or None (the data's min and max).

    Example:
        >>> counts, edges = keras.ops.histogram(np.array([0.0, 1.0, 1.0, 3.0]), bins=3)
        >>> counts.numpy(), edges.numpy()
        (array([1., 2., 1.]), array([0., 1., 2., 3.]))
    """
    a = _arr(x)
    if a.ndim != 1:
        raise ValueError(f"histogram: x must be 1-D. Received: shape={a.shape}")
    counts, edges = np.histogram(a, bins=bins, range=range)
    # NOTE: Keras (TensorFlow) returns counts and edges in x's dtype.
    return Tensor(counts.astype(a.dtype)), Tensor(edges.astype(a.dtype))


def digitize(x, bins):
    """Index (int32) of the bin of each element of ``x`` (``bins`` monotonic).

    Args:
        x: input tensor or array-like.
        bins: a 1-D monotonic array of bin edges.

    Example:
        >>> keras.ops.digitize(np.array([0.2, 1.5, 3.0]), [1.0, 2.0]).numpy()
        array([0, 1, 2], dtype=int32)
    """
    return Tensor(np.digitize(_arr(x), _arr(bins)).astype(np.int32))


def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices (int32) of ``values`` in the 1-D ascending ``sorted_sequence``.

    Args:
        sorted_sequence: a 1-D ascending tensor.
        values: the values to insert.
        side: ``"left"`` (first suitable index) or ``"right"`` (last).

    Example:
        >>> keras.ops.searchsorted(np.array([1.0, 2.0, 3.0]), np.array([2.5])).numpy()
        array([2], dtype=int32)
    """
    seq = _arr(sorted_sequence)
    if seq.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D. Received: shape={seq.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right'. Received: side={side!r}")
    return Tensor(np.asarray(np.searchsorted(seq, _arr(values), side=side), dtype=np.int32))


def argpartition(x, kth, axis=-1):
    """Indices (int32) that partition ``x`` around its ``kth`` element along ``axis``.

    Args:
        x: input tensor.
        kth: the index (or indices) of the element(s) placed in sorted position.
        axis: the axis partitioned (default -1).

    Example:
        >>> keras.ops.argpartition(np.array([3.0, 1.0, 2.0]), 1).numpy()[:1]
        array([1], dtype=int32)
    """
    return Tensor(np.argpartition(_arr(x), kth, axis=axis).astype(np.int32))


def nonzero(x):
    """Tuple of index tensors (int32), one per axis, of the nonzero elements.

    Args:
        x: input tensor or array-like.

    Example:
        >>> [i.numpy().tolist() for i in keras.ops.nonzero(np.array([0.0, 3.0, 0.0, 1.0]))]
        [[1, 3]]
    """
    return tuple(Tensor(i.astype(np.int32)) for i in np.nonzero(np.atleast_1d(_arr(x))))


def unique(
    x,
    sorted=True,
    return_index=False,
    return_inverse=False,  # noqa: A002
    return_counts=False,
    axis=None,
    size=None,
    fill_value=None,
):
    """The sorted unique elements of ``x`` (optionally their first indices, the inverse
    map and counts); ``size`` pads (with ``fill_value``, default the smallest value) or
    truncates to a fixed length.

    Args:
        x: the input tensor.
        sorted: return the unique values sorted. Defaults to ``True``.
        return_index: also return the index of each unique value's first occurrence. Defaults to
            ``False``.
        return_inverse: also return, for each element of ``x``, the index of its value in the
            result. Defaults to ``False``.
        return_counts: also return how often each unique value occurs. Defaults to ``False``.
        axis: find unique slices along this axis (None: flatten first).
        size: pad or cut the result to exactly this many values (a static shape); None: as many as
            there are.
        fill_value: the padding value with ``size`` (None: the smallest unique value).

    Example:
        >>> keras.ops.unique(np.array([3, 1, 3, 2])).numpy()
        array([1, 2, 3])
    """
    a = _arr(x)
    res = np.unique(
        a,
        return_index=return_index,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
    )
    res = list(res) if isinstance(res, tuple) else [res]
    if size is not None:
        vals = res[0]
        fill = (vals.min() if vals.size else 0) if fill_value is None else fill_value
        pad = size - vals.shape[0 if axis is None else axis]
        if pad >= 0:
            widths = [(0, 0)] * vals.ndim
            widths[0 if axis is None else axis] = (0, pad)
            res[0] = np.pad(vals, widths, constant_values=fill)
        else:
            res[0] = np.take(vals, np.arange(size), axis=0 if axis is None else axis)
        k = 1
        if return_index:
            res[k] = np.pad(res[k], (0, max(pad, 0)))[:size]
            k += 1
        if return_inverse:
            k += 1
        if return_counts:
            res[k] = np.pad(res[k], (0, max(pad, 0)))[:size]
    out = [Tensor(np.asarray(r if i == 0 else r.astype(np.int32))) for i, r in enumerate(res)]
    return out[0] if len(out) == 1 else tuple(out)


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True where ``|x1 - x2| <= atol + rtol * |x2|``.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.
        rtol: relative tolerance (default 1e-5).
        atol: absolute tolerance (default 1e-8).
        equal_nan: count NaNs in the same place as equal.

    Example:
        >>> keras.ops.isclose(np.array([1.0, 2.0]), np.array([1.0 + 1e-9, 2.1])).numpy()
        array([ True, False])
    """
    (a, b), _ = promote(x1, x2)
    return Tensor(
        np.asarray(
            np.isclose(
                getattr(a, "value", a),
                getattr(b, "value", b),
                rtol=rtol,
                atol=atol,
                equal_nan=equal_nan,
            )
        )
    )


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True (a bool tensor) when ``isclose`` holds everywhere.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.
        rtol: relative tolerance (default 1e-5).
        atol: absolute tolerance (default 1e-8).
        equal_nan: count NaNs in the same place as equal.

    Example:
        >>> bool(keras.ops.allclose(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])))
        True
    """
    return Tensor(np.asarray(bool(np.all(isclose(x1, x2, rtol, atol, equal_nan).value))))


def isin(x1, x2, assume_unique=False, invert=False):
    """True where an element of ``x1`` occurs in ``x2`` (False with ``invert``).

    Args:
        x1: the values tested.
        x2: the values looked for (any shape).
        assume_unique: NumPy's hint that both inputs have no duplicates.
        invert: return True where ``x1`` is NOT in ``x2``.

    Example:
        >>> keras.ops.isin(np.array([1, 2, 3]), np.array([2, 5])).numpy()
        array([False,  True, False])
    """
    return Tensor(
        np.asarray(np.isin(_arr(x1), _arr(x2), assume_unique=assume_unique, invert=invert))
    )
