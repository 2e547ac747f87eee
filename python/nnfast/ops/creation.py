"""Tensor-creating ``keras.ops.numpy`` ops: ``array``, ``empty``, ``full_like``,
``identity``, ``tri``, evenly spaced ranges (``linspace``, ``logspace``, ``geomspace``),
window functions, ``vander`` and ``meshgrid``. Results default to floatx as in Keras.
"""

import numpy as np

from nnfast.backend.dtypes import standardize_dtype
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import as_input, raw, unary_input
from nnfast.ops.size_limit import check_result_size
from nnfast.ops.array import broadcast_to, expand_dims, reshape, zeros, zeros_like
from nnfast.ops.math import power


def _dtype(dtype):
    return np.dtype(standardize_dtype(dtype))


def array(x, dtype=None):
    """A tensor from ``x`` (Python floats -> float32, ints -> int32, arrays keep their dtype).

    Args:
        x: array-like data.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.array([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    a = as_input(x)
    a = np.array(a.value if isinstance(a, Tensor) else a)
    return Tensor(a if dtype is None else a.astype(_dtype(dtype)))


def empty(shape, dtype=None):
    """A tensor of ``shape`` (zero-filled: nnfast never hands out uninitialized memory).

    Args:
        shape: int or tuple of ints: the shape.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).
    """
    return zeros(shape, dtype)


def empty_like(x, dtype=None):
    """Like ``zeros_like`` (zero-filled).

    Args:
        x: the tensor whose shape is taken.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).
    """
    return zeros_like(x, dtype)


def full_like(x, fill_value, dtype=None):
    """``fill_value`` in ``x``'s shape and dtype (or ``dtype``).

    Args:
        x: the tensor whose shape is taken.
        fill_value: the value of every element.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.full_like(np.zeros(3, "float32"), 2.5).numpy()
        array([2.5, 2.5, 2.5], dtype=float32)
    """
    a = unary_input(x)
    return Tensor(
        np.full(a.shape, raw(fill_value), dtype=a.dtype if dtype is None else _dtype(dtype))
    )


def identity(n, dtype=None):
    """The ``n x n`` identity matrix (floatx by default).

    Args:
        n: the matrix size.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.identity(2).numpy()
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    check_result_size("identity", (int(n), int(n)), _dtype(dtype), n=n)
    return Tensor(np.identity(int(n), dtype=_dtype(dtype)))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - keras.ops argument names
    """``N x M`` matrix with ones at and below diagonal ``k`` (floatx by default).

    Args:
        N: the number of rows.
        M: the number of columns (default N).
        k: the diagonal's offset (default 0).
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.tri(3).numpy()
        array([[1., 0., 0.],
               [1., 1., 0.],
               [1., 1., 1.]], dtype=float32)
    """
    check_result_size("tri", (int(N), int(N) if M is None else int(M)), _dtype(dtype), N=N, M=M)
    return Tensor(np.tri(int(N), None if M is None else int(M), int(k), dtype=_dtype(dtype)))


def _space_dtype(dtype, *args):
    """floatx, or float64 when a bound is a float64 tensor (Python numbers are weak)."""
    if dtype is not None:
        return _dtype(dtype)
    wide = any(getattr(as_input(a), "dtype", None) == np.float64 for a in args)
    return np.dtype(np.float64) if wide else np.dtype(np.float32)


def _check_space(what, start, stop, num):
    """Refuses a ``num`` whose float64 result (NumPy computes in float64) cannot fit."""
    bounds = np.broadcast_shapes(np.shape(raw(start)), np.shape(raw(stop)))
    check_result_size(what, (int(num),) + tuple(bounds), np.float64, num=num)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (floatx; tensors for
    ``start``/``stop`` give one sequence per element along ``axis``); with ``retstep``,
    ``(values, step)``.

    Args:
        start: the first value.
        stop: the last value.
        num: how many values (default 50).
        endpoint: include ``stop`` (default True).
        retstep: also return the spacing.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).
        axis: where the samples go in the result (default 0).

    Example:
        >>> keras.ops.linspace(0.0, 1.0, 5).numpy()
        array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    out_dtype = _space_dtype(dtype, start, stop)
    _check_space("linspace", start, stop, num)
    vals, step = np.linspace(
        raw(start), raw(stop), int(num), endpoint=endpoint, retstep=True, axis=axis
    )
    vals = Tensor(np.asarray(vals).astype(out_dtype))
    return (vals, Tensor(np.asarray(step, out_dtype))) if retstep else vals


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)`` (floatx).

    Args:
        start: ``base ** start`` is the first value.
        stop: ``base ** stop`` is the last value.
        num: how many values (default 50).
        endpoint: include the last value (default True).
        base: the logarithm's base (default 10).
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).
        axis: where the samples go in the result (default 0).

    Example:
        >>> keras.ops.logspace(0.0, 2.0, 3).numpy()
        array([  1.,  10., 100.], dtype=float32)
    """
    out_dtype = _space_dtype(dtype, start, stop)
    _check_space("logspace", start, stop, num)
    return Tensor(
        np.logspace(
            raw(start), raw(stop), int(num), endpoint=endpoint, base=raw(base), axis=axis
        ).astype(out_dtype)
    )


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values from ``start`` to ``stop`` evenly spaced on a log scale (floatx).

    Args:
        start: the first value.
        stop: the last value.
        num: how many values (default 50).
        endpoint: include ``stop`` (default True).
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).
        axis: where the samples go in the result (default 0).
    """
    out_dtype = _space_dtype(dtype, start, stop)
    _check_space("geomspace", start, stop, num)
    return Tensor(
        np.geomspace(raw(start), raw(stop), int(num), endpoint=endpoint, axis=axis).astype(
            out_dtype
        )
    )


