"""ONNX converters of the less common built-in layers: Conv3D/Conv3DTranspose (their own
``call`` over the 3-D kernels), EinsumDense, dot-product and additive Attention,
Normalization, CenterCrop, TimeDistributed, and the random augmentation layers (identity at inference, as
nnfast and Keras run them outside training)."""
import numpy as np

from nnfast.export.onnx_graph import ExportError
from nnfast.export.onnx_layers import (
    _conv,
    _conv_transpose,
    _identity,
    _in_shape,
    _np,
    activation,
    register,
)
from nnfast.layers import augmentation, preprocessing
from nnfast.layers.attention import _LARGE_NEGATIVE, AdditiveAttention, Attention
from nnfast.layers.convolutional3d import Conv3D, Conv3DTranspose
from nnfast.layers.einsum_dense import EinsumDense
from nnfast.layers.wrappers import TimeDistributed
from nnfast.export.onnx_layers import convert

register(Conv3D, folds_bn=True)(_conv)
register(Conv3DTranspose)(_conv_transpose)

# Random augmentations: Keras and nnfast apply them only when training.
_AUGMENTATIONS = [
    "AugMix", "CutMix", "MixUp", "RandAugment", "RandomBrightness", "RandomColorDegeneration",
    "RandomColorJitter", "RandomContrast", "RandomElasticTransform", "RandomErasing",
    "RandomFlip", "RandomGaussianBlur", "RandomGrayscale", "RandomHue", "RandomInvert",
    "RandomPerspective", "RandomPosterization", "RandomRotation", "RandomSaturation",
    "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom",
]


def _augmentation_classes():
    out = []
    for name in _AUGMENTATIONS:
        cls = getattr(preprocessing, name, None) or getattr(augmentation, name, None)
        if cls is not None:
            out.append(cls)
    return out


register(*_augmentation_classes())(_identity)


@register(EinsumDense)
def _einsum_dense(g, node, ins):
    layer = node.layer
    h = layer.name
    if "..." in layer.equation:
        raise ExportError(f"EinsumDense '{h}' with an ellipsis equation has no ONNX "
                          "conversion.")
    y = g.op("Einsum", [ins[0], g.const(_np(layer.kernel), h + "/kernel")], h,
             equation=layer.equation)
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(_np(layer.bias), h + "/bias")], h)
    return activation(g, y, layer.activation, h)


@register(Attention, AdditiveAttention)
def _attention(g, node, ins):
    layer = node.layer
    h = layer.name
    kw = node.kwargs
    if kw.get("mask") is not None:
        raise ExportError(f"{type(layer).__name__} '{h}' with a mask has no ONNX conversion.")
    q, v = ins[0], ins[1]
    k = ins[2] if len(ins) > 2 else v
    additive = isinstance(layer, AdditiveAttention) or layer.score_mode == "concat"
    if additive:
        qe = g.op("Unsqueeze", [q, g.ints([-2], h + "/axes")], h)
        ke = g.op("Unsqueeze", [k, g.ints([-3], h + "/axes")], h)
        s = g.op("Add", [qe, ke], h)
        if isinstance(layer, AdditiveAttention):
            s = g.op("Tanh", [s], h)
            if layer.use_scale:
                s = g.op("Mul", [s, g.const(_np(layer.scale), h + "/scale")], h)
            scores = g.op("ReduceSum", [s, g.ints([-1], h + "/axes")], h, keepdims=0)
        else:
            if layer.scale is not None:
                s = g.op("Mul", [s, g.const(_np(layer.scale), h + "/scale")], h)
            scores = g.op("ReduceSum", [g.op("Tanh", [s], h), g.ints([-1], h + "/axes")], h,
                          keepdims=0)
            scores = g.op("Mul", [scores, g.const(_np(layer.concat_score_weight),
                                                  h + "/concat_score_weight")], h)
    else:
        scores = g.op("MatMul", [q, g.op("Transpose", [k], h, perm=[0, 2, 1])], h)
        if layer.scale is not None:
            scores = g.op("Mul", [scores, g.const(_np(layer.scale), h + "/scale")], h)
    if kw.get("use_causal_mask"):
        tq, tv = node.input_tensors[0].shape[1], node.input_tensors[1].shape[1]
        if tq is None or tv is None:
            raise ExportError(f"{type(layer).__name__} '{h}' with use_causal_mask needs "
                              "static sequence lengths for ONNX export.")
        penalty = np.where(np.tril(np.ones((tq, tv), dtype=bool)), np.float32(0),
                           np.float32(-_LARGE_NEGATIVE))
        scores = g.op("Sub", [scores, g.const(penalty, h + "/causal_penalty")], h)
    weights = g.op("Softmax", [scores], h, axis=-1)
    out = g.op("MatMul", [weights, v], h)
    if kw.get("return_attention_scores"):
        return [out, weights]
    return out


