"""One-hot and multi-hot encodings of integer class ids (``keras.ops.one_hot`` /
``keras.ops.multi_hot``). Not differentiable: the inputs are integers."""
import numpy as np

from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value
from nnfast.ops.size_limit import check_result_size


def _class_ids(x, what):
    a = np.asarray(value(x))
    if a.dtype.kind not in "iub":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise TypeError(f"{what} expects integer class ids, received dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encodes integer ``x`` into a new axis of size ``num_classes``.

    Ids outside ``[0, num_classes)`` (e.g. -1) give an all-zero vector, as in Keras.

    Args:
        x: integer array of any shape.
        num_classes: size of the new axis.
        axis: where the new axis goes in the result (``-1``: last).
        dtype: result dtype (``"float32"`` by default).
        sparse: sparse results are not supported by nnfast (raises).

    Example:
        >>> ops.one_hot(np.array([0, 2]), 3)  # [[1, 0, 0], [0, 0, 1]]
        <Tensor shape=(2, 3) dtype=float32
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)>
    """
    if sparse:
        raise NotImplementedError("one_hot(sparse=True): nnfast has no sparse tensors")
    ids = _class_ids(x, "one_hot")
    num_classes = int(num_classes)
    check_result_size("one_hot", ids.shape + (num_classes,), dtype or "float32",
                      num_classes=num_classes)
    # Only the result is allocated (comparing against an arange would need 9x its size).
    out = np.zeros(ids.shape + (num_classes,), dtype=dtype or "float32")
    valid = (ids >= 0) & (ids < num_classes)
    out[np.nonzero(valid) + (ids[valid],)] = 1
    nd = out.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"one_hot: axis must be in [{-nd}, {nd}), received axis={axis}")
    if axis % nd != nd - 1:
        out = np.ascontiguousarray(np.moveaxis(out, -1, axis))
    return Tensor(out)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encoding: the one-hot vectors of each row's ids, combined with ``max``.

    A 1-D ``inputs`` is one set of ids (result ``(num_classes,)``); a 2-D ``(batch, ids)``
    gives ``(batch, num_classes)``.

    Args:
        inputs: integer class ids, shape ``(batch, n)`` (or ``(n,)``).
        num_classes: the number of classes (the length of the output's class axis).
        axis: where the class axis goes in the output. Defaults to ``-1``.
        dtype: dtype of the output (None: float32).
        sparse: return a sparse tensor (not supported by nnfast: must be False). Defaults to
            ``False``.

    Example:
        >>> ops.multi_hot(np.array([[0, 2], [1, 1]]), 3)  # [[1, 0, 1], [0, 1, 0]]
        <Tensor shape=(2, 3) dtype=float32
        array([[1., 0., 1.],
               [0., 1., 0.]], dtype=float32)>
    """
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("multi_hot: argument `num_classes` must be specified.")
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}")
    ids = _class_ids(inputs, "multi_hot")
    reduce_axis = 1 if ids.ndim > 1 else 0
    hot = one_hot(ids, num_classes, axis=axis, dtype="float32", sparse=sparse).value
    return Tensor(np.ascontiguousarray(hot.max(axis=reduce_axis).astype(dtype or "float32")))
