"""keras.utils additions: get_file (cache, hash, extraction, progress), the dataset helpers
against Keras 3.15 (tests/fixtures/modules/make_utils.py), pack/unpack, Config."""
import hashlib
import json
import os
import tarfile

import numpy as np
import pytest

import nnfast as keras
from nnfast import utils

FIX = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "modules",
                                  "utils.json")))


def test_timeseries_dataset_matches_keras():
    data = np.arange(30).reshape(15, 2)
    targets = np.arange(15) * 10
    cases = {"plain": dict(sequence_length=4, batch_size=3),
             "strided": dict(sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=2,
                             start_index=1, end_index=13),
             "nobatch": dict(sequence_length=5, batch_size=None)}
    for name, kw in cases.items():
        ds = utils.timeseries_dataset_from_array(data, targets, **kw)
        got = [[np.asarray(x).tolist(), np.asarray(y).tolist()] for x, y in ds]
        assert got == FIX[f"ts/{name}"], name
    with pytest.raises(ValueError, match="sampling_rate"):
        utils.timeseries_dataset_from_array(data, None, 3, sampling_rate=0)
    shuffled = utils.timeseries_dataset_from_array(data, targets, 4, batch_size=None,
                                                   shuffle=True, seed=1)
    assert sorted(int(y) for _, y in shuffled) == list(targets[:12])


def _text_tree(root):
    for c, n in (("neg", 4), ("pos", 3), ("zzz", 2)):
        os.makedirs(os.path.join(root, c))
        for i in range(n):
            with open(os.path.join(root, c, f"f{i}.txt"), "w") as f:
                f.write(f"{c} text number {i} " + "x" * i)


def _pairs(batches):
    return sorted((t, json.dumps(lab)) for texts, labels in batches
                  for t, lab in zip(texts, labels))


def test_text_dataset_from_directory_matches_keras(tmp_path):
    _text_tree(str(tmp_path))
    ds = utils.text_dataset_from_directory(str(tmp_path), batch_size=5, shuffle=False,
                                           label_mode="categorical", max_length=8, verbose=False)
    got = [[list(x), np.asarray(y).tolist()] for x, y in ds]
    assert got == FIX["text/cat_noshuffle"]
    assert ds.class_names == FIX["text/cat_noshuffle/class_names"]
    # shuffled: the same files and labels (Keras adds a tf.data buffer shuffle on top)
    ds = utils.text_dataset_from_directory(str(tmp_path), batch_size=4, seed=3, verbose=False)
    assert _pairs([(x, np.asarray(y).tolist()) for x, y in ds]) == _pairs(FIX["text/int"])
    ds = utils.text_dataset_from_directory(str(tmp_path), batch_size=2, seed=7,
                                           validation_split=0.34, subset="validation",
                                           verbose=False)
    assert _pairs([(x, np.asarray(y).tolist()) for x, y in ds]) == _pairs(FIX["text/val"])
    with pytest.raises(ValueError, match="seed"):
        utils.text_dataset_from_directory(str(tmp_path), validation_split=0.2, subset="training")


def test_text_dataset_trains_with_text_vectorization(tmp_path):
    _text_tree(str(tmp_path))
    ds = utils.text_dataset_from_directory(str(tmp_path), batch_size=4, seed=1, verbose=False)
    texts, labels = ds[0]
    assert texts.dtype == object and labels.dtype == np.int32 and len(texts) == 4


def test_split_dataset_matches_keras():
    left, right = utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.7)
    got = [[int(a), int(b)] for a, b in left] + [[int(a), int(b)] for a, b in right]
    assert got == FIX["split"]
    assert len(left) == 7 and len(right) == 3
    xb, yb = left.batch(4)[1]
    np.testing.assert_array_equal(xb, [4, 5, 6])
    left, right = utils.split_dataset(np.arange(10), right_size=2, shuffle=True, seed=0)
    assert sorted(list(left) + list(right)) == list(range(10))
    with pytest.raises(ValueError, match="left_size"):
        utils.split_dataset(np.arange(10))


def test_pack_unpack():
    x, y, w = np.ones(2), np.zeros(2), np.ones(2)
    assert utils.pack_x_y_sample_weight(x) is x
    assert utils.pack_x_y_sample_weight(x, y)[1] is y
    assert len(utils.pack_x_y_sample_weight(x, y, w)) == 3
    assert utils.unpack_x_y_sample_weight((x, y))[2] is None
    assert utils.unpack_x_y_sample_weight(x)[0] is x
    with pytest.raises(ValueError, match="format"):
        utils.unpack_x_y_sample_weight((x, y, w, w))


def _serve(tmp_path, content=b"some bytes to fetch"):
    src = tmp_path / "src" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(content)
    return src, "file://" + str(src)


def test_get_file_caches_checks_hash_and_reuses(tmp_path, capsys):
    src, url = _serve(tmp_path)
    cache = str(tmp_path / "home")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    path = utils.get_file(origin=url, file_hash=sha, cache_dir=cache)
    assert path == os.path.join(cache, "datasets", "data.bin")
    assert open(path, "rb").read() == src.read_bytes()
    assert "Downloading data from" in capsys.readouterr().out
    src.write_bytes(b"changed upstream")  # cached copy with the right hash: no download
    assert utils.get_file(origin=url, file_hash=sha, cache_dir=cache) == path
    assert capsys.readouterr().out == ""
    # a cached file with another hash is fetched again; a wrong hash after download fails
    new_md5 = hashlib.md5(b"changed upstream").hexdigest()
    utils.get_file(origin=url, md5_hash=new_md5, cache_dir=cache)
    assert open(path, "rb").read() == b"changed upstream"
    with pytest.raises(ValueError, match="hash does not match"):
        utils.get_file("other.bin", origin=url, file_hash="0" * 64, cache_dir=cache)


def test_get_file_default_cache_is_keras_home(tmp_path, monkeypatch):
    _, url = _serve(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    path = utils.get_file(origin=url)
    assert path == str(tmp_path / "kh" / "datasets" / "data.bin")


def test_get_file_extracts_archives(tmp_path):
    inner = tmp_path / "payload.txt"
    inner.write_text("hello")
    archive = tmp_path / "arch.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(inner, arcname="folder/payload.txt")
    out = utils.get_file("arch.tar.gz", origin="file://" + str(archive), extract=True,
                         cache_dir=str(tmp_path / "c"))
    assert out == str(tmp_path / "c" / "datasets" / "arch_extracted")
    assert open(os.path.join(out, "folder", "payload.txt")).read() == "hello"
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x")


def test_config_and_small_helpers():
    c = utils.Config(lr=0.1)
    c.momentum = 0.9
    assert c["momentum"] == 0.9 and c.as_dict() == {"lr": 0.1, "momentum": 0.9}
    c.freeze()
    with pytest.raises(ValueError, match="frozen"):
        c.lr = 0.2
    with pytest.raises(AttributeError, match="Did you mean 'lr'"):
        c.lrr  # noqa: B018
    assert utils.standardize_dtype(None) == "float32"
    assert utils.standardize_dtype(np.int32) == "int32"
    assert utils.standardize_dtype("float16") == "float16"
    layer = keras.layers.Dense(2)
    assert type(utils.deserialize_keras_object(utils.serialize_keras_object(layer))) is type(layer)
    assert utils.is_interactive_logging_enabled()
