"""Core ``keras.ops`` names: conversion and dtypes, control flow, custom gradients,
slicing and scattering, segment reductions, top-k, and a few special functions.

Control flow runs eagerly: ``cond``, ``switch``, ``while_loop``, ``fori_loop``, ``scan``,
``map``, ``vectorized_map`` and ``associative_scan`` call the user's function in Python, so
under a ``GradientTape`` every op inside them is recorded and gradients flow through the
loop as through straight-line code.
"""
import builtins
import inspect
import math
import re

import numpy as np

from nnfast import _core, tree
from nnfast.backend import tape as _tape
from nnfast.backend.tape import Function, GradientTape
from nnfast.backend.tensor import Tensor, Variable
from nnfast.ops._util import value

# NOTE: names, not `from nnfast.ops import array`: nnfast.ops.array may become an op (ops.array).
from nnfast.ops.array import cast as _array_cast
from nnfast.ops.array import concatenate, get_item, reshape, stack, transpose, zeros_like
from nnfast.ops.array import convert_to_tensor as _array_convert_to_tensor
from nnfast.ops.array import stop_gradient as _array_stop_gradient
from nnfast.ops.math import clip, divide, sqrt
from nnfast.ops.math import logsumexp as _math_logsumexp

# --- conversion and dtypes ---------------------------------------------------------------------


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Wraps an array-like as a Tensor (float64 data becomes float32, nnfast's floatx, unless
    ``dtype`` says otherwise); a Tensor of the right dtype is returned as is.

    Args:
        x: array-like, Python number, or Tensor.
        dtype: target dtype name (``"float32"``, ``"int64"``...), or None to keep.
        sparse: nnfast tensors are dense; only None/False are accepted.
        ragged: only None/False are accepted (no ragged tensors).

    Example:
        >>> convert_to_tensor([1.0, 2.0]).dtype
        dtype('float32')
    """
    if sparse:
        raise NotImplementedError("convert_to_tensor: nnfast has no sparse tensors. "
                                  f"Received: sparse={sparse}")
    if ragged:
        raise NotImplementedError("convert_to_tensor: nnfast has no ragged tensors. "
                                  f"Received: ragged={ragged}")
    if isinstance(x, Tensor) and dtype is not None and x.dtype == np.dtype(dtype):
        return x
    return _array_convert_to_tensor(x, dtype=dtype)


def convert_to_numpy(x):
    """The NumPy array behind ``x`` (a Tensor, array or Python value).

    Args:
        x: a tensor or array-like.

    Example:
        >>> convert_to_numpy(ops.ones((2,)))
        array([1., 1.], dtype=float32)
    """
    return np.asarray(x.value if isinstance(x, Tensor) else x)


def is_tensor(x):
    """True when ``x`` is an nnfast Tensor (or Variable).

    Args:
        x: any object.

    Example:
        >>> is_tensor(ops.ones(2)), is_tensor(np.ones(2))
        (True, False)
    """
    return isinstance(x, Tensor)


def shape(x):
    """The shape of ``x`` as a tuple of ints.

    Args:
        x: a tensor or array-like.

    Example:
        >>> shape(ops.zeros((8, 12)))
        (8, 12)
    """
    if isinstance(x, Tensor):
        return x.value.shape
    if hasattr(x, "shape") and not isinstance(x, np.ndarray):
        return tuple(x.shape)  # a symbolic tensor: None for unknown sizes
    return tuple(np.shape(x))


def cast(x, dtype):
    """``x`` converted to ``dtype`` (differentiable between float dtypes).

    Args:
        x: input tensor or array-like.
        dtype: the target dtype.

    Example:
        >>> cast(np.array([1.7, -2.2]), "int32")   # truncates toward zero
        <Tensor shape=(2,) dtype=int32
        array([ 1, -2], dtype=int32)>
    """
    return _array_cast(x, dtype)


def _dtype_limits(dt):
    dt = np.dtype(dt)
    if dt == np.bool_:
        return 0, 1
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
    else:
        info = np.finfo(dt)
    return info.min, info.max


def saturate_cast(x, dtype):
    """Casts ``x`` to ``dtype``, first clipping it to the range ``dtype`` can hold (so
    ``-1.0`` and ``256.0`` become ``0`` and ``255`` in uint8 instead of wrapping around).

    Args:
        x: input tensor or array-like.
        dtype: the target dtype (values are clipped to its range first).

    Example:
        >>> saturate_cast(np.array([-1.0, 256.0, 3.7]), "uint8")   # [0, 255, 3]
        <Tensor shape=(3,) dtype=uint8
        array([  0, 255,   3], dtype=uint8)>
    """
    target = np.dtype(dtype)
    x = convert_to_tensor(x)
    in_dtype = x.dtype
    in_min, in_max = _dtype_limits(in_dtype)
    out_min, out_max = _dtype_limits(target)
    lo, hi = builtins.max(in_min, out_min), builtins.min(in_max, out_max)
    if np.issubdtype(in_dtype, np.floating):
        # NOTE: the limits must be representable in the input dtype (float32 cannot hold
        # 2**31 - 1); nudge them toward zero where rounding took them past the target's
        # range. float() vs int compares exactly in Python.
        lo, hi = np.asarray(lo).astype(in_dtype), np.asarray(hi).astype(in_dtype)
        if float(lo) < out_min:
            lo = np.nextafter(lo, 0, dtype=in_dtype)
        if float(hi) > out_max:
            hi = np.nextafter(hi, 0, dtype=in_dtype)
        x = clip(x, lo, hi)
    else:
        x = Tensor(np.clip(x.value, int(lo), int(hi)).astype(in_dtype))
    return cast(x, target)


# --- control flow ---------------------------------------------------------------------------


def cond(pred, true_fn, false_fn):
    """Calls ``true_fn()`` if ``pred`` is true, else ``false_fn()`` (eagerly; gradients flow
    through the branch taken).

    Args:
        pred: a boolean scalar.
        true_fn: called (without arguments) when ``pred`` is True.
        false_fn: called otherwise.

    Example:
        >>> x = np.array([1.0, 2.0], "float32")
        >>> np.asarray(cond(x.sum() > 0, lambda: x * 2, lambda: -x))
        array([2., 4.], dtype=float32)
    """
    return true_fn() if bool(np.asarray(value(pred))) else false_fn()


def switch(index, branches, *operands):
    """Calls ``branches[index](*operands)``; ``index`` is clipped into ``[0, len(branches)-1]``.

    Args:
        index: an int selecting the branch (clamped to the valid range).
        branches: a list of functions.

    Example:
        >>> switch(1, [lambda x: x + 1, lambda x: x - 1], 5.0)   # 4.0
        4.0
    """
    if not branches:
        raise ValueError("switch: `branches` must not be empty.")
    i = int(np.asarray(value(index)))
    i = builtins.min(builtins.max(i, 0), len(branches) - 1)
    return branches[i](*operands)


def _to_tensor_leaf(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (at most
    ``maximum_iterations`` times).

    Args:
        cond: callable returning a boolean (scalar tensor or Python bool).
        body: callable returning new loop variables of the same structure.
        loop_vars: a tensor, or a tuple/list of (nested) tensors.
        maximum_iterations: optional cap on the number of iterations.

    Returns:
        The final loop variables (a tuple when ``loop_vars`` was a tuple or list).

    Example:
        >>> while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2), (0, 1.0))
        (<Tensor shape=() dtype=int64
        array(3)>, <Tensor shape=() dtype=float32
        array(8., dtype=float32)>)
    """
    is_sequence = isinstance(loop_vars, (tuple, list))
    loop_vars = tuple(loop_vars) if is_sequence else (loop_vars,)
    loop_vars = tree.map_structure(_to_tensor_leaf, loop_vars)
    iteration = 0
    while (maximum_iterations is None or iteration < maximum_iterations) and \
            bool(np.asarray(value(cond(*loop_vars)))):
        loop_vars = body(*loop_vars)
        if not isinstance(loop_vars, (tuple, list)):
            loop_vars = (loop_vars,)
        loop_vars = tuple(loop_vars)
        iteration += 1
    return loop_vars if is_sequence else loop_vars[0]


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns ``val``.

    Args:
        lower: the first index.
        upper: the end index (excluded).
        body_fun: ``body_fun(i, val) -> val``.
        init_val: the initial value.

    Example:
        >>> fori_loop(0, 3, lambda i, v: v + i, 0.0)   # 3.0
        3.0
    """
    val = init_val
    for i in range(int(np.asarray(value(lower))), int(np.asarray(value(upper)))):
        val = body_fun(i, val)
    return val


class Unstack(Function):
    """Splits ``x`` along ``axis`` into its slices (one node; the gradient stacks them)."""

    @staticmethod
    def forward(ctx, x, axis=0):
        x = value(x)
        ctx.axis, ctx.shape, ctx.dtype = axis, x.shape, x.dtype
        moved = np.moveaxis(x, axis, 0)
        # NOTE: np.array (not ascontiguousarray, which makes 0-d slices 1-d) copies each slice.
        return tuple(np.array(moved[i]) for i in range(moved.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        slice_shape = tuple(np.delete(np.asarray(ctx.shape, dtype=np.int64), ctx.axis))
        parts = [np.zeros(slice_shape, dtype=ctx.dtype) if g is None else g for g in grads]
        return np.stack(parts, axis=ctx.axis)


def unstack(x, num=None, axis=0):
    """Splits ``x`` along ``axis`` into a list of tensors of rank ``ndim - 1``.

    Args:
        x: input tensor.
        num: expected number of slices (checked when given).
        axis: the axis to unstack along.

    Example:
        >>> [t.shape for t in unstack(np.zeros((2, 3)), axis=1)]
        [(2,), (2,), (2,)]
    """
    x = x if isinstance(x, Tensor) else convert_to_tensor(x)
    if x.ndim == 0:
        raise ValueError(f"unstack: expected a tensor of rank >= 1. Received: x.shape={x.shape}")
    axis = axis % x.ndim
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: `num` must equal x.shape[axis]. Received: num={num}, "
                         f"x.shape={x.shape}, axis={axis}")
    if x.shape[axis] == 0:
        return []
    out = Unstack.apply(x, axis=axis)
    return list(out) if isinstance(out, tuple) else [out]


def _stack_leaves(ys):
    """Stacks a list of same-structure outputs leaf by leaf along a new first axis."""
    return tree.map_structure(lambda *leaves: stack(list(leaves), axis=0), *ys)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (like
    ``jax.lax.scan``), returning the final carry and the stacked ``y``s.

    Args:
        f: callable ``(carry, x) -> (carry, y)``; ``y`` may be None (zeros are stacked).
        init: initial carry (a tensor or nested structure of tensors).
        xs: tensors (nested allowed) to scan over along their first axis, or None.
        length: number of steps when ``xs`` is None (or a check on it).
        reverse: scan from the last element to the first (outputs keep positions).
        unroll: accepted for compatibility; the loop runs eagerly.

    Example:
        >>> carry, ys = scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0))
    """
    if not callable(f):
        raise TypeError(f"`f` should be a callable. Received: f={f}")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError("`unroll` must be an positive integer or boolean. "
                         f"Received: unroll={unroll}")
    if xs is None and length is None:
        raise ValueError("Got no `xs` to scan over and `length` not provided.")
    if xs is None:
        n, steps = int(length), None
    else:
        xs_flat = [_to_tensor_leaf(x) for x in tree.flatten(xs)]
        n = int(length) if length is not None else xs_flat[0].shape[0]
        for x in xs_flat:
            if x.ndim == 0 or x.shape[0] != n:
                raise ValueError(f"scan: every element of `xs` needs a leading axis of size {n}. "
                                 f"Received shapes: {[t.shape for t in xs_flat]}")
        sliced = [unstack(x) for x in xs_flat]
        steps = [tree.pack_sequence_as(xs, [s[i] for s in sliced]) for i in range(n)]
    carry = tree.map_structure(_to_tensor_leaf, init)
    dummy_y = None
    ys = [None] * n
    for i in (reversed(range(n)) if reverse else range(n)):
        carry, y = f(carry, None if steps is None else steps[i])
        if y is None:
            if dummy_y is None:
                dummy_y = tree.map_structure(zeros_like, carry)
            y = dummy_y
        ys[i] = y
    if n == 0:
        return carry, None
    return carry, _stack_leaves(ys)


