"""Per-layer ONNX converters: a registry mapping a layer class to the function that writes
its ONNX nodes.

A converter is ``convert(g, node, ins, fold) -> [output names]``: ``g`` is the
``OnnxGraph``, ``node`` the layer call (its ``layer``, ``inputs``, ``args``, ``kwargs`` and
symbolic input/output tensors, whose static shapes the converter may read), ``ins`` the ONNX
names of ``node.input_tensors`` in order, and ``fold`` a per-channel ``(scale, shift)`` to
apply to the output when the graph walk folded the next ``BatchNormalization`` into this
layer (only for layers registered with ``folds_bn=True``).

A layer class uses the converter of the nearest registered base class only when it does not
override ``call`` (a subclass with its own ``call`` computes something else); otherwise, and
for layers with no converter, the export raises ``ExportError`` naming the layer.
"""
import numpy as np

from nnfast import activations as acts
from nnfast.export.onnx_graph import ExportError, emit_model
from nnfast.models.model import Model

_REGISTRY = {}  # layer class -> (converter, folds_bn)
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


def register(*classes, folds_bn=False):
    """Decorator: ``fn`` converts layers of ``classes`` (and subclasses keeping their
    ``call``); ``folds_bn`` says it takes a following batch normalization's scale and shift.

    Example:
        >>> @register(MyLayer)
        ... def _my_layer(g, node, ins):
        ...     return g.op("Relu", [ins[0]], node.layer.name)
    """
    def wrap(fn):
        for cls in classes:
            _REGISTRY[cls] = (fn, folds_bn)
        return fn
    return wrap


def _lookup(layer):
    """The registry entry for ``layer``'s class, or None."""
    cls = type(layer)
    if cls in _REGISTRY:
        return _REGISTRY[cls]
    if isinstance(layer, Model):
        return (_convert_nested_model, False)
    for base in cls.__mro__[1:]:
        if base in _REGISTRY:
            return _REGISTRY[base] if cls.call is base.call else None
    return None


def converter_for(layer):
    """The converter function of ``layer`` or None (used by the coverage tests)."""
    entry = _lookup(layer)
    return None if entry is None else entry[0]


def folds_batch_norm(layer):
    """Whether ``layer``'s converter can take a following batch normalization."""
    entry = _lookup(layer)
    return bool(entry and entry[1]) and getattr(layer, "data_format", "channels_last") \
        == "channels_last" and _activation_name(layer.activation) == "linear"


def is_foldable_batch_norm(node, src):
    """Whether ``node`` is a plain inference BatchNormalization over the last axis of
    ``src`` (and no mask)."""
    from nnfast.layers.normalization import BatchNormalization

    layer = node.layer
    return (type(layer) is BatchNormalization and layer.built and not node.args
            and node.kwargs.get("training") is not True
            and layer._axis == len(src.shape) - 1)


def batch_norm_scale_shift(layer):
    """``(scale, shift)`` with ``bn(x) == x * scale + shift`` (moving statistics)."""
    mean = _np(layer.moving_mean)
    var = _np(layer.moving_variance)
    scale = np.float32(1.0) / np.sqrt(var + np.float32(layer.epsilon))
    if layer.gamma is not None:
        scale = scale * _np(layer.gamma)
    shift = -mean * scale
    if layer.beta is not None:
        shift = shift + _np(layer.beta)
    return scale.astype(np.float32), shift.astype(np.float32)


def convert(g, node, ins, fold=None):
    """The ONNX output names of one layer call (see the module docstring)."""
    layer = node.layer
    entry = _lookup(layer)
    if entry is None:
        raise ExportError(f"Layer '{layer.name}' of type {type(layer).__name__} cannot be "
                          "exported to ONNX: nnfast has no ONNX conversion for it.")
    if node.kwargs.get("mask") is not None:
        raise ExportError(f"Layer '{layer.name}' ({type(layer).__name__}) reads a Keras mask "
                          "(from Embedding(mask_zero=True) or Masking), which its ONNX "
                          "conversion cannot apply; export a model without masking.")
    if node.kwargs.get("training") is True:
        raise ExportError(f"Layer '{layer.name}' is called with training=True; the ONNX export "
                          "writes inference graphs only.")
    fn, folds = entry
    outs = fn(g, node, ins, fold) if folds else fn(g, node, ins)
    return outs if isinstance(outs, list) else [outs]


