"""Convolution layers: ``Conv1D``, ``Conv2D``, ``Conv1DTranspose``, ``Conv2DTranspose``,
``DepthwiseConv1D``, ``DepthwiseConv2D``, ``SeparableConv1D``, ``SeparableConv2D``.

Tensors are NHWC (``channels_last``, Keras's default). ``data_format="channels_first"`` is
accepted and transposed to NHWC and back around the kernel; channels_last is the fast path.
Kernels use Keras's layouts, so weights move between Keras and nnfast with ``set_weights``.
The convolution, bias and activation run as one fused kernel call.
"""
import numpy as np

from nnfast import activations, constraints, initializers, ops, regularizers
from nnfast.layers import quantization
from nnfast.layers.core import _serialize
from nnfast.layers.layer import Layer
from nnfast.ops.conv import (_check_padding, _standardize_data_format, conv_bias_activation,
                             conv_transpose_bias_activation, kernel_activation, normalize_tuple,
                             output_size, transpose_output_size)
from nnfast.ops.quantized_conv import int8_conv, quantize_conv_kernel
from nnfast.ops.quantized_depthwise import int8_depthwise_conv, quantize_depthwise_kernel


def _positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"Invalid value for argument `{name}`. Expected a strictly positive "
                         f"value. Received {name}={value}.")
    return value


