"""Saving and loading: Keras-written files load with Keras's predictions, nnfast-written files
load in Keras (recorded, and live when a Keras environment exists), round trips are
bit-identical, failed saves leave the old file, bad files raise clear errors."""
import json
import os
import subprocess
import sys
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import nnfast
from nnfast import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
KERAS_DIR = os.path.join(FIXTURES, "keras")
NNFAST_DIR = os.path.join(FIXTURES, "nnfast")
KERAS_PYTHON = os.environ.get("NNFAST_KERAS_PYTHON", "/work/kerasenv/bin/python")

# Layers each Keras fixture needs; fixtures whose layers nnfast lacks are skipped.
NEEDS = {"dense_mlp": [], "multi_io": [], "conv_bn": ["Conv2D", "BatchNormalization"],
         "lstm": ["LSTM"], "embedding": ["Embedding"]}


def _io(name):
    io = np.load(os.path.join(KERAS_DIR if not name.startswith("nn:") else NNFAST_DIR,
                              f"{name.removeprefix('nn:')}_io.npz"))
    xs = [io[k] for k in sorted(k for k in io.files if k.startswith("x"))]
    ys = [io[k] for k in sorted(k for k in io.files if k.startswith("y"))]
    return (xs if len(xs) > 1 else xs[0]), ys


def _require_layers(model_name):
    missing = [l for l in NEEDS[model_name.removeprefix("tfkeras_")] if not hasattr(nnfast.layers, l)]
    if missing:
        pytest.skip(f"nnfast.layers has no {', '.join(missing)} yet")


def _preds(model, x):
    p = model.predict(x, verbose=0)
    return p if isinstance(p, list) else [p]


KERAS_MODEL_FILES = sorted(f for f in os.listdir(KERAS_DIR)
                           if f.endswith((".keras", ".h5")) and "weights" not in f)
KERAS_WEIGHT_FILES = sorted(f for f in os.listdir(KERAS_DIR)
                            if f.endswith(".weights.h5") or f.endswith("_weights.h5"))


