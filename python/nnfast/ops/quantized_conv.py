"""int8 convolution of a quantized ``Conv1D``/``Conv2D`` (nnfast beyond Keras, which
quantizes only Dense/EinsumDense/Embedding): the kernel ``(kh, kw, in, out)`` as int8 with
one float32 scale per output channel (abs-max over the window and input channels), each
output pixel's input window (an im2col row, or the pixel itself for a 1x1 stride-1
convolution) quantized on the fly with the abs-max scheme, then the int8 matrix product of
``ops.quantized`` (AMX-INT8 / AVX512_VNNI with the float32 dequantizing epilogue in one call,
else the float32 route): ``(xq @ kq) / (x_scale * kernel_scale)``, as a quantized Dense
computes on the im2col matrix."""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import recording
from nnfast.backend.tensor import Tensor
from nnfast.ops import quantized
from nnfast.ops._util import f32, value
from nnfast.ops.array import reshape
from nnfast.ops.conv import _check_padding, _geometry2d, normalize_tuple
from nnfast.ops.fused import (
    _activation_args,
    _folded_kernel_scale,
    _inference_geometry,
    _optional_f32,
)
from nnfast.ops.patches import ExtractPatches
from nnfast.ops.quantized import Int8Matmul
from nnfast.ops.quantized_depthwise import TensorWithChannelAbsMax
from nnfast.quantizers import abs_max_quantize


def quantize_conv_kernel(kernel):
    """``(int8 kernel, per-output-channel scales)`` of a float ``(..., in, out)`` kernel.

    Example:
        >>> q, s = quantize_conv_kernel(np.ones((3, 3, 2, 4), np.float32))
        >>> q.dtype, s.shape
        (dtype('int8'), (4,))
    """
    kernel = np.asarray(kernel, np.float32)
    q, scale = abs_max_quantize(kernel, axis=tuple(range(kernel.ndim - 1)))
    return np.asarray(q.value), np.asarray(scale.value).reshape(-1)


def int8_conv(x, kernel_q, kernel_scale, strides=1, padding="valid", dilation_rate=1,
              packed=None):
    """channels_last convolution with an int8 kernel and inputs quantized per window (see
    module), without bias or activation.

    Args:
        x: ``(batch, [h,] w, in)`` float input.
        kernel_q: int8 kernel ``([kh,] kw, in, out)``.
        kernel_scale: float32 ``(out,)``.
        strides, padding, dilation_rate: as ``ops.conv`` (``"valid"``/``"same"``).
        packed: ``pack_int8_kernel`` of the kernel as a ``(kh*kw*in, out)`` matrix (lets
            the int8 units run), or None for the float32 route.

    Returns:
        A Tensor ``(batch, [oh,] ow, out)``.

    Example:
        >>> q, s = quantize_conv_kernel(np.ones((3, 3, 2, 4), np.float32))
        >>> int8_conv(np.ones((1, 5, 5, 2), np.float32), q, s).shape
        (1, 3, 3, 4)
    """
    xv = value(x)
    spatial = kernel_q.ndim - 2
    if xv.ndim != spatial + 2 or xv.shape[-1] != kernel_q.shape[-2]:
        raise ValueError(f"int8 conv: expected input (batch, ..., {kernel_q.shape[-2]}) of rank "
                         f"{spatial + 2} for kernel {kernel_q.shape}, received {xv.shape}")
    padding = _check_padding(padding)
    strides = normalize_tuple(strides, spatial, "strides")
    dilation = normalize_tuple(dilation_rate, spatial, "dilation_rate")
    if spatial == 1:  # as a 1-pixel-high image
        x = reshape(x, (xv.shape[0], 1) + xv.shape[1:])
        kernel_q = kernel_q.reshape((1,) + kernel_q.shape)
        strides, dilation = (1,) + strides, (1,) + dilation
        xv = value(x)
    ksize = kernel_q.shape[:2]
    (oh, ow), _ = _geometry2d(xv.shape[1:3], ksize, strides, padding, dilation)
    if spatial == 1:
        oh = 1
    if min(oh, ow) <= 0:
        raise ValueError(f"int8 conv: the kernel {kernel_q.shape} is larger than the input "
                         f"{xv.shape}; the output would be empty")
    if ksize == (1, 1) and strides == (1, 1):
        cols = x  # the input pixels are the im2col rows
    else:
        cols = int8_conv_patches(x, ksize, strides, padding, dilation)
    y = Int8Matmul.apply(cols, kernel_q.reshape(-1, kernel_q.shape[-1]), kernel_scale,
                         packed=packed)
    if spatial == 1:
        y = reshape(y, (xv.shape[0], ow, kernel_q.shape[-1]))
    return y


