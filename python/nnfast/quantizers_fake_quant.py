"""``fake_quant_with_min_max_vars``: quantize to ``num_bits`` integers within a (nudged)
``[min, max]`` range and dequantize back, as TensorFlow's ``fake_quant_with_min_max_vars``
(the op Keras's TensorFlow backend calls), with its straight-through gradient.

The range is nudged so that 0.0 is exactly representable: ``scale = (max - min) /
(qmax - qmin)``, the zero point ``qmin - min / scale`` is clipped to ``[qmin, qmax]`` and
rounded half away from zero, and ``nudged_min = (qmin - zero) * scale``,
``nudged_max = (qmax - zero) * scale``. Outputs are
``floor((clip(x, nudged_min, nudged_max) - nudged_min) / scale + 0.5) * scale + nudged_min``.
Gradients: ``x`` gets the upstream gradient where ``nudged_min <= x <= nudged_max`` (0
elsewhere); ``min`` gets the sum of it where ``x < nudged_min``, ``max`` where
``x > nudged_max`` (summed over all axes but ``axis`` for per-channel ranges).

Example:
    >>> np.asarray(fake_quant_with_min_max_vars(np.array([0.3, 2.0], "float32"), 0.0, 1.0))
    array([0.29803923, 1.        ], dtype=float32)
"""
import numpy as np

from nnfast import ops
from nnfast.backend.tensor import Tensor


def _array(x):
    return np.asarray(x.value if isinstance(x, Tensor) else x)


def _nudge(min_vals, max_vals, num_bits, narrow_range):
    """TensorFlow's nudged ``(nudged_min, nudged_max, scale)`` in float32."""
    qmin = np.float32(1 if narrow_range else 0)
    qmax = np.float32((1 << num_bits) - 1)
    lo, hi = min_vals.astype(np.float32), max_vals.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (hi - lo) / (qmax - qmin)
        zero_from_min = qmin - lo / scale
    # std::round: half away from zero (the zero point is >= 0 after clipping).
    zero = np.where(zero_from_min < qmin, qmin,
                    np.where(zero_from_min > qmax, qmax,
                             np.floor(np.abs(zero_from_min) + np.float32(0.5)) *
                             np.sign(zero_from_min))).astype(np.float32)
    return (qmin - zero) * scale, (qmax - zero) * scale, scale


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False,
                                 axis=None):
    """Per-tensor or per-channel fake quantization (see the module docstring).

    Args:
        inputs: float tensor.
        min_vals: the range's minimum: a scalar, or one value per channel of ``axis``.
        max_vals: the range's maximum, shaped as ``min_vals``.
        num_bits: bit width (default 8); integers ``[0, 2**num_bits - 1]``.
        narrow_range: integers start at 1 instead of 0 (default False).
        axis: the channel axis of per-channel ranges; ``None``: one range for the tensor.

    Returns:
        A tensor of ``inputs``' shape and dtype holding the fake-quantized values;
        differentiable with respect to ``inputs``, ``min_vals`` and ``max_vals``.

    Example:
        >>> fake_quant_with_min_max_vars(x, [-1.0, -2.0], [1.0, 2.0], axis=-1)
    """
    num_bits = int(num_bits)
    if not 2 <= num_bits <= 16:
        raise ValueError(f"num_bits must be between 2 and 16. Received: num_bits={num_bits}")
    x_np = _array(inputs)
    ndim = x_np.ndim
    if axis is not None:
        if not -ndim <= axis < ndim:
            raise ValueError(f"axis={axis} is out of range for inputs of rank {ndim}.")
        axis = axis % ndim
        channels = x_np.shape[axis]
        for name, v in (("min_vals", min_vals), ("max_vals", max_vals)):
            if _array(v).size != channels:
                raise ValueError(f"{name} must have one value per channel of axis {axis} "
                                 f"({channels}). Received: shape={_array(v).shape}")
    else:
        for name, v in (("min_vals", min_vals), ("max_vals", max_vals)):
            if _array(v).size != 1:
                raise ValueError(f"{name} must be a scalar when axis=None. Received: "
                                 f"shape={_array(v).shape}")

    def broadcast(v):
        v = _array(v).astype(np.float32).reshape(-1)
        if axis is None:
            return v.reshape(())
        shape = [1] * ndim
        shape[axis] = v.size
        return v.reshape(shape)

    def as_tensor(v):
        return v if isinstance(v, Tensor) else Tensor(np.asarray(v, np.float32))

    @ops.custom_gradient
    def fake_quant(x, lo, hi):
        xv = _array(x)
        nudged_min, nudged_max, scale = _nudge(broadcast(lo), broadcast(hi), num_bits,
                                               narrow_range)
        xf = xv.astype(np.float32)
        shifted = np.clip(xf, nudged_min, nudged_max) - nudged_min
        out = (np.floor(shifted / scale + np.float32(0.5)) * scale + nudged_min)
        out = out.astype(xv.dtype if xv.dtype.kind == "f" else np.float32)

        def grad(upstream):
            g = _array(upstream).astype(np.float32)
            inside = (xf >= nudged_min) & (xf <= nudged_max)
            reduce = tuple(i for i in range(ndim) if i != axis)
            d_lo = np.where(xf < nudged_min, g, 0).sum(axis=reduce)
            d_hi = np.where(xf > nudged_max, g, 0).sum(axis=reduce)
            return (Tensor(np.where(inside, g, 0).astype(out.dtype)),
                    Tensor(d_lo.reshape(_array(lo).shape).astype(np.float32)),
                    Tensor(d_hi.reshape(_array(hi).shape).astype(np.float32)))

        return Tensor(out), grad

    return fake_quant(as_tensor(inputs), as_tensor(min_vals), as_tensor(max_vals))
