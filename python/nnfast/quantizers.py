"""Quantizers (``keras.quantizers``): the abs-max int8 scheme ``model.quantize("int8")`` uses.

``abs_max_quantize(x, axis)`` maps ``x`` to integers with a per-slice scale
``127 / (max |x| + epsilon)`` along ``axis``: ``q = clip(round(x * scale), -127, 127)``
(round half to even), so ``x ~ q / scale``.

Also here (from their own modules): the int4 helpers ``pack_int4``/``unpack_int4`` and
``abs_max_quantize_grouped_with_zero_point`` (``quantizers_int4``),
``fake_quant_with_min_max_vars`` (``quantizers_fake_quant``), the float8 scaling helpers
``compute_float8_scale``/``compute_float8_amax_history`` (``quantizers_float8``) and the
configs ``model.quantize(mode, config=...)`` takes (``quantizers_config``).

Example:
    >>> q, scale = nnfast.quantizers.abs_max_quantize(np.array([[0.5, -1.0]]), axis=-1)
    >>> np.asarray(q), np.asarray(scale)
    (array([[  63, -127]], dtype=int8), array([[126.999985]], dtype=float32))
"""
import numpy as np

from nnfast.backend.global_state import epsilon as _epsilon
from nnfast.backend.tensor import Tensor as _Tensor

_INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


def _array(x):
    return np.asarray(x.value if isinstance(x, _Tensor) else x)


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=1e-7,
                     to_numpy=False):
    """Quantizes ``inputs`` with the absolute-maximum scheme.

    Args:
        inputs: float array or tensor.
        axis: axis (or tuple of axes) the maximum is taken over: one scale per remaining
            position (``axis=0`` of a ``(in, out)`` kernel: one scale per output unit).
        value_range: ``(low, high)`` of the integers (default ``(-127, 127)``).
        dtype: the integers' dtype (default ``"int8"``).
        epsilon: added to the maximum (default 1e-7, Keras's ``epsilon()`` when it was imported).
        to_numpy: accepted for Keras compatibility (nnfast computes on the host either way).

    Returns:
        ``(quantized, scale)``: integers of ``inputs``' shape and float32 scales with the
        reduced axes kept as size 1.
    """
    eps = _epsilon() if epsilon is None else epsilon  # None: the current config value
    x = _array(inputs).astype(np.float32, copy=False)
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    scale = np.divide(np.float32(value_range[1]),
                      np.abs(x).max(axis=axis, keepdims=True) + np.float32(eps),
                      dtype=np.float32)
    q = np.clip(np.round(x * scale), value_range[0], value_range[1]).astype(dtype)
    return _Tensor(q), _Tensor(scale.astype(np.float32))


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """``inputs / scale`` clipped to ``quantized_dtype``'s range, converted to it, then
    multiplied back by ``scale`` in ``compute_dtype`` (Keras's float8 fake-quantization)."""
    dtype = np.dtype(quantized_dtype) if quantized_dtype in _INT_RANGES else None
    if dtype is None:
        raise NotImplementedError(f"quantize_and_dequantize: quantized_dtype="
                                  f"{quantized_dtype!r} is not available in nnfast (float8 "
                                  "types are not); use an integer dtype such as 'int8'.")
    high = np.float32(_INT_RANGES[quantized_dtype][1])
    x = _array(inputs).astype(np.float32) / _array(scale).astype(np.float32)
    x = np.clip(x, -high, high).astype(dtype)  # the conversion truncates, as Keras's cast
    return _Tensor((x.astype(np.float32) * _array(scale).astype(np.float32)).astype(compute_dtype))


class Quantizer:
    """Base class of quantizers: ``quantizer(x) -> (quantized, scale)``.

    Args:
        output_dtype: dtype of the quantized values (default ``"int8"``).
    """

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self):
        return {"output_dtype": self.output_dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class AbsMaxQuantizer(Quantizer):
    """The abs-max quantizer (see ``abs_max_quantize``).

    Args:
        axis: default axis (or axes) of the maximum; ``None``: the last axis when called.
        value_range: ``(low, high)`` of the integers; within [-128, 127] for int8.
        epsilon: added to the maximum (default 1e-7).
        output_dtype: dtype of the integers (default ``"int8"``).

    Example:
        >>> q, scale = AbsMaxQuantizer(axis=-1)(np.array([[0.5, -1.0]], "float32"))
    """

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=1e-7, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = (axis,) if isinstance(axis, int) else (None if axis is None else tuple(axis))
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError("Quantizer with output_dtype='int8' requires value_range to be "
                             f"within the interval [-128, 127]. Received: value_range={value_range}")
        self.value_range, self.epsilon = value_range, epsilon

    def __call__(self, x, axis=None, to_numpy=False):
        """``(quantized, scale)`` of ``x`` along ``axis`` (else the constructor's, else -1)."""
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon,
                                to_numpy)

    def get_config(self):
        config = {"value_range": self.value_range, "epsilon": self.epsilon,
                  "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


# (below the classes: the configs build AbsMaxQuantizer)
from nnfast.quantizers_config import (
    AWQConfig,
    Float8QuantizationConfig,
    GPTQConfig,
    Int4QuantizationConfig,
    Int8QuantizationConfig,
    QuantizationConfig,
)
from nnfast.quantizers_fake_quant import fake_quant_with_min_max_vars  # noqa: F401
from nnfast.quantizers_float8 import (  # noqa: F401
    compute_float8_amax_history,
    compute_float8_scale,
)
from nnfast.quantizers_int4 import (  # noqa: F401
    abs_max_quantize_grouped_with_zero_point,
    pack_int4,
    unpack_int4,
)

_CLASSES = {"Quantizer": Quantizer, "AbsMaxQuantizer": AbsMaxQuantizer}
_CONFIGS = {c.__name__: c for c in (QuantizationConfig, Int8QuantizationConfig,
                                     Int4QuantizationConfig, Float8QuantizationConfig,
                                     GPTQConfig, AWQConfig)}


def serialize(initializer):
    """Keras's dict form of a quantizer or a quantization config."""
    return {"module": "keras.quantizers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The quantizer (or quantization config) a ``serialize`` dict describes."""
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name) or _CONFIGS.get(name)
    if cls is None:
        raise ValueError(f"Unknown quantizer: {name!r}. Known: "
                         f"{sorted(_CLASSES) + sorted(_CONFIGS)}")
    return cls.from_config(config.get("config", {}))


def get(identifier, **kwargs):
    """A quantizer from an instance, a serialized dict or a class name."""
    if identifier is None or isinstance(identifier, Quantizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier](**kwargs)
    raise ValueError(f"Could not interpret quantizer identifier: {identifier}")
