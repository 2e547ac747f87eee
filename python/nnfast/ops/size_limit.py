"""Refusing absurd sizes before allocating (issue 14).

Ops that allocate from sizes the caller gives (``zeros((n, n))``, ``one_hot(x, num_classes)``,
``adaptive_average_pool(x, output_size)``, ``image.resize(x, size)``, ``random.normal(shape)``,
...) check the bytes their result needs first. A result larger than this machine's physical
memory could never be filled: it would end in a MemoryError at best and, since Linux
overcommits, in the OOM killer at worst. It is refused with a ValueError naming the argument
and the bytes it would need. Sizes that overflow int64 are refused the same way.
"""
import math
import os

import numpy as np

_INT64_MAX = 2**63 - 1


def physical_memory_bytes():
    """This machine's physical memory in bytes (the allocation limit); None if unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


_LIMIT = physical_memory_bytes()


def check_result_size(what, shape, dtype, /, **received):
    """Raises ValueError when an array of ``shape`` and ``dtype`` could not fit in memory.

    Args:
        what: the op's name, for the message.
        shape: the result's shape (Python ints; may be huge, never overflows here).
        dtype: its dtype.
        **received: the arguments the size came from, shown as Keras's "Received: ...".

    Example:
        >>> check_result_size("zeros", (2**31 - 1, 2**31 - 1), "float32", shape=(2**31 - 1,) * 2)
        Traceback (most recent call last):
        ValueError: zeros: the result of shape (2147483647, 2147483647) would need ...
    """
    dims = [int(n) for n in shape]
    if any(n < 0 for n in dims):
        return  # negative sizes are the op's own error to report
    elements = math.prod(dims)
    nbytes = elements * np.dtype(dtype).itemsize
    args = ", ".join(f"{k}={v!r}" for k, v in received.items())
    if elements > _INT64_MAX or nbytes > _INT64_MAX:
        raise ValueError(f"{what}: the result of shape {tuple(dims)} would have {elements} "
                         f"elements ({nbytes} bytes of {np.dtype(dtype).name}), more than an "
                         f"int64 can count. Received: {args}")
    if _LIMIT is not None and nbytes > _LIMIT:
        raise ValueError(f"{what}: the result of shape {tuple(dims)} would need {nbytes} bytes "
                         f"({nbytes / 2**30:.1f} GiB of {np.dtype(dtype).name}), more than this "
                         f"machine's physical memory ({_LIMIT / 2**30:.1f} GiB). "
                         f"Received: {args}")
