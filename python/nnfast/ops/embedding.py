"""Embedding lookup with a sparse-touching gradient.

Forward gathers rows of the table; backward scatter-adds the output gradient into the rows
that were looked up. NOTE: the optimizers take one dense gradient per variable, and Keras
applies dense optimizer semantics to embeddings too (Adam's moments decay on every row), so
the gradient is a zero-filled (vocab, dim) array with only the touched rows written: a fresh
zeroed allocation plus one pass over the looked-up rows, never a dense matmul or a one-hot.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import f32


def _ids(indices):
    ids = indices.value if isinstance(indices, Tensor) else np.asarray(indices)
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)):
            raise ValueError("Embedding indices contain NaN or infinity.")
        ids = ids.astype(np.int64)
    elif ids.dtype.kind not in "iub":
        raise TypeError(f"Embedding indices must be integers, received dtype {ids.dtype}")
    return np.ascontiguousarray(ids, dtype=np.int64)


class Embedding(Function):
    """out[..., :] = table[ids[...], :]; d(table) gets scatter-added rows."""

    @staticmethod
    def forward(ctx, table, indices):
        table = f32(table)
        ids = _ids(indices)
        out = np.empty(ids.shape + (table.shape[1],), np.float32)
        _core.embedding_forward(table, ids, out)
        if ctx.recording:
            ctx.save_for_backward(ids, table.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        ids, shape = ctx.saved
        if not ctx.needs_input_grad[0]:
            return None, None
        dtable = np.zeros(shape, np.float32)
        _core.embedding_backward(f32(g), ids, dtable)
        return dtable, None


def embedding(indices, table):
    """Looks up rows of ``table`` (vocab, dim) for integer ``indices`` of any shape.

    Returns a tensor of shape ``indices.shape + (dim,)``. Indices outside ``[0, vocab)``
    raise ``ValueError``. Differentiable with respect to ``table``.

    Example:
        >>> ops.embedding(np.array([[1, 2]]), table).shape
        (1, 2, dim)
    """
    return Embedding.apply(table, indices)
