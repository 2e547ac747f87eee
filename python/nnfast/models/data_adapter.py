"""Turning fit/evaluate/predict arguments into batches of NumPy arrays.

Accepted, as Keras 3 accepts them: NumPy arrays (any strides), lists/dicts of arrays,
``PyDataset``/``Sequence`` objects, Python generators (one pass), and re-iterable batch
sources such as ``torch.utils.data.DataLoader`` and ``tf.data.Dataset`` (iterated afresh each
epoch; their tensors become NumPy arrays). Neither torch nor TensorFlow is imported here.
"""
import math
import warnings

import numpy as np

from nnfast.backend.global_state import floatx
from nnfast.backend.tensor import Tensor
from nnfast.config import max_steps_per_epoch
from nnfast.layers.core import Dense
from nnfast.ops import sparse_dense
from nnfast.ops.sparse_dense import CSRBatch
from nnfast.utils.py_dataset import PyDataset

_ACCEPTED = ("a NumPy array (or array-like), a list/dict of arrays, a PyDataset, a Python "
             "generator, or a batch source such as torch.utils.data.DataLoader or "
             "tf.data.Dataset")


def _foreign_to_numpy(x):
    """A torch/TensorFlow/JAX tensor as a NumPy array (duck-typed: none is imported)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor
        return x.detach().cpu().numpy()
    return x.numpy()


def _is_foreign_tensor(x):
    return (not isinstance(x, (np.ndarray, Tensor)) and hasattr(x, "shape")
            and hasattr(x, "dtype") and (hasattr(x, "numpy") or hasattr(x, "__array__")))


def to_array(x, name):
    """A NumPy array from an array-like; float64 becomes float32 unless floatx is float64."""
    if x is None:
        return None
    if isinstance(x, Tensor):
        x = x.value
    elif type(x) is CSRBatch:
        return x
    elif is_scipy_sparse(x):
        return scipy_to_batch(x, name)
    elif _is_foreign_tensor(x) and hasattr(x, "numpy"):
        x = _foreign_to_numpy(x)
    if isinstance(x, (set, frozenset, str, bytes)):
        raise TypeError(f"`{name}` must be {_ACCEPTED}; received a {type(x).__name__}: {x!r:.80}")
    a = np.asarray(x)
    if a.dtype.kind in "US" and a.ndim > 0:
        return a  # strings, for models that start with TextVectorization/StringLookup
    if a.dtype == object and a.ndim > 0 and a.size and all(
            isinstance(v, (str, bytes)) for v in a.reshape(-1)[:64].tolist()):
        return a
    if a.dtype == object and a.ndim == 0:
        raise TypeError(f"`{name}` must be {_ACCEPTED}; received {type(x).__name__}.")
    if a.dtype == object:
        raise TypeError(f"`{name}` must be a numeric array, received an array of Python objects "
                        f"with shape {a.shape} (ragged lists? pad them first).")
    if a.dtype == np.float64 and floatx() != "float64":
        a = a.astype(np.float32)
    if a.dtype.kind not in "fiub":
        raise TypeError(f"`{name}` must be numeric, received dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"`{name}` must have a batch axis, received a scalar")
    return a


def is_scipy_sparse(x):
    """A SciPy sparse matrix or array (checked by type, so SciPy is never imported here)."""
    return type(x).__module__.startswith("scipy.sparse") and hasattr(x, "tocsr")


def scipy_to_batch(x, name):
    """A 2-D SciPy sparse input (csr/csc/coo...) as one float32 CSRBatch: batches are then
    sliced in CSR form and Dense layers multiply them without densifying (Keras accepts
    SciPy sparse inputs on TensorFlow the same way)."""
    if len(x.shape) != 2:
        raise ValueError(f"`{name}`: a SciPy sparse input must be 2-D, received shape {x.shape}")
    if x.dtype.kind not in "fiub":
        raise TypeError(f"`{name}` must be numeric, received a sparse matrix of dtype {x.dtype}")
    return CSRBatch.from_scipy(x.tocsr().astype(np.float32))


def _feeds_dense_only(model):
    """True when the model's only input goes to plain Dense layers and nowhere else (a
    Sequential that starts with Dense, or a functional model whose input only Dense reads)."""
    from nnfast.models.functional import Functional
    from nnfast.models.sequential import Sequential

    if isinstance(model, Sequential):
        return bool(model._stack) and type(model._stack[0]) is Dense
    plan = getattr(model, "_plan", None) if isinstance(model, Functional) else None
    if plan is not None and len(plan.input_ids) == 1 and \
            plan.input_ids[0] not in plan.output_ids:
        users = plan.readers().get(plan.input_ids[0], [])
        return bool(users) and all(type(plan.steps[j].layer) is Dense and
                                   plan.steps[j].single_input for j in users)
    return False


def sparse_input_for(model, x):
    """``x`` as one CSRBatch when it is a mostly-zero 2-D float32 array (multi-hot rows)
    that ``model`` feeds straight into a Dense layer: the rows are scanned once per
    fit/evaluate/predict instead of once per batch, and batches are sliced in CSR form.
    Anything else comes back unchanged (a dense batch is still checked per call by the
    Dense op)."""
    if type(x) is not np.ndarray or x.ndim != 2 or x.dtype != np.float32 or \
            x.shape[1] < sparse_dense.MIN_COLUMNS or len(x) < 2 or not _feeds_dense_only(model):
        return x
    sample = x[np.linspace(0, len(x) - 1, min(len(x), 64)).astype(np.int64)]
    if np.count_nonzero(sample) > sparse_dense.MAX_DENSITY * sample.size:
        return x
    csr = CSRBatch.from_dense(np.ascontiguousarray(x), sparse_dense.MAX_DENSITY)
    return x if csr is None else csr


def is_array_list(x):
    """A list/tuple of arrays (one per model input or output), not a nested Python list of
    numbers that should become one array."""
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(
        isinstance(v, (np.ndarray, Tensor, CSRBatch)) or _is_foreign_tensor(v) or v is None
        or is_scipy_sparse(v)
        or isinstance(v, (list, tuple, dict)) and is_structure_of_arrays(v) for v in x)


def is_structure_of_arrays(x):
    if isinstance(x, dict):
        return True
    return is_array_list(x)


def to_arrays(x, name):
    """``to_array`` on each leaf of an array, a list/tuple of arrays or a dict of arrays."""
    if isinstance(x, dict):
        return {k: to_arrays(v, f"{name}['{k}']") for k, v in x.items()}
    if is_array_list(x):
        return [to_arrays(v, f"{name}[{i}]") for i, v in enumerate(x)]
    return to_array(x, name)


def leaves(x):
    if x is None:
        return []
    if isinstance(x, dict):
        return [a for v in x.values() for a in leaves(v)]
    if isinstance(x, list):
        return [a for v in x for a in leaves(v)]
    return [x]


def num_samples(x):
    for a in leaves(x):
        return len(a)
    return 0


def check_lengths(**arrays):
    flat = {}
    for k, v in arrays.items():
        if isinstance(v, (list, dict)):
            for i, a in enumerate(leaves(v)):
                flat[k if i == 0 else f"{k}[{i}]"] = a
        else:
            flat[k] = v
    arrays = flat
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
    for a in leaves(y):
        if a is not None and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError(f"`{name}` contains NaN or infinite values.")


def train_validation_split(arrays, validation_split):
    """Keras's rule: the last ``validation_split`` fraction, taken before shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), received {validation_split}")
    n = num_samples([a for a in arrays if a is not None])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split "
                         f"it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`.")
    train = tuple(take(a, slice(0, split_at)) for a in arrays)
    val = tuple(take(a, slice(split_at, n)) for a in arrays)
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
    """Rows ``idx`` of an array, or of each array in a list/dict."""
    if a is None:
        return None
    if isinstance(a, list):
        return [take(v, idx) for v in a]
    if isinstance(a, dict):
        return {k: take(v, idx) for k, v in a.items()}
    # NOTE: fancy indexing, not np.take: np.take copies a non-contiguous array whole on every
    # call (a strided input trained 60x slower), and is slower on contiguous rows too.
    return a[idx]


