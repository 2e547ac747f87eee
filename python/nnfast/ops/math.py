"""Elementwise arithmetic, reductions and matmul (``keras.ops`` names), with gradients."""
import builtins

import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops._util import f32, normalize_axis, unbroadcast, value


def _shape(x):
    return np.shape(x)


# --- binary elementwise ----------------------------------------------------------------


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Subtract(Function):
    @staticmethod
    def forward(ctx, a, b):
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
    """Elementwise ``x1 + x2`` with broadcasting."""
    return Add.apply(x1, x2)


def subtract(x1, x2):
    """Elementwise ``x1 - x2`` with broadcasting."""
    return Subtract.apply(x1, x2)


def multiply(x1, x2):
    """Elementwise ``x1 * x2`` with broadcasting."""
    return Multiply.apply(x1, x2)


def divide(x1, x2):
    """Elementwise ``x1 / x2`` with broadcasting."""
    return Divide.apply(x1, x2)


true_divide = divide


def power(x1, x2):
    """Elementwise ``x1 ** x2``."""
    return Power.apply(x1, x2)


def maximum(x1, x2):
    return Maximum.apply(x1, x2)


def minimum(x1, x2):
    return Minimum.apply(x1, x2)


# --- unary elementwise -------------------------------------------------------------------


def _unary(name, fwd, grad_from):
    """Builds a Function for y = fwd(x) whose gradient is g * grad_from(x, y)."""

    def forward(ctx, x):
        x = value(x)
        y = fwd(x)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved
        return g * grad_from(x, y)

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
    return Negative.apply(x)


def square(x):
    return Square.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def log1p(x):
    return Log1p.apply(x)


def abs(x):  # noqa: A001 - keras.ops name
    return Abs.apply(x)


absolute = abs


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


class Clip(Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        x = value(x)
        ctx.save_for_backward(x, lo, hi)
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved
        return g * ((x >= lo) & (x <= hi)), None, None


def clip(x, x_min, x_max):
    """Clamps ``x`` to ``[x_min, x_max]``; the gradient is zero outside."""
    return Clip.apply(x, x_min, x_max)


# --- reductions ----------------------------------------------------------------------------


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = value(x)
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
        x = value(x)
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, normalize_axis(axis, builtins.max(x.ndim, 1)), keepdims
        total = np.add.reduce(x, axis=ctx.axis, keepdims=keepdims)
        count = x.size // builtins.max(np.size(total), 1) if x.size else 1
        ctx.count = count
        # NOTE: add.reduce + divide avoids np.mean's Python-level overhead on small tensors.
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
    def forward(cls, ctx, x, axis=None, keepdims=False):
        x = value(x)
        out = cls.reduce(x, axis=axis, keepdims=True)
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


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes when None)."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return Min.apply(x, axis=axis, keepdims=keepdims)


def argmax(x, axis=-1, keepdims=False):
    """Index of the largest value along ``axis`` (first one on ties); not differentiable."""
    return np.argmax(value(x), axis=axis, keepdims=keepdims)


def argmin(x, axis=-1, keepdims=False):
    return np.argmin(value(x), axis=axis, keepdims=keepdims)


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


class MatMul(Function):
    """Matmul on the nnfast GEMM when the right operand is 2-D (the left one's leading axes
    are rows) or both are same-batch stacks; other cases broadcast through NumPy."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = value(a), value(b)
        ctx.save_for_backward(a, b)
        if _on_gemm(a, b):
            if a.shape[-1] != b.shape[0]:
                raise ValueError(f"matmul: incompatible shapes {a.shape} and {b.shape}")
            a2 = f32(a).reshape(-1, a.shape[-1])
            out = np.empty((a2.shape[0], b.shape[1]), dtype=np.float32)
            _core.gemm(a2, f32(b), out)
            return out.reshape(a.shape[:-1] + (b.shape[1],))
        if _on_batched_gemm(a, b):
            if a.shape[-1] != b.shape[-2]:
                raise ValueError(f"matmul: incompatible shapes {a.shape} and {b.shape}")
            out = np.empty(a.shape[:-1] + (b.shape[-1],), dtype=np.float32)
            _core.gemm_batched(_batched(a), _batched(b), out.reshape((-1,) + out.shape[-2:]))
            return out
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = gb = None
        if _on_gemm(a, b) and g.dtype == np.float32:
            g2 = f32(g).reshape(-1, b.shape[1])
            if ctx.needs_input_grad[0]:
                ga = np.empty((g2.shape[0], a.shape[-1]), dtype=np.float32)
                _core.gemm(g2, f32(b), ga, trans_b=True)
                ga = ga.reshape(a.shape)
            if ctx.needs_input_grad[1]:
                gb = np.empty(b.shape, dtype=np.float32)
                _core.gemm(f32(a).reshape(-1, a.shape[-1]), g2, gb, trans_a=True)
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
    """Matrix product (``x1 @ x2``); 2-D float32 runs on nnfast's SGEMM."""
    return MatMul.apply(x1, x2)


dot = matmul


# --- more reductions and elementwise math (keras.ops names) ---------------------------------


def var(x, axis=None, keepdims=False):
    """Biased variance over ``axis``: ``mean(square(x - mean(x)))``."""
    centered = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centered), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = value(x)
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
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, axis=None):
        x = value(x)
        ctx.shape, ctx.axis = x.shape, axis
        return np.cumsum(x, axis=axis).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return np.flip(np.cumsum(np.flip(g.ravel()))).reshape(ctx.shape)
        return np.flip(np.cumsum(np.flip(g, ctx.axis), axis=ctx.axis), ctx.axis)


def cumsum(x, axis=None):
    return CumSum.apply(x, axis=axis)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        x = value(x)
        out = np.prod(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()))

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis) if ctx.axis is not None else np.reshape(g, out.shape)
        # NOTE: assumes no zeros in x (the quotient form), like most frameworks' fast path.
        return (g * out / x).astype(x.dtype)


def prod(x, axis=None, keepdims=False):
    return Prod.apply(x, axis=axis, keepdims=keepdims)


def sign(x):
    """Not differentiable (zero gradient almost everywhere): a plain result."""
    from nnfast.backend.tensor import Tensor

    return Tensor(np.sign(value(x)))


def floor(x):
    from nnfast.backend.tensor import Tensor

    return Tensor(np.floor(value(x)))


def round(x, decimals=0):  # noqa: A001
    from nnfast.backend.tensor import Tensor

    return Tensor(np.round(value(x), decimals))


def _compare(fn):
    def op(x1, x2):
        from nnfast.backend.tensor import Tensor

        return Tensor(fn(value(x1), value(x2)))

    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise ``{fn.__name__}`` (boolean result, not differentiable)."
    return op


equal = _compare(np.equal)
not_equal = _compare(np.not_equal)
greater = _compare(np.greater)
greater_equal = _compare(np.greater_equal)
less = _compare(np.less)
less_equal = _compare(np.less_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
