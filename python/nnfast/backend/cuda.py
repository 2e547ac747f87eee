"""Thin access to nnfast's CUDA build: is it there, device arrays, allocator, GEMM backend.

This is the first layer of the GPU path: kernels in ``nnfast._core.cuda`` take
``DeviceArray`` arguments (device memory that nnfast owns). Tensors and models do not move to
the GPU yet; ``nnfast.config.list_physical_devices("GPU")`` tells what a later device scope
will be able to use.

Example:
    >>> from nnfast.backend import cuda
    >>> cuda.is_available()
    False
    >>> cuda.unavailable_reason()
    'nnfast was built without CUDA'
    >>> # on a CUDA build with a GPU:
    >>> x = cuda.to_device(np.ones((3, 4), np.float32))
    >>> cuda.to_numpy(x).sum()
    12.0
"""
import numpy as np

from nnfast import _core

_cuda = _core.cuda

#: The device array class of a CUDA build (None without CUDA).
DeviceArray = getattr(_cuda, "DeviceArray", None)


def compiled():
    """True when this nnfast was built with ``NNFAST_CUDA=ON``."""
    return bool(_cuda.compiled)


def device_count():
    """Number of visible CUDA devices (0 without CUDA, a driver or a device; never raises)."""
    return int(_cuda.device_count())


def is_available():
    """True when CUDA kernels can run: a CUDA build and at least one visible device."""
    return compiled() and device_count() > 0


def unavailable_reason():
    """Why CUDA kernels cannot run, or ``""`` when they can.

    ``"nnfast was built without CUDA"`` for a CPU-only build, else
    ``"no CUDA device visible: <CUDA error string>"``."""
    if not compiled():
        return "nnfast was built without CUDA"
    if device_count() > 0:
        return ""
    return "no CUDA device visible: " + str(_cuda.unavailable_reason())


def _require():
    if not is_available():
        raise RuntimeError("CUDA is not available: " + unavailable_reason())


def to_device(array):
    """Copies a NumPy array (or anything ``np.asarray`` takes) to the device.

    Floating data becomes float32; integer data keeps int32 or becomes int64 (the dtype of
    class ids and embedding indices). Returns a ``DeviceArray`` of the same shape."""
    _require()
    a = np.asarray(array)
    if a.dtype.kind == "f" and a.dtype != np.float32:
        a = a.astype(np.float32)
    elif a.dtype.kind in "iub" and a.dtype not in (np.int32, np.int64):
        a = a.astype(np.int64)
    return DeviceArray.from_numpy(a)  # copied in C order by from_numpy


def to_numpy(device_array):
    """Copies a ``DeviceArray`` back into a new NumPy array (waits for queued kernels)."""
    return device_array.numpy()


def empty(shape, dtype="float32"):
    """An uninitialised ``DeviceArray`` of ``shape`` (float32, int32 or int64)."""
    _require()
    return DeviceArray.empty(shape, dtype)


def zeros(shape, dtype="float32"):
    """A zero-filled ``DeviceArray`` of ``shape``."""
    _require()
    return DeviceArray.zeros(shape, dtype)


def synchronize():
    """Waits for every queued kernel; a failed one raises RuntimeError here."""
    _require()
    _cuda.synchronize()


def memory_stats():
    """Caching-allocator counters: ``bytes_in_use``, ``bytes_cached``, ``device_allocs``
    (cudaMalloc calls), ``device_frees`` (cudaFree calls), ``cache_hits``."""
    _require()
    return dict(_cuda.allocator_stats())


def empty_cache():
    """Returns the allocator's cached, unused blocks to the device."""
    _require()
    _cuda.empty_cache()


def set_gemm_backend(name):
    """Chooses the device SGEMM: ``"nnfast"`` (the tiled kernel) or ``"cublas"`` (only when the
    build found cuBLAS; ValueError otherwise)."""
    _require()
    _cuda.set_gemm_backend(str(name))


def gemm_backend():
    """The device SGEMM in use: ``"nnfast"`` or ``"cublas"``."""
    _require()
    return _cuda.gemm_backend()