def _window(fn, x):
    n = int(np.asarray(raw(x)))
    check_result_size("window", (n,), np.float64, x=n)
    return Tensor(fn(n).astype(np.float32))


def bartlett(x):
    """Bartlett (triangular) window of ``x`` points (float32).

    Args:
        x: the window length (an int).

    Example:
        >>> keras.ops.bartlett(5).numpy()
        array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    return _window(np.bartlett, x)


def blackman(x):
    """Blackman window of ``x`` points (float32).

    Args:
        x: the window length (an int).

    Example:
        >>> keras.ops.blackman(3).numpy().round(4)
        array([-0.,  1., -0.], dtype=float32)
    """
    return _window(np.blackman, x)


def hamming(x):
    """Hamming window of ``x`` points (float32).

    Args:
        x: the window length (an int).

    Example:
        >>> keras.ops.hamming(4).numpy().round(4)
        array([0.08, 0.77, 0.77, 0.08], dtype=float32)
    """
    return _window(np.hamming, x)


def hanning(x):
    """Hann window of ``x`` points (float32).

    Args:
        x: the window length (an int).

    Example:
        >>> keras.ops.hanning(4).numpy().round(4)
        array([0.  , 0.75, 0.75, 0.  ], dtype=float32)
    """
    return _window(np.hanning, x)


def kaiser(x, beta):
    """Kaiser window of ``x`` points with shape parameter ``beta`` (float32).

    Args:
        x: the window length (an int).
        beta: the Kaiser window's shape parameter.

    Example:
        >>> keras.ops.kaiser(3, 0.0).numpy()
        array([1., 1., 1.], dtype=float32)
    """
    return _window(lambda n: np.kaiser(n, float(raw(beta))), x)


def vander(x, N=None, increasing=False):  # noqa: N803 - keras.ops argument name
    """Vandermonde matrix: columns are powers of the 1-D ``x`` (decreasing by default).

    Args:
        x: a 1-D tensor.
        N: the number of columns (default ``len(x)``).
        increasing: powers increase left to right (default False).

    Example:
        >>> keras.ops.vander(np.array([1.0, 2.0]), 3).numpy()
        array([[1., 1., 1.],
               [4., 2., 1.]])
    """
    x = unary_input(x)
    if x.ndim != 1:
        raise ValueError(f"vander: x must be 1-D. Received: shape={x.shape}")
    n = x.shape[0] if N is None else int(N)
    check_result_size("vander", (x.shape[0], n), x.dtype if x.dtype.kind == "f" else np.int32, N=N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return power(expand_dims(x, -1), powers.astype(np.int32 if x.dtype.kind != "f" else x.dtype))


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D tensors (``indexing`` "xy" Cartesian or "ij" matrix).

    Args:
        indexing: ``"xy"`` (Cartesian, default) or ``"ij"`` (matrix) indexing.

    Example:
        >>> xs, ys = keras.ops.meshgrid(np.arange(3.0), np.arange(2.0))
        >>> xs.shape, ys.shape
        ((2, 3), (2, 3))
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij'. Received: {indexing!r}")
    xs = [unary_input(a) for a in x]
    n = len(xs)
    shape = [a.size for a in xs]
    if indexing == "xy" and n > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(xs):
        axis = i
        if indexing == "xy" and n > 1 and i < 2:
            axis = 1 - i
        view = [1] * n
        view[axis] = -1
        out.append(broadcast_to(reshape(a, view), shape))
    return out
