"""Input conversion and Keras dtype promotion shared by the ``keras.ops.numpy`` ops.

Inputs keep their dtype as Keras keeps it (a float64 NumPy array stays float64; a Python
list of floats becomes float32, of ints int32); Python numbers stay *weak* until they meet
a tensor. ``promote`` casts the operands of an op to the dtype Keras gives its result,
through the differentiable ``Cast`` so gradients still reach tensors.
"""

import numpy as np

from nnfast.backend.dtypes import result_type, standardize_dtype
from nnfast.backend.tensor import Tensor

_FLOATX = np.dtype(np.float32)


def as_input(x):
    """A Tensor or ndarray for ``x`` (Python numbers are kept as they are: they are weak)."""
    if isinstance(x, (Tensor, np.ndarray)):
        return x
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    a = np.asarray(x)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    elif a.dtype == np.int64 and not isinstance(x, np.ndarray):
        a = a.astype(np.int32)
    return a


_NAMES = {}


def _name(dtype):
    # NOTE: np.dtype.name is a slow Python property; ops call this on every operand.
    name = _NAMES.get(dtype)
    if name is None:
        name = _NAMES[dtype] = dtype.name
    return name


def dtype_arg(x):
    """What ``result_type`` takes for ``x``: a dtype name, or ``int``/``float`` for weak
    Python numbers (a Python bool is a strong ``"bool"``)."""
    if isinstance(x, Tensor):
        return _name(x.value.dtype)
    if isinstance(x, (np.ndarray, np.generic)):
        return _name(x.dtype)
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        return int
    if isinstance(x, float):
        return float
    return np.asarray(x).dtype.name


def strong(x):
    """``x`` with Python numbers turned into tensors as Keras's ``convert_to_tensor`` does
    (int -> int32, float -> float32), for ops that do not treat them as weak."""
    if isinstance(x, bool):
        return np.asarray(x)
    if isinstance(x, int):
        return np.asarray(x, np.int32)
    if isinstance(x, float):
        return np.asarray(x, np.float32)
    return x


def cast_to(x, dtype):
    """``x`` as ``dtype`` (a NumPy dtype); Tensors go through the differentiable Cast."""
    if isinstance(x, Tensor):
        if x.value.dtype == dtype:
            return x
        from nnfast.ops.array import Cast

        return Cast.apply(x, dtype=dtype)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def float_of(dtype_name):
    """The float dtype an op that needs floats computes in (ints and bool -> floatx)."""
    return dtype_name if "float" in dtype_name else result_type(None)


def _array_dtype(x):
    if isinstance(x, Tensor):
        return x.value.dtype
    if type(x) is np.ndarray:
        return x.dtype
    return None


def _fast_pair(a, b, to_float):
    """The common cases of a binary op without the lattice: equal dtypes, or a float
    tensor with a Python number (weak: it takes the tensor's dtype). None otherwise."""
    da = _array_dtype(a)
    db = _array_dtype(b)
    if da is not None and db is not None:
        if da == db and (not to_float or da.kind == "f"):
            return [a, b], da
        return None
    if da is not None and da.kind == "f" and type(b) in (float, int):
        return [a, np.asarray(b, da)], da
    if db is not None and db.kind == "f" and type(a) in (float, int):
        return [np.asarray(a, db), b], db
    return None


def promote(*xs, to_float=False):
    """(operands cast to the common dtype, that dtype) with Keras's promotion; with
    ``to_float`` integer results become floatx (as ``divide`` does)."""
    if len(xs) == 2:
        fast = _fast_pair(xs[0], xs[1], to_float)
        if fast is not None:
            return fast
    xs = [as_input(x) for x in xs]
    name = result_type(*[dtype_arg(x) for x in xs])
    if to_float:
        name = float_of(name)
    dtype = np.dtype(name)
    return [cast_to(x, dtype) for x in xs], dtype


def unary_input(x, to_float=False):
    """``x`` as a Tensor/ndarray; with ``to_float`` ints and bool are cast to floatx."""
    if isinstance(x, Tensor) and (not to_float or x.value.dtype.kind in "fc"):
        return x
    x = as_input(x)
    if not isinstance(x, (Tensor, np.ndarray)):
        x = np.asarray(x, dtype=np.dtype(result_type(dtype_arg(x))))
    if to_float and x.dtype.kind not in "fc":
        x = cast_to(x, _FLOATX)
    return x


def dtype(x):
    """Keras's name of ``x``'s dtype (``keras.ops.dtype``).

    Args:
        x: a tensor, array or number.

    Example:
        >>> ops.dtype(np.ones(2, "int8"))
        'int8'
    """
    x = strong(as_input(x))
    return standardize_dtype(x.dtype)


def raw(x):
    """The array behind ``x`` with its dtype kept (``_util.value`` narrows float64)."""
    return x.value if isinstance(x, Tensor) else np.asarray(x)
