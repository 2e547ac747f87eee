"""Convolution in a lower compute precision (a ``mixed_bfloat16`` / ``mixed_float16`` layer's
Conv1D/Conv2D/DepthwiseConv2D, see ``ops.precision``): what Keras computes when it casts the
input and kernel to the compute dtype, with products accumulated in float32.

bfloat16 convolutions run on ``_core.conv2d_*_bf16`` (the direct AMX convolution for stride-1
convolutions with channels in 16s, im2col tiles on the AMX / AVX512_BF16 GEMM, or rounded
copies through the float32 kernels for shallow first layers; docs/precision.md); depthwise
convolutions and float16 round their operands and run the float32 kernels (a product of two
rounded values is exact in float32). Gradients are rounded the same way: the input gradient
is the lower-precision convolution of the rounded output gradient with the rounded kernel,
the kernel gradient that of the rounded input with it; bias gradients are float32 sums of
the rounded output gradient.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops._util import f32
from nnfast.ops.conv import _INF, _activation_grad
from nnfast.ops.precision import round_array


class Conv2DLowPrecision(Function):
    """NHWC conv2d + bias + activation with bf16/float16 operands (``Conv2D``'s contract in
    ``ops.conv`` plus ``dtype``). Geometry: (strides, pads, dilation, groups, out_hw)."""

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, act_id=0, depthwise=False, dtype="bfloat16"):
        on_bf16_units = dtype == "bfloat16" and not depthwise
        x = f32(x) if on_bf16_units else round_array(x, dtype)
        kernel = f32(kernel) if on_bf16_units else round_array(kernel, dtype)
        bias = None if bias is None else f32(bias)
        strides, pads, dilation, groups, (oh, ow) = geom
        out_c = kernel.shape[2] * kernel.shape[3] if depthwise else kernel.shape[3]
        y = np.empty((x.shape[0], oh, ow, out_c), dtype=np.float32)
        needs_z = act_id != 0 and _core.activation_needs_input(act_id, 0.0, 0.0)
        z = np.empty_like(y) if needs_z and ctx.recording else None
        target, fused_act = (z, 0) if z is not None else (y, act_id)
        if on_bf16_units:
            _core.conv2d_forward_bf16(x, kernel, bias, target, strides, pads, dilation, groups,
                                      fused_act)
        else:
            fwd = _core.depthwise_conv2d_forward if depthwise else _core.conv2d_forward
            fwd(x, kernel, bias, target, strides, pads, dilation, groups, fused_act)
        if z is not None:
            _core.activation_forward(act_id, z, y, 0.0, _INF, 0.0)
        if ctx.recording:
            ctx.save_for_backward(x, kernel, z, y)
            ctx.params = (geom, act_id, depthwise, bias is not None, dtype, on_bf16_units)
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, z, y = ctx.saved
        (strides, pads, dilation, groups, _), act_id, depthwise, has_bias, dtype, on_bf16_units \
            = ctx.params
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        # The gradient of a lower-precision op arrives in its dtype: bias and kernel
        # gradients are sums of rounded values, as Keras's are.
        g = f32(g)
        dz = _activation_grad(act_id, z, y, g)
        if dz is not g and dtype == "bfloat16":
            _core.round_to_bfloat16(dz, dz)  # our own temporary: rounded in place
        else:
            dz = round_array(dz, dtype)
        dx = dk = db = None
        if on_bf16_units:
            if need_x:
                dx = np.empty_like(x)
                _core.conv2d_backward_data_bf16(dz, kernel, dx, strides, pads, dilation, groups)
            if need_k or (need_b and has_bias):
                dk = np.empty_like(kernel)
                db = np.empty(dz.shape[-1], dtype=np.float32) if has_bias else None
                _core.conv2d_backward_weights_bf16(x, dz, dk, db, strides, pads, dilation,
                                                   groups)
            return dx, (dk if need_k else None), (db if need_b else None)
        prefix = "depthwise_conv2d" if depthwise else "conv2d"
        if has_bias and need_b:
            db = dz.reshape(-1, dz.shape[-1]).sum(axis=0, dtype=np.float64).astype(np.float32)
        if need_x:
            dx = np.empty_like(x)
            getattr(_core, prefix + "_backward_data")(dz, kernel, dx, strides, pads, dilation,
                                                      groups)
        if need_k:
            dk = np.empty_like(kernel)
            getattr(_core, prefix + "_backward_weights")(x, dz, dk, None, strides, pads,
                                                         dilation, groups)
        return dx, dk, db


class RoundGradient(Function):
    """The identity forward; backward rounds the incoming gradient to ``dtype`` (what a
    lower-precision op's backward sees: the fused conv+pool op runs its gradients on it)."""

    @staticmethod
    def forward(ctx, x, dtype="bfloat16"):
        ctx.params = dtype
        return f32(x)

    @staticmethod
    def backward(ctx, g):
        return (round_array(g, ctx.params),)
