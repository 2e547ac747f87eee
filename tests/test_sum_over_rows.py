"""sum_over_rows (cpp/src/ops/reduce.cpp), the bias gradient of Dense and Conv layers (and of
the Winograd kernel-gradient route): each column summed row by row in float32 -- the same bits
as a plain row-ordered float32 loop, at any thread count (threads split the columns) and
column count (blocks of 32 columns in registers, a shorter last block) -- and close to the
float64 sum."""
import numpy as np
import pytest

from nnfast import _core


def _row_ordered_sum(x, start):
    acc = start.astype(np.float32).copy()
    for row in x:
        acc += row  # float32, one row at a time: the order the kernel promises
    return acc


@pytest.mark.parametrize("rows, cols", [(1, 1), (7, 31), (3872, 64), (129, 33), (50, 101)])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_sum_over_rows_is_row_ordered_float32(rows, cols, accumulate, threads):
    rng = np.random.default_rng(rows * cols)
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    start = rng.standard_normal(cols).astype(np.float32)
    out = start.copy()
    before = _core.num_threads()
    try:
        _core.set_num_threads(threads)
        _core.sum_over_rows(x, out, accumulate)
    finally:
        _core.set_num_threads(before)
    want = _row_ordered_sum(x, start if accumulate else np.zeros(cols, np.float32))
    np.testing.assert_array_equal(out, want)
    ref = x.astype(np.float64).sum(0) + (start if accumulate else 0.0)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * np.sqrt(rows))
