"""Turning fit/evaluate/predict arguments into batches (NumPy arrays for now)."""
import math

import numpy as np

from nnfast.backend.tensor import Tensor


def to_array(x, name):
    """A NumPy array from an array-like; float64 becomes float32 (Keras's floatx)."""
    if x is None:
        return None
    if isinstance(x, Tensor):
        x = x.value
    if isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape") and np.ndim(x[0]) > 0 \
            and len({np.shape(v)[0] for v in x}) == 1 and len(x) > 1 and name == "x":
        raise ValueError("Models with several inputs arrive with the functional API; "
                         "this model takes a single input array.")
    a = np.asarray(x)
    if a.dtype == object:
        raise TypeError(f"`{name}` must be a numeric array, received an array of Python objects "
                        f"with shape {a.shape} (ragged lists? pad them first).")
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"`{name}` must be numeric, received dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"`{name}` must have a batch axis, received a scalar")
    return a


def check_lengths(**arrays):
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} sizes: {n}" for k, n in lengths.items())
        raise ValueError(f"Data cardinality is ambiguous. Make sure all arrays contain the same "
                         f"number of samples. Received: {desc}")
    n = next(iter(lengths.values()), 0)
    if n == 0 and lengths:
        raise ValueError("Expected at least one sample, received empty arrays.")
    return n


def check_finite(y, name="y"):
    if y is not None and y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")


def train_validation_split(arrays, validation_split):
    """Keras's rule: the last ``validation_split`` fraction, taken before shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), received {validation_split}")
    n = len(next(a for a in arrays if a is not None))
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split "
                         f"it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`.")
    train = tuple(None if a is None else a[:split_at] for a in arrays)
    val = tuple(None if a is None else a[split_at:] for a in arrays)
    return train, val


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from ``{class: weight}`` (argmax of one-hot, or the label)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    else:
        labels = np.round(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    weights = np.ones(len(y), dtype=np.float32)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = w
    return weights


def batch_slices(n, batch_size, shuffle, rng):
    """Index arrays (or slices) of consecutive batches; the short last batch is kept."""
    if shuffle == "batch":
        starts = np.arange(0, n, batch_size)
        order = rng.permutation(len(starts))
        for s in starts[order]:
            idx = np.arange(s, min(s + batch_size, n))
            yield rng.permutation(idx)
        return
    if shuffle:
        perm = rng.permutation(n)
        for s in range(0, n, batch_size):
            yield perm[s:s + batch_size]
    else:
        for s in range(0, n, batch_size):
            yield slice(s, min(s + batch_size, n))


def take(a, idx):
    if a is None:
        return None
    if isinstance(idx, slice):
        return a[idx]
    return np.take(a, idx, axis=0)
