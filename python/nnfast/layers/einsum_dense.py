"""``EinsumDense``: a dense layer whose contraction is an einsum equation (Keras 3).

The equation ``"<input>,<kernel>-><output>"`` (``...`` allowed on the left of input and
output, or on the right of both) names the axes; the kernel's shape follows from the input's
and from ``output_shape`` (the output's shape without the batch axis, ``None`` where it comes
from the input), the bias covers the output axes named in ``bias_axes``, broadcast over the
others, exactly as Keras's ``_analyze_einsum_string``.
"""
import re

import numpy as np

from nnfast import activations, constraints, initializers, ops, regularizers
from nnfast.layers import quantization
from nnfast.layers.core import _serialize
from nnfast.layers.layer import Layer
from nnfast.ops.quantized_einsum import (einsum_specs, int8_einsum, kernel_scale_shape,
                                         quantize_kernel)


def analyze_einsum_string(equation, bias_axes, input_shape, output_shape):
    """``(kernel_shape, bias_shape, full_output_shape, input_axes, output_axes)`` of an
    ``EinsumDense`` equation for ``input_shape`` and a partial ``output_shape``."""
    eq = re.sub(r"\.\.\.", "0", equation)
    for pattern, left in (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
                          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False)):
        m = re.fullmatch(pattern, eq)
        if m:
            return _analyze_split(m.group(1), m.group(2), m.group(3), bias_axes,
                                  list(input_shape), output_shape, left)
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def _analyze_split(input_spec, weight_spec, output_spec, bias_axes, input_shape, output_shape,
                   left_elided):
    elided = len(input_shape) - len(input_spec)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):  # the batch axis is already there
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        in_map = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        out_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        in_map = {d: i for i, d in enumerate(input_spec)}
        out_map = {d: i for i, d in enumerate(output_spec)}
    for d in input_spec:
        if d in out_map:
            have, want = input_shape[in_map[d]], out[out_map[d]]
            if want is not None and want != have:
                raise ValueError(f"Input shape and output shape do not match at shared "
                                 f"dimension '{d}'. Input shape is {have}, and output shape "
                                 f"is {want}.")
    for d in output_spec:
        if d not in input_spec and d not in weight_spec:
            raise ValueError(f"Dimension '{d}' was specified in the output '{output_spec}' but "
                             f"has no corresponding dim in the input spec '{input_spec}' or "
                             f"weight spec '{weight_spec}'")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, d in enumerate(weight_spec):
        if d in out_map:
            kernel_shape.append(out[out_map[d]])
            output_axes.append(i)
        elif d in in_map:
            kernel_shape.append(input_shape[in_map[d]])
            input_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{d}' did not have a match in either the input "
                             f"spec '{input_spec}' or the output spec '{output_spec}'. For this "
                             "layer, the weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        shift = elided if left_elided else 0
        sizes = {c: out[i + shift] for i, c in enumerate(output_spec)}
        for c in bias_axes:
            if c not in output_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the "
                                 f"output spec '{output_spec}'")
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * elided
    return kernel_shape, bias_shape, out, input_axes, output_axes


def _fan_initializer(initializer, kernel_shape, input_axes, output_axes):
    """Samples ``initializer`` as a (fan_in, fan_out) matrix and lays it out on the kernel's
    axes, so fan-based initializers see Keras's fans (its ``input_axes``/``output_axes``)."""

    def init(shape, dtype="float32"):
        in_dims = [kernel_shape[a] for a in input_axes]
        out_dims = [kernel_shape[a] for a in output_axes]
        if not in_dims or not out_dims or len(in_dims) + len(out_dims) != len(kernel_shape):
            return initializer(tuple(kernel_shape), dtype=dtype)
        flat = np.asarray(initializer((int(np.prod(in_dims)), int(np.prod(out_dims))),
                                      dtype=dtype))
        grouped = flat.reshape(in_dims + out_dims)
        order = list(input_axes) + list(output_axes)
        return np.ascontiguousarray(np.transpose(grouped, np.argsort(order)))

    return init


