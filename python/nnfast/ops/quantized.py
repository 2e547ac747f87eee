"""int8 matrix products of quantized layers (Keras's ``Dense.quantize("int8")`` numbers):
rows of the input quantized on the fly with the abs-max scheme, products of the integers
summed exactly, and ``(xq @ kq) / (x_scale * kernel_scale)``.

With a kernel packed by ``pack_int8_kernel`` and a CPU with int8 units (AMX-INT8 tiles or
AVX512_VNNI), one C++ call (``_core.int8_dense``) quantizes the rows, sums the integer
products exactly in int32 and dequantizes in float32 in Keras's operation order. Otherwise
the integer products run on the float32 GEMM (int8 x int8 products and their sums are exact
in float32 up to 2**24, i.e. for depths to 1040; deeper sums round like any float32 sum).
"""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import Function
from nnfast.ops._util import f32
from nnfast.quantizers import abs_max_quantize


def quantize_rows(x2):
    """``(xq, scale)``: each row of a 2-D float32 array as int8-valued float32 and its scale
    ``127 / (max |row| + epsilon)`` (shape ``(rows, 1)``)."""
    q, scale = abs_max_quantize(x2, axis=1, epsilon=epsilon())
    return q.value.astype(np.float32), scale.value


# Deepest kernel the int32 sums of _core.int8_dense take without overflow (128*128*k < 2**31).
MAX_PACKED_DEPTH = 131071


def pack_int8_kernel(kernel_q):
    """Packs an int8 ``(in_dim, units)`` kernel once for the int8 GEMM, or returns None when
    the kernel is deeper than ``MAX_PACKED_DEPTH`` (the float32 route then runs).

    Example:
        >>> packed = pack_int8_kernel(np.ones((784, 10), np.int8))
        >>> packed.k, packed.n
        (784, 10)
    """
    kernel_q = np.asarray(kernel_q)
    if kernel_q.ndim != 2 or kernel_q.dtype != np.int8:
        raise ValueError("pack_int8_kernel: expected a 2-D int8 kernel, received dtype "
                         f"{kernel_q.dtype} with shape {kernel_q.shape}")
    if kernel_q.shape[0] > MAX_PACKED_DEPTH:
        return None
    return _core.int8_pack_kernel(np.ascontiguousarray(kernel_q))


def int8_units_available():
    """Whether the int8 GEMM runs on int8 units here (AMX-INT8 or AVX512_VNNI, under the
    current ISA cap) rather than its scalar reference."""
    return _core.gemm_int8_kernel_name() != "int8_gemm_ref"


class Int8Matmul(Function):
    """``x @ dequantize(kernel)`` with ``x`` quantized per row; the gradient reaches ``x``
    through the dequantized kernel (the integer weights take none), as Keras's custom
    gradient."""

    @staticmethod
    def forward(ctx, x, kernel_q, kernel_scale, packed=None):
        x = f32(x)
        in_dim, units = kernel_q.shape
        if x.shape[-1] != in_dim:
            raise ValueError(f"int8 Dense: input's last dimension must be {in_dim}, received "
                             f"input of shape {x.shape}")
        x2 = np.ascontiguousarray(x.reshape(-1, in_dim))
        y = np.empty((x2.shape[0], units), np.float32)
        if (packed is not None and packed.k == in_dim and packed.n == units
                and int8_units_available()):
            _core.int8_dense(x2, packed, f32(kernel_scale), None, y, epsilon())
        else:
            xq, x_scale = quantize_rows(x2)
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


def int8_matmul(x, kernel_q, kernel_scale, packed=None):
    """``x @ (kernel_q / kernel_scale)`` with ``x`` quantized to int8 per row (see module).

    Args:
        x: float input ``(..., in_dim)``.
        kernel_q: int8 kernel ``(in_dim, units)``.
        kernel_scale: float32 per-unit scales ``(units,)``.
        packed: ``pack_int8_kernel(kernel_q)`` (made once and kept by the caller), which
            lets the int8 units run; None takes the float32 route.

    Example:
        >>> k = np.array([[1, -2], [3, 4]], np.int8)
        >>> int8_matmul(np.ones((1, 2), np.float32), k, np.ones(2, np.float32),
        ...             packed=pack_int8_kernel(k))  # ~[[4., 2.]]
    """
    return Int8Matmul.apply(x, kernel_q, kernel_scale, packed=packed)
