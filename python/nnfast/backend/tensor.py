"""Tensor and Variable.

On the CPU a tensor's storage is a C-contiguous float32 NumPy array (integer arrays for
indices and labels) handed to ``_core`` without copying. A ``Tensor`` is what ops return:
the array plus, while a ``GradientTape`` records, the node that produced it. A
``Variable`` is a named, assignable tensor that layers own (weights, optimizer slots).
"""
import numpy as np


class Tensor:
    """An array produced by an ``nnfast.ops`` call.

    Behaves like a read-only NumPy array for users: ``numpy()``, ``np.asarray(t)``,
    ``shape``, ``dtype``, indexing and arithmetic (which go through ``nnfast.ops`` so they
    are differentiable).
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
        if dtype is None:
            return self.value
        return self.value.astype(dtype)

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
        from nnfast import ops

        return ops.get_item(self, key)

    # --- arithmetic, differentiable through nnfast.ops ---------------------------------
    def __add__(self, other):
        from nnfast import ops

        return ops.add(self, other)

    def __radd__(self, other):
        from nnfast import ops

        return ops.add(other, self)

    def __sub__(self, other):
        from nnfast import ops

        return ops.subtract(self, other)

    def __rsub__(self, other):
        from nnfast import ops

        return ops.subtract(other, self)

    def __mul__(self, other):
        from nnfast import ops

        return ops.multiply(self, other)

    def __rmul__(self, other):
        from nnfast import ops

        return ops.multiply(other, self)

    def __truediv__(self, other):
        from nnfast import ops

        return ops.divide(self, other)

    def __rtruediv__(self, other):
        from nnfast import ops

        return ops.divide(other, self)

    def __matmul__(self, other):
        from nnfast import ops

        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        from nnfast import ops

        return ops.matmul(other, self)

    def __neg__(self):
        from nnfast import ops

        return ops.negative(self)

    def __pow__(self, other):
        from nnfast import ops

        return ops.power(self, other)

    def __abs__(self):
        from nnfast import ops

        return ops.abs(self)

    # --- the rest of Keras's eager-tensor operators (TensorFlow backend) ------------------
    # Comparisons are elementwise and give bool Tensors, as Keras tensors do. NOTE: hashing
    # stays by identity (nnfast keys dicts and sets by tensor), so `==` no longer answers
    # "same tensor?": use `is` for that. Other operands than arrays/numbers compare unequal.
    def __eq__(self, other):
        if not _array_like(other):
            return NotImplemented
        from nnfast import ops

        return ops.equal(self, other)

    def __ne__(self, other):
        if not _array_like(other):
            return NotImplemented
        from nnfast import ops

        return ops.not_equal(self, other)

    def __lt__(self, other):
        from nnfast import ops

        return ops.less(self, other)

    def __le__(self, other):
        from nnfast import ops

        return ops.less_equal(self, other)

    def __gt__(self, other):
        from nnfast import ops

        return ops.greater(self, other)

    def __ge__(self, other):
        from nnfast import ops

        return ops.greater_equal(self, other)

    __hash__ = object.__hash__

    def __floordiv__(self, other):
        from nnfast import ops

        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        from nnfast import ops

        return ops.floor_divide(other, self)

    def __mod__(self, other):
        from nnfast import ops

        return ops.mod(self, other)

    def __rmod__(self, other):
        from nnfast import ops

        return ops.mod(other, self)

    def __rpow__(self, other):
        from nnfast import ops

        return ops.power(other, self)

    def __and__(self, other):
        from nnfast import ops

        return ops.bitwise_and(self, other)

    def __rand__(self, other):
        from nnfast import ops

        return ops.bitwise_and(other, self)

    def __or__(self, other):
        from nnfast import ops

        return ops.bitwise_or(self, other)

    def __ror__(self, other):
        from nnfast import ops

        return ops.bitwise_or(other, self)

    def __xor__(self, other):
        from nnfast import ops

        return ops.bitwise_xor(self, other)

    def __rxor__(self, other):
        from nnfast import ops

        return ops.bitwise_xor(other, self)

    def __invert__(self):
        from nnfast import ops

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
        from nnfast import ops

        return ops.round(self, 0 if ndigits is None else ndigits)

    @property
    def T(self):  # noqa: N802 - NumPy/JAX/PyTorch's name
        """The tensor with its axes reversed."""
        from nnfast import ops

        return ops.transpose(self)


class Variable(Tensor):
    """A named, assignable tensor owned by a layer or an optimizer.

    Args:
        value: initial array (converted to ``dtype``).
        trainable: whether optimizers update it and tapes watch it.
        name: short name (``"kernel"``); ``path`` is ``"<layer>/<name>"`` once a layer owns it.
        dtype: storage dtype, float32 by default.
    """

    __slots__ = ("name", "path", "trainable", "regularizer", "constraint", "__dict__")

    def __init__(self, value, trainable=True, name="variable", dtype="float32",
                 regularizer=None, constraint=None):
        # NOTE: a copy the variable owns; np.array keeps 0-d shapes (ascontiguousarray would not).
        super().__init__(np.array(value, dtype=dtype, order="C"))
        self.name = name
        self.path = name
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint

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


def _array_like(x):
    return isinstance(x, (Tensor, np.ndarray, np.generic, int, float, bool, list, tuple))


def as_array(x):
    """The NumPy array behind ``x`` (a Tensor, Variable, array or Python number)."""
    if isinstance(x, Tensor):
        return x.value
    return np.asarray(x)


def convert_to_numpy(x):
    return as_array(x)


def is_tensor(x):
    return isinstance(x, Tensor)
