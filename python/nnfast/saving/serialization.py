"""Keras-format configs: ``serialize_keras_object`` / ``deserialize_keras_object`` and the
Sequential / Functional model configs.

Written configs follow Keras 3 (``{"module", "class_name", "config", "registered_name",
"build_config"}``, inbound nodes as ``__keras_tensor__`` entries), so Keras reads them.
Reading accepts Keras 3 configs and the legacy tf.keras / Keras 2 forms (no ``module`` keys,
``batch_input_shape``, inbound nodes as ``[[name, node, tensor, kwargs]]`` lists).
"""
import contextlib
import importlib
import inspect
import threading

import numpy as np

from nnfast import (
    activations,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
)
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.layer import Layer
from nnfast.layers.quantization import is_default_int8_config
from nnfast.optimizers import schedules
from nnfast.saving import object_registration as reg

_state = threading.local()

# Keys Keras adds to layer configs for features nnfast does not have; dropped on load when
# they hold their "off" value.
_IGNORABLE_WHEN_OFF = {"quantization_config", "lora_rank", "lora_alpha", "gradient_checkpointing",
                       "autocast", "input_axes", "output_axes", "seed_generator",
                       "zero_output_for_mask", "time_major", "renorm", "renorm_clipping",
                       "synchronized", "virtual_batch_size", "adjustment", "fused"}
# Keys that choose an implementation of the same math (tf.keras RNN `implementation`, RNN
# `unroll` where a layer takes it only through **kwargs, as Keras's ConvLSTM).
# renorm_momentum only matters with renorm=True, which is rejected above.
_IGNORABLE_ALWAYS = {"implementation", "renorm_momentum", "unroll"}


_UNSAFE_ALLOWED = [False]  # keras.config.enable_unsafe_deserialization()


def set_default_safe_mode(safe):
    """``False`` turns safe mode off process-wide (``enable_unsafe_deserialization``)."""
    _UNSAFE_ALLOWED[0] = not safe


def in_safe_mode():
    if _UNSAFE_ALLOWED[0]:
        return False
    return getattr(_state, "safe_mode", True)


@contextlib.contextmanager
def safe_mode_scope(safe_mode):
    old = getattr(_state, "safe_mode", None)
    _state.safe_mode = bool(safe_mode)
    try:
        yield
    finally:
        if old is None:
            del _state.safe_mode
        else:
            _state.safe_mode = old


# --- writing -----------------------------------------------------------------------------

def _module_of(obj):
    """The ``module`` Keras writes for a built-in object (by the nnfast package it lives in)."""
    cls = obj if isinstance(obj, type) else type(obj)
    mod = cls.__module__
    if not mod.startswith("nnfast."):
        return mod
    name = cls.__name__
    if mod.startswith("nnfast.applications."):  # LayerScale & co. live in their model's module
        return "keras.src." + mod[len("nnfast."):]
    if name == "Sequential":
        return "keras"
    if name == "DTypePolicyMap":
        return "keras.dtype_policies"
    if name == "Functional":
        return "keras.src.models.functional"
    if name == "Model":
        return "keras.src.models.model"
    if issubclass(cls, Layer):
        return "keras.layers"
    for part, kmod in (("optimizers", "keras.optimizers"), ("losses", "keras.losses"),
                       ("metrics", "keras.metrics"), ("initializers", "keras.initializers"),
                       ("regularizers", "keras.regularizers"), ("constraints", "keras.constraints"),
                       ("schedules", "keras.optimizers.schedules")):
        if f".{part}" in mod:
            return kmod if part != "optimizers" or ".schedules" not in mod else \
                "keras.optimizers.schedules"
    return "keras"


def _is_builtin(cls):
    return cls.__module__.startswith("nnfast.")


