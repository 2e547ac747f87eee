"""Keras-format config dicts for layers (``{"module", "class_name", "config", ...}``)."""


def serialize_layer(layer):
    """The Keras 3 config entry of a layer."""
    entry = {"module": "keras.layers", "class_name": type(layer).__name__,
             "config": layer.get_config(), "registered_name": None}
    if layer._build_shapes is not None:
        entry["build_config"] = {"input_shape": _jsonable(layer._build_shapes)}
    return entry


def _jsonable(shape):
    if isinstance(shape, (list, tuple)):
        return [_jsonable(s) for s in shape]
    return shape
