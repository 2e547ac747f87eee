"""Keras 2's ``keras.utils.generic_utils`` module path: custom-object registry and scope,
``Progbar``, Keras-object (de)serialization.

Example:
    >>> from nnfast.utils.generic_utils import get_custom_objects
    >>> get_custom_objects()["swish2"] = my_activation
"""
from nnfast.saving.object_registration import (custom_object_scope, get_custom_objects,
                                               get_registered_name, get_registered_object,
                                               register_keras_serializable)
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object
from nnfast.utils.progbar import Progbar

CustomObjectScope = custom_object_scope


def to_list(x):
    """``x`` as a list: a list stays, a tuple becomes a list, anything else is wrapped."""
    if isinstance(x, list):
        return x
    if isinstance(x, tuple):
        return list(x)
    return [x]


__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "register_keras_serializable",
           "serialize_keras_object", "deserialize_keras_object", "Progbar", "to_list"]
