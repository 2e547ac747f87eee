"""Tensor and Variable.

On the CPU a tensor's storage is a C-contiguous float32 NumPy array (integer arrays for
indices and labels) handed to ``_core`` without copying. A ``Tensor`` is what ops return:
the array plus, while a ``GradientTape`` records, the node that produced it. A
``Variable`` is a named, assignable tensor that layers own (weights, optimizer slots).
"""
import numpy as np

from nnfast import initializers, ops
from nnfast.backend import scopes
from nnfast.backend.global_state import floatx


class Tensor:
    """An array produced by an ``nnfast.ops`` call.

    Behaves like a read-only NumPy array for users: ``numpy()``, ``np.asarray(t)``,
    ``shape``, ``dtype``, indexing and arithmetic (which go through ``nnfast.ops`` so they
    are differentiable).

    Args:
        value: the array (or anything ``np.asarray`` takes).
        node: the tape node that produced the tensor (set by ``nnfast.ops``; None for a constant).
    """

    __slots__ = ("value", "node", "_keras_logits", "_keras_mask", "__weakref__")

    def __init__(self, value, node=None):
        self.value = value
        self.node = node
        self._keras_logits = None
        self._keras_mask = None

    # --- array protocol -------------------------------------------------------------
    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def size(self):
        return self.value.size

    def numpy(self):
        """The value as a NumPy array."""
        return self.value

    def __array__(self, dtype=None, copy=None):
        if _tape_stack and _needs_gradient(self):
            raise TypeError(_detach_message(self, "converted to a NumPy array"))
        if dtype is None:
            return self.value
        return self.value.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # NOTE: NumPy calls this for `array - tensor` as well as `np.square(tensor)`. Plain
        # NumPy would convert the tensor and silently cut the gradient (the custom-loss bug of
        # issue 21), so while a tape records, differentiable ufuncs run as the nnfast op and
        # any other ufunc on a tensor that needs a gradient is an error. Otherwise the result
        # is NumPy's, as NumPy gives it for a TensorFlow tensor.
        tensors = [a for a in inputs if isinstance(a, Tensor)]
        out = kwargs.get("out")
        recording = bool(_tape_stack) and any(_needs_gradient(t) for t in tensors)
        if method == "__call__" and out is None and not kwargs:
            op = _ufunc_op(ufunc)
            if op is not None and (recording or any(t.node is not None for t in tensors)):
                return op(*inputs)
        if recording and method == "__call__" and ufunc.__name__ in _NO_GRADIENT_UFUNCS:
            recording = False
        if recording:
            t = next(t for t in tensors if _needs_gradient(t))
            name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
            raise TypeError(_detach_message(t, f"passed to NumPy's `np.{name}`"))
        values = tuple(a.value if isinstance(a, Tensor) else a for a in inputs)
        if out is not None:
            kwargs["out"] = tuple(o.value if isinstance(o, Tensor) else o for o in out)
        return getattr(ufunc, method)(*values, **kwargs)

    def __len__(self):
        return len(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        return f"<{type(self).__name__} shape={self.value.shape} dtype={self.value.dtype}\n{self.value!r}>"

    def __getitem__(self, key):
        return ops.get_item(self, key)

    # --- arithmetic, differentiable through nnfast.ops ---------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.subtract(self, other)

    def __rsub__(self, other):
        return ops.subtract(other, self)

    def __mul__(self, other):
        return ops.multiply(self, other)

    def __rmul__(self, other):
        return ops.multiply(other, self)

    def __truediv__(self, other):
        return ops.divide(self, other)

    def __rtruediv__(self, other):
        return ops.divide(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.negative(self)

    def __pow__(self, other):
        return ops.power(self, other)

    def __abs__(self):
        return ops.abs(self)

    # --- the rest of Keras's eager-tensor operators (TensorFlow backend) ------------------
    # Comparisons are elementwise and give bool Tensors, as Keras tensors do. NOTE: hashing
    # stays by identity (nnfast keys dicts and sets by tensor), so `==` no longer answers
    # "same tensor?": use `is` for that. Other operands than arrays/numbers compare unequal.
    def __eq__(self, other):
        if not _array_like(other):
            return NotImplemented

        return ops.equal(self, other)

    def __ne__(self, other):
        if not _array_like(other):
            return NotImplemented

        return ops.not_equal(self, other)

    def __lt__(self, other):
        return ops.less(self, other)

    def __le__(self, other):
        return ops.less_equal(self, other)

    def __gt__(self, other):
        return ops.greater(self, other)

    def __ge__(self, other):
        return ops.greater_equal(self, other)

    __hash__ = object.__hash__

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.mod(self, other)

    def __rmod__(self, other):
        return ops.mod(other, self)

    def __rpow__(self, other):
        return ops.power(other, self)

    def __and__(self, other):
        return ops.bitwise_and(self, other)

    def __rand__(self, other):
        return ops.bitwise_and(other, self)

    def __or__(self, other):
        return ops.bitwise_or(self, other)

    def __ror__(self, other):
        return ops.bitwise_or(other, self)

    def __xor__(self, other):
        return ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        return ops.bitwise_xor(other, self)

    def __invert__(self):
        return ops.bitwise_invert(self)

    def __pos__(self):
        return self

    def __iter__(self):
        if self.value.ndim == 0:
            raise TypeError("Cannot iterate over a 0-d tensor (a scalar).")
        for i in range(self.value.shape[0]):
            yield self[i]

    def __index__(self):
        if self.value.ndim != 0 or self.value.dtype.kind not in "iub":
            raise TypeError("Only integer scalar tensors can be used as an index. "
                            f"Received: shape={self.value.shape}, dtype={self.value.dtype}")
        return int(self.value)

    def __round__(self, ndigits=None):
        return ops.round(self, 0 if ndigits is None else ndigits)

    @property
    def T(self):  # noqa: N802 - NumPy/JAX/PyTorch's name
        """The tensor with its axes reversed."""
        return ops.transpose(self)


class Variable(Tensor):
    """A named, assignable tensor owned by a layer or an optimizer (``keras.Variable``).

    Args:
        initializer: the initial value (array-like, copied), or an initializer (an object,
            callable or name such as ``"zeros"``) called with ``shape`` and ``dtype``.
        shape: the shape; required with an initializer, checked against a value.
        dtype: storage dtype. None: float32 for floating values (nnfast computes in
            float32; Keras keeps a float64 array's dtype), else the value's dtype as Keras
            infers it (Python ints int32, bools bool, NumPy integer arrays their own).
        trainable: whether optimizers update it and tapes watch it.
        autocast: whether a mixed-precision layer reads the variable cast to its compute
            dtype (kept as an attribute, as Keras).
        aggregation: Keras's distribution setting of how replicas' updates combine (kept
            as an attribute: one process, one device, it changes no value).
        synchronization: Keras's distribution setting of when replicas synchronize (kept
            as an attribute).
        layout: Keras's distribution layout (kept as an attribute).
        name: short name (``"kernel"``); ``path`` is ``"<layer>/<name>"`` once a layer owns it.
        regularizer: a regularizer whose penalty the owning layer adds to the loss (an
            nnfast extra used by ``Layer.add_weight``).
        constraint: a function applied to the value after each optimizer update (an nnfast
            extra used by ``Layer.add_weight``).

    Example:
        >>> v = keras.Variable("ones", shape=(2, 3), name="w")
        >>> v.assign(np.zeros((2, 3)))
        <Variable path=w, shape=(2, 3), dtype=float32, value=array([[0., 0., 0.],
               [0., 0., 0.]], dtype=float32)>
    """

    __slots__ = ("name", "path", "trainable", "regularizer", "constraint", "__dict__")

    _AGGREGATIONS = (None, "none", "mean", "sum", "only_first_replica")
    _SYNCHRONIZATIONS = (None, "none", "on_read", "on_write", "auto")

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, layout=None,
                 regularizer=None, constraint=None, **kwargs):
        if "value" in kwargs:  # nnfast's earlier spelling of the first argument
            initializer = kwargs.pop("value")
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments to Variable: {sorted(kwargs)}")
        if aggregation not in self._AGGREGATIONS:
            raise ValueError("Invalid value for argument `aggregation`. Expected one of "
                             "`None`, `'none'`, `'mean'`, `'sum'`, `'only_first_replica'`. "
                             f"Received: aggregation={aggregation}")
        if synchronization not in self._SYNCHRONIZATIONS:
            raise ValueError("Invalid value for argument `synchronization`. Expected one of "
                             "`None`, `'none'`, `'on_read'`, `'on_write'`, `'auto'`. "
                             f"Received: synchronization={synchronization}")
        if initializer is None:
            raise ValueError("Variable needs an initial value or an initializer. Received: "
                             "initializer=None")
        if isinstance(initializer, str) or (callable(initializer)
                                            and not _array_like(initializer)):
            if shape is None:
                raise ValueError("When creating a Variable from an initializer, the `shape` "
                                 "argument should be specified. Received: "
                                 f"initializer={initializer} and shape=None")
            dtype = dtype or "float32"
            value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        else:
            value = as_array(initializer) if isinstance(initializer, Tensor) else initializer
            if dtype is None:
                dtype = _inferred_variable_dtype(value)
        # NOTE: a copy the variable owns; np.array keeps 0-d shapes (ascontiguousarray would not).
        super().__init__(np.array(value, dtype=dtype, order="C"))
        if shape is not None and tuple(shape) != self.value.shape:
            raise ValueError(f"Initial value has shape {self.value.shape}, which does not match "
                             f"the `shape` argument {tuple(shape)}.")
        name = name or "variable"
        self.name = name
        self.path = scopes.scoped_path(name)  # under any open keras.name_scope
        scopes.register_variable(self)
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint
        self.autocast = autocast
        self.aggregation = "none" if aggregation is None else aggregation
        self.synchronization = "auto" if synchronization is None else synchronization
        self._layout = layout

    def __setstate__(self, state):
        # An unpickled variable owns a writeable C-contiguous buffer of the canonical dtype:
        # NumPy 2 unpickles arrays with a dtype instance the kernels' type check does not
        # recognize, and joblib may hand back a read-only memory map.
        dict_state, slot_state = state if isinstance(state, tuple) else (state, None)
        self.__dict__.update(dict_state or {})
        for key, val in (slot_state or {}).items():
            object.__setattr__(self, key, val)
        value = np.empty(self.value.shape, dtype=np.dtype(self.value.dtype.name))
        value[...] = self.value
        self.value = value

    def assign(self, value):
        """Copies ``value`` into the variable in place (shapes must match)."""
        value = as_array(value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable '{self.path}' "
                f"of shape {self.value.shape}."
            )
        np.copyto(self.value, value, casting="unsafe")
        return self

    def assign_add(self, value):
        self.value += as_array(value)
        return self

    def assign_sub(self, value):
        self.value -= as_array(value)
        return self

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.value.shape}, "
                f"dtype={self.value.dtype}, value={self.value!r}>")