def map(f, xs):
    """``f`` applied to each slice of ``xs`` along its first axis, outputs stacked.

    Args:
        f: the function applied to each slice.
        xs: a tensor (or structure) whose leading axis is mapped over.

    Example:
        >>> map(lambda x: x * 2, np.arange(3.0))   # [0, 2, 4]
        <Tensor shape=(3,) dtype=float32
        array([0., 2., 4.], dtype=float32)>
    """
    _, ys = scan(lambda carry, x: ((), f(x)), (), xs)
    return ys


def vectorized_map(function, elements):
    """``function`` applied to each slice of ``elements`` along the first axis, outputs
    stacked. When ``elements`` is a list or tuple, ``function`` receives the list of the
    i-th slices of its members.

    Args:
        function: the function applied to each slice.
        elements: a tensor (or structure) whose leading axis is mapped over.

    Example:
        >>> vectorized_map(lambda xs: xs[0] + xs[1], [np.ones(3), np.ones(3)])
        <Tensor shape=(3,) dtype=float32
        array([2., 2., 2.], dtype=float32)>
    """
    if isinstance(elements, (list, tuple)):
        parts = [unstack(_to_tensor_leaf(e)) for e in elements]
        n = len(parts[0])
        outs = [function([p[i] for p in parts]) for i in range(n)]
    else:
        outs = [function(x) for x in unstack(_to_tensor_leaf(elements))]
    return _stack_leaves(outs)


