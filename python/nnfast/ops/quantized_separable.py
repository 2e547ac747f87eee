"""Chains of quantized convolutions around a depthwise one, each in one C++ call (nnfast beyond
Keras, which quantizes no convolution). ``int8_separable_inference``: a quantized
DepthwiseConv2D chain feeding a quantized 1x1 Conv2D chain, the int8 form of the float32 plan's
``separable_inference``. Blocks of output pixels run the int8 depthwise kernel, quantize its
output per pixel while it is in cache and multiply it by the packed pointwise kernel on the
int8 GEMM (``_core.int8_depthwise_pointwise_forward``), so the depthwise output is never
written to memory. The numbers are those of ``int8_depthwise_conv_inference`` followed by
``int8_conv_inference``, bit for bit. ``int8_inverted_residual_inference``: the 1x1 expand
conv before the depthwise one as well (MobileNetV2's inverted residual block), over bands of
output rows."""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import recording
from nnfast.backend.tensor import Tensor
from nnfast.ops import quantized
from nnfast.ops._util import f32, value
from nnfast.ops.fused import (
    _activation_args,
    _folded_kernel_scale,
    _inference_geometry,
    _optional_f32,
)
from nnfast.ops.quantized_depthwise import checked_depthwise_operands


def int8_separable_available(x):
    """Whether the one-call int8 chains (``int8_separable_inference``,
    ``int8_inverted_residual_inference``) can run on ``x`` here: a 4-D input and int8 units
    under the current ISA cap; otherwise the layers run their own int8 calls.

    Args:
        x: the chain's input (array or Tensor).

    Returns:
        bool.

    Example:
        >>> int8_separable_available(np.zeros((1, 4, 4, 8), np.float32)) in (True, False)
        True
    """
    return value(x).ndim == 4 and quantized.int8_units_available()


def int8_separable_inference(x, dw_kernel_q, dw_kernel_scale, pw_packed, pw_kernel_scale,
                             dw_bias=None, dw_scale=None, pw_bias=None, pw_scale=None,
                             strides=1, padding="valid", dilation_rate=1,
                             dw_activation=(None, 0.0, None, 0.0),
                             pw_activation=(None, 0.0, None, 0.0),
                             zero_padding=((0, 0), (0, 0)), residual=None):
    """``pw_act(int8_pointwise(dw_act(int8_depthwise(zero_pad(x)))) + residual)`` in one call,
    for inference: what a model's inference plan runs for a quantized DepthwiseConv2D chain
    (with its BatchNormalization and activation) whose output only a quantized 1x1 stride-1
    Conv2D chain reads.

    Args:
        x: ``(batch, h, w, in)`` float input; a ``TensorWithChannelAbsMax`` (what a fused int8
            convolution hands on) lends its per-channel maxima.
        dw_kernel_q, dw_kernel_scale: the depthwise layer's int8 kernel ``(kh, kw, in, dm)``
            and its ``(in * dm,)`` scales.
        pw_packed, pw_kernel_scale: the pointwise layer's packed ``(in * dm, out)`` int8
            kernel (``layers.quantization.packed_kernel``) and its ``(out,)`` scales.
        dw_bias, dw_scale, pw_bias, pw_scale: each layer's bias and folded normalization scale
            (``(channels,)`` or None).
        strides, padding, dilation_rate: the depthwise layer's.
        dw_activation, pw_activation: ``(name, alpha, max_value, threshold)``; name None for
            none.
        zero_padding: ``((top, bottom), (left, right))`` zeros added around ``x`` first.
        residual: None or an array of the output's shape added before ``pw_act``.

    Returns:
        A Tensor ``(batch, oh, ow, out)`` (not differentiable).

    Example:
        >>> from nnfast.ops.quantized_conv import quantize_conv_kernel
        >>> from nnfast.ops.quantized_depthwise import quantize_depthwise_kernel
        >>> dq, ds = quantize_depthwise_kernel(np.ones((3, 3, 4, 1), np.float32))
        >>> pq, ps = quantize_conv_kernel(np.ones((1, 1, 4, 8), np.float32))
        >>> packed = _core.int8_pack_kernel(pq.reshape(4, 8))
        >>> int8_separable_inference(np.ones((1, 6, 6, 4), np.float32), dq, ds, packed, ps,
        ...                          padding="same").shape
        (1, 6, 6, 8)
    """
    if recording():
        raise RuntimeError("int8_separable_inference is an inference-only op and has no "
                           "gradient.")
    xv, dw_kernel_q = checked_depthwise_operands(x, dw_kernel_q, "int8 separable")
    strides, dilation, out_hw, pads = _inference_geometry(
        "int8 separable", xv.shape, dw_kernel_q.shape, strides, padding, dilation_rate,
        zero_padding)
    pks = _folded_kernel_scale(pw_kernel_scale, pw_scale)
    stats = getattr(x, "channel_absmax", None)
    if stats is not None and stats.shape != (xv.shape[0], xv.shape[-1]):
        stats = None
    y = np.empty((xv.shape[0],) + tuple(out_hw) + (pks.shape[0],), np.float32)
    _core.int8_depthwise_pointwise_forward(
        xv, np.ascontiguousarray(dw_kernel_q), f32(dw_kernel_scale),
        None if dw_bias is None else f32(value(dw_bias)),
        None if dw_scale is None else f32(value(dw_scale)), strides, pads, dilation,
        *_activation_args(*dw_activation), stats, pw_packed, pks,
        None if pw_bias is None else f32(value(pw_bias)),
        None if residual is None else f32(value(residual)), *_activation_args(*pw_activation), y,
        epsilon())
    return Tensor(y)


