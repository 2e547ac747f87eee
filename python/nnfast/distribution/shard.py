"""Which rows of the global batch the step being computed holds (set by the data-parallel
step; read by layers whose randomness must not depend on the split, such as Dropout, which
draws the mask of the global batch and keeps its rows)."""
import contextlib

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