def _slice_along(x, start, stop, step=1, axis=0):
    key = [builtins.slice(None)] * x.ndim
    key[axis] = builtins.slice(start, stop, step)
    return get_item(x, tuple(key))


def _interleave(a, b, axis):
    """[a0, b0, a1, b1, ...] along ``axis`` (``a`` as long as ``b`` or one longer)."""
    na, nb = a.shape[axis], b.shape[axis]
    head = a if na == nb else _slice_along(a, 0, nb, axis=axis)
    pairs = stack([head, b], axis=axis + 1)
    shape_ = list(a.shape)
    shape_[axis] = 2 * nb
    out = reshape(pairs, shape_)
    if na > nb:
        out = concatenate([out, _slice_along(a, nb, na, axis=axis)], axis=axis)
    return out


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of ``elems`` along ``axis`` with an associative ``f`` (a parallel
    prefix: O(log n) calls of ``f`` on whole slices, like ``jax.lax.associative_scan``).

    Args:
        f: associative callable ``(a, b) -> c`` on (nested) tensors, applied elementwise.
        elems: tensor or nested structure of tensors sharing the size of ``axis``.
        reverse: scan from the end.
        axis: the axis to scan along.

    Example:
        >>> associative_scan(lambda a, b: a + b, np.arange(5.0))   # cumulative sum
        <Tensor shape=(5,) dtype=float32
        array([ 0.,  1.,  3.,  6., 10.], dtype=float32)>
    """
    if not callable(f):
        raise TypeError(f"`f` should be a callable. Received: f={f}")
    flat = [_to_tensor_leaf(e) for e in tree.flatten(elems)]
    if not flat:
        raise ValueError("associative_scan: `elems` holds no tensor.")
    axis = axis % flat[0].ndim
    n = flat[0].shape[axis]
    if any(e.shape[axis] != n for e in flat[1:]):
        raise ValueError("Array inputs to associative_scan must have the same first dimension. "
                         f"(saw: {[e.shape for e in flat]})")
    if reverse:
        flat = [_flip(e, axis) for e in flat]

    def combine(a_flat, b_flat):
        c = f(tree.pack_sequence_as(elems, a_flat), tree.pack_sequence_as(elems, b_flat))
        return [_to_tensor_leaf(t) for t in tree.flatten(c)]

    def run(es):
        m = es[0].shape[axis]
        if m < 2:
            return es
        reduced = combine([_slice_along(e, 0, m - 1, 2, axis) for e in es],
                          [_slice_along(e, 1, None, 2, axis) for e in es])
        odd = run(reduced)
        if m % 2 == 0:
            even = combine([_slice_along(e, 0, -1, axis=axis) for e in odd],
                           [_slice_along(e, 2, None, 2, axis) for e in es])
        else:
            even = combine(odd, [_slice_along(e, 2, None, 2, axis) for e in es])
        even = [concatenate([_slice_along(e, 0, 1, axis=axis), r], axis=axis)
                for e, r in zip(es, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    out = run(flat)
    if reverse:
        out = [_flip(e, axis) for e in out]
    return tree.pack_sequence_as(elems, out)


def _flip(x, axis):
    return _slice_along(x, None, None, -1, axis)


# --- gradients ------------------------------------------------------------------------------


def stop_gradient(variable):
    """``variable``'s value with no gradient flowing back through it.

    Args:
        variable: a tensor; the result has its value and no gradient.

    Example:
        >>> x = keras.Variable(3.0)
        >>> with keras.GradientTape() as tape:
        ...     y = ops.stop_gradient(x) * x
        >>> float(tape.gradient(y, x))  # dy/dx = x: the stopped factor is a constant
        3.0
    """
    return _array_stop_gradient(variable)


class _CustomGradient(Function):
    """A node whose forward values were computed by the user's function and whose backward
    is the user's ``grad_fn``."""

    @staticmethod
    def forward(ctx, *inputs, outputs=None, grad_fn=None, num_args=0, variables=(),
                out_shapes=()):
        ctx.grad_fn, ctx.num_args, ctx.variables = grad_fn, num_args, variables
        ctx.out_shapes = out_shapes
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        upstream = [Tensor(np.zeros(s, dtype=d) if g is None else g)
                    for g, (s, d) in zip(grads, ctx.out_shapes)]
        if ctx.variables:
            result = ctx.grad_fn(*upstream, variables=list(ctx.variables))
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise ValueError("custom_gradient: a grad_fn taking `variables` must return "
                                 "(input_grads, variable_grads).")
            input_grads, variable_grads = result
            input_grads = _as_grad_list(input_grads)
            variable_grads = _as_grad_list(variable_grads)
        else:
            input_grads, variable_grads = _as_grad_list(ctx.grad_fn(*upstream)), []
        if len(input_grads) != ctx.num_args:
            raise ValueError(f"custom_gradient: grad_fn returned {len(input_grads)} gradients "
                             f"for {ctx.num_args} inputs.")
        return tuple(None if g is None else np.asarray(value(g))
                     for g in input_grads + variable_grads)


def _as_grad_list(grads):
    if isinstance(grads, (tuple, list)):
        return list(grads)
    return [grads]


