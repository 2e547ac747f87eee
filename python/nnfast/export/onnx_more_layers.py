"""ONNX converters of the less common built-in layers: Conv3D/Conv3DTranspose (their own
``call`` over the 3-D kernels), EinsumDense, dot-product and additive Attention,
Normalization, CenterCrop, TimeDistributed, the random augmentation layers (identity at
inference, as nnfast and Keras run them outside training), the adaptive poolings (static
windows), SpectralNormalization, ReversibleEmbedding, Pipeline, RandomCrop and
STFTSpectrogram."""
import numpy as np

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.export.onnx_graph import ExportError
from nnfast.export.onnx_layers import (
    _conv,
    _conv_transpose,
    _identity,
    _in_shape,
    _np,
    activation,
    convert,
    register,
)
from nnfast.layers import augmentation, preprocessing
from nnfast.layers.attention import _LARGE_NEGATIVE, AdditiveAttention, Attention
from nnfast.layers.convolutional3d import Conv3D, Conv3DTranspose
from nnfast.layers.einsum_dense import EinsumDense
from nnfast.layers.wrappers import TimeDistributed

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


# --- adaptive pooling -----------------------------------------------------------------------
from nnfast.layers.pooling3d import _AdaptivePooling  # noqa: E402


@register(_AdaptivePooling)
def _adaptive_pooling(g, node, ins):
    """Each spatial axis in turn (the windows are separable, as nnfast pools them): output
    ``i`` reduces the static window ``[floor(i*n/o), ceil((i+1)*n/o))`` of that axis."""
    layer = node.layer
    h = layer.name
    shape = _in_shape(node)
    first = 2 if layer.data_format == "channels_first" else 1
    reduce = "ReduceMean" if layer.kind == "avg" else "ReduceMax"
    y = ins[0]
    for k, out in enumerate(layer.output_size):
        axis = first + k
        n = shape[axis]
        if n is None:
            raise ExportError(f"{type(layer).__name__} '{h}' needs static spatial sizes for "
                              f"ONNX export; received input shape {shape}.")
        cells = []
        for i in range(out):
            start, stop = (i * n) // out, -((-(i + 1) * n) // out)
            window = g.op("Slice", [y, g.ints([start], h + "/starts"),
                                    g.ints([stop], h + "/ends"), g.ints([axis], h + "/axes")],
                          h)
            cells.append(g.op(reduce, [window], h, axes=[axis], keepdims=1))
        y = cells[0] if len(cells) == 1 else g.op("Concat", cells, h, axis=axis)
    return y


# --- SpectralNormalization, ReversibleEmbedding ---------------------------------------------
from nnfast.layers.reversible_embedding import ReversibleEmbedding  # noqa: E402
from nnfast.layers.spectral_normalization import SpectralNormalization  # noqa: E402


@register(SpectralNormalization)
def _spectral_normalization(g, node, ins):
    """Inference runs the wrapped layer with its kernel as it stands (training calls store
    the normalized kernel into it), as nnfast and Keras do."""
    from nnfast.export.onnx_layers import convert

    layer = node.layer
    inner = _InnerCall(layer.layer, _in_shape(node), tuple(node.output_tensors[0].shape))
    return convert(g, inner, ins)


@register(ReversibleEmbedding)
def _reversible_embedding(g, node, ins):
    """The forward lookup (the graph records only forward calls: ``reverse=True`` runs
    the projection eagerly, outside the layer-call graph)."""
    layer = node.layer
    ids = g.op("Cast", [ins[0]], layer.name, to=7)  # int64
    return g.op("Gather", [g.const(_np(layer.embeddings), layer.name + "/embeddings"), ids],
                layer.name, axis=0)


# --- Pipeline, RandomCrop -------------------------------------------------------------------
register(preprocessing.RandomCrop)(_center_crop)  # at inference: the central crop


