"""Tensors, variables, the gradient tape and global state (names, seeds) of nnfast.

Only this package and ``nnfast.ops`` talk to the compiled ``nnfast._core``.
"""
from nnfast.backend.tensor import Tensor, Variable, as_array, is_tensor, convert_to_numpy
from nnfast.backend.tape import Function, GradientTape, recording
from nnfast.backend.global_state import clear_session, unique_name, floatx, epsilon, image_data_format
from nnfast.backend import random
from nnfast.backend.dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype

__all__ = [
    "Tensor", "Variable", "as_array", "is_tensor", "convert_to_numpy",
    "Function", "GradientTape", "recording", "clear_session", "unique_name",
    "floatx", "epsilon", "image_data_format", "random",
    "result_type", "standardize_dtype", "is_float_dtype", "is_int_dtype",
]


def __getattr__(name):
    # Keras 2's `keras.backend` functions (K.sum, K.dot, ...) live in nnfast.backend_compat;
    # loaded lazily because they are built on nnfast.ops, which imports this package.
    from nnfast import backend_compat
    if name in backend_compat.__all__:
        return getattr(backend_compat, name)
    raise AttributeError(f"module 'nnfast.backend' has no attribute '{name}'")


def __dir__():
    from nnfast import backend_compat
    return sorted(set(globals()) | set(backend_compat.__all__))