class BaseConv(Layer):
    """Shared argument handling of the N-D convolution layers (N = 1 or 2)."""

    rank = 2
    _causal_ok = True  # Keras accepts padding="causal" on Conv1D only

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        r = self.rank
        self.filters = None if filters is None else _positive_int(filters, "filters")
        self.groups = _positive_int(groups, "groups")
        self.kernel_size = normalize_tuple(kernel_size, r, "kernel_size")
        self.strides = normalize_tuple(strides, r, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, r, "dilation_rate")
        self.padding = _check_padding(padding, allow_causal=r == 1 and self._causal_ok)
        self.data_format = _standardize_data_format(data_format)
        if min(self.kernel_size) <= 0 or min(self.strides) <= 0 or min(self.dilation_rate) <= 0:
            raise ValueError(
                "kernel_size, strides and dilation_rate must be positive. Received: "
                f"kernel_size={kernel_size}, strides={strides}, dilation_rate={dilation_rate}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`."
                             f" Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        if self.filters is not None and self.filters % self.groups:
            raise ValueError("The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={groups}, filters={filters}.")
        self.activation = activations.get(activation)
        # the activation the conv kernel applies in its output pass (None: applied after)
        self._kernel_activation = kernel_activation(self.activation)
        if self._kernel_activation == "softmax" and self.data_format == "channels_first":
            self._kernel_activation = None  # Keras applies it over the last (width) axis there
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _in_channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim={self.rank + 2}, found ndim={len(input_shape)}. "
                             f"Full shape received: {tuple(input_shape)}")
        c = input_shape[self._channel_axis()]
        if c is None:
            raise ValueError(f"The channel dimension of the inputs to '{self.name}' must be "
                             f"defined. Received input_shape={tuple(input_shape)}")
        return c

    def _add_bias(self, units):
        if not self.use_bias:
            return None
        return self.add_weight(shape=(units,), initializer=self.bias_initializer,
                               regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint, name="bias")

    def _apply(self, out):
        return out if self._kernel_activation is not None else self.activation(out)

    def _spatial(self, input_shape):
        return (tuple(input_shape[2:]) if self.data_format == "channels_first"
                else tuple(input_shape[1:-1]))

    def _output_shape(self, input_shape, spatial_out, channels):
        if self.data_format == "channels_first":
            return (input_shape[0], channels) + tuple(spatial_out)
        return (input_shape[0],) + tuple(spatial_out) + (channels,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
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
        return config


class BaseConvND(BaseConv):
    def build(self, input_shape):
        in_c = self._in_channels(input_shape)
        if in_c % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {in_c} channels (full input shape is {tuple(input_shape)}).")
        kernel_shape = self.kernel_size + (in_c // self.groups, self.filters)
        if self.dtype_policy.quantization_mode == "int8":  # loading a quantized model
            quantization.add_int8_variables(self, kernel_shape)
        else:
            self.kernel = self.add_weight(
                shape=kernel_shape, initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                name="kernel")
        self.bias = self._add_bias(self.filters)
        self.built = True

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes a ``Conv1D``/``Conv2D`` in place (nnfast beyond Keras, which quantizes
        Dense, EinsumDense and Embedding only): ``"int8"`` turns the kernel into int8 values
        with one float32 scale per output channel (``kernel_scale``; saved as a quantized
        Dense, ``[kernel (int8), bias, kernel_scale]``); each output pixel's input window is
        quantized per row when the layer runs (``nnfast.ops.quantized_conv``). Grouped
        convolutions raise ``NotImplementedError``.

        Args:
            mode: ``"int8"``.
            type_check: only ``Conv1D``/``Conv2D`` themselves (not subclasses).
            config: ``Int8QuantizationConfig()`` (Keras's default quantizers) or None.

        Example:
            >>> layer = Conv2D(8, 3)
            >>> _ = layer(np.ones((1, 6, 6, 3), "float32"))
            >>> layer.quantize("int8")
            >>> layer.kernel.dtype, layer.kernel_scale.shape
            ('int8', (8,))
        """
        if (type_check and type(self) not in (Conv1D, Conv2D)) or self.groups != 1:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a "
                                      "`quantize` method implemented"
                                      + (" for groups > 1." if self.groups != 1 else "."))
        # (Keras does not quantize convolutions: other modes skip them with a warning)
        quantization.resolve_config(mode, config, type(self).__name__, keras_quantizes=False)
        quantization.check_quantizable(self)
        float_kernel = self.kernel
        q, scale = quantize_conv_kernel(np.asarray(float_kernel.value))
        quantization.drop_variable(self, float_kernel)
        object.__setattr__(self, "kernel", None)
        quantization.add_int8_variables(self, float_kernel.shape)
        self.kernel.assign(q)
        self.kernel_scale.assign(scale)
        quantization.packed_kernel(self.kernel)  # packed now, not on the first call
        quantization.set_int8_policy(self)

    def _saved_variables(self):
        if self.dtype_policy.quantization_mode == "int8":
            return quantization.saved_variables(self)
        return None

    def _int8_call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = ops.moveaxis(x, 1, -1)
        out = int8_conv(x, self.kernel.value, self.kernel_scale.value, self.strides,
                        self.padding, self.dilation_rate,
                        packed=quantization.packed_kernel(self.kernel))
        if self.bias is not None:
            out = ops.add(out, self.bias)
        if self.data_format == "channels_first":
            out = ops.moveaxis(out, -1, 1)
        return self.activation(out)

    def call(self, inputs):
        if self.dtype_policy.quantization_mode == "int8":
            return self._int8_call(inputs)
        out = conv_bias_activation(inputs, self.kernel, self.bias, self.strides, self.padding,
                                   self.dilation_rate, activation=self._kernel_activation,
                                   data_format=self.data_format)
        return self._apply(out)

    def compute_output_shape(self, input_shape):
        spatial = [output_size(n, k, s, d, self.padding) for n, k, s, d in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate)]
        return self._output_shape(input_shape, spatial, self.filters)


class Conv2D(BaseConvND):
    """2-D convolution: ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw), default 1.
        padding: ``"valid"`` (no padding) or ``"same"`` (output ``ceil(n / stride)``, TF-style
            split with the odd pixel at the bottom/right).
        data_format: ``"channels_last"`` (default, the fast path) or ``"channels_first"``.
        dilation_rate: int or pair: the spacing of the kernel's taps (1: contiguous).
        groups: split the input channels into this many independent groups (``filters``
            and the input channels must divide by it).
        activation: applied to the result (name, function or None for linear).
        use_bias: add a learned bias per output channel.
        kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``.
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint applied to the kernel after each update, or None.
        bias_constraint: constraint applied to the bias after each update, or None.

    Kernel ``(kh, kw, in/groups, filters)``; input ``(batch, h, w, in)``; output
    ``(batch, oh, ow, filters)``.

    Example:
        >>> layer = Conv2D(32, (3, 3), activation="relu")
        >>> layer(np.zeros((1, 28, 28, 1), "float32")).shape
        (1, 26, 26, 32)
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class Conv1D(BaseConvND):
    """1-D convolution over ``(batch, steps, channels)``; kernel ``(k, in/groups, filters)``.

    ``padding="causal"`` pads ``dilation_rate * (k - 1)`` on the left only, so output t never
    sees inputs after t (for temporal models such as WaveNet).

    Args:
        filters: number of output channels.
        kernel_size: int or 1-tuple: the window's extent along each spatial axis.
        strides: int or 1-tuple: the step between windows (default 1).
        padding: ``"valid"`` (no padding), ``"same"`` (output length ``ceil(n / stride)``) or
            ``"causal"`` (left padding only).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or 1-tuple: the spacing of the kernel's taps (1: contiguous).
        groups: split the input channels into this many independent groups (both the input
            channels and ``filters`` must be divisible by it).
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        kernel_initializer: initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: function applied to the kernel after each optimizer update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Input shape ``(batch, steps, channels)`` (channels_last); output
    ``(batch, new_steps, filters)``.

    Example:
        >>> Conv1D(8, 3, padding="causal")(np.zeros((2, 10, 4), "float32")).shape
        (2, 10, 8)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class _ConvTransposeBase(BaseConv):
    """Shared body of Conv1DTranspose / Conv2DTranspose (kernel
    ``(*kernel_size, filters, in)``)."""

    _causal_ok = False

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        self.output_padding = (None if output_padding is None else
                               normalize_tuple(output_padding, self.rank, "output_padding"))
        if self.output_padding is not None:
            for op, s in zip(self.output_padding, self.strides):
                if op >= s:
                    raise ValueError(f"Strides {self.strides} must be greater than output "
                                     f"padding {self.output_padding}.")

    def build(self, input_shape):
        in_c = self._in_channels(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, in_c), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.bias = self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        out = conv_transpose_bias_activation(inputs, self.kernel, self.bias, self.strides,
                                             self.padding, self.output_padding, self.dilation_rate,
                                             activation=self._kernel_activation,
                                             data_format=self.data_format)
        return self._apply(out)

    def compute_output_shape(self, input_shape):
        ops_pad = self.output_padding or (None,) * self.rank
        spatial = [transpose_output_size(n, k, s, d, self.padding, op) for n, k, s, d, op in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate,
            ops_pad)]
        return self._output_shape(input_shape, spatial, self.filters)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config["output_padding"] = self.output_padding
        return config


class Conv2DTranspose(_ConvTransposeBase):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its input).

    Kernel ``(kh, kw, filters, in)`` (Keras's layout). Output size per axis, with
    ``k_eff = (k - 1) * dilation + 1``: 'valid' gives ``(n - 1) * s + max(k_eff, s)`` and
    'same' ``n * s``; with ``output_padding`` op: ``(n - 1) * s + k_eff + op`` ('valid') or
    ``(n - 1) * s + k_eff % 2 + op`` ('same').

    Args:
        filters: number of output channels.
        kernel_size: int or pair: the window's extent along each spatial axis.
        strides: int or pair: the step between windows (default 1).
        padding: ``"valid"`` or ``"same"`` (see the output size above).
        output_padding: None or int or pair: extra rows added on one side of the output, each
            smaller than its stride.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or pair: the spacing of the kernel's taps (1: contiguous).
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        kernel_initializer: initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: function applied to the kernel after each optimizer update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Input ``(batch, h, w, in)``; output ``(batch, new_h, new_w, filters)`` (channels_last).

    Example:
        >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.zeros((1, 5, 5, 2), "float32")).shape
        (1, 10, 10, 4)
    """

    rank = 2


class Conv1DTranspose(_ConvTransposeBase):
    """Transposed 1-D convolution over ``(batch, steps, channels)``: the gradient of
    ``Conv1D`` with respect to its input. Kernel ``(k, filters, in)`` (Keras's layout); output
    length as ``Conv2DTranspose`` per axis. Runs the 2-D kernel on a height-1 image.

    Args:
        filters: number of output channels.
        kernel_size: int or 1-tuple: the window's extent along each spatial axis.
        strides: int or 1-tuple: the step between windows (default 1).
        padding: ``"valid"`` or ``"same"`` (see the output size above).
        output_padding: None or int or 1-tuple: extra rows added on one side of the output, each
            smaller than its stride.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or 1-tuple: the spacing of the kernel's taps (1: contiguous).
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        kernel_initializer: initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: function applied to the kernel after each optimizer update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Example:
        >>> Conv1DTranspose(4, 3, strides=2, padding="same")(np.zeros((1, 5, 2), "float32")).shape
        (1, 10, 4)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class _DepthwiseConvBase(BaseConv):
    """Shared body of DepthwiseConv1D / DepthwiseConv2D (kernel
    ``(*kernel_size, in, depth_multiplier)``)."""

    _causal_ok = False

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")

    def build(self, input_shape):
        in_c = self._in_channels(input_shape)
        kernel_shape = self.kernel_size + (in_c, self.depth_multiplier)
        if self.dtype_policy.quantization_mode == "int8":  # loading a quantized model
            quantization.add_int8_variables(self, kernel_shape, in_c * self.depth_multiplier)
        else:
            self.kernel = self.add_weight(
                shape=kernel_shape, initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                name="kernel")
        self.bias = self._add_bias(in_c * self.depth_multiplier)
        self.built = True

    def _saved_variables(self):
        if self.dtype_policy.quantization_mode == "int8":
            return quantization.saved_variables(self)
        return None

    def _int8_call(self, inputs):
        if self.rank != 2:  # (quantize exists for DepthwiseConv2D only)
            raise NotImplementedError(f"{type(self).__name__}: no int8 computation.")
        x = inputs
        if self.data_format == "channels_first":
            x = ops.moveaxis(x, 1, -1)
        out = int8_depthwise_conv(x, self.kernel.value, self.kernel_scale.value, self.strides,
                                  self.padding, self.dilation_rate)
        if self.bias is not None:
            out = ops.add(out, self.bias)
        if self.data_format == "channels_first":
            out = ops.moveaxis(out, -1, 1)
        return self.activation(out)

    def call(self, inputs):
        if self.dtype_policy.quantization_mode == "int8":
            return self._int8_call(inputs)
        out = conv_bias_activation(inputs, self.kernel, self.bias, self.strides, self.padding,
                                   self.dilation_rate, activation=self._kernel_activation,
                                   data_format=self.data_format, depthwise=True)
        return self._apply(out)

    def compute_output_shape(self, input_shape):
        spatial = [output_size(n, k, s, d, self.padding) for n, k, s, d in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate)]
        c = input_shape[self._channel_axis()]
        return self._output_shape(input_shape, spatial,
                                  None if c is None else c * self.depth_multiplier)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            config.pop(key)
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        config["depthwise_constraint"] = config.pop("kernel_constraint")
        return config


class DepthwiseConv2D(_DepthwiseConvBase):
    """Depthwise 2-D convolution: each input channel convolved with its own
    ``depth_multiplier`` filters (MobileNet's building block).

    Kernel ``(kh, kw, in, depth_multiplier)``; output channels ``in * depth_multiplier``
    (channel ``c * depth_multiplier + m`` comes from input channel ``c``). Runs a direct
    vectorised kernel, not a GEMM.

    Args:
        kernel_size: int or pair: the window's extent along each spatial axis.
        strides: int or pair: the step between windows (default 1).
        padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(n / stride)``).
        depth_multiplier: how many output channels each input channel gets from the depthwise
            step.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or pair: the spacing of the kernel's taps (1: contiguous).
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        depthwise_initializer: initializer of the depthwise kernel (default
            ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        depthwise_regularizer: penalty on the depthwise kernel added to the model's losses, or
            None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        depthwise_constraint: function applied to the depthwise kernel after each optimizer
            update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Input ``(batch, h, w, in)``; output ``(batch, new_h, new_w, in * depth_multiplier)``.

    Example:
        >>> DepthwiseConv2D(3, padding="same")(np.zeros((1, 8, 8, 16), "float32")).shape
        (1, 8, 8, 16)
    """

    rank = 2

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the layer in place (nnfast beyond Keras, which does not quantize
        convolutions): ``"int8"`` turns the kernel into int8 values with one float32 scale
        per output channel (``kernel_scale``, ``in * depth_multiplier`` entries; saved as a
        quantized Dense, ``[kernel (int8), bias, kernel_scale]``); each sample's input is
        quantized with one abs-max scale when the layer runs
        (``nnfast.ops.quantized_depthwise``).

        Args:
            mode: ``"int8"``.
            type_check: only ``DepthwiseConv2D`` itself (not subclasses).
            config: ``Int8QuantizationConfig()`` (Keras's default quantizers) or None.

        Example:
            >>> layer = DepthwiseConv2D(3, depth_multiplier=2)
            >>> _ = layer(np.ones((1, 6, 6, 3), "float32"))
            >>> layer.quantize("int8")
            >>> str(layer.kernel.dtype), layer.kernel_scale.shape
            ('int8', (6,))
        """
        if type_check and type(self) is not DepthwiseConv2D:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a "
                                      "`quantize` method implemented.")
        quantization.resolve_config(mode, config, type(self).__name__, keras_quantizes=False)
        quantization.check_quantizable(self)
        float_kernel = self.kernel
        q, scale = quantize_depthwise_kernel(np.asarray(float_kernel.value))
        quantization.drop_variable(self, float_kernel)
        object.__setattr__(self, "kernel", None)
        quantization.add_int8_variables(self, float_kernel.shape, scale.shape[0])
        self.kernel.assign(q)
        self.kernel_scale.assign(scale)
        quantization.set_int8_policy(self)



class DepthwiseConv1D(_DepthwiseConvBase):
    """Depthwise 1-D convolution over ``(batch, steps, channels)``: each input channel
    convolved with its own ``depth_multiplier`` filters. Kernel ``(k, in, depth_multiplier)``
    (Keras's layout); output channel ``c * depth_multiplier + m`` comes from input channel
    ``c``. Runs the 2-D depthwise kernel on a height-1 image.

    Args:
        kernel_size: int or 1-tuple: the window's extent along each spatial axis.
        strides: int or 1-tuple: the step between windows (default 1).
        padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(n / stride)``).
        depth_multiplier: how many output channels each input channel gets from the depthwise
            step.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or 1-tuple: the spacing of the kernel's taps (1: contiguous).
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        depthwise_initializer: initializer of the depthwise kernel (default
            ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        depthwise_regularizer: penalty on the depthwise kernel added to the model's losses, or
            None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        depthwise_constraint: function applied to the depthwise kernel after each optimizer
            update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Example:
        >>> DepthwiseConv1D(3, depth_multiplier=2)(np.zeros((1, 8, 4), "float32")).shape
        (1, 6, 8)
    """

    rank = 1

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class _SeparableConvBase(BaseConv):
    """Shared body of SeparableConv1D / SeparableConv2D."""

    _causal_ok = False

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        in_c = self._in_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (in_c, self.depth_multiplier),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (in_c * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self.bias = self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        mid = conv_bias_activation(inputs, self.depthwise_kernel, None, self.strides,
                                   self.padding, self.dilation_rate,
                                   data_format=self.data_format, depthwise=True)
        out = conv_bias_activation(mid, self.pointwise_kernel, self.bias, 1, "valid", 1,
                                   activation=self._kernel_activation,
                                   data_format=self.data_format)
        return self._apply(out)

    def compute_output_shape(self, input_shape):
        spatial = [output_size(n, k, s, d, self.padding) for n, k, s, d in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate)]
        return self._output_shape(input_shape, spatial, self.filters)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        config["depthwise_constraint"] = config.pop("kernel_constraint")
        config["pointwise_initializer"] = initializers.serialize(self.pointwise_initializer)
        config["pointwise_regularizer"] = _serialize(self.pointwise_regularizer)
        config["pointwise_constraint"] = _serialize(self.pointwise_constraint)
        return config


class SeparableConv2D(_SeparableConvBase):
    """Depthwise separable 2-D convolution: a depthwise convolution (kernel
    ``(kh, kw, in, depth_multiplier)``) then a 1x1 pointwise one (kernel
    ``(1, 1, in * depth_multiplier, filters)``), then bias and activation.

    Args:
        filters: number of output channels.
        kernel_size: int or pair: the window's extent along each spatial axis.
        strides: int or pair: the step between windows (default 1).
        padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(n / stride)``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or pair: the spacing of the kernel's taps (1: contiguous).
        depth_multiplier: how many output channels each input channel gets from the depthwise
            step.
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        depthwise_initializer: initializer of the depthwise kernel (default
            ``"glorot_uniform"``).
        pointwise_initializer: initializer of the 1x1 kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        depthwise_regularizer: penalty on the depthwise kernel added to the model's losses, or
            None.
        pointwise_regularizer: penalty on the 1x1 kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        depthwise_constraint: function applied to the depthwise kernel after each optimizer
            update, or None.
        pointwise_constraint: function applied to the 1x1 kernel after each update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Input ``(batch, h, w, in)``; output ``(batch, new_h, new_w, filters)``.

    Example:
        >>> SeparableConv2D(8, 3)(np.zeros((1, 9, 9, 4), "float32")).shape
        (1, 7, 7, 8)
    """

    rank = 2


class SeparableConv1D(_SeparableConvBase):
    """Depthwise separable 1-D convolution: a depthwise convolution (kernel
    ``(k, in, depth_multiplier)``) then a pointwise one (kernel
    ``(1, in * depth_multiplier, filters)``), then bias and activation, as in Keras.

    Args:
        filters: number of output channels.
        kernel_size: int or 1-tuple: the window's extent along each spatial axis.
        strides: int or 1-tuple: the step between windows (default 1).
        padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(n / stride)``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or 1-tuple: the spacing of the kernel's taps (1: contiguous).
        depth_multiplier: how many output channels each input channel gets from the depthwise
            step.
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        depthwise_initializer: initializer of the depthwise kernel (default
            ``"glorot_uniform"``).
        pointwise_initializer: initializer of the 1x1 kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        depthwise_regularizer: penalty on the depthwise kernel added to the model's losses, or
            None.
        pointwise_regularizer: penalty on the 1x1 kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        depthwise_constraint: function applied to the depthwise kernel after each optimizer
            update, or None.
        pointwise_constraint: function applied to the 1x1 kernel after each update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Example:
        >>> SeparableConv1D(8, 3)(np.zeros((1, 9, 4), "float32")).shape
        (1, 7, 8)
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         pointwise_initializer, bias_initializer, depthwise_regularizer,
                         pointwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, pointwise_constraint, bias_constraint, **kwargs)


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution2D = SeparableConv2D
Convolution1DTranspose = Conv1DTranspose
SeparableConvolution1D = SeparableConv1D
