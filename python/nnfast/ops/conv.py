"""Convolution ops on NHWC (``channels_last``) arrays, with gradients.

Kernels follow Keras's layouts: ``conv`` (kh, kw, in/groups, out) (1-D: (k, in, out)),
``depthwise_conv`` (kh, kw, in, depth_multiplier), ``conv_transpose`` (kh, kw, out, in).
Output sizes and 'same' padding use Keras/TensorFlow arithmetic. ``channels_first`` inputs
are transposed to NHWC and back at the boundary; channels_last is the fast path.

The layers use ``conv_bias_activation`` and ``conv_transpose_bias_activation`` (convolution +
bias + activation in one kernel call); ``conv``/``depthwise_conv``/``conv_transpose``/
``separable_conv`` are the ``keras.ops`` names.
"""
import numpy as np

from nnfast import _core, activations
from nnfast.backend.tape import Function
from nnfast.ops import precision
from nnfast.ops import float64 as _f64
from nnfast.ops._util import f32, value
from nnfast.ops.nn import ACTIVATION_IDS, DEFAULT_ALPHA, _activation, softmax, sigmoid
from nnfast.backend.global_state import image_data_format
from nnfast.ops.array import reshape, transpose

_INF = float("inf")


# --- geometry ------------------------------------------------------------------------------