def int8_inverted_residual_inference(x, expand_packed, expand_kernel_scale, dw_kernel_q,
                                     dw_kernel_scale, project_packed, project_kernel_scale,
                                     expand_bias=None, expand_scale=None, dw_bias=None,
                                     dw_scale=None, project_bias=None, project_scale=None,
                                     strides=1, padding="valid", dilation_rate=1,
                                     expand_activation=(None, 0.0, None, 0.0),
                                     dw_activation=(None, 0.0, None, 0.0),
                                     project_activation=(None, 0.0, None, 0.0),
                                     zero_padding=((0, 0), (0, 0)), residual=None):
    """MobileNetV2's inverted residual block in int8 (expand 1x1 -> depthwise -> project 1x1,
    each quantized, with their normalizations and activations, the residual added before the
    project activation) in one call over bands of output rows
    (``_core.int8_inverted_residual_forward``): neither the expanded nor the depthwise feature
    map is ever written to memory. The expand and project steps give
    ``int8_conv_inference``'s numbers; the depthwise input is quantized with one scale per
    sample, band of rows (``_core.int8_inverted_residual_band_rows``; the whole image when
    it fits ~512 KB) and channel, rather than per sample and channel.

    Args:
        x: ``(batch, h, w, in)`` float input.
        expand_packed, expand_kernel_scale: the expand layer's packed ``(in, hidden)`` int8
            kernel and its scales.
        dw_kernel_q, dw_kernel_scale: the depthwise layer's int8 ``(kh, kw, hidden, dm)``
            kernel and scales.
        project_packed, project_kernel_scale: the project layer's packed ``(hidden * dm,
            out)`` int8 kernel and its scales.
        *_bias, *_scale: each layer's bias and folded normalization scale, or None.
        strides, padding, dilation_rate, zero_padding: the depthwise layer's geometry
            (``zero_padding``: a ZeroPadding2D before it).
        expand_activation, dw_activation, project_activation: ``(name, alpha, max_value,
            threshold)``; name None for none.
        residual: None or an array of the output's shape.

    Returns:
        A Tensor ``(batch, oh, ow, out)`` (not differentiable).

    Example:
        >>> from nnfast.ops.quantized_conv import quantize_conv_kernel
        >>> from nnfast.ops.quantized_depthwise import quantize_depthwise_kernel
        >>> eq, es = quantize_conv_kernel(np.ones((1, 1, 4, 8), np.float32))
        >>> dq, ds = quantize_depthwise_kernel(np.ones((3, 3, 8, 1), np.float32))
        >>> pq, ps = quantize_conv_kernel(np.ones((1, 1, 8, 4), np.float32))
        >>> int8_inverted_residual_inference(
        ...     np.ones((1, 6, 6, 4), np.float32), _core.int8_pack_kernel(eq.reshape(4, 8)), es,
        ...     dq, ds, _core.int8_pack_kernel(pq.reshape(8, 4)), ps, padding="same").shape
        (1, 6, 6, 4)
    """
    return InvertedResidualBlock(
        expand_packed, expand_kernel_scale, dw_kernel_q, dw_kernel_scale, project_packed,
        project_kernel_scale, expand_bias, expand_scale, dw_bias, dw_scale, project_bias,
        project_scale, strides, padding, dilation_rate, expand_activation, dw_activation,
        project_activation, zero_padding)(x, residual)