@register(preprocessing.Normalization)
def _normalization(g, node, ins):
    layer = node.layer
    h = layer.name
    if layer.mean is None:
        raise ExportError(f"Normalization '{h}' has no statistics yet: call adapt() first.")
    mean = np.asarray(layer.mean, np.float32)
    std = np.maximum(np.sqrt(np.asarray(layer.variance, np.float32)),
                     np.float32(preprocessing._EPSILON)).astype(np.float32)
    x = g.op("Cast", [ins[0]], h, to=1)
    if layer.invert:
        return g.op("Add", [g.op("Mul", [x, g.const(std, h + "/std")], h),
                            g.const(mean, h + "/mean")], h)
    return g.op("Div", [g.op("Sub", [x, g.const(mean, h + "/mean")], h),
                        g.const(std, h + "/std")], h)


@register(preprocessing.CenterCrop)
def _center_crop(g, node, ins):
    layer = node.layer
    h = layer.name
    shape = _in_shape(node)
    if len(shape) != 4 or getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ExportError(f"CenterCrop '{h}' exports batched channels-last images only.")
    dh = None if shape[1] is None else shape[1] - layer.height
    dw = None if shape[2] is None else shape[2] - layer.width
    if dh is None or dw is None or dh < 0 or dw < 0:
        raise ExportError(f"CenterCrop '{h}' needs a static input at least "
                          f"{layer.height}x{layer.width} for ONNX export (a crop, not a "
                          f"resize); received {shape}.")
    top, left = dh // 2, dw // 2
    return g.op("Slice", [ins[0], g.ints([top, left], h + "/starts"),
                          g.ints([top + layer.height, left + layer.width], h + "/ends"),
                          g.ints([1, 2], h + "/axes")], h)


class _InnerCall:
    """A stand-in node for a wrapped layer's call on (batch * steps, ...) inputs."""

    def __init__(self, layer, in_shape, out_shape):
        from nnfast.backend.keras_tensor import KerasTensor

        self.layer = layer
        self.inputs = KerasTensor(in_shape)
        self.input_tensors = [self.inputs]
        self.output_tensors = [KerasTensor(out_shape)]
        self.outputs = self.output_tensors[0]
        self.args, self.kwargs = (), {}


@register(TimeDistributed)
def _time_distributed(g, node, ins):
    layer = node.layer
    h = layer.name
    shape, out = _in_shape(node), tuple(node.output_tensors[0].shape)
    if any(d is None for d in shape[2:] + out[2:]):
        raise ExportError(f"TimeDistributed '{h}' needs static sizes after the time axis for "
                          f"ONNX export; received input {shape}, output {out}.")
    flat = g.op("Reshape", [ins[0], g.ints([-1] + list(shape[2:]), h + "/shape")], h)
    inner = _InnerCall(layer.layer, (None,) + tuple(shape[2:]), (None,) + tuple(out[2:]))
    (y,) = convert(g, inner, [flat])
    lead = g.op("Slice", [g.op("Shape", [ins[0]], h), g.ints([0], h + "/starts"),
                          g.ints([2], h + "/ends")], h)
    target = g.op("Concat", [lead, g.ints(list(out[2:]), h + "/inner_shape")], h, axis=0)
    return g.op("Reshape", [y, target], h)


from nnfast.layers.thresholded_relu import ThresholdedReLU  # noqa: E402


@register(ThresholdedReLU)
def _thresholded_relu(g, node, ins):
    # ONNX's ThresholdedRelu is the same rule: x where x > alpha, else 0.
    return g.op("ThresholdedRelu", [ins[0]], node.layer.name, alpha=float(node.layer.theta))
