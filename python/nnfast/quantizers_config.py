"""Quantization configs of ``keras.quantizers``: what ``model.quantize(mode, config=...)``
does, one class per mode (``Int8QuantizationConfig``, ``Int4QuantizationConfig``,
``Float8QuantizationConfig``, ``GPTQConfig``, ``AWQConfig``), serialized as Keras does.

Example:
    >>> config = Int4QuantizationConfig(block_size=64)
    >>> config.mode, config.get_config()["block_size"]
    ('int4', 64)
"""
from nnfast import quantizers
from nnfast.quantizers import AbsMaxQuantizer
from nnfast.quantizers_modes import QUANTIZATION_MODES


def _serialize(quantizer):
    return None if quantizer is None else quantizers.serialize(quantizer)


def _deserialize(config):
    return None if config is None else quantizers.deserialize(config)


class QuantizationConfig:
    """Base class of quantization configs; subclasses define ``mode``.

    Args:
        weight_quantizer: the quantizer of the weights (``None``: the mode's default).
        activation_quantizer: the quantizer of the inputs (``None``: weights only).

    Example:
        >>> Int8QuantizationConfig().mode
        'int8'
    """

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        raise NotImplementedError("Subclasses must implement this property. Do not "
                                  "instantiate QuantizationConfig directly.")

    def get_config(self):
        return {"weight_quantizer": _serialize(self.weight_quantizer),
                "activation_quantizer": _serialize(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=_deserialize(config.get("weight_quantizer")),
                   activation_quantizer=_deserialize(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        """``config``'s weight quantizer, else ``default``."""
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        """``config``'s activation quantizer (may be ``None``) when there is a config, else
        ``default``."""
        return config.activation_quantizer if config is not None else default


class Int8QuantizationConfig(QuantizationConfig):
    """The ``"int8"`` config: int8 weights, inputs quantized per row by default.

    Args:
        weight_quantizer: an int8 quantizer of the weights (``None``: abs-max per output
            channel).
        activation_quantizer: ``"default"``: ``AbsMaxQuantizer()`` (per row of the inputs).

    Example:
        >>> model.quantize("int8", config=Int8QuantizationConfig())
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if weight_quantizer is not None and weight_quantizer.output_dtype != "int8":
            raise ValueError("Int8QuantizationConfig requires a weight_quantizer with "
                             "output_dtype='int8'. Received: "
                             f"output_dtype={weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """The ``"int4"`` config: int4 weights (two per byte), weight-only by default.

    Args:
        weight_quantizer: a quantizer with ``value_range=(-8, 7)`` (per-channel only).
        activation_quantizer: ``"default"``: ``None`` (weights only).
        block_size: rows per scale group along the input dimension (default 128);
            ``None`` or -1: one scale per output channel.

    Example:
        >>> Int4QuantizationConfig(block_size=None).block_size is None
        True
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and block_size <= 0:
            raise ValueError("block_size must be None, -1, or a positive integer. "
                             f"Received: block_size={block_size}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (
                weight_quantizer is not None or self.activation_quantizer is not None):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support "
                             "custom quantizers. Either set block_size to None or -1 for "
                             "per-channel quantization, or remove the custom quantizer "
                             f"arguments. Received: block_size={block_size}")
        if weight_quantizer is not None:
            if tuple(weight_quantizer.value_range) != (-8, 7):
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with "
                                 "value_range=(-8, 7). Received: "
                                 f"value_range={weight_quantizer.value_range}")
            if weight_quantizer.output_dtype != "int8":
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with "
                                 "output_dtype='int8'. Received: "
                                 f"output_dtype={weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int4"

    def get_config(self):
        config = super().get_config()
        config["block_size"] = self.block_size
        return config

    @classmethod
    def from_config(cls, config):
        # Files from before block_size existed were per-channel.
        return cls(weight_quantizer=_deserialize(config.get("weight_quantizer")),
                   activation_quantizer=_deserialize(config.get("activation_quantizer")),
                   block_size=config.get("block_size", None))


class Float8QuantizationConfig(QuantizationConfig):
    """The ``"float8"`` config (float8 training takes no custom quantizers).

    Example:
        >>> Float8QuantizationConfig().get_config()
        {}
    """

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self):
        return "float8"

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


def _check_group_size(group_size, what):
    if group_size < -1 or group_size == 0:
        raise ValueError(f"Invalid group_size. Supported values are -1 ({what}) or a positive "
                         f"integer, but got {group_size}.")


def _check_calibration(num_samples, sequence_length):
    if num_samples <= 0:
        raise ValueError("num_samples must be a positive integer.")
    if sequence_length <= 0:
        raise ValueError("sequence_length must be a positive integer.")


