"""Shape and indexing ops (``keras.ops`` names), with gradients."""
import builtins
import math

import numpy as np

from nnfast.backend.global_state import floatx
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import as_input, promote, unary_input
from nnfast.ops._util import value
from nnfast.ops.size_limit import check_result_size
from nnfast.backend.dtypes import standardize_dtype
from nnfast.ops._util import unbroadcast


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, newshape):
        x = x if type(x) is np.ndarray else np.asarray(x)
        ctx.shape = x.shape
        return x.reshape(newshape)  # (the method: np.reshape's dispatch costs more)

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape), None


def reshape(x, newshape):
    """Reshape ``x`` (one ``-1`` allowed); a view, no copy.

    Args:
        x: input tensor.
        newshape: the new shape (int or tuple; one entry may be -1).

    Returns:
        A tensor with ``x``'s elements in the new shape.

    Example:
        >>> ops.reshape(np.arange(6), (2, -1)).shape
        (2, 3)
    """
    newshape = tuple(newshape) if not isinstance(newshape, int) else newshape
    return Reshape.apply(unary_input(x), newshape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        x = np.asarray(x)
        if axes is not None:
            axes = tuple(int(a) % builtins.max(x.ndim, 1) for a in axes)
        ctx.axes = axes
        return np.ascontiguousarray(np.transpose(x, axes))

    @staticmethod
    def backward(ctx, g):
        inv = None if ctx.axes is None else tuple(np.argsort(ctx.axes))
        return np.ascontiguousarray(np.transpose(g, inv))


def transpose(x, axes=None):
    """Permutes the axes (reverses them when ``axes`` is None); negative axes allowed.

    Args:
        x: input tensor.
        axes: a permutation of the axes, or None (reverse them).

    Returns:
        The transposed tensor.

    Example:
        >>> ops.transpose(np.zeros((2, 3, 4)), (0, 2, 1)).shape
        (2, 4, 3)
    """
    return Transpose.apply(unary_input(x), axes=None if axes is None else tuple(axes))


class ExpandDims(Function):
    @staticmethod
    def forward(ctx, x, axis):
        x = np.asarray(x)
        ctx.shape = x.shape
        return np.expand_dims(x, axis)

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape)


def expand_dims(x, axis):
    """Inserts length-1 axes at ``axis`` (an int or a tuple of ints).

    Args:
        x: input tensor or array-like.
        axis: the position (or positions) of the new size-1 axis.

    Example:
        >>> x = np.zeros((2, 3), "float32")
        >>> keras.ops.expand_dims(x, 0).shape
        (1, 2, 3)
    """
    return ExpandDims.apply(unary_input(x), axis=tuple(axis) if isinstance(axis, list) else axis)


class Squeeze(Function):
    @staticmethod
    def forward(ctx, x, axis=None):
        x = np.asarray(x)
        ctx.shape = x.shape
        return np.squeeze(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return np.reshape(g, ctx.shape)


def squeeze(x, axis=None):
    """Removes length-1 axes (all of them when ``axis`` is None).

    Args:
        x: input tensor or array-like.
        axis: the size-1 axis (or axes) removed, or None (all of them).

    Example:
        >>> x = np.zeros((2, 1, 3), "float32")
        >>> keras.ops.squeeze(x, axis=1).shape
        (2, 3)
    """
    return Squeeze.apply(unary_input(x), axis=tuple(axis) if isinstance(axis, list) else axis)


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, key):
        x = np.asarray(x)
        ctx.shape, ctx.dtype, ctx.key = x.shape, x.dtype, key
        out = x[key]
        # NOTE: a full index gives a NumPy scalar; keep a 0-d array (ascontiguousarray
        # would make it shape (1,)).
        return np.array(out) if np.ndim(out) == 0 else np.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        out = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(out, ctx.key, g)
        return out, None


def get_item(x, key):
    """``x[key]`` for any NumPy index; the gradient scatters back.

    Args:
        x: input tensor or array-like.
        key: an index, slice, tuple of them, or an index array.
    """
    if isinstance(key, Tensor):
        key = key.value
    return GetItem.apply(x, key)


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        xs = [np.asarray(x) for x in xs]
        ctx.sizes = [x.shape[axis] for x in xs]
        ctx.axis = axis
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(ctx, g):
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.ascontiguousarray(p) for p in np.split(g, cuts, axis=ctx.axis))


