"""Statistics and normalizations of ``keras.ops.nn`` built from differentiable ops:
``moments``, ``normalize``, ``rms_normalization``, ``psnr``, and the complex ``polar``."""
import numpy as np

from nnfast.backend.global_state import epsilon as _backend_epsilon
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value
from nnfast.ops.array import expand_dims, squeeze, stop_gradient
from nnfast.ops.linalg import norm
from nnfast.ops.math import add, divide, log, maximum, mean, multiply, sqrt, square, subtract, sum


def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and (biased) variance of ``x`` over ``axes``; both differentiable.

    Args:
        x: input array.
        axes: an int or a list of axes to reduce.
        keepdims: keep the reduced axes with size 1.
        synchronized: only meaningful for distributed training; on one process it is the
            same computation.

    Returns:
        ``(mean, variance)``.

    Example:
        >>> mean, var = ops.moments(np.array([1.0, 2.0, 3.0], "float32"), axes=[0])
    """
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    m = mean(x, axis=axes, keepdims=True)
    # The variance's centring term is a constant for the gradient (as TF's moments).
    var = mean(square(subtract(x, stop_gradient(m))), axis=axes, keepdims=keepdims)
    if not keepdims:
        m = squeeze(m, axis=axes) if len(axes) > 1 else squeeze(m, axis=axes[0])
    return m, var


def normalize(x, axis=-1, order=2, epsilon=None):
    """Divides ``x`` by its ``order``-norm along ``axis`` (norms below ``epsilon`` are
    clamped, so zero vectors stay zero).

    Args:
        x: input tensor.
        axis: the axis normalised (default -1).
        order: the norm's order (default 2).
        epsilon: norms below it are replaced by it (None: the backend's epsilon).

    Example:
        >>> ops.normalize(np.array([[3.0, 4.0]], "float32"))  # [[0.6, 0.8]]
        <Tensor shape=(1, 2) dtype=float32
        array([[0.6, 0.8]], dtype=float32)>
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order}")
    if epsilon is None:
        epsilon = _backend_epsilon()
    if np.ndim(value(x)) == 0:
        x = expand_dims(x, 0)
    if order == 2:
        # x * min(rsqrt(sum(x^2)), 1/eps) as Keras, written without dividing by zero.
        return divide(x, maximum(sqrt(sum(square(x), axis=axis, keepdims=True)), epsilon))
    return divide(x, maximum(norm(x, ord=order, axis=axis, keepdims=True), epsilon))


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """Root-mean-square normalization: ``x / sqrt(mean(x**2, axis) + epsilon) * scale``.

    Args:
        x: input tensor.
        scale: multiplier broadcast along ``axis`` (None: 1).
        axis: the axis (or axes) normalised (default -1).
        epsilon: added to the mean square (None: the backend's epsilon).

    Example:
        >>> y = ops.rms_normalization(np.ones((2, 4), "float32"), scale=np.full(4, 2.0, "float32"))
    """
    if epsilon is None:
        epsilon = _backend_epsilon()
    if np.ndim(value(x)) == 0:
        x = expand_dims(x, 0)
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    y = divide(x, sqrt(add(mean(square(x), axis=axis, keepdims=True), float(epsilon))))
    return y if scale is None else multiply(y, scale)


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mean((x1 - x2)**2))``
    over all elements (a scalar).

    Args:
        x1: first image batch.
        x2: second image batch of the same shape.
        max_val: the largest possible pixel value (e.g. 1.0 or 255).

    Example:
        >>> ops.psnr(np.zeros(4, "float32"), np.full(4, 0.1, "float32"), 1.0)  # 20.0
        <Tensor shape=() dtype=float64
        array(20.00000028)>
    """
    s1, s2 = np.shape(value(x1)), np.shape(value(x2))
    if s1 != s2:
        raise ValueError(f"Input shapes {s1} and {s2} must match for PSNR calculation.")
    mse = mean(square(subtract(x1, x2)))
    db = multiply(log(mse), -10.0 / np.log(10.0))
    return db + np.float32(20.0 * np.log10(float(max_val)))


def polar(abs_, angle):
    """The complex number ``abs_ * (cos(angle) + 1j * sin(angle))`` (complex64; nnfast does
    not differentiate complex results).

    Args:
        abs_: the magnitudes.
        angle: the angles in radians, broadcastable with ``abs_``.

    Example:
        >>> ops.polar(np.array([2.0], "float32"), np.array([0.0], "float32"))  # [2+0j]
        <Tensor shape=(1,) dtype=complex64
        array([2.+0.j], dtype=complex64)>
    """
    r = np.asarray(value(abs_), dtype=np.float32)
    t = np.asarray(value(angle), dtype=np.float32)
    return Tensor(np.asarray(r * np.cos(t) + 1j * (r * np.sin(t)), dtype=np.complex64))
