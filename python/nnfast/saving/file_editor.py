"""``keras.saving.KerasFileEditor``: inspect and edit the weights of a ``.keras`` or
``.weights.h5`` file without building its model, then write them as a ``.weights.h5`` file.

The weights are held as a nested dict that mirrors the file's groups with each ``vars`` group
folded into its owner: ``{"layers": {"dense": {"0": kernel, "1": bias}}, "optimizer":
{"0": iterations, ...}}`` (Keras's ``editor.weights_dict``).

Example:
    >>> editor = nnfast.saving.KerasFileEditor("model.keras")
    >>> editor.summary()
    >>> editor.rename_object("dense_1", "dense_2")
    >>> editor.add_weights("dense_2", {"2": np.zeros(3)})
    >>> editor.save("edited.weights.h5")
"""
import io
import json
import math

import numpy as np

from nnfast.saving import h5_guard
from nnfast.saving.saving_lib import (
    _CONFIG,
    _METADATA,
    _WEIGHTS,
    _atomic_write,
    _h5py,
    _open_keras_zip,
    write_weights_h5,
)

_MAX_DATASET_BYTES = 1 << 32  # as Keras: no single weight above 4 GiB is read


def _check_weights_arg(weights):
    if not isinstance(weights, dict):
        raise ValueError(  # noqa: TRY004 (Keras raises ValueError)
                         "Argument `weights` should be a dict where keys are weight names "
                         "(usually '0', '1', etc.) and values are NumPy arrays. "
                         f"Received: type(weights)={type(weights)}")