# --- helpers --------------------------------------------------------------------------------
def _np(v):
    return np.asarray(v.value if hasattr(v, "value") else v, dtype=np.float32)


def _in_shape(node, i=0):
    return tuple(node.input_tensors[i].shape)


def _out_shape(node, i=0):
    return tuple(node.output_tensors[i].shape)


def _activation_name(fn):
    """The built-in Keras activation ``fn`` is, by name; raises for user functions."""
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None)
    if name is not None and acts._BY_NAME.get(name) is fn:
        return name
    raise ExportError(f"The activation {fn!r} is not a built-in Keras activation; the ONNX "
                      "export covers built-in activations only.")


def activation(g, x, fn_or_name, hint="act", axis=-1):
    """The ONNX nodes of the Keras activation ``fn_or_name`` (a built-in activation
    function or its name) applied to the value ``x``; returns the output name.

    Example:
        >>> y = activation(g, "dense/MatMul", "gelu", "dense")
    """
    name = fn_or_name if isinstance(fn_or_name, str) else _activation_name(fn_or_name)
    if name == "linear":
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp", "selu": "Selu"}
    if name in simple:
        return g.op(simple[name], [x], hint)
    if name == "relu6":
        return g.op("Clip", [x, g.const(0.0, "zero"), g.const(6.0, "six")], hint)
    if name == "hard_tanh":
        return g.op("Clip", [x, g.const(-1.0, "minus_one"), g.const(1.0, "one")], hint)
    if name == "elu":
        return g.op("Elu", [x], hint, alpha=1.0)
    if name == "celu":
        return g.op("Celu", [x], hint, alpha=1.0)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], hint, alpha=0.2)
    if name == "softmax":
        return g.op("Softmax", [x], hint, axis=axis)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], hint, axis=axis)
    if name in ("silu", "swish"):
        return g.op("Mul", [x, g.op("Sigmoid", [x], hint)], hint)
    if name == "hard_sigmoid":
        return g.op("HardSigmoid", [x], hint, alpha=1.0 / 6.0, beta=0.5)
    if name in ("hard_silu", "hard_swish"):
        return g.op("HardSwish", [x], hint)
    if name == "gelu":  # Keras's activations.gelu: the exact (erf) form
        e = g.op("Erf", [g.op("Mul", [x, g.const(1.0 / np.sqrt(2.0), "inv_sqrt2")], hint)],
                 hint)
        half_x = g.op("Mul", [x, g.const(0.5, "half")], hint)
        return g.op("Mul", [half_x, g.op("Add", [e, g.const(1.0, "one")], hint)], hint)
    if name == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x], hint)], hint)], hint)
    if name == "log_sigmoid":
        return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x], hint)], hint)], hint)
    if name == "tanh_shrink":
        return g.op("Sub", [x, g.op("Tanh", [x], hint)], hint)
    raise ExportError(f"The activation '{name}' has no ONNX conversion.")


def _to_channels_first(g, x, rank, hint):
    return g.op("Transpose", [x], hint, perm=[0, rank + 1] + list(range(1, rank + 1)))


def _to_channels_last(g, x, rank, hint):
    return g.op("Transpose", [x], hint, perm=[0] + list(range(2, rank + 2)) + [1])


def _same_pads(sizes, kernel, strides, dilations):
    """TensorFlow's 'same' padding per spatial axis: (begins, ends), or None when a size is
    unknown (then ONNX's SAME_UPPER computes the same at run time)."""
    begins, ends = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilations):
        if n is None:
            return None
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins, ends


def _spatial_attrs(padding, sizes, kernel, strides, dilations):
    """The ``pads``/``auto_pad`` attributes of an ONNX conv or pool for Keras's padding."""
    r = len(kernel)
    if padding == "valid":
        return {"pads": [0] * (2 * r)}
    if padding == "causal":
        return {"pads": [(kernel[0] - 1) * dilations[0], 0]}
    pads = _same_pads(sizes, kernel, strides, dilations)
    if pads is None:
        return {"auto_pad": "SAME_UPPER"}
    return {"pads": pads[0] + pads[1]}