def _accepts_variables(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "variables" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def custom_gradient(f):
    """Decorator giving a function a user-defined gradient.

    ``f(*args)`` returns ``(output, grad_fn)``; ``grad_fn(*upstream)`` receives one upstream
    gradient per (flattened) output and returns one gradient per argument of ``f`` (a tensor,
    or a tuple/list when ``f`` has several arguments; None for no gradient). As in
    TensorFlow, when ``f`` reads trainable Variables that are not among its arguments,
    ``grad_fn`` must accept a ``variables`` keyword: it is called as
    ``grad_fn(*upstream, variables=[...])`` and returns ``(input_grads, variable_grads)``
    (TypeError otherwise).
    The ops inside ``f`` are not recorded: the gradient is exactly ``grad_fn``'s.

    Args:
        f: a function returning ``(output, grad_fn)``.

    Example:
        >>> @ops.custom_gradient
        ... def log1pexp(x):
        ...     e = ops.exp(x)
        ...     def grad(upstream):
        ...         return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
        ...     return ops.log(1 + e), grad
    """

    def wrapped(*args):
        if not _tape._tape_stack:
            output, _ = f(*args)
            return output
        # Run f on its own tape: it records nothing for the outer one, and shows which
        # Variables f read (those get gradients through grad_fn's `variables` form).
        inner = GradientTape(persistent=True)
        with inner:
            output, grad_fn = f(*args)
        arg_ids = {id(a) for a in args}
        variables, seen = [], set()
        for node in inner._nodes:
            for inp in node.inputs:
                if isinstance(inp, Variable) and inp.trainable and id(inp) not in arg_ids \
                        and id(inp) not in seen:
                    seen.add(id(inp))
                    variables.append(inp)
        if variables and not _accepts_variables(grad_fn):
            # As TensorFlow: otherwise those variables would silently get no gradient.
            raise TypeError("custom_gradient: the function reads trainable variables "
                            f"{[v.path for v in variables]}, so its grad_fn must accept a "
                            "`variables` keyword argument and return (input_grads, "
                            "variable_grads).")
        flat = [np.asarray(value(o)) for o in tree.flatten(output)]
        result = _CustomGradient.apply(
            *args, *variables, outputs=tuple(flat) if len(flat) != 1 else flat[0],
            grad_fn=grad_fn, num_args=len(args), variables=tuple(variables),
            out_shapes=tuple((o.shape, o.dtype) for o in flat))
        result = list(result) if isinstance(result, tuple) else [result]
        return tree.pack_sequence_as(output, result)

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = getattr(f, "__doc__", None)
    return wrapped


# --- slicing and scattering -------------------------------------------------------------------


def _int_tuple(x, name):
    if isinstance(x, Tensor):
        x = x.value
    try:
        return tuple(int(v) for v in np.asarray(x).reshape(-1))
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a sequence of integers. Received: {name}={x!r}") \
            from None


def slice(inputs, start_indices, shape):
    """The block of ``inputs`` starting at ``start_indices`` with the given ``shape`` (a
    size of -1 takes the rest of that axis, as in ``tf.slice``).

    Args:
        inputs: input tensor or array-like.
        start_indices: the start index along each axis.
        shape: the size of the slice along each axis.

    Example:
        >>> slice(np.arange(12).reshape(3, 4), (1, 1), (2, 2))   # [[5, 6], [9, 10]]
        <Tensor shape=(2, 2) dtype=int64
        array([[ 5,  6],
               [ 9, 10]])>
    """
    start, size = _int_tuple(start_indices, "start_indices"), _int_tuple(shape, "shape")
    x_shape = np.shape(value(inputs))
    if len(start) != len(size) or len(start) != len(x_shape):
        raise ValueError("Length of `start_indices` must match length of `shape` and the rank "
                         f"of `inputs`. Received: start_indices={start}, shape={size}, "
                         f"inputs.shape={x_shape}")
    key = []
    for s, n, dim in zip(start, size, x_shape):
        stop = dim if n == -1 else s + n
        if s < 0 or stop > dim:
            raise ValueError(f"slice: the block start={start}, shape={size} does not fit in "
                             f"inputs.shape={x_shape}")
        key.append(builtins.slice(s, stop))
    return get_item(inputs, tuple(key))


class SliceUpdate(Function):
    @staticmethod
    def forward(ctx, inputs, updates, key=()):
        inputs, updates = value(inputs), value(updates)
        ctx.key = key
        out = np.array(inputs, copy=True)
        out[key] = updates
        return out

    @staticmethod
    def backward(ctx, g):
        g_inputs = g.copy()
        g_inputs[ctx.key] = 0
        return g_inputs, np.ascontiguousarray(g[ctx.key])


def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``
    (differentiable in both).

    Args:
        inputs: input tensor or array-like.
        start_indices: the start index along each axis.
        updates: the values written there.

    Example:
        >>> slice_update(np.zeros((3, 3)), (1, 1), np.ones((2, 2)))
        <Tensor shape=(3, 3) dtype=float32
        array([[0., 0., 0.],
               [0., 1., 1.],
               [0., 1., 1.]], dtype=float32)>
    """
    start = _int_tuple(start_indices, "start_indices")
    x_shape, u_shape = np.shape(value(inputs)), np.shape(value(updates))
    if len(start) != len(x_shape) or len(u_shape) != len(x_shape):
        raise ValueError("slice_update: `start_indices` and `updates` must have the rank of "
                         f"`inputs`. Received: start_indices={start}, "
                         f"updates.shape={u_shape}, inputs.shape={x_shape}")
    for s, n, dim in zip(start, u_shape, x_shape):
        if s < 0 or s + n > dim:
            raise ValueError(f"slice_update: updates of shape {u_shape} at {start} do not fit "
                             f"in inputs.shape={x_shape}")
    key = tuple(builtins.slice(s, s + n) for s, n in zip(start, u_shape))
    return SliceUpdate.apply(inputs, updates, key=key)


def _index_tuple(indices, target_shape, name="indices"):
    """(N, depth) integer indices -> a NumPy advanced-index tuple, range-checked."""
    idx = np.asarray(value(indices))
    if not np.issubdtype(idx.dtype, np.integer):
        if idx.size and np.any(idx != np.round(idx)):
            raise TypeError(f"`{name}` must be integers. Received: {name}.dtype={idx.dtype}")
        idx = idx.astype(np.int64)
    if idx.ndim == 0:
        raise ValueError(f"`{name}` must have rank >= 1. Received: {name}.shape={idx.shape}")
    depth = idx.shape[-1]
    if depth > len(target_shape):
        raise ValueError(f"`{name}` index depth {depth} exceeds the rank of shape "
                         f"{tuple(target_shape)}")
    flat = idx.reshape(-1, depth)
    for d in range(depth):
        bad = (flat[:, d] < 0) | (flat[:, d] >= target_shape[d])
        if np.any(bad):
            raise ValueError(f"`{name}` out of range for shape {tuple(target_shape)}: "
                             f"{flat[bad][0].tolist()}")
    return tuple(flat.T), idx.shape[:-1], depth


class Scatter(Function):
    @staticmethod
    def forward(ctx, values, index=(), shape=(), lead=()):
        values = value(values)
        out = np.zeros(shape, dtype=values.dtype)
        ctx.index, ctx.vshape = index, values.shape
        np.add.at(out, index, values.reshape((-1,) + tuple(shape[len(index):])))
        return out

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.index]).reshape(ctx.vshape)


def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (duplicates sum).

    Args:
        indices: integers of shape ``(..., depth)``, each row an index into the first
            ``depth`` axes of ``shape``.
        values: shape ``indices.shape[:-1] + shape[depth:]``.
        shape: the output shape.

    Example:
        >>> scatter([[0], [0], [2]], [1.0, 2.0, 3.0], (4,))   # [3, 0, 3, 0]
        <Tensor shape=(4,) dtype=float32
        array([3., 0., 3., 0.], dtype=float32)>
    """
    shape = _int_tuple(shape, "shape")
    index, lead, depth = _index_tuple(indices, shape)
    v_shape = np.shape(value(values))
    if tuple(v_shape) != tuple(lead) + shape[depth:]:
        raise ValueError(f"scatter: `values` must have shape {tuple(lead) + shape[depth:]} "
                         f"for indices of shape {tuple(lead) + (depth,)} and shape={shape}. "
                         f"Received: values.shape={v_shape}")
    return Scatter.apply(values, index=index, shape=shape)


def _last_writer_mask(index, count):
    """True for each update that is the last one written to its position."""
    keys = np.stack(index, axis=1) if index else np.zeros((count, 0), np.int64)
    _, first_in_reversed = np.unique(keys[::-1], axis=0, return_index=True)
    mask = np.zeros(count, dtype=bool)
    mask[count - 1 - first_in_reversed] = True
    return mask


class ScatterUpdate(Function):
    @staticmethod
    def forward(ctx, inputs, updates, index=(), reduction=None):
        inputs, updates = value(inputs), value(updates)
        ctx.index, ctx.reduction = index, reduction
        out = np.array(inputs, copy=True)
        upd = updates.astype(out.dtype, copy=False)
        if reduction is None:
            out[index] = upd
        elif reduction == "add":
            np.add.at(out, index, upd)
        elif reduction == "max":
            np.maximum.at(out, index, upd)
        elif reduction == "min":
            np.minimum.at(out, index, upd)
        else:  # "mul"
            np.multiply.at(out, index, upd)
        ctx.save_for_backward(inputs, upd, out)
        return out

    @staticmethod
    def backward(ctx, g):
        inputs, upd, out = ctx.saved
        index, reduction = ctx.index, ctx.reduction
        g_at = g[index]
        if reduction is None:
            g_inputs = g.copy()
            g_inputs[index] = 0
            mask = _last_writer_mask(index, upd.shape[0])
            g_upd = g_at * mask.reshape((-1,) + (1,) * (upd.ndim - 1))
        elif reduction == "add":
            g_inputs, g_upd = g, g_at
        elif reduction in ("max", "min"):
            # The gradient goes to whichever of inputs/updates holds the result, split
            # equally among ties (as TF's segment max/min gradients).
            hit_in = (inputs == out).astype(g.dtype)
            hit_upd = (upd == out[index]).astype(g.dtype)
            count = hit_in.copy()
            np.add.at(count, index, hit_upd)
            share = g / np.maximum(count, 1)
            g_inputs, g_upd = share * hit_in, share[index] * hit_upd
        else:  # "mul": d out / d u_j = inputs * prod of the other updates at that position
            g_inputs = np.ones_like(out)
            np.multiply.at(g_inputs, index, upd)
            g_inputs = g * g_inputs
            with np.errstate(divide="ignore", invalid="ignore"):
                g_upd = g_at * out[index] / upd
            for j in np.flatnonzero(np.any((upd == 0).reshape(upd.shape[0], -1), axis=1)):
                others = np.ones_like(out)
                rest = [k for k in range(upd.shape[0]) if k != j]
                np.multiply.at(others, tuple(i[rest] for i in index), upd[rest])
                pos = tuple(i[j] for i in index)
                g_upd[j] = g[pos] * inputs[pos] * others[pos]
        return g_inputs, np.ascontiguousarray(g_upd)


def scatter_update(inputs, indices, updates, reduction=None):
    """A copy of ``inputs`` with ``updates`` written at ``indices``.

    Args:
        inputs: the tensor to update.
        indices: integers of shape ``(N, depth)``.
        updates: shape ``(N,) + inputs.shape[depth:]``.
        reduction: None (overwrite; the last of duplicate indices wins), ``"add"``,
            ``"max"``, ``"min"`` or ``"mul"`` (combine with what is there).

    Example:
        >>> scatter_update(np.zeros((3, 3)), [[0, 1], [2, 2]], [1.0, 2.0])
        <Tensor shape=(3, 3) dtype=float32
        array([[0., 1., 0.],
               [0., 0., 0.],
               [0., 0., 2.]], dtype=float32)>
    """
    if reduction not in (None, "add", "max", "min", "mul"):
        raise ValueError(f"Unsupported reduction: {reduction}. Expected one of None, 'add', "
                         "'max', 'min', 'mul'.")
    x_shape = np.shape(value(inputs))
    index, lead, depth = _index_tuple(indices, x_shape)
    expected = (int(np.prod(lead)),) + tuple(x_shape[depth:])
    updates_arr = value(updates)
    if np.shape(updates_arr) != expected:
        if np.size(updates_arr) != int(np.prod(expected)):
            raise ValueError(f"scatter_update: `updates` must have shape {expected}. "
                             f"Received: updates.shape={np.shape(updates_arr)}")
        updates = reshape(updates, expected)
    return ScatterUpdate.apply(inputs, updates, index=index, reduction=reduction)


# --- segment reductions -----------------------------------------------------------------------


def _segment_setup(data, segment_ids, num_segments):
    ids = np.asarray(value(segment_ids))
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"`segment_ids` must be integers. Received dtype: {ids.dtype}")
    d_shape = np.shape(value(data))
    if ids.ndim != 1 or len(d_shape) == 0 or ids.shape[0] != d_shape[0]:
        raise ValueError("`segment_ids` must be 1-D with one id per row of `data`. Received: "
                         f"segment_ids.shape={ids.shape}, data.shape={d_shape}")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.size else 0
    num_segments = int(np.asarray(value(num_segments)))
    # Ids outside [0, num_segments) (e.g. -1) are dropped, as TF's unsorted segment ops do.
    keep = (ids >= 0) & (ids < num_segments)
    return ids, keep, num_segments


