"""Core layers: ``Dense``, ``Activation``, ``Identity``."""
from nnfast import activations, constraints, initializers, ops, quantizers, regularizers
from nnfast.layers import quantization, quantization_int4
from nnfast.layers.layer import Layer
from nnfast.ops.quantized import int8_matmul
from nnfast.quantizers_config import Int4QuantizationConfig


class Dense(Layer):
    """Densely connected layer: ``activation(inputs @ kernel + bias)``.

    Applies to the last axis of N-D inputs. The kernel has shape ``(in, units)`` (Keras's
    layout), the bias ``(units,)``. The matmul, bias and activation run as one fused GEMM.

    Args:
        units: output size.
        activation: name or callable (None: linear).
        use_bias: add a bias vector.
        kernel_initializer: initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        kernel_regularizer: penalty on the kernel added to the loss, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint applied to the kernel after each update, or None.
        bias_constraint: constraint applied to the bias after each update, or None.
        lora_rank: Keras's LoRA rank; accepted but not applied (nnfast has no LoRA yet).
        lora_alpha: not implemented in nnfast (LoRA): must stay None, else ``NotImplementedError``.
        quantization_config: the ``Int4QuantizationConfig`` of a layer quantized with
            ``"int4"`` (as Keras writes it in saved configs); Keras's default int8 config is
            accepted; others raise ``NotImplementedError`` (use ``layer.quantize(...)``
            after building).

    Input shape ``(batch, ..., in)``; output shape ``(batch, ..., units)``.

    Example:
        >>> layer = Dense(128, activation="relu")
    """

    _quantization_modes = ("int8", "int4")  # the modes a Dense layer computes

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        quantization_config = _int4_config(quantization_config)
        int4 = isinstance(quantization_config, Int4QuantizationConfig)
        _reject_lora_and_quantization("Dense", lora_rank, lora_alpha,
                                      None if int4 else quantization_config)
        self.quantization_config = quantization_config if int4 else None
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.units = units
        self.activation = activations.get(activation)
        # the activation the dense kernel applies in its output pass (None: applied after)
        self._kernel_activation = activations.fused_name(self.activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"The last dimension of the input to Dense '{self.name}' must be "
                             f"known, received input_shape={input_shape}")
        if self.dtype_policy.quantization_mode == "int8":  # loading a quantized model
            quantization.add_int8_variables(self, (in_dim, self.units))
        elif self.dtype_policy.quantization_mode == "int4":
            quantization_int4.add_int4_variables(self, (in_dim, self.units),
                                                 self.quantization_config)
        else:
            self.kernel = self.add_weight(shape=(in_dim, self.units),
                                          initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer,
                                          constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    def call(self, inputs):
        mode = self.dtype_policy.quantization_mode  # read once: this runs on every step
        if mode == "int8":
            x = int8_matmul(inputs, self.kernel, self.kernel_scale,
                            packed=quantization.packed_kernel(self.kernel))
            return self.activation(x + self.bias if self.bias is not None else x)
        if mode == "int4":
            return quantization_int4.int4_dense(self, inputs)
        if self._kernel_activation is not None:
            return ops.dense(inputs, self.kernel, self.bias, self._kernel_activation)
        return self.activation(ops.dense(inputs, self.kernel, self.bias))

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the layer in place as Keras does: ``"int8"`` turns the kernel into int8
        values with one float32 scale per unit (``kernel_scale``); inputs are quantized per
        row when the layer runs (see ``nnfast.ops.quantized``). ``"int4"`` packs int4 values
        two per byte with per-unit or per-block scales (see
        ``nnfast.layers.quantization_int4``). ``"float8"``, ``"gptq"`` and ``"awq"`` raise
        ``NotImplementedError``.

        Args:
            mode: ``"int8"`` or ``"int4"`` (or None with a ``config``).
            type_check: only ``Dense`` itself is quantized (not subclasses), as Keras.
            config: an ``Int8QuantizationConfig`` (Keras's default quantizers only) or an
                ``Int4QuantizationConfig`` (``block_size``; per-channel weight quantizer and
                activation quantizer ``None`` or ``AbsMaxQuantizer()``).

        Example:
            >>> layer = Dense(4)
            >>> layer.build((None, 8))
            >>> layer.quantize("int4", config=nnfast.quantizers.Int4QuantizationConfig(block_size=4))
        """
        if type_check and type(self) is not Dense:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a "
                                      "`quantize` method implemented.")
        config = quantization.resolve_config(mode, config, "Dense", modes=("int8", "int4"))
        if config.mode == "int4":
            quantization_int4.quantize_dense_int4(self, config)
        else:
            quantization.quantize_dense_int8(self)

    def _saved_variables(self):
        if self.dtype_policy.quantization_mode == "int8":
            return quantization.saved_variables(self)
        if self.dtype_policy.quantization_mode == "int4":
            return quantization_int4.int4_saved_variables(self)
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _serialize(self.kernel_regularizer),
            "bias_regularizer": _serialize(self.bias_regularizer),
            "activity_regularizer": _serialize(self.activity_regularizer),
            "kernel_constraint": _serialize(self.kernel_constraint),
            "bias_constraint": _serialize(self.bias_constraint),
        })
        if self.quantization_config is not None:  # Keras reads int4 options from here

            config["quantization_config"] = quantizers.serialize(self.quantization_config)
        return config


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``.

    Args:
        activation: a name (``"relu"``, ``"softmax"``, ...) or a callable.

    Input of any shape; the output has the same shape.

    Example:
        >>> Activation("relu")(np.array([[-1.0, 2.0]], "float32")).numpy()
        array([[0., 2.]], dtype=float32)
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


def _serialize(obj):
    if obj is None:
        return None
    return {"module": "keras." + type(obj).__module__.split(".")[-1],
            "class_name": type(obj).__name__, "config": obj.get_config(), "registered_name": None}


class Identity(Layer):
    """Returns its inputs unchanged (a placeholder where no operation is wanted).

    Example:
        >>> Identity()(np.ones((2, 3), "float32")).shape
        (2, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def _int4_config(config):
    """An ``Int4QuantizationConfig`` from a saved dict or instance, else ``config``
    unchanged."""
    if isinstance(config, dict) and config.get("class_name") == "Int4QuantizationConfig":
        config = quantizers.deserialize(config)
    return config


def _reject_lora_and_quantization(layer, lora_rank, lora_alpha, quantization_config):
    """LoRA and quantization are not implemented: a set value raises instead of being
    silently ignored (None/0 are Keras's "off" values)."""
    if quantization.is_default_int8_config(quantization_config):
        quantization_config = None  # what Keras writes for model.quantize("int8"): nnfast's scheme
    if lora_rank or lora_alpha or quantization_config:
        raise NotImplementedError(
            f"{layer}: LoRA and quantization (lora_rank, lora_alpha, quantization_config) are "
            f"not implemented in nnfast. Received: lora_rank={lora_rank}, "
            f"lora_alpha={lora_alpha}, quantization_config={quantization_config}")
