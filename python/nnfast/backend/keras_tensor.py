"""Symbolic tensors: the placeholders ``Input`` returns and functional models are built from.

A KerasTensor knows its shape (batch axis None), its dtype and the layer call that made it
(``keras_history = (layer, node_index, tensor_index)``). As in Keras, Python operators and
``nnfast.ops`` calls on KerasTensors do not compute anything: they record an operation node
in the graph and return a new KerasTensor whose shape and dtype come from
``compute_output_spec`` (the op run once or twice on small concrete stand-ins).
"""
import numpy as np

from nnfast import ops
from nnfast.backend import tape
from nnfast.backend.tensor import Tensor


class KerasTensor:
    """A symbolic tensor with a shape (``None`` for unknown axes) and a dtype.

    Args:
        shape: tuple of ints or None (the batch axis is usually None).
        dtype: dtype name, e.g. ``"float32"``, ``"int32"``, ``"bool"``.
        sparse: flags a sparse input (Keras's attribute; values are dense in nnfast).
        ragged: ragged tensors are not supported (True raises NotImplementedError).
        record_history: must stay True: nnfast records a graph node for every op on a
            KerasTensor (Keras's False, which skips recording, raises NotImplementedError).
        name: optional name.

    Operators (``+ - * / // % ** @``, comparisons, ``-x``, ``abs``, ``~``, ``& | ^``,
    ``x[...]``) call the matching ``nnfast.ops`` function, which records a node.

    Example:
        >>> x = nnfast.Input((4,))
        >>> y = x * 0.5 + 1.0          # two op nodes: Multiply, Add
        >>> y.shape
        (None, 4)
    """

    def __init__(self, shape, dtype="float32", sparse=False, ragged=False,
                 record_history=True, name=None, keras_history=None, **kwargs):
        if ragged:
            raise NotImplementedError("Ragged KerasTensors (ragged=True) are not supported by "
                                      "nnfast (Keras supports them on TensorFlow only).")
        if not record_history:
            raise NotImplementedError("KerasTensor(record_history=False) is not implemented in "
                                      "nnfast: ops on KerasTensors always record graph nodes.")
        if kwargs:
            raise TypeError(f"KerasTensor() got unexpected keyword arguments {sorted(kwargs)}")
        self.sparse, self.ragged = bool(sparse), False
        self.record_history = True
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = _dtype_name(dtype)
        self.name = name
        self._keras_history = keras_history
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # --- what a symbolic tensor cannot do ----------------------------------------------------
    def __bool__(self):
        raise TypeError("A symbolic KerasTensor cannot be used as a boolean.")

    def __iter__(self):
        raise NotImplementedError(
            "Iterating over a symbolic KerasTensor is not supported. Received: "
            f"{self!r}")

    def __int__(self):
        raise ValueError("A KerasTensor is symbolic: it's a placeholder for a shape and a "
                         "dtype. It doesn't have any actual numerical value. You cannot "
                         "convert it to an int.")

    def __float__(self):
        raise ValueError("A KerasTensor is symbolic: it's a placeholder for a shape and a "
                         "dtype. It doesn't have any actual numerical value. You cannot "
                         "convert it to a float.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "A KerasTensor cannot be used as input to a NumPy function: it is a symbolic "
            "placeholder created when building a functional model. Use `nnfast.ops` "
            f"functions on it instead (they record graph nodes). Received: {self!r}")

    # NumPy must defer to our reflected operators (``np.float32(2) * x``).
    __array_ufunc__ = None

    # --- operators: each records the op node Keras records -----------------------------------
    def __add__(self, other):
        return _op("add")(self, other)

    def __radd__(self, other):
        return _op("add")(other, self)

    def __sub__(self, other):
        return _op("subtract")(self, other)

    def __rsub__(self, other):
        return _op("subtract")(other, self)

    def __mul__(self, other):
        return _op("multiply")(self, other)

    def __rmul__(self, other):
        return _op("multiply")(other, self)

    def __matmul__(self, other):
        return _op("matmul")(self, other)

    def __rmatmul__(self, other):
        return _op("matmul")(other, self)

    def __truediv__(self, other):
        return _op("true_divide")(self, other)

    def __rtruediv__(self, other):
        return _op("true_divide")(other, self)

    def __floordiv__(self, other):
        return _op("floor_divide")(self, other)

    def __rfloordiv__(self, other):
        return _op("floor_divide")(other, self)

    def __mod__(self, other):
        return _op("mod")(self, other)

    def __rmod__(self, other):
        return _op("mod")(other, self)

    def __pow__(self, other):
        return _op("power")(self, other)

    def __rpow__(self, other):
        return _op("power")(other, self)

    def __neg__(self):
        return _op("negative")(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _op("absolute")(self)

    def __lt__(self, other):
        return _op("less")(self, other)

    def __le__(self, other):
        return _op("less_equal")(self, other)

    def __gt__(self, other):
        return _op("greater")(self, other)

    def __ge__(self, other):
        return _op("greater_equal")(self, other)

    # NOTE: as Keras, ``!=`` records NotEqual but ``==`` stays identity, so KerasTensors
    # remain hashable and usable in ``is``/``in`` checks of the graph code.
    def __ne__(self, other):
        return _op("not_equal")(self, other)

    __hash__ = object.__hash__

    def __and__(self, other):
        return _op("logical_and")(self, other)

    def __rand__(self, other):
        return _op("logical_and")(other, self)

    def __or__(self, other):
        return _op("logical_or")(self, other)

    def __ror__(self, other):
        return _op("logical_or")(other, self)

    def __xor__(self, other):
        return _op("logical_xor")(self, other)

    def __rxor__(self, other):
        return _op("logical_xor")(other, self)

    def __invert__(self):
        return _op("logical_not")(self)

    def __getitem__(self, key):
        return _op("get_item")(self, key)

    def __round__(self, ndigits=None):
        return _op("round")(self, ndigits or 0)


def _dtype_name(dtype):
    """``"float32"`` for float32 / np.float32 / "float32"; other names ("string") kept."""
    if dtype is None:
        return "float32"
    try:
        return str(np.dtype(dtype))
    except TypeError:
        return str(dtype)


def _op(name):
    """The public ``nnfast.ops`` function ``name`` (the symbolic-aware one)."""
    fn = getattr(ops, name, None)
    if fn is None:
        raise NotImplementedError(f"nnfast.ops.{name} is not implemented, so this operator "
                                  "is not available on symbolic tensors.")
    return fn


# Element types that are never symbolic and hold nothing: skipped without a recursive call.
_PLAIN = frozenset((int, float, bool, str, type(None), np.ndarray))


def any_symbolic(x):
    """True when ``x`` (or any element of a list/tuple/dict) is a KerasTensor."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)):
        # NOTE: a loop, not any(generator): a shape tuple passed to an op (ops.reshape(x,
        # (batch, -1))) is checked on every eager call.
        for v in x:
            if type(v) not in _PLAIN and any_symbolic(v):
                return True
        return False
    if isinstance(x, dict):
        return any(any_symbolic(v) for v in x.values())
    return False


def map_tensors(fn, struct):
    """``struct`` with every KerasTensor ``t`` replaced by ``fn(t)`` (lists, tuples, dicts)."""
    if isinstance(struct, KerasTensor):
        return fn(struct)
    if isinstance(struct, list):
        return [map_tensors(fn, v) for v in struct]
    if isinstance(struct, tuple):
        return tuple(map_tensors(fn, v) for v in struct)
    if isinstance(struct, dict):
        return {k: map_tensors(fn, v) for k, v in struct.items()}
    return struct


# --- output specs by tracing on concrete stand-ins --------------------------------------------

# Sizes given to unknown (None) axes in the two traces; an output axis that differs between
# them depends on an unknown axis and is None in the spec.
_TRACE_SIZES = (2, 3)


def _stand_in(t, size, rng):
    shape = tuple(size if d is None else d for d in t.shape)
    try:
        dtype = np.dtype(t.dtype)
    except TypeError:  # "string" inputs of text preprocessing
        return np.full(shape, "a", dtype=object)
    if dtype.kind in "OUS":
        return np.full(shape, "a", dtype=object)
    if dtype == np.bool_:
        return np.ones(shape, bool)
    if dtype.kind in "iu":
        return np.zeros(shape, dtype)  # zeros are valid indices and ids
    # Away from 0 so that log/sqrt/division/inverse stay finite and regular.
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


def _leaves(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _leaves(item)]
    if isinstance(x, dict):
        return [v for k in x for v in _leaves(x[k])]
    return [x]


def _spec_of(value):
    if isinstance(value, Tensor):
        value = value.value
    if value is None:
        return None
    if isinstance(value, bool):
        return ((), "bool")
    if isinstance(value, (int, float)):
        return ((), "int32" if isinstance(value, int) else "float32")
    a = np.asarray(value)
    dtype = "float32" if a.dtype == np.float64 else str(a.dtype)
    return (tuple(a.shape), dtype)


def compute_output_spec(fn, args, kwargs, data_dependent=False):
    """Runs ``fn(*args, **kwargs)`` on concrete stand-ins of its KerasTensors and returns the
    output structure with each tensor replaced by a new KerasTensor of its shape and dtype
    (no history yet; None for outputs that are None).

    Stand-ins: unknown axes get size 2 (and, when there are unknown axes, a second run with
    size 3: output axes that change between the runs are unknown, None); floats are drawn
    from [0.5, 1.5), integers are 0, booleans True. No gradient tape records. With
    ``data_dependent`` (ops whose output size depends on values, e.g. ``nonzero``) every
    output axis is None.
    """
    unknown = any(d is None for t in _leaves([list(args), kwargs]) if isinstance(t, KerasTensor)
                  for d in t.shape)
    sizes = _TRACE_SIZES if unknown else _TRACE_SIZES[:1]
    runs = []
    saved = list(tape._tape_stack)
    tape._tape_stack.clear()
    try:
        for size in sizes:
            rng = np.random.default_rng(0)
            concrete = map_tensors(lambda t, s=size, r=rng: _stand_in(t, s, r),
                                   (list(args), kwargs))
            with np.errstate(all="ignore"):
                runs.append(fn(*concrete[0], **concrete[1]))
    finally:
        tape._tape_stack.extend(saved)

    def merge(first, second):
        if isinstance(first, (list, tuple)):
            return type(first)(merge(a, b) for a, b in zip(first, second))
        if isinstance(first, dict):
            return {k: merge(first[k], second[k]) for k in first}
        spec, other = _spec_of(first), _spec_of(second)
        if spec is None:
            return None
        shape, dtype = spec
        if data_dependent:
            return KerasTensor(tuple(None for _ in shape), dtype)
        if other is not None and len(other[0]) == len(shape):
            shape = tuple(a if a == b else None for a, b in zip(shape, other[0]))
        elif other is not None:
            raise ValueError(f"Cannot infer the output rank of {getattr(fn, '__name__', fn)}:"
                             f" it changes with the size of the unknown axes ({shape} vs "
                             f"{other[0]}).")
        return KerasTensor(shape, dtype)

    return merge(runs[0], runs[-1])