def _channels_last(layer):
    return getattr(layer, "data_format", "channels_last") == "channels_last"


def _spatial_sizes(shape, channels_last):
    return list(shape[1:-1]) if channels_last else list(shape[2:])


def _run_channels_first(g, x, layer, rank, body, hint):
    """``body(x_channels_first) -> y_channels_first`` in the layer's own layout."""
    if _channels_last(layer):
        x = _to_channels_first(g, x, rank, hint)
        return _to_channels_last(g, body(x), rank, hint)
    return body(x)


def _bias_add(g, y, bias, channels_last, rank, hint):
    """Adds a per-channel bias to an output in the layer's layout."""
    if bias is None:
        return y
    shape = (-1,) if channels_last else (-1,) + (1,) * rank
    return g.op("Add", [y, g.const(bias.reshape(shape), hint + "/bias")], hint)


# --- core -----------------------------------------------------------------------------------
from nnfast.layers.core import Activation, Dense, Identity
from nnfast.layers.masking import Masking
from nnfast.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    Dropout,
    GaussianDropout,
    GaussianNoise,
)
from nnfast.layers.spatial_dropout import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D


@register(Dense, folds_bn=True)
def _dense(g, node, ins, fold=None):
    layer = node.layer
    if layer.dtype_policy.quantization_mode is not None:
        raise ExportError(f"Dense '{layer.name}' is quantized ({layer.dtype_policy.name}): "
                          "int8 layers are not exported to ONNX; export the float model.")
    kernel = _np(layer.kernel)
    bias = None if layer.bias is None else _np(layer.bias)
    if fold is not None:
        scale, shift = fold
        kernel = kernel * scale
        bias = shift if bias is None else bias * scale + shift
    y = g.op("MatMul", [ins[0], g.const(kernel, layer.name + "/kernel")], layer.name)
    if bias is not None:
        y = g.op("Add", [y, g.const(bias, layer.name + "/bias")], layer.name)
    return activation(g, y, layer.activation, layer.name)


@register(Activation)
def _activation_layer(g, node, ins):
    return activation(g, ins[0], node.layer.activation, node.layer.name)


# Identity at inference: Keras runs these only when training.
@register(Identity, Dropout, AlphaDropout, GaussianDropout, GaussianNoise, ActivityRegularization,
          SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, Masking)
def _identity(g, node, ins):
    return g.op("Identity", [ins[0]], node.layer.name)


# --- activation layers ----------------------------------------------------------------------
from nnfast.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax


@register(ReLU)
def _relu_layer(g, node, ins):
    layer, x, h = node.layer, ins[0], node.layer.name
    slope, thr, top = float(layer.negative_slope), float(layer.threshold), layer.max_value
    if slope == 0.0 and thr == 0.0:
        y = g.op("Relu", [x], h)
    else:
        t = g.const(thr, h + "/threshold")
        below = g.op("Mul", [g.op("Sub", [x, t], h), g.const(slope, h + "/slope")], h)
        y = g.op("Where", [g.op("GreaterOrEqual", [x, t], h), x, below], h)
    if top is not None:
        y = g.op("Min", [y, g.const(float(top), h + "/max_value")], h)
    return y


@register(LeakyReLU)
def _leaky_relu(g, node, ins):
    return g.op("LeakyRelu", [ins[0]], node.layer.name, alpha=float(node.layer.negative_slope))


@register(ELU)
def _elu(g, node, ins):
    return g.op("Elu", [ins[0]], node.layer.name, alpha=float(node.layer.alpha))


@register(Softmax)
def _softmax_layer(g, node, ins):
    layer = node.layer
    if len(node.input_tensors) > 1 or node.kwargs.get("mask") is not None:
        raise ExportError(f"Softmax layer '{layer.name}' with a mask cannot be exported.")
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if len(axes) == 1:
        return g.op("Softmax", [ins[0]], layer.name, axis=int(axes[0]))
    h = layer.name
    m = g.op("ReduceMax", [ins[0]], h, axes=list(axes), keepdims=1)
    e = g.op("Exp", [g.op("Sub", [ins[0], m], h)], h)
    return g.op("Div", [e, g.op("ReduceSum", [e, g.ints(axes, h + "/axes")], h, keepdims=1)], h)


