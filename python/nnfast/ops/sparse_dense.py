"""Dense layers on mostly-zero inputs: CSR batches and the gather/scatter Dense op.

Multi-hot and bag-of-words inputs (IMDB's and Reuters's ``vectorize_sequences``: 10,000
columns, 1-2% ones) make ``x @ kernel`` a sum of a few kernel rows per sample. When a Dense
op's 2-D input is mostly zeros, it runs as:

- forward: ``y[i] = sum_j x[i, j] * kernel[j]`` over row i's nonzeros (a gather-sum),
- kernel gradient: ``dkernel[j] += x[i, j] * dy[i]`` (a scatter-add, deterministic for any
  thread count),
- input gradient (only when the input itself needs one): the dense ``dy @ kernel.T``.

The numbers are the dense product's to float32 rounding (the sums skip exact zeros).
Whether a batch is sparse is decided per call: a ``CSRBatch`` (what ``fit``/``predict``
slice from SciPy sparse inputs) always is; a dense float32 array is when a sample of its
rows and then one C++ pass that builds the CSR form find at most ``MAX_DENSITY`` nonzeros.

Example:
    >>> x = np.zeros((4, 1000), np.float32); x[0, 3] = x[2, 999] = 1.0
    >>> batch = CSRBatch.from_dense(x)
    >>> y = dense(batch, kernel, bias)  # same as dense(x, kernel, bias)
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import f32

# Above this fraction of nonzeros the dense GEMM is as fast or faster: measured forward +
# kernel gradient at 1 thread, (512, 10000)->64, (128, 784)->128, (128, 2000)->256 and
# (32, 1000)->32 break even between 5% and 10%. Narrower inputs never gain much.
MAX_DENSITY = 0.05
MIN_COLUMNS = 256
_SAMPLE_ROWS = 8
_F32 = np.dtype(np.float32)


class CSRBatch:
    """A 2-D float32 matrix in compressed sparse row form (what a Dense op multiplies
    without densifying).

    Args:
        indptr: int64 ``(rows + 1,)``; row i's entries are ``indptr[i]:indptr[i + 1]``.
        indices: int64 column ids of the stored entries.
        values: float32 stored values.
        shape: ``(rows, cols)``.

    ``len()``, ``shape``, ``ndim``, ``dtype`` and row slicing (``batch[a:b]``,
    ``batch[index_array]``) work as on an array; anything else sees the dense array
    (``np.asarray(batch)``).

    Example:
        >>> b = CSRBatch(np.array([0, 1, 1]), np.array([2]), np.array([5.0], "float32"), (2, 3))
        >>> np.asarray(b)  # [[0, 0, 5], [0, 0, 0]]
    """

    __slots__ = ("indptr", "indices", "values", "shape")
    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, indptr, indices, values, shape):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int64)
        self.values = np.ascontiguousarray(values, dtype=np.float32)
        self.shape = (int(shape[0]), int(shape[1]))
        if self.indptr.shape != (self.shape[0] + 1,) or len(self.indices) != len(self.values):
            raise ValueError(f"CSRBatch: expected indptr of {self.shape[0] + 1} entries and as many "
                             f"indices as values, received indptr {self.indptr.shape}, indices "
                             f"{self.indices.shape}, values {self.values.shape}")

    @classmethod
    def from_dense(cls, x, max_density=MAX_DENSITY):
        """The CSR form of a 2-D array, or None when more than ``max_density`` of it is
        nonzero (the scan stops there)."""
        x = f32(x)
        if x.ndim != 2:
            raise ValueError(f"CSRBatch.from_dense expects a 2-D array, received shape {x.shape}")
        if x.shape[1] == 0:
            return None
        out = _core.csr_from_dense(x, int(max_density * x.size))
        return None if out is None else cls(*out, x.shape)

    @classmethod
    def from_scipy(cls, m):
        """The batch of a SciPy sparse matrix (any format; duplicates are summed)."""
        m = m.tocsr()
        if not m.has_canonical_format:
            m = m.copy()
            m.sum_duplicates()
        return cls(m.indptr, m.indices, m.data, m.shape)

    @property
    def nnz(self):
        return len(self.values)

    @property
    def size(self):
        return self.shape[0] * self.shape[1]

    def __len__(self):
        return self.shape[0]

    def take_rows(self, idx):
        """Rows ``idx`` (a slice with step 1, or an integer array) as a new CSRBatch."""
        if isinstance(idx, slice) and idx.step in (None, 1):
            start, stop, _ = idx.indices(self.shape[0])
            stop = max(stop, start)
            lo, hi = self.indptr[start], self.indptr[stop]
            return CSRBatch(self.indptr[start:stop + 1] - lo, self.indices[lo:hi],
                            self.values[lo:hi], (stop - start, self.shape[1]))
        idx = np.arange(self.shape[0])[idx] if isinstance(idx, slice) else np.asarray(idx)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise IndexError(f"CSRBatch rows are taken with a slice or a 1-D integer array, "
                             f"received {idx!r:.80}")
        idx = np.where(idx < 0, idx + self.shape[0], idx)
        starts, ends = self.indptr[idx], self.indptr[idx + 1]
        lengths = ends - starts
        indptr = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # Position of every kept entry: its row's old start + its offset within the row.
        pos = np.arange(indptr[-1], dtype=np.int64) + np.repeat(starts - indptr[:-1], lengths)
        return CSRBatch(indptr, self.indices[pos], self.values[pos], (len(idx), self.shape[1]))

    def __getitem__(self, idx):
        if isinstance(idx, (slice, np.ndarray, list)):
            return self.take_rows(idx)
        return self.toarray()[idx]

    def toarray(self):
        """The dense float32 array."""
        out = np.zeros(self.shape, np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        np.add.at(out, (rows, self.indices), self.values)
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.toarray()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __repr__(self):
        return f"<CSRBatch shape={self.shape} nnz={self.nnz}>"


def sparse_rows(x, in_dim):
    """The CSR form of a Dense op's input when it pays: ``x`` itself if it is a CSRBatch,
    or a mostly-zero 2-D float32 array with at least MIN_COLUMNS columns; else None."""
    a = x.value if isinstance(x, Tensor) else x
    if type(a) is CSRBatch:
        if a.shape[1] != in_dim:
            raise ValueError(f"Dense: input's last dimension must be {in_dim}, received a sparse "
                             f"input of shape {a.shape}")
        return a
    if type(a) is not np.ndarray or a.ndim != 2 or a.dtype is not _F32 or \
            a.shape[1] < MIN_COLUMNS or a.shape[1] != in_dim or not a.flags.c_contiguous:
        return None
    head = a[:_SAMPLE_ROWS]
    # Counted on the bit patterns (4x faster than on floats; a -0.0 counts as nonzero, which
    # only errs towards the dense path): dense batches stop here. The first row alone
    # decides a dense batch (its count already exceeds the head's budget) at half the cost.
    budget = MAX_DENSITY * head.size
    if (len(a) and np.count_nonzero(a[0].view(np.uint32)) > budget) or \
            np.count_nonzero(head.view(np.uint32)) > budget:
        return None
    return CSRBatch.from_dense(a, MAX_DENSITY)


class SparseDense(Function):
    """``act(x @ kernel + bias)`` with ``x`` given in CSR form (``csr``); the positional
    ``x`` (dense array or the CSRBatch) only carries the input gradient's need."""

    @staticmethod
    def forward(ctx, x, kernel, bias, csr=None, act_id=0, alpha=0.0, max_value=np.inf,
                threshold=0.0):
        rows, units = csr.shape[0], kernel.shape[1]
        z = np.empty((rows, units), dtype=np.float32)
        _core.csr_matmul(csr.indptr, csr.indices, csr.values, kernel, z, bias=bias)
        y = z
        if act_id != 0:
            y = np.empty_like(z)
            _core.activation_forward(act_id, z, y, alpha, max_value, threshold)
        if ctx.recording:
            ctx.save_for_backward(csr, kernel, z, y)
            ctx.params = (act_id, alpha, max_value, threshold)
        return y

    @staticmethod
    def backward(ctx, g):
        csr, kernel, z, y = ctx.saved
        act_id, alpha, max_value, threshold = ctx.params
        dz = f32(g).reshape(y.shape)
        if act_id != 0:
            d = np.empty_like(y)
            _core.activation_backward(act_id, z, y, dz, d, alpha, max_value, threshold)
            dz = d
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        dx = dk = db = None
        if need_x:  # a hidden layer's input: the dense product with the kernel's transpose
            dx = np.empty(csr.shape, dtype=np.float32)
            _core.gemm(dz, kernel, dx, trans_b=True)
        if need_k:
            dk = np.empty(kernel.shape, dtype=np.float32)
            _core.csr_matmul_t(csr.indptr, csr.indices, csr.values, dz, dk)
        if need_b:
            db = np.empty(kernel.shape[1], dtype=np.float32)
            _core.sum_over_rows(dz, db)
        return dx, dk, db
