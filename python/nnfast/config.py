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
from nnfast import dtype_policies as _dtype_policies
from nnfast import thread_governor as _thread_governor
from nnfast.saving import serialization as _serialization


def set_num_threads(n):
    """Number of OpenMP threads the kernels may use. Setting it turns off nnfast's adapting
    of the default thread count to the machine's load (``nnfast.thread_governor``).

    Args:
        n: the thread count (>= 1).

    Example:
        >>> keras.config.set_num_threads(2)
        >>> keras.config.get_num_threads()
        2
        >>> keras.config.set_num_threads(1)
    """

    _core.set_num_threads(int(n))
    _thread_governor.GOVERNOR.user_chose()


def get_num_threads():
    """The number of OpenMP threads the kernels use now
    (``set_num_threads``'s, or the count nnfast chose for the machine's load).

    Returns:
        An int >= 1.

    Example:
        >>> keras.config.set_num_threads(1)
        >>> keras.config.get_num_threads()
        1
    """
    return _core.num_threads()


def set_max_isa(name):
    """Caps the instruction set kernels use: ``"avx512"``, ``"avx2"`` or ``"ref"`` (scalar).

    The environment variable ``NNFAST_MAX_ISA`` sets the same cap at start-up.

    Args:
        name: ``"avx512"``, ``"avx2"`` or ``"ref"``.

    Example:
        >>> keras.config.set_max_isa("ref")
        >>> keras.config.active_isa()
        'ref'
        >>> keras.config.set_max_isa(keras.config.cpu_best_isa())
    """
    _core.set_max_isa(str(name))


def active_isa():
    """The instruction set the kernels use now: ``"avx512"``,
    ``"avx2"`` or ``"ref"`` (the best the CPU has, capped by ``set_max_isa`` or the
    ``NNFAST_MAX_ISA`` environment variable).

    Returns:
        The name, a str.

    Example:
        >>> keras.config.active_isa() in ("avx512", "avx2", "ref")
        True
    """
    return _core.active_isa()


def cpu_best_isa():
    """The best instruction set this CPU runs (whatever the cap of
    ``set_max_isa``): ``"avx512"``, ``"avx2"`` or ``"ref"``.

    Returns:
        The name, a str.

    Example:
        >>> keras.config.cpu_best_isa() in keras.config.available_isas()
        True
    """
    return _core.cpu_best_isa()


def available_isas():
    """The variants this CPU can run, most portable first.

    Example:
        >>> keras.config.available_isas()[0]
        'ref'
    """
    order = ["ref", "avx2", "avx512"]
    return order[: order.index(_core.cpu_best_isa()) + 1]


def kernel_info():
    """Which kernels were chosen and why: ISA, GEMM micro-kernel, threads, whether the
    default thread count adapts to the machine's load (``adaptive_threads``: see
    ``nnfast.thread_governor``), and the implementation each kernel family of the dispatch
    registry ran last (``selected_kernels``; ``NNFAST_VERBOSE=1`` logs why)."""

    return {"cpu_best_isa": _core.cpu_best_isa(), "active_isa": _core.active_isa(),
            "gemm_kernel": _core.gemm_kernel_name(), "num_threads": _core.num_threads(),
            "adaptive_threads": (_thread_governor.GOVERNOR.enabled
                                 and not _thread_governor.GOVERNOR.user_set),
            "selected_kernels": _core.selected_kernels()}


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
# NumPy arrays of 1 MiB and more that nnfast creates while it runs a model come from a cache
# of freed blocks of the same size (nnfast.backend.memory). NNFAST_BUFFER_CACHE_MB sets the
# most it keeps (default 1024; 0 turns it off).


def install_buffer_cache():
    """Makes every large NumPy array (>= 1 MiB) created in the calling context, also outside
    nnfast's calls, come from nnfast's buffer cache.

    nnfast already uses the cache inside model calls, ``fit``, ``evaluate`` and ``predict``;
    this opts the rest of the calling thread's context in (for programs that allocate large
    temporary arrays of their own in a loop). NumPy keeps the choice per context.

    Example:
        >>> nnfast.config.install_buffer_cache()
    """
    _core.numpy_buffer_cache_enter()