@register(PReLU)
def _prelu(g, node, ins):
    layer = node.layer
    return g.op("PRelu", [ins[0], g.const(_np(layer.alpha), layer.name + "/alpha")], layer.name)


# --- convolutions ---------------------------------------------------------------------------
from nnfast.layers.convolutional import (
    BaseConvND,
    _ConvTransposeBase,
    _DepthwiseConvBase,
    _SeparableConvBase,
)


def _fold_into(kernel_out_first, bias, fold):
    """Kernel (out, ...) and bias with a following per-channel ``x * scale + shift``."""
    if fold is None:
        return kernel_out_first, bias
    scale, shift = fold
    kernel = kernel_out_first * scale.reshape((-1,) + (1,) * (kernel_out_first.ndim - 1))
    bias = shift if bias is None else bias * scale + shift
    return kernel, bias


def _conv_node(g, x, layer, weight, bias, group, in_shape, hint, dilations=None):
    rank = layer.rank
    cl = _channels_last(layer)
    dil = list(dilations if dilations is not None else layer.dilation_rate)
    attrs = _spatial_attrs(layer.padding, _spatial_sizes(in_shape, cl), layer.kernel_size,
                           layer.strides, dil)
    w = g.const(weight, hint + "/kernel")
    b = None if bias is None else g.const(bias, hint + "/bias")

    def body(xc):
        return g.op("Conv", [xc, w, b], hint, kernel_shape=list(layer.kernel_size),
                    strides=list(layer.strides), dilations=dil, group=group, **attrs)
    return _run_channels_first(g, x, layer, rank, body, hint)


@register(BaseConvND, folds_bn=True)
def _conv(g, node, ins, fold=None):
    layer = node.layer
    r = layer.rank
    kernel = np.transpose(_np(layer.kernel), (r + 1, r) + tuple(range(r)))  # (out, in/g, *k)
    bias = None if layer.bias is None else _np(layer.bias)
    kernel, bias = _fold_into(kernel, bias, fold)
    y = _conv_node(g, ins[0], layer, kernel, bias, layer.groups, _in_shape(node), layer.name)
    return activation(g, y, layer.activation, layer.name)


def _depthwise_weight(kernel):
    """Keras's depthwise kernel (*k, in, multiplier) as ONNX's grouped weight
    (in * multiplier, 1, *k): output channel c * multiplier + m."""
    r = kernel.ndim - 2
    k = kernel.reshape(kernel.shape[:r] + (-1,))
    return np.transpose(k, (r,) + tuple(range(r)))[:, None]


@register(_DepthwiseConvBase, folds_bn=True)
def _depthwise(g, node, ins, fold=None):
    layer = node.layer
    kernel = _np(layer.kernel)
    bias = None if layer.bias is None else _np(layer.bias)
    weight, bias = _fold_into(_depthwise_weight(kernel), bias, fold)
    y = _conv_node(g, ins[0], layer, weight, bias, kernel.shape[-2], _in_shape(node),
                   layer.name)
    return activation(g, y, layer.activation, layer.name)


@register(_SeparableConvBase, folds_bn=True)
def _separable(g, node, ins, fold=None):
    layer = node.layer
    r = layer.rank
    dw = _np(layer.depthwise_kernel)
    pw = _np(layer.pointwise_kernel)  # (*1, in * multiplier, filters)
    pw = np.transpose(pw, (r + 1, r) + tuple(range(r)))
    bias = None if layer.bias is None else _np(layer.bias)
    pw, bias = _fold_into(pw, bias, fold)
    h = layer.name
    cl = _channels_last(layer)
    attrs = _spatial_attrs(layer.padding, _spatial_sizes(_in_shape(node), cl),
                           layer.kernel_size, layer.strides, layer.dilation_rate)
    w_dw, w_pw = g.const(_depthwise_weight(dw), h + "/depthwise_kernel"), g.const(
        pw, h + "/pointwise_kernel")
    b = None if bias is None else g.const(bias, h + "/bias")

    def body(xc):
        y = g.op("Conv", [xc, w_dw], h, kernel_shape=list(layer.kernel_size),
                 strides=list(layer.strides), dilations=list(layer.dilation_rate),
                 group=dw.shape[-2], **attrs)
        return g.op("Conv", [y, w_pw, b], h, kernel_shape=[1] * r)
    y = _run_channels_first(g, ins[0], layer, r, body, h)
    return activation(g, y, layer.activation, h)


