"""Shape and indexing ops (``keras.ops`` names), with gradients."""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, newshape):
        x = value(x)
        ctx.shape = x.shape
        return np.reshape(x, newshape)

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape), None


def reshape(x, newshape):
    """Reshape ``x`` (one ``-1`` allowed); a view, no copy."""
    return Reshape.apply(x, tuple(newshape) if not isinstance(newshape, int) else newshape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        x = value(x)
        ctx.axes = axes
        return np.ascontiguousarray(np.transpose(x, axes))

    @staticmethod
    def backward(ctx, g):
        inv = None if ctx.axes is None else tuple(np.argsort(ctx.axes))
        return np.ascontiguousarray(np.transpose(g, inv))


def transpose(x, axes=None):
    return Transpose.apply(x, axes=axes)


class ExpandDims(Function):
    @staticmethod
    def forward(ctx, x, axis):
        x = value(x)
        ctx.shape = x.shape
        return np.expand_dims(x, axis)

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape)


def expand_dims(x, axis):
    return ExpandDims.apply(x, axis=axis)


class Squeeze(Function):
    @staticmethod
    def forward(ctx, x, axis=None):
        x = value(x)
        ctx.shape = x.shape
        return np.squeeze(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape)


def squeeze(x, axis=None):
    return Squeeze.apply(x, axis=axis)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, key):
        x = value(x)
        ctx.shape, ctx.dtype, ctx.key = x.shape, x.dtype, key
        return np.ascontiguousarray(x[key])

    @staticmethod
    def backward(ctx, g):
        out = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(out, ctx.key, g)
        return out, None


def get_item(x, key):
    """``x[key]`` for any NumPy index; the gradient scatters back."""
    if isinstance(key, Tensor):
        key = key.value
    return GetItem.apply(x, key)


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *xs, axis=-1):
        xs = [value(x) for x in xs]
        ctx.sizes = [x.shape[axis] for x in xs]
        ctx.axis = axis
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.ascontiguousarray(p) for p in np.split(g, cuts, axis=ctx.axis))


def concatenate(xs, axis=-1):
    """Joins tensors along ``axis``."""
    return Concatenate.apply(*xs, axis=axis)


class Stack(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        ctx.n = len(xs)
        return np.stack([value(x) for x in xs], axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.ascontiguousarray(np.take(g, i, axis=ctx.axis)) for i in range(ctx.n))


def stack(xs, axis=0):
    return Stack.apply(*xs, axis=axis)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        x = value(x)
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype) if np.issubdtype(ctx.dtype, np.floating) else None


def cast(x, dtype):
    return Cast.apply(x, dtype=np.dtype(dtype))


def flatten(x):
    """Keeps the batch axis and flattens the rest in C order."""
    s = np.shape(value(x))
    return reshape(x, (s[0], -1))


def convert_to_tensor(x, dtype=None):
    """Wraps an array-like as a Tensor (float64 becomes float32 unless ``dtype`` says)."""
    if isinstance(x, Tensor) and dtype is None:
        return x
    a = np.asarray(x.value if isinstance(x, Tensor) else x)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    elif a.dtype == np.float64:
        a = a.astype(np.float32)
    # NOTE: not np.ascontiguousarray, which turns a 0-d array into shape (1,).
    return Tensor(a if a.flags.c_contiguous else a.copy(order="C"))


def convert_to_numpy(x):
    return np.asarray(value(x))


def shape(x):
    return tuple(np.shape(value(x)))


def zeros(shape, dtype="float32"):
    return Tensor(np.zeros(shape, dtype=dtype))


def ones(shape, dtype="float32"):
    return Tensor(np.ones(shape, dtype=dtype))


def zeros_like(x, dtype=None):
    return Tensor(np.zeros_like(value(x), dtype=dtype))


def ones_like(x, dtype=None):
    return Tensor(np.ones_like(value(x), dtype=dtype))


def one_hot(x, num_classes, dtype="float32"):
    """One-hot encodes integer ``x`` into a new last axis of size ``num_classes``."""
    x = np.asarray(value(x)).astype(np.int64)
    out = np.zeros(x.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, x[..., None], 1, axis=-1)
    return Tensor(out)


def where(condition, x1, x2):
    cond = np.asarray(value(condition), dtype=bool)
    return add(multiply(x1, cond.astype(np.float32)), multiply(x2, (~cond).astype(np.float32)))


from nnfast.ops.math import add, multiply  # noqa: E402  (where() composes differentiable ops)
