"""Which rows of the global batch the step being computed holds (set by the data-parallel
step; read by layers whose randomness must not depend on the split, such as Dropout, which
draws the mask of the global batch and keeps its rows, and augmentation layers, which draw
per-image parameters for the global batch), and the cross-rank sum that synchronized
BatchNormalization reduces its batch moments with."""
import contextlib
import math

import numpy as np

_current = [None]
_reduce = [None]


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


@contextlib.contextmanager
def reducing_across_ranks(allreduce_sum, contributes=True):
    """Makes ``allreduce_sum`` (a 1-D float32 array in, its sum over all ranks out, the same
    bits on every rank) the cross-rank sum of the code inside; ``contributes=False`` on a
    rank that computes a placeholder row (a rank with no rows of the batch): its layers
    then add zeros to every sum but still take part in each collective."""
    previous = _reduce[0]
    _reduce[0] = (allreduce_sum, bool(contributes))
    try:
        yield
    finally:
        _reduce[0] = previous


def cross_rank_sum():
    """``(allreduce_sum, contributes)`` inside ``reducing_across_ranks``; None elsewhere (one
    process, or outside a data-parallel training step)."""
    return _reduce[0]


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


# Generator methods whose ``size`` (at this position among the positional arguments) is
# the per-image shape of an augmentation draw.
_SIZE_POSITION = {"random": 0, "standard_normal": 0, "uniform": 2, "normal": 2,
                  "integers": 2, "beta": 2, "gamma": 2, "binomial": 2, "exponential": 1,
                  "poisson": 1}


class GlobalBatchGenerator:
    """A ``numpy.random.Generator`` seen by an augmentation layer that computes ``rows``
    rows of a global batch: draws whose ``size`` starts with ``rows`` (one value per image)
    are made for the whole global batch and this shard's rows kept (``draw_rows``), so every
    rank's stream advances alike and the images get the values one process gives them.
    Other draws (one per batch) pass through. Used through ``per_row_generator``."""

    def __init__(self, generator, rows):
        self._generator = generator
        self._rows = rows

    def __getattr__(self, name):
        method = getattr(self._generator, name)
        position = _SIZE_POSITION.get(name)
        if position is None:
            return method

        def draw(*args, **kwargs):
            args = list(args)
            in_args = len(args) > position
            size = args[position] if in_args else kwargs.get("size")
            if size is None:
                return method(*args, **kwargs)
            shape = (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)

            def draw_shape(s):
                if in_args:
                    args[position] = s
                else:
                    kwargs["size"] = s
                return method(*args, **kwargs)

            return draw_rows(draw_shape, shape, self._rows)

        return draw


def per_batch_generator(generator):
    """The plain Generator behind ``generator`` (a ``GlobalBatchGenerator`` or itself), for
    draws made once per batch whose size could equal the rank's rows by chance (RandAugment's
    ``num_ops`` choices, AugMix's ``num_chains`` weights).

    Example:
        >>> ops = per_batch_generator(self._rng).integers(0, 11, num_ops)
    """
    return generator._generator if isinstance(generator, GlobalBatchGenerator) else generator


def per_row_generator(generator, rows):
    """``generator`` for a layer computing a ``rows``-row batch: itself outside a
    data-parallel step, else a ``GlobalBatchGenerator`` that draws per-image values for the
    global batch.

    Example:
        >>> rng = per_row_generator(layer_rng, len(images))
        >>> angles = rng.uniform(-0.1, 0.1, len(images))
    """
    shard = _current[0]
    if shard is None or (shard[0] == 0 and shard[1] == rows):
        return generator
    return GlobalBatchGenerator(generator, rows)