def concatenate(xs, axis=0):
    """Joins tensors along ``axis`` (dtypes promoted as Keras does).

    Args:
        xs: a list of tensors whose shapes agree except along ``axis``.
        axis: the axis to join along (default 0).

    Returns:
        The joined tensor.

    Example:
        >>> ops.concatenate([np.ones((2, 3)), np.zeros((1, 3))]).shape
        (3, 3)
    """
    xs, _ = promote(*xs)
    if axis is None:
        return Concatenate.apply(*[reshape(x, (-1,)) for x in xs], axis=0)
    return Concatenate.apply(*xs, axis=axis)


class Stack(Function):
    @staticmethod
    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        ctx.n = len(xs)
        return np.stack([np.asarray(x) for x in xs], axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.ascontiguousarray(np.take(g, i, axis=ctx.axis)) for i in range(ctx.n))


def stack(x, axis=0):
    """Stacks same-shaped tensors along a new axis ``axis``.

    Args:
        x: a list of tensors of the same shape.
        axis: the position of the new axis (default 0).

    Example:
        >>> a, b = np.zeros((2, 3)), np.ones((2, 3))
        >>> keras.ops.stack([a, b], axis=0).shape
        (2, 2, 3)
    """
    xs, _ = promote(*x)
    return Stack.apply(*xs, axis=axis)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        x = np.asarray(x)
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype) if np.issubdtype(ctx.dtype, np.floating) else None


def cast(x, dtype):
    """``x`` converted to ``dtype`` (differentiable between float dtypes)."""
    return Cast.apply(as_input(x), dtype=np.dtype(standardize_dtype(dtype)))


def flatten(x):
    """Keeps the batch axis and flattens the rest in C order.

    Args:
        x: input tensor or array-like.
    """
    s = np.shape(value(x))
    return reshape(x, (s[0], -1))


def convert_to_tensor(x, dtype=None):
    """Wraps an array-like as a Tensor (float64 becomes float32 unless ``dtype`` says or
    floatx is float64).

    Args:
        x: an array-like, tensor or variable.
        dtype: dtype of the result (None: inferred as Keras does).
    """
    if isinstance(x, Tensor):
        # NOTE: a tensor keeps its place on the tape (a detached copy would silently lose the
        # gradient); a dtype change is a differentiable cast.
        if dtype is None or x.value.dtype == np.dtype(dtype):
            return x
        return cast(x, dtype)
    a = np.asarray(x.value if isinstance(x, Tensor) else x)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    elif a.dtype == np.float64 and floatx() != "float64":  # a float64 session keeps it
        a = a.astype(np.float32)
    # NOTE: not np.ascontiguousarray, which turns a 0-d array into shape (1,).
    return Tensor(a if a.flags.c_contiguous else a.copy(order="C"))


def convert_to_numpy(x):
    return np.asarray(value(x))


def shape(x):
    return tuple(np.shape(value(x)))


def _dtype_or_floatx(dtype):
    return np.dtype(standardize_dtype(dtype))


def _shape_arg(shape):
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


def _creation_shape(what, shape, dtype):
    """``shape`` as a tuple of ints, refused if the result could not fit in memory."""
    dims = _shape_arg(shape)
    check_result_size(what, dims, dtype, shape=shape)
    return dims


def zeros(shape, dtype=None):
    """A tensor of zeros (floatx unless ``dtype`` says).

    Args:
        shape: int or tuple of ints: the shape.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.zeros((2, 3)).shape
        (2, 3)
    """
    dtype = _dtype_or_floatx(dtype)
    return Tensor(np.zeros(_creation_shape("zeros", shape, dtype), dtype=dtype))


def ones(shape, dtype=None):
    """A tensor of ones (floatx unless ``dtype`` says).

    Args:
        shape: int or tuple of ints: the shape.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.ones((2,)).numpy()
        array([1., 1.], dtype=float32)
    """
    dtype = _dtype_or_floatx(dtype)
    return Tensor(np.ones(_creation_shape("ones", shape, dtype), dtype=dtype))


def _like_dtype(x, dtype):
    a = unary_input(x)
    return a, (a.dtype if dtype is None else _dtype_or_floatx(dtype))