def normalize_tuple(v, n, name):
    """An int or an iterable of n ints as a tuple of n ints (Keras's argument rule)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return (v,) * n
    try:
        t = tuple(int(i) for i in v)
    except TypeError:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                         f"Received: {name}={v}") from None
    if len(t) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                         f"Received: {name}={v}")
    return t


def output_size(n, k, stride, dilation, padding):
    """Keras's output length of one spatial axis: 'valid', 'same' or 'causal'."""
    if n is None:
        return None
    if padding in ("same", "causal"):  # causal: 'valid' on the input left-padded by d*(k-1)
        return -(-n // stride)
    span = dilation * (k - 1) + 1
    return (n - span) // stride + 1 if n >= span else 0


def _pad_before(n, k, stride, dilation, padding):
    if padding == "same":
        out = -(-n // stride)
        return max((out - 1) * stride + dilation * (k - 1) + 1 - n, 0) // 2
    if padding == "causal":
        return dilation * (k - 1)
    return 0


def _check_padding(padding, allow_causal=False):
    p = str(padding).lower()
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if p not in allowed:
        raise ValueError(f"`padding` must be one of {allowed}. Received: padding={padding}")
    return p


def kernel_activation(activation):
    """The name of ``activation`` as the conv ops apply it in their output pass, or None when
    the layer must apply it afterwards.

    Args:
        activation: an activation function (``activations.get``'s result).

    Example:
        >>> kernel_activation(activations.relu)
        'relu'
    """
    name = activations.fused_name(activation)
    if name is None or (name not in ACTIVATION_IDS and name not in ("softmax", "linear")):
        return None
    return name


def _activation_id(activation):
    """(id, post) where id is fused into the kernel and post is applied afterwards."""
    if activation in (None, "linear"):
        return 0, None
    if activation in DEFAULT_ALPHA:
        # the conv epilogues take no parameter: apply these after the convolution
        return 0, lambda y: _activation(y, activation, DEFAULT_ALPHA[activation])
    if activation in ACTIVATION_IDS:
        return ACTIVATION_IDS[activation], None
    if activation == "softmax":
        return 0, softmax
    if activation == "sigmoid":
        return 0, sigmoid
    raise ValueError(f"Unknown fused activation {activation!r}")


def bias_activation_epilogue(y, bias, act_id, recording):
    """Adds ``bias`` to ``y`` (channels last) and applies activation ``act_id`` in place;
    returns ``(z, y)`` where ``z`` is the pre-activation kept for a backward pass that needs
    it (None otherwise, and ``y`` is then the same buffer)."""
    if act_id != 0 and recording and _core.activation_needs_input(act_id, 0.0, 0.0):
        _core.bias_activation_inplace(y.reshape(-1, y.shape[-1]), bias, 0)
        z = y
        y = np.empty_like(z)
        _core.activation_forward(act_id, z, y, 0.0, _INF, 0.0)
        return z, y
    if bias is not None or act_id != 0:
        _core.bias_activation_inplace(y.reshape(-1, y.shape[-1]), bias, act_id)
    return None, y


def _activation_grad(act_id, z, y, g):
    """dL/dz of y = act(z) given dL/dy = g (a vectorised path for plain relu)."""
    if act_id == 0:
        return g
    d = np.empty_like(y)
    if act_id == ACTIVATION_IDS["relu"]:
        _core.relu_backward_from_output(y, g, d)
    else:
        _core.activation_backward(act_id, z, y, g, d, 0.0, _INF, 0.0)
    return d


# --- conv2d --------------------------------------------------------------------------------


class Conv2D(Function):
    """NHWC conv2d + bias + activation. Geometry: (strides, pads, dilation, groups, out_hw)."""

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, act_id=0, depthwise=False):
        x = f32(x)
        kernel = f32(kernel)
        bias = None if bias is None else f32(bias)
        strides, pads, dilation, groups, (oh, ow) = geom
        out_c = kernel.shape[2] * kernel.shape[3] if depthwise else kernel.shape[3]
        y = np.empty((x.shape[0], oh, ow, out_c), dtype=np.float32)
        fwd = _core.depthwise_conv2d_forward if depthwise else _core.conv2d_forward
        needs_z = act_id != 0 and _core.activation_needs_input(act_id, 0.0, 0.0)
        z = None
        if needs_z and ctx.recording:
            z = np.empty_like(y)
            fwd(x, kernel, bias, z, strides, pads, dilation, groups)
            _core.activation_forward(act_id, z, y, 0.0, _INF, 0.0)
        else:
            fwd(x, kernel, bias, y, strides, pads, dilation, groups, act_id)
        if ctx.recording:
            ctx.save_for_backward(x, kernel, z, y)
            ctx.params = (geom, act_id, depthwise, bias is not None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, z, y = ctx.saved
        (strides, pads, dilation, groups, _), act_id, depthwise, has_bias = ctx.params
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        g = f32(g)
        if (act_id == ACTIVATION_IDS["relu"] and not need_x and not depthwise
                and (need_k or need_b)):
            # A first layer: the relu mask is applied inside the weight-gradient kernel, so the
            # pre-activation gradient (as large as the output) is never written.
            dk = np.empty_like(kernel)
            db = np.empty(g.shape[-1], dtype=np.float32) if has_bias else None
            _core.conv2d_backward_weights(x, g, dk, db, strides, pads, dilation, groups, y)
            return None, (dk if need_k else None), (db if need_b else None)
        dz = _activation_grad(act_id, z, y, g)
        dx = dk = db = None
        prefix = "depthwise_conv2d" if depthwise else "conv2d"
        if need_x:
            dx = np.empty_like(x)
            getattr(_core, prefix + "_backward_data")(dz, kernel, dx, strides, pads, dilation,
                                                      groups)
        if need_k or (need_b and has_bias):
            dk = np.empty_like(kernel)
            db = np.empty(dz.shape[-1], dtype=np.float32) if has_bias else None
            getattr(_core, prefix + "_backward_weights")(x, dz, dk, db, strides, pads, dilation,
                                                         groups)
        return dx, (dk if need_k else None), (db if need_b else None)


def _geometry2d(in_hw, kernel_hw, strides, padding, dilation):
    outs, pads = [], []
    for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation):
        outs.append(output_size(n, k, s, d, padding))
        pads.append(_pad_before(n, k, s, d, padding))
    return tuple(outs), tuple(pads)


def _to_nhwc(x, data_format, rank):
    if data_format == "channels_first":
        return transpose(x, (0,) + tuple(range(2, rank)) + (1,))
    return x


def _from_nhwc(x, data_format, rank):
    if data_format == "channels_first":
        return transpose(x, (0, rank - 1) + tuple(range(1, rank - 1)))
    return x


def _standardize_data_format(data_format):
    if data_format is None:
        data_format = image_data_format()
    df = str(data_format).lower()
    if df not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of 'channels_first', "
                         f"'channels_last'. Received: data_format={data_format}")
    return df


