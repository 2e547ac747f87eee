"""Large NumPy arrays made while nnfast runs a model come from nnfast's buffer cache.

Fresh memory from the OS page-faults in on first touch (about 15% of a ResNet50 batch), so
arrays of 1 MiB and more that nnfast's ops create are taken from a cache of freed blocks of
the same size. NumPy keeps its allocation handler in a context variable: ``scope()`` sets the
cache's handler for the duration of a model call, ``fit``, ``evaluate`` or ``predict`` and
puts the previous one back, so the user's own arrays made elsewhere keep NumPy's allocator.
NumPy records the handler in every array, so arrays made inside may be freed anywhere.
``nnfast.config.install_buffer_cache()`` opts a whole context in; ``NNFAST_BUFFER_CACHE_MB``
(default 1024, 0 turns the cache off) bounds what it keeps.
"""
import contextlib
import functools

import numpy as np

from nnfast import _core


@contextlib.contextmanager
def scope():
    """Large arrays created inside the block come from the buffer cache.

    Example:
        >>> with scope():
        ...     y = model(x)
    """
    previous = _core.numpy_buffer_cache_enter()
    try:
        yield
    finally:
        _core.numpy_buffer_cache_exit(previous)


def scoped(method):
    """``method`` run inside ``scope()`` (for the entry points that run models)."""

    @functools.wraps(method)
    def run(*args, **kwargs):
        previous = _core.numpy_buffer_cache_enter()
        try:
            return method(*args, **kwargs)
        finally:
            _core.numpy_buffer_cache_exit(previous)

    return run


def empty(shape, dtype=np.float32):
    """``np.empty(shape, dtype)`` whose block, when large, comes from the buffer cache (also
    outside a model call): for ops whose big outputs or workspaces are made on every step.

    Example:
        >>> ws = empty((1024, 1024))   # 4 MiB from the cache
    """
    previous = _core.numpy_buffer_cache_enter()
    try:
        return np.empty(shape, dtype)
    finally:
        _core.numpy_buffer_cache_exit(previous)