class _Segment(Function):
    @staticmethod
    def forward(ctx, data, ids=None, keep=None, num_segments=0, kind="sum"):
        data = value(data)
        shape_ = (num_segments,) + data.shape[1:]
        every = bool(keep.all())
        rows, seg = (data, ids) if every else (data[keep], ids[keep])
        dim = int(np.prod(shape_[1:], dtype=np.int64))
        if kind == "sum" and data.dtype == np.float32 and num_segments and dim and seg.size:
            # The embedding scatter-add kernel: rows added in order, as np.add.at does.
            out = np.zeros(shape_, dtype=np.float32)
            _core.embedding_backward(np.ascontiguousarray(rows).reshape(-1, dim),
                                     np.ascontiguousarray(seg, dtype=np.int64),
                                     out.reshape(num_segments, dim), None)
        elif kind == "sum":
            out = np.zeros(shape_, dtype=data.dtype)
            np.add.at(out, seg, rows)
        elif kind == "prod":
            out = np.ones(shape_, dtype=data.dtype)
            np.multiply.at(out, seg, rows)
        else:
            lo, hi = _dtype_limits(data.dtype)
            out = np.full(shape_, lo if kind == "max" else hi, dtype=data.dtype)
            (np.maximum if kind == "max" else np.minimum).at(out, seg, rows)
        ctx.ids, ctx.keep, ctx.kind, ctx.num_segments = ids, keep, kind, num_segments
        ctx.save_for_backward(data, out)
        return out

    @staticmethod
    def backward(ctx, g):
        data, out = ctx.saved
        ids, keep, kind = ctx.ids, ctx.keep, ctx.kind
        safe = np.where(keep, ids, 0)
        mask = keep.reshape((-1,) + (1,) * (data.ndim - 1))
        if kind == "sum":
            return g[safe] * mask
        if kind in ("max", "min"):
            hit = (data == out[safe]) & mask
            count = np.zeros_like(out)
            np.add.at(count, ids[keep], hit[keep].astype(out.dtype))
            return np.where(hit, (g / np.maximum(count, 1))[safe], 0).astype(g.dtype)
        # prod: the product of the other members of the segment, computed without dividing
        # by zero (a segment with one zero passes gradient only to that zero).
        zero = (data == 0) & mask
        zeros_per = np.zeros(out.shape, dtype=np.int64)
        np.add.at(zeros_per, ids[keep], zero[keep].astype(np.int64))
        nonzero_prod = np.ones_like(out)
        np.multiply.at(nonzero_prod, ids[keep], np.where(zero, 1, data)[keep])
        nz_at, p_at = zeros_per[safe], nonzero_prod[safe]
        with np.errstate(divide="ignore", invalid="ignore"):
            others = np.where(zero, np.where(nz_at == 1, p_at, 0),
                              np.where(nz_at == 0, p_at / np.where(zero, 1, data), 0))
        return (g[safe] * others * mask).astype(g.dtype)


