"""``FeatureSpace.save`` / loading: Keras 3's ``.keras`` archive of a FeatureSpace -- its
config (``Feature``/``Cross``/``TFDIdentity`` objects as Keras serializes them), the
preprocessors' state in ``model.weights.h5`` under ``preprocessors/<layer>/vars`` and the
lookup vocabularies under ``assets/preprocessors/<layer>/``."""
import datetime
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from nnfast.backend.global_state import to_snake_case
from nnfast.saving.saving_lib import KERAS_VERSION, _atomic_write
from nnfast.saving.serialization import serialize_keras_object
from nnfast.utils.feature_space import _Identity

_MODULE = "keras.src.layers.preprocessing.feature_space"
_IDENTITY = "TFDIdentity"


def _child_names(objects):
    """Keras's names of a container's children: class in snake case, ``_1``... for repeats."""
    counts, names = {}, []
    for obj in objects:
        base = "tfd_identity" if _is_identity(obj) else to_snake_case(type(obj).__name__)
        n = counts.get(base, 0)
        counts[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def _is_identity(obj):
    return isinstance(obj, _Identity)


def keras_config(space):
    """The FeatureSpace's config as Keras 3.15 writes it (with ``build_config``)."""
    features, build = {}, {}
    for name, feature in space.features.items():
        pre = feature.preprocessor
        if _is_identity(pre):
            pre_config = {"module": _MODULE, "class_name": _IDENTITY,
                          "config": {"name": f"{name}_preprocessor", "trainable": True,
                                     "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                               "config": {"name": "float32"},
                                               "registered_name": None}},
                          "registered_name": _IDENTITY}
        else:
            pre_config = serialize_keras_object(pre)
        features[name] = {"module": _MODULE, "class_name": "Feature",
                          "config": {"dtype": feature.dtype, "preprocessor": pre_config,
                                     "output_mode": feature.output_mode},
                          "registered_name": "Feature"}
        is_lookup = hasattr(pre, "save_assets")
        build[name] = {} if is_lookup else {"input_shape": [None, 1]}
    crosses = [{"module": _MODULE, "class_name": "Cross", "config": c.get_config(),
                "registered_name": "Cross"} for c in space.crosses]
    return {"module": "keras.utils", "class_name": "FeatureSpace",
            "config": {"features": features, "output_mode": space.output_mode,
                       "crosses": crosses, "crossing_dim": space.crossing_dim,
                       "hashing_dim": space.hashing_dim,
                       "num_discretization_bins": space.num_discretization_bins},
            "registered_name": None, "build_config": build}


def _groups(space):
    """``[(h5 group, layer or None)]`` in Keras's layout."""
    space._build_encoders()
    out = [("concat/vars", None)]
    crossers = list(space.crossers.values())
    for name, layer in zip(_child_names(crossers), crossers):
        out.append((f"crossers/{name}/vars", layer))
    encoders = list(space._encoders.values())
    for name, layer in zip(_child_names(encoders), encoders):
        out.append((f"one_hot_encoders/{name}/vars", layer))
    pres = list(space.preprocessors.values())
    for name, layer in zip(_child_names(pres), pres):
        out.append((f"preprocessors/{name}/vars", layer))
    out.append(("vars", None))
    return out


def _variables(layer):
    if layer is None or _is_identity(layer):
        return []
    return list(getattr(layer, "_trainable_weights", [])) + list(
        getattr(layer, "_non_trainable_weights", []))


def save_feature_space(space, filepath):
    """Writes ``space`` (adapted) as a Keras ``.keras`` archive."""
    import h5py


    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError("The filepath must end in `.keras`. Received: "
                         f"filepath={filepath}")
    space._check_adapted()
    groups = _groups(space)
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        for path, layer in groups:
            g = f.require_group(path)
            for i, v in enumerate(_variables(layer)):
                g.create_dataset(str(i), data=np.asarray(v.value))
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("metadata.json", json.dumps(metadata))
            z.writestr("config.json", json.dumps(keras_config(space)))
            z.writestr("model.weights.h5", weights.getvalue())
            for path, layer in groups:
                if layer is None or not hasattr(layer, "save_assets"):
                    continue
                folder = "assets/" + path[: -len("/vars")]
                with tempfile.TemporaryDirectory() as tmp:
                    layer.save_assets(tmp)
                    for name in sorted(os.listdir(tmp)):
                        z.write(os.path.join(tmp, name), f"{folder}/{name}")

    _atomic_write(filepath, write)


def load_feature_space_state(space, z):
    """Restores the preprocessors' state of a deserialized FeatureSpace from an open
    ``.keras`` zip (weights, then vocabularies) and marks it adapted."""
    import h5py

    names = set(z.namelist())
    for pre in space.preprocessors.values():  # variables exist once built
        if not getattr(pre, "built", True) and not hasattr(pre, "save_assets") and \
                hasattr(pre, "build") and not _is_identity(pre):
            pre.build((None, 1))
    # Vocabularies first: the encoders' sizes depend on them.
    pres = list(space.preprocessors.values())
    for name, layer in zip(_child_names(pres), pres):
        if not hasattr(layer, "load_assets"):
            continue
        prefix = f"assets/preprocessors/{name}/"
        mine = [n for n in names if n.startswith(prefix) and not n.endswith("/")]
        if mine:
            with tempfile.TemporaryDirectory() as tmp:
                for n in mine:
                    with open(os.path.join(tmp, os.path.basename(n)), "wb") as fh:
                        fh.write(z.read(n))
                layer.load_assets(tmp)
    space._is_adapted = True
    space._encoders = None
    if "model.weights.h5" in names:
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            for path, layer in _groups(space):
                variables = _variables(layer)
                if not variables:
                    continue
                if path not in f:
                    raise ValueError(f"The FeatureSpace file has no weights for {path}.")
                g = f[path]
                if len(g) != len(variables):
                    raise ValueError(f"{path}: the file has {len(g)} weights, the layer "
                                     f"{len(variables)}.")
                for i, v in enumerate(variables):
                    v.assign(np.asarray(g[str(i)]))
                if hasattr(layer, "finalize_state"):
                    layer.finalize_state()
    return space