def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape and dtype (or ``dtype``).

    Args:
        x: the tensor whose shape is taken.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.zeros_like(np.ones((2, 2), "int32")).numpy()
        array([[0, 0],
               [0, 0]], dtype=int32)
    """
    a, d = _like_dtype(x, dtype)
    return Tensor(np.zeros(a.shape, dtype=d))


def ones_like(x, dtype=None):
    """Ones of ``x``'s shape and dtype (or ``dtype``).

    Args:
        x: the tensor whose shape is taken.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.ones_like(np.zeros(3, "float32")).numpy()
        array([1., 1., 1.], dtype=float32)
    """
    a, d = _like_dtype(x, dtype)
    return Tensor(np.ones(a.shape, dtype=d))


def one_hot(x, num_classes, dtype="float32"):
    """One-hot encodes integer ``x`` into a new last axis of size ``num_classes``."""
    x = np.asarray(value(x)).astype(np.int64)
    check_result_size("one_hot", x.shape + (int(num_classes),), dtype, num_classes=num_classes)
    out = np.zeros(x.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, x[..., None], 1, axis=-1)
    return Tensor(out)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond, ctx.shapes = cond, (np.shape(a), np.shape(b))
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        zero = np.zeros((), g.dtype)
        return (None, unbroadcast(np.where(ctx.cond, g, zero), ctx.shapes[0]),
                unbroadcast(np.where(ctx.cond, zero, g), ctx.shapes[1]))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2`` (broadcast; dtypes promoted). With
    only ``condition``, the tuple of indices where it is nonzero (as ``nonzero``).

    Args:
        condition: a boolean tensor.
        x1: values where ``condition`` is True.
        x2: values where it is False.

    Example:
        >>> ops.where(np.array([True, False]), 1.0, np.array([5.0, 6.0]))  # [1., 6.]
        <Tensor shape=(2,) dtype=float64
        array([1., 6.])>
    """
    cond = np.asarray(value(condition)).astype(bool)
    if x1 is None and x2 is None:
        return tuple(Tensor(i.astype(np.int32)) for i in np.nonzero(cond))
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 must be given together. "
                         f"Received: x1={x1!r}, x2={x2!r}")
    (a, b), _ = promote(x1, x2)
    return Where.apply(cond, a, b)


class Tile(Function):
    @staticmethod
    def forward(ctx, x, repeats):
        x = np.asarray(x)
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
    """Repeats the whole of ``x`` ``repeats`` times along each axis (NumPy's ``tile``).

    Args:
        x: input tensor or array-like.
        repeats: how many copies along each axis.

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.tile(x, (1, 2)).numpy()
        array([[1., 5., 3., 1., 5., 3.],
               [4., 2., 6., 4., 2., 6.]], dtype=float32)
    """
    reps = np.asarray(value(repeats)).astype(int).reshape(-1).tolist()
    a = unary_input(x)
    shape = (1,) * (len(reps) - a.ndim) + tuple(a.shape)
    reps_full = [1] * (len(shape) - len(reps)) + reps
    check_result_size("tile", [n * r for n, r in zip(shape, reps_full)], a.dtype,
                      repeats=repeats)
    return Tile.apply(unary_input(x), repeats=tuple(reps))


class Repeat(Function):
    @staticmethod
    def forward(ctx, x, repeats, axis=None):
        x = np.asarray(x)
        ctx.shape, ctx.axis = x.shape, axis
        ctx.repeats = repeats if np.ndim(repeats) == 0 else np.asarray(repeats)
        if np.ndim(repeats) == 1 and np.size(repeats) == 1:
            ctx.repeats = int(np.asarray(repeats)[0])
        return np.repeat(x, repeats, axis=axis)

    @staticmethod
    def backward(ctx, g):
        if np.ndim(ctx.repeats) == 1:
            # per-element counts: sum each run of copies back onto its source
            axis = 0 if ctx.axis is None else ctx.axis % len(ctx.shape)
            src = g if ctx.axis is not None else g.reshape(-1)
            starts = np.concatenate([[0], np.cumsum(ctx.repeats)[:-1]]).astype(np.intp)
            summed = np.add.reduceat(src, starts, axis=axis) if src.shape[axis] else src
            empty = ctx.repeats == 0
            if np.any(empty):
                summed = np.moveaxis(summed, axis, 0).copy()
                summed[empty] = 0
                summed = np.moveaxis(summed, 0, axis)
            return np.ascontiguousarray(summed).reshape(ctx.shape)
        ctx.repeats = int(ctx.repeats)
        if ctx.axis is None:
            return g.reshape(-1, ctx.repeats).sum(1).reshape(ctx.shape)
        axis = ctx.axis % len(ctx.shape)
        new = ctx.shape[:axis] + (ctx.shape[axis], ctx.repeats) + ctx.shape[axis + 1:]
        return g.reshape(new).sum(axis=axis + 1)


