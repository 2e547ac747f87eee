"""The legacy HDF5 formats: full models (``model.save("m.h5")``) and weights-only files
(tf.keras ``save_weights("w.h5")``), as tf.keras 2 and Keras 3 write and read them.

Layout: root attributes ``model_config`` / ``training_config`` (JSON), ``keras_version``,
``backend``; group ``model_weights`` with attribute ``layer_names`` and one group per layer
whose attribute ``weight_names`` lists its datasets (paths relative to the layer group).
Weights-only files have the same tree at the root. Long attribute arrays are split into
``name0``, ``name1``... chunks, as Keras does.
"""
import json

import numpy as np

from nnfast.saving.saving_lib import KERAS_VERSION, _atomic_write, _h5py
from nnfast.saving import h5_guard
from nnfast.saving.saving_lib import compile_from_config, set_optimizer_variables
from nnfast.saving.serialization import (deserialize_keras_object, safe_mode_scope,
                                         serialize_keras_object)

_HDF5_OBJECT_HEADER_LIMIT = 64512


def _layers_with_weights_order(model):
    """The model's layers as legacy files list them (nested models count as one layer)."""
    return list(model.layers)


def _save_attr(group, name, data):
    """Writes a list of strings as an attribute, split in chunks if too large (Keras rule)."""
    data = [d.encode("utf8") if isinstance(d, str) else d for d in data]
    arr = np.asarray(data, dtype="S") if data else np.asarray([], dtype="S1")
    num_chunks = 1
    chunks = [arr]
    while any(c.nbytes > _HDF5_OBJECT_HEADER_LIMIT for c in chunks):
        num_chunks += 1
        chunks = np.array_split(arr, num_chunks)
    if num_chunks > 1:
        for i, chunk in enumerate(chunks):
            group.attrs[f"{name}{i}"] = chunk
    else:
        group.attrs[name] = arr


def _load_attr(group, name):
    def decode(values):
        return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]

    if name in group.attrs:
        return decode(group.attrs[name])
    out, i = [], 0
    while f"{name}{i}" in group.attrs:
        out.extend(decode(group.attrs[f"{name}{i}"]))
        i += 1
    return out


def _weight_names(layer):
    names, seen = [], set()
    for v in layer.weights:
        path = getattr(v, "path", None) or v.name
        name = f"{path}:0"
        k = 1
        while name in seen:
            name = f"{path}_{k}:0"
            k += 1
        seen.add(name)
        names.append(name)
    return names


