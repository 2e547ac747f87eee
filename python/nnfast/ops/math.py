"""Elementwise arithmetic, reductions and matmul (``keras.ops`` names), with gradients."""
import builtins

import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function, _tape_stack
from nnfast.backend.tensor import Tensor
from nnfast.ops import matmul_broadcast, precision
from nnfast.ops._dtype import as_input, promote, unary_input
from nnfast.ops._util import f32, name_factory_ops, normalize_axis, unbroadcast, value
from nnfast.ops.array import cast


def _shape(x):
    return np.shape(x)


# --- binary elementwise ----------------------------------------------------------------


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the backward unbroadcasts to these
            ctx.shapes = (_shape(a), _shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Subtract(Function):
    @staticmethod
    def forward(ctx, a, b):
        if ctx.recording:  # the backward unbroadcasts to these
            ctx.shapes = (_shape(a), _shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb)


class Multiply(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return unbroadcast(g * b, _shape(a)), unbroadcast(g * a, _shape(b))


class Divide(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.true_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return unbroadcast(g / b, _shape(a)), unbroadcast(-g * a / (b * b), _shape(b))


class Power(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved
        ga = g * b * np.power(a, np.subtract(b, 1))
        gb = None
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(g * out * np.log(np.where(a > 0, a, 1)), _shape(b))
        return unbroadcast(ga, _shape(a)), gb


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        mask = np.greater_equal(a, b)
        return unbroadcast(g * mask, _shape(a)), unbroadcast(g * ~mask, _shape(b))


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        mask = np.less_equal(a, b)
        return unbroadcast(g * mask, _shape(a)), unbroadcast(g * ~mask, _shape(b))


def add(x1, x2):
    """Elementwise ``x1 + x2`` with broadcasting and Keras's dtype promotion.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> ops.add(np.ones((2, 3), "float32"), 1.0).dtype
        dtype('float32')
    """
    return Add.apply(*promote(x1, x2)[0])


def subtract(x1, x2):
    """Elementwise ``x1 - x2`` with broadcasting and Keras's dtype promotion.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.subtract(a, b).numpy()
        array([-1.,  0.,  2.], dtype=float32)
    """
    return Subtract.apply(*promote(x1, x2)[0])


def multiply(x1, x2):
    """Elementwise ``x1 * x2`` with broadcasting and Keras's dtype promotion.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.multiply(a, b).numpy()
        array([ 2., 16., 24.], dtype=float32)
    """
    return Multiply.apply(*promote(x1, x2)[0])


def divide(x1, x2):
    """Elementwise ``x1 / x2``; integer inputs give floatx (``int32 / int32 -> float32``).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.divide(a, b).numpy()
        array([0.5, 1. , 1.5], dtype=float32)
    """
    return Divide.apply(*promote(x1, x2, to_float=True)[0])


def true_divide(x1, x2):
    """Same as ``divide``.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.true_divide(a, b).numpy()
        array([0.5, 1. , 1.5], dtype=float32)
    """
    return divide(x1, x2)


def power(x1, x2):
    """Elementwise ``x1 ** x2`` with Keras's dtype promotion.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.power(a, b).numpy()
        array([1.000e+00, 2.560e+02, 1.296e+03], dtype=float32)
    """
    (a, b), dtype = promote(x1, x2)
    if dtype.kind != "f":
        from nnfast.backend.tensor import Tensor

        return Tensor(np.asarray(np.power(getattr(a, "value", a), getattr(b, "value", b))))
    return Power.apply(a, b)


def maximum(x1, x2):
    """Elementwise maximum (the gradient goes to ``x1`` on ties).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.maximum(a, b).numpy()
        array([2., 4., 6.], dtype=float32)
    """
    return Maximum.apply(*promote(x1, x2)[0])


def minimum(x1, x2):
    """Elementwise minimum (the gradient goes to ``x1`` on ties).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.minimum(a, b).numpy()
        array([1., 4., 4.], dtype=float32)
    """
    return Minimum.apply(*promote(x1, x2)[0])


# --- unary elementwise -------------------------------------------------------------------


def _unary(name, fwd, grad_from):
    """Builds a Function for y = fwd(x) whose gradient is g * grad_from(x, y)."""

    def forward(ctx, x):
        x = np.asarray(x)
        y = np.asarray(fwd(x), dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved
        return (g * grad_from(x, y)).astype(x.dtype, copy=False)

    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


Negative = _unary("Negative", np.negative, lambda x, y: -1.0)
Square = _unary("Square", np.square, lambda x, y: 2.0 * x)
Sqrt = _unary("Sqrt", np.sqrt, lambda x, y: 0.5 / y)
Exp = _unary("Exp", np.exp, lambda x, y: y)
Log = _unary("Log", np.log, lambda x, y: 1.0 / x)
Log1p = _unary("Log1p", np.log1p, lambda x, y: 1.0 / (1.0 + x))
Abs = _unary("Abs", np.abs, lambda x, y: np.sign(x))
Sin = _unary("Sin", np.sin, lambda x, y: np.cos(x))
Cos = _unary("Cos", np.cos, lambda x, y: -np.sin(x))


def negative(x):
    """Elementwise ``-x``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.negative(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([ 1.5 , -0.  , -2.25], dtype=float32)
    """
    return Negative.apply(unary_input(x))


def square(x):
    """Elementwise ``x * x`` (bool becomes int32, as in Keras).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.square(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([2.25  , 0.    , 5.0625], dtype=float32)
    """
    x = unary_input(x)
    if x.dtype == np.bool_:
        x = x.astype(np.int32) if isinstance(x, np.ndarray) else _cast(x, np.int32)
    return Square.apply(x)


def sqrt(x):
    """Elementwise square root; ints and bool compute in floatx.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.sqrt(np.array([1.0, 4.0, 9.0], "float32")).numpy()
        array([1., 2., 3.], dtype=float32)
    """
    return Sqrt.apply(unary_input(x, to_float=True))


def exp(x):
    """Elementwise ``e ** x``; ints and bool compute in floatx.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.exp(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([0.22313015, 1.        , 9.487736  ], dtype=float32)
    """
    return Exp.apply(unary_input(x, to_float=True))


def log(x):
    """Elementwise natural logarithm; ints and bool compute in floatx.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.log(np.array([1.0, 4.0, 9.0], "float32")).numpy()
        array([0.       , 1.3862944, 2.1972246], dtype=float32)
    """
    return Log.apply(unary_input(x, to_float=True))


def log1p(x):
    """Elementwise ``log(1 + x)``, accurate near 0.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.log1p(np.array([1.0, 4.0, 9.0], "float32")).numpy()
        array([0.6931472, 1.609438 , 2.3025851], dtype=float32)
    """
    return Log1p.apply(unary_input(x, to_float=True))


def abs(x):  # noqa: A001 - keras.ops name
    """Elementwise absolute value (dtype kept).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.abs(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([1.5 , 0.  , 2.25], dtype=float32)
    """
    x = unary_input(x)
    if x.dtype == np.bool_:
        from nnfast.backend.tensor import Tensor

        return Tensor(np.array(getattr(x, "value", x)))
    return Abs.apply(x)


def absolute(x):
    """Same as ``abs``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.absolute(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([1.5 , 0.  , 2.25], dtype=float32)
    """
    return abs(x)


def sin(x):
    """Elementwise sine; ints and bool compute in floatx.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.sin(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-0.997495 ,  0.       ,  0.7780732], dtype=float32)
    """
    return Sin.apply(unary_input(x, to_float=True))


def cos(x):
    """Elementwise cosine; ints and bool compute in floatx.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.cos(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([ 0.0707372 ,  1.        , -0.62817365], dtype=float32)
    """
    return Cos.apply(unary_input(x, to_float=True))


def _cast(x, dtype):
    return cast(x, dtype)


class Clip(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        x = np.asarray(x)
        ctx.save_for_backward(x, lo, hi)
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved
        return g * ((x >= lo) & (x <= hi)), None, None


def clip(x, x_min, x_max):
    """Clamps ``x`` to ``[x_min, x_max]``; the gradient is zero outside (bool -> int32).

    Args:
        x: input tensor or array-like.
        x_min: lower bound (broadcastable).
        x_max: upper bound (broadcastable).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.clip(x, 2.0, 4.0).numpy()
        array([[2., 4., 3.],
               [4., 2., 4.]], dtype=float32)
    """
    x = unary_input(x)
    if x.dtype == np.bool_:
        x = _cast(x, np.int32)
    lo = getattr(x_min, "value", x_min)
    hi = getattr(x_max, "value", x_max)
    return Clip.apply(x, lo, hi)


# --- reductions ----------------------------------------------------------------------------


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = np.asarray(x)
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, normalize_axis(axis, builtins.max(x.ndim, 1)), keepdims
        return np.asarray(np.sum(x, axis=axis, keepdims=keepdims), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return np.full(ctx.shape, g, dtype=g.dtype)
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis)
        return np.broadcast_to(g, ctx.shape).astype(g.dtype, copy=True)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = np.asarray(x)
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, normalize_axis(axis, builtins.max(x.ndim, 1)), keepdims
        total = np.add.reduce(x, axis=ctx.axis, keepdims=keepdims)
        if ctx.axis is None:
            count = x.size
        else:
            axes = ctx.axis if isinstance(ctx.axis, tuple) else (ctx.axis,)
            count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        ctx.count = builtins.max(count, 1)  # an empty input has an empty gradient
        # NOTE: add.reduce + divide avoids np.mean's Python-level overhead on small tensors.
        # The mean of nothing is NaN (as Keras/TF and NumPy), not 0.
        return np.asarray(total / count if count else total * np.nan, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return np.full(ctx.shape, g / ctx.count, dtype=g.dtype)
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis)
        return np.broadcast_to(g / ctx.count, ctx.shape).astype(g.dtype, copy=True)


class _ArgReduce(Function):
    """max/min: the gradient flows to the (first) extreme element."""

    reduce = None

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False, initial=None):
        x = np.asarray(x)
        if x.size == 0 and initial is None:
            raise ValueError(f"Cannot compute the max/min of an empty tensor without `initial`. "
                             f"Received: x.shape={x.shape}")
        out = cls.reduce(x, axis=axis, keepdims=True, initial=initial) if initial is not None \
            else cls.reduce(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = normalize_axis(axis, builtins.max(x.ndim, 1)), keepdims
        return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())

    @classmethod
    def backward(cls, ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis) if ctx.axis is not None else np.reshape(g, out.shape)
        mask = x == out
        mask = mask / np.sum(mask, axis=ctx.axis, keepdims=True)
        return (g * mask).astype(x.dtype)


class Max(_ArgReduce):
    reduce = staticmethod(np.max)


class Min(_ArgReduce):
    reduce = staticmethod(np.min)


# Keras accumulates small integer types in 32 bits.
_ACCUMULATE = {np.dtype(np.bool_): np.int32, np.dtype(np.int8): np.int32,
               np.dtype(np.int16): np.int32, np.dtype(np.uint8): np.uint32,
               np.dtype(np.uint16): np.uint32}


def accumulation_input(x):
    """``x`` cast to the dtype Keras sums/multiplies it in (bool/int8/int16 -> int32,
    uint8/uint16 -> uint32; others kept)."""
    x = unary_input(x)
    wide = _ACCUMULATE.get(x.dtype)
    return _cast(x, wide) if wide is not None else x


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (an int, a tuple, or None for all axes).

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Returns:
        The sums.

    Example:
        >>> ops.sum(np.ones((2, 3)), axis=-1).shape
        (2,)
    """
    return Sum.apply(accumulation_input(x), axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes when None); ints and bool give floatx.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Returns:
        The means.

    Example:
        >>> ops.mean(np.array([[1.0, 2.0], [3.0, 5.0]]), axis=0)  # [2.0, 3.5]
        <Tensor shape=(2,) dtype=float64
        array([2. , 3.5])>
    """
    return Mean.apply(unary_input(x, to_float=True), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Largest value over ``axis``; ``initial`` is a lower bound (and the result of an
    empty reduction). The gradient goes to the maximal elements (shared on ties).

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.
        initial: a starting value folded into the maximum (and the result of an empty
            reduction).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.max(x, axis=1).numpy()
        array([5., 6.], dtype=float32)
    """
    return Max.apply(unary_input(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Smallest value over ``axis``; ``initial`` is an upper bound.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.
        initial: a starting value folded into the minimum (and the result of an empty
            reduction).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.min(x, axis=0).numpy()
        array([1., 2., 3.], dtype=float32)
    """
    return Min.apply(unary_input(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def amax(x, axis=None, keepdims=False):
    """Same as ``max``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.amax(x).numpy()
        array(6., dtype=float32)
    """
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    """Same as ``min``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.amin(x, axis=1).numpy()
        array([1., 2.], dtype=float32)
    """
    return min(x, axis=axis, keepdims=keepdims)


def _arg_reduce(fn, x, axis, keepdims):
    from nnfast.backend.tensor import Tensor

    a = np.asarray(value(x))
    if a.size == 0:
        raise ValueError(f"{fn.__name__}: attempt to get the index of an empty tensor. "
                         f"Received: x.shape={a.shape}")
    out = fn(a, axis=axis)
    if keepdims:
        out = np.expand_dims(out, tuple(range(a.ndim)) if axis is None else axis)
    return Tensor(np.asarray(out, dtype=np.int32))


def argmax(x, axis=None, keepdims=False):
    """Index (int32) of the largest value along ``axis`` (over the flattened tensor when
    None; the first one on ties); not differentiable.

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.argmax(x, axis=1).numpy()
        array([1, 2], dtype=int32)
    """
    return _arg_reduce(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index (int32) of the smallest value along ``axis`` (flattened when None).

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.argmin(x, axis=-1).numpy()
        array([0, 1], dtype=int32)
    """
    return _arg_reduce(np.argmin, x, axis, keepdims)


# --- matmul ------------------------------------------------------------------------------


def _on_gemm(a, b):
    """True when ``a @ b`` runs on nnfast's SGEMM: float32, ``a`` of rank >= 2 (its leading
    axes flattened into rows) and a 2-D ``b``. (Elsewhere NumPy's BLAS runs, whose own thread
    pool competes with nnfast's for the cores.)"""
    return a.ndim >= 2 and b.ndim == 2 and a.dtype == np.float32 and b.dtype == np.float32


def _on_batched_gemm(a, b):
    """True when ``a @ b`` is a stack of same-batch products for nnfast's batched SGEMM:
    float32, equal ranks >= 3, the same leading (batch) axes (attention's heads)."""
    return (a.ndim >= 3 and a.ndim == b.ndim and a.shape[:-2] == b.shape[:-2]
            and a.dtype == np.float32 and b.dtype == np.float32)


def _batched(x):
    return f32(x).reshape((-1,) + x.shape[-2:])


def _product(a, b, compute_dtype):
    """``a @ b`` of arrays: nnfast's GEMM (in ``compute_dtype``) when the right operand is
    2-D, its batched GEMM for same-batch stacks, its broadcast GEMM for float32 stacks whose
    batch axes broadcast, NumPy's matmul otherwise."""
    if _on_gemm(a, b):
        if a.shape[-1] != b.shape[0]:
            raise ValueError(f"matmul: incompatible shapes {a.shape} and {b.shape}")
        a2 = f32(a).reshape(-1, a.shape[-1])
        out = np.empty((a2.shape[0], b.shape[1]), dtype=np.float32)
        precision.gemm(a2, f32(b), out, compute_dtype)
        return out.reshape(a.shape[:-1] + (b.shape[1],))
    if _on_batched_gemm(a, b):
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: incompatible shapes {a.shape} and {b.shape}")
        out = np.empty(a.shape[:-1] + (b.shape[-1],), dtype=np.float32)
        _core.gemm_batched(_batched(a), _batched(b), out.reshape((-1,) + out.shape[-2:]))
        return out
    if compute_dtype == "float32" and matmul_broadcast.accepts(a, b):
        return matmul_broadcast.broadcast_product(a, b)
    return np.matmul(a, b)


class MatMul(Function):
    """Matmul on the nnfast GEMM when the right operand is 2-D (the left one's leading axes
    are rows) or both are same-batch stacks; other cases broadcast through NumPy."""

    @staticmethod
    def forward(ctx, a, b):
        if type(a) is not np.ndarray or type(b) is not np.ndarray:
            a, b = np.asarray(a), np.asarray(b)
        ctx.saved = (a, b)
        ctx.precision = precision.current()  # a mixed-policy layer's products run in its dtype
        return _product(a, b, ctx.precision)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = gb = None
        if _on_gemm(a, b) and g.dtype == np.float32:
            g2 = f32(g).reshape(-1, b.shape[1])
            if ctx.needs_input_grad[0]:
                ga = np.empty((g2.shape[0], a.shape[-1]), dtype=np.float32)
                precision.gemm(g2, f32(b), ga, ctx.precision, trans_b=True)
                ga = ga.reshape(a.shape)
            if ctx.needs_input_grad[1]:
                gb = np.empty(b.shape, dtype=np.float32)
                precision.gemm(f32(a).reshape(-1, a.shape[-1]), g2, gb, ctx.precision,
                               trans_a=True)
            return ga, gb
        if _on_batched_gemm(a, b) and g.dtype == np.float32:
            g3 = _batched(g)
            if ctx.needs_input_grad[0]:
                ga = np.empty(a.shape, dtype=np.float32)
                _core.gemm_batched(g3, _batched(b), ga.reshape(g3.shape[0], *a.shape[-2:]),
                                   trans_b=True)
            if ctx.needs_input_grad[1]:
                gb = np.empty(b.shape, dtype=np.float32)
                _core.gemm_batched(_batched(a), g3, gb.reshape(g3.shape[0], *b.shape[-2:]),
                                   trans_a=True)
            return ga, gb
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
        gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
        return unbroadcast(ga, a2.shape).reshape(a.shape), unbroadcast(gb, b2.shape).reshape(b.shape)


def matmul(x1, x2):
    """Matrix product (``x1 @ x2``) with NumPy's broadcasting of leading axes and Keras's
    dtype promotion; float32 products run on nnfast's SGEMM.

    Args:
        x1: tensor ``(..., n, k)`` (a 1-D ``(k,)`` is a row vector).
        x2: tensor ``(..., k, m)`` (a 1-D ``(k,)`` is a column vector).

    Returns:
        The product ``(..., n, m)``, leading axes broadcast.

    Example:
        >>> ops.matmul(np.ones((4, 2, 3)), np.ones((3, 5))).shape
        (4, 2, 5)
    """
    return matmul_promoted(x1, x2)


def matmul_promoted(x1, x2, _int8_to_int32=True):
    """``matmul`` with the int8 x int8 -> int32 rule optional (``dot`` keeps int8)."""
    (a, b), dtype = promote(x1, x2)
    # NOTE: dtype.kind/itemsize tests, not `dtype == np.int8` (a slow comparison on every call)
    if dtype.kind == "i" and dtype.itemsize == 1 and _int8_to_int32:
        both_int8 = getattr(x1, "dtype", None) == np.int8 and getattr(x2, "dtype", None) == np.int8
        if both_int8:
            # NOTE: as Keras on TensorFlow, int8 x int8 accumulates and returns int32.
            (a, b), dtype = promote(_cast(a, np.int32), _cast(b, np.int32))
    va, vb = getattr(a, "value", a), getattr(b, "value", b)
    if not va.ndim or not vb.ndim:
        raise ValueError("matmul: inputs must have at least one axis. Received: "
                         f"x1.shape={va.shape}, x2.shape={vb.shape}")
    if va.shape[-1] != vb.shape[-2 if vb.ndim > 1 else 0]:
        raise ValueError("matmul: incompatible shapes (the last axis of x1 must match the "
                         "contracted axis of x2). "
                         f"Received: x1.shape={va.shape}, x2.shape={vb.shape}")
    if dtype.kind == "b":
        return Tensor(np.asarray(np.matmul(va, vb)))
    # NOTE: broadcast batch axes run on the broadcast GEMM (ops/matmul_broadcast.py), which
    # reads each operand's distinct matrices in place: lowering them to one SGEMM (as einsum
    # does) measured 1.2-3.5x more CPU time (benchmarks/bench_ops.py).
    if not _tape_stack:  # nothing records: no node, and two Python layers fewer per call
        out = _product(va, vb, precision.current())
        return Tensor(out if type(out) is np.ndarray else np.asarray(out))
    return MatMul.apply(a, b)


def dot(x1, x2):
    """NumPy's ``dot``: a product for scalars, an inner product of vectors, ``matmul`` of
    matrices, and for N-D a sum over the last axis of ``x1`` and the second-to-last of ``x2``.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, whose contracted axis matches ``x1``'s last.

    Example:
        >>> a, b = np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]])
        >>> keras.ops.dot(a, b).numpy()
        array([[11.]])
    """
    from nnfast.ops import contraction

    return contraction.dot(x1, x2)


# --- more reductions and elementwise math (keras.ops names) ---------------------------------


def var(x, axis=None, keepdims=False):
    """Biased variance over ``axis``: ``mean(square(x - mean(x)))``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.var(x, axis=0).numpy()
        array([2.25, 2.25, 2.25], dtype=float32)
    """
    x = unary_input(x, to_float=True)
    axis = _axis(axis)
    centered = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centered), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Biased standard deviation over ``axis``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.std(x, axis=1).numpy()
        array([1.6329932, 1.6329932], dtype=float32)
    """
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def _trailing_axes(shape, axis):
    """How many trailing axes ``axis`` (None, an int or a tuple) names, if it names exactly a
    run of trailing axes of ``shape`` (else None)."""
    nd = len(shape)
    if axis is None:
        return nd
    axes = sorted(a % nd for a in (axis if isinstance(axis, tuple) else (axis,))) if nd else []
    if not axes or axes != list(range(nd - len(axes), nd)):
        return None
    return len(axes)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = np.asarray(x)
        trailing = _trailing_axes(x.shape, axis) if x.dtype == np.float32 else None
        cols = int(np.prod(x.shape[x.ndim - trailing:], dtype=np.int64)) if trailing else 0
        if cols > 0:
            # Reductions over trailing axes: one fused max/exp/sum pass per row in C++.
            kept = x.shape[: x.ndim - trailing]
            s = np.empty(kept, np.float32)
            _core.logsumexp_rows(np.ascontiguousarray(x).reshape(-1, cols), s.reshape(-1))
            s = s.reshape(kept + (1,) * trailing)
            ctx.save_for_backward(x, s)
            ctx.axis, ctx.keepdims = axis, keepdims
            return s if keepdims else s.reshape(kept)
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        ctx.save_for_backward(x, s)
        ctx.axis, ctx.keepdims = axis, keepdims
        return s if keepdims else (np.squeeze(s, axis=axis) if axis is not None else s.reshape(()))

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis) if ctx.axis is not None else np.reshape(g, s.shape)
        return (g * np.exp(x - s)).astype(x.dtype)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    return LogSumExp.apply(unary_input(x, to_float=True), axis=_axis(axis), keepdims=keepdims)


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, axis=None):
        x = np.asarray(x)
        ctx.shape, ctx.axis = x.shape, axis
        return np.cumsum(x, axis=axis).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return np.flip(np.cumsum(np.flip(g.ravel()))).reshape(ctx.shape)
        return np.flip(np.cumsum(np.flip(g, ctx.axis), axis=ctx.axis), ctx.axis)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (over the flattened tensor when None); bool sums in
    int32; ``dtype`` casts the input first.

    Args:
        x: input tensor.
        axis: int, or None for the flattened tensor.
        dtype: the result's dtype, or None (``x``'s, ints widened as Keras).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.cumsum(x, axis=1).numpy()
        array([[ 1.,  6.,  9.],
               [ 4.,  6., 12.]], dtype=float32)
    """
    x = unary_input(x)
    if dtype is not None:
        x = _cast(x, np.dtype(dtype))
    elif x.dtype == np.bool_:
        x = _cast(x, np.int32)
    return CumSum.apply(x, axis=axis)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = np.asarray(x)
        out = np.asarray(np.prod(x, axis=axis, keepdims=True), dtype=x.dtype)
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()))

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis) if ctx.axis is not None else np.reshape(g, out.shape)
        if np.all(x != 0):
            return (g * out / x).astype(x.dtype)
        # NOTE: with zeros the quotient form fails; the product of the others is the
        # exclusive cumulative product from the left times the one from the right.
        axes = tuple(range(x.ndim)) if ctx.axis is None else (
            (ctx.axis,) if isinstance(ctx.axis, int) else tuple(ctx.axis))
        axes = tuple(a % x.ndim for a in axes)
        rest = tuple(i for i in range(x.ndim) if i not in axes)
        moved = np.transpose(x, rest + axes)
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
        right = np.flip(np.cumprod(np.concatenate(
            [np.ones_like(flat[..., :1]), np.flip(flat, -1)[..., :-1]], -1), -1), -1)
        others = (left * right).reshape(moved.shape)
        others = np.transpose(others, np.argsort(rest + axes))
        return (g * others).astype(x.dtype)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` (bool/int8/int16 multiply in int32); ``dtype`` casts the
    input first. The gradient is exact with zeros in ``x``.

    Args:
        x: input tensor.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.
        dtype: the result's dtype, or None.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.prod(x, axis=0).numpy()
        array([ 4., 10., 18.], dtype=float32)
    """
    x = accumulation_input(x) if dtype is None else _cast(unary_input(x), np.dtype(dtype))
    return Prod.apply(x, axis=_axis(axis), keepdims=keepdims)


def _array(x):
    x = unary_input(x)
    return x.value if hasattr(x, "node") else x


def sign(x):
    """-1, 0 or 1 by the sign of ``x`` (NaN stays NaN); zero gradient, so not recorded.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.sign(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-1.,  0.,  1.], dtype=float32)
    """
    from nnfast.backend.tensor import Tensor

    a = _array(x)
    return Tensor(np.asarray(np.sign(a)) if a.dtype != np.bool_ else a.copy())


def floor(x):
    """Largest integer <= x, as floats (ints and bool -> floatx); zero gradient.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.floor(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-2.,  0.,  2.], dtype=float32)
    """
    from nnfast.backend.tensor import Tensor

    return Tensor(np.asarray(np.floor(_array(unary_input(x, to_float=True)))))


def round(x, decimals=0):  # noqa: A001
    """Rounds half to even to ``decimals`` places (dtype kept); zero gradient.

    Args:
        x: input tensor or array-like.
        decimals: the number of decimals to keep (default 0; negative rounds to tens, ...).

    Example:
        >>> keras.ops.round(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-2.,  0.,  2.], dtype=float32)
    """
    from nnfast.backend.tensor import Tensor

    a = _array(x)
    return Tensor(np.asarray(np.round(a, decimals), dtype=a.dtype))


def _compare(fn, doc):
    def op(x1, x2):
        from nnfast.backend.tensor import Tensor

        a, b = as_input(x1), as_input(x2)
        return Tensor(np.asarray(fn(getattr(a, "value", a), getattr(b, "value", b))))

    op.__name__ = op.__qualname__ = fn.__name__
    op.__doc__ = doc
    return op


# One docstring per comparison: what it tests, its operands and an example that runs.
_COMPARE_DOC = """{summary} (boolean result, not differentiable).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Returns:
        A boolean tensor of the broadcast shape of ``x1`` and ``x2``: {returns}.

    Example:
        >>> a, b = {operands}
        >>> keras.ops.{name}(a, b).numpy()
        {result}
    """
_NUMBERS = 'np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")'
_BOOLS = "np.array([True, True, False]), np.array([True, False, False])"


def _compare_doc(name, summary, returns, operands, result):
    return _COMPARE_DOC.format(summary=summary, returns=returns, operands=operands,
                               name=name, result=result)


equal = _compare(np.equal, _compare_doc(
    "equal", "Elementwise ``x1 == x2``", "``True`` where the operands are equal",
    _NUMBERS, "array([False,  True, False])"))
not_equal = _compare(np.not_equal, _compare_doc(
    "not_equal", "Elementwise ``x1 != x2``", "``True`` where the operands differ",
    _NUMBERS, "array([ True, False,  True])"))
greater = _compare(np.greater, _compare_doc(
    "greater", "Elementwise ``x1 > x2``", "``True`` where ``x1`` is greater than ``x2``",
    _NUMBERS, "array([False, False,  True])"))
greater_equal = _compare(np.greater_equal, _compare_doc(
    "greater_equal", "Elementwise ``x1 >= x2``",
    "``True`` where ``x1`` is greater than or equal to ``x2``",
    _NUMBERS, "array([False,  True,  True])"))
less = _compare(np.less, _compare_doc(
    "less", "Elementwise ``x1 < x2``", "``True`` where ``x1`` is less than ``x2``",
    _NUMBERS, "array([ True, False, False])"))
less_equal = _compare(np.less_equal, _compare_doc(
    "less_equal", "Elementwise ``x1 <= x2``",
    "``True`` where ``x1`` is less than or equal to ``x2``",
    _NUMBERS, "array([ True,  True, False])"))
logical_and = _compare(np.logical_and, _compare_doc(
    "logical_and", "Elementwise logical AND of the operands' truth values",
    "``True`` where both operands are true (nonzero)",
    _BOOLS, "array([ True, False, False])"))
logical_or = _compare(np.logical_or, _compare_doc(
    "logical_or", "Elementwise logical OR of the operands' truth values",
    "``True`` where either operand is true (nonzero)",
    _BOOLS, "array([ True,  True, False])"))


name_factory_ops(globals(), __name__)