@pytest.mark.parametrize("fname", KERAS_MODEL_FILES)
def test_keras_written_model_files_predict_like_keras(fname):
    stem = fname.split(".")[0]
    _require_layers(stem)
    x, ys = _io(stem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nnfast.models.load_model(os.path.join(KERAS_DIR, fname))
    for p, y in zip(_preds(model, x), ys):
        np.testing.assert_allclose(p, y, atol=1e-5, rtol=0)
    # Compile state: Keras trained 2 epochs of batch 4 before saving.
    assert model.compiled and model.optimizer is not None
    n = len(x[0]) if isinstance(x, list) else len(x)
    assert model.optimizer.iterations == 2 * (-(-n // 4))


@pytest.mark.parametrize("fname", KERAS_WEIGHT_FILES)
def test_keras_written_weight_files_load(fname):
    stem = fname.replace(".weights.h5", "").replace("_weights.h5", "")
    _require_layers(stem)
    x, ys = _io(stem)
    arch = stem.removeprefix("tfkeras_") + ".keras"
    model = nnfast.models.load_model(os.path.join(KERAS_DIR, arch), compile=False)
    for w in model.weights:
        w.assign(np.zeros(w.shape, np.float32))
    model.load_weights(os.path.join(KERAS_DIR, fname))
    for p, y in zip(_preds(model, x), ys):
        np.testing.assert_allclose(p, y, atol=1e-5, rtol=0)


def test_keras_optimizer_state_is_restored():
    model = nnfast.models.load_model(os.path.join(KERAS_DIR, "dense_mlp.keras"))
    with zipfile.ZipFile(os.path.join(KERAS_DIR, "dense_mlp.keras")) as z:
        import io

        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            g = f["optimizer/vars"]
            saved = [np.asarray(g[str(i)]) for i in range(len(g))]
    assert type(model.optimizer).__name__ == "Adam"
    current = model.optimizer.variables
    assert len(current) == len(saved) == 2 + 2 * 4
    for a, b in zip(current, saved):
        np.testing.assert_array_equal(np.asarray(a, b.dtype), b)


def test_keras_config_layout_is_keras3():
    with zipfile.ZipFile(os.path.join(KERAS_DIR, "multi_io.keras")) as z:
        keras_cfg = json.loads(z.read("config.json"))
    model = nnfast.models.load_model(os.path.join(KERAS_DIR, "multi_io.keras"))
    ours = json.loads(model.to_json())
    assert ours["class_name"] == keras_cfg["class_name"] == "Functional"
    assert ours["config"]["input_layers"] == keras_cfg["config"]["input_layers"]
    assert ours["config"]["output_layers"] == keras_cfg["config"]["output_layers"]
    assert [l["name"] for l in ours["config"]["layers"]] == \
        [l["name"] for l in keras_cfg["config"]["layers"]]
    for a, b in zip(ours["config"]["layers"], keras_cfg["config"]["layers"]):
        assert a["inbound_nodes"] == b["inbound_nodes"]
        assert set(a) >= {"module", "class_name", "config", "registered_name"}


def test_recorded_keras_check_of_nnfast_files():
    with open(os.path.join(NNFAST_DIR, "keras_check.json")) as fh:
        report = json.load(fh)
    assert report["keras_version"].startswith("3.")
    names = {f for f in os.listdir(NNFAST_DIR) if f.endswith((".keras", ".h5"))}
    assert set(report["results"]) == names
    for fname, entry in report["results"].items():
        assert "error" not in entry, (fname, entry)
        assert entry["max_abs_diff"] <= 1e-5, fname


@pytest.mark.parametrize("name", ["mlp", "multi_io"])
def test_nnfast_fixtures_reload_in_nnfast(name):
    x, ys = _io("nn:" + name)
    for ext in (".keras", ".h5"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = nnfast.models.load_model(os.path.join(NNFAST_DIR, name + ext))
        for p, y in zip(_preds(model, x), ys):
            np.testing.assert_allclose(p, y, atol=1e-6, rtol=0)


@pytest.mark.skipif(not os.path.exists(KERAS_PYTHON), reason="no Keras environment "
                    f"at {KERAS_PYTHON} (set NNFAST_KERAS_PYTHON)")
def test_nnfast_files_load_in_real_keras(tmp_path):
    sys.path.insert(0, FIXTURES)
    try:
        import make_nnfast_fixtures
    finally:
        sys.path.remove(FIXTURES)
    make_nnfast_fixtures.write(str(tmp_path))
    proc = subprocess.run([KERAS_PYTHON, os.path.join(FIXTURES, "verify_in_keras.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=600)
    report = json.loads((tmp_path / "keras_check.json").read_text())
    assert proc.returncode == 0, json.dumps(report, indent=1)
    assert len(report["results"]) == 6


# --- round trips ------------------------------------------------------------------------------

def _functional():
    a = nnfast.Input((5,), name="a")
    b = nnfast.Input((3,), name="b")
    h = layers.Dense(6, activation="relu")(a)
    inner = nnfast.Sequential([nnfast.Input((9,)), layers.Dense(4, activation="tanh")],
                              name="inner")
    x = inner(layers.concatenate([h, b]))
    out1 = layers.Dense(1, name="reg")(x)
    out2 = layers.Dense(3, activation="softmax", name="cls")(x)
    return nnfast.Model([a, b], [out1, out2])


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(n, 5)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")]
    y = [rng.normal(size=(n, 1)).astype("float32"), rng.integers(0, 3, n)]
    return x, y


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_round_trip_bit_identical_with_compile_state(tmp_path, ext):
    nnfast.utils.set_random_seed(1)
    model = _functional()
    model.compile(nnfast.optimizers.Adam(0.01), loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[1.0, 0.3], metrics={"cls": ["accuracy"]})
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    path = str(tmp_path / ("m" + ext))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
        loaded = nnfast.models.load_model(path)
    for p, q in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    assert loaded.optimizer.learning_rate == pytest.approx(0.01)
    for p, q in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(p, q)
    # Training on from the file continues exactly as training on in memory.
    h1 = model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    h2 = loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    assert h1.history == h2.history
    for p, q in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("fname", ["w.weights.h5", "w.h5"])
def test_weights_round_trip(tmp_path, fname):
    model = _functional()
    other = _functional()
    x, _ = _data()
    path = str(tmp_path / fname)
    model.save_weights(path)
    other.load_weights(path)
    for p, q in zip(model.predict(x, verbose=0), other.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)


def test_legacy_weights_by_name_and_mismatch(tmp_path):
    model = nnfast.Sequential([nnfast.Input((4,)), layers.Dense(3, name="d1"),
                               layers.Dense(2, name="d2")])
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    renamed = nnfast.Sequential([nnfast.Input((4,)), layers.Dense(3, name="zz"),
                                 layers.Dense(2, name="d2")])
    renamed.load_weights(path, by_name=True)
    np.testing.assert_array_equal(renamed.layers[1].get_weights()[0], model.layers[1].get_weights()[0])
    assert not np.array_equal(renamed.layers[0].get_weights()[0], model.layers[0].get_weights()[0])
    wider = nnfast.Sequential([nnfast.Input((4,)), layers.Dense(5), layers.Dense(2)])
    with pytest.raises(ValueError, match="Shape mismatch"):
        wider.load_weights(path)
    wider.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(wider.layers[1].get_weights()[1], model.layers[1].get_weights()[1])


def test_save_weights_rejects_other_suffix(tmp_path):
    model = nnfast.Sequential([nnfast.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=".weights.h5"):
        model.save_weights(str(tmp_path / "w.bin"))
    with pytest.raises(ValueError, match="extension"):
        model.save(str(tmp_path / "m.pkl"))


# --- custom objects ------------------------------------------------------------------------

@nnfast.saving.register_keras_serializable(package="Tests")
class ScaleLayer(nnfast.layers.Layer):
    """y = x * scale (one weight per feature)."""

    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],),
                                     initializer=nnfast.initializers.Constant(self.init),
                                     name="scale")

    def call(self, x):
        return nnfast.ops.multiply(x, self.scale)

    def get_config(self):
        return {**super().get_config(), "init": self.init}


class Unregistered(ScaleLayer):
    pass


def _custom_loss(y_true, y_pred):
    return nnfast.ops.mean(nnfast.ops.square(nnfast.ops.subtract(y_true, y_pred)), axis=-1)


def test_registered_custom_layer_round_trip(tmp_path):
    model = nnfast.Sequential([nnfast.Input((3,)), ScaleLayer(2.0), layers.Dense(2)])
    x = np.ones((4, 3), np.float32)
    cfg = json.loads(model.to_json())
    assert cfg["config"]["layers"][1]["registered_name"] == "Tests>ScaleLayer"
    model.save(str(tmp_path / "m.keras"))
    loaded = nnfast.models.load_model(str(tmp_path / "m.keras"))
    assert isinstance(loaded.layers[0], ScaleLayer)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_unregistered_custom_objects(tmp_path):
    model = nnfast.Sequential([nnfast.Input((3,)), Unregistered(3.0)])
    model.compile("sgd", loss=_custom_loss)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(TypeError, match="Unregistered.*custom_objects|custom_objects"):
        nnfast.models.load_model(path)
    loaded = nnfast.models.load_model(path, custom_objects={"Unregistered": Unregistered,
                                                            "_custom_loss": _custom_loss})
    assert loaded.loss is _custom_loss
    with nnfast.utils.custom_object_scope({"Unregistered": Unregistered}):
        again = nnfast.models.load_model(path, compile=False)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))


def test_lambda_needs_safe_mode_off(tmp_path):
    inp = nnfast.Input((3,))
    out = layers.Lambda(lambda t: nnfast.ops.multiply(t, 2.0))(inp)
    model = nnfast.Model(inp, out)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        nnfast.models.load_model(path)
    loaded = nnfast.models.load_model(path, safe_mode=False)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), 2 * x)


# --- failures ------------------------------------------------------------------------------

class _Broken(nnfast.layers.Layer):
    def get_config(self):
        raise RuntimeError("boom in get_config")


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    good = nnfast.Sequential([nnfast.Input((2,)), layers.Dense(1)])
    good.save(str(path))
    before = path.read_bytes()
    bad = nnfast.Sequential([nnfast.Input((2,)), _Broken(), layers.Dense(1)])
    with pytest.raises(RuntimeError, match="boom"):
        bad.save(str(path))
    assert path.read_bytes() == before

    from nnfast.saving import saving_lib

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saving_lib.zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="No space"):
        good.save(str(path))
    assert path.read_bytes() == before
    for ext in ("m.h5", "w.weights.h5"):
        p = tmp_path / ext
        p.write_bytes(b"old")
        monkeypatch.setattr(h5py.File, "create_dataset", disk_full, raising=False)
        monkeypatch.setattr(h5py.Group, "create_dataset", disk_full)
        with pytest.raises(OSError), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (good.save if ext == "m.h5" else good.save_weights)(str(p))
        assert p.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "m.keras", "w.weights.h5"]


