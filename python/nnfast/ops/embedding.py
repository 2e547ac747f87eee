"""Embedding lookup with a sparse-touching gradient.

Forward gathers rows of the table; backward scatter-adds the output gradient into the rows
that were looked up. NOTE: the optimizers take one dense gradient per variable, and Keras
applies dense optimizer semantics to embeddings too (Adam's moments decay on every row), so
the gradient is a zero-filled (vocab, dim) array with only the touched rows written: one pass
over the looked-up rows, never a dense matmul or a one-hot. Each table owns one zeroed block
that is reused from step to step once no array handed out over it is alive any more (the
scatter kernel first clears the rows written last time), so a training step neither
allocates nor page-faults a whole table.
"""
import weakref

import numpy as np

from nnfast import _core
from nnfast.backend import memory
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops import float64 as _f64
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


class _GradientBlock:
    """A table's reusable gradient memory: ``block`` (zero but the rows ``written`` by the
    last step), and a weak reference to the one array last handed out over it.

    NOTE: every array viewing the handed-out memory (reshapes, slices, transposes, subclass
    views, however nested) keeps that one flat array alive as its ``base``, because the flat
    array's own base is a memoryview, not an ndarray NumPy would collapse views onto. So the
    weak reference dies exactly when no array reads the block any more: then it is reused.
    """

    __slots__ = ("block", "handed", "table", "written")

    def __init__(self, table):
        self.block = np.zeros(table.shape, np.float32)
        self.written = None
        self.handed = None
        self.table = weakref.ref(table)

    def free(self, table):
        """Whether the block serves ``table`` and nothing handed out over it is alive."""
        return (self.table() is table and self.block.shape == table.shape
                and (self.handed is None or self.handed() is None))

    def hand_out(self):
        """A new (vocab, dim) array over the block, tracked until it and its views die."""
        flat = np.frombuffer(memoryview(self.block).cast("B"), np.float32)
        self.handed = weakref.ref(flat)
        return flat.reshape(self.block.shape)


# id(table array) -> its _GradientBlock
_GRAD_BLOCKS = {}


def _zeroed_grad(table):
    """(buffer, its block, ids to clear): a gradient buffer for ``table`` that is zero
    except the rows named by the returned ids (cleared by the scatter kernel itself)."""
    key = id(table)
    entry = _GRAD_BLOCKS.get(key)
    if entry is not None and entry.free(table):
        return entry.hand_out(), entry, entry.written
    entry = _GradientBlock(table)
    if key not in _GRAD_BLOCKS:
        weakref.finalize(table, _GRAD_BLOCKS.pop, key, None)
    _GRAD_BLOCKS[key] = entry
    return entry.hand_out(), entry, None


# NOTE: big outputs (a batch of 1024 sequences of 100 steps is 52 MB at 128 features) come
# from the buffer cache (backend/memory): the allocator maps such sizes fresh on every call,
# and faulting the pages in costs more than the gather itself.
def _output(shape):
    return memory.empty(shape, np.float32)


class Embedding(Function):
    """out[..., :] = table[ids[...], :]; d(table) gets scatter-added rows."""

    @staticmethod
    def forward(ctx, table, indices):
        table = f32(table)
        ids = _ids(indices)
        out = _output(ids.shape + (table.shape[1],))
        _core.embedding_forward(table, ids, out)
        if ctx.recording:
            ctx.save_for_backward(ids, table)
        return out

    @staticmethod
    def backward(ctx, g):
        ids, table = ctx.saved
        if not ctx.needs_input_grad[0]:
            return None, None
        return dense_rows_gradient(table, ids, f32(g)), None


