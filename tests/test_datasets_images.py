"""fashion_mnist, cifar10 and cifar100 loaders on small files the test writes in the exact
formats of the originals (gzip'd IDX files; tar.gz archives of Python-2-style pickles with
byte-string keys), found through $NNFAST_DATASETS or the cache."""
import gzip
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from nnfast.datasets import cifar10, cifar100, fashion_mnist


def _idx_images(x):
    return struct.pack(">IIII", 0x00000803, len(x), 28, 28) + x.tobytes()


def _idx_labels(y):
    return struct.pack(">II", 0x00000801, len(y)) + y.tobytes()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty $NNFAST_DATASETS and cache folders, and no network."""
    shared = tmp_path / "shared"
    home = tmp_path / "home"
    shared.mkdir()
    monkeypatch.setenv("NNFAST_DATASETS", str(shared))
    monkeypatch.setenv("NNFAST_HOME", str(home))

    def offline(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    # These synthetic files cannot have Keras's sha256: skip that check here (it has its own
    # tests in test_file_safety.py); everything after it is what these tests are about.
    monkeypatch.setattr("nnfast.datasets._files._check_local", lambda path, fname, h: path)
    return shared, home / "datasets"


def test_fashion_mnist_idx_files(isolated):
    shared, _ = isolated
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, 7, dtype=np.uint8)
    x_test = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, 3, dtype=np.uint8)
    folder = shared / "fashion-mnist"
    folder.mkdir()
    for name, data in [("train-labels-idx1-ubyte.gz", _idx_labels(y_train)),
                       ("train-images-idx3-ubyte.gz", _idx_images(x_train)),
                       ("t10k-labels-idx1-ubyte.gz", _idx_labels(y_test)),
                       ("t10k-images-idx3-ubyte.gz", _idx_images(x_test))]:
        with gzip.open(folder / name, "wb") as f:
            f.write(data)
    (a, b), (c, d) = fashion_mnist.load_data()
    for got, want in [(a, x_train), (b, y_train), (c, x_test), (d, y_test)]:
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert len(fashion_mnist.CLASS_NAMES) == 10


def test_fashion_mnist_missing_file_names_it(isolated):
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz"):
        fashion_mnist.load_data()


def _py2_pickle(d):
    """A protocol-2 pickle with byte-string keys, as the CIFAR files (written by Python 2)."""
    return pickle.dumps({k.encode(): v for k, v in d.items()}, protocol=2)


def _tar_gz(path, folder, files):
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(folder)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        for name, payload in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def _cifar10_files(rng, per_batch=4, test=3):
    files, xs, ys = {}, [], []
    for i in range(1, 6):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch).tolist()
        files[f"data_batch_{i}"] = _py2_pickle({"batch_label": b"training batch", "data": data,
                                                "labels": labels, "filenames": []})
        xs.append(data)
        ys += labels
    tdata = rng.integers(0, 256, (test, 3072), dtype=np.uint8)
    tlabels = rng.integers(0, 10, test).tolist()
    files["test_batch"] = _py2_pickle({"data": tdata, "labels": tlabels})
    files["batches.meta"] = _py2_pickle({"label_names": [b"airplane"]})
    return files, np.concatenate(xs), np.array(ys), tdata, np.array(tlabels)


def _as_images(flat):
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def test_cifar10_from_archive_extracts_into_cache(isolated):
    shared, cache = isolated
    files, x, y, tx, ty = _cifar10_files(np.random.default_rng(1))
    _tar_gz(shared / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (20, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (20, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1) and y_test.dtype == np.uint8
    np.testing.assert_array_equal(x_train, _as_images(x))
    np.testing.assert_array_equal(y_train[:, 0], y)
    np.testing.assert_array_equal(x_test, _as_images(tx))
    np.testing.assert_array_equal(y_test[:, 0], ty)
    # The archive was extracted into the cache (the shared folder is read-only by contract).
    assert (cache / "cifar-10-batches-py" / "test_batch").exists()
    assert not (shared / "cifar-10-batches-py").exists()
    os.remove(shared / "cifar-10-python.tar.gz")
    (again, _), _ = cifar10.load_data()  # now from the extracted cache folder
    np.testing.assert_array_equal(again, x_train)


def test_cifar10_extracted_folder_and_missing(isolated):
    shared, _ = isolated
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        cifar10.load_data()
    files, x, *_ = _cifar10_files(np.random.default_rng(2), per_batch=2)
    folder = shared / "cifar-10-batches-py"
    folder.mkdir()
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    (x_train, _), _ = cifar10.load_data()
    np.testing.assert_array_equal(x_train, _as_images(x))


def test_cifar_pickle_with_foreign_globals_is_refused(isolated):
    shared, _ = isolated
    files, *_ = _cifar10_files(np.random.default_rng(3), per_batch=1)

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    files["test_batch"] = pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=2)
    folder = shared / "cifar-10-batches-py"
    folder.mkdir()
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar10.load_data()


def test_cifar100_fine_and_coarse(isolated):
    shared, _ = isolated
    rng = np.random.default_rng(4)
    parts = {}
    for split, n in [("train", 6), ("test", 2)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        fine = rng.integers(0, 100, n).tolist()
        coarse = rng.integers(0, 20, n).tolist()
        parts[split] = (data, fine, coarse)
    files = {split: _py2_pickle({"filenames": [], "batch_label": b"x", "fine_labels": f,
                                 "coarse_labels": c, "data": d})
             for split, (d, f, c) in parts.items()}
    files["meta"] = _py2_pickle({"fine_label_names": [], "coarse_label_names": []})
    _tar_gz(shared / "cifar-100-python.tar.gz", "cifar-100-python", files)
    (x, y), (tx, ty) = cifar100.load_data()
    assert x.shape == (6, 32, 32, 3) and y.shape == (6, 1) and ty.shape == (2, 1)
    np.testing.assert_array_equal(x, _as_images(parts["train"][0]))
    np.testing.assert_array_equal(y[:, 0], parts["train"][1])
    (_, yc), (_, tyc) = cifar100.load_data(label_mode="coarse")
    np.testing.assert_array_equal(yc[:, 0], parts["train"][2])
    np.testing.assert_array_equal(tyc[:, 0], parts["test"][2])
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_archive_with_escaping_member_is_refused(isolated):
    shared, _ = isolated
    with tarfile.open(shared / "cifar-100-python.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="outside"):
        cifar100.load_data()
