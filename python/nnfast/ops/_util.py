"""Small helpers shared by the op modules."""
import numpy as np

from nnfast.backend.tensor import Tensor


_F32 = np.dtype(np.float32)  # (an identity test first: `== np.float32` costs ~4x more)


def f32(x):
    """x as a C-contiguous float32 array (no copy when it already is one)."""
    if isinstance(x, Tensor):
        x = x.value
    if type(x) is np.ndarray and (x.dtype is _F32 or x.dtype == _F32) and x.flags.c_contiguous:
        return x
    return np.ascontiguousarray(x, dtype=np.float32)


def value(x):
    """The array behind a tensor-like, floats promoted to float32 (nnfast's floatx).

    Args:
        x: a Tensor (its array is returned as is), an array, or array-like (float64 becomes
            float32).
    """
    if isinstance(x, Tensor):
        return x.value
    a = x if type(x) is np.ndarray else np.asarray(x)
    dtype = a.dtype
    # NOTE: kind/itemsize, not `dtype == np.float64` (a slow comparison; this runs per op)
    if dtype.kind == "f" and dtype.itemsize == 8:
        a = a.astype(np.float32)
    return a


def unbroadcast(grad, shape):
    """Sums ``grad`` down to ``shape`` (undoing NumPy broadcasting)."""
    if grad.shape == tuple(shape):
        return grad
    ndim_extra = grad.ndim - len(shape)
    if ndim_extra > 0:
        grad = grad.sum(axis=tuple(range(ndim_extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def normalize_axis(axis, ndim):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(a % ndim for a in axis)
    return axis % ndim


def name_factory_ops(namespace, module_name):
    """Gives the ops a module built with a factory (``tan = _float_unary(Tan, ...)``) the
    name they are bound to, so ``repr``, error messages, ``help`` and the docs show
    ``ops.tan`` rather than ``_float_unary.<locals>.op``."""
    for name, obj in list(namespace.items()):
        if callable(obj) and "<locals>" in getattr(obj, "__qualname__", "") and not name.startswith("_"):
            obj.__name__ = obj.__qualname__ = name
            obj.__module__ = module_name