def repeat(x, repeats, axis=None):
    """Repeats each element ``repeats`` times (an int or one count per element) along
    ``axis`` (over the flattened tensor when None).

    Args:
        x: input tensor or array-like.
        repeats: how many times each element repeats (an int or one per element).
        axis: the axis, or None (the flattened tensor).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.repeat(x, 2, axis=0).numpy()
        array([[1., 5., 3.],
               [1., 5., 3.],
               [4., 2., 6.],
               [4., 2., 6.]], dtype=float32)
    """
    r = value(repeats)
    r = int(r) if np.ndim(r) == 0 else np.asarray(r).astype(np.int64)
    a = unary_input(x)
    if np.ndim(r) == 0:
        check_result_size("repeat", [a.size * r], a.dtype, repeats=repeats)
    return Repeat.apply(unary_input(x), repeats=r, axis=axis)


class Pad(Function):
    @staticmethod
    def forward(ctx, x, pad_width, mode="constant", constant_values=0):
        x = np.asarray(x)
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode=mode, constant_values=constant_values) if mode == "constant" \
            else np.pad(x, pad_width, mode=mode)

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.slices])


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads with ``pad_width`` = ((before, after), ...) per axis (constant mode is exact in
    the gradient; other modes pass the gradient of the copied centre only).

    Args:
        x: input tensor or array-like.
        pad_width: ``(before, after)`` per axis (or one pair for all).
        mode: ``"constant"`` (default), ``"edge"``, ``"reflect"``, ``"symmetric"``, ... as
            NumPy.
        constant_values: the fill value with ``mode="constant"`` (default 0).

    Example:
        >>> keras.ops.pad(np.ones((1, 2)), ((0, 0), (1, 1))).numpy()
        array([[0., 1., 1., 0.]])
    """
    x = unary_input(x)
    nd = x.ndim
    if mode not in ("constant", "edge", "linear_ramp", "maximum", "mean", "median",
                    "minimum", "reflect", "symmetric", "wrap", "empty"):
        raise ValueError(f"pad: unknown mode. Received: mode={mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError("pad: constant_values is only used with mode='constant'. "
                         f"Received: mode={mode!r}, constant_values={constant_values!r}")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (nd, 2))
    check_result_size("pad", [n + lo + hi for n, (lo, hi) in zip(x.shape, pw.tolist())], x.dtype,
                      pad_width=pad_width)
    return Pad.apply(x, pad_width=tuple(map(tuple, pw.tolist())), mode=mode,
                     constant_values=0 if constant_values is None else constant_values)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        x = np.asarray(x)
        ctx.shape = x.shape
        return np.ascontiguousarray(np.broadcast_to(x, shape))

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.shape)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (NumPy's rules); the gradient sums back.

    Args:
        x: input tensor or array-like.
        shape: the target shape.

    Example:
        >>> keras.ops.broadcast_to(np.array([1.0, 2.0]), (3, 2)).numpy()
        array([[1., 2.],
               [1., 2.],
               [1., 2.]])
    """
    x = unary_input(x)
    check_result_size("broadcast_to", _shape_arg(shape), x.dtype, shape=shape)
    return BroadcastTo.apply(x, shape=_shape_arg(shape))


def split(x, indices_or_sections, axis=0):
    """Splits along ``axis`` into a list of tensors (differentiable slices).

    Args:
        x: input tensor or array-like.
        indices_or_sections: an int N (N equal parts) or a list of split indices.
        axis: the axis split (default 0).

    Example:
        >>> x = np.arange(6.0)
        >>> [p.numpy().tolist() for p in keras.ops.split(x, 3)]
        [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    """
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
    """Exchanges two axes.

    Args:
        x: input tensor or array-like.
        axis1: the first axis.
        axis2: the second axis.

    Example:
        >>> x = np.zeros((2, 3, 4), "float32")
        >>> keras.ops.swapaxes(x, 0, 2).shape
        (4, 3, 2)
    """
    nd = np.ndim(value(x))
    perm = list(range(nd))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, tuple(perm))


