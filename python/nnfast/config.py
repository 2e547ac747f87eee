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
