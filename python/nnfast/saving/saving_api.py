"""``save_model`` / ``load_model`` / weights files: picks the format from the file name."""
import json
import os
import warnings
import io
import zipfile

from nnfast.saving import legacy_h5, saving_lib
from nnfast.saving.serialization import deserialize_keras_object


def _check_overwrite(filepath, overwrite):
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"'{filepath}' exists and overwrite=False.")


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
    """Saves ``model`` to ``filepath``: ``.keras`` (Keras 3 zip) or ``.h5`` / ``.hdf5``
    (legacy HDF5). The file is written to a temporary name and renamed into place, so a
    failure leaves any previous file intact.

    Args:
        model: the model to save.
        filepath: where to write: a ``.keras`` path (zip archive), or ``.h5``/``.hdf5`` for the
            legacy format.
        overwrite: overwrite an existing file (False: ask on the terminal). Defaults to ``True``.
        zipped: write the ``.keras`` format zipped (None: True for ``.keras`` paths).
        include_optimizer: also save the optimizer's state. Defaults to ``True``.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.save("model.keras"); model = nnfast.models.load_model("model.keras")
    """
    filepath = os.fspath(filepath)
    kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save() got unexpected keyword arguments: {sorted(kwargs)}")
    _check_overwrite(filepath, overwrite)
    if filepath.endswith(".keras"):
        saving_lib.save_keras(model, filepath, include_optimizer=include_optimizer)
    elif filepath.endswith((".h5", ".hdf5")):
        warnings.warn("You are saving your model as an HDF5 file via `model.save()`. This file "
                      "format is considered legacy. We recommend using instead the native Keras "
                      "format, e.g. `model.save('my_model.keras')`.", stacklevel=3)
        legacy_h5.save_legacy_h5(model, filepath, include_optimizer=include_optimizer)
    else:
        raise ValueError(f"Invalid filepath extension for saving. Please add either a `.keras` "
                         f"extension for the native Keras format (recommended) or a `.h5` "
                         f"extension. Received: filepath={filepath}")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved as ``.keras`` (by nnfast or Keras 3) or legacy ``.h5`` (by tf.keras,
    Keras 3 or nnfast), recompiled from its saved compile configuration when ``compile``.

    Args:
        filepath: path of a ``.keras``, ``.h5`` or ``.hdf5`` file (str or PathLike).
        custom_objects: ``{"Name": class_or_function}`` for user classes not registered with
            ``register_keras_serializable``.
        compile: restore the optimizer, loss and metrics (default True).
        safe_mode: refuse to run the Python bytecode of saved ``Lambda`` layers.

    Returns:
        The model, with its weights (and optimizer state when it was saved).

    Raises:
        FileNotFoundError: when ``filepath`` does not exist.
        ValueError: for a file that is neither a ``.keras`` zip nor HDF5.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> model.save("model.keras")
        >>> restored = keras.models.load_model("model.keras")
        >>> x = np.ones((1, 3), "float32")
        >>> bool(np.allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0)))
        True
    """
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"File not found: filepath={filepath}. Please ensure the file "
                                "is an accessible `.keras` zip file.")
    if filepath.endswith(".keras") or (not filepath.endswith((".h5", ".hdf5")) and
                                       _is_zip(filepath)):
        return saving_lib.load_keras(filepath, custom_objects=custom_objects, compile=compile,
                                     safe_mode=safe_mode)
    if filepath.endswith((".h5", ".hdf5")) or _is_hdf5(filepath):
        return legacy_h5.load_legacy_h5(filepath, custom_objects=custom_objects, compile=compile,
                                        safe_mode=safe_mode)
    raise ValueError(f"File format not supported: filepath={filepath}. nnfast supports `.keras` "
                     "files and legacy `.h5` files.")


def _is_zip(filepath):
    return zipfile.is_zipfile(filepath)


def _is_hdf5(filepath):
    with open(filepath, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """``.weights.h5``: Keras 3 layout; other ``.h5``: the legacy layout (tf.keras).

    ``max_shard_size`` (Keras 3.15's sharded ``.weights.json`` files) is not implemented and
    raises NotImplementedError.

    Args:
        model: the model.
        filepath: a path ending in ``.weights.h5``.
        overwrite: overwrite an existing file. Defaults to ``True``.
        max_shard_size: sharded weight files are not implemented: must stay None, else
            ``NotImplementedError``.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> save_weights(model, "m.weights.h5")
    """
    if max_shard_size is not None:
        raise NotImplementedError("Sharded weight files (max_shard_size) are not implemented "
                                  f"in nnfast. Received: max_shard_size={max_shard_size}")
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {sorted(kwargs)}")
    filepath = os.fspath(filepath)
    _check_overwrite(filepath, overwrite)
    if filepath.endswith(".weights.h5"):
        saving_lib._atomic_write(filepath, lambda fh: saving_lib.write_weights_h5(model, fh))
    elif filepath.endswith((".h5", ".hdf5")):
        legacy_h5.save_legacy_weights(model, filepath)
    else:
        raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")


def load_weights(model, filepath, skip_mismatch=False, by_name=False, **kwargs):
    """Loads weights from ``.weights.h5``, ``.keras`` or a legacy ``.h5`` file
    (``by_name`` matches legacy ``.h5`` layers by name, as tf.keras).

    Args:
        model: the model.
        filepath: a ``.weights.h5`` file (or legacy ``.h5``).
        skip_mismatch: skip layers whose weight count or shapes differ instead of raising. Defaults
            to ``False``.
        by_name: match layers by name (legacy ``.h5`` files only) instead of by order. Defaults to
            ``False``.

    Example:
        >>> load_weights(model, "m.weights.h5")
    """
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {sorted(kwargs)}")
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"File not found: filepath={filepath}")
    if filepath.endswith(".keras"):
        with saving_lib._open_keras_zip(filepath) as z:
            data = z.read(saving_lib._WEIGHTS)
        saving_lib.read_weights_h5(model, io.BytesIO(data), skip_mismatch=skip_mismatch)
        return
    if not _is_hdf5(filepath):
        raise ValueError(f"'{filepath}' is not an HDF5 weights file (truncated or another "
                         "format).")
    h5py = saving_lib._h5py()
    try:
        with h5py.File(filepath, "r") as f:
            legacy = "layer_names" in f.attrs or "layer_names0" in f.attrs or (
                "model_weights" in f)
    except OSError as e:
        raise ValueError(f"Could not open '{filepath}' as an HDF5 file: {e}") from None
    if legacy:
        legacy_h5.load_legacy_weights(model, filepath, skip_mismatch=skip_mismatch,
                                      by_name=by_name)
    else:
        if by_name:
            raise ValueError("by_name=True is only supported for legacy .h5 weights files.")
        saving_lib.read_weights_h5(model, filepath, skip_mismatch=skip_mismatch)


def model_from_config(config, custom_objects=None):
    """A model (or layer) from ``{"class_name", "config"}``.

    Args:
        config: the dict ``model.get_config()`` (or ``serialize``) returned.
        custom_objects: a dict of name -> class/function for objects of your own.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> config = keras.saving.serialize_keras_object(model)
        >>> keras.models.model_from_config(config).output_shape
        (None, 2)
    """
    return deserialize_keras_object(config, custom_objects)


def model_from_json(json_string, custom_objects=None):
    """The model whose architecture ``model.to_json()`` wrote (fresh weights).

    Args:
        json_string: the string ``model.to_json()`` returned.
        custom_objects: a dict of name -> class/function for objects of your own.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> keras.models.model_from_json(model.to_json()).output_shape
        (None, 2)
    """
    return model_from_config(json.loads(json_string), custom_objects)
