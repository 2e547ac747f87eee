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

    Example:
        >>> @register_keras_serializable(package="MyLayers")
        ... class Scale(Layer): ...
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
    """``"package>name"`` for a registered object, else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def is_registered(obj):
    return obj in _GLOBAL_CUSTOM_NAMES


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks ``name`` up in ``custom_objects``, the active scopes, the global registry, then
    ``module_objects``; None if absent."""
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
    """The global registry dict (``"package>name"`` -> object); it may be edited directly."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes the names resolvable while
    loading inside the block."""

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
