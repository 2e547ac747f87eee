"""Which rows of the global batch the step being computed holds (set by the data-parallel
step; read by layers whose randomness must not depend on the split, such as Dropout, which
draws the mask of the global batch and keeps its rows)."""
import contextlib
import math

_current = [None]


def batch_rows(local_rows):
    """``(first_row, global_rows)`` of the shard being computed; ``(0, local_rows)`` outside
    a data-parallel step."""
    shard = _current[0]
    return (0, local_rows) if shard is None else shard


@contextlib.contextmanager
def computing_rows(first_row, global_rows):
    """Marks the code inside as computing rows ``first_row ...`` of a global batch of
    ``global_rows`` rows."""
    previous = _current[0]
    _current[0] = (int(first_row), int(global_rows))
    try:
        yield
    finally:
        _current[0] = previous


def mask_offsets(offset, shape):
    """For a random mask of ``shape`` (batch first) drawn from a counter-based stream at
    ``offset``: ``(draw_at, next_offset)``, where this rank's rows of the global batch's mask
    start and where the stream stands after the whole global mask. Outside a data-parallel
    step: ``(offset, offset + size)``.

    Example:
        >>> mask_offsets(100, (4, 3))   # one process
        (100, 112)
    """
    if _current[0] is None:  # one process: the common case, on every dropout call
        return offset, offset + (int(math.prod(shape)) if len(shape) else 1)
    shape = tuple(int(d) for d in shape)
    if not shape:
        return offset, offset + 1
    per_row = 1
    for d in shape[1:]:
        per_row *= d
    first_row, global_rows = batch_rows(shape[0])
    return offset + first_row * per_row, offset + global_rows * per_row


def draw_rows(draw, shape, rows):
    """``draw(shape)`` for a random array whose first axis is the batch's ``rows`` rows:
    under data parallelism, ``draw`` of the global batch's shape, and this rank's rows of it
    (so the split does not change the noise); otherwise ``draw(shape)``.

    Example:
        >>> noise = draw_rows(rng.standard_normal, (4, 3), rows=4)
    """
    shape = tuple(int(d) for d in shape)
    if not shape or shape[0] != rows:
        return draw(shape)
    first_row, global_rows = batch_rows(rows)
    if first_row == 0 and global_rows == rows:
        return draw(shape)
    return draw((global_rows,) + shape[1:])[first_row:first_row + rows]
