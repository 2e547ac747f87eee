"""int8 convolution of a quantized ``Conv1D``/``Conv2D`` (nnfast beyond Keras, which
quantizes only Dense/EinsumDense/Embedding): the kernel ``(kh, kw, in, out)`` as int8 with
one float32 scale per output channel (abs-max over the window and input channels), each
output pixel's input window (an im2col row, or the pixel itself for a 1x1 stride-1
convolution) quantized on the fly with the abs-max scheme, then the int8 matrix product of
``ops.quantized`` (AMX-INT8 / AVX512_VNNI with the float32 dequantizing epilogue in one call,
else the float32 route): ``(xq @ kq) / (x_scale * kernel_scale)``, as a quantized Dense
computes on the im2col matrix."""
import numpy as np

from nnfast.ops._util import value
from nnfast.ops.conv import _check_padding, _geometry2d, normalize_tuple
from nnfast.ops.patches import ExtractPatches
from nnfast.ops.quantized import Int8Matmul


def quantize_conv_kernel(kernel):
    """``(int8 kernel, per-output-channel scales)`` of a float ``(..., in, out)`` kernel.

    Example:
        >>> q, s = quantize_conv_kernel(np.ones((3, 3, 2, 4), np.float32))
        >>> q.dtype, s.shape
        (dtype('int8'), (4,))
    """
    from nnfast.quantizers import abs_max_quantize

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
    from nnfast.ops.array import reshape

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
        pads = []
        for n, k, s, d, o in zip(xv.shape[1:3], ksize, strides, dilation, (oh, ow)):
            total = max((o - 1) * s + d * (k - 1) + 1 - n, 0)
            before = total // 2 if padding == "same" else 0
            pads.append((before, total - before))
        cols = ExtractPatches.apply(x, size=tuple(ksize), strides=tuple(strides),
                                    dilation=tuple(dilation), pads=pads, out=(oh, ow))
    y = Int8Matmul.apply(cols, kernel_q.reshape(-1, kernel_q.shape[-1]), kernel_scale,
                         packed=packed)
    if spatial == 1:
        y = reshape(y, (xv.shape[0], ow, kernel_q.shape[-1]))
    return y
