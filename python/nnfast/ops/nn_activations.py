"""The activations of ``keras.ops.nn`` that nnfast has no C++ kernel for (log_sigmoid,
sparse_plus, squareplus, celu, the shrink family, glu, sparsemax, ...): NumPy forwards over
whole arrays, each with its derivative beside it."""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import value
from nnfast.ops.array import split
from nnfast.ops.math import multiply
from nnfast.ops.nn import _along_last, sigmoid


def _float(x):
    """``x`` as a floating array (integers and float64 become float32, nnfast's floatx)."""
    a = np.asarray(value(x))
    if a.dtype not in (np.float32, np.float16):
        a = a.astype(np.float32)
    return a


class Elementwise(Function):
    """``y = fn(x)`` with ``dy/dx = derivative(x, y)``; both are whole-array NumPy functions."""

    @staticmethod
    def forward(ctx, x, fn=None, derivative=None):
        x = _float(x)
        y = np.asarray(fn(x), dtype=x.dtype)
        if ctx.recording:
            ctx.save_for_backward(x, y)
            ctx.derivative = derivative
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        return (g * ctx.derivative(x, y)).astype(x.dtype, copy=False)


def _elementwise(x, fn, derivative):
    return Elementwise.apply(x, fn=fn, derivative=derivative)