def conv_bias_activation(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
                         groups=1, activation=None, data_format=None, depthwise=False):
    """Fused ``activation(conv(x, kernel) + bias)`` for 1-D or 2-D convolutions.

    Args:
        x: ``(batch, [h,] w, in)`` (channels_last) or ``(batch, in, [h,] w)``.
        kernel: ``([kh,] kw, in/groups, out)``; with ``depthwise=True``
            ``([kh,] kw, in, depth_multiplier)``.
        bias: ``(out,)`` or None.
        padding: ``"valid"``, ``"same"`` or (1-D only) ``"causal"``.
        activation: an activation name; fused into the kernel's output pass.
        strides: int or tuple per spatial axis (default 1).
        dilation_rate: int or tuple per spatial axis (default 1).
        groups: the number of channel groups (default 1).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        depthwise: ``kernel`` is a depthwise kernel (each input channel convolved on its own).

    Returns:
        A Tensor ``(batch, [oh,] ow, out)`` (channels_first: ``(batch, out, [oh,] ow)``).

    Example:
        >>> conv_bias_activation(np.ones((1, 8, 8, 3), "float32"),
        ...                      np.ones((3, 3, 3, 4), "float32"), np.zeros(4, "float32"),
        ...                      activation="relu").shape
        (1, 6, 6, 4)
    """
    data_format = _standardize_data_format(data_format)
    xv = value(x)
    rank = xv.ndim
    if rank not in (3, 4):
        raise ValueError(f"conv expects a 3-D (1-D conv) or 4-D (2-D conv) input, received "
                         f"shape {xv.shape}")
    kshape = tuple(np.shape(value(kernel)))
    if len(kshape) != rank:
        raise ValueError(f"conv kernel must have rank {rank} for an input of shape {xv.shape}, "
                         f"received kernel shape {kshape}")
    spatial = rank - 2
    padding = _check_padding(padding, allow_causal=spatial == 1)
    strides = normalize_tuple(strides, spatial, "strides")
    dilation = normalize_tuple(dilation_rate, spatial, "dilation_rate")
    act_id, post = _activation_id(activation)
    x = _to_nhwc(x, data_format, rank)
    xv = value(x)
    in_c = xv.shape[-1]
    if depthwise:
        if kshape[-2] != in_c:
            raise ValueError(f"depthwise kernel {kshape} expects {kshape[-2]} input channels, "
                             f"received input with {in_c}")
        groups = in_c
    elif in_c % kshape[-2] or kshape[-1] % (in_c // kshape[-2]):
        raise ValueError(f"conv kernel {kshape} does not fit an input with {in_c} channels: "
                         "in_channels must be a multiple of kernel.shape[-2] and the number of "
                         "groups must divide the filters")
    else:
        groups = in_c // kshape[-2]
    if spatial == 1:
        x = reshape(x, (xv.shape[0], 1) + xv.shape[1:])
        kernel = reshape(kernel, (1,) + kshape)
        strides, dilation = (1,) + strides, (1,) + dilation
        (_, ow), (_, pw) = _geometry2d((1, xv.shape[1]), (1, kshape[0]), strides[1:] * 2,
                                       padding, dilation[1:] * 2)
        out_hw, pads = (1, ow), (0, pw)
    else:
        out_hw, pads = _geometry2d(xv.shape[1:3], kshape[:2], strides, padding, dilation)
    if min(out_hw) <= 0:
        raise ValueError(f"conv: the kernel {kshape} with dilation {dilation} is larger than the "
                         f"padded input {xv.shape}; the output would be empty")
    geom = (strides, pads, dilation, groups, out_hw)
    lower = precision.current()
    if _f64.is_float64(kernel):  # a float64 layer's kernel (float32 ones narrow the input)
        names = {v: k for k, v in ACTIVATION_IDS.items()}
        y = _f64.Conv2D.apply(x, kernel, bias, geom, names.get(act_id, "linear"), depthwise)
    elif lower in precision.LOWER:  # a mixed-policy layer: operands in its compute dtype
        from nnfast.ops.conv_lowp import Conv2DLowPrecision

        y = Conv2DLowPrecision.apply(x, kernel, bias, geom, act_id, depthwise, lower)
    else:
        y = Conv2D.apply(x, kernel, bias, geom, act_id, depthwise)
    if spatial == 1:
        y = reshape(y, (y.shape[0],) + y.shape[2:])
    if post is not None:
        y = post(y)
    return _from_nhwc(y, data_format, rank)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """``keras.ops.conv``: N-D convolution (1-D and 2-D here), groups inferred from the kernel.

    Args:
        inputs: ``(batch, [h,] w, in)`` (channels_last) or ``(batch, in, [h,] w)``.
        kernel: ``([kh,] kw, in/groups, out)``.
        strides: int or tuple per spatial axis (default 1).
        padding: ``"valid"`` or ``"same"`` (1-D also ``"causal"``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple per spatial axis (default 1).

    Example:
        >>> y = ops.conv(np.ones((2, 8, 8, 3), "float32"), np.ones((3, 3, 3, 4), "float32"))
        >>> y.shape
        (2, 6, 6, 4)
    """
    return conv_bias_activation(inputs, kernel, None, strides, padding, dilation_rate,
                      data_format=data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """``keras.ops.depthwise_conv``: kernel ``(kh, kw, in, depth_multiplier)``.

    Args:
        inputs: ``(batch, [h,] w, in)`` (channels_last) or ``(batch, in, [h,] w)``.
        kernel: ``([kh,] kw, in, depth_multiplier)``.
        strides: int or tuple per spatial axis (default 1).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple per spatial axis (default 1).

    Returns:
        ``(batch, [oh,] ow, in * depth_multiplier)`` for channels_last.

    Example:
        >>> ops.depthwise_conv(np.ones((1, 8, 8, 3), "float32"), np.ones((3, 3, 3, 2), "float32")).shape
        (1, 6, 6, 6)
    """
    return conv_bias_activation(inputs, kernel, None, strides, padding, dilation_rate,
                      data_format=data_format, depthwise=True)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """``keras.ops.separable_conv``: depthwise then 1x1 pointwise convolution.

    Args:
        inputs: ``(batch, [h,] w, in)`` (channels_last) or ``(batch, in, [h,] w)``.
        depthwise_kernel: ``([kh,] kw, in, depth_multiplier)``.
        pointwise_kernel: ``([1,] 1, in*depth_multiplier, out)``.
        strides: int or tuple per spatial axis (default 1).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple per spatial axis (default 1).

    Returns:
        ``(batch, [oh,] ow, out)`` for channels_last.

    Example:
        >>> ops.separable_conv(np.ones((1, 8, 8, 3), "float32"), np.ones((3, 3, 3, 2), "float32"),
        ...                    np.ones((1, 1, 6, 4), "float32")).shape
        (1, 6, 6, 4)
    """
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


# --- transposed convolution ----------------------------------------------------------------


def transpose_output_size(n, k, stride, dilation, padding, output_padding=None):
    """Keras's output length of a transposed convolution (``_get_output_shape_given_tf_padding``)."""
    if n is None:
        return None
    k_eff = (k - 1) * dilation + 1
    if output_padding is None:
        # output_padding defaults to max(k_eff, stride) - k_eff.
        return (n - 1) * stride + max(k_eff, stride) if padding == "valid" else n * stride
    if padding == "valid":
        return (n - 1) * stride + k_eff + output_padding
    return (n - 1) * stride + k_eff % 2 + output_padding


class ConvTranspose2D(Function):
    """NHWC transposed conv: the backward-data pass of the convolution it transposes.

    ``kernel`` is Keras's (kh, kw, out, in); as a convolution from the output's shape to the
    input's shape it is exactly a (kh, kw, cin_conv=out, cout_conv=in) kernel.
    """

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, act_id=0):
        x = f32(x)
        kernel = f32(kernel)
        bias = None if bias is None else f32(bias)
        strides, pads, dilation, (oh, ow) = geom
        y = np.empty((x.shape[0], oh, ow, kernel.shape[2]), dtype=np.float32)
        _core.conv2d_backward_data(x, kernel, y, strides, pads, dilation, 1)
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
            _core.conv2d_forward(dz, kernel, None, dx, strides, pads, dilation, 1)
        if need_k:
            dk = np.empty_like(kernel)
            _core.conv2d_backward_weights(dz, x, dk, None, strides, pads, dilation, 1)
        if need_b and has_bias:
            db = dz.reshape(-1, dz.shape[-1]).sum(axis=0, dtype=np.float32)
        return dx, dk, db


def conv_transpose_bias_activation(x, kernel, bias=None, strides=1, padding="valid",
                                   output_padding=None, dilation_rate=1, activation=None,
                                   data_format=None):
    """Fused ``activation(conv_transpose(x, kernel) + bias)`` for 1-D or 2-D inputs.

    Args:
        x: ``(batch, [h,] w, in)`` (channels_last).
        kernel: ``([kh,] kw, out, in)`` (Keras's Conv2DTranspose layout).
        output_padding: None or an int/tuple per spatial axis (< stride).
        bias: ``(out,)`` or None.
        strides: int or tuple per spatial axis (default 1).
        padding: ``"valid"`` or ``"same"``.
        dilation_rate: int or tuple per spatial axis (default 1).
        activation: an activation name fused into the output pass, or None.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """
    data_format = _standardize_data_format(data_format)
    rank = value(x).ndim
    if rank not in (3, 4):
        raise ValueError(f"conv_transpose expects a 3-D or 4-D input, received shape "
                         f"{value(x).shape}")
    spatial = rank - 2
    padding = _check_padding(padding)
    strides = normalize_tuple(strides, spatial, "strides")
    dilation = normalize_tuple(dilation_rate, spatial, "dilation_rate")
    ops_pad = (None,) * spatial if output_padding is None else normalize_tuple(
        output_padding, spatial, "output_padding")
    kshape = tuple(np.shape(value(kernel)))
    x = _to_nhwc(x, data_format, rank)
    xv = value(x)
    if kshape[-1] != xv.shape[-1]:
        raise ValueError(f"conv_transpose kernel {kshape} expects {kshape[-1]} input channels, "
                         f"received input of shape {xv.shape}")
    act_id, post = _activation_id(activation)
    if spatial == 1:
        x = reshape(x, (xv.shape[0], 1) + xv.shape[1:])
        kernel = reshape(kernel, (1,) + kshape)
        kshape = (1,) + kshape
        strides, dilation, ops_pad = (1,) + strides, (1,) + dilation, (None,) + ops_pad
    xv4 = value(x)
    outs, pads = [], []
    for i in range(2):
        n, k, s, d = xv4.shape[1 + i], kshape[i], strides[i], dilation[i]
        if spatial == 1 and i == 0:
            outs.append(1)
            pads.append(0)
            continue
        out = transpose_output_size(n, k, s, d, padding, ops_pad[i])
        k_eff = (k - 1) * d + 1
        # The convolution this transposes maps `out` back to n positions; TF pads it like
        # conv2d's 'same'/'valid' on an input of size `out`.
        pad = max((n - 1) * s + k_eff - out, 0) // 2 if padding == "same" else 0
        outs.append(out)
        pads.append(pad)
    if _f64.is_float64(kernel):
        names = {v: k for k, v in ACTIVATION_IDS.items()}
        y = _f64.ConvTranspose2D.apply(x, kernel, bias,
                                       (strides, tuple(pads), dilation, tuple(outs)),
                                       names.get(act_id, "linear"))
    else:
        y = ConvTranspose2D.apply(x, kernel, bias, (strides, tuple(pads), dilation,
                                                    tuple(outs)), act_id)
    if spatial == 1:
        y = reshape(y, (y.shape[0],) + y.shape[2:])
    if post is not None:
        y = post(y)
    return _from_nhwc(y, data_format, rank)


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """``keras.ops.conv_transpose``: kernel ``(kh, kw, out, in)``.

    Args:
        inputs: ``(batch, [h,] w, in)`` (channels_last) or ``(batch, in, [h,] w)``.
        kernel: ``([kh,] kw, out, in)``.
        strides: int or tuple per spatial axis (default 1).
        padding: ``"valid"`` or ``"same"``.
        output_padding: None or an int/tuple per spatial axis, each smaller than its stride.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple per spatial axis (default 1).

    Returns:
        The upsampled tensor, ``(batch, [oh,] ow, out)`` for channels_last.

    Example:
        >>> ops.conv_transpose(np.ones((1, 4, 4, 2), "float32"), np.ones((3, 3, 5, 2), "float32"),
        ...                    strides=2, padding="same").shape
        (1, 8, 8, 5)
    """
    return conv_transpose_bias_activation(inputs, kernel, None, strides, padding, output_padding,
                                dilation_rate, data_format=data_format)
