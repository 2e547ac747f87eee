"""keras.saving.KerasFileEditor against Keras 3.15's editor (fixtures written by
tests/fixtures/file_editor/make_file_editor.py)."""
import json
import os

import h5py
import nnfast
import numpy as np
import pytest
from nnfast.saving import KerasFileEditor

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "file_editor")
SOURCE = os.path.join(HERE, "source.keras")


def _record():
    with open(os.path.join(HERE, "file_editor.json")) as f:
        return json.load(f)


def _tree(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_tree(v, f"{prefix}{k}/"))
        else:
            out[prefix + k] = [list(v.shape), str(v.dtype)]
    return out


def _target_model():
    return nnfast.Sequential([nnfast.Input((4,)), nnfast.layers.Dense(3, activation="relu"),
                              nnfast.layers.Dense(6, activation="tanh"), nnfast.layers.Dense(2)])


def _edit_as_the_fixture(editor, arrays):
    editor.rename_object("layers/dense_1", "dense_2")
    editor.add_object("layers/dense_1", {"0": arrays["new_kernel"], "1": arrays["new_bias"]})
    editor.delete_weight("layers/dense_2", "0")
    editor.add_weights("layers/dense_2", {"0": arrays["out_kernel"]})
    editor.delete_object("optimizer")


def test_reads_a_keras_file_as_keras(capsys):
    record = _record()
    editor = KerasFileEditor(SOURCE)
    assert _tree(editor.weights_dict) == record["tree"]
    assert sorted(editor.object_metadata) == record["metadata_paths"]
    assert {k: str(v["name"]) for k, v in editor.object_metadata.items()} == \
        record["metadata_names"]
    assert editor.metadata["keras_version"].startswith("3.")
    assert editor.config["class_name"] == "Sequential"
    editor.summary()
    out = capsys.readouterr().out
    assert "Weights structure" in out and "dense_1 ('dense_1')" in out
    assert "shape=(4, 3), dtype=float32" in out


def test_edits_compare_save_and_load_as_keras(tmp_path, capsys):
    record = _record()
    arrays = np.load(os.path.join(HERE, "edits.npz"))
    editor = KerasFileEditor(SOURCE)
    before = editor.compare(_target_model())
    # Keras 3.15 reports the same status and errors; its match_count adds nested counts
    # twice (14 for these 6 weights), nnfast counts each matching weight once.
    assert before["status"] == record["compare_before"]["status"] == "error"
    assert before["error_count"] == record["compare_before"]["error_count"]
    assert before["match_count"] == 2
    assert "Weight shape mismatch for /layers/dense_1/0" in capsys.readouterr().out
    _edit_as_the_fixture(editor, arrays)
    assert _tree(editor.weights_dict) == record["tree_after"]
    after = editor.compare(_target_model())
    assert after == {"status": "success", "error_count": 0, "match_count": 6}
    assert record["compare_after"]["status"] == "success"
    path = str(tmp_path / "edited.weights.h5")
    editor.save(path)
    datasets = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: datasets.__setitem__(name, list(obj.shape))
                     if isinstance(obj, h5py.Dataset) else None)
    assert datasets == record["saved_datasets"]
    model = _target_model()
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["y_target"],
                               rtol=1e-5, atol=1e-6)
    again = KerasFileEditor(path)  # a .weights.h5 file opens too
    assert _tree(again.weights_dict) == record["tree_after"] and again.config is None


def test_bare_names_and_errors(tmp_path):
    editor = KerasFileEditor(SOURCE)
    editor.rename_object("dense_1", "head")  # a bare name found once anywhere in the tree
    assert set(editor.weights_dict["layers"]) == {"dense", "head"}
    editor.weights_dict["optimizer"]["head"] = {"0": np.zeros(1)}
    with pytest.raises(ValueError, match="occurs more than once"):
        editor.delete_object("head")
    with pytest.raises(ValueError, match="does not appear"):
        editor.delete_object("nothing")
    with pytest.raises(ValueError, match="Path 'layers/nothing' not found"):
        editor.delete_object("layers/nothing")
    with pytest.raises(ValueError, match="leaf name"):
        editor.rename_object("layers/head", "a/b")
    with pytest.raises(ValueError, match="Weight 7 not found"):
        editor.delete_weight("layers/head", "7")
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_weights("layers/head", [np.zeros(2)])
    with pytest.raises(ValueError, match="not found in model"):
        editor.add_object("missing/dense", {"0": np.zeros(2)})
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        editor.save(str(tmp_path / "out.keras"))
    with pytest.raises(ValueError, match="expected a `.keras` `.weights.h5`"):
        KerasFileEditor(str(tmp_path / "model.h5"))


def test_nnfast_written_files_open(tmp_path, capsys):
    model = _target_model()
    model.compile("adam", "mse")
    model.fit(np.ones((4, 4)), np.ones((4, 2)), epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    editor = KerasFileEditor(path)
    assert editor.compare(model)["status"] == "success"
    np.testing.assert_array_equal(editor.weights_dict["layers"]["dense_1"]["0"],
                                  model.layers[1].kernel.numpy())
