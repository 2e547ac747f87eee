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
    if isinstance(x, Tensor):
        # NOTE: a tensor keeps its place on the tape (a detached copy would silently lose the
        # gradient); a dtype change is a differentiable cast.
        if dtype is None or x.value.dtype == np.dtype(dtype):
            return x
        return cast(x, dtype)
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


class Tile(Function):
    @staticmethod
    def forward(ctx, x, repeats):
        x = value(x)
        reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
        reps = (1,) * (x.ndim - len(reps)) + reps
        ctx.shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        split = []
        for r, n in zip(ctx.reps, shape):
            split += [r, n]
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(ctx.shape)


def tile(x, repeats):
    return Tile.apply(x, repeats=repeats)


class Repeat(Function):
    @staticmethod
    def forward(ctx, x, repeats, axis=None):
        x = value(x)
        ctx.shape, ctx.repeats, ctx.axis = x.shape, int(repeats), axis
        return np.repeat(x, repeats, axis=axis)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return g.reshape(-1, ctx.repeats).sum(1).reshape(ctx.shape)
        axis = ctx.axis % len(ctx.shape)
        new = ctx.shape[:axis] + (ctx.shape[axis], ctx.repeats) + ctx.shape[axis + 1:]
        return g.reshape(new).sum(axis=axis + 1)


def repeat(x, repeats, axis=None):
    return Repeat.apply(x, repeats=repeats, axis=axis)


class Pad(Function):
    @staticmethod
    def forward(ctx, x, pad_width, mode="constant", constant_values=0):
        x = value(x)
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode=mode, constant_values=constant_values) if mode == "constant" \
            else np.pad(x, pad_width, mode=mode)

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.slices])


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads with ``pad_width`` = ((before, after), ...) per axis (constant mode is exact in
    the gradient; other modes pass the gradient of the copied centre only)."""
    nd = np.ndim(value(x))
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    return Pad.apply(x, pad_width=tuple(map(tuple, pw.tolist())), mode=mode,
                     constant_values=0 if constant_values is None else constant_values)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        x = value(x)
        ctx.shape = x.shape
        return np.ascontiguousarray(np.broadcast_to(x, shape))

    @staticmethod
    def backward(ctx, g):
        from nnfast.ops._util import unbroadcast

        return unbroadcast(g, ctx.shape)


def broadcast_to(x, shape):
    return BroadcastTo.apply(x, shape=tuple(shape))


def split(x, indices_or_sections, axis=0):
    """Splits along ``axis`` into a list of tensors (differentiable slices)."""
    n = np.shape(value(x))[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis of size {n} does not divide into {indices_or_sections} parts")
        step = n // indices_or_sections
        cuts = list(range(step, n, step))
    else:
        cuts = list(indices_or_sections)
    bounds = [0] + cuts + [n]
    nd = np.ndim(value(x))
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        key = [slice(None)] * nd
        key[axis] = slice(lo, hi)
        out.append(get_item(x, tuple(key)))
    return out


def swapaxes(x, axis1, axis2):
    nd = np.ndim(value(x))
    perm = list(range(nd))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, tuple(perm))


def moveaxis(x, source, destination):
    nd = np.ndim(value(x))
    perm = [i for i in range(nd) if i != source % nd]
    perm.insert(destination % nd, source % nd)
    return transpose(x, tuple(perm))


class StopGradient(Function):
    @staticmethod
    def forward(ctx, x):
        return value(x)

    @staticmethod
    def backward(ctx, g):
        return None


def stop_gradient(x):
    """``x`` with no gradient flowing back through it."""
    return StopGradient.apply(x)


def arange(start, stop=None, step=1, dtype=None):
    out = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and out.dtype == np.float64:
        dtype = "float32"
    return Tensor(out.astype(dtype) if dtype else out)


def eye(n, m=None, dtype="float32"):
    return Tensor(np.eye(n, m, dtype=dtype))


def full(shape, fill_value, dtype="float32"):
    return Tensor(np.full(shape, fill_value, dtype=dtype))


def sort(x, axis=-1):
    return Tensor(np.sort(value(x), axis=axis))


def argsort(x, axis=-1):
    return Tensor(np.argsort(value(x), axis=axis))


def top_k(x, k, sorted=True):  # noqa: A002 - keras.ops argument name
    """The ``k`` largest values along the last axis and their indices (values first)."""
    a = value(x)
    idx = np.argsort(-a, axis=-1, kind="stable")[..., :k]
    return Tensor(np.take_along_axis(a, idx, axis=-1)), Tensor(idx)