def int8_conv_inference(x, kernel_q, kernel_scale, packed=None, bias=None, scale=None,
                        strides=1, padding="valid", dilation_rate=1, activation=None,
                        act_alpha=0.0, act_max=None, act_threshold=0.0,
                        zero_padding=((0, 0), (0, 0)), residual=None, channel_absmax=False):
    """``act(scale * int8_conv(zero_pad(x)) + bias + residual)`` for inference: what a
    Functional model's inference plan runs for a quantized Conv2D followed by
    BatchNormalization / a residual sum / an activation. The normalization's per-channel
    ``scale`` is folded into the dequantizing step (``kernel_scale / scale``) and ``bias``
    added in the same epilogue, as ``conv2d_inference`` folds them for float kernels.

    Args:
        x: ``(batch, h, w, in)`` (channels_last) float input.
        kernel_q, kernel_scale, packed: as ``int8_conv``.
        bias, scale: ``(out,)`` or None.
        strides, padding, dilation_rate: as ``ops.conv``.
        activation: a name in ``nnfast.ops.nn.ACTIVATION_IDS`` or None, with relu's
            ``act_alpha``, ``act_max`` and ``act_threshold``.
        zero_padding: ``((top, bottom), (left, right))`` zeros added around ``x`` first.
        residual: None or an array of the output's shape added before the activation.
        channel_absmax: also gather each (sample, channel)'s ``max |y|`` in the epilogue and
            return a ``TensorWithChannelAbsMax`` (for an int8 depthwise layer reading ``y``);
            on the int8 units only (else a plain Tensor).

    Returns:
        A Tensor ``(batch, oh, ow, out)`` (not differentiable).

    Example:
        >>> q, s = quantize_conv_kernel(np.ones((1, 1, 2, 4), np.float32))
        >>> int8_conv_inference(np.ones((1, 3, 3, 2), np.float32), q, s,
        ...                     activation="relu").shape
        (1, 3, 3, 4)
    """
    return Int8ConvInference(kernel_q, kernel_scale, packed, bias, scale, strides, padding,
                             dilation_rate, activation, act_alpha, act_max, act_threshold,
                             zero_padding, channel_absmax)(x, residual)


