"""Pooling ops on NHWC (``channels_last``) arrays, with gradients (``keras.ops`` names).

'same' max pooling treats padding as -inf; 'same' average pooling divides each window by
its number of valid (unpadded) positions, as Keras/TensorFlow do. ``channels_first`` inputs
are transposed at the boundary (channels_last is the fast path).
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops import float64 as _f64
from nnfast.ops._util import f32, value
from nnfast.ops.conv import (_check_padding, _from_nhwc, _pad_before,
                             _standardize_data_format, _to_nhwc, normalize_tuple, output_size)
from nnfast.ops.array import reshape


class Pool2D(Function):
    """Max or average pooling of an NHWC array. geom = (pool, strides, pads, out_hw)."""

    @staticmethod
    def forward(ctx, x, geom, kind):
        x = f32(x)
        pool, strides, pads, (oh, ow) = geom
        y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=np.float32)
        if kind == "max":
            argmax = np.empty(y.shape, dtype=np.int32) if ctx.recording else None
            _core.max_pool2d_forward(x, y, argmax, pool, strides, pads)
            ctx.argmax = argmax
        else:
            _core.avg_pool2d_forward(x, y, pool, strides, pads)
        ctx.params = (geom, kind, x.shape)
        return y

    @staticmethod
    def backward(ctx, g):
        (pool, strides, pads, _), kind, x_shape = ctx.params
        dx = np.empty(x_shape, dtype=np.float32)
        if kind == "max":
            _core.max_pool2d_backward(f32(g), ctx.argmax, dx, pool, strides, pads)
        else:
            _core.avg_pool2d_backward(f32(g), dx, pool, strides, pads)
        return dx


def _pool(inputs, pool_size, strides, padding, data_format, kind):
    data_format = _standardize_data_format(data_format)
    x = inputs
    rank = np.ndim(value(x))
    if rank not in (3, 4):
        raise ValueError(f"{kind}_pool expects a 3-D (1-D pooling) or 4-D (2-D pooling) input, "
                         f"received shape {np.shape(value(x))}")
    spatial = rank - 2
    padding = _check_padding(padding)
    pool = normalize_tuple(pool_size, spatial, "pool_size")
    strides = pool if strides is None else normalize_tuple(strides, spatial, "strides")
    if min(pool) <= 0 or min(strides) <= 0:
        raise ValueError(f"pool_size and strides must be positive, received pool_size={pool_size}"
                         f", strides={strides}")
    x = _to_nhwc(x, data_format, rank)
    xv = value(x)
    if spatial == 1:
        x = reshape(x, (xv.shape[0], 1) + xv.shape[1:])
        pool, strides = (1,) + pool, (1,) + strides
    in_hw = value(x).shape[1:3]
    out_hw = tuple(output_size(n, k, s, 1, padding) for n, k, s in zip(in_hw, pool, strides))
    if min(out_hw) <= 0:
        raise ValueError(f"{kind}_pool: pool_size {pool[-spatial:]} is larger than the input "
                         f"{xv.shape} with padding='valid'; the output would be empty")
    pads = tuple(_pad_before(n, k, s, 1, padding) for n, k, s in zip(in_hw, pool, strides))
    route = _f64.Pool2D if _f64.is_float64(x) else Pool2D
    y = route.apply(x, (pool, strides, pads, out_hw), kind)
    if spatial == 1:
        y = reshape(y, (y.shape[0],) + y.shape[2:])
    return _from_nhwc(y, data_format, rank)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """``keras.ops.max_pool`` for 1-D ``(batch, steps, channels)`` or 2-D
    ``(batch, h, w, channels)`` inputs; ``strides=None`` means ``pool_size``.

    Args:
        inputs: ``(batch, steps, channels)`` or ``(batch, h, w, channels)`` (channels_last).
        pool_size: int or tuple: the window per spatial axis.
        strides: None (the same as ``pool_size``), int or tuple.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Example:
        >>> ops.max_pool(np.ones((1, 4, 4, 3), "float32"), 2).shape
        (1, 2, 2, 3)
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "max")


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """``keras.ops.average_pool``; 'same' windows average over their valid positions only.

    Args:
        inputs: ``(batch, steps, channels)`` or ``(batch, h, w, channels)`` (channels_last).
        pool_size: int or tuple: the window per spatial axis.
        strides: None (the same as ``pool_size``), int or tuple.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Returns:
        The pooled tensor, ``(batch, [oh,] ow, channels)`` for channels_last.

    Example:
        >>> ops.average_pool(np.ones((1, 4, 4, 3), "float32"), 2).shape
        (1, 2, 2, 3)
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "avg")


class GlobalPool(Function):
    """Mean or max over axis 1 of (batch, spatial, channels)."""

    @staticmethod
    def forward(ctx, x, kind):
        x = f32(x)
        y = np.empty((x.shape[0], x.shape[2]), dtype=np.float32)
        if kind == "max":
            argmax = np.empty(y.shape, dtype=np.int32) if ctx.recording else None
            _core.global_max_pool_forward(x, y, argmax)
            ctx.argmax = argmax
        else:
            _core.global_avg_pool_forward(x, y)
        ctx.params = (kind, x.shape)
        return y

    @staticmethod
    def backward(ctx, g):
        kind, x_shape = ctx.params
        dx = np.empty(x_shape, dtype=np.float32)
        if kind == "max":
            _core.global_max_pool_backward(f32(g), ctx.argmax, dx)
        else:
            _core.global_avg_pool_backward(f32(g), dx)
        return dx


def global_pool(inputs, kind, data_format=None, keepdims=False):
    """Global ``"avg"`` or ``"max"`` pooling over every spatial axis of a 3-D/4-D input.

    Returns ``(batch, channels)``, or with ``keepdims`` a tensor with spatial axes of size 1.

    Args:
        inputs: a 3-D or 4-D tensor.
        kind: ``"avg"`` or ``"max"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the pooled axes with size 1.
    """
    data_format = _standardize_data_format(data_format)
    xv = value(inputs)
    if xv.ndim < 3:
        raise ValueError(f"global pooling expects a 3-D or 4-D input, received shape {xv.shape}")
    rank = xv.ndim
    x = _to_nhwc(inputs, data_format, rank)
    xv = value(x)
    if xv[0].size == 0 and kind == "max":
        raise ValueError(f"global max pooling of an input with no positions: {xv.shape}")
    flat = reshape(x, (xv.shape[0], -1, xv.shape[-1]))
    y = (_f64.GlobalPool if _f64.is_float64(flat) else GlobalPool).apply(flat, kind)
    if keepdims:
        if data_format == "channels_first":
            y = reshape(y, (xv.shape[0], xv.shape[-1]) + (1,) * (rank - 2))
        else:
            y = reshape(y, (xv.shape[0],) + (1,) * (rank - 2) + (xv.shape[-1],))
    return y