@register(_ConvTransposeBase)
def _conv_transpose(g, node, ins):
    layer = node.layer
    r = layer.rank
    cl = _channels_last(layer)
    h = layer.name
    weight = np.transpose(_np(layer.kernel), (r + 1, r) + tuple(range(r)))  # (in, out, *k)
    sizes = _spatial_sizes(_in_shape(node), cl)
    outs = _spatial_sizes(_out_shape(node), cl)
    if any(n is None for n in sizes + outs):
        raise ExportError(f"{type(layer).__name__} '{h}' needs static spatial input sizes "
                          f"for ONNX export; received input shape {_in_shape(node)}.")
    begins, ends, extra = [], [], []
    for n, o, k, s, d in zip(sizes, outs, layer.kernel_size, layer.strides,
                             layer.dilation_rate):
        # TensorFlow places the transposed output as the gradient of a forward conv from
        # `o` to `n`: that conv's padding in front, whatever is left at the end.
        k_eff = (k - 1) * d + 1
        front = max((n - 1) * s + k_eff - o, 0) // 2 if layer.padding == "same" else 0
        rest = (n - 1) * s + k_eff - front - o
        begins.append(front)
        ends.append(max(rest, 0))
        extra.append(max(-rest, 0))
    w = g.const(weight, h + "/kernel")
    b = None if layer.bias is None else g.const(_np(layer.bias), h + "/bias")

    def body(xc):
        return g.op("ConvTranspose", [xc, w, b], h, kernel_shape=list(layer.kernel_size),
                    strides=list(layer.strides), dilations=list(layer.dilation_rate),
                    pads=begins + ends, output_padding=extra)
    y = _run_channels_first(g, ins[0], layer, r, body, h)
    return activation(g, y, layer.activation, h)


# --- pooling --------------------------------------------------------------------------------
from nnfast.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from nnfast.layers.pooling3d import (
    AveragePooling3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    MaxPooling3D,
)


def _pool(op_type):
    def convert(g, node, ins):
        layer = node.layer
        r = layer.rank
        cl = _channels_last(layer)
        attrs = _spatial_attrs(layer.padding, _spatial_sizes(_in_shape(node), cl),
                               layer.pool_size, layer.strides, (1,) * r)
        if op_type == "AveragePool":
            attrs["count_include_pad"] = 0  # Keras's 'same' average excludes the padding

        def body(xc):
            return g.op(op_type, [xc], layer.name, kernel_shape=list(layer.pool_size),
                        strides=list(layer.strides), **attrs)
        return _run_channels_first(g, ins[0], layer, r, body, layer.name)
    return convert


register(MaxPooling1D, MaxPooling2D, MaxPooling3D)(_pool("MaxPool"))
register(AveragePooling1D, AveragePooling2D, AveragePooling3D)(_pool("AveragePool"))


def _global_pool(op_type):
    def convert(g, node, ins):
        layer = node.layer
        nd = len(_in_shape(node))
        axes = list(range(1, nd - 1)) if _channels_last(layer) else list(range(2, nd))
        return g.op(op_type, [ins[0]], layer.name, axes=axes, keepdims=int(layer.keepdims))
    return convert


register(GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)(
    _global_pool("ReduceMean"))
register(GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)(_global_pool("ReduceMax"))


# --- normalization --------------------------------------------------------------------------
from nnfast.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    RMSNormalization,
    UnitNormalization,
)


def _broadcast(values, ndim, axes):
    """``values`` (the sizes of ``axes``) shaped to broadcast over an ndim tensor."""
    shape = [1] * ndim
    vals = np.asarray(values, dtype=np.float32)
    sizes = list(vals.shape) if vals.ndim == len(axes) else None
    for j, a in enumerate(axes):
        shape[a] = sizes[j] if sizes else -1
    if sizes is None:
        return vals.reshape([s if s != -1 else vals.size for s in shape])
    return vals.reshape(shape)


