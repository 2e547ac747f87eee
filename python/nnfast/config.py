"""Runtime configuration: which kernels run, on how many threads, and which devices exist.

Example:
    >>> import nnfast
    >>> nnfast.config.kernel_info()
    {'cpu_best_isa': 'avx512', 'active_isa': 'avx512', 'gemm_kernel': ..., 'num_threads': 2}
    >>> nnfast.config.set_num_threads(1)
    >>> nnfast.config.list_physical_devices()
    [PhysicalDevice(name='/physical_device:CPU:0', device_type='CPU')]
"""
from nnfast import _core


def set_num_threads(n):
    """Number of OpenMP threads the kernels may use. Setting it turns off nnfast's adapting
    of the default thread count to the machine's load (``nnfast.thread_governor``)."""
    from nnfast.thread_governor import GOVERNOR

    _core.set_num_threads(int(n))
    GOVERNOR.user_chose()


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
    """Which kernels were chosen and why: ISA, GEMM micro-kernel, threads, and whether the
    default thread count adapts to the machine's load (``adaptive_threads``: see
    ``nnfast.thread_governor``)."""
    from nnfast.thread_governor import GOVERNOR

    return {"cpu_best_isa": _core.cpu_best_isa(), "active_isa": _core.active_isa(),
            "gemm_kernel": _core.gemm_kernel_name(), "num_threads": _core.num_threads(),
            "adaptive_threads": GOVERNOR.enabled and not GOVERNOR.user_set}


class PhysicalDevice(tuple):
    """A device nnfast can run on, shaped like TensorFlow's ``PhysicalDevice``:
    ``name`` (e.g. ``"/physical_device:GPU:0"``) and ``device_type`` (``"CPU"`` or ``"GPU"``)."""

    __slots__ = ()

    def __new__(cls, name, device_type):
        return super().__new__(cls, (name, device_type))

    @property
    def name(self):
        return self[0]

    @property
    def device_type(self):
        return self[1]

    def __repr__(self):
        return f"PhysicalDevice(name='{self.name}', device_type='{self.device_type}')"


def cuda_build_info():
    """Whether this nnfast was built with CUDA and how many GPUs it sees.

    Returns a dict ``{'compiled': bool, 'device_count': int, 'reason': str}``; ``reason`` says
    why no GPU is usable (``"nnfast was built without CUDA"``, or the CUDA error string such
    as ``"no CUDA-capable device is detected"``) and is ``""`` when one is.

    Example:
        >>> nnfast.config.cuda_build_info()
        {'compiled': False, 'device_count': 0, 'reason': 'nnfast was built without CUDA'}
    """
    cuda = _core.cuda
    count = int(cuda.device_count())
    return {"compiled": bool(cuda.compiled), "device_count": count,
            "reason": "" if count > 0 else str(cuda.unavailable_reason())}


def list_physical_devices(device_type=None):
    """The devices nnfast can use, as ``tf.config.list_physical_devices`` lists them.

    Args:
        device_type: ``"CPU"``, ``"GPU"`` or None for all. Case-insensitive.

    Returns:
        A list of ``PhysicalDevice``: always one CPU; one GPU per visible CUDA device when
        nnfast was built with CUDA (see ``cuda_build_info()``).

    Example:
        >>> nnfast.config.list_physical_devices("GPU")
        []
    """
    if device_type is not None:
        device_type = str(device_type).upper()
        if device_type not in ("CPU", "GPU"):
            raise ValueError(f"device_type must be 'CPU', 'GPU' or None. Received: "
                             f"device_type={device_type!r}")
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    devices += [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU")
                for i in range(int(_core.cuda.device_count()))]
    return [d for d in devices if device_type is None or d.device_type == device_type]


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


# --- keras.config ----------------------------------------------------------------------------
from nnfast.backend.global_state import (epsilon, floatx, image_data_format,  # noqa: E402
                                         set_epsilon, set_floatx, set_image_data_format)
from nnfast.utils.io_utils import (disable_interactive_logging,  # noqa: E402
                                   enable_interactive_logging, is_interactive_logging_enabled)

_LIMITS = {"max_epochs": None, "max_steps_per_epoch": None}
_FLAGS = {"flash_attention": None, "traceback_filtering": False}


def backend():
    """The name of the backend: ``"nnfast"`` (its own C++ kernels; no TensorFlow/JAX/torch).

    Example:
        >>> nnfast.config.backend()
        'nnfast'
    """
    return "nnfast"