def contiguous(a):
    """``a`` (or each array of a list/dict) C-contiguous: one copy of a strided or
    Fortran-ordered array per ``fit``, instead of a strided gather per shuffled batch."""
    if a is None:
        return None
    if isinstance(a, list):
        return [contiguous(v) for v in a]
    if isinstance(a, dict):
        return {k: contiguous(v) for k, v in a.items()}
    if type(a) is CSRBatch:
        return a
    return np.ascontiguousarray(a)


# --- generators and PyDataset -------------------------------------------------------------------

def is_pydataset(x):
    """A PyDataset / tf.keras Sequence: indexable batches with a length."""
    if isinstance(x, PyDataset):
        return True
    return (hasattr(x, "__getitem__") and hasattr(x, "__len__") and not isinstance(
        x, (np.ndarray, list, tuple, dict, str, bytes, Tensor)) and not hasattr(x, "shape"))


def is_generator(x):
    """A one-pass iterator (a Python generator): consumed across epochs, never restarted."""
    return hasattr(x, "__next__") and not isinstance(x, (np.ndarray, Tensor))


def is_iterable_source(x):
    """A re-iterable source of batches (``torch.utils.data.DataLoader``, ``tf.data.Dataset``,
    any object with ``__iter__`` that is not an array or a Python container)."""
    return (hasattr(x, "__iter__") and not hasattr(x, "__next__") and not isinstance(
        x, (np.ndarray, list, tuple, dict, str, bytes, set, frozenset, Tensor))
        and not hasattr(x, "shape") and not is_pydataset(x))