@register(BatchNormalization)
def _batch_norm(g, node, ins):
    layer = node.layer
    scale, shift = batch_norm_scale_shift(layer)
    nd = len(_in_shape(node))
    h = layer.name
    y = g.op("Mul", [ins[0], g.const(_broadcast(scale, nd, [layer._axis]), h + "/scale")], h)
    return g.op("Add", [y, g.const(_broadcast(shift, nd, [layer._axis]), h + "/shift")], h)


def _moments_normalize(g, x, axes, eps, h):
    mean = g.op("ReduceMean", [x], h, axes=list(axes), keepdims=1)
    centered = g.op("Sub", [x, mean], h)
    var = g.op("ReduceMean", [g.op("Mul", [centered, centered], h)], h, axes=list(axes),
               keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.const(eps, h + "/epsilon")],
                                                 h)], h)], h)
    return g.op("Mul", [centered, inv], h)


def _rms_normalize(g, x, axes, eps, h):
    ms = g.op("ReduceMean", [g.op("Mul", [x, x], h)], h, axes=list(axes), keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ms, g.const(eps, h + "/epsilon")],
                                                h)], h)], h)
    return g.op("Mul", [x, inv], h)


def _affine(g, y, gamma, beta, nd, axes, h):
    if gamma is not None:
        y = g.op("Mul", [y, g.const(_broadcast(_np(gamma), nd, axes), h + "/gamma")], h)
    if beta is not None:
        y = g.op("Add", [y, g.const(_broadcast(_np(beta), nd, axes), h + "/beta")], h)
    return y


@register(LayerNormalization)
def _layer_norm(g, node, ins):
    layer = node.layer
    nd = len(_in_shape(node))
    axes = list(layer._axes)
    h = layer.name
    if layer.rms_scaling:  # Keras's deprecated form: x * rsqrt(var(x) + eps), no centering
        mean = g.op("ReduceMean", [ins[0]], h, axes=axes, keepdims=1)
        centered = g.op("Sub", [ins[0], mean], h)
        var = g.op("ReduceMean", [g.op("Mul", [centered, centered], h)], h, axes=axes,
                   keepdims=1)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.const(
            float(layer.epsilon), h + "/epsilon")], h)], h)], h)
        return _affine(g, g.op("Mul", [ins[0], inv], h), layer.gamma, None, nd, axes, h)
    y = _moments_normalize(g, ins[0], axes, float(layer.epsilon), h)
    return _affine(g, y, layer.gamma, layer.beta, nd, axes, h)


@register(RMSNormalization)
def _rms_norm(g, node, ins):
    layer = node.layer
    nd = len(_in_shape(node))
    axes = list(layer._axes)
    y = _rms_normalize(g, ins[0], axes, float(layer.epsilon), layer.name)
    return _affine(g, y, layer.scale, None, nd, axes, layer.name)


