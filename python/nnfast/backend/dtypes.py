"""Keras 3's dtype names and type promotion (``keras.backend.result_type``).

Promotion follows a lattice in which Python ``int`` and ``float`` are *weak* types: they
take the dtype of the tensor they meet (``int8 + 1 -> int8``, ``float16 + 1.0 -> float16``,
``int32 + 1.0 -> float32``). Two tensors promote to their least upper bound on the lattice
(``int8 + uint8 -> int16``, ``int32 + float16 -> float16``). A weak result resolves to
``floatx()``'s precision. Results follow the TensorFlow backend of Keras (int64 and
float64 are kept, not narrowed as the JAX backend does).
"""

import functools

import numpy as np

from nnfast.backend.global_state import floatx

BOOL_TYPES = ("bool",)
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
WEAK_TYPES = ("int", "float")
ALLOWED_DTYPES = BOOL_TYPES + INT_TYPES + FLOAT_TYPES + ("string", "complex64", "complex128")

# Each node's immediate successors: weak int sits below every concrete integer type and
# weak float below every concrete float type, so a Python number never widens a tensor.
_LATTICE = {
    "bool": ("int",),
    "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}


def _upper_bounds():
    bounds = {}
    for node in _LATTICE:
        seen, todo = {node}, [node]
        while todo:
            for nxt in _LATTICE[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        bounds[node] = frozenset(seen)
    return bounds


_UPPER = _upper_bounds()


def standardize_dtype(dtype):
    """Keras's name of a dtype: ``"float32"``, ``"int64"``, ``"bool"``...

    Accepts strings, NumPy dtypes and scalar types, Python ``int``/``float``/``bool``
    (``int`` -> ``"int64"`` and ``float`` -> ``"float32"``, as Keras on TensorFlow), and
    objects with a ``dtype`` attribute.

    Example:
        >>> standardize_dtype(np.float32)
        'float32'
    """
    if dtype is None:
        return floatx()
    if dtype is int or dtype == "int":
        return "int64"
    if dtype is float or dtype == "float":
        return "float32"
    if dtype is bool:
        return "bool"
    if isinstance(dtype, str):
        name = dtype
    elif hasattr(dtype, "dtype") and not isinstance(dtype, type):
        return standardize_dtype(dtype.dtype)
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = getattr(dtype, "name", str(dtype))
    if name not in ALLOWED_DTYPES:
        raise ValueError(
            f"Invalid dtype: expected one of {ALLOWED_DTYPES}. Received: dtype={dtype}"
        )
    return name


def is_float_dtype(dtype):
    """True for floating dtypes (``float16``, ``bfloat16``, ``float32``, ``float64``)."""
    return standardize_dtype(dtype) in FLOAT_TYPES


def is_int_dtype(dtype):
    """True for signed and unsigned integer dtypes."""
    return standardize_dtype(dtype) in INT_TYPES


def _node(dtype):
    """(lattice node, weak?) of one argument of result_type."""
    if dtype is int:
        return "int", True
    if dtype is float:
        return "float", True
    return standardize_dtype(dtype), False


@functools.lru_cache(maxsize=1024)
def _least_upper_bound(nodes):
    unknown = [n for n in nodes if n not in _UPPER]
    if unknown:
        raise ValueError(f"dtype={unknown[0]} is not a valid dtype for Keras type promotion.")
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    # The least bound is the common bound that every other common bound lies above.
    best = (common & nodes) or {c for c in common if common <= _UPPER[c]}
    if len(best) != 1:
        raise ValueError(
            f"Input dtypes {tuple(sorted(nodes))} have no implicit dtype promotion "
            "path. Cast the inputs explicitly to the dtype you want."
        )
    return next(iter(best))


def _resolve_weak(node):
    precision = floatx()[-2:]
    if node == "int":
        return "int" + precision
    if node == "float":
        return "float" + precision
    return node


@functools.lru_cache(maxsize=2048)
def _result_type_cached(args, precision):
    nodes = [_node(a) for a in args]
    names = {n for n, _ in nodes}
    if len(nodes) == 1:
        node, weak = nodes[0]
    elif len(names) == 1 and not all(w for _, w in nodes):
        return nodes[0][0]
    elif all(w for _, w in nodes):
        node, weak = _least_upper_bound(frozenset(names)), True
    else:
        weakened = frozenset(_weak_of(n) if w else n for n, w in nodes)
        node = _least_upper_bound(weakened)
        weak = node in WEAK_TYPES
    if not weak or node == "bool":
        return node if node not in WEAK_TYPES else _resolve_weak(node)
    return _resolve_weak(_weak_of(node))


def _weak_of(name):
    if name == "bool" or name in WEAK_TYPES:
        return name
    if "float" in name:
        return "float"
    if "int" in name:
        return "int"
    return name


def result_type(*dtypes):
    """The dtype Keras gives an op over inputs of ``dtypes`` (``keras.backend.result_type``).

    Args:
        *dtypes: dtype names, NumPy dtypes, or the Python types ``int``/``float`` standing
            for weakly typed Python numbers (``bool`` is a strong ``"bool"``). ``None``
            stands for ``floatx()``.

    Returns:
        The promoted dtype name; ``floatx()`` when called with no arguments.

    Example:
        >>> result_type("int32", "float16")
        'float16'
        >>> result_type("int8", int)
        'int8'
    """
    if not dtypes:
        return floatx()
    return _narrow_64(_result_type_from(dtypes))


# Keras narrows these even on TensorFlow (its TF backend lacks kernels for them).
_NARROW = {"uint64": "uint32", "complex128": "complex64"}


def _narrow_64(name):
    return _NARROW.get(name, name)


def _result_type_from(dtypes):
    args = tuple(
        floatx()
        if d is None
        else (d if d in (int, float, bool) or isinstance(d, str) else standardize_dtype(d))
        for d in dtypes
    )
    return _result_type_cached(args, floatx())