def is_batch_source(x):
    """True when ``x`` yields batches itself (``batch_size`` does not apply)."""
    return is_pydataset(x) or is_generator(x) or is_iterable_source(x)


def _iterate(x):
    # tf.data.Dataset: NumPy batches directly, without TensorFlow's eager tensors per batch.
    as_numpy = getattr(x, "as_numpy_iterator", None)
    return as_numpy() if callable(as_numpy) else iter(x)


def _length(x):
    try:
        n = len(x)
    except TypeError:  # tf.data.Dataset of unknown or infinite cardinality
        return None
    return n if n >= 0 else None


def unpack_batch(batch):
    """``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` from a generator/PyDataset item (a
    list counts as a tuple, as in Keras: torch's DataLoader collates tuples into lists)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise ValueError(f"Data yielded by a generator/PyDataset must be a tuple (x,), (x, y) or "
                         f"(x, y, sample_weight); received a tuple of length {len(batch)}.")
    return batch, None, None


class BatchSource:
    """Per-epoch batches from arrays, a Python generator or a PyDataset.

    ``steps`` is the number of batches per epoch (None: until a generator is exhausted).
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        if is_pydataset(x):
            self.kind = "pydataset"
        elif is_generator(x):
            self.kind = "generator"
        elif is_iterable_source(x):
            self.kind = "iterable"
        else:
            self.kind = "arrays"
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size, self.shuffle = batch_size, shuffle
        self.exhausted = False

        cap = max_steps_per_epoch()  # keras.config.set_max_steps_per_epoch
        if cap and (steps is None or cap < int(steps)):
            warnings.warn("Limiting steps_per_epoch to %d" % cap, stacklevel=3)
            steps = cap
        if self.kind == "arrays":
            if shuffle:
                self.x, self.y = contiguous(x), contiguous(y)
                self.sample_weight = contiguous(sample_weight)
            self.n = num_samples(x)
            total = -(-self.n // batch_size)
            self.steps = total if steps is None else min(total, int(steps))
        elif self.kind == "pydataset":
            total = len(x)
            self.steps = total if steps is None else min(total, int(steps))
            self.n = None
        elif self.kind == "iterable":
            total = _length(x)
            self.steps = total if steps is None else (
                int(steps) if total is None else min(total, int(steps)))
            self.n = None
        else:
            self._it = iter(x)
            self.steps = None if steps is None else int(steps)
            self.n = None

    def epoch(self, rng=None):
        """Yields ``(x, y, sample_weight)`` batches for one epoch."""
        if self.kind == "arrays":
            for step, idx in enumerate(batch_slices(self.n, self.batch_size, self.shuffle, rng)):
                if step >= self.steps:
                    break
                yield (take(self.x, idx), take(self.y, idx), take(self.sample_weight, idx))
        elif self.kind == "pydataset":
            for i in range(self.steps):
                yield unpack_batch(self.x[i])
        elif self.kind == "iterable":
            for step, batch in enumerate(_iterate(self.x)):
                if self.steps is not None and step >= self.steps:
                    break
                yield unpack_batch(batch)
        else:
            step = 0
            while self.steps is None or step < self.steps:
                try:
                    batch = next(self._it)
                except StopIteration:
                    self.exhausted = True
                    return
                step += 1
                yield unpack_batch(batch)

    def end_epoch(self):
        if self.kind == "pydataset" and hasattr(self.x, "on_epoch_end"):
            self.x.on_epoch_end()
