"""Dtype policies (``keras.dtype_policies``): which dtype a layer computes in and which it
keeps its variables in.

``DTypePolicy("float32")`` (the default) computes and stores in float32;
``DTypePolicy("mixed_bfloat16")`` keeps float32 variables and computes in bfloat16: a layer
rounds its float inputs to bfloat16 (Keras's autocast), runs its matrix products on the
bfloat16 GEMM (AMX tiles or AVX512_BF16 where the CPU has them; bf16-rounded operands,
float32 accumulation), and rounds its outputs to bfloat16. ``"mixed_float16"`` computes the
same way with float16 rounding (no float16 units are used: no speed-up, Keras's numbers).
Activations stay in float32 arrays holding the rounded values, so ``output.dtype`` reads
float32 where Keras reports the compute dtype. Non-float dtypes (``"int64"``, ``"bool"``...)
are the dtypes of preprocessing layers. ``"float64"`` computes and stores in float64 (NumPy float64
routes of ``nnfast.ops``, see ``nnfast.config.set_floatx``). Float variables in 16 bits
(``"bfloat16"``, ``"float16"`` policies) are not supported and raise ``NotImplementedError``
when a layer is built with them.

Example:
    >>> policy = nnfast.dtype_policies.DTypePolicy("mixed_bfloat16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('bfloat16', 'float32')
    >>> layer = nnfast.layers.Dense(8, dtype="mixed_bfloat16")
    >>> layer.compute_dtype
    'bfloat16'
"""
import numpy as np

from nnfast.backend import global_state
from nnfast.ops import precision as _precision
from nnfast.quantizers_modes import QUANTIZATION_MODES as _QUANTIZATION_MODES

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_DTYPES = {"float16", "bfloat16", "float32", "float64", "uint8", "uint16", "uint32", "uint64",
           "int8", "int16", "int32", "int64", "bool", "string", "complex64", "complex128"}


class DTypePolicy:
    """A layer's compute and variable dtypes, named as Keras names them.

    Args:
        name: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``, or the name of a
            dtype (``"int64"`` for a preprocessing layer). ``None``: the global policy's
            name (``nnfast.config.dtype_policy()``).

    Attributes:
        name: the policy's name.
        compute_dtype: the dtype the layer computes in (``"bfloat16"`` for
            ``"mixed_bfloat16"``).
        variable_dtype: the dtype of the layer's variables (``"float32"`` for the mixed
            policies).
        quantization_mode: ``None`` (``QuantizedDTypePolicy`` sets it).

    Example:
        >>> nnfast.dtype_policies.DTypePolicy("mixed_float16").compute_dtype
        'float16'
    """

    def __init__(self, name=None):
        if name is None:
            name = global_dtype_policy().name
        if not isinstance(name, str):
            raise TypeError("'name' must be a string, such as 'mixed_float16'. "
                            f"Received: name={name} (of type {type(name)})")
        if name in _MIXED:
            compute, variable = _MIXED[name], "float32"
        else:
            try:
                canonical = "bfloat16" if name == "bfloat16" else (
                    name if name == "string" else np.dtype(name).name)
            except TypeError:
                canonical = None
            if canonical not in _DTYPES:
                raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. "
                                 "Valid policies include 'mixed_float16', 'mixed_bfloat16', "
                                 "and the name of any float dtype such as 'float32'.")
            compute = variable = canonical
        self._name, self._compute_dtype, self._variable_dtype = name, compute, variable

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def quantization_mode(self):
        return None

    def convert_input(self, x, autocast, dtype):
        """``x`` in ``dtype`` when it is a float tensor and ``autocast`` is on (Keras's
        input autocasting); other inputs unchanged. bfloat16/float16 values are rounded and
        kept in float32 storage."""

        return _precision.round_floats(x, dtype) if autocast else x

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(other) is type(self) and other.name == self.name

    def __hash__(self):
        return hash((type(self), self.name))

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


