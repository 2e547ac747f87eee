import os

import numpy as np
import pytest

import nnfast
from conftest import datasets_available


@pytest.mark.skipif(not datasets_available("mnist.npz"), reason="mnist.npz not in NNFAST_DATASETS")
def test_mnist_matches_keras_return_values():
    (x, y), (xt, yt) = nnfast.datasets.mnist.load_data()
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert x.mean() == pytest.approx(33.3184, abs=1e-3)
    assert np.bincount(y).sum() == 60000 and set(np.unique(yt)) == set(range(10))


def test_lookup_order_and_offline_error(tmp_path, monkeypatch):
    from nnfast.datasets import _files

    shared, home = tmp_path / "shared", tmp_path / "home"
    shared.mkdir()
    (shared / "a.bin").write_bytes(b"shared")
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "a.bin").write_bytes(b"cache")
    (home / "datasets" / "b.bin").write_bytes(b"cache")
    monkeypatch.setenv("NNFAST_DATASETS", str(shared))
    monkeypatch.setenv("NNFAST_HOME", str(home))
    assert _files.get_file("a.bin", "http://127.0.0.1:9/a") == str(shared / "a.bin")
    assert _files.get_file("b.bin", "http://127.0.0.1:9/b") == str(home / "datasets" / "b.bin")
    with pytest.raises(FileNotFoundError, match=r"'c\.bin'.*NNFAST_DATASETS"):
        _files.get_file("c.bin", "http://127.0.0.1:9/c")
    assert not any(p.name.startswith("c.bin") for p in (home / "datasets").iterdir())


def test_embedded_digits_ships_with_the_package():
    (x, y), (xt, yt) = nnfast.datasets.digits.load_data()
    assert len(x) + len(xt) == 1797 and x.shape[1:] == (8, 8)
    assert x.max() == 16 and set(np.unique(y)) == set(range(10))
    assert os.path.exists(os.path.join(os.path.dirname(nnfast.datasets.digits.__file__), "data", "digits.npz"))
