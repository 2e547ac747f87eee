"""``keras.layers.serialize`` / ``keras.layers.deserialize``: a layer to and from its Keras 3
config entry (``{"module", "class_name", "config", "registered_name"}``)."""
from nnfast.layers.layer import Layer
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object


def serialize(layer):
    """The Keras 3 config entry of ``layer`` (what a ``.keras`` file stores for it).

    Args:
        layer: a ``Layer`` instance.

    Returns:
        A dict ``{"module", "class_name", "config", "registered_name", ...}``.

    Example:
        >>> serialize(keras.layers.Dense(3))["class_name"]
        'Dense'
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"serialize expects a Layer. Received: layer={layer!r}")
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """The layer a config entry (or a class name) describes; ``custom_objects`` maps names of
    user classes to classes.

    Args:
        config: a dict with ``class_name`` and ``config`` (as ``serialize`` returns), or a
            class name.
        custom_objects: optional dict mapping names to user-defined classes or functions.

    Returns:
        A new ``Layer`` instance.

    Example:
        >>> deserialize({"class_name": "Dense", "config": {"units": 3}}).units
        3
    """
    obj = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(obj, Layer):
        raise ValueError(f"deserialize expects the config of a layer. Received: config={config!r}")
    return obj
