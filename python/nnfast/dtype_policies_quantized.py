"""The mode-specific quantized policies of ``keras.dtype_policies``: ``Int4DTypePolicy``
(``"int4/<block_size>"``), ``GPTQDTypePolicy`` (``"gptq/<bits>/<group>"``),
``AWQDTypePolicy`` (``"awq/4/<group>"``) and ``QuantizedFloat8DTypePolicy`` (with its amax
history length), named and serialized as Keras names them so that files carrying them read
and write the same. nnfast's layers compute the ``"int8"`` mode only; a layer given one of
these policies raises ``NotImplementedError``.

Example:
    >>> policy = Int4DTypePolicy("int4/128", "float32")
    >>> policy.name, policy.block_size, policy.get_config()
    ('int4/128_from_float32', 128, {'mode': 'int4/128', 'source_name': 'float32'})
"""
from nnfast.dtype_policies import QuantizedDTypePolicy
from nnfast.quantizers_modes import QUANTIZATION_MODES


def _split_mode(cls, mode, algorithm, fields):
    """``mode`` split on "/" into ``algorithm`` and integer ``fields`` (Keras's errors)."""
    expected = "'" + "/".join([algorithm] + [f"<{f}>" for f in fields]) + "'"
    parts = mode.split("/") if isinstance(mode, str) else []
    if len(parts) != len(fields) + 1 or parts[0] != algorithm:
        raise ValueError(f"Invalid mode for {cls}. Expected format {expected}, but got "
                         f"'{mode}'.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        names = " and ".join(f"<{f}>" for f in fields)
        raise ValueError(f"Invalid mode for {cls}. {names} must be "
                         f"{'an integer' if len(fields) == 1 else 'integers'}. Expected format "
                         f"{expected}, but got '{mode}'.") from None


def _check_group(value, mode, what):
    if value < -1 or value == 0:
        kind = "block_size" if what == "sub-channel" else "group_size"
        raise ValueError(f"Invalid {kind} in mode. Supported values are -1 ({what}) or a "
                         f"positive integer, but got {value} from '{mode}'.")


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The policy of a layer quantized with ``"float8"``.

    Args:
        mode: ``"float8"``.
        source_name: the source policy's name (default: the global policy).
        amax_history_length: length of the amax history window of the scales (default
            1024).

    Example:
        >>> QuantizedFloat8DTypePolicy("float8", "float32").amax_history_length
        1024
    """

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=1024):
        super().__init__(mode=mode, source_name=source_name)
        if not isinstance(amax_history_length, int) or isinstance(amax_history_length, bool):
            raise TypeError("`amax_history_length` must be an integer. Received: "
                            f"amax_history_length={amax_history_length}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self):
        """The length of the amax history window the float8 scales are computed from."""
        return self._amax_history_length

    def __eq__(self, other):
        return super().__eq__(other) and \
            self._amax_history_length == other._amax_history_length

    __hash__ = QuantizedDTypePolicy.__hash__

    def get_config(self):
        config = super().get_config()
        config["amax_history_length"] = self._amax_history_length
        return config


class Int4DTypePolicy(QuantizedDTypePolicy):
    """The policy of a layer quantized with ``"int4"``; ``mode`` is ``"int4/<block_size>"``
    (-1: one scale per output channel; a positive integer: one per block of that many
    input rows).

    Args:
        mode: ``"int4/<block_size>"``, e.g. ``"int4/128"``.
        source_name: the source policy's name (default: the global policy).

    Example:
        >>> Int4DTypePolicy("int4/-1", "float32").block_size
        -1
    """

    def __init__(self, mode, source_name=None):
        (block_size,) = _split_mode("Int4DTypePolicy", mode, "int4", ["block_size"])
        _check_group(block_size, mode, "sub-channel")
        super().__init__(mode="int4", source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def get_config(self):
        return {"mode": f"int4/{self.block_size}", "source_name": self._source_name}


class GPTQDTypePolicy(QuantizedDTypePolicy):
    """The policy of a layer quantized with GPTQ; ``mode`` is
    ``"gptq/<weight_bits>/<group_size>"`` (bits 2, 3, 4 or 8; group -1 or positive).

    Args:
        mode: e.g. ``"gptq/4/128"``.
        source_name: the source policy's name (default: the global policy).

    Example:
        >>> GPTQDTypePolicy("gptq/4/128", "float32").weight_bits
        4
    """

    def __init__(self, mode, source_name=None):
        bits, group = _split_mode("GPTQDTypePolicy", mode, "gptq",
                                  ["weight_bits", "group_size"])
        if bits not in (2, 3, 4, 8):
            raise ValueError("Invalid weight_bits in mode. Supported values are 2, 3, 4, and "
                             f"8, but got {bits} from '{mode}'.")
        _check_group(group, mode, "whole-tensor")
        super().__init__(mode="gptq", source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode, self.weight_bits, self.group_size = "gptq", bits, group

    def get_config(self):
        return {"mode": f"gptq/{self.weight_bits}/{self.group_size}",
                "source_name": self._source_name}


class AWQDTypePolicy(QuantizedDTypePolicy):
    """The policy of a layer quantized with AWQ; ``mode`` is ``"awq/4/<group_size>"``.

    Args:
        mode: e.g. ``"awq/4/128"`` (AWQ is 4-bit only).
        source_name: the source policy's name (default: the global policy).

    Example:
        >>> AWQDTypePolicy("awq/4/-1", "float32").group_size
        -1
    """

    def __init__(self, mode, source_name=None):
        bits, group = _split_mode("AWQDTypePolicy", mode, "awq", ["weight_bits", "group_size"])
        if bits != 4:
            raise ValueError("Invalid weight_bits in mode. AWQ only supports 4-bit "
                             f"quantization, but got {bits} from '{mode}'.")
        _check_group(group, mode, "per-channel")
        super().__init__(mode="awq", source_name=source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode, self.weight_bits, self.group_size = "awq", bits, group

    def get_config(self):
        return {"mode": f"awq/{self.weight_bits}/{self.group_size}",
                "source_name": self._source_name}


def quantized_policy_from_name(policy):
    """The quantized policy a name such as ``"int8_from_float32"`` or
    ``"int4/128_from_mixed_bfloat16"`` describes (Keras's parsing)."""
    if not policy.startswith(QUANTIZATION_MODES):
        raise ValueError("`policy` is incompatible with the current supported quantization.")
    parts = policy.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) to "
                         f"instantiate `QuantizedDTypePolicy`. Received: policy={policy}")
    mode, source = parts
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source)
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)