class KerasFileEditor:
    """Loads the weights of a Keras file for inspection and editing (renaming, deleting and
    adding objects and weights), and saves the result as a ``.weights.h5`` file that Keras
    and nnfast load with ``model.load_weights``.

    Args:
        filepath: a ``.keras`` model file or a ``.weights.h5`` weights file.

    Attributes:
        weights_dict: the weights as a nested dict (see the module docstring).
        object_metadata: ``{inner path: {attribute: value}}`` of the file's groups (the
            ``name`` attribute of each object's ``vars`` group, keyed by the owner's path).
        config, metadata: the model config and ``metadata.json`` of a ``.keras`` file
            (``None`` for a ``.weights.h5`` file).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
        ...                           keras.layers.Dense(1)])
        >>> model.save_weights("my_model.weights.h5")
        >>> editor = KerasFileEditor("my_model.weights.h5")  # doctest: +ELLIPSIS
        Keras model file 'my_model.weights.h5'...
        >>> sorted(editor.weights_dict["layers"])   # objects are named as Keras saves them
        ['dense', 'dense_1']
        >>> editor.delete_object("layers/dense_1")
        >>> editor.add_object("layers/dense_2", weights={"0": np.zeros((2, 1), "float32"),
        ...                                               "1": np.zeros(1, "float32")})
        >>> editor.save("edited_model.weights.h5")
    """

    def __init__(self, filepath):
        self.filepath = filepath = str(filepath)
        self.metadata = None
        self.config = None
        self.model = None
        if filepath.endswith(".keras"):
            with _open_keras_zip(filepath) as archive:
                self.config = json.loads(archive.read(_CONFIG))
                self.metadata = json.loads(archive.read(_METADATA)) \
                    if _METADATA in archive.namelist() else None
                source = io.BytesIO(archive.read(_WEIGHTS))
        elif filepath.endswith(".weights.h5"):
            source = filepath
        else:
            raise ValueError("Invalid filename: expected a `.keras` `.weights.h5` extension. "
                             f"Received: filepath={filepath}")
        with _h5py().File(source, "r") as f:
            self.weights_dict, self.object_metadata = _extract(f, {}, "")
        print(f"Keras model file '{filepath}'")
        if self.metadata is not None:
            print(f"Saved with Keras {self.metadata.get('keras_version')} - date: "
                  f"{self.metadata.get('date_saved')}")

    # --- looking ------------------------------------------------------------------------
    def summary(self):
        """Prints the tree of objects and weights (with shapes and dtypes) of the file."""
        print("Weights structure")
        self._print_tree(self.weights_dict, prefix="  ", inner_path="", first=True)

    def _print_tree(self, tree, prefix, inner_path, first):
        items = list(tree.items())
        for index, (key, value) in enumerate(items):
            path = f"{inner_path}/{key}" if inner_path else key
            last = index == len(items) - 1
            connector = "> " if first else ("└─ " if last else "├─ ")
            first = False
            if isinstance(value, dict):
                label = f"{prefix}{connector}{key}"
                name = self.object_metadata.get(f"/{path}", {}).get("name")
                print(label if name is None else f"{label} ('{name}')")
                self._print_tree(value, prefix + ("    " if last else "│   "), path, False)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    def compare(self, reference_model):
        """Lists the differences between the file's weights and those ``reference_model``
        would save (objects or weights missing on either side, shapes that differ).

        Args:
            reference_model: a built model.

        Returns:
            ``{"status": "success" or "error", "error_count": int, "match_count": int}``.
        """
        print("Running comparison")
        buffer = io.BytesIO()
        write_weights_h5(reference_model, buffer)
        buffer.seek(0)
        with _h5py().File(buffer, "r") as f:
            reference, _ = _extract(f, {}, "")
        checked = set()
        errors, matches = _compare(self.weights_dict, reference, "", "saved file",
                                   "reference model", checked)
        more_errors, _ = _compare(reference, self.weights_dict, "", "reference model",
                                  "saved file", checked)
        errors += more_errors
        print("─────────────────────")
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not "
                  "compatible with the reference model")
        return {"status": "success" if errors == 0 else "error", "error_count": errors,
                "match_count": matches}

    # --- editing ------------------------------------------------------------------------
    def _edit_object(self, edit, source_name, target_name=None):
        """Applies ``edit(parent_dict, source_name, target_name)`` where ``source_name`` is: a
        path (``"layers/dense"``) naming one object, or a bare name that must occur exactly
        once anywhere in the tree."""
        if target_name is not None and "/" in target_name:
            raise ValueError("Argument `target_name` should be a leaf name, not a full path "
                             f"name. Received: target_name='{target_name}'")
        if "/" in source_name:
            parts = source_name.split("/")
            parent = self.weights_dict
            for part in parts[:-1]:
                if not isinstance(parent, dict) or part not in parent:
                    raise ValueError(f"Path '{source_name}' not found in model.")
                parent = parent[part]
            if not isinstance(parent, dict) or parts[-1] not in parent:
                raise ValueError(f"Path '{source_name}' not found in model.")
            edit(parent, parts[-1], target_name)
            return
        parents = _parents_holding(self.weights_dict, source_name)
        if len(parents) > 1:
            raise ValueError(f"Name '{source_name}' occurs more than once in the model; try "
                             "passing a complete path")
        if not parents:
            raise ValueError(f"Source name '{source_name}' does not appear in the model. Use "
                             "`editor.summary()` to list all objects.")
        edit(parents[0], source_name, target_name)

    def rename_object(self, object_name, new_name):
        """Renames an object (e.g. a layer).

        Args:
            object_name: name or path of the object (``"dense_2"`` or ``"layers/dense_2"``).
            new_name: its new (leaf) name.
        """
        def rename(parent, source, target):
            parent[target] = parent.pop(source)

        self._edit_object(rename, object_name, new_name)

    def delete_object(self, object_name):
        """Removes an object (e.g. a layer) and all its weights.

        Args:
            object_name: name or path of the object (``"dense_2"`` or ``"layers/dense_2"``).
        """
        self._edit_object(lambda parent, source, target: parent.pop(source), object_name)

    def add_object(self, object_path, weights):
        """Adds a new object (e.g. a layer) with its weights.

        Args:
            object_path: full path of the new object (``"layers/dense_2"``); every step
                but the last must exist.
            weights: dict of weight name to array, e.g. ``{"0": kernel, "1": bias}``.
        """
        _check_weights_arg(weights)
        parts = object_path.split("/")
        parent = self.weights_dict
        for part in parts[:-1]:
            if not isinstance(parent, dict) or part not in parent:
                raise ValueError(f"Path '{'/'.join(parts[:-1])}' not found in model.")
            parent = parent[part]
        parent[parts[-1]] = weights

    def delete_weight(self, object_name, weight_name):
        """Removes one weight of an object.

        Args:
            object_name: name or path of the object (``"dense_2"`` or ``"layers/dense_2"``).
            weight_name: the weight's name (``"0"``).
        """
        def delete(parent, source, target):
            if weight_name not in parent[source]:
                raise ValueError(f"Weight {weight_name} not found in object {object_name}. "
                                 f"Weights found: {list(parent[source].keys())}")
            parent[source].pop(weight_name)

        self._edit_object(delete, object_name)

    def add_weights(self, object_name, weights):
        """Adds (or replaces) weights of an existing object.

        Args:
            object_name: name or path of the object (``"dense_2"`` or ``"layers/dense_2"``).
            weights: dict of weight name to array, e.g. ``{"2": extra}``.
        """
        _check_weights_arg(weights)
        self._edit_object(lambda parent, source, target: parent[source].update(weights),
                          object_name)

    # --- writing ------------------------------------------------------------------------
    def save(self, filepath):
        """Writes the (edited) weights as a ``.weights.h5`` file, each object's weights in
        its ``<path>/vars`` group as Keras lays them out.

        Args:
            filepath: the file to write; must end in ``.weights.h5``.
        """
        filepath = str(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError("Invalid `filepath` argument: expected a `.weights.h5` extension. "
                             f"Received: filepath={filepath}")

        def write(fileobj):
            with _h5py().File(fileobj, "w") as f:
                _write(f, self.weights_dict, "")

        _atomic_write(filepath, write)

    def resave_weights(self, filepath):
        """Same as ``save``."""
        self.save(filepath)


def _extract(group, metadata, inner_path):
    """(nested dict of the group's datasets, metadata) with ``vars`` groups folded into their
    owners and empty groups left out, as Keras reads a weights file. Only data stored in the
    file itself is read (``h5_guard``), and no dataset above 4 GiB."""
    h5py = _h5py()
    attributes = dict(group.attrs.items())
    if attributes:
        metadata[inner_path] = attributes
    result = {}
    for key in group:
        path = f"{inner_path}/{key}"
        value = h5_guard.child(group, key)
        if isinstance(value, h5py.Group):
            if len(value) == 0:
                continue
            if "vars" in value:
                value = h5_guard.child(value, "vars")
                if len(value) == 0:
                    continue
            result[key], metadata = _extract(value, metadata, path)
            continue
        if not isinstance(value, h5py.Dataset):
            continue
        value = h5_guard.dataset(group, key)
        if len(value.shape) > 64 or math.prod(value.shape) * value.dtype.itemsize > \
                _MAX_DATASET_BYTES:
            raise ValueError(f"HDF5 dataset '{path}' is too large or malformed to load safely "
                             f"(shape {value.shape}, dtype {value.dtype}; limit 4 GiB).")
        result[key] = value[()]
    return result, metadata


def _parents_holding(tree, name):
    """Every dict of the tree (the tree included) that has key ``name``."""
    found = [tree] if name in tree else []
    for value in tree.values():
        if isinstance(value, dict):
            found += _parents_holding(value, name)
    return found


def _compare(target, reference, inner_path, target_name, reference_name, checked):
    """(errors, matches) of ``target`` against ``reference``, printing each difference;
    paths already reported are in ``checked`` and not reported twice."""
    errors = matches = 0
    for key, ref_value in reference.items():
        path = f"{inner_path}/{key}"
        if path in checked:
            continue
        if key not in target:
            errors += 1
            checked.add(path)
            what = "Object" if isinstance(ref_value, dict) else "Weight"
            print(f"...{what} {path} present in {reference_name}, missing from {target_name}")
            if isinstance(ref_value, dict):
                print(f"    In {reference_name}, {path} contains the following keys: "
                      f"{list(ref_value.keys())}")
        elif isinstance(ref_value, dict):
            if not isinstance(target[key], dict):
                errors += 1
                checked.add(path)
                print(f"...{path} is an object in {reference_name} and a weight in "
                      f"{target_name}")
                continue
            more_errors, more_matches = _compare(target[key], ref_value, path, target_name,
                                                 reference_name, checked)
            errors += more_errors
            matches += more_matches
        elif np.shape(target[key]) != np.shape(ref_value):
            errors += 1
            checked.add(path)
            print(f"...Weight shape mismatch for {path}\n    In {reference_name}: "
                  f"shape={np.shape(ref_value)}\n    In {target_name}: "
                  f"shape={np.shape(target[key])}")
        else:
            matches += 1
    return errors, matches


def _write(f, tree, inner_path):
    """Writes ``tree`` under ``inner_path``: its arrays into ``<inner_path>/vars``, its
    sub-dicts recursively (empty ones are skipped)."""
    arrays = {}
    for name, value in tree.items():
        if isinstance(value, dict):
            if value:
                _write(f, value, f"{inner_path}/{name}" if inner_path else name)
        else:
            arrays[name] = value
    if arrays:
        group = f.require_group(f"{inner_path}/vars" if inner_path else "vars")
        for name, value in arrays.items():
            group.create_dataset(name, data=np.asarray(value))