@register(augmentation.Pipeline)
def _pipeline(g, node, ins):
    """The pipeline's layers in order, each through its own converter (at inference, as
    the export runs them)."""
    from nnfast.export.onnx_layers import convert

    x, shape = ins[0], _in_shape(node)
    for layer in node.layer.layers:
        out_shape = tuple(layer.compute_output_shape(shape))
        (x,) = convert(g, _InnerCall(layer, shape, out_shape), [x])
        shape = out_shape
    return x


# --- STFTSpectrogram ------------------------------------------------------------------------
from nnfast.layers import spectrogram as _spectrogram  # noqa: E402


@register(_spectrogram.STFTSpectrogram)
def _stft_spectrogram(g, node, ins):
    """The framed Fourier transform as nnfast computes it: one ``Conv`` per side (real,
    imaginary) over every channel's signal with the layer's STFT kernels, then the mode's
    power, magnitude or log; static time steps."""
    from nnfast.export.onnx_layers import _spatial_attrs

    layer = node.layer
    h = layer.name
    if layer.mode == "angle":
        raise ExportError(f"STFTSpectrogram '{h}' with mode='angle' has no ONNX conversion "
                          "(ONNX has no atan2).")
    shape = _in_shape(node)
    first = layer.data_format == "channels_first"
    steps, channels = (shape[2], shape[1]) if first else (shape[1], shape[2])
    if steps is None or channels is None:
        raise ExportError(f"STFTSpectrogram '{h}' needs static time steps and channels for "
                          f"ONNX export; received input shape {shape}.")
    x = ins[0] if first else g.op("Transpose", [ins[0]], h, perm=[0, 2, 1])  # (B, C, T)
    flat = g.op("Reshape", [x, g.ints([-1, 1, steps], h + "/shape")], h)
    bins = layer._fft_length // 2 + 1
    frames = _spectrogram.output_size(steps, layer.frame_length, layer._frame_step, 1,
                                      layer.padding)
    attrs = _spatial_attrs(layer.padding, [steps], [layer.frame_length], [layer._frame_step],
                           [1])

    def side(kernel):
        w = np.ascontiguousarray(np.transpose(_np(kernel), (2, 1, 0)))  # (bins, 1, length)
        y = g.op("Conv", [flat, g.const(w, h + "/kernel")], h,
                 kernel_shape=[layer.frame_length], strides=[layer._frame_step], **attrs)
        return g.op("Reshape", [y, g.ints([-1, channels, bins, frames], h + "/shape")], h)

    real = side(layer.real_kernel) if layer.mode != "imag" else None
    imag = side(layer.imag_kernel) if layer.mode != "real" else None
    eps = g.const(np.float32(_spectrogram._EPSILON), h + "/epsilon")
    if layer.mode in ("real", "imag"):
        out = real if layer.mode == "real" else imag
    elif layer.mode == "stft":
        out = g.op("Concat", [real, imag], h, axis=2)
    else:
        power = g.op("Add", [g.op("Mul", [real, real], h), g.op("Mul", [imag, imag], h)], h)
        if layer.mode == "psd":  # the inner bins counted twice (both halves of the spectrum)
            twice = np.full((bins, 1), 2.0, np.float32)
            twice[[0, -1]] = 1.0
            out = g.op("Mul", [power, g.const(twice, h + "/psd_weights")], h)
        else:
            out = g.op("Sqrt", [g.op("Max", [power, eps], h)], h)
    # (B, C, bins', frames) -> the layer's layout
    n_bins = 2 * bins if layer.mode == "stft" else bins
    if layer.expand_dims:
        out = g.op("Transpose", [out], h, perm=[0, 1, 3, 2] if first else [0, 3, 2, 1])
    else:
        out = g.op("Reshape", [out, g.ints([-1, channels * n_bins, frames], h + "/shape")], h)
        if not first:
            out = g.op("Transpose", [out], h, perm=[0, 2, 1])
    if layer.mode == "log":
        out = g.op("Log", [g.op("Max", [out, eps], h)], h)
    return out


