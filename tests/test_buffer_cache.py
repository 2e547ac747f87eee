"""The buffer cache that serves NumPy's large arrays (nnfast.config.*buffer_cache*)."""
import contextvars
import threading

import numpy as np
import pytest

import nnfast

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import get_handler_name

MB = 1 << 20


@pytest.fixture
def cache():
    info = nnfast.config.buffer_cache_info()
    if info["limit_bytes"] == 0:
        pytest.skip("the buffer cache is turned off (NNFAST_BUFFER_CACHE_MB=0)")
    yield
    nnfast.config.set_buffer_cache_limit(info["limit_bytes"] / MB)


def test_user_arrays_keep_numpys_allocator_and_model_calls_use_the_cache(cache):
    # import nnfast changes nothing for the user's own arrays (NumPy's default handler) ...
    assert get_handler_name(np.empty(2 * MB, np.uint8)) == "default_allocator"
    model = nnfast.Sequential([nnfast.Input((512,)), nnfast.layers.Dense(1024)])
    x = np.ones((300, 512), np.float32)
    y = model(x)
    # ... while a model call's large outputs come from the cache, and the handler goes back.
    assert get_handler_name(_owner(np.asarray(y))) == "nnfast_buffer_cache"
    assert get_handler_name(_owner(model.predict(x, verbose=0))) == "nnfast_buffer_cache"
    assert get_handler_name(np.empty(2 * MB, np.uint8)) == "default_allocator"


def _owner(a):
    while a.base is not None:  # a view: the array that owns the memory
        a = a.base
    return a


@pytest.fixture
def installed(cache):
    """The cache's handler for the test's whole context (config.install_buffer_cache), run
    in a copy of the context so the opt-in does not leak into other tests."""
    return contextvars.copy_context()


def _in_installed_context(ctx, fn):
    def run():
        nnfast.config.install_buffer_cache()
        fn()
    ctx.run(run)


def test_large_arrays_come_back_from_the_cache(installed):
    _in_installed_context(installed, _large_arrays_come_back)


def _large_arrays_come_back():
    a = np.empty(3 * MB // 4 + 17, np.float32)   # ~3 MiB
    assert get_handler_name(a) == "nnfast_buffer_cache"
    a[:] = 7
    address = a.ctypes.data
    del a
    before = nnfast.config.buffer_cache_info()
    b = np.empty(3 * MB // 4 + 17, np.float32)
    after = nnfast.config.buffer_cache_info()
    assert after["hits"] == before["hits"] + 1
    assert b.ctypes.data == address and b.ctypes.data % 64 == 0
    b[:] = np.arange(b.size, dtype=np.float32)
    assert b[-1] == b.size - 1


def test_small_arrays_zeros_and_resizes_behave(installed):
    _in_installed_context(installed, _small_arrays_zeros_and_resizes)


def _small_arrays_zeros_and_resizes():
    assert get_handler_name(np.empty(100)) == "nnfast_buffer_cache"   # malloc inside
    z = np.zeros((1000, 700))
    assert not z.any()
    c = np.empty(MB // 4, np.float32)   # 1 MiB: from the cache
    c[:] = 3
    c.resize(MB, refcheck=False)        # realloc from a cached block into a bigger one
    assert (c[: MB // 4] == 3).all() and not c[MB // 4:].any()
    s = np.ones(1000)
    s.resize(10 ** 6, refcheck=False)   # realloc from malloc stays with malloc
    assert s[:1000].sum() == 1000 and not s[1000:].any()


def test_limit_bounds_what_is_kept_and_zero_turns_it_off(installed):
    _in_installed_context(installed, _limit_bounds)


def _limit_bounds():
    nnfast.config.set_buffer_cache_limit(5)
    blocks = [np.empty(2 * MB, np.uint8) for _ in range(4)]
    del blocks
    assert nnfast.config.buffer_cache_info()["cached_bytes"] <= 5 * MB
    nnfast.config.set_buffer_cache_limit(0)
    assert nnfast.config.buffer_cache_info()["cached_bytes"] == 0
    misses = nnfast.config.buffer_cache_info()["misses"]
    d = np.empty(4 * MB, np.uint8)
    del d
    info = nnfast.config.buffer_cache_info()
    assert info["misses"] == misses and info["cached_bytes"] == 0
    with pytest.raises(ValueError, match=">= 0"):
        nnfast.config.set_buffer_cache_limit(-1)
    nnfast.config.clear_buffer_cache()


def test_arrays_cross_threads(installed):
    _in_installed_context(installed, _arrays_cross_threads)


def _arrays_cross_threads():
    made = {}

    def worker():
        made["other"] = np.ones(2 * MB, np.uint8)   # the thread's own (default) handler
        made["ours"].fill(5)
        del made["ours"]                            # a cached block freed in another thread

    made["ours"] = np.empty(2 * MB, np.uint8)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert made["other"].sum() == 2 * MB
    del made["other"]
