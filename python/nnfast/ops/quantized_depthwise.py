"""int8 depthwise convolution of a quantized ``DepthwiseConv2D`` (nnfast beyond Keras, which
quantizes only Dense/EinsumDense/Embedding): the kernel ``(kh, kw, in, depth_multiplier)`` as
int8 with one float32 scale per output channel (abs-max over the window), each sample's input
quantized on the fly with one abs-max scale (``127 / (max|sample| + epsilon)``, Keras's scheme
with the whole feature map of a sample as the row), the taps' products summed exactly in int32
(``_core.int8_depthwise_conv2d_forward``: AVX-512 / AVX2 ``vpmaddwd`` kernels and a scalar
reference, all giving the same bits), then ``acc / (x_scale * kernel_scale)`` in float32 with the
bias, a folded batch normalization and the activation in the same epilogue.

One scale per sample (not per pixel) keeps the sums over the window's taps exact integers, and a
sample's result does not depend on the other samples of the batch."""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import Function, recording
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import f32, value
from nnfast.ops.fused import _activation_args, _inference_geometry, _optional_f32
from nnfast.quantizers import abs_max_quantize


class TensorWithChannelAbsMax(Tensor):
    """A Tensor ``(batch, h, w, c)`` carrying ``channel_absmax``: int32 ``(batch, c)``, the
    bit pattern of ``max |x|`` per sample and channel, gathered in the epilogue of the int8
    convolution that produced it, so the int8 depthwise convolution reading it next skips its
    own pass over the feature map (see ``int8_depthwise_conv_inference``).

    Example:
        >>> t = TensorWithChannelAbsMax(np.ones((1, 2, 2, 3), np.float32),
        ...                             np.zeros((1, 3), np.int32))
        >>> t.channel_absmax.shape
        (1, 3)
    """

    __slots__ = ("channel_absmax",)

    def __init__(self, value, channel_absmax):
        super().__init__(value)
        self.channel_absmax = channel_absmax


def quantize_depthwise_kernel(kernel):
    """``(int8 kernel, per-output-channel scales)`` of a float ``(kh, kw, in, dm)`` depthwise
    kernel: output channel ``c * dm + m`` gets ``127 / (max |kernel[:, :, c, m]| + eps)``.

    Example:
        >>> q, s = quantize_depthwise_kernel(np.ones((3, 3, 4, 2), np.float32))
        >>> q.dtype, s.shape
        (dtype('int8'), (8,))
    """
    kernel = np.asarray(kernel, np.float32)
    if kernel.ndim != 4:
        raise ValueError("quantize_depthwise_kernel: expected a (kh, kw, in, depth_multiplier) "
                         f"kernel, received shape {kernel.shape}")
    q, scale = abs_max_quantize(kernel, axis=(0, 1))
    return np.asarray(q.value), np.asarray(scale.value, np.float32).reshape(-1)


def checked_depthwise_operands(x, kernel_q, who):
    """(float32 input, int8 kernel) of an int8 depthwise call, or a ValueError naming ``who``
    when the input is not (batch, h, w, in) or the kernel not an int8 (kh, kw, in, dm)."""
    xv = f32(value(x))
    kernel_q = np.asarray(kernel_q)
    if xv.ndim != 4 or kernel_q.ndim != 4 or xv.shape[-1] != kernel_q.shape[2]:
        raise ValueError(f"{who}: expected a (batch, h, w, in) input and a (kh, kw, in, "
                         "depth_multiplier) int8 kernel with the same `in`, received input "
                         f"{xv.shape} and kernel {kernel_q.shape}")
    if kernel_q.dtype != np.int8:
        raise ValueError(f"{who}: the kernel must be int8, received {kernel_q.dtype}")
    return xv, kernel_q


def _run(x, kernel_q, kernel_scale, bias, scale, strides, padding, dilation_rate, activation,
         act_alpha, act_max, act_threshold, zero_padding, input_absmax=None):
    """The C++ call: (output, pads, strides, dilation)."""
    xv, kernel_q = checked_depthwise_operands(x, kernel_q, "int8 depthwise conv")
    strides, dilation, out_hw, pads = _inference_geometry(
        "int8 depthwise conv", xv.shape, kernel_q.shape, strides, padding, dilation_rate,
        zero_padding)
    out_c = kernel_q.shape[2] * kernel_q.shape[3]
    y = np.empty((xv.shape[0],) + tuple(out_hw) + (out_c,), np.float32)
    _core.int8_depthwise_conv2d_forward(
        xv, np.ascontiguousarray(kernel_q), f32(kernel_scale), _optional_f32(bias), y, strides,
        pads, dilation, *_activation_args(activation, act_alpha, act_max, act_threshold),
        scale=_optional_f32(scale), epsilon=epsilon(), input_absmax=input_absmax)
    return y, pads, strides, dilation


