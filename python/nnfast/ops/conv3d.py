"""3-D convolution ops on NDHWC (``channels_last``) arrays, with gradients.

Kernels follow Keras's layouts: ``conv3d`` (kd, kh, kw, in/groups, out), ``conv3d_transpose``
(kd, kh, kw, out, in). Output sizes and 'same' padding use Keras/TensorFlow arithmetic (see
``nnfast.ops.conv``). The C++ driver gathers each output depth's input slices into channels and
runs the 2-D convolution machinery on them (``cpp/src/ops/conv3d.cpp``).
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops._util import f32, value
from nnfast.ops.conv import (_INF, _activation_grad, _activation_id, _check_padding,
                             bias_activation_epilogue,
                             _from_nhwc, _pad_before, _standardize_data_format, _to_nhwc,
                             normalize_tuple, output_size, transpose_output_size)


class Conv3D(Function):
    """NDHWC conv3d + bias + activation. geom = (strides, pads, dilation, groups, out_dhw)."""

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, act_id=0):
        x, kernel = f32(x), f32(kernel)
        bias = None if bias is None else f32(bias)
        strides, pads, dilation, groups, out_dhw = geom
        y = np.empty((x.shape[0],) + tuple(out_dhw) + (kernel.shape[4],), dtype=np.float32)
        z = None
        if act_id != 0 and ctx.recording and _core.activation_needs_input(act_id, 0.0, 0.0):
            z = np.empty_like(y)
            _core.conv3d_forward(x, kernel, bias, z, strides, pads, dilation, groups)
            _core.activation_forward(act_id, z, y, 0.0, _INF, 0.0)
        else:
            _core.conv3d_forward(x, kernel, bias, y, strides, pads, dilation, groups, act_id)
        if ctx.recording:
            ctx.save_for_backward(x, kernel, z, y)
            ctx.params = (geom, act_id, bias is not None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, z, y = ctx.saved
        (strides, pads, dilation, groups, _), act_id, has_bias = ctx.params
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        dz = _activation_grad(act_id, z, y, f32(g))
        dx = dk = db = None
        if need_x:
            dx = np.empty_like(x)
            _core.conv3d_backward_data(dz, kernel, dx, strides, pads, dilation, groups)
        if need_k or (need_b and has_bias):
            dk = np.empty_like(kernel)
            db = np.empty(dz.shape[-1], dtype=np.float32) if has_bias else None
            _core.conv3d_backward_weights(x, dz, dk, db, strides, pads, dilation, groups)
        return dx, (dk if need_k else None), (db if need_b else None)


class ConvTranspose3D(Function):
    """NDHWC transposed conv3d: the backward-data pass of the convolution it transposes
    (Keras's kernel (kd, kh, kw, out, in) is that convolution's (.., cin=out, cout=in))."""

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, act_id=0):
        x, kernel = f32(x), f32(kernel)
        bias = None if bias is None else f32(bias)
        strides, pads, dilation, out_dhw = geom
        y = np.empty((x.shape[0],) + tuple(out_dhw) + (kernel.shape[3],), dtype=np.float32)
        _core.conv3d_backward_data(x, kernel, y, strides, pads, dilation, 1)
        z, y = bias_activation_epilogue(y, bias, act_id, ctx.recording)
        if ctx.recording:
            ctx.save_for_backward(x, kernel, z, y)
            ctx.params = (geom, act_id, bias is not None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, z, y = ctx.saved
        (strides, pads, dilation, _), act_id, has_bias = ctx.params
        dz = _activation_grad(act_id, z, y, f32(g))
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        dx = dk = db = None
        if need_x:
            dx = np.empty_like(x)
            _core.conv3d_forward(dz, kernel, None, dx, strides, pads, dilation, 1)
        if need_k:
            dk = np.empty_like(kernel)
            _core.conv3d_backward_weights(dz, x, dk, None, strides, pads, dilation, 1)
        if need_b and has_bias:
            db = dz.reshape(-1, dz.shape[-1]).sum(axis=0, dtype=np.float32)
        return dx, dk, db


def _check_rank5(xv, what):
    if xv.ndim != 5:
        raise ValueError(f"{what} expects a 5-D input (batch, depth, height, width, channels), "
                         f"received shape {xv.shape}")


def conv3d_bias_activation(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
                           activation=None, data_format=None):
    """Fused ``activation(conv3d(x, kernel) + bias)``.

    Args:
        x: ``(batch, d, h, w, in)`` (channels_last) or ``(batch, in, d, h, w)``.
        kernel: ``(kd, kh, kw, in/groups, out)``; groups are inferred from it.
        bias: ``(out,)`` or None.
        padding: ``"valid"`` or ``"same"``.
        activation: an activation name fused into the kernel's output pass (softmax and
            sigmoid run afterwards).

    Returns:
        A Tensor ``(batch, od, oh, ow, out)`` (channels_first: ``(batch, out, od, oh, ow)``).

    Example:
        >>> conv3d_bias_activation(np.ones((1, 4, 5, 6, 2), "float32"),
        ...                        np.ones((3, 3, 3, 2, 4), "float32")).shape
        (1, 2, 3, 4, 4)
    """
    data_format = _standardize_data_format(data_format)
    _check_rank5(value(x), "conv3d")
    kshape = tuple(np.shape(value(kernel)))
    if len(kshape) != 5:
        raise ValueError(f"conv3d kernel must have rank 5 (kd, kh, kw, in, out), received "
                         f"kernel shape {kshape}")
    padding = _check_padding(padding)
    strides = normalize_tuple(strides, 3, "strides")
    dilation = normalize_tuple(dilation_rate, 3, "dilation_rate")
    act_id, post = _activation_id(activation)
    x = _to_nhwc(x, data_format, 5)
    xv = value(x)
    in_c = xv.shape[-1]
    if in_c % kshape[3] or kshape[4] % (in_c // kshape[3]):
        raise ValueError(f"conv3d kernel {kshape} does not fit an input with {in_c} channels: "
                         "in_channels must be a multiple of kernel.shape[-2] and the number of "
                         "groups must divide the filters")
    groups = in_c // kshape[3]
    outs = tuple(output_size(n, k, s, d, padding)
                 for n, k, s, d in zip(xv.shape[1:4], kshape[:3], strides, dilation))
    pads = tuple(_pad_before(n, k, s, d, padding)
                 for n, k, s, d in zip(xv.shape[1:4], kshape[:3], strides, dilation))
    if min(outs) <= 0:
        raise ValueError(f"conv3d: the kernel {kshape} with dilation {dilation} is larger than "
                         f"the padded input {xv.shape}; the output would be empty")
    y = Conv3D.apply(x, kernel, bias, (strides, pads, dilation, groups, outs), act_id)
    if post is not None:
        y = post(y)
    return _from_nhwc(y, data_format, 5)


def conv3d_transpose_bias_activation(x, kernel, bias=None, strides=1, padding="valid",
                                     output_padding=None, dilation_rate=1, activation=None,
                                     data_format=None):
    """Fused ``activation(conv_transpose(x, kernel) + bias)`` for 5-D inputs.

    Args:
        x: ``(batch, d, h, w, in)`` (channels_last).
        kernel: ``(kd, kh, kw, out, in)`` (Keras's Conv3DTranspose layout).
        output_padding: None or an int/triple (< stride).

    Returns:
        A Tensor ``(batch, od, oh, ow, out)``, sizes as ``Conv3DTranspose``.
    """
    data_format = _standardize_data_format(data_format)
    _check_rank5(value(x), "conv3d_transpose")
    padding = _check_padding(padding)
    strides = normalize_tuple(strides, 3, "strides")
    dilation = normalize_tuple(dilation_rate, 3, "dilation_rate")
    ops_pad = (None,) * 3 if output_padding is None else normalize_tuple(
        output_padding, 3, "output_padding")
    kshape = tuple(np.shape(value(kernel)))
    x = _to_nhwc(x, data_format, 5)
    xv = value(x)
    if len(kshape) != 5 or kshape[-1] != xv.shape[-1]:
        raise ValueError(f"conv3d_transpose kernel {kshape} must be (kd, kh, kw, out, "
                         f"{xv.shape[-1]}) for an input of shape {xv.shape}")
    act_id, post = _activation_id(activation)
    outs, pads = [], []
    for i in range(3):
        n, k, s, d = xv.shape[1 + i], kshape[i], strides[i], dilation[i]
        out = transpose_output_size(n, k, s, d, padding, ops_pad[i])
        k_eff = (k - 1) * d + 1
        outs.append(out)
        pads.append(max((n - 1) * s + k_eff - out, 0) // 2 if padding == "same" else 0)
    y = ConvTranspose3D.apply(x, kernel, bias, (strides, tuple(pads), dilation, tuple(outs)),
                              act_id)
    if post is not None:
        y = post(y)
    return _from_nhwc(y, data_format, 5)


def conv3d_variant_name():
    """The conv3d implementation the active instruction set selects (``"f32_conv3d_ref"``
    under ``nnfast.config.set_max_isa("ref")``)."""
    return _core.conv3d_variant_name()
