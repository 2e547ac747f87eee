"""``layer.quantize("int8")`` for the layers Keras quantizes (Dense, Embedding), with Keras's
numbers, variables and file layout: a Dense kernel becomes int8 with one float32 scale per
output unit (``kernel_scale``; saved ``[kernel (int8), bias, kernel_scale]``), an Embedding
table int8 with one scale per row (``embeddings_scale``; saved ``[embeddings (int8),
embeddings_scale]``), and the layer's policy ``QuantizedDTypePolicy("int8", source)``."""
import numpy as np

from nnfast import dtype_policies
from nnfast.backend.tensor import Variable
from nnfast.ops.quantized import pack_int8_kernel
from nnfast.quantizers import AbsMaxQuantizer, abs_max_quantize
from nnfast.quantizers_config import validate_and_resolve_config

MODES = ("int8", "float8", "int4", "gptq", "awq")


class ModeNotImplementedError(NotImplementedError):
    """A Keras quantization mode (or config) nnfast does not compute for a layer Keras
    quantizes with it: ``Model.quantize`` raises it instead of skipping the layer."""


def check_mode(mode):
    """Keras's error for an unknown mode; NotImplementedError for Keras modes nnfast lacks."""
    if mode not in MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {MODES}. "
                         f"Received: quantization_mode={mode}")
    if mode != "int8":
        raise ModeNotImplementedError(f"quantize({mode!r}): nnfast implements the 'int8' mode "
                                      "(and 'int4' for Dense) only.")


def resolve_config(mode, config, layer_name, modes=("int8",), keras_quantizes=True):
    """The ``QuantizationConfig`` that ``quantize(mode, config)`` runs (Keras's resolution:
    a default config for a bare mode, errors for contradictions), checked against what
    nnfast computes: ``modes`` (the layer's), and for int8 only Keras's default quantizers.

    Raises:
        ModeNotImplementedError: a mode or config nnfast does not compute for a layer Keras
            quantizes (``keras_quantizes``; else a plain NotImplementedError: the layer is
            skipped with a warning as Keras skips it).
    """
    config = validate_and_resolve_config(mode, config)
    error = ModeNotImplementedError if keras_quantizes else NotImplementedError
    if config.mode not in modes:
        raise error(
            f"{layer_name}.quantize({config.mode!r}): not implemented in nnfast (it quantizes "
            f"this layer with {' and '.join(repr(m) for m in modes)}).")
    if config.mode == "int8":
        w, a = config.weight_quantizer, config.activation_quantizer
        default_w = w is None or (type(w) is AbsMaxQuantizer and w.axis == (0,) and
                                  tuple(w.value_range) == (-127, 127) and w.epsilon == 1e-7)
        default_a = type(a) is AbsMaxQuantizer and a.axis in (None, (-1,)) and \
            tuple(a.value_range) == (-127, 127) and a.epsilon == 1e-7
        if not (default_w and default_a):
            raise error(
                f"{layer_name}.quantize('int8', config=...): nnfast's int8 runs Keras's default "
                "quantizers only (abs-max per output unit for weights, AbsMaxQuantizer() per "
                "input row).")
    return config


def quantize_dense_int8(layer):
    """Replaces a built Dense layer's float kernel by int8 values and per-unit scales."""
    check_quantizable(layer)
    float_kernel = layer.kernel
    q, scale = abs_max_quantize(np.asarray(float_kernel.value), axis=0)
    drop_variable(layer, float_kernel)
    object.__setattr__(layer, "kernel", None)
    add_int8_variables(layer, float_kernel.shape)
    layer.kernel.assign(np.asarray(q.value))
    layer.kernel_scale.assign(np.asarray(scale.value).reshape(-1))
    packed_kernel(layer.kernel)  # packed now, not on the first call
    set_int8_policy(layer)


def quantize_embedding_int8(layer):
    """Replaces a built Embedding's float table by int8 rows and one scale per row (Keras
    reduces over ``output_dim``: ``AbsMaxQuantizer(axis=-1)``)."""
    check_quantizable(layer)
    float_table = layer.embeddings
    q, scale = abs_max_quantize(np.asarray(float_table.value), axis=-1)
    drop_variable(layer, float_table)
    object.__setattr__(layer, "embeddings", None)
    add_embedding_int8_variables(layer, float_table.shape)
    layer.embeddings.assign(np.asarray(q.value))
    layer.embeddings_scale.assign(np.asarray(scale.value).reshape(-1))
    set_int8_policy(layer)


def check_quantizable(layer, mode="int8"):
    """Keras's errors for a layer quantized twice or not built."""
    if layer.dtype_policy.quantization_mode is not None:
        raise ValueError(f"Layer '{layer.name}' is already quantized with "
                         f"dtype_policy='{layer.dtype_policy.name}'. Received: "
                         f"quantization_mode={mode}")
    if not layer.built:
        raise ValueError(f"Cannot quantize layer '{layer.name}': it is not built yet (call "
                         "it or build the model first).")


