"""Utilities: ``to_categorical``, ``set_random_seed``, ``Progbar``, ``PyDataset``..."""
from nnfast.backend.random import set_seed as _set_seed
from nnfast.saving.object_registration import (custom_object_scope, get_custom_objects,
                                               get_registered_name, get_registered_object,
                                               register_keras_serializable)
from nnfast.utils.numerical_utils import normalize, to_categorical
from nnfast.utils.progbar import Progbar
from nnfast.utils.py_dataset import PyDataset, Sequence
from nnfast.preprocessing.sequence import pad_sequences

CustomObjectScope = custom_object_scope


def set_random_seed(seed):
    """Seeds Python's ``random``, NumPy and nnfast (initializers, dropout, shuffling), so
    the same seed gives the same training run (for the same thread count)."""
    _set_seed(seed)
from nnfast.preprocessing.image import array_to_img, img_to_array, load_img, save_img
from nnfast.utils.image_dataset import image_dataset_from_directory
from nnfast.utils import generic_utils, np_utils  # noqa: E402,F401  (Keras 2 module paths)
