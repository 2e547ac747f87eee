"""nnfast.random: Keras's seeding semantics, and each distribution checked statistically
(Kolmogorov-Smirnov or moments against SciPy) with fixed seeds."""
import nnfast
import numpy as np
import pytest
from nnfast import random
from scipy import stats

N = 20000


def a(t):
    return np.asarray(t, dtype=np.float64)


def test_int_seed_repeats_and_generator_advances():
    np.testing.assert_array_equal(a(random.normal((5,), seed=7)), a(random.normal((5,), seed=7)))
    assert not np.array_equal(a(random.normal((5,), seed=7)), a(random.normal((5,), seed=8)))
    gen = random.SeedGenerator(1337)
    first, second = a(random.uniform((5,), seed=gen)), a(random.uniform((5,), seed=gen))
    assert not np.array_equal(first, second)
    replay = random.SeedGenerator(1337)
    np.testing.assert_array_equal(a(random.uniform((5,), seed=replay)), first)
    np.testing.assert_array_equal(a(random.uniform((5,), seed=replay)), second)
    assert gen.state.value.tolist() == [1337, 2] and not gen.state.trainable
    assert random.SeedGenerator.from_config(gen.get_config()).get_config() == gen.get_config()


def test_global_generator_follows_set_random_seed():
    nnfast.utils.set_random_seed(3)
    x1, x2 = a(random.normal((4,))), a(random.normal((4,)))
    assert not np.array_equal(x1, x2)
    nnfast.utils.set_random_seed(3)
    np.testing.assert_array_equal(a(random.normal((4,))), x1)
    np.testing.assert_array_equal(a(random.normal((4,))), x2)
    nnfast.utils.set_random_seed(4)
    assert not np.array_equal(a(random.normal((4,))), x1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed"):
        random.normal((2,), seed="x")
    with pytest.raises(ValueError, match="floating point"):
        random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer"):
        random.randint((2,), 0, 5, dtype="float32")
    with pytest.raises(ValueError, match="rate"):
        random.dropout(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="2-D"):
        random.categorical(np.zeros(3), 2)


@pytest.mark.parametrize("name,draw,dist", [
    ("normal", lambda: random.normal((N,), mean=1.5, stddev=2.0, seed=1),
     stats.norm(loc=1.5, scale=2.0)),
    ("uniform", lambda: random.uniform((N,), minval=-2.0, maxval=3.0, seed=2),
     stats.uniform(loc=-2.0, scale=5.0)),
    ("truncated_normal", lambda: random.truncated_normal((N,), mean=-1.0, stddev=0.5, seed=3),
     stats.truncnorm(-2, 2, loc=-1.0, scale=0.5)),
    ("gamma", lambda: random.gamma((N,), alpha=2.5, seed=4), stats.gamma(2.5)),
    ("beta", lambda: random.beta((N,), alpha=2.0, beta=5.0, seed=5), stats.beta(2.0, 5.0)),
])
def test_continuous_distributions_ks(name, draw, dist):
    x = draw()
    assert x.dtype == np.float32 and x.shape == (N,)
    assert stats.kstest(a(x), dist.cdf).pvalue > 1e-3, name


def test_dtypes_and_shapes():
    assert random.normal((2, 3), dtype="float64", seed=0).dtype == np.float64
    assert random.randint((2, 3), 0, 4, seed=0).dtype == np.int32
    assert random.categorical(np.zeros((2, 3)), 4, seed=0).shape == (2, 4)
    assert random.binomial((3,), 5, 0.5, seed=0).dtype == np.float32


def test_randint_uniform_counts():
    x = np.asarray(random.randint((N,), -3, 4, seed=6))
    assert x.min() == -3 and x.max() == 3
    counts = np.bincount(x + 3, minlength=7)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_binomial_moments():
    x = a(random.binomial((N,), counts=10, probabilities=0.3, seed=7))
    assert np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 10
    counts = np.bincount(x.astype(int), minlength=11)
    expected = stats.binom(10, 0.3).pmf(np.arange(11)) * N
    keep = expected > 5
    assert stats.chisquare(counts[keep], expected[keep] * counts[keep].sum() / expected[keep].sum()
                           ).pvalue > 1e-3


def test_categorical_frequencies():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]])
    x = np.asarray(random.categorical(np.log(probs), N, seed=8))
    for row in range(2):
        counts = np.bincount(x[row], minlength=3)
        assert stats.chisquare(counts, probs[row] * N).pvalue > 1e-3


def test_dropout_mask_scale_noise_shape_and_gradient():
    x = np.ones((200, 50), "float32")
    y = a(random.dropout(x, 0.3, seed=9))
    assert set(np.unique(y)) <= {0.0, float(np.float32(1.0 / 0.7))}
    assert abs((y == 0).mean() - 0.3) < 0.02
    y = a(random.dropout(np.ones((4, 6, 8), "float32"), 0.5, noise_shape=(None, 1, 8), seed=1))
    assert np.all(y == y[:, :1, :])                       # one mask for every step
    assert np.array_equal(a(random.dropout(x, 0.5, seed=3)), a(random.dropout(x, 0.5, seed=3)))
    v = nnfast.Variable(np.arange(1, 7, dtype="float32").reshape(2, 3))  # no zero inputs
    with nnfast.GradientTape() as tape:
        out = random.dropout(v, 0.5, seed=4)
        loss = nnfast.ops.sum(out)
    np.testing.assert_allclose(tape.gradient(loss, v), (a(out) != 0) * 2.0)


def test_shuffle_permutes_along_axis():
    x = np.arange(30, dtype="float32").reshape(5, 6)
    y = a(random.shuffle(x, seed=3))
    assert sorted(map(tuple, y.tolist())) == sorted(map(tuple, x.tolist()))
    assert not np.array_equal(y, x)
    y1 = a(random.shuffle(x, axis=1, seed=3))
    np.testing.assert_array_equal(np.sort(y1, axis=1), x)
