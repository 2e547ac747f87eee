"""int8 matrix products of quantized layers (Keras's ``Dense.quantize("int8")`` numbers):
rows of the input quantized on the fly with the abs-max scheme, products of the integers
summed exactly, and ``(xq @ kq) / (x_scale * kernel_scale)``.

The integer products run on the float32 GEMM (int8 x int8 products and their sums are exact
in float32 up to 2**24, i.e. for depths to 1040; deeper sums round like any float32 sum), so
this path has Keras's numbers at float32 speed; int8 units (VNNI, AMX-INT8) are not used yet.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import Function
from nnfast.ops._util import f32


def quantize_rows(x2):
    """``(xq, scale)``: each row of a 2-D float32 array as int8-valued float32 and its scale
    ``127 / (max |row| + epsilon)`` (shape ``(rows, 1)``)."""
    scale = np.divide(np.float32(127.0), np.abs(x2).max(axis=1, keepdims=True) +
                      np.float32(epsilon()), dtype=np.float32)
    return np.clip(np.round(x2 * scale), -127, 127).astype(np.float32), scale


class Int8Matmul(Function):
    """``x @ dequantize(kernel)`` with ``x`` quantized per row; the gradient reaches ``x``
    through the dequantized kernel (the integer weights take none), as Keras's custom
    gradient."""

    @staticmethod
    def forward(ctx, x, kernel_q, kernel_scale):
        x = f32(x)
        in_dim, units = kernel_q.shape
        if x.shape[-1] != in_dim:
            raise ValueError(f"int8 Dense: input's last dimension must be {in_dim}, received "
                             f"input of shape {x.shape}")
        x2 = x.reshape(-1, in_dim)
        xq, x_scale = quantize_rows(x2)
        y = np.empty((x2.shape[0], units), np.float32)
        _core.gemm(xq, kernel_q.astype(np.float32), y)
        y /= x_scale * kernel_scale.astype(np.float32)  # Keras: x / (kernel_scale * x_scale)
        if ctx.needs_input_grad:
            ctx.saved = (kernel_q, kernel_scale, x.shape)
        return y.reshape(x.shape[:-1] + (units,))

    @staticmethod
    def backward(ctx, g):
        kernel_q, kernel_scale, x_shape = ctx.saved
        float_kernel = kernel_q.astype(np.float32) / kernel_scale.astype(np.float32)
        g2 = f32(g).reshape(-1, float_kernel.shape[1])
        dx = np.empty((g2.shape[0], float_kernel.shape[0]), np.float32)
        _core.gemm(g2, float_kernel, dx, trans_b=True)
        return dx.reshape(x_shape), None, None


def int8_matmul(x, kernel_q, kernel_scale):
    """``x @ (kernel_q / kernel_scale)`` with ``x`` quantized to int8 per row (see module)."""
    return Int8Matmul.apply(x, kernel_q, kernel_scale)