class InvertedResidualBlock:
    """``int8_inverted_residual_inference`` with its weights bound: the arguments that depend
    only on the weights (folded kernel scales, activations, contiguous kernels) are prepared
    once, and the geometry once per input shape, so a call converts only the input and the
    residual (what an inference plan runs per MobileNetV2 block; the numbers are the
    function's, bit for bit).

    Args:
        The weight and geometry arguments of ``int8_inverted_residual_inference``, in its
        order (everything but ``x`` and ``residual``). The arrays are kept as given (a later
        in-place write to one is not seen: make a new block).

    Example:
        >>> from nnfast.ops.quantized_conv import quantize_conv_kernel
        >>> from nnfast.ops.quantized_depthwise import quantize_depthwise_kernel
        >>> eq, es = quantize_conv_kernel(np.ones((1, 1, 4, 8), np.float32))
        >>> dq, ds = quantize_depthwise_kernel(np.ones((3, 3, 8, 1), np.float32))
        >>> pq, ps = quantize_conv_kernel(np.ones((1, 1, 8, 4), np.float32))
        >>> block = InvertedResidualBlock(
        ...     _core.int8_pack_kernel(eq.reshape(4, 8)), es, dq, ds,
        ...     _core.int8_pack_kernel(pq.reshape(8, 4)), ps, padding="same")
        >>> block(np.ones((1, 6, 6, 4), np.float32)).shape
        (1, 6, 6, 4)
    """

    # (a plan sees one or two input shapes; more are kept up to this many)
    _SHAPES_KEPT = 64

    def __init__(self, expand_packed, expand_kernel_scale, dw_kernel_q, dw_kernel_scale,
                 project_packed, project_kernel_scale, expand_bias=None, expand_scale=None,
                 dw_bias=None, dw_scale=None, project_bias=None, project_scale=None,
                 strides=1, padding="valid", dilation_rate=1,
                 expand_activation=(None, 0.0, None, 0.0), dw_activation=(None, 0.0, None, 0.0),
                 project_activation=(None, 0.0, None, 0.0), zero_padding=((0, 0), (0, 0))):
        dw_kernel_q = np.asarray(dw_kernel_q)
        if dw_kernel_q.ndim != 4:
            raise ValueError("int8 inverted residual: expected a (kh, kw, hidden, "
                             f"depth_multiplier) kernel, received kernel {dw_kernel_q.shape}")
        if dw_kernel_q.dtype != np.int8:
            raise ValueError("int8 inverted residual: the depthwise kernel must be int8, "
                             f"received {dw_kernel_q.dtype}")
        project_ks = _folded_kernel_scale(project_kernel_scale, project_scale)
        # the C++ arguments between the input and the geometry, and after it
        self._head = (expand_packed, _folded_kernel_scale(expand_kernel_scale, expand_scale),
                      _optional_f32(expand_bias), *_activation_args(*expand_activation),
                      np.ascontiguousarray(dw_kernel_q), f32(dw_kernel_scale),
                      _optional_f32(dw_bias), _optional_f32(dw_scale))
        self._middle = (*_activation_args(*dw_activation), project_packed, project_ks,
                        _optional_f32(project_bias))
        self._tail = _activation_args(*project_activation)
        self._geometry = (dw_kernel_q.shape, strides, padding, dilation_rate, zero_padding)
        self._out_channels = project_ks.shape[0]
        self._by_shape = {}

    def _shape_details(self, x_shape):
        """(strides, pads, dilation, output shape) for an input of ``x_shape``."""
        found = self._by_shape.get(x_shape)
        if found is None:
            k_shape, strides, padding, dilation_rate, zero_padding = self._geometry
            if len(x_shape) != 4:
                raise ValueError("int8 inverted residual: expected a (batch, h, w, in) input "
                                 f"and a (kh, kw, hidden, depth_multiplier) kernel, received "
                                 f"input {x_shape} and kernel {k_shape}")
            strides, dilation, out_hw, pads = _inference_geometry(
                "int8 inverted residual", x_shape[:3] + (k_shape[2],), k_shape, strides,
                padding, dilation_rate, zero_padding)
            found = (strides, pads, dilation,
                     (x_shape[0],) + tuple(out_hw) + (self._out_channels,))
            if len(self._by_shape) >= self._SHAPES_KEPT:
                self._by_shape.clear()
            self._by_shape[x_shape] = found
        return found

    def __call__(self, x, residual=None):
        """The block on ``x`` ``(batch, h, w, in)`` plus ``residual`` (None or an array of the
        output's shape): a Tensor ``(batch, oh, ow, out)``, not differentiable."""
        if recording():
            raise RuntimeError("int8_inverted_residual_inference is an inference-only op and "
                               "has no gradient.")
        xv = f32(value(x))
        strides, pads, dilation, out_shape = self._shape_details(xv.shape)
        y = np.empty(out_shape, np.float32)
        _core.int8_inverted_residual_forward(
            xv, *self._head, strides, pads, dilation, *self._middle,
            None if residual is None else f32(value(residual)), *self._tail, y, epsilon())
        return Tensor(y)
