"""``a @ b`` for float32 stacks whose batch axes broadcast (``(8, 1, 64, 96) @ (12, 96, 80)``,
``(64, 128) @ (16, 4, 128, 96)``): every product ``A[i] @ B[j]`` runs on nnfast's
``gemm_broadcast`` kernel straight from the distinct matrices of each operand, without
materialising the broadcast copies. Small products use the unpacked small-GEMM kernel (its
B stays in cache across row blocks), larger ones the packed SGEMM."""
import functools

import numpy as np

from nnfast import _core

# NOTE: below this many multiply-adds NumPy's matmul is as fast and the index arrays built
# here would cost more than they save.
_MIN_MULTIPLY_ADDS = 1 << 16


def accepts(a, b):
    """True when ``a @ b`` is a float32 product of matrices (both rank >= 2, one >= 3)
    whose batch axes differ and broadcast: the case ``broadcast_product`` runs."""
    return (a.ndim >= 2 and b.ndim >= 2 and (a.ndim >= 3 or b.ndim >= 3)
            and a.dtype == np.float32 and b.dtype == np.float32
            and a.shape[:-2] != b.shape[:-2]
            # (a lower bound of batch * m * k * n: each operand's matrices are all used)
            and max(a.size * b.shape[-1], b.size * a.shape[-2]) >= _MIN_MULTIPLY_ADDS)


def _matrix_numbers(batch_shape, out_batch):
    """For each product of the broadcast batch ``out_batch``, the number of the operand's
    matrix it reads (int64, row-major over ``out_batch``)."""
    count = int(np.prod(batch_shape, dtype=np.int64))
    numbers = np.arange(count, dtype=np.int64).reshape(batch_shape)
    return np.ascontiguousarray(np.broadcast_to(numbers, out_batch)).reshape(-1)


@functools.lru_cache(maxsize=64)
def _products(batch_a, batch_b):
    """``(out_batch, a_numbers, b_numbers)`` of two batch shapes (read-only arrays). NOTE:
    cached: a training loop multiplies the same shapes on every step, and building the
    index arrays costs ~10 us."""
    try:
        out_batch = np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        return None
    numbers_a = _matrix_numbers(batch_a, out_batch)
    numbers_b = _matrix_numbers(batch_b, out_batch)
    numbers_a.flags.writeable = numbers_b.flags.writeable = False
    return out_batch, numbers_a, numbers_b


def broadcast_product(a, b):
    """``np.matmul(a, b)`` for float32 ``a`` ``(..., m, k)`` and ``b`` ``(..., k, n)`` whose
    batch axes broadcast (``accepts(a, b)``); returns ``(broadcast batch..., m, n)``.

    Example:
        >>> broadcast_product(np.ones((2, 1, 3, 4), "float32"),
        ...                   np.ones((5, 4, 6), "float32")).shape
        (2, 5, 3, 6)
    """
    (m, k), (kb, n) = a.shape[-2:], b.shape[-2:]
    if k != kb:
        raise ValueError("matmul: incompatible shapes (the last axis of x1 must match the "
                         f"contracted axis of x2). Received: x1.shape={a.shape}, "
                         f"x2.shape={b.shape}")
    products = _products(a.shape[:-2], b.shape[:-2])
    if products is None:
        raise ValueError("matmul: the batch axes do not broadcast. Received: "
                         f"x1.shape={a.shape}, x2.shape={b.shape}")
    out_batch, numbers_a, numbers_b = products
    out = np.empty(out_batch + (m, n), np.float32)
    if out.size:
        stack_a = np.ascontiguousarray(a).reshape((-1, m, k))
        stack_b = np.ascontiguousarray(b).reshape((-1, k, n))
        _core.gemm_broadcast(stack_a, stack_b, numbers_a, numbers_b, out.reshape((-1, m, n)))
    return out