def test_truncated_and_foreign_files_raise_clearly(tmp_path):
    model = nnfast.Sequential([nnfast.Input((2,)), layers.Dense(1)])
    path = tmp_path / "m.keras"
    model.save(str(path))
    data = path.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid .keras file"):
        nnfast.models.load_model(str(tmp_path / "cut.keras"))
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(ValueError, match="not a valid .keras file"):
        nnfast.models.load_model(str(tmp_path / "text.keras"))
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(ValueError, match="config.json"):
        nnfast.models.load_model(str(tmp_path / "other.keras"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(tmp_path / "m.h5"))
    h5 = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(h5[:1000])
    with pytest.raises(ValueError, match="HDF5"):
        nnfast.models.load_model(str(tmp_path / "cut.h5"))
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(ValueError, match="No model config"):
        nnfast.models.load_model(str(tmp_path / "foreign.h5"))
    with pytest.raises(ValueError, match="not a Keras weights file"):
        model.load_weights(str(tmp_path / "foreign.h5"))
    with pytest.raises(FileNotFoundError):
        nnfast.models.load_model(str(tmp_path / "missing.keras"))


# --- configs -------------------------------------------------------------------------------

def test_sequential_config_round_trip_and_json():
    model = nnfast.Sequential([nnfast.Input((4,)), layers.Dense(3, activation="relu"),
                               layers.Dropout(0.5), layers.Dense(1)], name="seq")
    config = model.get_config()
    assert config["layers"][0]["class_name"] == "InputLayer"
    assert config["build_input_shape"] == [None, 4]
    clone = nnfast.Sequential.from_config(config)
    assert [type(l).__name__ for l in clone.layers] == ["Dense", "Dropout", "Dense"]
    again = nnfast.models.model_from_json(model.to_json())
    assert again.count_params() == model.count_params()
    assert not all(np.array_equal(a, b) for a, b in zip(again.get_weights(), model.get_weights()))


def test_clone_model_has_fresh_weights_and_same_graph():
    model = _functional()
    clone = nnfast.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.count_params() == model.count_params()
    assert not clone.compiled
    x, _ = _data(4)
    assert [p.shape for p in clone.predict(x, verbose=0)] == [(4, 1), (4, 3)]
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    shared = nnfast.models.clone_model(model, clone_function=lambda layer: layer)
    for p, q in zip(shared.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)