def _segment(kind, data, segment_ids, num_segments, sorted):
    ids, keep, num_segments = _segment_setup(data, segment_ids, num_segments)
    if sorted and ids.size and np.any(np.diff(ids[keep]) < 0):
        raise ValueError("`segment_ids` must be sorted when `sorted=True`.")
    return _Segment.apply(data, ids=ids, keep=keep, num_segments=num_segments, kind=kind)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sum of the rows of ``data`` sharing each segment id.

    Args:
        data: tensor whose first axis is segmented.
        segment_ids: 1-D integers, one per row of ``data``; negative ids are dropped.
        num_segments: number of output rows (default ``max(segment_ids) + 1``).
        sorted: whether ``segment_ids`` is sorted (checked; the result is the same).

    Returns:
        Shape ``(num_segments,) + data.shape[1:]``; empty segments hold 0.

    Example:
        >>> segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))   # [3, 3]
        <Tensor shape=(2,) dtype=float32
        array([3., 3.], dtype=float32)>
    """
    return _segment("sum", data, segment_ids, num_segments, sorted)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maximum of the rows of ``data`` sharing each segment id (empty segments hold the
    dtype's lowest value, as in TensorFlow). See ``segment_sum`` for the arguments.

    Args:
        data: input tensor or array-like.
        segment_ids: the segment of each row of ``data``.
        num_segments: the number of segments (None: ``max(segment_ids) + 1``).
        sorted: the ids are sorted (a hint).

    Example:
        >>> segment_max(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))   # [2, 3]
        <Tensor shape=(2,) dtype=float32
        array([2., 3.], dtype=float32)>
    """
    return _segment("max", data, segment_ids, num_segments, sorted)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minimum of the rows of ``data`` sharing each segment id (empty segments hold the
    dtype's largest value). See ``segment_sum`` for the arguments.

    Args:
        data: input tensor or array-like.
        segment_ids: the segment of each row of ``data``.
        num_segments: the number of segments (None: ``max(segment_ids) + 1``).
        sorted: the ids are sorted (a hint).

    Example:
        >>> segment_min(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))   # [1, 3]
        <Tensor shape=(2,) dtype=float32
        array([1., 3.], dtype=float32)>
    """
    return _segment("min", data, segment_ids, num_segments, sorted)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Product of the rows of ``data`` sharing each segment id (empty segments hold 1).
    See ``segment_sum`` for the arguments.

    Args:
        data: input tensor or array-like.
        segment_ids: the segment of each row of ``data``.
        num_segments: the number of segments (None: ``max(segment_ids) + 1``).
        sorted: the ids are sorted (a hint).

    Example:
        >>> segment_prod(np.array([2.0, 3.0, 4.0]), np.array([0, 0, 1]))   # [6, 4]
        <Tensor shape=(2,) dtype=float32
        array([6., 4.], dtype=float32)>
    """
    return _segment("prod", data, segment_ids, num_segments, sorted)


# --- top-k ----------------------------------------------------------------------------------


class TopK(Function):
    @staticmethod
    def forward(ctx, x, k=1):
        x = value(x)
        if x.dtype == np.float32:
            # The C++ selection: TF's order (ties by lower index, NaN below every number).
            values, idx = _core.top_k(np.ascontiguousarray(x), k)
            ctx.idx, ctx.shape = idx, x.shape
            return values, idx
        key = -x.astype(np.int64) if np.issubdtype(x.dtype, np.unsignedinteger) else -x
        n = x.shape[-1]
        if 0 < k and 4 * k < n:
            idx = _top_k_partitioned(key, k)
        else:
            # Stable sort: among equal values the lower index comes first, as in TF.
            idx = np.argsort(key, axis=-1, kind="stable")[..., :k]
        ctx.idx, ctx.shape = idx, x.shape
        return np.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)

    @staticmethod
    def backward(ctx, g_values, g_indices=None):
        if g_values is None:
            return None
        out = np.zeros(ctx.shape, dtype=g_values.dtype)
        np.put_along_axis(out, ctx.idx, g_values, axis=-1)
        return out


