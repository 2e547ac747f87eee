"""Ops on symbolic tensors: the one dispatch point every public ``nnfast.ops`` function goes
through.

``install()`` (run at the end of ``nnfast/ops/__init__.py``) wraps every public function of
``nnfast.ops`` and of its Keras-named submodules (``ops.numpy``, ``ops.nn``, ``ops.image``,
``ops.linalg``, ``ops.core``, ``ops.math``). A wrapped op given only concrete values runs the
function as before; given a KerasTensor anywhere in its arguments it records an operation
node in the functional graph instead (``layers.operation.OperationLayer``, serialized as the
Keras operation class, e.g. ``Add`` from ``keras.src.ops.numpy``) and returns KerasTensors
whose shape and dtype come from running the op on small stand-ins
(``backend.keras_tensor.compute_output_spec``). New ops need no per-op code.
"""
import functools
import importlib
import importlib.util
import inspect
import types

import nnfast.ops as ops_module
from nnfast.backend.keras_tensor import KerasTensor, any_symbolic
from nnfast.ops._keras_op_table import KERAS_OPS

# Submodules of keras.ops whose functions are public under their own namespace.
KERAS_SUBMODULES = ("numpy", "nn", "image", "linalg", "core", "math")

# Ops whose output size depends on the values, not only the shapes: every axis is None.
DATA_DEPENDENT = frozenset({"nonzero", "argwhere", "unique", "flatnonzero"})

# (id(raw function), name) -> wrapper: ``ops.add`` and ``ops.numpy.add`` share one, while
# one function published under two names (``dot``/``matmul``) records each name's op.
_wrappers = {}
# Argument types that are or may hold a KerasTensor.
_MAYBE_SYMBOLIC = frozenset((KerasTensor, list, tuple, dict))


def _symbolic_shape(x, *args, **kwargs):
    return tuple(x.shape)


def _symbolic_convert(x, dtype=None, *args, **kwargs):
    if dtype is None or str(dtype) == x.dtype:
        return x
    return _public("cast")(x, dtype)


def _not_on_symbolic(key):
    def refuse(*args, **kwargs):
        raise ValueError(f"nnfast.ops.{key} needs concrete values; it cannot be applied to a "
                         "symbolic KerasTensor while a functional model is being built.")
    return refuse


# Ops that answer from the KerasTensor itself instead of recording a node (as Keras).
_SPECIAL = {
    "shape": _symbolic_shape,
    "convert_to_tensor": _symbolic_convert,
    "is_tensor": lambda x, *a, **k: False,
    "dtype": lambda x, *a, **k: x.dtype,
    "convert_to_numpy": _not_on_symbolic("convert_to_numpy"),
}


def symbolic_call(fn, key, args, kwargs):
    """Records ``fn(*args, **kwargs)`` (some arguments KerasTensors) as an operation node and
    returns its symbolic output(s)."""
    special = _SPECIAL.get(key.rsplit(".", 1)[-1])
    if special is not None:
        return special(*args, **kwargs)
    from nnfast.layers.operation import OperationLayer

    layer, call_args, call_kwargs = OperationLayer.from_call(fn, key, args, kwargs)
    return layer(*call_args, **call_kwargs)


def wrap(fn, key):
    """The symbolic-aware version of the public op ``fn`` named ``key`` (e.g. ``"add"``,
    ``"image.resize"``)."""
    raw = getattr(fn, "_nnfast_raw_op", fn)
    cache_key = (id(raw), key.rsplit(".", 1)[-1])
    existing = _wrappers.get(cache_key)
    if existing is not None:
        return existing

    @functools.wraps(raw)
    def op(*args, **kwargs):
        # NOTE: the check is inlined: it runs on every eager op call of a training step. One
        # set lookup per argument (a tuple's `in` compares types with ==: ~2x slower).
        for a in args:
            if type(a) in _MAYBE_SYMBOLIC and (type(a) is KerasTensor or any_symbolic(a)):
                return symbolic_call(raw, op._nnfast_op_key, args, kwargs)
        if kwargs:
            for a in kwargs.values():
                if type(a) in _MAYBE_SYMBOLIC and (type(a) is KerasTensor or any_symbolic(a)):
                    return symbolic_call(raw, op._nnfast_op_key, args, kwargs)
        return raw(*args, **kwargs)

    op._nnfast_raw_op = raw
    op._nnfast_op_key = key
    _wrappers[cache_key] = op
    return op


def _is_public_op(name, obj):
    return (not name.startswith("_") and inspect.isfunction(obj)
            and (obj.__module__ or "").startswith("nnfast.ops"))


def _wrap_namespace(namespace, prefix, top_level=None):
    """Wraps the ops of ``namespace``. In a submodule (``top_level`` given: the names public
    in ``nnfast.ops``) only Keras's op names and nnfast's own public ops are wrapped: the
    module's helpers (``value``, ``promote``...) are called by its own functions on every
    step and must stay plain functions."""
    for name, obj in list(vars(namespace).items() if not isinstance(namespace, dict)
                          else namespace.items()):
        if top_level is not None and not (prefix + name in KERAS_OPS or name in KERAS_OPS
                                          or name in top_level):
            continue
        if _is_public_op(name, obj) or hasattr(obj, "_nnfast_raw_op"):
            wrapped = wrap(obj, prefix + name)
            if isinstance(namespace, dict):
                namespace[name] = wrapped
            else:
                setattr(namespace, name, wrapped)


def install(ops_namespace=None):
    """Wraps every public function of ``nnfast.ops`` (``ops_namespace``: its globals) and of
    its Keras-named submodules so that they record graph nodes on KerasTensors. Idempotent."""
    if ops_namespace is None:
        ops_namespace = vars(ops_module)
    _wrap_namespace(ops_namespace, "")
    top_level = {name for name, obj in ops_namespace.items() if hasattr(obj, "_nnfast_raw_op")}
    package = ops_namespace.get("__name__")
    for sub in KERAS_SUBMODULES:
        module = ops_namespace.get(sub)
        if module is None and package:
            # A Keras-named submodule file not imported by __init__ yet (nnfast/ops/linalg.py):
            # import it now so that its functions are wrapped before anyone uses them.
            if importlib.util.find_spec(f"{package}.{sub}") is not None:
                module = importlib.import_module(f"{package}.{sub}")
                ops_namespace[sub] = module
        if isinstance(module, (types.ModuleType, types.SimpleNamespace)):
            _wrap_namespace(module, sub + ".", top_level)


def public_op(key):
    """The public nnfast op for a Keras function key (``"add"``, ``"image.resize"``), or
    None when nnfast does not have it."""
    target = ops_module
    *path, name = key.split(".")
    for part in path:
        target = getattr(target, part, None)
        if target is None:
            return None
    fn = getattr(target, name, None)
    if fn is None and path:
        fn = getattr(ops_module, name, None)  # e.g. ops.numpy.add is ops.add
    return fn if callable(fn) else None


def _public(name):
    fn = public_op(name)
    if fn is None:
        raise NotImplementedError(f"nnfast.ops.{name} is not implemented.")
    return fn
