"""The Keras 3 ``.keras`` zip format and the ``.weights.h5`` weights file.

Weights live at attribute paths, as Keras writes them: a container model's layers under
``layers/<snake_case class name>[_<n>]``, a layer's own variables under ``vars/<i>``
(trainable then non-trainable), sublayers under their attribute names (an RNN's cell under
``cell``), the optimizer under ``optimizer/vars/<i>``.
"""
import datetime
import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy as np

from nnfast import metrics as metrics_module
from nnfast import optimizers
from nnfast.backend.global_state import to_snake_case
from nnfast.layers.layer import Layer
from nnfast.saving import h5_guard
from nnfast.saving.serialization import (
    _accepted_kwargs,
    deserialize_keras_object,
    safe_mode_scope,
    serialize_keras_object,
)

KERAS_VERSION = "3.15.1"  # the Keras release whose files nnfast writes (and was checked with)
_CONFIG = "config.json"
_METADATA = "metadata.json"
_WEIGHTS = "model.weights.h5"
_RNN_CLASSES = {"LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a declared dependency
        raise ImportError("Saving and loading HDF5 files needs h5py: `pip install h5py`.") from e
    return h5py


# --- the attribute-path walk ------------------------------------------------------------------

def _own_variables(layer):
    ordered = getattr(layer, "_saved_variables", None)
    ordered = ordered() if ordered is not None else None
    if ordered is not None:  # a layer whose file order is not trainable-first (int8 Dense)
        return list(ordered)
    return list(layer._trainable_weights) + list(layer._non_trainable_weights)


def _is_container_model(obj):
    """A Sequential or Functional model: its variables are grouped under its layers."""
    return getattr(obj, "_saving_kind", None) == "container"


def _container(layers, prefix, visited, out):
    counts = {}
    for layer in layers:
        base = to_snake_case(type(layer).__name__)
        n = counts.get(base, 0)
        counts[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        _walk(layer, f"{prefix}/{name}" if prefix else name, visited, out)


def _walk(obj, prefix, visited, out):
    """Appends ``(vars_group_path, [variables], layer)`` for ``obj`` and its children."""
    if id(obj) in visited:
        return
    visited.add(id(obj))
    join = (lambda p: f"{prefix}/{p}") if prefix else (lambda p: p)
    own = _own_variables(obj)
    if _is_container_model(obj):
        _container(obj.layers, join("layers"), visited, out)
        out.append((join("vars"), own, obj))
        return
    has_cell = isinstance(getattr(obj, "cell", None), Layer)
    if own and type(obj).__name__ in _RNN_CLASSES and not has_cell:
        # nnfast keeps an RNN's weights on the layer; Keras keeps them on its cell.
        out.append((join("vars"), [], obj))
        out.append((join("cell/vars"), own, obj))
    else:
        out.append((join("vars"), own, obj))
    children = []
    for attr, value in vars(obj).items():
        if attr.startswith("__"):
            continue
        if isinstance(value, Layer) and value is not obj:
            children.append((attr, value))
        elif isinstance(value, (list, tuple)) and not attr.startswith("_") and value and \
                all(isinstance(v, Layer) for v in value):
            children.append((attr, list(value)))
    if getattr(obj, "_saving_kind", None) == "model":  # a subclassed model's tracked layers
        children.append(("layers", list(obj.layers)))
    for attr, value in sorted(children, key=lambda kv: kv[0]):
        if isinstance(value, list):
            _container(value, join(attr), visited, out)
        else:
            _walk(value, join(attr), visited, out)


def variable_groups(model):
    """``[(group_path, [variables], layer), ...]`` for every object that owns state."""
    out = []
    _walk(model, "", set(), out)
    return out


# --- HDF5 store -------------------------------------------------------------------------------

def write_weights_h5(model, fileobj, include_optimizer=True):
    """Writes the ``model.weights.h5`` tree of ``model`` into an open file object or path."""
    h5py = _h5py()
    with h5py.File(fileobj, "w") as f:
        for path, variables, owner in variable_groups(model):
            g = f.require_group(path)
            g.attrs["name"] = owner.name
            for i, v in enumerate(variables):
                g.create_dataset(str(i), data=np.asarray(v.value))
            if hasattr(owner, "save_own_variables"):
                store = {}
                owner.save_own_variables(store)
                for key, value in store.items():
                    if key not in g:
                        g.create_dataset(key, data=np.asarray(value))
        opt = getattr(model, "optimizer", None)
        if include_optimizer and opt is not None and getattr(opt, "built", False):
            g = f.require_group("optimizer/vars")
            g.attrs["name"] = opt.name
            for i, value in enumerate(opt.variables):
                g.create_dataset(str(i), data=np.asarray(value))


def read_weights_h5(model, fileobj, skip_mismatch=False, load_optimizer=True):
    """Loads a ``model.weights.h5`` tree into ``model`` (and its optimizer, if built)."""
    h5py = _h5py()
    try:
        f = h5py.File(fileobj, "r")
    except OSError as e:
        raise ValueError(f"Could not read the weights file: it is not a valid HDF5 file "
                         f"({e}).") from None
    with f:
        if "layers" not in f and "vars" not in f:
            raise ValueError("The file is not a Keras weights file: it has no 'layers' or "
                             f"'vars' group (top-level keys: {list(f.keys())}).")
        limit = h5_guard.max_elements(model)
        pending = []
        for path, variables, owner in variable_groups(model):
            if hasattr(owner, "load_own_variables") and path in f:
                g = f[path]
                owner.load_own_variables({k: np.asarray(g[k]) for k in g.keys()
                                          if not k.isdigit()})
            values = _read_group(f, path)
            if values is None and not variables:
                continue
            if values is None:
                values = _fallback_values(f, path)
            if values is None:
                msg = (f"Layer '{owner.name}' expects {len(variables)} variables, but the file has "
                       f"no group '{path}'.")
                if skip_mismatch:
                    continue
                raise ValueError(msg)
            if len(values) != len(variables):
                msg = (f"Layer '{owner.name}' expected {len(variables)} variables, but received "
                       f"{len(values)} variables during loading (group '{path}').")
                if skip_mismatch:
                    continue
                raise ValueError(msg)
            for var, val in zip(variables, values):
                if tuple(var.shape) != tuple(val.shape):
                    msg = (f"The shape of the target variable '{var.path}' {tuple(var.shape)} and "
                           f"the source value {tuple(val.shape)} in group '{path}' do not match.")
                    if skip_mismatch:
                        break
                    raise ValueError(msg)
            else:
                pending.extend(zip(variables, values))
        # Datasets are read only now, each after its shape matched its variable's.
        for var, ds in pending:
            var.assign(h5_guard.read(ds, limit).astype(var.value.dtype, copy=False))
        opt = getattr(model, "optimizer", None)
        if load_optimizer and opt is not None and "optimizer" in f:
            values = _read_group(f, "optimizer/vars")
            if values:
                set_optimizer_variables(model, opt, [h5_guard.read(ds, limit) for ds in values])


def _read_group(f, path):
    """The numbered datasets of group ``path`` (not yet read), in order; None if absent."""
    g = h5_guard.at(f, path)
    if g is None:
        return None
    keys = sorted((k for k in g.keys() if k.isdigit()), key=int)
    return [h5_guard.dataset(g, k) for k in keys]


def _fallback_values(f, path):
    """Values for a layer stored in a different nesting (e.g. RNN weights on the layer rather
    than its cell): every dataset under the layer's group in Keras's walk order."""
    if not path.endswith("vars"):
        return None
    base = path[: -len("vars")].rstrip("/")
    if base.endswith("/cell"):
        base = base[: -len("/cell")]
    root = h5_guard.at(f, base) if base else None
    if root is None:
        return None
    out = []

    def walk(g):
        if "vars" in g:
            vg = h5_guard.child(g, "vars")
            out.extend(h5_guard.dataset(vg, k)
                       for k in sorted((k for k in vg.keys() if k.isdigit()), key=int))
        for k in sorted(g.keys()):
            sub = h5_guard.child(g, k)
            if k != "vars" and isinstance(sub, _h5py().Group):
                walk(sub)

    walk(root)
    return out or None


def set_optimizer_variables(model, opt, values):
    """Restores ``[iterations, learning_rate, slots...]`` after building the optimizer for
    the model's trainable variables (Keras's order)."""
    if not opt.built:
        opt.build(model.trainable_weights)
    expected = len(opt.variables)
    if len(values) == expected - 1 and np.ndim(values[0]) == 0:
        # tf.keras 2 files store [iterations, slots...] without the learning rate.
        values = [values[0], np.asarray(opt.learning_rate, np.float32)] + list(values[1:])
    if len(values) != expected:
        warnings.warn(f"Skipping loading optimizer state: the file has {len(values)} optimizer "
                      f"variables, the optimizer has {expected}.", stacklevel=3)
        return
    opt.set_weights(values)


# --- the .keras zip --------------------------------------------------------------------------

_TMP_PREFIX = ".nnfast-"


def _temp_owner(name):
    """The process id in one of our temporary file names (.nnfast-<pid>-<random>.tmp)."""
    if not (name.startswith(_TMP_PREFIX) and name.endswith(".tmp")):
        return None
    pid = name[len(_TMP_PREFIX):].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def remove_stale_temp_files(folder):
    """Deletes temporary files a killed save of nnfast left in ``folder`` (those whose
    process is gone; a save running in another live process is left alone)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        pid = _temp_owner(name)
        if pid is None or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # its writer still runs
        except ProcessLookupError:
            pass
        except OSError:  # e.g. another user's process: alive
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(filepath, write_fn):
    """Writes through a temporary file in the same folder and renames it over ``filepath``,
    so a failure part-way leaves any previous file intact. The file gets the permissions the
    user's umask gives (mkstemp's are 0600), and temporary files of killed saves are removed."""
    folder = os.path.dirname(os.path.abspath(filepath)) or "."
    remove_stale_temp_files(folder)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write_fn(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, filepath)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def model_config_with_compile(model):
    config = serialize_keras_object(model)
    compile_config = getattr(model, "_compile_config_serialized", None)
    if getattr(model, "compiled", False) and compile_config is None:
        compile_config = model._serialize_compile_config()
    if compile_config is not None and getattr(model, "compiled", False):
        config["compile_config"] = compile_config
    return config


def _asset_owners(model):
    """``[(zip folder, layer)]`` for the layers with assets (Keras's ``save_assets``): the
    folder is ``assets/`` plus the layer's path in the weights file."""
    out, seen = [], set()
    for path, _, owner in variable_groups(model):
        if id(owner) in seen or not hasattr(owner, "save_assets"):
            continue
        seen.add(id(owner))
        base = path[: -len("vars")].rstrip("/") if path.endswith("vars") else path
        out.append(("assets/" + base if base else "assets", owner))
    return out


def _write_assets(model, z):
    for folder, owner in _asset_owners(model):
        with tempfile.TemporaryDirectory() as tmp:
            owner.save_assets(tmp)
            for root, _, files in os.walk(tmp):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, tmp).replace(os.sep, "/")
                    z.write(full, f"{folder}/{rel}")


def _read_assets(model, z):
    names = z.namelist()
    for folder, owner in _asset_owners(model):
        prefix = folder + "/"
        mine = [n for n in names if n.startswith(prefix) and not n.endswith("/") and
                "/" not in n[len(prefix):]]
        if not mine:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for n in mine:
                with open(os.path.join(tmp, n[len(prefix):]), "wb") as fh:
                    fh.write(z.read(n))
            owner.load_assets(tmp)


def save_keras(model, filepath, include_optimizer=True):
    config = model_config_with_compile(model)
    config_json = json.dumps(config)
    weights = io.BytesIO()
    write_weights_h5(model, weights, include_optimizer=include_optimizer)
    metadata = json.dumps({"keras_version": KERAS_VERSION,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(_METADATA, metadata)
            z.writestr(_CONFIG, config_json)
            z.writestr(_WEIGHTS, weights.getvalue())
            _write_assets(model, z)

    _atomic_write(filepath, write)


def _open_keras_zip(filepath):
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"File format not supported: '{filepath}' is not a valid .keras file "
                         "(not a zip archive; it may be truncated or a different format).")
    try:
        z = zipfile.ZipFile(filepath, "r")
        names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"'{filepath}' is not a valid .keras file: {e}") from None
    if _CONFIG not in names:
        z.close()
        raise ValueError(f"'{filepath}' is not a valid .keras file: it has no {_CONFIG} "
                         f"(entries: {sorted(names)}).")
    return z


_MAX_CONFIG_BYTES = 256 << 20


def _check_member_size(z, name, limit, filepath):
    """Refuses a member whose declared size exceeds ``limit`` before inflating it (zipfile
    never returns more than the declared size, so this bounds the memory a read takes)."""
    size = z.getinfo(name).file_size
    if size > limit:
        raise ValueError(f"'{filepath}': member {name} inflates to {size} bytes, more than this "
                         f"model can need ({limit} bytes); refusing to read it.")


def load_keras(filepath, custom_objects=None, compile=True, safe_mode=True):
    remove_stale_temp_files(os.path.dirname(os.path.abspath(filepath)) or ".")
    with _open_keras_zip(filepath) as z:
        _check_member_size(z, _CONFIG, _MAX_CONFIG_BYTES, filepath)
        try:
            config = json.loads(z.read(_CONFIG))
        except (zipfile.BadZipFile, ValueError, OSError) as e:
            raise ValueError(f"'{filepath}' is not a valid .keras file: cannot read its "
                             f"config ({e}).") from None
        compile_config = config.pop("compile_config", None)
        with safe_mode_scope(safe_mode):
            model = deserialize_keras_object(config, custom_objects)
        if hasattr(model, "_load_keras_archive"):  # a saved non-model object (FeatureSpace)
            return model._load_keras_archive(z)
        if compile and compile_config:
            compile_from_config(model, compile_config, custom_objects)
        names = set(z.namelist())
        # Members inflate to at most what the weights (and an optimizer's slots) can need.
        weight_bytes = sum(int(np.prod(v.shape)) * 8 for v in model.weights)
        limit = 4 * weight_bytes + (64 << 20)
        if model.weights and _WEIGHTS not in names and "model.weights.npz" not in names:
            raise ValueError(f"'{filepath}' is not a complete .keras file: the model has "
                             f"{len(model.weights)} weights but the archive has no "
                             f"{_WEIGHTS} (entries: {sorted(names)}).")
        if _WEIGHTS in names:
            _check_member_size(z, _WEIGHTS, limit, filepath)
            try:
                data = z.read(_WEIGHTS)
            except (zipfile.BadZipFile, OSError) as e:
                raise ValueError(f"'{filepath}' is not a valid .keras file: cannot read its "
                                 f"weights ({e}).") from None
            read_weights_h5(model, io.BytesIO(data), load_optimizer=compile)
        elif "model.weights.npz" in names:
            _check_member_size(z, "model.weights.npz", limit, filepath)
            with np.load(io.BytesIO(z.read("model.weights.npz"))) as npz:
                _read_npz(model, npz)
        _read_assets(model, z)
    return model


def _read_npz(model, npz):
    for path, variables, owner in variable_groups(model):
        for i, v in enumerate(variables):
            key = f"{path}/{i}"
            if key in npz:
                v.assign(npz[key])


def compile_from_config(model, compile_config, custom_objects=None):
    """Recompiles ``model`` from a Keras ``compile_config`` (or tf.keras training_config)."""
    cc = dict(compile_config)
    opt = cc.get("optimizer", cc.get("optimizer_config"))
    if isinstance(opt, dict):
        opt = optimizers.get(_strip_optimizer_config(opt))
    loss = deserialize_keras_object(cc.get("loss"), custom_objects)
    outputs = getattr(model, "output_names", None) or []
    metrics = deserialize_keras_object(_legacy_metrics(cc.get("metrics"), outputs),
                                       custom_objects)
    weighted = deserialize_keras_object(_legacy_metrics(cc.get("weighted_metrics"), outputs),
                                        custom_objects)
    model.compile(optimizer=opt if opt is not None else "rmsprop", loss=loss,
                  loss_weights=cc.get("loss_weights"), metrics=metrics,
                  weighted_metrics=weighted)


def _strip_optimizer_config(opt):
    """An optimizer entry nnfast's optimizer classes accept (Keras-only keys dropped)."""
    name = opt.get("class_name", "")
    if name.startswith("Custom>"):  # tf.keras 2.11+ wrote built-in optimizers this way
        name = name[len("Custom>"):]
    cls = getattr(optimizers, name, None)
    if cls is None:
        cls = {"adam": optimizers.Adam, "sgd": optimizers.SGD}.get(name.lower())
    config = dict(opt.get("config") or {})
    if cls is not None:
        accepted = _accepted_kwargs(cls)
        if accepted is not None:
            # tf.keras 2 optimizer_v2 configs carry `decay`, `is_legacy_optimizer`, `jit_compile`.
            config = {k: v for k, v in config.items() if k in accepted or k in ("lr",)}
    return {"class_name": cls.__name__ if cls is not None else name, "config": config}


def _legacy_metrics(spec, outputs=()):
    """tf.keras 2 stored compiled metrics as ``MeanMetricWrapper`` configs with the name
    the program asked for (``"acc"``, ``"mae"``; ``"<output>_acc"`` on a model with several
    outputs) and the function; nnfast recompiles with that name when it is a metric name
    (so the logs keep the program's keys, as in tf.keras), else with the function's name."""
    if isinstance(spec, list):
        return [_legacy_metrics(v, outputs) for v in spec]
    if isinstance(spec, dict) and spec.get("class_name") == "MeanMetricWrapper":
        config = spec.get("config") or {}
        name = config.get("name")
        if isinstance(name, str):
            for output in sorted(outputs, key=len, reverse=True):
                if name.startswith(f"{output}_"):
                    name = name[len(output) + 1:]
                    break
            if name in ("acc", "accuracy", "ce", "crossentropy"):
                return name  # compile picks the variant from the loss, as tf.keras did
            try:
                metrics_module.get(name)
                return name
            except (ValueError, TypeError):
                pass
        fn = config.get("fn")
        if isinstance(fn, str):
            return fn
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _legacy_metrics(v, outputs) for k, v in spec.items()}
    return spec