def _top_k_partitioned(key, k):
    """Indices of the k smallest ``key`` entries along the last axis, in increasing key
    order, ties by lower index: an O(n) selection instead of a full sort."""
    n = key.shape[-1]
    rows = key.reshape(-1, n)
    kth = np.partition(rows, k - 1, axis=-1)[:, k - 1:k]
    chosen = rows <= kth
    exact = chosen.sum(axis=-1) == k
    idx = np.empty((rows.shape[0], k), dtype=np.int64)
    # Rows with exactly k entries <= the k-th value (no tie across it, no NaN): nonzero
    # lists them in index order. Other rows take the stable sort.
    idx[exact] = np.nonzero(chosen[exact])[1].reshape(-1, k)
    if not exact.all():
        idx[~exact] = np.argsort(rows[~exact], axis=-1, kind="stable")[:, :k]
    order = np.argsort(np.take_along_axis(rows, idx, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(idx, order, axis=-1).reshape(key.shape[:-1] + (k,))


def top_k(x, k, sorted=True):
    """The ``k`` largest entries along the last axis: ``(values, indices)``, values in
    decreasing order (ties: lower index first; ``sorted=False`` gives the same order).
    The values are differentiable (the gradient goes back to the chosen entries).

    Args:
        x: input tensor or array-like.
        k: how many of the largest values along the last axis.
        sorted: return them in descending order (default True).

    Example:
        >>> values, indices = top_k(np.array([1.0, 3.0, 2.0]), 2)   # [3, 2], [1, 2]
    """
    x_shape = np.shape(value(x))
    k = int(k)
    if len(x_shape) == 0 or not 0 <= k <= x_shape[-1]:
        raise ValueError(f"top_k: `k` must be in [0, x.shape[-1]] on a tensor of rank >= 1. "
                         f"Received: k={k}, x.shape={x_shape}")
    values, indices = TopK.apply(x, k=k)
    indices.node = None  # indices carry no gradient
    return values, indices


def in_top_k(targets, predictions, k):
    """Whether each target class is among the ``k`` largest predictions of its row (ties
    at the k-th value count as in; a non-finite prediction for the target is never in).

    Args:
        targets: integers of shape ``(batch,)``.
        predictions: shape ``(batch, num_classes)``.
        k: number of top classes considered.

    Returns:
        A boolean tensor of shape ``(batch,)``.

    Example:
        >>> in_top_k(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), 1)   # [True, False]
        <Tensor shape=(2,) dtype=bool
        array([ True, False])>
    """
    t = np.asarray(value(targets)).astype(np.int64)
    p = np.asarray(value(predictions))
    if p.ndim != 2 or t.shape != (p.shape[0],):
        raise ValueError("in_top_k: expected targets of shape (batch,) and predictions of "
                         f"shape (batch, num_classes). Received: targets.shape={t.shape}, "
                         f"predictions.shape={p.shape}")
    k = int(k)
    if k <= 0:
        return Tensor(np.zeros(t.shape, dtype=bool))
    kth = -np.partition(-p, builtins.min(k, p.shape[1]) - 1, axis=-1)[:, builtins.min(
        k, p.shape[1]) - 1]
    valid = (t >= 0) & (t < p.shape[1])
    target_values = p[np.arange(len(t)), np.where(valid, t, 0)]
    return Tensor(valid & np.isfinite(target_values) & (target_values >= kth))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))`` computed stably (differentiable).

    Args:
        x: input tensor or array-like.
        axis: int, tuple of ints, or None (all axes).
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> logsumexp(np.array([1.0, 2.0]))   # 2.3133
        <Tensor shape=() dtype=float64
        array(2.31326169)>
    """
    return _math_logsumexp(x, axis=axis, keepdims=keepdims)


# --- special functions ----------------------------------------------------------------------


def _float_input(x):
    """x's array; integers and bools become float32 (Keras's result dtype for them)."""
    a = value(x)
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    return a


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf64(x):
    """erf in float64 to ~1e-15: a positive-term series below |x| = 2.5, 1 - erfc from a
    continued fraction above (no per-element Python)."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    out = np.empty_like(x)
    small = ax < 2.5
    if np.any(small):
        xs = ax[small]
        x2 = xs * xs
        term = xs.copy()
        total = xs.copy()
        for n in range(1, 80):  # erf(x) = 2/sqrt(pi) e^-x^2 sum 2^n x^(2n+1) / (2n+1)!!
            term = term * (2.0 * x2) / (2 * n + 1)
            total += term
        out[small] = _TWO_OVER_SQRT_PI * np.exp(-x2) * total
    big = ~small
    if np.any(big):
        out[big] = 1.0 - _erfc_cf(ax[big])
    return np.copysign(out, x)


