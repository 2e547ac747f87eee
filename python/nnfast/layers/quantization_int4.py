"""``Dense.quantize("int4")`` as Keras 3.15 does it: the kernel's int4 values packed two per
byte along the output axis (``(in, ceil(units / 2))`` int8, low nibble first), with either

- one scale per output unit (``block_size`` None or -1; symmetric abs-max in [-8, 7]), the
  layer computing ``(x @ q) / scale``, weight-only unless the config gives an activation
  quantizer (then inputs are quantized per row and the int8 GEMM runs on the unpacked
  kernel, as ``"int8"`` does); or
- one scale and zero point per block of ``block_size`` input rows (asymmetric,
  ``abs_max_quantize_grouped_with_zero_point``), the layer computing
  ``x @ ((q - zero[g]) * scale[g])`` with ``g = g_idx[row]``.

Saved in Keras's order ``[kernel, bias, kernel_scale, kernel_zero, g_idx]`` (the last two
for blocks only), policy ``Int4DTypePolicy("int4/<block_size>")`` (-1 per channel).

The kernel is dequantized (or unpacked to int8) once and kept until a variable changes: the
packed bytes are the stored form, not the compute form (no int4 GEMM kernel in nnfast).
"""
import math

import numpy as np

from nnfast import dtype_policies, ops, quantizers
from nnfast.backend.tensor import Variable
from nnfast.dtype_policies import Int4DTypePolicy
from nnfast.layers.quantization import check_quantizable, drop_variable
from nnfast.ops.quantized import int8_matmul, pack_int8_kernel
from nnfast.quantizers import (
    AbsMaxQuantizer,
    Int4QuantizationConfig,
    QuantizationConfig,
    unpack_int4,
)


class QuantizedVariable(Variable):
    """A Variable that counts its in-place updates, so that values derived from it (the
    dequantized kernel) know when to be remade."""

    __slots__ = ()

    def _changed(self):
        self.__dict__["_version"] = self.__dict__.get("_version", 0) + 1

    def assign(self, value):
        self._changed()
        return super().assign(value)

    def assign_add(self, value):
        self._changed()
        return super().assign_add(value)

    def assign_sub(self, value):
        self._changed()
        return super().assign_sub(value)


def block_size_of(layer, config):
    """Keras's ``get_block_size_for_layer``: the config's block size, else the policy's
    (-1 read as None), else None (per channel)."""
    if isinstance(config, Int4QuantizationConfig):
        size = config.block_size
    elif isinstance(layer.dtype_policy, Int4DTypePolicy):
        size = layer.dtype_policy.block_size
    else:
        return None
    return None if size in (None, -1) else size


def check_activation_quantizer(layer, quantizer):
    """nnfast runs no activation quantizer but abs-max int8 per row (``AbsMaxQuantizer()``
    with default range and epsilon): others raise."""
    if quantizer is None:
        return
    if not (type(quantizer) is AbsMaxQuantizer and tuple(quantizer.value_range) == (-127, 127)
            and quantizer.output_dtype == "int8" and quantizer.axis in (None, (-1,))
            and quantizer.epsilon == 1e-7):
        raise NotImplementedError(
            f"{layer.name}: quantization with activation_quantizer={quantizer.get_config()} is "
            "not implemented in nnfast (the default AbsMaxQuantizer() and None are).")


def _one_scale_per(scale, expected, layer, axis):
    """The weight quantizer's scales as a vector, checked to be one per output channel."""
    if scale.shape != expected:
        raise ValueError(f"{layer.name}: the int4 weight quantizer must reduce over {axis} "
                         f"(scales of shape {expected}). Received: scale shape {scale.shape}")
    return scale.reshape(-1)