class GPTQConfig(QuantizationConfig):
    """The ``"gptq"`` config (Hessian-guided post-training weight quantization).

    Args:
        dataset: calibration data (not saved).
        tokenizer: tokenizer of text calibration data (not saved).
        weight_bits: 2, 3, 4 or 8 (default 4).
        num_samples: calibration samples (default 128).
        per_channel: one scale per output channel (default True).
        sequence_length: tokens per sample (default 512).
        hessian_damping: in [0, 1] (default 0.01).
        group_size: -1 (whole tensor) or a positive group length (default 128).
        symmetric: symmetric quantization (default False).
        activation_order: quantize columns by decreasing activation (default False).
        quantization_layer_structure: Keras's description of the blocks to quantize.

    Example:
        >>> GPTQConfig(None, None, weight_bits=4, group_size=64).dtype_policy_string()
        'gptq/4/64'
    """

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, per_channel=True,
                 sequence_length=512, hessian_damping=0.01, group_size=128, symmetric=False,
                 activation_order=False, quantization_layer_structure=None):
        super().__init__()
        if weight_bits not in (2, 3, 4, 8):
            raise ValueError(f"Unsupported weight_bits {weight_bits}. Supported values are "
                             "2, 3, 4, and 8.")
        _check_calibration(num_samples, sequence_length)
        if hessian_damping < 0 or hessian_damping > 1:
            raise ValueError("hessian_damping must be between 0 and 1.")
        _check_group_size(group_size, "whole-tensor")
        self.dataset, self.tokenizer = dataset, tokenizer
        self.num_samples, self.per_channel = num_samples, per_channel
        self.sequence_length, self.hessian_damping = sequence_length, hessian_damping
        self.weight_bits, self.group_size = weight_bits, group_size
        self.symmetric, self.activation_order = symmetric, activation_order
        self.quantization_layer_structure = quantization_layer_structure

    def get_config(self):
        # The calibration data is used once and not saved, as Keras.
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "per_channel": self.per_channel,
                "sequence_length": self.sequence_length,
                "hessian_damping": self.hessian_damping, "group_size": self.group_size,
                "symmetric": self.symmetric, "activation_order": self.activation_order,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def mode(self):
        return "gptq"

    def dtype_policy_string(self):
        """The mode string of the policy GPTQ gives layers, ``"gptq/<bits>/<group>"``."""
        return f"gptq/{self.weight_bits}/{self.group_size}"


class AWQConfig(QuantizationConfig):
    """The ``"awq"`` config (activation-aware 4-bit weight quantization).

    Args:
        dataset: calibration data (not saved).
        tokenizer: tokenizer of text calibration data (not saved).
        weight_bits: 4 (the only width AWQ supports).
        num_samples: calibration samples (default 128).
        sequence_length: tokens per sample (default 512).
        group_size: -1 (per channel) or a positive group length (default 128).
        num_grid_points: points of the scale search grid (default 20).
        quantization_layer_structure: Keras's description of the blocks to quantize.

    Example:
        >>> AWQConfig(None, None).dtype_policy_string()
        'awq/4/128'
    """

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128,
                 sequence_length=512, group_size=128, num_grid_points=20,
                 quantization_layer_structure=None):
        super().__init__()
        if weight_bits != 4:
            raise ValueError("AWQ only supports 4-bit quantization. Received "
                             f"weight_bits={weight_bits}.")
        _check_calibration(num_samples, sequence_length)
        _check_group_size(group_size, "per-channel")
        if num_grid_points <= 0:
            raise ValueError("num_grid_points must be a positive integer.")
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples = weight_bits, num_samples
        self.sequence_length, self.group_size = sequence_length, group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self):
        return "awq"

    def dtype_policy_string(self):
        """The mode string of the policy AWQ gives layers, ``"awq/4/<group>"``."""
        return f"awq/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "sequence_length": self.sequence_length,
                "group_size": self.group_size, "num_grid_points": self.num_grid_points,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def validate_and_resolve_config(mode, config):
    """The config ``quantize(mode, config)`` runs with, as Keras resolves it: a string
    ``config`` is a mode; no config gives the mode's default; the two must agree.

    Args:
        mode: a quantization mode or ``None``.
        config: a ``QuantizationConfig``, a mode string, or ``None``.

    Returns:
        The ``QuantizationConfig``.
    """
    if isinstance(config, str):
        mode, config = config, None
    _check_mode(mode)
    if config is None:
        defaults = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig,
                    "float8": Float8QuantizationConfig}
        if mode in defaults:
            config = defaults[mode]()
        elif mode == "gptq":
            raise ValueError("For GPTQ, you must pass a `GPTQConfig` object in the `config` "
                             "argument.")
        elif mode == "awq":
            raise ValueError("For AWQ, you must pass an `AWQConfig` object in the `config` "
                             "argument.")
        else:
            raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    elif not isinstance(config, QuantizationConfig):
        raise ValueError("Argument `config` must be an instance of `QuantizationConfig`. "
                         f"Received: config={config} (of type {type(config)})")
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but "
                         f"config.mode='{config.mode}'")
    _check_mode(config.mode)
    if config.mode == "gptq" and not isinstance(config, GPTQConfig):
        raise ValueError("Mode 'gptq' requires a valid `config` argument of type "
                         f"`GPTQConfig`. Received: {type(config)}")
    if config.mode == "awq" and not isinstance(config, AWQConfig):
        raise ValueError("Mode 'awq' requires a valid `config` argument of type `AWQConfig`. "
                         f"Received: {type(config)}")
    return config


def _check_mode(mode):
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                         f"Received: mode={mode}")