class Int8ConvInference:
    """``int8_conv_inference`` with its weights bound: the folded kernel scales
    (``kernel_scale / scale``), the bias and the activation's arguments are prepared once and
    the geometry once per input shape, so a call converts only the input and the residual
    (what an inference plan keeps per quantized convolution chain; the numbers are the
    function's, bit for bit).

    Args:
        The arguments of ``int8_conv_inference`` but ``x`` and ``residual``, in its order.
        The arrays are kept as given (a later in-place write to the kernel scales, bias or
        scale is not seen: make a new one).

    Example:
        >>> q, s = quantize_conv_kernel(np.ones((1, 1, 2, 4), np.float32))
        >>> conv = Int8ConvInference(q, s, activation="relu")
        >>> conv(np.ones((1, 3, 3, 2), np.float32)).shape
        (1, 3, 3, 4)
    """

    # (a plan sees one or two input shapes; more are kept up to this many)
    _SHAPES_KEPT = 64

    def __init__(self, kernel_q, kernel_scale, packed=None, bias=None, scale=None, strides=1,
                 padding="valid", dilation_rate=1, activation=None, act_alpha=0.0,
                 act_max=None, act_threshold=0.0, zero_padding=((0, 0), (0, 0)),
                 channel_absmax=False):
        self.kernel_q, self.packed = kernel_q, packed
        self.kernel_scale = _folded_kernel_scale(kernel_scale, scale)
        self.bias = _optional_f32(bias)
        self.strides, self.padding, self.dilation_rate = strides, padding, dilation_rate
        self.activation, self.zero_padding = activation, zero_padding
        self.channel_absmax = channel_absmax
        self._act_args = _activation_args(activation, act_alpha, act_max, act_threshold)
        self._by_shape = {}

    def _shape_details(self, x_shape):
        """(strides, pads, dilation, output shape) of the one-call route for ``x_shape``."""
        found = self._by_shape.get(x_shape)
        if found is None:
            kernel_q = self.kernel_q
            strides, dilation, out_hw, pads = _inference_geometry(
                "int8_conv_inference", x_shape, kernel_q.shape, self.strides, self.padding,
                self.dilation_rate, self.zero_padding)
            found = (strides, pads, dilation,
                     (x_shape[0],) + tuple(out_hw) + (kernel_q.shape[-1],))
            if len(self._by_shape) >= self._SHAPES_KEPT:
                self._by_shape.clear()
            self._by_shape[x_shape] = found
        return found

    def __call__(self, x, residual=None):
        """The chain on ``x`` ``(batch, h, w, in)`` plus ``residual`` (None or an array of the
        output's shape): a Tensor ``(batch, oh, ow, out)`` (a ``TensorWithChannelAbsMax``
        with ``channel_absmax`` on the int8 units), not differentiable."""
        if recording():
            raise RuntimeError("int8_conv_inference is an inference-only op and has no "
                               "gradient.")
        xv = f32(value(x))
        if self.packed is not None and xv.ndim == 4 and quantized.int8_units_available():
            # One C++ call: windows quantized straight from x, residual and activation in the
            # epilogue (no float im2col matrix, no extra passes over the output).
            strides, pads, dilation, out_shape = self._shape_details(xv.shape)
            y = np.empty(out_shape, np.float32)
            stats = np.zeros((out_shape[0], out_shape[-1]), np.int32) if self.channel_absmax \
                else None
            _core.int8_conv2d_forward(
                xv, self.packed, self.kernel_scale, self.bias, y, self.kernel_q.shape[:2],
                strides, pads, dilation, *self._act_args,
                None if residual is None else f32(value(residual)), epsilon(),
                channel_absmax=stats)
            return Tensor(y) if stats is None else TensorWithChannelAbsMax(y, stats)
        zero_padding = self.zero_padding
        if any(p for pair in zero_padding for p in pair):
            xv = np.pad(xv, ((0, 0),) + tuple(tuple(p) for p in zero_padding) + ((0, 0),))
        y = np.asarray(value(int8_conv(xv, self.kernel_q, self.kernel_scale, self.strides,
                                       self.padding, self.dilation_rate)))
        if self.bias is not None:
            y = y + self.bias
        if residual is not None:
            y += f32(value(residual))
        if self._act_args[0]:  # an activation id other than linear's 0
            _core.activation_forward(self._act_args[0], y, y, *self._act_args[1:])
        return Tensor(np.ascontiguousarray(y, dtype=np.float32))


def int8_conv_patches(x, ksize, strides, padding, dilation_rate):
    """The im2col rows ``(batch, oh, ow, kh*kw*in)`` ``int8_conv`` quantizes."""
    xv = value(x)
    strides = normalize_tuple(strides, 2, "strides")
    dilation = normalize_tuple(dilation_rate, 2, "dilation_rate")
    (oh, ow), _ = _geometry2d(xv.shape[1:3], ksize, strides, _check_padding(padding), dilation)
    pads = []
    for n, k, s, d, o in zip(xv.shape[1:3], ksize, strides, dilation, (oh, ow)):
        total = max((o - 1) * s + d * (k - 1) + 1 - n, 0)
        before = total // 2 if padding == "same" else 0
        pads.append((before, total - before))
    return ExtractPatches.apply(x, size=tuple(ksize), strides=tuple(strides),
                                dilation=tuple(dilation), pads=pads, out=(oh, ow))
