"""3-D and adaptive pooling ops on channels_last arrays, with gradients.

3-D max and average pooling are separable: the maximum (or the mean over the valid positions)
of a (kd, kh, kw) window is that of the (kh, kw) results over kd slices, so ``max_pool3d`` and
``average_pool3d`` run the 2-D pooling kernels twice (height and width on every depth slice,
then depth with a (kd, 1) window), gradients included. 'same' average windows divide by the
product of the per-axis valid counts, which is exactly the 3-D count (Keras/TensorFlow).

Adaptive pooling (Keras 3's ``adaptive_average_pool``/``adaptive_max_pool``) splits an axis of
n positions into ``o`` windows ``[floor(i*n/o), ceil((i+1)*n/o))`` and pools each; it is
separable too and runs one axis at a time.
"""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import f32, value
from nnfast.ops.size_limit import check_result_size
from nnfast.ops.conv import (_check_padding, _from_nhwc, _standardize_data_format, _to_nhwc,
                             normalize_tuple, output_size)
from nnfast.ops.array import reshape
from nnfast.ops.pool import average_pool, max_pool


def _pool3d(inputs, pool_size, strides, padding, data_format, kind):
    data_format = _standardize_data_format(data_format)
    xv = value(inputs)
    if xv.ndim != 5:
        raise ValueError(f"{kind}_pool3d expects a 5-D input (batch, depth, height, width, "
                         f"channels), received shape {xv.shape}")
    padding = _check_padding(padding)
    pool = normalize_tuple(pool_size, 3, "pool_size")
    strides = pool if strides is None else normalize_tuple(strides, 3, "strides")
    x = _to_nhwc(inputs, data_format, 5)
    b, d, h, w, c = value(x).shape
    outs = [output_size(n, k, s, 1, padding) for n, k, s in zip((d, h, w), pool, strides)]
    if min(outs) <= 0 or min(pool) <= 0 or min(strides) <= 0:
        raise ValueError(f"{kind}_pool3d: pool_size {pool} with strides {strides} does not fit "
                         f"the input {value(x).shape} with padding='{padding}'")
    fn = max_pool if kind == "max" else average_pool
    y = fn(reshape(x, (b * d, h, w, c)), pool[1:], strides[1:], padding)
    oh, ow = outs[1], outs[2]
    y = fn(reshape(y, (b, d, oh * ow, c)), (pool[0], 1), (strides[0], 1), padding)
    y = reshape(y, (b, outs[0], oh, ow, c))
    return _from_nhwc(y, data_format, 5)


def max_pool3d(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling of ``(batch, d, h, w, channels)`` (``channels_last``) over
    ``pool_size`` windows; ``strides=None`` means ``pool_size``; 'same' pads with -inf.

    Example:
        >>> max_pool3d(np.ones((1, 4, 4, 4, 2), "float32"), 2).shape
        (1, 2, 2, 2, 2)
    """
    return _pool3d(inputs, pool_size, strides, padding, data_format, "max")


def average_pool3d(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling of 5-D inputs; 'same' windows average their valid positions only."""
    return _pool3d(inputs, pool_size, strides, padding, data_format, "avg")


def adaptive_windows(n, o):
    """The ``[start, end)`` bounds of the ``o`` adaptive windows over ``n`` positions."""
    i = np.arange(o)
    starts = np.minimum((i * n) // o, n - 1)
    ends = np.minimum(-((-(i + 1) * n) // o), n)
    return starts, ends


class AdaptivePoolAxis(Function):
    """Adaptive max or average pooling of one axis to ``out_size`` positions."""

    @staticmethod
    def forward(ctx, x, axis, out_size, kind):
        x = f32(x)
        n = x.shape[axis]
        starts, ends = adaptive_windows(n, out_size)
        xm = np.moveaxis(x, axis, 0)
        if kind == "avg":
            m = np.zeros((out_size, n), dtype=np.float32)
            for i, (s, e) in enumerate(zip(starts, ends)):
                m[i, s:e] = 1.0 / (e - s)
            y = np.tensordot(m, xm, axes=(1, 0))
            ctx.params = (axis, m, x.shape, kind)
        else:
            y = np.empty((out_size,) + xm.shape[1:], dtype=np.float32)
            arg = np.empty(y.shape, dtype=np.int64)
            for i, (s, e) in enumerate(zip(starts, ends)):
                window = xm[s:e]
                a = np.argmax(window, axis=0)
                arg[i] = a + s
                y[i] = np.take_along_axis(window, a[None], axis=0)[0]
            ctx.params = (axis, arg, x.shape, kind)
        return np.ascontiguousarray(np.moveaxis(y, 0, axis), dtype=np.float32)

    @staticmethod
    def backward(ctx, g):
        axis, aux, shape, kind = ctx.params
        gm = np.moveaxis(f32(g), axis, 0)
        if kind == "avg":
            dx = np.tensordot(aux.T, gm, axes=(1, 0))
        else:
            dx = np.zeros((shape[axis],) + gm.shape[1:], dtype=np.float32)
            for i in range(gm.shape[0]):
                np.put_along_axis(dx, aux[i][None],
                                  np.take_along_axis(dx, aux[i][None], axis=0) + gm[i][None],
                                  axis=0)
        return np.ascontiguousarray(np.moveaxis(dx, 0, axis), dtype=np.float32)


def _adaptive_pool(inputs, output_size, data_format, kind):
    data_format = _standardize_data_format(data_format)
    xv = value(inputs)
    if xv.ndim not in (3, 4, 5):
        raise ValueError(f"adaptive pooling expects a 3-D, 4-D or 5-D input, received shape "
                         f"{xv.shape}")
    spatial = xv.ndim - 2
    sizes = normalize_tuple(output_size, spatial, "output_size")
    if min(sizes) <= 0:
        raise ValueError(f"`output_size` must be positive. Received: output_size={output_size}")
    first = 2 if data_format == "channels_first" else 1
    dims = list(xv.shape)
    for i, o in enumerate(sizes):  # each pass's result and its window matrix (o, n)
        check_result_size("adaptive_pool", (o, dims[first + i]), np.float32,
                          output_size=output_size)
        dims[first + i] = int(o)
        check_result_size("adaptive_pool", dims, np.float32, output_size=output_size)
    x = _to_nhwc(inputs, data_format, xv.ndim)
    for i, o in enumerate(sizes):
        if value(x).shape[1 + i] == 0:
            raise ValueError(f"adaptive pooling of an empty axis: input shape {xv.shape}")
        x = AdaptivePoolAxis.apply(x, 1 + i, int(o), kind)
    return _from_nhwc(x, data_format, xv.ndim)


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Adaptive average pooling of 1-D/2-D/3-D channels_last (or channels_first) inputs to
    ``output_size`` positions per spatial axis (PyTorch's and Keras 3's windows).

    Example:
        >>> adaptive_average_pool(np.ones((1, 10, 3), "float32"), 4).shape
        (1, 4, 3)
    """
    return _adaptive_pool(inputs, output_size, data_format, "avg")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Adaptive max pooling; windows as ``adaptive_average_pool``."""
    return _adaptive_pool(inputs, output_size, data_format, "max")