class FloatDTypePolicy(DTypePolicy):
    """Keras's former name of ``DTypePolicy`` for float policies (same behaviour)."""


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a layer quantized by ``layer.quantize(mode)``: named
    ``"<mode>_from_<source>"`` (``"int8_from_float32"``), with ``quantization_mode`` set and
    the source policy's compute and variable dtypes.

    Args:
        mode: one of Keras's modes (``"int8"``, ``"float8"``, ``"int4"``, ``"gptq"``,
            ``"awq"``); nnfast's layers compute ``"int8"`` and raise
            ``NotImplementedError`` when given a policy of another mode.
        source_name: the policy the layer had before (default: the global policy's name).

    Example:
        >>> QuantizedDTypePolicy("int8", "float32").name
        'int8_from_float32'
    """

    def __init__(self, mode, source_name=None):
        source_name = source_name or global_dtype_policy().name
        super().__init__(source_name)
        if mode not in _QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of "
                             f"{_QUANTIZATION_MODES}. Received: mode={mode}")
        if self.compute_dtype == "float16" and mode == "int8":
            raise ValueError(f"Quantization mode='{mode}' doesn't work well with "
                             "compute_dtype='float16'.")
        self._mode, self._source_name = mode, source_name
        self._name = f"{mode}_from_{source_name}"

    @property
    def quantization_mode(self):
        return self._mode

    def get_config(self):
        return {"mode": self._mode, "source_name": self._source_name}

    def __repr__(self):
        return f'<{type(self).__name__} "{self.name}">'


_GLOBAL = [None]
_FLOATX_POLICIES = {}


def global_dtype_policy():
    """The policy layers take when built without ``dtype=`` (default ``"float32"``)."""
    if _GLOBAL[0] is not None:
        return _GLOBAL[0]
    floatx = global_state.floatx()  # no policy set: the policy of floatx, as it is now
    policy = _FLOATX_POLICIES.get(floatx)
    if policy is None:
        policy = _FLOATX_POLICIES[floatx] = DTypePolicy(floatx)
    return policy


def set_global_dtype_policy(policy):
    """Sets the policy of layers built from now on: a name, a ``DTypePolicy`` or ``None``
    (back to ``floatx()``)."""
    if policy is None:
        _GLOBAL[0] = None
        return
    policy = get(policy)
    if policy.variable_dtype in ("bfloat16", "float16"):
        raise NotImplementedError(
            f"set_dtype_policy({policy.name!r}): nnfast keeps float variables in float32 or "
            "float64; use 'float32', 'float64', 'mixed_bfloat16' or 'mixed_float16'.")
    _GLOBAL[0] = policy


def get(identifier):
    """A ``DTypePolicy`` from a name, a serialized dict, a policy, or ``None`` (the global
    policy).

    Example:
        >>> nnfast.dtype_policies.get("mixed_bfloat16")
        <DTypePolicy "mixed_bfloat16">
    """
    if identifier is None:
        return global_dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(_QUANTIZATION_MODES):
            return _quantized_policy_from_name(identifier)
        return DTypePolicy(identifier)
    if isinstance(identifier, np.dtype) or (isinstance(identifier, type) and
                                            issubclass(identifier, np.generic)):
        return DTypePolicy(np.dtype(identifier).name)
    raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or an instance "
                     f"of DTypePolicy. Received: dtype={identifier}")


def serialize(dtype_policy):
    """Keras's dict form: ``{"module": "keras", "class_name": "DTypePolicy",
    "config": {"name": ...}, "registered_name": None}``."""
    module = "keras.dtype_policies" if dtype_policy.quantization_mode or \
        type(dtype_policy).__name__ == "DTypePolicyMap" else "keras"
    return {"module": module, "class_name": type(dtype_policy).__name__,
            "config": dtype_policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The policy a ``serialize`` dict (or Keras's) describes."""
    if not isinstance(config, dict) or "config" not in config:
        raise ValueError(f"Expected a serialized DTypePolicy dict. Received: config={config}")
    name = config.get("class_name", "DTypePolicy")
    classes = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
               "QuantizedDTypePolicy": QuantizedDTypePolicy, "DTypePolicyMap": DTypePolicyMap,
               "QuantizedFloat8DTypePolicy": QuantizedFloat8DTypePolicy,
               "Int4DTypePolicy": Int4DTypePolicy, "GPTQDTypePolicy": GPTQDTypePolicy,
               "AWQDTypePolicy": AWQDTypePolicy}
    if name not in classes:
        raise ValueError(f"Unknown dtype policy class {name!r}. Known: {sorted(classes)}")
    return classes[name].from_config(config["config"])


# (at the end: these modules subclass the policies above)
from nnfast.dtype_policies_quantized import (
    AWQDTypePolicy,
    GPTQDTypePolicy,
    Int4DTypePolicy,
    QuantizedFloat8DTypePolicy,
)
from nnfast.dtype_policies_quantized import (  # noqa: E402
    quantized_policy_from_name as _quantized_policy_from_name,
)
from nnfast.dtype_policy_map import DTypePolicyMap