def buffer_cache_info():
    """``{'cached_bytes', 'limit_bytes', 'hits', 'misses'}`` of the buffer cache."""
    return dict(_core.buffer_cache_stats())


def set_buffer_cache_limit(megabytes):
    """Most memory (MiB) the buffer cache keeps for reuse; 0 frees it and turns it off.

    Args:
        megabytes: the limit in MiB (>= 0; 0 turns the cache off).

    Example:
        >>> keras.config.set_buffer_cache_limit(256)
    """
    if megabytes < 0:
        raise ValueError(f"The buffer cache limit must be >= 0 MiB, received {megabytes}")
    _core.buffer_cache_set_limit(int(megabytes * (1 << 20)))


def clear_buffer_cache():
    """Frees every block the buffer cache keeps (arrays in use are not affected).

    Example:
        >>> keras.config.clear_buffer_cache()
    """
    _core.buffer_cache_clear()


# --- keras.config ----------------------------------------------------------------------------
from nnfast.backend.global_state import (  # noqa: E402
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from nnfast.utils.io_utils import (  # noqa: E402
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)

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
    ``"nnfast"`` is accepted (any other name raises ``ValueError``).

    Args:
        backend: must be ``"nnfast"``.

    Example:
        >>> keras.config.set_backend("nnfast")
        >>> keras.config.backend()
        'nnfast'
    """
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

    Args:
        version: 2 or 3.

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
    contradict: 3 (default) or 2 (see ``set_keras_version``).

    Example:
        >>> keras.config.keras_version()
        3
    """
    return _KERAS_VERSION["version"]


def set_max_epochs(max_epochs):
    """Caps the number of epochs of every ``fit`` (None: no cap), as Keras does (with a
    "Limiting epochs" warning when the cap applies).

    Args:
        max_epochs: the cap (None: no cap).

    Example:
        >>> keras.config.set_max_epochs(1)
        >>> keras.config.max_epochs()
        1
        >>> keras.config.set_max_epochs(None)
    """
    _LIMITS["max_epochs"] = None if max_epochs is None else int(max_epochs)


def max_epochs():
    """The cap set by ``set_max_epochs`` (None when unset).

    Example:
        >>> keras.config.max_epochs() is None
        True
    """
    return _LIMITS["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the number of batches per epoch of ``fit``/``evaluate``/``predict`` (None: no
    cap).

    Args:
        max_steps_per_epoch: the cap (None: no cap).

    Example:
        >>> keras.config.set_max_steps_per_epoch(10)
        >>> keras.config.max_steps_per_epoch()
        10
        >>> keras.config.set_max_steps_per_epoch(None)
    """
    _LIMITS["max_steps_per_epoch"] = (None if max_steps_per_epoch is None
                                      else int(max_steps_per_epoch))


def max_steps_per_epoch():
    """The cap set by ``set_max_steps_per_epoch`` (None when unset).

    Example:
        >>> keras.config.max_steps_per_epoch() is None
        True
    """
    return _LIMITS["max_steps_per_epoch"]


def enable_unsafe_deserialization():
    """Lets ``load_model`` deserialize ``Lambda`` layers and other arbitrary code (turns
    ``safe_mode`` off process-wide, as Keras does).

    Example:
        >>> keras.config.enable_unsafe_deserialization()
    """

    _serialization.set_default_safe_mode(False)


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
    """The global ``DTypePolicy`` layers take when built without ``dtype=``.

    Example:
        >>> keras.config.dtype_policy().name
        'float32'
    """

    return _dtype_policies.global_dtype_policy()


def set_dtype_policy(policy):
    """Sets the global dtype policy: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``
    or a ``DTypePolicy`` (see ``nnfast.dtype_policies``).

    Args:
        policy: a policy name or a ``DTypePolicy``.

    Example:
        >>> keras.config.set_dtype_policy("mixed_bfloat16")
        >>> keras.config.dtype_policy().name
        'mixed_bfloat16'
        >>> keras.config.set_dtype_policy("float32")
    """

    _dtype_policies.set_global_dtype_policy(policy)
