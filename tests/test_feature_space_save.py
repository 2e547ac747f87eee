"""FeatureSpace.save writes Keras 3.15's .keras layout and load_model restores it: a file
written by Keras loads with Keras's encoding (fixtures/feature_space_save/), nnfast's own
file round-trips and has Keras's config and weight groups (Keras loading nnfast's file is
checked by `make_feature_space_file.py <file>` with the Keras venv)."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import nnfast as keras

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "feature_space_save")
KERAS_FILE = os.path.join(HERE, "keras_feature_space.keras")
EXPECTED = np.load(os.path.join(HERE, "expected.npz"))
FS = keras.utils.FeatureSpace


def data():
    return {"age": np.array([23.0, 41.0, 35.0, 60.0, 18.0, 52.0], "float32"),
            "score": np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2], "float32"),
            "city": np.array(["paris", "rome", "paris", "oslo", "rome", "lima"]),
            "code": np.array([3, 7, 3, 9, 7, 1], "int64"),
            "tag": np.array(["a", "b", "c", "a", "b", "c"])}


def rows():
    return {k: v[:4] for k, v in data().items()}


def build():
    return FS(features={"age": FS.float_normalized(), "score": FS.float(),
                        "city": FS.string_categorical(num_oov_indices=1),
                        "code": FS.integer_categorical(num_oov_indices=1),
                        "tag": FS.string_hashed(num_bins=5)},
              crosses=[FS.cross(("city", "code"), crossing_dim=8)], output_mode="concat")


def _h5_groups(path):
    import h5py

    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            groups = []
            f.visit(groups.append)
        config = json.loads(z.read("config.json"))
    return names, sorted(groups), config


def test_keras_file_loads_with_keras_encoding():
    space = keras.saving.load_model(KERAS_FILE)
    assert isinstance(space, FS)
    np.testing.assert_allclose(np.asarray(space(rows())), EXPECTED["encoded"], rtol=1e-6)


def test_nnfast_file_round_trips_with_keras_layout(tmp_path):
    space = build()
    space.adapt({k: v for k, v in data().items()})
    # (adapt's float32 statistics may differ from Keras's in the last bit)
    np.testing.assert_allclose(np.asarray(space(rows())), EXPECTED["encoded"], rtol=1e-5,
                               atol=1e-6)
    path = str(tmp_path / "fs.keras")
    space.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(again(rows())), np.asarray(space(rows())))
    mine, theirs = _h5_groups(path), _h5_groups(KERAS_FILE)
    assert mine[0] == theirs[0]  # archive members (assets included)
    assert mine[1] == theirs[1]  # weight groups and datasets
    assert mine[2]["build_config"] == theirs[2]["build_config"]
    keys = lambda c: {n: (f["class_name"], f["config"]["preprocessor"]["class_name"],  # noqa
                          f["config"]["output_mode"]) for n, f in c["config"]["features"].items()}
    assert keys(mine[2]) == keys(theirs[2])
    assert mine[2]["config"]["crosses"] == theirs[2]["config"]["crosses"]


def test_save_needs_keras_extension_and_adapted_space(tmp_path):
    space = build()
    with pytest.raises(ValueError, match="adapt"):
        space.save(str(tmp_path / "fs.keras"))
    space.adapt(data())
    with pytest.raises(ValueError, match=".keras"):
        space.save(str(tmp_path / "fs.h5"))