def _inferred_variable_dtype(value):
    """Keras's dtype of ``Variable(value)`` without ``dtype``, floats kept float32."""
    kind = np.asarray(value).dtype
    if kind == bool:
        return "bool"
    if np.issubdtype(kind, np.integer):
        # Python ints (lists of them) become int32 as in Keras; NumPy keeps its own width.
        return str(kind) if isinstance(value, (np.ndarray, np.generic)) else "int32"

    if floatx() == "float64":  # a float64 session: float arrays keep their dtype, as Keras
        if isinstance(value, (np.ndarray, np.generic)) and kind in (np.float32, np.float64):
            return kind.name
        return "float64"
    return "float32"


def _array_like(x):
    return isinstance(x, (Tensor, np.ndarray, np.generic, int, float, bool, list, tuple))


# --- what NumPy may and may not do to a tensor while a tape records --------------------------

def _needs_gradient(t):
    """True when a gradient would flow through ``t`` on the innermost recording tape."""
    return bool(_tape_stack) and _tape_stack[-1]._tracks(t)


def _detach_message(t, what):
    if t.node is not None:
        source = f"the output of `{_op_name(t.node.function)}`"
    else:
        source = f"variable '{getattr(t, 'path', getattr(t, 'name', '?'))}'"
    return (f"A tensor that needs a gradient ({source}, shape {t.value.shape}) was {what} "
            "while a GradientTape records: the result would silently have no gradient. Use "
            "`nnfast.ops` functions (e.g. `ops.mean`, `ops.square`, `ops.log`) on tensors inside "
            "losses, layers and train steps, or detach on purpose with `ops.stop_gradient(x)` or "
            "`x.numpy()`.")