def serialize_keras_object(obj):
    """The Keras 3 config of ``obj`` (layer, model, loss, metric, optimizer, function...).

    Args:
        obj: a layer, model, loss, metric, optimizer, initializer... or a plain value.

    Example:
        >>> config = keras.saving.serialize_keras_object(keras.layers.Dense(3, name="d"))
        >>> config["class_name"], config["config"]["units"]
        ('Dense', 3)
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, slice):  # a GetItem key, as Keras writes it
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, KerasTensor):
        layer, node_index, tensor_index = obj._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(obj.shape), "dtype": obj.dtype,
                           "keras_history": [layer.name, node_index, tensor_index]}}
    if isinstance(obj, type):
        return {"module": _module_of(obj), "class_name": obj.__name__, "config": None,
                "registered_name": _registered_name(obj)}
    if callable(obj) and not hasattr(obj, "get_config"):
        name = getattr(obj, "__name__", None)
        if name == "<lambda>":
            from nnfast.layers.lambda_layer import serialize_function

            return serialize_function(obj)
        module = getattr(obj, "__module__", "builtins") or "builtins"
        if module.startswith("nnfast."):
            # Built-in functions (activations, losses) serialize as their name, as Keras.
            return name
        return {"module": module, "class_name": "function", "config": name,
                "registered_name": reg.get_registered_name(obj) if reg.is_registered(obj)
                else "function"}
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj)}: it has no "
                        "get_config() method.")
    from nnfast.layers.operation import OperationLayer

    if isinstance(obj, OperationLayer):
        return obj.serialize()
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"{type(obj).__name__}.get_config() must return a dict, returned "
                        f"{type(config)}")
    # A class Keras exports under another name says so in `_keras_class_name`.
    class_name = type(obj).__dict__.get("_keras_class_name", type(obj).__name__)
    entry = {"module": _module_of(obj), "class_name": class_name,
             "config": serialize_keras_object(config), "registered_name": _registered_name(type(obj))}

    if isinstance(obj, Layer):
        shapes = getattr(obj, "_build_shapes", None)
        if obj.built and shapes is not None:
            if isinstance(shapes, dict) and getattr(obj, "_build_from_shapes_dict", False):
                # Keras's form for layers whose build takes named shapes (attention).
                entry["build_config"] = {"shapes_dict": _jsonable_shape(shapes)}
            else:
                entry["build_config"] = {"input_shape": _jsonable_shape(shapes)}
        if getattr(obj, "_saving_kind", None) == "container" and _is_builtin(type(obj)) \
                and type(obj).__name__ in ("Sequential", "Functional"):
            entry["build_config"] = {"input_shape": _jsonable_shape(obj._saved_input_shape())}
    return entry


def _registered_name(cls):
    if cls.__module__.startswith("nnfast.applications."):
        return cls.__name__  # as Keras writes its applications' unexported layers
    if _is_builtin(cls):
        return None
    return reg.get_registered_name(cls)


def _jsonable_shape(shape):
    if shape is None:
        return None
    if isinstance(shape, dict):
        return {k: _jsonable_shape(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_jsonable_shape(s) for s in shape]
    return None if shape is None else int(shape)


def serialize_layer(layer):
    """The Keras 3 config entry of a layer."""
    return serialize_keras_object(layer)


# --- reading -----------------------------------------------------------------------------

def _builtin_classes():
    out = {}
    for module in (constraints, regularizers, initializers, metrics, losses):
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type):
                out.setdefault(name, obj)
    out.update(reg.builtin_classes())  # the model classes (they register themselves)
    for name in dir(optimizers):
        obj = getattr(optimizers, name)
        if isinstance(obj, type):
            out[name] = obj

    for name in dir(schedules):
        obj = getattr(schedules, name)
        if isinstance(obj, type):
            out.setdefault(name, obj)
    # Layers last so that a layer wins a name clash (there are none today).
    for name in dir(layers):
        obj = getattr(layers, name)
        if isinstance(obj, type):
            out[name] = obj
    return out


def _family_classes(module_name):
    """Built-in classes for a Keras ``module`` string, so ``keras.losses.MeanSquaredError``
    does not resolve to the metric of the same name."""
    if module_name and module_name.startswith("keras.losses"):
        return {n: getattr(losses, n) for n in dir(losses) if isinstance(getattr(losses, n), type)}
    if module_name and module_name.startswith("keras.metrics"):
        return {n: getattr(metrics, n) for n in dir(metrics) if isinstance(getattr(metrics, n), type)}
    if module_name and module_name.startswith("keras.src.applications."):
        # The layers Keras defines inside an application's module (convnext.LayerScale...).
        mod = importlib.import_module("nnfast.applications." + module_name.rsplit(".", 1)[1])
        return {n: v for n, v in vars(mod).items() if isinstance(v, type)}
    if module_name == "keras.utils":  # a saved FeatureSpace
        from nnfast.utils.feature_space import FeatureSpace

        return {"FeatureSpace": FeatureSpace}
    return {}


def resolve_class(class_name, registered_name=None, module=None, custom_objects=None):
    """The class for a config entry, or a clear ``TypeError`` naming what was missing."""
    custom = dict(reg.scoped_objects())
    custom.update(custom_objects or {})
    for key in (registered_name, class_name):
        if key:
            obj = reg.get_registered_object(key, custom)
            if obj is not None:
                return obj
    if registered_name and ">" in registered_name:
        short = registered_name.split(">", 1)[1]
        obj = custom.get(short)
        if obj is not None:
            return obj
    family = _family_classes(module)
    if class_name in family:
        return family[class_name]
    builtins = _builtin_classes()
    if class_name in builtins:
        return builtins[class_name]
    raise TypeError(
        f"Could not locate class '{class_name}'"
        + (f" (registered as '{registered_name}')" if registered_name and
           registered_name != class_name else "")
        + ". Make sure custom classes are decorated with "
          "`@nnfast.saving.register_keras_serializable()` or passed in `custom_objects`. "
          f"Full object config: module={module!r}, class_name={class_name!r}")


def _accepted_kwargs(cls):
    """Constructor keyword names of ``cls``, following ``**kwargs`` up the class chain."""
    names = set()
    for klass in cls.__mro__:
        if klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return None
        names.update(p for p, v in params.items() if p != "self" and v.kind not in (
            inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL))
        if not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return names
    return names


def clean_layer_config(cls, config):
    """Drops Keras-only keys that hold their 'off' value so built-in layers accept the config;
    maps legacy spellings (``batch_input_shape``) through."""
    if not _is_builtin(cls):
        return config
    accepted = _accepted_kwargs(cls)
    if accepted is None:
        return config
    # Keys a class takes through **kwargs only (e.g. the lookup layers' vocabulary_size).
    accepted = accepted | set(getattr(cls, "_config_only_keys", ()))
    out = {}
    for k, v in config.items():
        if k in accepted:
            out[k] = v
        elif k in _IGNORABLE_WHEN_OFF and v in (None, False, 0, {}) or k in _IGNORABLE_ALWAYS:
            continue
        elif k == "quantization_config" and is_default_int8_config(v):
            continue  # what model.quantize("int8") writes: the scheme nnfast's int8 runs
        elif v is None:
            continue
        else:
            raise ValueError(f"{cls.__name__} from a saved config has the setting {k}={v!r}, "
                             f"which nnfast's {cls.__name__} does not support.")
    return out


_NESTED_MODULES = ("initializers", "regularizers", "constraints")


def _clean_nested(value):
    """Cleans the configs of built-in initializers/regularizers/constraints nested in a layer
    config (Keras adds keys such as ``input_axes`` that nnfast's classes do not take)."""
    if isinstance(value, list):
        return [_clean_nested(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" in value and isinstance(value.get("config"), dict):
        module = value.get("module") or ""
        family = next((f for f in _NESTED_MODULES if f in module), None)
        families = [family] if family else list(_NESTED_MODULES)
        if value.get("registered_name") in (None, value["class_name"]):
            for fam in families:
                mod = importlib.import_module(f"nnfast.{fam}")
                cls = getattr(mod, value["class_name"], None)
                if isinstance(cls, type):
                    accepted = _accepted_kwargs(cls)
                    config = value["config"]
                    if accepted is not None:
                        config = {k: v for k, v in config.items()
                                  if k in accepted or v not in (None, False)}
                    return dict(value, config=config)
        return value
    return {k: _clean_nested(v) for k, v in value.items()}


def _call_from_config(cls, config, custom_objects):
    from_config = cls.from_config
    try:
        params = inspect.signature(from_config).parameters
    except (TypeError, ValueError):
        params = {}
    if "custom_objects" in params:
        return from_config(config, custom_objects=custom_objects)
    return from_config(config)


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """Rebuilds an object from its Keras config (Keras 3 or legacy form).

    ``safe_mode`` (default True) refuses to rebuild lambdas from bytecode; as in Keras, an
    enclosing safe-mode scope (``load_model(..., safe_mode=...)``) takes precedence.

    Args:
        config: the dict ``serialize_keras_object`` returned (or a registered name).
        custom_objects: a dict of name -> class/function for objects of your own.
        safe_mode: refuse to deserialize Python lambdas (arbitrary code) unless False. Defaults to
            ``True``.

    Example:
        >>> config = keras.saving.serialize_keras_object(keras.layers.Dense(3))
        >>> keras.saving.deserialize_keras_object(config).units
        3
    """
    if getattr(_state, "safe_mode", None) is None:
        with safe_mode_scope(safe_mode):
            return deserialize_keras_object(config, custom_objects)
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        obj = reg.get_registered_object(config, dict(reg.scoped_objects(), **(custom_objects or {})))
        return obj if obj is not None else config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(v, custom_objects) for v in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not deserialize {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"]
    if class_name == "__keras_tensor__":
        t = KerasTensor(inner["shape"], dtype=inner.get("dtype", "float32"))
        t._pre_serialization_keras_history = tuple(inner["keras_history"])
        return t
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(v, custom_objects) for v in inner["value"])
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner.get("dtype"))
    if class_name == "__slice__":
        return slice(inner.get("start"), inner.get("stop"), inner.get("step"))
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__lambda__":
        from nnfast.layers.lambda_layer import deserialize_function

        return deserialize_function(config, custom_objects, in_safe_mode())
    if class_name == "function":
        return _resolve_function(inner, config.get("registered_name"), custom_objects)
    from nnfast.layers.operation import OperationLayer, is_operation_entry

    if is_operation_entry(config):
        return OperationLayer.from_entry(config)
    cls = resolve_class(class_name, config.get("registered_name"), config.get("module"),
                        custom_objects)
    if inner is None:
        return cls
    if not isinstance(cls, type):
        # A registered function stored with a class-like entry.
        return cls

    if issubclass(cls, Layer):
        obj = deserialize_layer_entry(config, custom_objects)
        return obj
    inner = dict(inner)
    if "name" in inner and class_name in ("DTypePolicy",):
        return inner["name"]
    return _call_from_config(cls, inner, custom_objects)


def _resolve_function(name, registered_name, custom_objects):
    custom = dict(reg.scoped_objects(), **(custom_objects or {}))
    for key in (registered_name, name):
        if key and key != "function":
            obj = reg.get_registered_object(key, custom)
            if obj is not None:
                return obj
    for module in (activations, losses, metrics):
        fn = getattr(module, name, None)
        if callable(fn):
            return fn
    raise TypeError(f"Could not locate function '{name}'. Pass it in `custom_objects` or "
                    "register it with `@nnfast.saving.register_keras_serializable()`.")


def _to_shape(shape):
    """JSON build shape -> tuple, or list of tuples for multi-input layers."""
    if shape is None:
        return None
    if isinstance(shape, dict):
        return {k: _to_shape(v) for k, v in shape.items()}
    if shape and isinstance(shape[0], (list, tuple)):
        return [_to_shape(s) for s in shape]
    return tuple(None if d is None else int(d) for d in shape)


def deserialize_layer_entry(entry, custom_objects=None):
    """A layer (or model) from its config entry, built if the entry says how."""
    from nnfast.layers.operation import OperationLayer, is_operation_entry

    if is_operation_entry(entry):
        return OperationLayer.from_entry(entry)
    class_name = entry["class_name"]
    cls = resolve_class(class_name, entry.get("registered_name"), entry.get("module"),
                        custom_objects)
    config = entry.get("config")
    if class_name in ("Sequential", "Functional", "Model") and _is_builtin(cls):
        layer = _call_from_config(cls, config, custom_objects)
    else:
        if isinstance(config, dict):
            config = clean_layer_config(cls, {k: _clean_nested(v) for k, v in config.items()})
        layer = _call_from_config(cls, config, custom_objects)
    if not isinstance(layer, Layer):
        raise TypeError(f"Deserializing '{class_name}' gave {type(layer)}, expected a Layer.")
    build_config = entry.get("build_config")
    if build_config and not layer.built and isinstance(build_config.get("shapes_dict"), dict):
        layer.build(**{k: _to_shape(v) for k, v in build_config["shapes_dict"].items()})
        layer.built = True
    if build_config and not layer.built:
        shape = _to_shape(build_config.get("input_shape"))
        if shape is not None:
            build_from_shape(layer, shape)
    return layer


def build_from_shape(layer, shape):
    if getattr(layer, "_saving_kind", None) == "container":  # a Sequential builds its stack
        layer.build(shape)
        return
    layer._build_shapes = shape
    layer.build(shape)
    layer.built = True
    if getattr(layer, "_initial_weights", None) is not None:
        layer.set_weights(layer._initial_weights)
        layer._initial_weights = None
