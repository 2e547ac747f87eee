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
    the same seed gives the same training run (for the same thread count).

    Args:
        seed: an int: seeds Python's ``random``, NumPy and nnfast's global seed generator.

    Example:
        >>> keras.utils.set_random_seed(42)
        >>> a = keras.random.uniform((2,))
        >>> keras.utils.set_random_seed(42)
        >>> bool(np.array_equal(a, keras.random.uniform((2,))))
        True
    """
    _set_seed(seed)
from nnfast.preprocessing.image import array_to_img, img_to_array, load_img, save_img
from nnfast.utils.image_dataset import image_dataset_from_directory
from nnfast.utils.audio_dataset import audio_dataset_from_directory
from nnfast.utils.x_y_sample_weight import pack_x_y_sample_weight, unpack_x_y_sample_weight


def is_keras_tensor(x):
    """True when ``x`` is a symbolic tensor (from ``Input`` or a layer call on one).

    Args:
        x: any object.

    Example:
        >>> keras.utils.is_keras_tensor(keras.Input((3,)))
        True
        >>> keras.utils.is_keras_tensor(np.zeros(3))
        False
    """
    from nnfast.models.function import is_keras_tensor as check

    return check(x)


def get_source_inputs(tensor):
    """The ``Input`` tensors a symbolic tensor is computed from.

    Args:
        tensor: a symbolic tensor of a functional model.

    Example:
        >>> x = keras.Input((3,), name="features")
        >>> y = keras.layers.Dense(2)(x)
        >>> [t.name for t in keras.utils.get_source_inputs(y)]
        ['features']
    """
    from nnfast.models.function import get_source_inputs as sources

    return sources(tensor)


def clear_session(free_memory=True):
    """Resets nnfast's global state (layer-name counters), as ``keras.utils.clear_session``.

    Args:
        free_memory: also run the garbage collector and clear nnfast's buffer cache. Defaults to
            ``True``.

    Example:
        >>> keras.utils.clear_session()
        >>> keras.layers.Dense(2).name
        'dense'
    """
    import gc

    from nnfast.backend import clear_session as clear

    clear()
    if free_memory:
        gc.collect()
from nnfast.utils.feature_space import FeatureSpace
from nnfast.utils.dataset_utils import (split_dataset, text_dataset_from_directory,  # noqa: E402
                                        timeseries_dataset_from_array)
from nnfast.utils.file_utils import get_file  # noqa: E402
from nnfast.utils.model_visualization import model_to_dot, plot_model  # noqa: E402
from nnfast.utils.io_utils import (disable_interactive_logging,  # noqa: E402
                                   enable_interactive_logging, is_interactive_logging_enabled)
from nnfast.utils.config_utils import Config  # noqa: E402
from nnfast.saving.serialization import (deserialize_keras_object,  # noqa: E402
                                         serialize_keras_object)


def standardize_dtype(dtype):
    """Keras's dtype name for ``dtype`` (a string, NumPy dtype or Python type):
    ``"float32"``, ``"int64"``, ``"bool"``...; ``None`` means ``floatx()``.

    Args:
        dtype: a dtype name, NumPy dtype or Python type.

    Example:
        >>> standardize_dtype(np.float64)
        'float64'
    """
    import numpy as _np

    from nnfast.backend.global_state import floatx

    if dtype is None:
        return floatx()
    if dtype in (int, "int"):
        return "int64"
    if dtype in (float, "float"):
        return "float32"
    if dtype is bool:
        return "bool"
    if hasattr(dtype, "name") and not isinstance(dtype, type):
        dtype = dtype.name
    try:
        name = _np.dtype(dtype).name
    except TypeError:
        raise ValueError(f"Invalid dtype: {dtype}") from None
    if name.startswith("str") or name == "object":
        return "string"
    return name
from nnfast.utils import generic_utils, np_utils  # noqa: E402,F401  (Keras 2 module paths)