class Int8DepthwiseConv(Function):
    """``int8_depthwise_conv``; the gradient reaches ``x`` through the dequantized kernel (the
    straight-through rule Keras's int8 Dense uses), the integer weights take none."""

    @staticmethod
    def forward(ctx, x, kernel_q, kernel_scale, strides=1, padding="valid", dilation_rate=1):
        y, pads, strides, dilation = _run(x, kernel_q, kernel_scale, None, None, strides,
                                          padding, dilation_rate, None, 0.0, None, 0.0,
                                          ((0, 0), (0, 0)))
        if ctx.needs_input_grad:
            ctx.saved = (kernel_q, kernel_scale, value(x).shape, strides, pads, dilation)
        return y

    @staticmethod
    def backward(ctx, g):
        kernel_q, kernel_scale, x_shape, strides, pads, dilation = ctx.saved
        float_kernel = kernel_q.astype(np.float32) / np.asarray(
            kernel_scale, np.float32).reshape(kernel_q.shape[2:])
        dx = np.empty(x_shape, np.float32)
        _core.depthwise_conv2d_backward_data(np.ascontiguousarray(f32(g)), float_kernel, dx,
                                             strides, pads, dilation)
        return dx, None, None


def int8_depthwise_conv(x, kernel_q, kernel_scale, strides=1, padding="valid",
                        dilation_rate=1):
    """channels_last depthwise convolution with an int8 kernel and each sample's input
    quantized to int8 (see module), without bias or activation.

    Args:
        x: ``(batch, h, w, in)`` float input.
        kernel_q: int8 kernel ``(kh, kw, in, depth_multiplier)``.
        kernel_scale: float32 ``(in * depth_multiplier,)``.
        strides, padding, dilation_rate: as ``ops.depthwise_conv``.

    Returns:
        A Tensor ``(batch, oh, ow, in * depth_multiplier)``; differentiable in ``x``.

    Example:
        >>> q, s = quantize_depthwise_kernel(np.ones((3, 3, 2, 1), np.float32))
        >>> int8_depthwise_conv(np.ones((1, 5, 5, 2), np.float32), q, s).shape
        (1, 3, 3, 2)
    """
    return Int8DepthwiseConv.apply(x, kernel_q, kernel_scale, strides=strides, padding=padding,
                                   dilation_rate=dilation_rate)


def int8_depthwise_conv_inference(x, kernel_q, kernel_scale, bias=None, scale=None, strides=1,
                                  padding="valid", dilation_rate=1, activation=None,
                                  act_alpha=0.0, act_max=None, act_threshold=0.0,
                                  zero_padding=((0, 0), (0, 0))):
    """``act(scale * int8_depthwise_conv(zero_pad(x)) + bias)`` in one call, for inference:
    what a model's inference plan runs for a quantized DepthwiseConv2D followed by
    BatchNormalization and an activation (the normalization folded into ``scale``/``bias``).

    Args:
        x: ``(batch, h, w, in)`` float input.
        kernel_q, kernel_scale: as ``int8_depthwise_conv``.
        bias, scale: ``(in * depth_multiplier,)`` or None.
        strides, padding, dilation_rate: as ``ops.depthwise_conv``.
        activation: a name in ``nnfast.ops.nn.ACTIVATION_IDS`` or None, with relu's
            ``act_alpha``, ``act_max`` and ``act_threshold``.
        zero_padding: ``((top, bottom), (left, right))`` zeros added around ``x`` first.

    When ``x`` is a ``TensorWithChannelAbsMax`` (what a fused int8 convolution hands the
    depthwise layer it feeds), its per-(sample, channel) maxima are used instead of a pass over
    ``x`` to find them (zero padding changes no maximum).

    Returns:
        A Tensor ``(batch, oh, ow, in * depth_multiplier)`` (not differentiable).

    Example:
        >>> q, s = quantize_depthwise_kernel(np.ones((3, 3, 2, 1), np.float32))
        >>> int8_depthwise_conv_inference(np.ones((1, 5, 5, 2), np.float32), q, s,
        ...                               activation="relu6", padding="same").shape
        (1, 5, 5, 2)
    """
    if recording():
        raise RuntimeError("int8_depthwise_conv_inference is an inference-only op and has no "
                           "gradient; use int8_depthwise_conv under a GradientTape.")
    stats = getattr(x, "channel_absmax", None)
    if stats is not None and stats.shape != (x.shape[0], x.shape[-1]):
        stats = None
    y, _, _, _ = _run(x, kernel_q, kernel_scale, bias, scale, strides, padding, dilation_rate,
                      activation, act_alpha, act_max, act_threshold, zero_padding, stats)
    return Tensor(y)