def write_weights_group(group, model):
    layers = _layers_with_weights_order(model)
    _save_attr(group, "layer_names", [l.name for l in layers])
    group.attrs["backend"] = "tensorflow".encode("utf8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in layers:
        g = group.create_group(layer.name)
        names = _weight_names(layer)
        _save_attr(g, "weight_names", names)
        for name, v in zip(names, layer.weights):
            g.create_dataset(name, data=np.asarray(v.value))


def legacy_model_config(model):
    """``{"class_name", "config"}`` in the tf.keras 2 form (no ``module`` keys, InputLayer
    ``batch_input_shape``), which tf.keras 2 and Keras 3 both read."""
    return _to_legacy(serialize_keras_object(model))


# Config keys of wrapper layers holding a layer entry: Keras 3 deserializes those entries
# itself, and finds a built-in class only through its `module`, so they keep it.
_NESTED_LAYER_KEYS = ("layer", "backward_layer")


def _to_legacy(entry, keep_module=False):
    if isinstance(entry, list):
        return [_to_legacy(e) for e in entry]
    if not isinstance(entry, dict):
        return entry
    if "class_name" in entry and "config" in entry:
        config = entry["config"]
        if isinstance(config, dict):
            config = {k: _to_legacy(v, keep_module=k in _NESTED_LAYER_KEYS)
                      for k, v in config.items()}
        else:
            config = _to_legacy(config)
        out = {"class_name": entry["class_name"], "config": config}
        if keep_module and entry.get("module"):
            out = {"module": entry["module"], **out}
        if entry["class_name"] == "InputLayer" and isinstance(out["config"], dict):
            c = dict(out["config"])
            if "batch_shape" in c:
                c["batch_input_shape"] = c.pop("batch_shape")
            c.pop("optional", None)
            out["config"] = c
        for k in ("name", "inbound_nodes"):
            if k in entry:
                out[k] = _to_legacy(entry[k])
        if str(entry.get("module", "")).startswith(("keras.src.ops.", "nnfast.ops")):
            out["module"] = entry["module"]  # an op node (x + y): only the module says so
        if entry.get("registered_name") and entry["registered_name"] != entry["class_name"]:
            out["class_name"] = entry["registered_name"]
        return out
    return {k: _to_legacy(v) for k, v in entry.items()}


def save_legacy_h5(model, filepath, include_optimizer=True):
    h5py = _h5py()
    config = json.dumps(legacy_model_config(model))
    training = None
    if include_optimizer and getattr(model, "compiled", False):
        cc = model._serialize_compile_config()
        opt = cc.get("optimizer") or {}
        training = json.dumps({"loss": cc.get("loss"), "metrics": cc.get("metrics"),
                               "weighted_metrics": cc.get("weighted_metrics"),
                               "loss_weights": cc.get("loss_weights"),
                               "optimizer_config": {"class_name": opt.get("class_name"),
                                                    "config": opt.get("config")}})

    def write(fh):
        with h5py.File(fh, "w") as f:
            f.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
            f.attrs["backend"] = "tensorflow".encode("utf8")
            f.attrs["model_config"] = config.encode("utf8")
            if training is not None:
                f.attrs["training_config"] = training.encode("utf8")
            write_weights_group(f.create_group("model_weights"), model)
            opt = getattr(model, "optimizer", None)
            if training is not None and opt is not None and opt.built:
                g = f.create_group("optimizer_weights")
                values = opt.variables
                # Legacy readers go by position; the names only label the datasets.
                head = ["iteration", "learning_rate"][: 2 if not callable(opt._learning_rate) else 1]
                names = head + [f"{opt.name}_var_{i}" for i in range(len(values) - len(head))]
                _save_attr(g, "weight_names", names)
                for name, value in zip(names, values):
                    g.create_dataset(name, data=np.asarray(value))

    _atomic_write(filepath, write)


def save_legacy_weights(model, filepath):
    h5py = _h5py()

    def write(fh):
        with h5py.File(fh, "w") as f:
            write_weights_group(f, model)

    _atomic_write(filepath, write)


def _open(filepath):
    h5py = _h5py()
    try:
        return h5py.File(filepath, "r")
    except OSError as e:
        raise ValueError(f"Could not open '{filepath}' as an HDF5 file (truncated or not "
                         f"HDF5?): {e}") from None


def _weights_root(f):
    return h5_guard.child(f, "model_weights") if "model_weights" in f else f


def _read_weight(group, name, model):
    """One weight dataset of a legacy file, read through the HDF5 guard."""
    ds = h5_guard.dataset_at(group, name)
    if ds is None:
        raise ValueError(f"The weights file names '{name}' in group '{group.name}', but has no "
                         "such dataset.")
    return h5_guard.read(ds, h5_guard.max_elements(model))


def _attr_str(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def load_legacy_h5(filepath, custom_objects=None, compile=True, safe_mode=True):
    with _open(filepath) as f:
        if "model_config" not in f.attrs:
            raise ValueError(f"No model config found in the file at '{filepath}': it holds only "
                             "weights (use `model.load_weights`) or is not a Keras file.")
        config = json.loads(_attr_str(f.attrs["model_config"]))
        with safe_mode_scope(safe_mode):
            model = deserialize_keras_object(config, custom_objects)
        load_weights_from_group(model, _weights_root(f))
        training = f.attrs.get("training_config")
        if compile and training is not None:
            tc = json.loads(_attr_str(training))
            try:
                compile_from_config(model, tc, custom_objects)
            except (ValueError, TypeError) as e:
                import warnings

                warnings.warn(f"The model loaded, but its training configuration could not be "
                              f"restored ({e}); compile it yourself.", stacklevel=3)
                return model
            if "optimizer_weights" in f and model.optimizer is not None:
                g = h5_guard.child(f, "optimizer_weights")
                names = _load_attr(g, "weight_names")
                values = [_read_weight(g, n, model) for n in names]
                try:
                    set_optimizer_variables(model, model.optimizer, values)
                except ValueError:
                    import warnings

                    warnings.warn("Skipped loading the optimizer state of the legacy file "
                                  "(a different layout).", stacklevel=3)
    return model


def load_legacy_weights(model, filepath, skip_mismatch=False, by_name=False):
    if not model.weights:
        # Keras 2 built a Sequential from `Embedding(input_length=)` or `input_dim=` alone;
        # Keras 3 (and nnfast) build from `Input(shape=)`, `input_shape=` or the first call.
        raise ValueError(f"Cannot load weights from '{filepath}' into `{model.name}`: the "
                         "model has no weights yet (not built). Start it with "
                         "`keras.Input(shape=...)` (or `input_shape=` on its first layer), or "
                         "call `model.build(input_shape)` before `load_weights`.")
    with _open(filepath) as f:
        group = _weights_root(f)
        if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
            raise ValueError(f"'{filepath}' is not a Keras weights file (no 'layer_names').")
        load_weights_from_group(model, group, skip_mismatch=skip_mismatch, by_name=by_name)


def load_weights_from_group(model, group, skip_mismatch=False, by_name=False):
    """Keras's legacy rule: file layers with weights match the model's layers with weights in
    order (or by name with ``by_name=True``); each layer's datasets fill ``layer.weights``."""
    names = _load_attr(group, "layer_names")
    file_layers = []
    for name in names:
        if name not in group:
            continue
        g = h5_guard.child(group, name)
        weight_names = _load_attr(g, "weight_names")
        if weight_names:
            file_layers.append((name, [_read_weight(g, w, model) for w in weight_names]))
    model_layers = [l for l in model.layers if l.weights]
    assignments = []
    if by_name:
        by = {l.name: l for l in model_layers}
        for name, values in file_layers:
            layer = by.get(name)
            if layer is None:
                continue
            assignments.append((layer, values, name))
    else:
        if len(file_layers) != len(model_layers):
            raise ValueError(
                f"Layer count mismatch when loading weights from file. Model expected "
                f"{len(model_layers)} layers with weights, found {len(file_layers)} saved "
                f"layers with weights.")
        assignments = [(layer, values, name)
                       for layer, (name, values) in zip(model_layers, file_layers)]
    pending = []
    for layer, values, name in assignments:
        weights = layer.weights
        if len(values) != len(weights):
            if skip_mismatch:
                continue
            raise ValueError(f"Weight count mismatch for layer '{layer.name}' (file layer "
                             f"'{name}'): expected {len(weights)} weights, the file has "
                             f"{len(values)}.")
        bad = [(w, v) for w, v in zip(weights, values) if tuple(w.shape) != tuple(v.shape)]
        if bad:
            if skip_mismatch:
                continue
            w, v = bad[0]
            raise ValueError(f"Shape mismatch in layer '{layer.name}' for weight '{w.path}': "
                             f"weight expects shape {tuple(w.shape)}, the saved weight has "
                             f"shape {tuple(v.shape)}.")
        pending.extend(zip(weights, values))
    for w, v in pending:
        w.assign(v.astype(w.value.dtype, copy=False))


def is_legacy_h5(filepath):
    return str(filepath).endswith((".h5", ".hdf5")) and not str(filepath).endswith(".weights.h5")


__all__ = ["save_legacy_h5", "load_legacy_h5", "save_legacy_weights", "load_legacy_weights"]
