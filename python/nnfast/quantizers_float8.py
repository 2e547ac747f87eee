"""Float8 scaling helpers of ``keras.quantizers`` (delayed scaling, as NVIDIA's Transformer
Engine): a rolling history of ``max |x|`` and the scale derived from it.

Example:
    >>> history = compute_float8_amax_history(np.array([1.0, -3.0]), np.zeros(4, "float32"))
    >>> np.asarray(history)
    array([3., 0., 0., 0.], dtype=float32)
    >>> float(np.asarray(compute_float8_scale(np.float32(3.0), np.float32(1.0), 448.0)))
    0.0066964286...
"""
import numpy as np

from nnfast.backend.tensor import Tensor


def _array(x):
    return np.asarray(x.value if isinstance(x, Tensor) else x)


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The new scale ``amax * 2**margin / dtype_max`` (the inverse of Keras's
    ``dtype_max / amax / 2**margin``); where ``amax`` is 0 or not finite, ``scale`` is kept.

    Args:
        amax: the largest magnitude seen (scalar or array).
        scale: the current scale (same shape as ``amax``).
        dtype_max: the float8 format's largest value (448 for e4m3fn, 57344 for e5m2).
        margin: extra powers of two of headroom (default 0).

    Returns:
        The scale, a float tensor of ``amax``'s shape.

    Example:
        >>> compute_float8_scale(np.float32(2.0), np.float32(1.0), 448.0)
    """
    amax = _array(amax)
    dtype = amax.dtype if amax.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    amax = amax.astype(dtype, copy=False)
    inv_scale = dtype.type(1) / _array(scale).astype(dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        factor = (dtype.type(dtype_max) / amax) / dtype.type(2.0 ** margin)
    factor = np.where((amax > 0) & np.isfinite(amax), factor, inv_scale)
    return Tensor((dtype.type(1) / factor).astype(dtype))


def compute_float8_amax_history(x, amax_history):
    """The history shifted by one (oldest entry dropped) with ``max |x|`` written at
    position 0, as Keras's ``roll(history, -1)`` then ``history[0] = amax``.

    Args:
        x: the tensor whose magnitude is recorded.
        amax_history: 1D history (its dtype is kept).

    Returns:
        The new history tensor.

    Example:
        >>> compute_float8_amax_history(np.array([0.5]), np.array([1., 2., 3.], "float32"))
    """
    history = _array(amax_history)
    if history.ndim != 1 or history.shape[0] == 0:
        raise ValueError("amax_history must be a non-empty 1D tensor. Received: "
                         f"shape={history.shape}")
    new = np.roll(history, -1).copy()
    new[0] = np.abs(_array(x)).max()
    return Tensor(new)
