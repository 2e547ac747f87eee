"""Runtime configuration: which kernels run, and on how many threads.

Example:
    >>> import nnfast
    >>> nnfast.config.kernel_info()
    {'cpu_best_isa': 'avx512', 'active_isa': 'avx512', 'gemm_kernel': ..., 'num_threads': 2}
    >>> nnfast.config.set_num_threads(1)
"""
from nnfast import _core


def set_num_threads(n):
    """Number of OpenMP threads the kernels may use."""
    _core.set_num_threads(int(n))


def get_num_threads():
    return _core.num_threads()


def set_max_isa(name):
    """Caps the instruction set kernels use: ``"avx512"``, ``"avx2"`` or ``"ref"`` (scalar).

    The environment variable ``NNFAST_MAX_ISA`` sets the same cap at start-up."""
    _core.set_max_isa(str(name))


def active_isa():
    return _core.active_isa()


def cpu_best_isa():
    return _core.cpu_best_isa()


def available_isas():
    """The variants this CPU can run, most portable first."""
    order = ["ref", "avx2", "avx512"]
    return order[: order.index(_core.cpu_best_isa()) + 1]


def kernel_info():
    """Which kernels were chosen and why: ISA, GEMM micro-kernel, threads."""
    return {"cpu_best_isa": _core.cpu_best_isa(), "active_isa": _core.active_isa(),
            "gemm_kernel": _core.gemm_kernel_name(), "num_threads": _core.num_threads()}


# --- the buffer cache ----------------------------------------------------------------------
# NumPy arrays of 1 MiB and more created in the importing thread come from a cache of freed
# blocks of the same size instead of fresh memory from the OS (fresh memory page-faults in on
# first touch: ~15% of a ResNet50 batch). NNFAST_BUFFER_CACHE_MB sets the most it keeps
# (default 1024; 0 turns it off).


def install_buffer_cache():
    """Makes NumPy take large arrays (>= 1 MiB) created in the calling thread's context from
    nnfast's buffer cache. ``import nnfast`` does this for the importing thread unless
    ``NNFAST_BUFFER_CACHE_MB=0``; call it in other threads that run models."""
    _core.install_numpy_buffer_cache()


def buffer_cache_info():
    """``{'cached_bytes', 'limit_bytes', 'hits', 'misses'}`` of the buffer cache."""
    return dict(_core.buffer_cache_stats())


def set_buffer_cache_limit(megabytes):
    """Most memory (MiB) the buffer cache keeps for reuse; 0 frees it and turns it off."""
    if megabytes < 0:
        raise ValueError(f"The buffer cache limit must be >= 0 MiB, received {megabytes}")
    _core.buffer_cache_set_limit(int(megabytes * (1 << 20)))


def clear_buffer_cache():
    """Frees every block the buffer cache keeps (arrays in use are not affected)."""
    _core.buffer_cache_clear()


if _core.buffer_cache_stats()["limit_bytes"] > 0:
    install_buffer_cache()
