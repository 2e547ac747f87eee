"""int8 convolution of a shallow first layer at inference (nnfast beyond Keras): a quantized
``Conv2D`` whose window holds few values (``kh * kw * in <= STEM_MAX_DEPTH``, MobileNetV2's
3x3x3 stride-2 stem) run by ``_core.int8_stem_conv2d_forward``.

The quantization scheme differs from the layer's own call (``ops.quantized_conv``, one abs-max
scale per window): here each sample's image is quantized once with one abs-max scale (an
image carries one range; a window of 27 values quantized on its own costs more than the
products it feeds), ``x_scale[b] = 127 / (max|x[b]| + epsilon)``, round half to even, clip to
``[-127, 127]``; the int8 kernel keeps one scale per output channel. Each output is one exact
int32 sum, dequantized in registers: ``act(fma(acc, 1 / x_scale * (1 / kernel_scale), bias))``
with relu/relu6 as a clamp. A sample holding a NaN/inf gives NaN outputs. The same bits on
every kernel (AVX512_VNNI, AVX-VNNI, reference) and at any thread count.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import recording
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import f32, value
from nnfast.ops.fused import (
    _activation_args,
    _folded_kernel_scale,
    _inference_geometry,
    _optional_f32,
)
from nnfast.ops.quantized_depthwise import TensorWithChannelAbsMax

# The deepest window (kh * kw * in values) sent to the stem kernel: deeper windows fill the
# int8 GEMM's 64-deep tiles and keep its per-window scale (ResNet50's 7x7x3 stem: 147).
STEM_MAX_DEPTH = 32


def int8_stem_applies(kernel_shape, dilation_rate=(1, 1), groups=1):
    """Whether a quantized ``Conv2D`` with this ``(kh, kw, in, out)`` kernel runs as an int8
    stem at inference (a window of at most ``STEM_MAX_DEPTH`` values, dilation 1, groups 1,
    at most 1024 filters).

    Example:
        >>> int8_stem_applies((3, 3, 3, 32))
        True
        >>> int8_stem_applies((7, 7, 3, 64))
        False
    """
    kh, kw, cin, cout = (int(d) for d in kernel_shape)
    return (len(kernel_shape) == 4 and kh * kw * cin <= STEM_MAX_DEPTH and cout <= 1024
            and tuple(dilation_rate) == (1, 1) and groups == 1 and not (kh == kw == 1))


def int8_stem_conv_inference(x, kernel_q, kernel_scale, bias=None, scale=None, strides=1,
                             padding="valid", activation=None, act_alpha=0.0, act_max=None,
                             act_threshold=0.0, zero_padding=((0, 0), (0, 0)),
                             channel_absmax=False):
    """``act(scale * conv(zero_pad(x)) + bias)`` of a quantized shallow ``Conv2D`` with each
    sample's input quantized once (see module), for inference.

    Args:
        x: ``(batch, h, w, in)`` (channels_last) float input.
        kernel_q: int8 kernel ``(kh, kw, in, out)``; ``int8_stem_applies`` must hold.
        kernel_scale: float32 ``(out,)``.
        bias, scale: ``(out,)`` or None (a folded BatchNormalization's shift and scale).
        strides, padding: as ``ops.conv`` (``"valid"``/``"same"``).
        activation: a name in ``nnfast.ops.nn.ACTIVATION_IDS`` or None, with relu's
            ``act_alpha``, ``act_max`` and ``act_threshold``.
        zero_padding: ``((top, bottom), (left, right))`` zeros added around ``x`` first.
        channel_absmax: also return each (sample, channel)'s ``max |y|`` bits in a
            ``TensorWithChannelAbsMax`` (for an int8 depthwise layer reading ``y``).

    Returns:
        A Tensor ``(batch, oh, ow, out)`` (not differentiable).

    Example:
        >>> kq = np.ones((3, 3, 3, 16), np.int8)
        >>> y = int8_stem_conv_inference(np.ones((1, 9, 9, 3), np.float32), kq,
        ...                              np.ones(16, np.float32), strides=2,
        ...                              activation="relu6")
        >>> y.shape
        (1, 4, 4, 16)
    """
    if recording():
        raise RuntimeError("int8_stem_conv_inference is an inference-only op and has no "
                           "gradient.")
    kernel_q = np.asarray(kernel_q)
    if kernel_q.dtype != np.int8 or kernel_q.ndim != 4 or not int8_stem_applies(kernel_q.shape):
        raise ValueError("int8_stem_conv_inference: expected an int8 (kh, kw, in, out) kernel "
                         f"with kh * kw * in <= {STEM_MAX_DEPTH}, received "
                         f"{kernel_q.dtype} {kernel_q.shape}")
    xv = f32(value(x))
    if xv.ndim != 4 or xv.shape[-1] != kernel_q.shape[2]:
        raise ValueError(f"int8_stem_conv_inference: expected input (batch, h, w, "
                         f"{kernel_q.shape[2]}), received {xv.shape}")
    ks = _folded_kernel_scale(kernel_scale, scale)
    strides, dilation, out_hw, pads = _inference_geometry(
        "int8_stem_conv_inference", xv.shape, kernel_q.shape, strides, padding, (1, 1),
        zero_padding)
    y = np.empty((xv.shape[0],) + tuple(out_hw) + (kernel_q.shape[-1],), np.float32)
    stats = np.zeros((y.shape[0], y.shape[-1]), np.int32) if channel_absmax else None
    _core.int8_stem_conv2d_forward(
        xv, kernel_q, np.ascontiguousarray(ks), _optional_f32(bias), y, strides, pads, dilation,
        *_activation_args(activation, act_alpha, act_max, act_threshold), epsilon(),
        channel_absmax=stats)
    return Tensor(y) if stats is None else TensorWithChannelAbsMax(y, stats)


def int8_stem_block_inference(x, stem_kernel_q, stem_kernel_scale, dw_kernel_q,
                              dw_kernel_scale, project_packed, project_kernel_scale,
                              stem_bias=None, stem_scale=None, dw_bias=None, dw_scale=None,
                              project_bias=None, project_scale=None, stem_strides=1,
                              stem_padding="valid", strides=1, padding="valid",
                              stem_activation=(None, 0.0, None, 0.0),
                              dw_activation=(None, 0.0, None, 0.0),
                              project_activation=(None, 0.0, None, 0.0),
                              stem_zero_padding=((0, 0), (0, 0)),
                              zero_padding=((0, 0), (0, 0))):
    """A quantized stem (``int8_stem_conv_inference``) feeding only a quantized depthwise
    conv feeding only a quantized 1x1 project conv, as one call over bands of output rows
    (``_core.int8_stem_block_forward``): neither the stem's nor the depthwise output is
    written to memory. The depthwise input is quantized with one scale per (sample, band of
    rows, channel), as ``ops.quantized_separable.int8_inverted_residual_inference`` does; run
    band by band, the three layers' own int8 calls (the stem's as here) give the same bits.

    Args:
        x: ``(batch, h, w, in)`` float input.
        stem_kernel_q, stem_kernel_scale: the stem's int8 ``(kh, kw, in, c)`` kernel
            (``int8_stem_applies``) and its ``(c,)`` scales.
        dw_kernel_q, dw_kernel_scale: the depthwise int8 ``(kh, kw, c, depth_multiplier)``
            kernel and its scales.
        project_packed, project_kernel_scale: ``_core.int8_pack_kernel`` of the project's
            ``(c * depth_multiplier, out)`` kernel and its scales.
        stem_bias, stem_scale, dw_bias, dw_scale, project_bias, project_scale: each step's
            folded normalization (None for none).
        stem_strides, stem_padding, strides, padding: the stem's and the depthwise conv's
            (dilation 1).
        stem_activation, dw_activation, project_activation: ``(name, alpha, max_value,
            threshold)``; name None for none.
        stem_zero_padding, zero_padding: ZeroPadding2D before the stem / the depthwise conv.

    Returns:
        A Tensor ``(batch, oh, ow, out)`` (not differentiable).

    Example:
        >>> from nnfast.ops.quantized_conv import quantize_conv_kernel
        >>> from nnfast.ops.quantized_depthwise import quantize_depthwise_kernel
        >>> sq, ss = quantize_conv_kernel(np.ones((3, 3, 3, 8), np.float32))
        >>> dq, ds = quantize_depthwise_kernel(np.ones((3, 3, 8, 1), np.float32))
        >>> pq, ps = quantize_conv_kernel(np.ones((1, 1, 8, 4), np.float32))
        >>> int8_stem_block_inference(
        ...     np.ones((1, 9, 9, 3), np.float32), sq, ss, dq, ds,
        ...     _core.int8_pack_kernel(pq.reshape(8, 4)), ps, stem_strides=2,
        ...     padding="same").shape
        (1, 4, 4, 4)
    """
    if recording():
        raise RuntimeError("int8_stem_block_inference is an inference-only op and has no "
                           "gradient.")
    xv = f32(value(x))
    stem_kernel_q, dw_kernel_q = np.asarray(stem_kernel_q), np.asarray(dw_kernel_q)
    if (stem_kernel_q.dtype != np.int8 or stem_kernel_q.ndim != 4
            or not int8_stem_applies(stem_kernel_q.shape)):
        raise ValueError("int8_stem_block_inference: expected an int8 (kh, kw, in, out) stem "
                         f"kernel with kh * kw * in <= {STEM_MAX_DEPTH}, received "
                         f"{stem_kernel_q.dtype} {stem_kernel_q.shape}")
    if dw_kernel_q.dtype != np.int8 or dw_kernel_q.ndim != 4:
        raise ValueError("int8_stem_block_inference: expected an int8 (kh, kw, c, "
                         f"depth_multiplier) depthwise kernel, received {dw_kernel_q.dtype} "
                         f"{dw_kernel_q.shape}")
    if xv.ndim != 4 or xv.shape[-1] != stem_kernel_q.shape[2]:
        raise ValueError(f"int8_stem_block_inference: expected input (batch, h, w, "
                         f"{stem_kernel_q.shape[2]}), received {xv.shape}")
    stem_strides, _, stem_hw, stem_pads = _inference_geometry(
        "int8_stem_block_inference", xv.shape, stem_kernel_q.shape, stem_strides,
        stem_padding, (1, 1), stem_zero_padding)
    hidden_shape = (xv.shape[0],) + tuple(stem_hw) + (stem_kernel_q.shape[3],)
    strides, _, out_hw, pads = _inference_geometry(
        "int8_stem_block_inference", hidden_shape, dw_kernel_q.shape, strides, padding,
        (1, 1), zero_padding)
    pks = _folded_kernel_scale(project_kernel_scale, project_scale)
    y = np.empty((xv.shape[0],) + tuple(out_hw) + (pks.shape[0],), np.float32)
    maybe = _optional_f32
    _core.int8_stem_block_forward(
        xv, stem_kernel_q, _folded_kernel_scale(stem_kernel_scale, stem_scale),
        maybe(stem_bias), stem_strides, stem_pads, tuple(stem_hw),
        *_activation_args(*stem_activation), np.ascontiguousarray(dw_kernel_q),
        f32(dw_kernel_scale), maybe(dw_bias), maybe(dw_scale), strides, pads,
        *_activation_args(*dw_activation), project_packed, pks, maybe(project_bias),
        *_activation_args(*project_activation), y, epsilon())
    return Tensor(y)
