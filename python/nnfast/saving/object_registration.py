"""Registration of user classes and functions for saving: ``register_keras_serializable``,
``custom_object_scope``, ``get_custom_objects``."""
import threading

_GLOBAL_CUSTOM_OBJECTS = {}  # "package>name" -> object
_GLOBAL_CUSTOM_NAMES = {}  # object -> "package>name"
_scope = threading.local()
# Built-in classes that saving cannot import (they import saving): name -> class.
_BUILTIN_CLASSES = {}


def register_builtin_class(name, cls):
    """Makes the built-in ``cls`` resolvable as ``name`` in saved configs (``nnfast.models``
    registers its model classes here, so ``saving`` never imports ``models``).

    Args:
        name: the ``class_name`` configs use.
        cls: the class.

    Example:
        >>> register_builtin_class("Sequential", Sequential)
    """
    _BUILTIN_CLASSES[name] = cls


def builtin_classes():
    """``{name: class}`` of the classes given to ``register_builtin_class``."""
    return dict(_BUILTIN_CLASSES)


def register_keras_serializable(package="Custom", name=None):
    """Decorator that registers a class or function under ``"package>name"``.

    Saved configs then carry ``registered_name="package>name"`` and loading finds the class
    without ``custom_objects``.

    Args:
        package: the package prefix of the registered name (``"package>Name"``). Defaults to
            ``"Custom"``.
        name: the name registered (None: the class or function name).

    Example:
        >>> @register_keras_serializable(package="MyLayers")
        ... class Scale(keras.layers.Layer):
        ...     def call(self, x):
        ...         return x * 2.0
        >>> keras.saving.get_registered_name(Scale)
        'MyLayers>Scale'
    """

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj

    return decorator


def get_registered_name(obj):
    """``"package>name"`` for a registered object, else its ``__name__``.

    Args:
        obj: a class or function.

    Example:
        >>> @keras.saving.register_keras_serializable(package="demo")
        ... class Scaled(keras.layers.Layer):
        ...     pass
        >>> keras.saving.get_registered_name(Scaled)
        'demo>Scaled'
        >>> keras.saving.get_registered_object("demo>Scaled") is Scaled
        True
    """
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def is_registered(obj):
    return obj in _GLOBAL_CUSTOM_NAMES


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks ``name`` up in ``custom_objects``, the active scopes, the global registry, then
    ``module_objects``; None if absent.

    Args:
        name: the registered name (``"package>Name"``).
        custom_objects: a dict of name -> class/function for objects of your own.
        module_objects: a dict of name -> object also searched (None: none).

    Example:
        >>> @keras.saving.register_keras_serializable(package="demo2")
        ... def halve(x):
        ...     return x / 2
        >>> keras.saving.get_registered_object("demo2>halve") is halve
        True
    """
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(getattr(_scope, "stack", [])):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_custom_objects():
    """The global registry dict (``"package>name"`` -> object); it may be edited directly.

    Example:
        >>> keras.saving.get_custom_objects()["my_fn"] = abs
        >>> "my_fn" in keras.saving.get_custom_objects()
        True
    """
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes the names resolvable while
    loading inside the block.

    Args:
        custom_objects: a dict of name -> class/function visible to deserialization inside the
            ``with`` block.

    Example:
        >>> class Twice(keras.layers.Layer):
        ...     def call(self, x):
        ...         return keras.ops.multiply(x, 2.0)
        >>> config = keras.saving.serialize_keras_object(Twice())
        >>> with keras.saving.CustomObjectScope({"Twice": Twice}):
        ...     layer = keras.saving.deserialize_keras_object(config)
        >>> type(layer).__name__
        'Twice'
    """

    def __init__(self, custom_objects, *more_custom_objects):
        # Keras 3 takes one dict; tf.keras took several (still accepted).
        self.custom_objects = {}
        for objs in (custom_objects,) + more_custom_objects:
            if objs:
                if not isinstance(objs, dict):
                    raise TypeError("custom_objects must be a dict of name -> object. "
                                    f"Received: custom_objects={objs!r}")
                self.custom_objects.update(objs)

    def __enter__(self):
        if not hasattr(_scope, "stack"):
            _scope.stack = []
        _scope.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scope.stack.pop()
        return False


custom_object_scope = CustomObjectScope


def scoped_objects():
    out = {}
    for scope in getattr(_scope, "stack", []):
        out.update(scope)
    return out