def _op_name(function):
    name = getattr(function, "__name__", "op")
    return name[1:] if name.startswith("_") else name


# NumPy ufunc names that nnfast.ops spells differently.
_UFUNC_RENAMES = {"absolute": "abs", "true_divide": "divide", "remainder": "mod",
                  "fmod": None, "conjugate": "conj"}
# Ufuncs whose result carries no gradient (comparisons, tests, rounding, bit logic): NumPy may
# compute them on a tensor that needs a gradient without cutting anything.
_NO_GRADIENT_UFUNCS = {
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "isnat", "signbit",
    "sign", "floor", "ceil", "rint", "trunc", "floor_divide", "bitwise_and", "bitwise_or",
    "bitwise_xor", "invert", "left_shift", "right_shift", "gcd", "lcm"}


def _ufunc_op(ufunc):
    """The ``nnfast.ops`` function that computes ``ufunc`` (None if nnfast has none)."""
    name = _UFUNC_RENAMES.get(ufunc.__name__, ufunc.__name__)
    op = getattr(ops, name, None) if name else None
    return op if callable(op) else None


from nnfast.backend.tape import _tape_stack  # noqa: E402  (tape imports Tensor from here)


def as_array(x):
    """The NumPy array behind ``x`` (a Tensor, Variable, array or Python number)."""
    if isinstance(x, Tensor):
        return x.value
    return np.asarray(x)


def convert_to_numpy(x):
    return as_array(x)


def is_tensor(x):
    return isinstance(x, Tensor)
