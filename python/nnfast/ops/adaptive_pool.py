"""Adaptive pooling (``keras.ops.adaptive_average_pool`` / ``adaptive_max_pool``): the output
size is fixed and window i of an axis covers ``[floor(i*n/out), ceil((i+1)*n/out))``
(PyTorch's rule, which Keras follows). Both pool one spatial axis at a time (a rectangle's
mean or max is separable), the average as a small matrix product, the max with one
vectorized reduction per output index."""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import value
from nnfast.ops.conv import _standardize_data_format, normalize_tuple
from nnfast.ops.size_limit import check_result_size


def _windows(n, out):
    i = np.arange(out)
    start = (i * n) // out
    end = -((-(i + 1) * n) // out)
    return start, end


class AverageAlongAxis(Function):
    """Adaptive average over one axis as ``y = M x`` along it (M rows are window means)."""

    @staticmethod
    def forward(ctx, x, axis=None, out=None):
        x = np.asarray(x, dtype=np.float32)
        start, end = _windows(x.shape[axis], out)
        m = np.zeros((out, x.shape[axis]), np.float32)
        for i, (s, e) in enumerate(zip(start, end)):
            m[i, s:e] = 1.0 / (e - s)
        ctx.params = (m, axis)
        y = np.tensordot(m, x, axes=([1], [axis]))
        return np.ascontiguousarray(np.moveaxis(y, 0, axis))

    @staticmethod
    def backward(ctx, g):
        m, axis = ctx.params
        dx = np.tensordot(m, np.asarray(g, np.float32), axes=([0], [axis]))
        return np.ascontiguousarray(np.moveaxis(dx, 0, axis))


class MaxAlongAxis(Function):
    """Adaptive max over one axis; the gradient goes to the first maximum of each window."""

    @staticmethod
    def forward(ctx, x, axis=None, out=None):
        x = np.asarray(x, dtype=np.float32)
        start, end = _windows(x.shape[axis], out)
        x_moved = np.moveaxis(x, axis, 0)
        arg = np.stack([s + np.argmax(x_moved[s:e], axis=0) for s, e in zip(start, end)])
        y = np.take_along_axis(x_moved, arg, axis=0)
        ctx.params = (arg, x.shape, axis)
        return np.ascontiguousarray(np.moveaxis(y, 0, axis))

    @staticmethod
    def backward(ctx, g):
        arg, shape, axis = ctx.params
        g_moved = np.moveaxis(np.asarray(g, np.float32), axis, 0)
        dx = np.zeros((shape[axis],) + g_moved.shape[1:], np.float32)
        idx = np.indices(arg.shape)
        np.add.at(dx, (arg,) + tuple(idx[1:]), g_moved)
        return np.ascontiguousarray(np.moveaxis(dx, 0, axis))


def _adaptive(inputs, output_size, data_format, op, what):
    data_format = _standardize_data_format(data_format)
    shape = np.shape(value(inputs))
    spatial = len(shape) - 2
    if spatial not in (1, 2, 3):
        raise ValueError(f"{what} supports 1D, 2D, or 3D inputs only, received "
                         f"inputs.shape={shape}")
    sizes = normalize_tuple(output_size, spatial, "output_size")
    first = 2 if data_format == "channels_first" else 1
    if min(sizes) <= 0:
        raise ValueError(f"{what}: output_size must be positive, received {output_size}")
    out_shape = list(shape)
    out_shape[first:first + spatial] = sizes
    check_result_size(what, out_shape, np.float32, output_size=output_size)
    for k, out in enumerate(sizes):  # the window matrices (out, n) and each pass's result
        check_result_size(what, (out, shape[first + k]), np.float32, output_size=output_size)
        check_result_size(what, out_shape[:first + k + 1] + list(shape[first + k + 1:]),
                          np.float32, output_size=output_size)
    y = inputs
    for k, out in enumerate(sizes):
        y = op.apply(y, axis=first + k, out=int(out))
    return y


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed ``output_size`` (an int or one int per spatial axis).

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels_first), 1 to 3 spatial axes.
        output_size: the output's spatial size: an int (same for every spatial axis) or a tuple,
            one per spatial axis.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> ops.adaptive_average_pool(np.ones((2, 7, 9, 3), "float32"), (2, 4)).shape
        (2, 2, 4, 3)
    """
    return _adaptive(inputs, output_size, data_format, AverageAlongAxis, "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed ``output_size``; see ``adaptive_average_pool``.

    Args:
        inputs: tensor of rank 3, 4 or 5: ``(batch, *spatial, channels)`` for channels-last.
        output_size: the output's spatial size: an int or a tuple, one per spatial axis.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> ops.adaptive_max_pool(np.ones((2, 7, 9, 3), "float32"), 3).shape
        (2, 3, 3, 3)
    """
    return _adaptive(inputs, output_size, data_format, MaxAlongAxis, "adaptive_max_pool")