class TokenRowsGradient(np.ndarray):
    """A dense (vocab, dim) embedding-table gradient that also keeps the per-token rows it
    sums: ``ids`` (n,) and ``rows`` (n, dim), with ``self[k] == rows[ids == k].sum(0)``.

    Keras on TensorFlow hands optimizers this gradient as ``tf.IndexedSlices``, and an
    optimizer that squares or takes absolute values of the gradient (Adam's second moment,
    RMSprop, Adagrad, clip norms, ...) does so per token before the repeated rows are
    summed. The optimizers read ``ids``/``rows`` to reproduce that rule. Any arithmetic on
    this array gives a plain dense gradient (``ids is None``), so a table that also gets a
    dense gradient (a regularizer, a tied output layer) follows the dense rule as in Keras;
    the sum of two such gradients (a table looked up twice) keeps all the tokens.

    ``squares`` (n, dim) is None when each row is one token's. A recurrent layer run
    straight from the table (``ops.lstm(..., input_ids=, token_squares=True)``) groups the
    tokens instead: ``rows[i]`` then sums the tokens of row ``ids[i]`` and ``squares[i]``
    their per-token sum of squares, all a squaring optimizer needs (no clipping by value).
    ``distinct`` is True when no id repeats in ``ids`` (then ``rows[i] == self[ids[i]]``).
    """

    def __array_finalize__(self, obj):
        self.ids = None
        self.rows = None
        self.squares = None
        self.distinct = False

    def __add__(self, other):
        out = np.add(self, other)
        if (isinstance(other, TokenRowsGradient) and self.ids is not None
                and other.ids is not None):
            out.ids = np.concatenate([self.ids, other.ids])
            out.rows = np.concatenate([self.rows, other.rows])
            if self.squares is not None or other.squares is not None:
                out.squares = np.concatenate([a.token_squares() for a in (self, other)])
        return out

    def token_squares(self):
        """(n, dim): the per-token sums of squares of ``rows`` (``rows**2`` when ungrouped)."""
        return self.rows * self.rows if self.squares is None else self.squares

    def __radd__(self, other):
        return np.add(other, self)


def dense_rows_gradient(table, ids, row_grads, token_rows=True, squares=None,
                        distinct=False):
    """The dense (vocab, dim) gradient of ``table`` with ``row_grads[i]`` added to row
    ``ids[i]`` and zeros elsewhere, in the reused per-table buffer (see the top). Returned
    as a :class:`TokenRowsGradient` remembering ``ids`` and ``row_grads`` when those are
    per-token rows (``token_rows``) or token groups with their per-token sums of
    ``squares`` (n, dim), else as the plain buffer. ``distinct``: the caller guarantees
    that no id repeats (the optimizer then skips regrouping the rows)."""
    dtable, entry, stale = _zeroed_grad(table)
    _core.embedding_backward(row_grads, ids, dtable, stale)
    entry.written = ids
    if not token_rows:
        return dtable
    out = dtable.view(TokenRowsGradient)
    out.ids = ids.reshape(-1)
    out.rows = row_grads.reshape(ids.size, table.shape[1])
    if squares is not None:
        out.squares = squares.reshape(ids.size, table.shape[1])
    out.distinct = bool(distinct)
    return out


def segment_rows_sum(rows, segment_ids, num_segments):
    """(num_segments, dim) sums of the float32 ``rows`` (n, dim) grouped by ``segment_ids``
    (n,) in ``[0, num_segments)``: one C++ scatter-add pass."""
    out = np.zeros((num_segments, rows.shape[1]), np.float32)
    _core.embedding_backward(np.ascontiguousarray(rows, dtype=np.float32),
                             np.ascontiguousarray(segment_ids, dtype=np.int64), out, None)
    return out


def embedding(indices, table):
    """Looks up rows of ``table`` (vocab, dim) for integer ``indices`` of any shape.

    Returns a tensor of shape ``indices.shape + (dim,)``. Indices outside ``[0, vocab)``
    raise ``ValueError``. Differentiable with respect to ``table``.

    Args:
        indices: integer tensor of any shape.
        table: ``(vocab, dim)`` embedding matrix.

    Example:
        >>> table = np.arange(12, dtype="float32").reshape(4, 3)
        >>> ops.embedding(np.array([[1, 2]]), table).numpy()
        array([[[3., 4., 5.],
                [6., 7., 8.]]], dtype=float32)
    """
    if _f64.is_float64(table):
        return _f64.Embedding.apply(table, _ids(indices))
    return Embedding.apply(table, indices)