def add_int4_variables(layer, kernel_shape, config):
    """The packed kernel, scales and (blocks) zero points and group index of a Dense layer,
    Keras's names and shapes, zero/one-initialized (quantize or loading fills them)."""
    in_dim, units = kernel_shape
    size = block_size_of(layer, config)
    activation_quantizer = QuantizationConfig.activation_quantizer_or_default(config, None)
    check_activation_quantizer(layer, activation_quantizer)
    if activation_quantizer is not None and size is not None:
        raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support "
                         "custom quantizers.")

    def add(name, shape, dtype, initializer):
        v = layer.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                             trainable=False, name=name)
        v.__class__ = QuantizedVariable  # same slots; counts updates
        object.__setattr__(layer, name, v)

    add("kernel", (in_dim, (units + 1) // 2), "int8", "zeros")
    scale_shape = (units,) if size is None else (math.ceil(in_dim / size), units)
    add("kernel_scale", scale_shape, "float32", "ones")
    object.__setattr__(layer, "kernel_zero", None)
    object.__setattr__(layer, "g_idx", None)
    if size is not None:
        add("kernel_zero", scale_shape, "int8", "zeros")
        add("g_idx", (in_dim,), "float32", "zeros")
        layer.g_idx.assign((np.arange(in_dim) // size).astype(np.float32))
    object.__setattr__(layer, "_int4_block_size", size)
    object.__setattr__(layer, "_int4_inputs_quantizer", activation_quantizer)
    object.__setattr__(layer, "_int4_units", units)


def quantize_dense_int4(layer, config):
    """Replaces a built Dense layer's float kernel by packed int4 values and their scales
    (Keras's numbers) and sets the ``Int4DTypePolicy``."""
    check_quantizable(layer, "int4")
    size = block_size_of(layer, config)
    float_kernel = layer.kernel
    w = np.asarray(float_kernel.value)
    zero = None
    if size is None:
        weight_quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
            config, quantizers.AbsMaxQuantizer(axis=0, value_range=(-8, 7)))
        q, scale = weight_quantizer(w)
        scale = _one_scale_per(np.asarray(scale.value), (1, w.shape[1]), layer, "axis=0")
    else:
        q, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(w, size)
        scale, zero = np.asarray(scale.value), np.asarray(zero.value)
    packed, _, _ = quantizers.pack_int4(np.asarray(q.value).astype(np.int8), axis=-1)
    drop_variable(layer, float_kernel)
    object.__setattr__(layer, "kernel", None)
    add_int4_variables(layer, w.shape, config)
    layer.kernel.assign(np.asarray(packed.value))
    layer.kernel_scale.assign(scale)
    if zero is not None:
        layer.kernel_zero.assign(zero)
    object.__setattr__(layer, "quantization_config", config)
    layer.dtype_policy = dtype_policies.Int4DTypePolicy(
        f"int4/{-1 if size is None else size}", layer.dtype_policy.name)


def _compute_kernel(layer):
    """``("float", kernel)`` dequantized, or ``("int8", (q, packed))`` for the int8 GEMM when
    inputs are quantized; remade when a variable changed."""
    variables = [v for v in (layer.kernel, layer.kernel_scale, layer.kernel_zero, layer.g_idx)
                 if v is not None]
    key = tuple((id(v.value), v.__dict__.get("_version", 0)) for v in variables)
    cached = layer.__dict__.get("_int4_compute")
    if cached is not None and cached[0] == key:
        return cached[1]
    q = np.asarray(unpack_int4(layer.kernel.value, layer._int4_units, axis=-1).value)
    scale = np.asarray(layer.kernel_scale.value, np.float32)
    if layer._int4_block_size is None:
        if layer._int4_inputs_quantizer is not None:
            result = ("int8", (q, pack_int8_kernel(q)))
        else:
            result = ("float", q.astype(np.float32) / scale)
    else:
        groups = np.asarray(layer.g_idx.value).astype(np.int64)
        if groups.min(initial=0) < 0 or groups.max(initial=0) >= scale.shape[0]:
            raise ValueError(f"{layer.name}: g_idx holds group indices outside [0, "
                             f"{scale.shape[0]}).")
        zero = np.asarray(layer.kernel_zero.value).astype(np.float32)
        result = ("float", (q.astype(np.float32) - zero[groups]) * scale[groups])
    layer.__dict__["_int4_compute"] = (key, result)
    return result


def int4_dense(layer, inputs):
    """The int4 Dense layer's output (bias and activation included)."""
    kind, kernel = _compute_kernel(layer)
    if kind == "int8":
        q, packed = kernel
        x = int8_matmul(inputs, q, layer.kernel_scale.value, packed=packed)
        return layer.activation(x + layer.bias if layer.bias is not None else x)
    if layer._kernel_activation is not None:
        return ops.dense(inputs, kernel, layer.bias, layer._kernel_activation)
    return layer.activation(ops.dense(inputs, kernel, layer.bias))


def int4_saved_variables(layer):
    """A quantized Dense layer's int4 variables in Keras's file order."""
    return [v for v in (layer.kernel, layer.bias, layer.kernel_scale, layer.kernel_zero,
                        layer.g_idx) if v is not None]


# --- Embedding -------------------------------------------------------------------------------
# Keras's int4 Embedding: rows packed along output_dim ((vocab, ceil(dim / 2)) int8), one
# scale per row (per channel) or per row and block of ``block_size`` columns with zero
# points (``embeddings_scale``/``embeddings_zero`` of shape (vocab, groups), ``g_idx`` the
# column's group); saved ``[embeddings, embeddings_scale, embeddings_zero, g_idx]``.

def add_embedding_int4_variables(layer, config):
    """An Embedding's packed int4 table, scales and (blocks) zero points and group index."""
    vocab, dim = layer.input_dim, layer.output_dim
    size = block_size_of(layer, config)

    def add(name, shape, dtype, initializer):
        v = layer.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                             trainable=False, name=name)
        v.__class__ = QuantizedVariable
        object.__setattr__(layer, name, v)

    add("embeddings", (vocab, (dim + 1) // 2), "int8", "zeros")
    scale_shape = (vocab,) if size is None else (vocab, math.ceil(dim / size))
    add("embeddings_scale", scale_shape, "float32", "ones")
    object.__setattr__(layer, "embeddings_zero", None)
    object.__setattr__(layer, "g_idx", None)
    if size is not None:
        add("embeddings_zero", scale_shape, "int8", "zeros")
        add("g_idx", (dim,), "float32", "zeros")
        layer.g_idx.assign((np.arange(dim) // size).astype(np.float32))
    object.__setattr__(layer, "_int4_block_size", size)


def quantize_embedding_int4(layer, config):
    """Replaces a built Embedding's float table by packed int4 rows and their scales
    (Keras's numbers: abs-max per row, or grouped with zero points along ``output_dim``)."""
    check_quantizable(layer, "int4")
    size = block_size_of(layer, config)
    float_table = layer.embeddings
    table = np.asarray(float_table.value)
    zero = None
    if size is None:
        weight_quantizer = quantizers.QuantizationConfig.weight_quantizer_or_default(
            config, quantizers.AbsMaxQuantizer(axis=-1, value_range=(-8, 7)))
        q, scale = weight_quantizer(table)
        q = np.asarray(q.value)
        scale = _one_scale_per(np.asarray(scale.value), (table.shape[0], 1), layer, "axis=-1")
    else:
        q, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(table.T, size)
        q, scale, zero = (np.asarray(q.value).T, np.asarray(scale.value).T,
                          np.asarray(zero.value).T)
    packed, _, _ = quantizers.pack_int4(np.ascontiguousarray(q).astype(np.int8), axis=-1)
    drop_variable(layer, float_table)
    object.__setattr__(layer, "embeddings", None)
    add_embedding_int4_variables(layer, config)
    layer.embeddings.assign(np.asarray(packed.value))
    layer.embeddings_scale.assign(scale)
    if zero is not None:
        layer.embeddings_zero.assign(zero)
    object.__setattr__(layer, "quantization_config", config)
    layer.dtype_policy = dtype_policies.Int4DTypePolicy(
        f"int4/{-1 if size is None else size}", layer.dtype_policy.name)


def int4_embedding_table(layer):
    """The dequantized float32 table of an int4 Embedding (Keras's numbers: ``q / scale``
    per row, or ``(q - zero[g]) * scale[g]`` per block), made once per weights' version."""
    variables = [v for v in (layer.embeddings, layer.embeddings_scale, layer.embeddings_zero,
                             layer.g_idx) if v is not None]
    key = tuple((id(v.value), v.__dict__.get("_version", 0)) for v in variables)
    cached = layer.__dict__.get("_int4_compute")
    if cached is not None and cached[0] == key:
        return cached[1]
    q = np.asarray(unpack_int4(layer.embeddings.value, layer.output_dim, axis=-1).value)
    scale = np.asarray(layer.embeddings_scale.value, np.float32)
    if layer._int4_block_size is None:
        table = q.astype(np.float32) / scale[:, None]
    else:
        groups = np.asarray(layer.g_idx.value).astype(np.int64)
        if groups.min(initial=0) < 0 or groups.max(initial=0) >= scale.shape[1]:
            raise ValueError(f"{layer.name}: g_idx holds group indices outside [0, "
                             f"{scale.shape[1]}).")
        zero = np.asarray(layer.embeddings_zero.value).astype(np.float32)
        table = (q.astype(np.float32) - zero[:, groups]) * scale[:, groups]
    layer.__dict__["_int4_compute"] = (key, table)
    return table


def embedding_int4_saved_variables(layer):
    """A quantized Embedding's int4 variables in Keras's file order."""
    return [v for v in (layer.embeddings, layer.embeddings_scale, layer.embeddings_zero,
                        layer.g_idx) if v is not None]