def _sigmoid(x):
    # exp of a non-positive number only: no overflow on either side.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, computed without overflow.

    Args:
        x: input tensor or array-like.

    Example:
        >>> ops.log_sigmoid(np.array([-1000.0, 0.0], "float32"))  # [-1000, -0.6931]
        <Tensor shape=(2,) dtype=float32
        array([-1.000000e+03, -6.931472e-01], dtype=float32)>
    """
    return _elementwise(
        x, lambda a: np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a))),
        lambda a, y: _sigmoid(-a))


def sparse_plus(x):
    """SparsePlus: ``0`` for ``x <= -1``, ``(x + 1)**2 / 4`` for ``|x| < 1``, ``x`` for
    ``x >= 1``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> ops.sparse_plus(np.array([-2.0, 0.0, 2.0], "float32"))  # [0, 0.25, 2]
        <Tensor shape=(3,) dtype=float32
        array([0.  , 0.25, 2.  ], dtype=float32)>
    """
    return _elementwise(
        x, lambda a: np.where(a <= -1, 0.0, np.where(a >= 1, a, 0.25 * (a + 1) ** 2)),
        lambda a, y: np.where(a <= -1, 0.0, np.where(a >= 1, 1.0, 0.5 * (a + 1))))


def sparse_sigmoid(x):
    """Sparse sigmoid: ``clip((x + 1) / 2, 0, 1)``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> ops.sparse_sigmoid(np.array([-2.0, 0.0, 2.0], "float32"))  # [0, 0.5, 1]
        <Tensor shape=(3,) dtype=float32
        array([0. , 0.5, 1. ], dtype=float32)>
    """
    return _elementwise(x, lambda a: np.clip(0.5 * (a + 1), 0, 1),
                        lambda a, y: np.where(np.abs(a) < 1, 0.5, 0.0))


def squareplus(x, b=4):
    """Squareplus: ``(x + sqrt(x**2 + b)) / 2`` (a smooth relu; ``b >= 0``).

    Args:
        x: input tensor or array-like.
        b: the smoothness at 0, >= 0 (default 4).

    Example:
        >>> ops.squareplus(np.array([0.0], "float32"))  # [1.0] with b=4
        <Tensor shape=(1,) dtype=float32
        array([1.], dtype=float32)>
    """
    b = float(b)
    return _elementwise(x, lambda a: 0.5 * (a + np.sqrt(a * a + b)),
                        lambda a, y: 0.5 * (1 + a / np.sqrt(a * a + b)))


def celu(x, alpha=1.0):
    """CELU: ``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``.

    Args:
        x: input tensor or array-like.
        alpha: the scale of the negative branch (default 1.0).

    Example:
        >>> ops.celu(np.array([-1.0, 1.0], "float32"), alpha=0.5)
        <Tensor shape=(2,) dtype=float32
        array([-0.43233237,  1.        ], dtype=float32)>
    """
    alpha = float(alpha)
    return _elementwise(
        x, lambda a: np.maximum(a, 0) + alpha * np.expm1(np.minimum(a, 0) / alpha),
        lambda a, y: np.where(a > 0, 1.0, np.exp(np.minimum(a, 0) / alpha)))


def hard_tanh(x):
    """Hard tanh: ``clip(x, -1, 1)`` (gradient 1 inside, 0 outside).

    Args:
        x: input tensor or array-like.

    Example:
        >>> ops.hard_tanh(np.array([-3.0, 0.5, 3.0], "float32"))  # [-1, 0.5, 1]
        <Tensor shape=(3,) dtype=float32
        array([-1. ,  0.5,  1. ], dtype=float32)>
    """
    return _elementwise(x, lambda a: np.clip(a, -1, 1),
                        lambda a, y: ((a > -1) & (a < 1)).astype(a.dtype))


def soft_shrink(x, threshold=0.5):
    """Soft shrinkage: ``x - t`` above ``t``, ``x + t`` below ``-t``, ``0`` between.

    Args:
        x: input tensor or array-like.
        threshold: the half-width of the zeroed band (default 0.5).

    Example:
        >>> ops.soft_shrink(np.array([-1.0, 0.2, 1.0], "float32"))  # [-0.5, 0, 0.5]
        <Tensor shape=(3,) dtype=float32
        array([-0.5,  0. ,  0.5], dtype=float32)>
    """
    t = float(threshold)
    return _elementwise(x, lambda a: np.where(a > t, a - t, np.where(a < -t, a + t, 0.0)),
                        lambda a, y: (np.abs(a) > t).astype(a.dtype))


def hard_shrink(x, threshold=0.5):
    """Hard shrinkage: ``x`` where ``|x| > threshold``, else ``0``.

    Args:
        x: input tensor or array-like.
        threshold: the half-width of the zeroed band (default 0.5).

    Example:
        >>> ops.hard_shrink(np.array([-1.0, 0.2, 1.0], "float32"))  # [-1, 0, 1]
        <Tensor shape=(3,) dtype=float32
        array([-1.,  0.,  1.], dtype=float32)>
    """
    t = float(threshold)
    return _elementwise(x, lambda a: np.where(np.abs(a) > t, a, 0.0),
                        lambda a, y: (np.abs(a) > t).astype(a.dtype))


def tanh_shrink(x):
    """``x - tanh(x)``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> ops.tanh_shrink(np.array([0.0, 1.0], "float32"))  # [0, 0.2384]
        <Tensor shape=(2,) dtype=float32
        array([0.        , 0.23840582], dtype=float32)>
    """
    return _elementwise(x, lambda a: a - np.tanh(a), lambda a, y: np.tanh(a) ** 2)


def threshold(x, threshold, default_value):  # noqa: A002 - keras.ops argument name
    """``x`` where ``x > threshold``, else ``default_value``.

    Args:
        x: input tensor or array-like.
        threshold: values at or below it are replaced.
        default_value: the replacement value.

    Example:
        >>> ops.threshold(np.array([-1.0, 0.5], "float32"), 0.0, -5.0)  # [-5, 0.5]
        <Tensor shape=(2,) dtype=float32
        array([-5. ,  0.5], dtype=float32)>
    """
    t, d = float(threshold), float(default_value)
    return _elementwise(x, lambda a: np.where(a > t, a, d),
                        lambda a, y: (a > t).astype(a.dtype))


def glu(x, axis=-1):
    """Gated linear unit: splits ``x`` in two halves ``a, b`` along ``axis`` and returns
    ``a * sigmoid(b)``.

    Args:
        x: input whose ``axis`` has even length ``2n``; the result has length ``n`` there.
        axis: the axis split in two halves; its size must be even (default -1).

    Example:
        >>> ops.glu(np.ones((2, 4), "float32")).shape
        (2, 2)
    """
    n = np.shape(value(x))[axis]
    if n % 2:
        raise ValueError(f"glu expects an even size along axis {axis}, received shape "
                         f"x.shape={np.shape(value(x))}")
    a, b = split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))


class Sparsemax(Function):
    """Sparsemax along the last axis, with Keras 3's threshold (see ``sparsemax``)."""

    @staticmethod
    def forward(ctx, x):
        x = _float(x)
        order = np.argsort(-x, axis=-1, kind="stable")
        z = np.take_along_axis(x, order, axis=-1)
        k = np.arange(1, x.shape[-1] + 1, dtype=x.dtype)
        cums = np.cumsum(z, axis=-1)
        support = z - (cums - 1) / k > 0
        kz = support.sum(axis=-1, keepdims=True).astype(x.dtype)
        tau = (np.where(support, cums, 0).sum(axis=-1, keepdims=True) - 1) / kz
        y = np.maximum(x - tau, 0).astype(x.dtype)
        if ctx.recording:
            # d tau / d z_i = (k - i + 1) / k for the i-th largest input inside the support.
            weight_sorted = np.where(support, (kz - k + 1) / kz, 0).astype(x.dtype)
            weight = np.empty_like(weight_sorted)
            np.put_along_axis(weight, order, weight_sorted, axis=-1)
            ctx.save_for_backward(y, weight)
        return y

    @staticmethod
    def backward(ctx, g):
        y, weight = ctx.saved
        gon = g * (y > 0)
        return (gon - weight * gon.sum(axis=-1, keepdims=True)).astype(y.dtype)


def sparsemax(x, axis=-1):
    """Sparsemax: like softmax, but many outputs are exactly 0 (``max(x - tau, 0)``).

    NOTE: the threshold is Keras 3.15's, ``tau = (sum of the cumulative sums of the sorted
    inputs over the support - 1) / k``, on every Keras backend; it equals Martins &
    Astudillo's ``(cumsum_k - 1) / k`` only when the support has one element, so outputs may
    not sum to 1. nnfast follows Keras's numbers.

    Args:
        x: input tensor or array-like.
        axis: the axis normalised (default -1).

    Example:
        >>> ops.sparsemax(np.array([[1.0, 0.0, -2.0]], "float32"))  # [[1, 0, 0]]
        <Tensor shape=(1, 3) dtype=float32
        array([[1., 0., 0.]], dtype=float32)>
    """
    return _along_last(Sparsemax.apply, x, axis)