def set_backend(backend):
    """Keras switches backends here; nnfast is its own single backend, so only
    ``"nnfast"`` is accepted (any other name raises ``ValueError``)."""
    if backend != "nnfast":
        raise ValueError(f"nnfast has a single backend, 'nnfast'. Received: backend={backend!r}")


def _keras_version_from_environment():
    import os

    value = os.environ.get("NNFAST_KERAS_VERSION", "3").strip()
    if value not in ("2", "3"):
        raise ValueError(f"NNFAST_KERAS_VERSION must be 2 or 3. Received: {value!r}")
    return int(value)


_KERAS_VERSION = {"version": _keras_version_from_environment()}


def set_keras_version(version):
    """Chooses Keras 2's or Keras 3's behaviour where the two contradict (default 3, or
    the environment variable ``NNFAST_KERAS_VERSION``). Everything else of Keras 2 works
    either way. With 2, ``model.metrics_names`` names each value ``evaluate`` returns
    (``['loss', 'mae', 'rmse']``) as Keras 2 did, instead of Keras 3's metric objects
    (``['loss', 'compile_metrics']``), and a first ``Embedding(input_length=n)`` declares the
    model's input ``(None, n)`` (Keras 3 ignores ``input_length``).

    Example:
        >>> nnfast.config.set_keras_version(2)
        >>> scores = model.evaluate(x, y)
        >>> print(f"{model.metrics_names[1]}: {scores[1]:.2%}")
    """
    if version not in (2, 3) or isinstance(version, bool):
        raise ValueError(f"`version` must be 2 or 3. Received: version={version!r}")
    _KERAS_VERSION["version"] = int(version)


def keras_version():
    """The major Keras version whose behaviour nnfast follows where Keras 2 and 3
    contradict: 3 (default) or 2 (see ``set_keras_version``)."""
    return _KERAS_VERSION["version"]


def set_max_epochs(max_epochs):
    """Caps the number of epochs of every ``fit`` (None: no cap), as Keras does (with a
    "Limiting epochs" warning when the cap applies)."""
    _LIMITS["max_epochs"] = None if max_epochs is None else int(max_epochs)


def max_epochs():
    """The cap set by ``set_max_epochs`` (None when unset)."""
    return _LIMITS["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the number of batches per epoch of ``fit``/``evaluate``/``predict`` (None: no
    cap)."""
    _LIMITS["max_steps_per_epoch"] = (None if max_steps_per_epoch is None
                                      else int(max_steps_per_epoch))


def max_steps_per_epoch():
    """The cap set by ``set_max_steps_per_epoch`` (None when unset)."""
    return _LIMITS["max_steps_per_epoch"]


def enable_unsafe_deserialization():
    """Lets ``load_model`` deserialize ``Lambda`` layers and other arbitrary code (turns
    ``safe_mode`` off process-wide, as Keras does)."""
    from nnfast.saving import serialization

    serialization.set_default_safe_mode(False)


def enable_flash_attention():
    """Records that flash attention is wanted (``is_flash_attention_enabled()`` is then
    True). nnfast's attention computes the same values either way."""
    _FLAGS["flash_attention"] = True


def disable_flash_attention():
    """Records that flash attention is not wanted (``is_flash_attention_enabled()`` False)."""
    _FLAGS["flash_attention"] = False


def is_flash_attention_enabled():
    """None (the default: the backend decides), True or False as last set."""
    return _FLAGS["flash_attention"]


def is_nnx_enabled():
    """False: Flax NNX is a JAX-backend feature nnfast does not have."""
    return False


def disable_traceback_filtering():
    """nnfast never trims its frames from tracebacks, so they are always unfiltered."""
    _FLAGS["traceback_filtering"] = False


def enable_traceback_filtering():
    """Keras hides its internal frames from tracebacks; nnfast does not implement that."""
    raise NotImplementedError("enable_traceback_filtering: nnfast does not filter its frames "
                              "out of tracebacks.")


def is_traceback_filtering_enabled():
    """False: nnfast shows full tracebacks."""
    return _FLAGS["traceback_filtering"]


def dtype_policy():
    """The global ``DTypePolicy`` layers take when built without ``dtype=``."""
    from nnfast.dtype_policies import global_dtype_policy

    return global_dtype_policy()


def set_dtype_policy(policy):
    """Sets the global dtype policy: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``
    or a ``DTypePolicy`` (see ``nnfast.dtype_policies``)."""
    from nnfast.dtype_policies import set_global_dtype_policy

    set_global_dtype_policy(policy)
