"""Issue 14: ops that allocate from sizes the caller gives refuse sizes that cannot fit in memory
before allocating, with a ValueError naming the argument and the bytes it would need (never
an OOM kill or a MemoryError after the machine started swapping)."""
import numpy as np
import pytest

from nnfast import layers, ops, random
from nnfast.ops import size_limit

N = 2**31 - 1
IMAGES = np.ones((1, 4, 4, 1), "float32")

CASES = {
    "zeros": lambda: ops.zeros((N, N)),
    "ones": lambda: ops.ones((N, 64)),
    "full": lambda: ops.full((N, 64), 1.0),
    "eye": lambda: ops.eye(N),
    "identity": lambda: ops.identity(N),
    "tri": lambda: ops.tri(N),
    "arange": lambda: ops.arange(0, N * 64),
    "linspace": lambda: ops.linspace(0.0, 1.0, N * 64),
    "hamming": lambda: ops.hamming(N * 64),
    "one_hot": lambda: ops.one_hot(np.arange(64), N),
    "multi_hot": lambda: ops.multi_hot(np.zeros((64, 2), "int32"), N),
    "tile": lambda: ops.tile(np.ones(64, "float32"), N),
    "repeat": lambda: ops.repeat(np.ones(64, "float32"), N),
    "pad": lambda: ops.pad(np.ones((2, 2), "float32"), N),
    "broadcast_to": lambda: ops.broadcast_to(np.ones(1, "float32"), (N, N)),
    "bincount": lambda: ops.bincount(np.array([1]), minlength=N * 64),
    "adaptive_average_pool": lambda: ops.adaptive_average_pool(IMAGES, N),
    "adaptive_max_pool": lambda: ops.adaptive_max_pool(IMAGES, (N, 1)),
    "image.resize": lambda: ops.image.resize(IMAGES, (N, N)),
    "image.resize (tall)": lambda: ops.image.resize(IMAGES, (N, 64), interpolation="bicubic"),
    "image.pad_images": lambda: ops.image.pad_images(IMAGES, 0, 0, target_height=N,
                                                     target_width=N),
    "random.normal": lambda: random.normal((N, N)),
    "random.uniform": lambda: random.uniform((N, 64)),
    "random.randint": lambda: random.randint((N, 64), 0, 3),
    "random.truncated_normal": lambda: random.truncated_normal((N, 64)),
    "random.categorical": lambda: random.categorical(np.zeros((64, 3)), N),
    "Dense weights": lambda: layers.Dense(N).build((None, 64)),
    "Embedding weights": lambda: layers.Embedding(N, 64).build((None, 3)),
}


@pytest.fixture
def small_limit(monkeypatch):
    """A 1 GiB limit, so every case is far past it on any machine (and a missed check fails
    with a small allocation's MemoryError rather than eating the machine)."""
    monkeypatch.setattr(size_limit, "_LIMIT", 2**30)


@pytest.mark.parametrize("name", sorted(CASES))
def test_absurd_sizes_are_refused_before_allocating(name, small_limit):
    with pytest.raises(ValueError, match=r"would (need \d+ bytes|have \d+ elements)") as err:
        CASES[name]()
    assert "Received: " in str(err.value)
    assert str(N) in str(err.value) or str(N * 64) in str(err.value)


def test_message_names_the_argument_and_the_bytes():
    with pytest.raises(ValueError) as err:
        ops.one_hot(np.arange(64), N)
    msg = str(err.value)
    assert msg.startswith("one_hot: the result of shape (64, 2147483647)")
    assert f"{64 * N * 4} bytes" in msg or "int64" in msg
    assert "Received: num_classes=2147483647" in msg


def test_int64_overflow_is_refused_without_a_physical_memory_figure():
    with pytest.raises(ValueError, match="more than an int64 can count"):
        ops.zeros((N, N, N))


def test_sizes_that_fit_are_unchanged(small_limit):
    np.testing.assert_array_equal(ops.zeros((2, 3)).numpy(), np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(ops.one_hot(np.array([2, -1]), 3).numpy(),
                                  [[0, 0, 1], [0, 0, 0]])
    assert ops.adaptive_average_pool(IMAGES, 2).shape == (1, 2, 2, 1)
    assert ops.image.resize(IMAGES, (8, 6)).shape == (1, 8, 6, 1)
    assert random.normal((3, 2), seed=0).shape == (3, 2)
    assert ops.arange(5).shape == (5,)


def test_check_result_size_limits():
    limit = size_limit.physical_memory_bytes()
    assert limit is None or limit > 2**26
    size_limit.check_result_size("t", (0, N, N), np.float32, shape=None)  # empty: fine
    size_limit.check_result_size("t", (-1, 3), np.float32, shape=None)  # the op's own error
    with pytest.raises(ValueError, match=r"t: the result of shape \(2, 2\) would need 32 bytes"):
        try:
            orig = size_limit._LIMIT
            size_limit._LIMIT = 16
            size_limit.check_result_size("t", (2, 2), np.float64, shape=(2, 2))
        finally:
            size_limit._LIMIT = orig