class EinsumDense(Layer):
    """A dense layer of any rank: ``activation(einsum(equation, inputs, kernel) + bias)``.

    Args:
        equation: ``"ab,bc->ac"``-style string naming the input, kernel and output axes
            (``...`` for axes passed through).
        output_shape: the output's shape without the batch axis (int or tuple; ``None`` for
            axes taken from the input).
        activation: applied to the result (default linear).
        bias_axes: string of output labels the bias varies over, or None for no bias.
        kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``.
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        kernel_constraint: constraint applied to the kernel after each update, or None.
        bias_constraint: constraint applied to the bias after each update, or None.
        lora_rank: Keras's LoRA rank; only None (no LoRA) is supported.
        lora_alpha: Keras's LoRA scale; used only with ``lora_rank``.
        gptq_unpacked_column_size: Keras's GPTQ option; only its default is supported.
        quantization_config: Keras's quantization options; only None is supported.

    Example:
        >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
        >>> layer(np.zeros((2, 32, 128), "float32")).shape
        (2, 32, 64)
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None, **kwargs):
        if quantization.is_default_int8_config(quantization_config):
            quantization_config = None  # what Keras writes for quantize("int8"): nnfast's scheme
        if lora_rank or gptq_unpacked_column_size or quantization_config:
            raise NotImplementedError(
                "EinsumDense: LoRA and quantization (lora_rank, gptq_unpacked_column_size, "
                "quantization_config) are not implemented in nnfast. Received: "
                f"lora_rank={lora_rank}, gptq_unpacked_column_size={gptq_unpacked_column_size}"
                f", quantization_config={quantization_config}")
        super().__init__(**kwargs)
        if not isinstance(equation, str) or "->" not in equation:
            raise ValueError(f"`equation` must be an einsum string such as 'ab,bc->ac'. "
                             f"Received: equation={equation!r}")
        self.equation = equation
        self.partial_output_shape = ((output_shape,) if isinstance(output_shape, int)
                                     else tuple(output_shape))
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha
        self.gptq_unpacked_column_size = gptq_unpacked_column_size
        self.quantization_config = quantization_config

    def build(self, input_shape):
        kernel_shape, bias_shape, full, in_axes, out_axes = analyze_einsum_string(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        self.full_output_shape = tuple(full)
        self._input_ndim = len(input_shape)
        if self.dtype_policy.quantization_mode == "int8":  # loading a quantized model
            self._add_int8_variables(tuple(kernel_shape))
        else:
            self._add_float_kernel(kernel_shape, in_axes, out_axes)
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(shape=tuple(bias_shape),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    def _add_float_kernel(self, kernel_shape, in_axes, out_axes):
        self.kernel = self.add_weight(
            shape=tuple(kernel_shape),
            initializer=_fan_initializer(self.kernel_initializer, kernel_shape, in_axes,
                                         out_axes),
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")

    def _specs(self):
        return einsum_specs(self.equation, self._input_ndim)

    def _add_int8_variables(self, kernel_shape):
        """The int8 kernel and its scales in Keras's shapes (see ops.quantized_einsum)."""
        _, w_spec, out_spec = self._specs()
        kernel = self.add_weight(shape=kernel_shape, initializer="zeros", dtype="int8",
                                 trainable=False, name="kernel")
        scale = self.add_weight(shape=kernel_scale_shape(kernel_shape, w_spec, out_spec),
                                initializer="ones", trainable=False, name="kernel_scale")
        object.__setattr__(self, "kernel", kernel)
        object.__setattr__(self, "kernel_scale", scale)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the layer in place as Keras does: ``"int8"`` turns the kernel into int8
        values with one float32 scale per output position (abs-max over the axes the
        equation contracts; ``kernel_scale`` laid out along the output's axes, as Keras
        saves it); inputs are quantized over their contracted axes when the layer runs.
        Other Keras modes raise ``NotImplementedError``.

        Args:
            mode: ``"int8"``.
            type_check: only ``EinsumDense`` itself is quantized (not subclasses), as Keras.
            config: ``Int8QuantizationConfig()`` (Keras's default quantizers) or None.

        Example:
            >>> layer = EinsumDense("abc,cd->abd", (None, 4))
            >>> _ = layer(np.ones((2, 3, 5), "float32"))
            >>> layer.quantize("int8")
            >>> layer.kernel.dtype, layer.kernel_scale.shape
            ('int8', (1, 1, 4))
        """
        if type_check and type(self) is not EinsumDense:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a "
                                      "`quantize` method implemented.")
        quantization.resolve_config(mode, config, "EinsumDense")
        quantization.check_quantizable(self)
        _, w_spec, out_spec = self._specs()
        float_kernel = self.kernel
        q, scale = quantize_kernel(np.asarray(float_kernel.value), w_spec, out_spec)
        quantization.drop_variable(self, float_kernel)
        object.__setattr__(self, "kernel", None)
        self._add_int8_variables(tuple(float_kernel.shape))
        self.kernel.assign(q)
        self.kernel_scale.assign(scale)
        quantization.set_int8_policy(self)

    def _saved_variables(self):
        if self.dtype_policy.quantization_mode == "int8":
            return quantization.saved_variables(self)  # kernel, bias, kernel_scale
        return None

    def call(self, inputs, training=None):
        if self.dtype_policy.quantization_mode == "int8":
            x = int8_einsum(inputs, self.kernel.value, self.kernel_scale.value, self._specs())
        else:
            x = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        """Keras's full output shape, with axes left ``None`` in ``output_shape`` that the
        output shares with the input taken from the input (what the call produces)."""
        full = list(analyze_einsum_string(self.equation, self.bias_axes, input_shape,
                                          self.partial_output_shape)[2])
        in_spec, _, out_spec = re.sub(r"\.\.\.", "0", self.equation).replace("->", ",").split(",")
        if "0" not in in_spec and len(in_spec) == len(input_shape):
            for i, label in enumerate(out_spec):
                if full[i] is None and label in in_spec:
                    full[i] = input_shape[in_spec.index(label)]
        return tuple(full)

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _serialize(self.kernel_regularizer),
            "bias_regularizer": _serialize(self.bias_regularizer),
            "activity_regularizer": _serialize(self.activity_regularizer),
            "kernel_constraint": _serialize(self.kernel_constraint),
            "bias_constraint": _serialize(self.bias_constraint),
            "quantization_config": None,
        })
        return config
