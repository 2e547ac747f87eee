"""Saving and loading models and weights, in Keras's file formats.

``model.save("m.keras")`` / ``load_model``; ``register_keras_serializable`` for user classes.
"""
from nnfast.saving.object_registration import (CustomObjectScope, custom_object_scope,
                                               get_custom_objects, get_registered_name,
                                               get_registered_object,
                                               register_keras_serializable)
from nnfast.saving.file_editor import KerasFileEditor
from nnfast.saving.saving_api import load_model, load_weights, save_model, save_weights
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object
