"""Issue 14's file cases: a tampered dataset file is refused before it is unpickled."""
import os
import shutil

import numpy as np
import pytest

from nnfast.datasets import _files, imdb, mnist

SHARED = os.environ.get("NNFAST_DATASETS")


def test_a_tampered_dataset_file_is_refused_before_loading(tmp_path, monkeypatch):
    if not SHARED or not os.path.exists(os.path.join(SHARED, "mnist.npz")):
        pytest.skip("needs NNFAST_DATASETS with mnist.npz")
    folder = tmp_path / "datasets"
    folder.mkdir()
    shutil.copy(os.path.join(SHARED, "mnist.npz"), folder / "mnist.npz")
    monkeypatch.setenv("NNFAST_DATASETS", str(folder))
    (x, _), _ = mnist.load_data()  # the original passes
    assert x.shape == (60000, 28, 28)
    with open(folder / "mnist.npz", "r+b") as f:  # one byte changed, same size
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(ValueError, match="does not match the known sha256"):
        mnist.load_data()


def test_a_hostile_pickle_in_place_of_imdb_never_runs(tmp_path, monkeypatch):
    folder = tmp_path / "datasets"
    folder.mkdir()
    marker = tmp_path / "ran"
    # An object array whose pickle would run code when np.load(allow_pickle=True) reads it.
    evil = np.array([_Evil(str(marker))], dtype=object)
    np.savez(folder / "imdb.npz", x_train=evil, y_train=evil, x_test=evil, y_test=evil)
    monkeypatch.setenv("NNFAST_DATASETS", str(folder))
    monkeypatch.setenv("NNFAST_HOME", str(tmp_path / "home"))
    with pytest.raises(ValueError, match="sha256"):
        imdb.load_data()
    assert not marker.exists()


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_verified_hashes_are_cached_per_file_version(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    digest = _files._sha256(str(path))
    assert _files._check_local(str(path), "f.bin", digest) == str(path)
    path.write_bytes(b"abd")
    os.utime(path, ns=(1, 1))
    with pytest.raises(ValueError, match="known sha256"):
        _files._check_local(str(path), "f.bin", digest)


# --- model files ------------------------------------------------------------------------------

import zipfile  # noqa: E402

import h5py  # noqa: E402

import nnfast as keras  # noqa: E402
from nnfast.saving import saving_lib  # noqa: E402


def _model():
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, name="dense")(inp))
    return model


def _weights_file(tmp_path, model):
    path = tmp_path / "m.weights.h5"
    model.save_weights(str(path))
    return path


def _kernel_path(path):
    with h5py.File(path, "r") as f:
        found = []
        f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset)
                     and obj.shape == (3, 2) else None)
    return found[0]


@pytest.mark.parametrize("hostile", ["external_link", "soft_link", "external_storage",
                                     "virtual", "huge"])
def test_hostile_weight_files_are_refused(tmp_path, hostile):
    model = _model()
    path = _weights_file(tmp_path, model)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(6, dtype="f4").tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.full((3, 2), 7.0, "f4")
    kernel = _kernel_path(path)
    with h5py.File(path, "r+") as f:
        del f[kernel]
        if hostile == "external_link":
            f[kernel] = h5py.ExternalLink(str(other), "/data")
        elif hostile == "soft_link":
            f["elsewhere"] = np.zeros((3, 2), "f4")
            f[kernel] = h5py.SoftLink("/elsewhere")
        elif hostile == "external_storage":
            f.create_dataset(kernel, shape=(3, 2), dtype="f4", external=[(str(secret), 0, 24)])
        elif hostile == "virtual":
            layout = h5py.VirtualLayout(shape=(3, 2), dtype="f4")
            layout[:] = h5py.VirtualSource(str(other), "data", shape=(3, 2))
            f.create_virtual_dataset(kernel, layout)
        else:  # a tiny file declaring 10^12 values
            f.create_dataset(kernel, shape=(10**6, 10**6), dtype="f4", chunks=(1, 1000))
    before = model.get_weights()
    match = {"huge": "declares shape|do not match"}.get(hostile, "Refusing to read")
    with pytest.raises(ValueError, match=match):
        model.load_weights(str(path))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_keras_zip_bomb_and_a_missing_weights_member_are_refused(tmp_path):
    model = _model()
    path = tmp_path / "m.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as z:
        config = z.read("config.json")
        metadata = z.read("metadata.json")
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", config)
        z.writestr("metadata.json", metadata)
        with z.open("model.weights.h5", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(100):  # 100 MiB of zeros: a few hundred KiB compressed
                member.write(block)
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(ValueError, match="inflates to"):
        keras.models.load_model(str(bomb))
    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("config.json", config)
        z.writestr("metadata.json", metadata)
    with pytest.raises(ValueError, match="has no model.weights.h5"):
        keras.models.load_model(str(empty))


def test_killed_saves_leave_no_temp_files_and_saves_follow_the_umask(tmp_path):
    import subprocess
    import sys

    # A temp file of a save whose process is gone (a finished child's pid), and one of ours.
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    stale = tmp_path / f".nnfast-{child.stdout.strip()}-abc.tmp"
    stale.write_bytes(bytes(1000))
    unrelated = tmp_path / ".nnfast-notes.tmp"
    unrelated.write_text("not ours")
    model = _model()
    old = os.umask(0o022)
    try:
        model.save(str(tmp_path / "m.keras"))
    finally:
        os.umask(old)
    assert not stale.exists()
    assert unrelated.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".nnfast-notes.tmp", "m.keras"]
    assert (tmp_path / "m.keras").stat().st_mode & 0o777 == 0o644
    assert saving_lib._temp_owner(f".nnfast-{os.getpid()}-x.tmp") == os.getpid()