def moveaxis(x, source, destination):
    """Moves axes ``source`` (an int or a sequence) to positions ``destination``.

    Args:
        x: input tensor or array-like.
        source: the axis (or axes) moved.
        destination: where they go.

    Example:
        >>> x = np.zeros((2, 3, 4), "float32")
        >>> keras.ops.moveaxis(x, 0, -1).shape
        (3, 4, 2)
    """
    nd = np.ndim(value(x))
    src = [int(a) % nd for a in np.atleast_1d(source)]
    dst = [int(a) % nd for a in np.atleast_1d(destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("moveaxis: source and destination must be distinct axes of equal "
                         f"count. Received: source={source}, destination={destination}")
    perm = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
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


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` (``[0, start)`` with one argument).

    The dtype follows Keras: int32 for integer arguments, floatx when any is a float.

    Args:
        start: the first value (or the end when ``stop`` is None).
        stop: the end (excluded).
        step: the spacing (default 1).
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> ops.arange(3)  # [0, 1, 2] int32
        <Tensor shape=(3,) dtype=int32
        array([0, 1, 2], dtype=int32)>
    """
    step = 1 if step is None else step
    if dtype is None:
        args = [a for a in (start, stop, step) if a is not None]
        floats = any(np.asarray(value(a)).dtype.kind == "f" for a in args)
        dtype = np.float32 if floats else np.int32
    if stop is None:
        start, stop = 0, start
    span = (float(np.asarray(value(stop))) - float(np.asarray(value(start))))
    count = span / float(np.asarray(value(step))) if float(np.asarray(value(step))) else 0.0
    if math.isfinite(count) and count > 0:
        check_result_size("arange", [math.ceil(count)], _dtype_or_floatx(dtype), start=start,
                          stop=stop, step=step)
    return Tensor(np.arange(value(start), value(stop), value(step)).astype(_dtype_or_floatx(dtype)))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - keras.ops argument names
    """An ``N x M`` matrix with ones on the ``k``-th diagonal (floatx by default).

    Args:
        N: the number of rows.
        M: the number of columns (default N).
        k: the diagonal's offset (default 0).
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.eye(2).numpy()
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    M = None if M is None else int(M)  # noqa: N806
    check_result_size("eye", (int(N), int(N) if M is None else M), _dtype_or_floatx(dtype),
                      N=N, M=M)
    return Tensor(np.eye(int(N), M, k=int(k), dtype=_dtype_or_floatx(dtype)))


def full(shape, fill_value, dtype=None):
    """A tensor of ``shape`` filled with ``fill_value`` (floatx unless ``dtype`` says).

    Args:
        shape: int or tuple of ints: the shape.
        fill_value: the value of every element.
        dtype: the dtype, or None (floatx, or the input's dtype where there is one).

    Example:
        >>> keras.ops.full((2,), 7.0).numpy()
        array([7., 7.], dtype=float32)
    """
    dtype = _dtype_or_floatx(dtype)
    return Tensor(np.full(_creation_shape("full", shape, dtype), value(fill_value), dtype=dtype))


class Sort(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        order = np.argsort(x, axis=axis, kind="stable")
        ctx.order, ctx.axis = order, axis
        return np.take_along_axis(x, order, axis=axis)

    @staticmethod
    def backward(ctx, g):
        out = np.zeros_like(g)
        np.put_along_axis(out, ctx.order, g, axis=ctx.axis)
        return out


def sort(x, axis=-1):
    """Sorted copy along ``axis`` (NaN last); differentiable (gradients follow the values).

    Args:
        x: input tensor or array-like.
        axis: the axis sorted along (default -1; None: the flattened tensor).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.sort(x, axis=1).numpy()
        array([[1., 3., 5.],
               [2., 4., 6.]], dtype=float32)
    """
    x = unary_input(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), -1
    return Sort.apply(x, axis=axis)


def argsort(x, axis=-1):
    """Indices (int32) that sort ``x`` along ``axis`` (stable; flattened when None).

    Args:
        x: input tensor or array-like.
        axis: the axis sorted along (default -1; None: the flattened tensor).

    Example:
        >>> x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], "float32")
        >>> keras.ops.argsort(x, axis=1).numpy()
        array([[0, 2, 1],
               [1, 0, 2]], dtype=int32)
    """
    a = np.asarray(value(x))
    if axis is None:
        a, axis = a.reshape(-1), -1
    return Tensor(np.argsort(a, axis=axis, kind="stable").astype(np.int32))


def top_k(x, k, sorted=True):  # noqa: A002 - keras.ops argument name
    """The ``k`` largest values along the last axis and their indices (values first)."""
    a = value(x)
    idx = np.argsort(-a, axis=-1, kind="stable")[..., :k]
    return Tensor(np.take_along_axis(a, idx, axis=-1)), Tensor(idx)
