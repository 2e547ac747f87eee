"""Shared loader of Keras's regression datasets stored as one npz with ``x`` and ``y``."""
import numpy as np

from nnfast.datasets._files import get_file

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_split(path, file_hash, test_split, seed, keep=None):
    """``(x_train, y_train), (x_test, y_test)``: the file's rows (the first ``keep`` of
    them when given) permuted by ``RandomState(seed)``, the last ``test_split`` fraction
    for testing — Keras's rule."""
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 "
                         "and 1 (exclusive of 1).")
    local = get_file(path, ORIGIN + path, file_hash)
    with np.load(local, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if keep is not None:
        x, y = x[:keep], y[:keep]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