def _erfc_cf(x):
    """erfc(x) for x >= 2 (float64) by its continued fraction, evaluated bottom up."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        t = x.copy()
        for k in range(60, 0, -1):
            t = x + (k / 2.0) / t
        out = np.exp(-x * x) / (math.sqrt(math.pi) * t)
    return np.where(np.isinf(x), 0.0, out)


def _erfc64(x):
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    pos = np.where(ax < 2.5, 1.0 - _erf64(ax), _erfc_cf(np.maximum(ax, 2.5)))
    return np.where(x < 0, 2.0 - pos, pos)


def _erfinv64(y):
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Winitzki's closed form (a = 0.147) as the start, then Newton steps on erf (|y|
        # <= 0.5) or on erfc (|y| > 0.5, where 1 - |y| keeps the precision erf would lose).
        a = 0.147
        ln = np.log1p(-y * y)
        first = 2.0 / (math.pi * a) + ln / 2.0
        x = np.sign(y) * np.sqrt(np.sqrt(first * first - ln / a) - first)
        ay, ax = np.abs(y), np.abs(x)
        tail = ay > 0.5
        for _ in range(6):
            deriv = _TWO_OVER_SQRT_PI * np.exp(-ax * ax)
            resid = np.where(tail, (1.0 - ay) - _erfc64(ax), _erf64(ax) - ay)
            step = -resid / deriv
            ax = np.where(np.isfinite(step), ax + step, ax)
        out = np.copysign(ax, y)
    out = np.where(ay == 1.0, np.copysign(np.inf, y), out)
    return np.where((ay > 1.0) | np.isnan(y), np.nan, out)


class _Erf(Function):
    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        ctx.save_for_backward(x)
        return _erf64(x).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return (g * _TWO_OVER_SQRT_PI * np.exp(-np.square(x, dtype=np.float64))).astype(g.dtype)


class _Erfc(Function):
    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        ctx.save_for_backward(x)
        return _erfc64(x).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return (-g * _TWO_OVER_SQRT_PI * np.exp(-np.square(x, dtype=np.float64))).astype(g.dtype)


class _Erfinv(Function):
    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        out = _erfinv64(x)
        ctx.save_for_backward(out)
        return out.astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return (g * (math.sqrt(math.pi) / 2.0) * np.exp(out * out)).astype(g.dtype)


def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``, elementwise.

    Args:
        x: input tensor or array-like.

    Example:
        >>> erf(np.array([0.0, 1.0]))   # [0, 0.8427]
        <Tensor shape=(2,) dtype=float32
        array([0.       , 0.8427008], dtype=float32)>
    """
    return _Erf.apply(x)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, accurate for large ``x``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> erfc(np.array([0.0, 3.0]))   # [1, 2.209e-05]
        <Tensor shape=(2,) dtype=float32
        array([1.0000000e+00, 2.2090497e-05], dtype=float32)>
    """
    return _Erfc.apply(x)


def erfinv(x):
    """The inverse error function on ``[-1, 1]`` (±inf at ±1, NaN outside).

    Args:
        x: input tensor or array-like.

    Example:
        >>> erfinv(np.array([0.5]))   # [0.4769]
        <Tensor shape=(1,) dtype=float32
        array([0.47693628], dtype=float32)>
    """
    return _Erfinv.apply(x)


def rsqrt(x):
    """``1 / sqrt(x)`` elementwise (integers become float32).

    Args:
        x: input tensor or array-like.

    Example:
        >>> rsqrt(np.array([4.0]))   # [0.5]
        <Tensor shape=(1,) dtype=float32
        array([0.5], dtype=float32)>
    """
    if not (isinstance(x, Tensor) and np.issubdtype(x.dtype, np.floating)):
        x = _float_input(x)
    return divide(1.0, sqrt(x))


class _LogDet(Function):
    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        _, logabsdet = np.linalg.slogdet(x.astype(np.float64))
        ctx.save_for_backward(x)
        return logabsdet.astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        inv_t = np.swapaxes(np.linalg.inv(x.astype(np.float64)), -1, -2)
        return (np.asarray(g)[..., None, None] * inv_t).astype(x.dtype)


def logdet(x):
    """``log|det(x)|`` of (a batch of) square matrices, shape ``x.shape[:-2]``.

    Args:
        x: ``(..., M, M)`` positive-definite matrices.

    Example:
        >>> logdet(2 * np.eye(3))   # 3 log 2
        <Tensor shape=() dtype=float32
        array(2.0794415, dtype=float32)>
    """
    s = np.shape(value(x))
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"logdet: expected square matrices (..., n, n). Received: x.shape={s}")
    return _LogDet.apply(x)


class _CDist(Function):
    @staticmethod
    def forward(ctx, x, y):
        x, y = value(x), value(y)
        diff = x[..., :, None, :] - y[..., None, :, :]
        dist = np.sqrt(np.sum(diff * diff, axis=-1))
        ctx.save_for_backward(diff, dist)
        return dist

    @staticmethod
    def backward(ctx, g):
        diff, dist = ctx.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(dist > 0, g / dist, 0)[..., None] * diff
        return w.sum(axis=-2), -w.sum(axis=-3)


def cdist(x, y):
    """Euclidean distances between the rows of ``x`` and ``y``: ``x`` of shape
    ``(..., n, d)`` and ``y`` of shape ``(..., m, d)`` give ``(..., n, m)``.

    Args:
        x: ``(..., n, d)`` points.
        y: ``(..., m, d)`` points.

    Example:
        >>> cdist(np.zeros((2, 3)), np.ones((4, 3))).shape
        (2, 4)
    """
    xs, ys = np.shape(value(x)), np.shape(value(y))
    if len(xs) < 2 or len(ys) < 2:
        raise ValueError(f"`cdist` inputs must have rank >= 2. Received: x.shape={xs}, "
                         f"y.shape={ys}")
    if xs[-1] != ys[-1]:
        raise ValueError(f"Last dimension of inputs to `cdist` must match. Received: "
                         f"x.shape={xs}, y.shape={ys}")
    return _CDist.apply(x, y)


# --- layout ---------------------------------------------------------------------------------


def _parse_side(side):
    groups = []
    for token in re.findall(r"\([^)]*\)|[^\s()]+", side.strip()):
        if token.startswith("("):
            groups.append(token[1:-1].split())
        else:
            groups.append([token])
    for g in groups:
        for name in g:
            if not re.fullmatch(r"\w+", name):
                raise ValueError(f"rearrange: unsupported axis name {name!r} (plain names and "
                                 "parenthesized groups only).")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Reorders, splits and merges axes with an einops pattern, e.g.
    ``"b h w c -> b c h w"`` or ``"b (h1 h) w c -> (b h1) h w c"`` with ``h1=2``.

    Args:
        tensor: input tensor.
        pattern: ``"<input axes> -> <output axes>"``; parentheses group axes.
        **axes_lengths: sizes of axes that a group on the left cannot infer.

    Example:
        >>> rearrange(np.zeros((32, 30, 40, 3)), "b h w c -> b c h w").shape
        (32, 3, 30, 40)
    """
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: pattern must have one '->'. Received: pattern={pattern!r}")
    left, right = (_parse_side(s) for s in pattern.split("->"))
    in_shape = np.shape(value(tensor))
    if len(left) != len(in_shape):
        raise ValueError(f"rearrange: the pattern's left side has {len(left)} axes; the tensor "
                         f"has shape {in_shape}.")
    sizes = {}
    for group, dim in zip(left, in_shape):
        known = [n for n in group if n in axes_lengths]
        unknown = [n for n in group if n not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in a group of "
                             f"size {dim}; pass them as keyword arguments.")
        product = int(np.prod([axes_lengths[n] for n in known])) if known else 1
        if unknown:
            if product == 0 or dim % product:
                raise ValueError(f"rearrange: group {group} of size {dim} is not divisible by "
                                 f"{product}.")
            sizes[unknown[0]] = dim // product
        elif product != dim:
            raise ValueError(f"rearrange: group {group} has size {dim}, not {product}.")
        for n in known:
            sizes[n] = int(axes_lengths[n])
    flat_left = [n for g in left for n in g]
    flat_right = [n for g in right for n in g]
    if sorted(flat_left) != sorted(flat_right) or len(set(flat_left)) != len(flat_left):
        raise ValueError(f"rearrange: both sides must name the same axes once each. "
                         f"Received: pattern={pattern!r}")
    out = reshape(tensor, [sizes[n] for n in flat_left])
    out = transpose(out, tuple(flat_left.index(n) for n in flat_right))
    return reshape(out, [int(np.prod([sizes[n] for n in g])) for g in right])


def view_as_complex(x):
    """A complex tensor from a real one whose last axis (size 2) holds (real, imag).
    (Complex tensors carry no gradient in nnfast.)

    Args:
        x: a float tensor whose last axis has size 2 (real, imaginary).

    Example:
        >>> view_as_complex(np.array([[1.0, 2.0], [3.0, 4.0]]))   # [1+2j, 3+4j]
        <Tensor shape=(2,) dtype=complex64
        array([1.+2.j, 3.+4.j], dtype=complex64)>
    """
    a = np.asarray(value(x))
    if a.ndim < 1 or a.shape[-1] != 2:
        raise ValueError("Last dimension of input must be size 2 (real and imaginary). "
                         f"Received shape: {a.shape}")
    complex_dtype = np.complex128 if a.dtype == np.float64 else np.complex64
    return Tensor((a[..., 0] + 1j * a[..., 1]).astype(complex_dtype))


def view_as_real(x):
    """The real tensor ``(..., 2)`` of (real, imag) parts of a complex tensor.

    Args:
        x: a complex tensor.

    Example:
        >>> view_as_real(np.array([1 + 2j]))   # [[1, 2]]
        <Tensor shape=(1, 2) dtype=float64
        array([[1., 2.]])>
    """
    a = np.asarray(value(x))
    real_dtype = np.float64 if a.dtype == np.complex128 else np.float32
    return Tensor(np.stack([a.real, a.imag], axis=-1).astype(real_dtype))