def drop_variable(layer, variable):
    """Forgets a layer's variable (the float weight a quantized one replaces)."""
    layer._trainable_weights = [w for w in layer._trainable_weights if w is not variable]
    layer._non_trainable_weights = [w for w in layer._non_trainable_weights
                                    if w is not variable]


def set_int8_policy(layer):
    layer.dtype_policy = dtype_policies.QuantizedDTypePolicy("int8", layer.dtype_policy.name)


def add_embedding_int8_variables(layer, table_shape):
    """An Embedding's int8 table and its per-row scales, Keras's names and order."""
    table = layer.add_weight(shape=tuple(table_shape), initializer="zeros", dtype="int8",
                             trainable=False, name="embeddings")
    scale = layer.add_weight(shape=(table_shape[0],), initializer="ones", trainable=False,
                             name="embeddings_scale")
    object.__setattr__(layer, "embeddings", table)
    object.__setattr__(layer, "embeddings_scale", scale)


def add_int8_variables(layer, kernel_shape, scale_units=None):
    """The int8 kernel and its scales (a layer built from a quantized config gets these
    instead of the float kernel): ``scale_units`` scales, by default one per kernel column
    (a depthwise kernel ``(kh, kw, in, dm)`` has ``in * dm``)."""
    kernel = layer.add_weight(shape=tuple(kernel_shape), initializer="zeros", dtype="int8",
                              trainable=False, name="kernel")
    units = kernel_shape[-1] if scale_units is None else scale_units
    scale = layer.add_weight(shape=(units,), initializer="ones", trainable=False,
                             name="kernel_scale")
    kernel.__class__ = Int8KernelVariable  # same slots; adds the packed-kernel cache
    object.__setattr__(layer, "kernel", kernel)
    object.__setattr__(layer, "kernel_scale", scale)


class Int8KernelVariable(Variable):
    """An int8 kernel Variable that keeps its value packed for the int8 GEMM: the packing is
    dropped whenever the value changes through ``assign``/``assign_add``/``assign_sub`` (as
    loading weights does) or the value array is replaced, and redone on the next use."""

    __slots__ = ()

    def __getstate__(self):
        # Copies and pickles leave the packing out (a native object); they repack on use.
        state = super().__getstate__()
        if isinstance(state, tuple):
            instance_dict, slots = state
            return ({k: v for k, v in (instance_dict or {}).items() if k != "_int8_packed"},
                    slots)
        return {k: v for k, v in state.items() if k != "_int8_packed"}

    def assign(self, value):
        self.__dict__.pop("_int8_packed", None)
        return super().assign(value)

    def assign_add(self, value):
        self.__dict__.pop("_int8_packed", None)
        return super().assign_add(value)

    def assign_sub(self, value):
        self.__dict__.pop("_int8_packed", None)
        return super().assign_sub(value)


def packed_kernel(kernel):
    """The packed form of a quantized layer's int8 kernel Variable (cached on it), or None
    for a Variable that cannot tell when it changes (a kernel reassigned by hand), which then
    takes the float32 route."""
    if not isinstance(kernel, Int8KernelVariable):
        return None
    cached = kernel.__dict__.get("_int8_packed")
    if cached is None or cached[0] is not kernel.value:
        # (a conv kernel (..., in, out) packs as its (kh*kw*in, out) matrix)
        cached = (kernel.value, pack_int8_kernel(kernel.value.reshape(-1, kernel.shape[-1])))
        kernel.__dict__["_int8_packed"] = cached
    return cached[1]


def saved_variables(layer):
    """A quantized Dense layer's variables in Keras's file order."""
    return [v for v in (layer.kernel, layer.bias, layer.kernel_scale) if v is not None]


def is_default_int8_config(config):
    """Keras's default ``Int8QuantizationConfig`` (default weight quantizer, default
    abs-max activation quantizer), as Keras 3.15 saves it in a quantized layer's config."""
    if not isinstance(config, dict) or config.get("class_name") != "Int8QuantizationConfig":
        return False
    inner = config.get("config") or {}
    act = inner.get("activation_quantizer")
    act_ok = act in (None, "default") or (
        isinstance(act, dict) and act.get("class_name") == "AbsMaxQuantizer" and
        list((act.get("config") or {}).get("value_range", [-127, 127])) == [-127, 127] and
        (act.get("config") or {}).get("output_dtype", "int8") == "int8" and
        (act.get("config") or {}).get("axis") in (None, -1, [-1], (-1,)))
    return inner.get("weight_quantizer") is None and act_ok


def embedding_saved_variables(layer):
    """A quantized Embedding's variables in Keras's file order."""
    return [layer.embeddings, layer.embeddings_scale]