@register(GroupNormalization)
def _group_norm(g, node, ins):
    layer = node.layer
    shape = _in_shape(node)
    nd = len(shape)
    h = layer.name
    if layer._axis != nd - 1 or any(d is None for d in shape[1:]):
        raise ExportError(f"GroupNormalization '{h}' exports only over the last axis of an "
                          f"input with static non-batch sizes; received axis={layer.axis}, "
                          f"input shape {shape}.")
    c = shape[-1]
    grouped = g.op("Reshape", [ins[0], g.ints([0] + list(shape[1:-1]) +
                                              [layer.groups, c // layer.groups], h + "/shape")], h)
    axes = list(range(1, nd - 1)) + [nd]
    y = _moments_normalize(g, grouped, axes, float(layer.epsilon), h)
    y = g.op("Reshape", [y, g.ints([0] + list(shape[1:]), h + "/shape")], h)
    return _affine(g, y, layer.gamma if layer.scale else None,
                   layer.beta if layer.center else None, nd, [nd - 1], h)


@register(UnitNormalization)
def _unit_norm(g, node, ins):
    layer = node.layer
    nd = len(_in_shape(node))
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    axes = [a % nd for a in axes]
    h = layer.name
    sq = g.op("ReduceSum", [g.op("Mul", [ins[0], ins[0]], h), g.ints(axes, h + "/axes")], h,
              keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Max", [sq, g.const(1e-12, h + "/eps")], h)],
                                   h)], h)
    return g.op("Mul", [ins[0], inv], h)


# --- embedding ------------------------------------------------------------------------------
from nnfast.layers.embedding import Embedding


@register(Embedding)
def _embedding(g, node, ins):
    layer = node.layer
    ids = g.op("Cast", [ins[0]], layer.name, to=7)  # int64
    return g.op("Gather", [g.const(_np(layer.embeddings), layer.name + "/embeddings"), ids],
                layer.name, axis=0)


# --- merging --------------------------------------------------------------------------------
from nnfast.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)


def _fold_binary(op_type):
    def convert(g, node, ins):
        y = ins[0]
        for x in ins[1:]:
            y = g.op(op_type, [y, x], node.layer.name)
        return y
    return convert


register(Add)(_fold_binary("Add"))
register(Multiply)(_fold_binary("Mul"))
register(Maximum)(_fold_binary("Max"))
register(Minimum)(_fold_binary("Min"))


@register(Subtract)
def _subtract(g, node, ins):
    return g.op("Sub", ins, node.layer.name)


@register(Average)
def _average(g, node, ins):
    total = _fold_binary("Add")(g, node, ins)
    return g.op("Div", [total, g.const(float(len(ins)), node.layer.name + "/count")],
                node.layer.name)


@register(Concatenate)
def _concatenate(g, node, ins):
    return g.op("Concat", ins, node.layer.name, axis=int(node.layer.axis))


@register(Dot)
def _dot(g, node, ins):
    layer = node.layer
    sa, sb = _in_shape(node, 0), _in_shape(node, 1)
    axes = layer.axes if isinstance(layer.axes, (list, tuple)) else [layer.axes] * 2
    ax = [a % len(s) for a, s in zip(axes, (sa, sb))]
    a, b = ins
    h = layer.name
    if layer.normalize:
        a, b = [g.op("LpNormalization", [t], h, axis=k, p=2) for t, k in zip((a, b), ax)]
    letters = "cdefghijklmnopqrstuvw"
    la = ["b"] + list(letters[:len(sa) - 1])
    lb = ["b"] + list(letters[len(sa) - 1:len(sa) + len(sb) - 2])
    lb[ax[1]] = la[ax[0]]
    out = [c for i, c in enumerate(la) if i != ax[0]] + \
        [c for i, c in enumerate(lb) if i not in (0, ax[1])]
    y = g.op("Einsum", [a, b], h, equation=f"{''.join(la)},{''.join(lb)}->{''.join(out)}")
    if len(out) == 1:  # Keras's batch_dot keeps a trailing axis of 1
        y = g.op("Unsqueeze", [y, g.ints([1], h + "/axes")], h)
    return y


# --- reshaping ------------------------------------------------------------------------------
from nnfast.layers.reshaping import (
    Cropping1D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    ZeroPadding1D,
)
from nnfast.layers.reshaping3d import Cropping3D, UpSampling3D, ZeroPadding3D
from nnfast.layers.reshaping_image import Cropping2D, UpSampling2D, ZeroPadding2D


@register(Flatten)
def _flatten(g, node, ins):
    layer = node.layer
    x = ins[0]
    nd = len(_in_shape(node))
    if layer.data_format == "channels_first" and nd > 2:
        x = g.op("Transpose", [x], layer.name, perm=[0] + list(range(2, nd)) + [1])
    return g.op("Flatten", [x], layer.name, axis=1)


@register(Reshape)
def _reshape(g, node, ins):
    layer = node.layer
    return g.op("Reshape", [ins[0], g.ints([0] + list(layer.target_shape),
                                           layer.name + "/shape")], layer.name)


@register(Permute)
def _permute(g, node, ins):
    return g.op("Transpose", [ins[0]], node.layer.name, perm=[0] + list(node.layer.dims))


@register(RepeatVector)
def _repeat_vector(g, node, ins):
    h = node.layer.name
    y = g.op("Unsqueeze", [ins[0], g.ints([1], h + "/axes")], h)
    return g.op("Tile", [y, g.ints([1, int(node.layer.n), 1], h + "/repeats")], h)


def _spatial_axes(layer, nd):
    return list(range(1, nd - 1)) if _channels_last(layer) else list(range(2, nd))


def _pad_amounts(layer):
    p = layer.padding
    if isinstance(layer, ZeroPadding1D):
        return [tuple(p)]
    return [tuple(q) for q in p]


@register(ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
def _zero_padding(g, node, ins):
    layer = node.layer
    nd = len(_in_shape(node))
    begins, ends = [0] * nd, [0] * nd
    for a, (lo, hi) in zip(_spatial_axes(layer, nd), _pad_amounts(layer)):
        begins[a], ends[a] = int(lo), int(hi)
    return g.op("Pad", [ins[0], g.ints(begins + ends, layer.name + "/pads")], layer.name,
                mode="constant")


@register(Cropping1D, Cropping2D, Cropping3D)
def _cropping(g, node, ins):
    layer = node.layer
    nd = len(_in_shape(node))
    crops = [tuple(layer.cropping)] if isinstance(layer, Cropping1D) else \
        [tuple(c) for c in layer.cropping]
    axes = _spatial_axes(layer, nd)
    starts = [int(lo) for lo, _ in crops]
    ends = [-int(hi) if hi else _INT64_MAX for _, hi in crops]
    h = layer.name
    return g.op("Slice", [ins[0], g.ints(starts, h + "/starts"), g.ints(ends, h + "/ends"),
                          g.ints(axes, h + "/axes")], h)


def _repeat_axes(g, x, shape, axes, sizes, h):
    """Each element repeated ``sizes[i]`` times along ``axes[i]`` (nearest upsampling)."""
    scales = [1.0] * len(shape)
    for a, s in zip(axes, sizes):
        scales[a] = float(s)
    return g.op("Resize", [x, None, g.const(scales, h + "/scales")], h, mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor")


@register(UpSampling1D)
def _upsampling1d(g, node, ins):
    layer = node.layer
    return _repeat_axes(g, ins[0], _in_shape(node), [1], [int(layer.size)], layer.name)


@register(UpSampling3D)
def _upsampling3d(g, node, ins):
    layer = node.layer
    shape = _in_shape(node)
    return _repeat_axes(g, ins[0], shape, _spatial_axes(layer, len(shape)), layer.size,
                        layer.name)


@register(UpSampling2D)
def _upsampling2d(g, node, ins):
    layer = node.layer
    shape = _in_shape(node)
    h = layer.name
    if layer.interpolation == "nearest":
        return _repeat_axes(g, ins[0], shape, _spatial_axes(layer, 4), layer.size, h)
    if layer.interpolation != "bilinear":
        raise ExportError(f"UpSampling2D '{h}' with interpolation='{layer.interpolation}' has "
                          "no ONNX conversion (nearest and bilinear do).")
    scales = g.const([1.0, 1.0] + [float(s) for s in layer.size], h + "/scales")

    def body(xc):
        return g.op("Resize", [xc, None, scales], h, mode="linear",
                    coordinate_transformation_mode="half_pixel")
    return _run_channels_first(g, ins[0], layer, 2, body, h)


# --- preprocessing that runs in the model ---------------------------------------------------
from nnfast.layers.preprocessing import Rescaling


@register(Rescaling)
def _rescaling(g, node, ins):
    layer, h = node.layer, node.layer.name
    y = g.op("Mul", [ins[0], g.const(np.asarray(layer.scale, np.float32), h + "/scale")], h)
    return g.op("Add", [y, g.const(np.asarray(layer.offset, np.float32), h + "/offset")], h)


# --- nested models ---------------------------------------------------------------------------
def _convert_nested_model(g, node, ins):
    return emit_model(g, node.layer, ins, [tuple(t.shape) for t in node.input_tensors])


# Converters in their own files register themselves on import.
from nnfast.export import (  # noqa: F401  # noqa: E402,F401
    onnx_attention,
    onnx_clahe,
    onnx_conv_lstm,
    onnx_more_layers,
    onnx_operations,
    onnx_preprocessing,
    onnx_recurrent,
)
