"""Fusion-only ops: what ``models.fusion`` runs for a chain of layers as one kernel call.

Not part of ``nnfast.ops`` (whose names are ``keras.ops``'s): a model's plan reaches these
through its fused steps, and tests and benchmarks import them from here.

- ``conv2d_inference``: ``[ZeroPadding2D ->] Conv2D/DepthwiseConv2D [-> BatchNormalization]
  [-> Add] [-> activation]`` at inference, in one pass over the feature map.
- ``separable_inference``: a depthwise chain feeding a 1x1 chain, the depthwise output kept in
  the cache.
- ``conv2d_relu_max_pool``: ``Conv2D(relu) -> MaxPooling2D`` (training and inference), the
  conv output never stored.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function, recording
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import f32, value
from nnfast.ops.conv import (_INF, _check_padding, _geometry2d, _pad_before,
                             conv_bias_activation, normalize_tuple, output_size)
from nnfast.ops import float64 as _f64
from nnfast.ops import precision
from nnfast.ops.conv_lowp import RoundGradient
from nnfast.ops.nn import ACTIVATION_IDS
from nnfast.ops.pool import max_pool


# --- inference chains ---------------------------------------------------------------------------
# (x_shape, k_shape, strides, padding, dilation_rate, zero_padding) -> _inference_geometry's
# answer: an inference plan asks the same ~50 questions on every call.
_GEOMETRY_MEMO = {}
_GEOMETRY_MEMO_SIZE = 1024


def _activation_args(name, alpha, max_value, threshold):
    """A C++ call's activation arguments ``(id, alpha, max_value, threshold)`` from a layer's:
    name None or "linear" is id 0, max_value None is no upper clamp."""
    return (0 if name in (None, "linear") else ACTIVATION_IDS[name], float(alpha),
            _INF if max_value is None else float(max_value), float(threshold))


def _optional_f32(v):
    """``v`` as a float32 array, None for None (biases, folded scales, residuals)."""
    return None if v is None else f32(value(v))


def _folded_kernel_scale(kernel_scale, scale):
    """An int8 kernel's scales with a folded normalization scale divided in (None: none):
    ``acc / (xs * ks) * s == acc / (xs * (ks / s))``."""
    ks = np.asarray(kernel_scale, np.float32)
    return ks if scale is None else ks / f32(value(scale))


def _inference_geometry(what, x_shape, k_shape, strides, padding, dilation_rate, zero_padding):
    """(strides, dilation, out_hw, pads) of a 2-D inference conv on ``x_shape`` zero-padded
    by ``zero_padding``; the pads returned include the zero padding's top/left. Remembered
    for tuple arguments (the layers' own): an int or list is checked on every call."""
    if not (type(strides) is tuple and type(dilation_rate) is tuple
            and type(zero_padding) is tuple and type(padding) is str):
        return _inference_geometry_of(what, x_shape, k_shape, strides, padding, dilation_rate,
                                      zero_padding)
    key = (tuple(x_shape), tuple(k_shape), strides, padding, dilation_rate, zero_padding)
    try:
        found = _GEOMETRY_MEMO.get(key)
    except TypeError:  # a list inside the zero padding
        return _inference_geometry_of(what, *key)
    if found is None:
        found = _inference_geometry_of(what, *key)
        if len(_GEOMETRY_MEMO) >= _GEOMETRY_MEMO_SIZE:
            _GEOMETRY_MEMO.clear()
        _GEOMETRY_MEMO[key] = found
    return found


def _inference_geometry_of(what, x_shape, k_shape, strides, padding, dilation_rate,
                           zero_padding):
    strides = normalize_tuple(strides, 2, "strides")
    dilation = normalize_tuple(dilation_rate, 2, "dilation_rate")
    padding = _check_padding(padding)
    (pt, pb), (pl, pr) = zero_padding
    padded = (x_shape[1] + pt + pb, x_shape[2] + pl + pr)
    out_hw, pads = _geometry2d(padded, k_shape[:2], strides, padding, dilation)
    if min(out_hw) <= 0:
        raise ValueError(f"{what}: the kernel {tuple(k_shape)} is larger than the padded input "
                         f"{(x_shape[0],) + padded + (x_shape[3],)}")
    return strides, dilation, out_hw, (pads[0] + pt, pads[1] + pl)


def conv2d_inference(x, kernel, bias=None, scale=None, strides=1, padding="valid",
                     dilation_rate=1, depthwise=False, activation=None, act_alpha=0.0,
                     act_max=None, act_threshold=0.0, zero_padding=((0, 0), (0, 0)),
                     residual=None):
    """``act(scale * conv(zero_pad(x), kernel) + bias + residual)`` in one pass, for inference
    only.

    What a Functional model runs, when nothing records gradients and ``training`` is off, for
    ``[ZeroPadding2D ->] Conv2D/DepthwiseConv2D [-> BatchNormalization] [-> activation]``:
    the batch normalization is folded into the per-channel ``scale`` and ``bias``, the zero
    padding into the convolution's own padding, the activation into its epilogue, so the chain
    reads and writes its feature maps once.

    Args:
        x: ``(batch, h, w, in)`` (channels_last).
        kernel: ``(kh, kw, in, out)``; depthwise ``(kh, kw, in, depth_multiplier)``.
        bias: ``(out,)`` added per output channel, or None (0).
        scale: ``(out,)`` multiplying each output channel first, or None (1).
        padding: ``"valid"`` or ``"same"``, applied to the zero-padded input.
        activation: a name in ``nnfast.ops.nn.ACTIVATION_IDS`` (or None) with relu's
            ``act_alpha`` (negative slope), ``act_max`` and ``act_threshold``.
        zero_padding: ``((top, bottom), (left, right))`` zeros added around ``x`` first.
        residual: None or an array of the output's shape added before the activation (the
            other branch of a residual connection; not with ``depthwise``).
        strides: int or pair (default 1).
        dilation_rate: int or pair (default 1).
        depthwise: ``kernel`` is a depthwise kernel.
        act_alpha: relu's negative slope (default 0).
        act_max: relu's cap, or None.
        act_threshold: relu's threshold (default 0).

    Returns:
        A Tensor ``(batch, oh, ow, out)``. It is not differentiable: calling it while a
        GradientTape records raises RuntimeError.
    """
    if recording():
        raise RuntimeError("conv2d_inference is an inference-only op and has no gradient; use "
                           "conv_bias_activation (and a BatchNormalization layer) under a "
                           "GradientTape.")
    if _f64.is_float64(kernel):
        return Tensor(_inference_float64(x, kernel, bias, scale, strides, padding, dilation_rate,
                                         depthwise, (activation, act_alpha, act_max,
                                                     act_threshold), zero_padding, residual))
    xv = f32(value(x))
    kv = f32(value(kernel))
    if xv.ndim != 4 or kv.ndim != 4:
        raise ValueError(f"conv2d_inference expects a 4-D input and kernel, received input "
                         f"{xv.shape} and kernel {kv.shape}")
    strides, dilation, out_hw, pads = _inference_geometry(
        "conv2d_inference", xv.shape, kv.shape, strides, padding, dilation_rate, zero_padding)
    out_c = kv.shape[2] * kv.shape[3] if depthwise else kv.shape[3]
    y = np.empty((xv.shape[0],) + tuple(out_hw) + (out_c,), dtype=np.float32)
    fwd = _core.depthwise_conv2d_forward if depthwise else _core.conv2d_forward
    groups = 1 if depthwise else xv.shape[3] // kv.shape[2]
    fwd(xv, kv, _optional_f32(bias), y, strides, pads, dilation, groups,
        *_activation_args(activation, act_alpha, act_max, act_threshold),
        scale=_optional_f32(scale), residual=_optional_f32(residual))
    return Tensor(y)


def _inference_float64(x, kernel, bias, scale, strides, padding, dilation_rate, depthwise,
                       activation, zero_padding, residual):
    """``conv2d_inference``'s result computed in float64 (a float64 model's predictions)."""
    name, alpha, max_value, threshold = activation
    xv = np.pad(_f64.arr64(x), ((0, 0),) + tuple(tuple(p) for p in zero_padding) + ((0, 0),))
    y = _f64.arr64(conv_bias_activation(xv, kernel, None, strides, padding, dilation_rate,
                                        depthwise=depthwise))
    if scale is not None:
        y = y * _f64.arr64(scale)
    if bias is not None:
        y = y + _f64.arr64(bias)
    if residual is not None:
        y = y + _f64.arr64(residual)
    return _f64.activation_forward("linear" if name is None else name, y, float(alpha),
                                   _INF if max_value is None else float(max_value),
                                   float(threshold))


def separable_inference(x, dw_kernel, dw_bias, dw_scale, pw_kernel, pw_bias, pw_scale,
                        strides=1, padding="valid", dilation_rate=1,
                        dw_activation=(None, 0.0, None, 0.0),
                        pw_activation=(None, 0.0, None, 0.0),
                        zero_padding=((0, 0), (0, 0)), residual=None):
    """Inference only: a depthwise convolution (with its per-channel scale, bias and
    activation) feeding a 1x1 convolution (scale, bias, residual, activation), as
    MobileNet's blocks do, computed a block of pixels at a time so the depthwise output is
    never written to memory. Activations are ``(name, alpha, max_value, threshold)``.

    Args:
        x: ``(batch, h, w, in)``.
        dw_kernel: ``(kh, kw, in, depth_multiplier)``.
        pw_kernel: ``(1, 1, in * depth_multiplier, out)``.
        dw_scale: per-channel scale of the depthwise output, or None.
        dw_bias: per-channel bias of the depthwise output, or None.
        pw_scale: per-channel scale of the 1x1 output, or None.
        pw_bias: per-channel bias of the 1x1 output, or None.
        strides: the depthwise convolution's strides (int or pair).
        padding: the depthwise convolution's padding, ``"valid"`` or ``"same"``.
        dilation_rate: the depthwise convolution's dilation (int or pair).
        dw_activation: the depthwise output's activation tuple.
        pw_activation: the 1x1 output's activation tuple.
        zero_padding: ``((top, bottom), (left, right))`` zeros added around ``x`` first.
        residual: None or an array of the output's shape added before the last activation.

    Returns:
        A Tensor ``(batch, oh, ow, out)``; equal to two ``conv2d_inference`` calls up to
        float32 rounding. Raises RuntimeError under a recording GradientTape.
    """
    if recording():
        raise RuntimeError("separable_inference is an inference-only op and has no gradient.")
    if _f64.is_float64(dw_kernel, pw_kernel):
        y = _inference_float64(x, dw_kernel, dw_bias, dw_scale, strides, padding, dilation_rate,
                               True, dw_activation, zero_padding, None)
        return Tensor(_inference_float64(y, pw_kernel, pw_bias, pw_scale, 1, "valid", 1, False,
                                         pw_activation, ((0, 0), (0, 0)), residual))
    xv = f32(value(x))
    dk, pk = f32(value(dw_kernel)), f32(value(pw_kernel))
    if xv.ndim != 4 or dk.ndim != 4 or pk.ndim != 4:
        raise ValueError(f"separable_inference expects 4-D input and kernels, received input "
                         f"{xv.shape}, depthwise kernel {dk.shape}, pointwise kernel {pk.shape}")
    strides, dilation, out_hw, pads = _inference_geometry(
        "separable_inference", xv.shape, dk.shape, strides, padding, dilation_rate,
        zero_padding)
    y = np.empty((xv.shape[0],) + tuple(out_hw) + (pk.shape[-1],), dtype=np.float32)
    opt = _optional_f32
    _core.depthwise_pointwise_forward(
        xv, dk, opt(dw_bias), opt(dw_scale), strides, pads, dilation,
        *_activation_args(*dw_activation), pk, opt(pw_bias), opt(pw_scale), opt(residual),
        *_activation_args(*pw_activation), y)
    return Tensor(y)


# --- conv + relu + max-pool ----------------------------------------------------------------
class Conv2DReluMaxPool(Function):
    """NHWC ``max_pool(relu(conv2d(x, kernel) + bias))`` with non-overlapping windows.

    The full-size conv output is never stored: forward keeps the pooled values and one byte per
    pooled element naming its window's argmax; backward routes the pooled gradient through it
    (and the relu, pooled > 0) straight into the weight gradients.
    geom = (strides, pads, dilation, conv_out_hw, pool, pool_pads, pooled_hw).
    """

    @staticmethod
    def forward(ctx, x, kernel, bias, geom):
        x = f32(x)
        kernel = f32(kernel)
        bias = None if bias is None else f32(bias)
        strides, pads, dilation, conv_out, pool, pool_pads, (ph, pw) = geom
        y = np.empty((x.shape[0], ph, pw, kernel.shape[3]), dtype=np.float32)
        argidx = np.empty(y.shape, dtype=np.uint8) if ctx.recording else None
        _core.conv2d_relu_maxpool_forward(x, kernel, bias, y, argidx, strides, pads, dilation,
                                          conv_out, pool, pool_pads)
        if ctx.recording:
            ctx.save_for_backward(x, kernel, y, argidx)
            ctx.params = (geom, bias is not None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, y, argidx = ctx.saved
        (strides, pads, dilation, conv_out, pool, pool_pads, _), has_bias = ctx.params
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        g = f32(g)
        dx = dk = db = None
        if need_x:
            dx = np.empty_like(x)
            _core.conv2d_relu_maxpool_backward_data(g, y, argidx, kernel, dx, strides, pads,
                                                    dilation, conv_out, pool, pool_pads)
        if need_k or (need_b and has_bias):
            dk = np.empty_like(kernel)
            db = np.empty(kernel.shape[3], dtype=np.float32) if has_bias else None
            _core.conv2d_relu_maxpool_backward_weights(x, g, y, argidx, dk, db, strides, pads,
                                                       dilation, conv_out, pool, pool_pads)
        return dx, (dk if need_k else None), (db if need_b else None)


def conv_relu_max_pool_supported(in_channels, filters, kernel_size, groups, pool_size):
    """Whether ``conv2d_relu_max_pool`` has a fused kernel for these sizes (small first layers:
    kh*kw*in_channels <= 32, groups 1).

    Args:
        in_channels: the input channels.
        filters: the output channels.
        kernel_size: ``(kh, kw)``.
        groups: the channel groups.
        pool_size: ``(ph, pw)`` of the max pool.
    """
    return bool(_core.conv2d_relu_maxpool_supported(int(in_channels), int(filters),
                                                    tuple(kernel_size), int(groups),
                                                    tuple(pool_size)))


def conv2d_relu_max_pool(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
                         pool_size=2, pool_padding="valid"):
    """Fused ``max_pool(relu(conv(x, kernel) + bias), pool_size)`` with pool strides equal to
    ``pool_size`` (channels_last): what ``Conv2D(activation="relu")`` followed by
    ``MaxPooling2D(pool_size)`` compute, without storing the conv output.

    The forward values equal the two-op path bit for bit; gradients agree within float32
    rounding (the weight-gradient sum runs in another order). Only shapes for which
    ``conv_relu_max_pool_supported`` holds are accepted.

    Args:
        x: ``(batch, h, w, in)``.
        kernel: ``(kh, kw, in, out)``.
        bias: ``(out,)`` or None.
        strides: the convolution's strides (int or pair).
        padding: the convolution's padding, ``"valid"`` or ``"same"`` (Keras arithmetic).
        dilation_rate: the convolution's dilation (int or pair).
        pool_size: int or pair; the pool's strides equal it.
        pool_padding: ``"valid"`` or ``"same"``.

    Returns:
        A Tensor ``(batch, ph, pw, out)``.

    Example:
        >>> y = fused.conv2d_relu_max_pool(np.ones((2, 28, 28, 1), "float32"),
        ...                                np.ones((3, 3, 1, 32), "float32"), pool_size=2)
        >>> y.shape
        (2, 13, 13, 32)
    """
    if _f64.is_float64(kernel):  # a float64 model: the two ops in float64
        return max_pool(conv_bias_activation(x, kernel, bias, strides, padding, dilation_rate,
                                             activation="relu"), pool_size, padding=pool_padding)
    xv = value(x)
    if xv.ndim != 4:
        raise ValueError(f"conv2d_relu_max_pool expects a 4-D input, received shape {xv.shape}")
    kshape = tuple(np.shape(value(kernel)))
    if len(kshape) != 4 or kshape[2] != xv.shape[3]:
        raise ValueError(f"conv2d_relu_max_pool: kernel {kshape} does not fit an input of shape "
                         f"{xv.shape} (expected (kh, kw, {xv.shape[3]}, out))")
    padding = _check_padding(padding)
    pool_padding = _check_padding(pool_padding)
    strides = normalize_tuple(strides, 2, "strides")
    dilation = normalize_tuple(dilation_rate, 2, "dilation_rate")
    pool = normalize_tuple(pool_size, 2, "pool_size")
    if not conv_relu_max_pool_supported(kshape[2], kshape[3], kshape[:2], 1, pool):
        raise ValueError(f"conv2d_relu_max_pool: no fused kernel for kernel {kshape} and "
                         f"pool_size {pool}; use conv_bias_activation + max_pool")
    conv_out, pads = _geometry2d(xv.shape[1:3], kshape[:2], strides, padding, dilation)
    if min(conv_out) <= 0:
        raise ValueError(f"conv: the kernel {kshape} with dilation {dilation} is larger than the "
                         f"padded input {xv.shape}; the output would be empty")
    pooled = tuple(output_size(n, k, k, 1, pool_padding) for n, k in zip(conv_out, pool))
    if min(pooled) <= 0:
        raise ValueError(f"max_pool: pool_size {pool} is larger than the conv output {conv_out} "
                         "with padding='valid'; the output would be empty")
    pool_pads = tuple(_pad_before(n, k, k, 1, pool_padding) for n, k in zip(conv_out, pool))
    geom = (strides, pads, dilation, conv_out, pool, pool_pads, pooled)
    lower = precision.current()
    if lower in precision.LOWER:
        # A mixed-policy pair: input and kernel in the compute dtype (these shallow first
        # layers stay on the fp32 direct kernels: rounded operands give the lower-precision
        # products exactly), the output rounded as the conv layer's would be.
        x, kernel = (precision.RoundTo.apply(x, dtype=lower),
                     precision.RoundTo.apply(kernel, dtype=lower))
        y = RoundGradient.apply(Conv2DReluMaxPool.apply(x, kernel, bias, geom), dtype=lower)
        return precision.RoundTo.apply(y, dtype=lower)
    return Conv2DReluMaxPool.apply(x, kernel, bias, geom)