# --- MelSpectrogram -------------------------------------------------------------------------
from nnfast.ops import spectral as _spectral  # noqa: E402


@register(_spectrogram.MelSpectrogram)
def _mel_spectrogram(g, node, ins):
    """nnfast's mel spectrogram: the signal reflect-padded by fft_length // 2, one ``Conv``
    per side (real, imaginary) with the windowed DFT kernels, the magnitude to ``mag_exp``,
    the mel filter bank as a ``MatMul``, then power_to_db as the layer computes it (the
    ``top_db`` floor below the maximum of the whole batch); static sample counts."""
    layer = node.layer
    h = layer.name
    shape = _in_shape(node)
    if len(shape) != 2 or shape[1] is None:
        raise ExportError(f"MelSpectrogram '{h}' exports (batch, samples) inputs with a static "
                          f"sample count; received input shape {shape}.")
    n, length, stride = layer.fft_length, layer.sequence_length, layer.sequence_stride
    pad = n // 2
    x = g.op("Unsqueeze", [ins[0], g.ints([1], h + "/axes")], h)  # (B, 1, samples)
    x = g.op("Pad", [x, g.ints([0, 0, pad, 0, 0, pad], h + "/pads")], h, mode="reflect")
    # The windowed DFT as convolution kernels (bins, 1, fft_length), window centred as the
    # layer's short_time_magnitude centres it.
    window = np.ones(length)
    if layer.window is not None:
        if isinstance(layer.window, str):
            cos = np.cos(2.0 * np.pi * np.arange(length) / length)
            window = 0.5 - 0.5 * cos if layer.window == "hann" else 0.54 - 0.46 * cos
        else:
            window = np.asarray(layer.window, np.float64)
    left = (n - length) // 2
    window = np.pad(window, (left, n - length - left))
    bins = n // 2 + 1
    angle = 2.0 * np.pi * np.outer(np.arange(bins), np.arange(n)) / n

    def side(kernel, name):
        w = (kernel * window).astype(np.float32)[:, None, :]
        return g.op("Conv", [x, g.const(w, h + name)], h, kernel_shape=[n], strides=[stride])

    real, imag = side(np.cos(angle), "/dft_real"), side(-np.sin(angle), "/dft_imag")
    power = g.op("Add", [g.op("Mul", [real, real], h), g.op("Mul", [imag, imag], h)], h)
    spec = g.op("Sqrt", [power], h)  # (B, bins, frames)
    if layer.mag_exp != 1.0:
        spec = g.op("Pow", [spec, g.const(np.float32(layer.mag_exp), h + "/mag_exp")], h)
    bank = _spectral.mel_filterbank(layer.num_mel_bins, bins, layer.sampling_rate,
                                    layer.min_freq, layer.max_freq).astype(np.float32)
    mel = g.op("MatMul", [g.op("Transpose", [spec], h, perm=[0, 2, 1]),
                          g.const(bank, h + "/mel_filterbank")], h)  # (B, frames, mel bins)
    if layer.power_to_db:
        floor = g.const(np.float32(layer.min_power), h + "/min_power")
        ten_over_ln10 = g.const(np.float32(10.0 / np.log(10.0)), h + "/db")
        ref = 10.0 * np.log10(max(abs(layer.ref_power), layer.min_power))
        db = g.op("Sub", [g.op("Mul", [g.op("Log", [g.op("Max", [mel, floor], h)], h),
                                       ten_over_ln10], h),
                          g.const(np.float32(ref), h + "/ref_db")], h)
        peak = g.op("ReduceMax", [db], h, keepdims=1)
        mel = g.op("Max", [db, g.op("Sub", [peak, g.const(np.float32(layer.top_db),
                                                          h + "/top_db")], h)], h)
    return g.op("Transpose", [mel], h, perm=[0, 2, 1])  # (B, mel bins, frames)
