"""boston_housing / california_housing loaders: Keras's split rule on a stand-in file found
through $NNFAST_DATASETS (the real files are not available offline here)."""
import numpy as np
import pytest

from nnfast.datasets import boston_housing, california_housing


@pytest.fixture
def shared(tmp_path, monkeypatch):
    monkeypatch.setenv("NNFAST_DATASETS", str(tmp_path))
    # Stand-in files cannot have Keras's sha256: skip that check (tested in test_file_safety).
    monkeypatch.setattr("nnfast.datasets._files._check_local", lambda path, fname, h: path)
    return tmp_path


def _reference(x, y, test_split, seed):
    idx = np.arange(len(x))
    np.random.RandomState(seed).shuffle(idx)
    cut = int(len(x) * (1 - test_split))
    return (x[idx][:cut], y[idx][:cut]), (x[idx][cut:], y[idx][cut:])


def test_boston_housing_split(shared):
    x = np.arange(506 * 13, dtype=np.float64).reshape(506, 13)
    y = np.arange(506, dtype=np.float64)
    np.savez(shared / "boston_housing.npz", x=x, y=y)
    (xtr, ytr), (xte, yte) = boston_housing.load_data()
    assert xtr.shape == (404, 13) and xte.shape == (102, 13)
    (rxtr, rytr), (rxte, ryte) = _reference(x, y, 0.2, 113)
    np.testing.assert_array_equal(xtr, rxtr)
    np.testing.assert_array_equal(yte, ryte)
    (xtr, _), _ = boston_housing.load_data(test_split=0.5, seed=1)
    np.testing.assert_array_equal(xtr, _reference(x, y, 0.5, 1)[0][0])
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0)


def test_california_housing_versions(shared):
    x = np.random.default_rng(0).normal(size=(1000, 8))
    y = np.arange(1000, dtype=np.float32)
    np.savez(shared / "california_housing.npz", x=x, y=y)
    (xtr, ytr), (xte, yte) = california_housing.load_data(version="small")
    assert len(xtr) == 480 and len(xte) == 120
    np.testing.assert_array_equal(ytr, _reference(x[:600], y[:600], 0.2, 113)[0][1])
    (xtr, _), _ = california_housing.load_data()
    assert len(xtr) == 800
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")
