"""``nnfast.random``: seeded random tensors with ``keras.random``'s seeding semantics.

- ``seed=<int>``: the same numbers on every call with that seed (stateless).
- ``seed=SeedGenerator(...)``: the generator advances, so each call gives new numbers, and
  a new generator with the same seed replays the same sequence.
- ``seed=None``: draws from a global ``SeedGenerator``, which
  ``nnfast.utils.set_random_seed`` resets, so a seeded program is reproducible.

Each draw turns its seed pair into a NumPy ``Generator`` (PCG64 through ``SeedSequence``);
the numbers are nnfast's own, not TensorFlow's or JAX's bit streams.

Example:
    >>> from nnfast import random
    >>> random.normal((2, 3), seed=42)                     # same values every call
    >>> gen = random.SeedGenerator(1337)
    >>> a, b = random.uniform((2,), seed=gen), random.uniform((2,), seed=gen)   # a != b
"""
import numpy as np

from nnfast.backend import random as _backend_random
from nnfast.backend.global_state import unique_name as _unique_name
from nnfast.backend.tensor import Tensor as _Tensor, Variable as _Variable
from nnfast.ops._util import value as _value
from nnfast.ops.size_limit import check_result_size as _check_result_size
from nnfast.ops.array import convert_to_tensor as _convert_to_tensor, get_item as _get_item
from nnfast.ops.math import multiply as _multiply

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]


class SeedGenerator:
    """A stream of seeds: each random op that receives it takes the next seed.

    Args:
        seed: initial integer seed; None draws one from nnfast's global generator (seeded by
            ``nnfast.utils.set_random_seed``).
        name: name of the generator (and of its state variable's scope).

    Attributes:
        state: a non-trainable ``Variable`` ``[seed, counter]`` (int64), saved with the
            layer that owns the generator.

    Example:
        >>> gen = SeedGenerator(seed=42)
        >>> values = normal((2, 3), seed=gen)
        >>> new_values = normal((2, 3), seed=gen)   # different from values
    """

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
        self.name = name if name is not None else _unique_name("seed_generator")
        self._initial_seed = seed
        if seed is None:
            seed = int(_backend_random.generator().integers(1, 10**9))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed}")
        self.state = _Variable(np.array([int(seed), 0], dtype=np.int64), trainable=False,
                               name="seed_generator_state", dtype="int64")
        self.state.path = f"{self.name}/seed_generator_state"

    def next(self, ordered=True):
        """The current ``[seed, counter]`` pair (a copy); then the counter advances."""
        current = self.state.value.copy()
        self.state.value[1] += 1
        return current

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name} state={self.state.value.tolist()}>"


def _global_seed_generator():
    """The generator behind ``seed=None`` (recreated after ``set_random_seed``)."""
    gen = _backend_random.global_seed_generator
    if gen is None:
        gen = _backend_random.global_seed_generator = SeedGenerator(name="global_seed_generator")
    return gen


def _draw_seed(seed):
    """The ``[seed, counter]`` pair a random op uses for ``seed`` (int, SeedGenerator, None).

    Args:
        seed: an int, a ``SeedGenerator`` or None (the global generator).
    """
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.array([int(seed), 0], dtype=np.int64)
    if seed is None:
        return _global_seed_generator().next()
    raise ValueError("Argument `seed` must be either an integer or an instance of "
                     f"`SeedGenerator`. Received: seed={seed} (of type {type(seed)})")


def _generator(seed):
    pair = _draw_seed(seed)
    # SeedSequence wants non-negative words: map each 64-bit value to its unsigned form.
    return np.random.default_rng([int(v) & (2**64 - 1) for v in pair])


def _float_dtype(dtype, name):
    dt = np.dtype("float32" if dtype is None else dtype)
    if not np.issubdtype(dt, np.floating):
        raise ValueError(f"`keras.random.{name}` requires a floating point `dtype`. "
                         f"Received: dtype={dtype}")
    return dt


def _shape(shape, what):
    """``shape`` as a tuple of ints; refused before drawing if the float64 samples NumPy's
    generator makes could not fit in memory."""
    dims = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    _check_result_size(f"keras.random.{what}", dims, np.float64, shape=shape)
    return dims


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution ``N(mean, stddev**2)``.

    Args:
        shape: output shape.
        mean: the distribution's mean (default 0.0).
        stddev: the distribution's standard deviation (default 1.0).
        dtype: float dtype (default float32).
        seed: int, SeedGenerator, or None (global generator).

    Example:
        >>> normal((2, 3), stddev=0.1, seed=0).shape
        (2, 3)
    """
    dt = _float_dtype(dtype, "normal")
    x = _generator(seed).standard_normal(_shape(shape, "normal"))
    return _Tensor((x * stddev + mean).astype(dt))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of a uniform distribution on ``[minval, maxval)``.

    Args:
        shape: shape of the result (a tuple of ints).
        minval: lower bound (inclusive). Defaults to ``0.0``.
        maxval: upper bound (exclusive). Defaults to ``1.0``.
        dtype: dtype of the result; None: ``keras.config.floatx()`` (float32).
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> uniform((4,), minval=-1.0, maxval=1.0, seed=0).shape
        (4,)
    """
    dt = _float_dtype(dtype, "uniform")
    x = _generator(seed).random(_shape(shape, "uniform"))
    return _Tensor((minval + (maxval - minval) * x).astype(dt))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from ``[minval, maxval)``.

    Args:
        shape: shape of the result (a tuple of ints).
        minval: lowest value (inclusive).
        maxval: upper bound (exclusive).
        dtype: an integer dtype. Defaults to ``"int32"``.
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> randint((3,), 0, 10, seed=0).dtype
        dtype('int32')
    """
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.integer):
        raise ValueError(f"`keras.random.randint` requires an integer `dtype`. "
                         f"Received: dtype={dtype}")
    if int(maxval) <= int(minval):
        raise ValueError(f"randint: `maxval` must be greater than `minval`. Received: "
                         f"minval={minval}, maxval={maxval}")
    x = _generator(seed).integers(int(minval), int(maxval), size=_shape(shape, "randint"))
    return _Tensor(x.astype(dt))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples restricted to within two standard deviations of the mean (values
    outside are drawn again).

    Args:
        shape: shape of the result (a tuple of ints).
        mean: mean of the distribution. Defaults to ``0.0``.
        stddev: standard deviation; values further than two of them from the mean are redrawn.
            Defaults to ``1.0``.
        dtype: dtype of the result; None: ``keras.config.floatx()`` (float32).
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> bool((np.abs(np.asarray(truncated_normal((100,), seed=0))) <= 2).all())
        True
    """
    dt = _float_dtype(dtype, "truncated_normal")
    rng = _generator(seed)
    shape = _shape(shape, "truncated_normal")
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2.0
    while bad.any():  # about 4.6% redrawn each round
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2.0
    return _Tensor((x * stddev + mean).astype(dt))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout: zeroes each entry with probability ``rate`` and scales the rest by
    ``1 / (1 - rate)`` (differentiable in ``inputs``).

    Args:
        inputs: input tensor.
        rate: drop probability in ``[0, 1]``.
        noise_shape: shape of the keep-mask, broadcast over ``inputs``; None entries take
            the input's size (``(batch, 1, features)`` drops whole features at every step).
        seed: int, SeedGenerator, or None.

    Example:
        >>> dropout(np.ones((2, 4), "float32"), 0.5, seed=1)   # entries are 0 or 2
        <Tensor shape=(2, 4) dtype=float32
        array([[2., 2., 0., 2.],
               [0., 0., 2., 0.]], dtype=float32)>
    """
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                         f"between 0 and 1. Received: rate={rate}")
    x_shape = np.shape(_value(inputs))
    if noise_shape is None:
        mask_shape = x_shape
    else:
        noise_shape = tuple(noise_shape)
        if len(noise_shape) != len(x_shape):
            raise ValueError(f"dropout: `noise_shape` {noise_shape} must have the rank of the "
                             f"inputs {x_shape}.")
        mask_shape = tuple(d if n is None else int(n) for n, d in zip(noise_shape, x_shape))
    keep = _generator(seed).random(mask_shape) >= rate
    if not isinstance(inputs, _Tensor):
        inputs = _convert_to_tensor(inputs)
    x_dtype = inputs.dtype
    dt = x_dtype if np.issubdtype(x_dtype, np.floating) else np.float32
    scale = 0.0 if rate >= 1.0 else 1.0 / (1.0 - rate)
    return _multiply(inputs, (keep * scale).astype(dt))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` randomly permuted (differentiable).

    Args:
        x: the tensor to shuffle.
        axis: the axis shuffled. Defaults to ``0``.
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> sorted(np.asarray(shuffle(np.arange(5), seed=3)).tolist())
        [0, 1, 2, 3, 4]
    """
    x_shape = np.shape(_value(x))
    if len(x_shape) == 0:
        raise ValueError("shuffle: expected a tensor of rank >= 1. Received a scalar.")
    axis = axis % len(x_shape)
    perm = _generator(seed).permutation(x_shape[axis])
    key = (slice(None),) * axis + (perm,)
    if not isinstance(x, _Tensor):
        x = _convert_to_tensor(x)
    return _get_item(x, key)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of a Gamma distribution of shape ``alpha`` and scale 1.

    Args:
        shape: shape of the result (a tuple of ints).
        alpha: shape parameter of the distribution (float).
        dtype: dtype of the result; None: ``keras.config.floatx()`` (float32).
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> gamma((3,), alpha=2.0, seed=0).shape
        (3,)
    """
    dt = _float_dtype(dtype, "gamma")
    x = _generator(seed).standard_gamma(np.asarray(_value(alpha), dtype=np.float64),
                                        size=_shape(shape, "gamma"))
    return _Tensor(x.astype(dt))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of a binomial distribution: successes in ``counts`` trials of probability
    ``probabilities`` (both broadcast to ``shape``), as floats.

    Args:
        shape: shape of the result (a tuple of ints).
        counts: number of trials (float or array broadcast to ``shape``).
        probabilities: success probability of each trial.
        dtype: dtype of the result; None: ``keras.config.floatx()`` (float32).
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> binomial((3,), counts=10, probabilities=0.5, seed=0).dtype
        dtype('float32')
    """
    dt = _float_dtype(dtype, "binomial")
    counts = np.asarray(_value(counts), dtype=np.float64)
    probabilities = np.asarray(_value(probabilities), dtype=np.float64)
    x = _generator(seed).binomial(counts.astype(np.int64), probabilities,
                                  size=_shape(shape, "binomial"))
    return _Tensor(x.astype(dt))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of a Beta(``alpha``, ``beta``) distribution on [0, 1].

    Args:
        shape: shape of the result (a tuple of ints).
        alpha: first shape parameter (float or array broadcast to ``shape``).
        beta: second shape parameter.
        dtype: dtype of the result; None: ``keras.config.floatx()`` (float32).
        seed: an int, a ``keras.random.SeedGenerator`` or None (the global seed generator): the
            same int seed gives the same numbers.

    Example:
        >>> beta((3,), alpha=2.0, beta=5.0, seed=0).shape
        (3,)
    """
    dt = _float_dtype(dtype, "beta")
    x = _generator(seed).beta(np.asarray(_value(alpha), dtype=np.float64),
                              np.asarray(_value(beta), dtype=np.float64),
                              size=_shape(shape, "beta"))
    return _Tensor(x.astype(dt))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class indices drawn from the categorical distributions given by ``logits``.

    Args:
        logits: ``(batch, num_classes)`` unnormalized log-probabilities.
        num_samples: samples per row.
        dtype: integer dtype of the result.
        seed: int, SeedGenerator, or None.

    Returns:
        ``(batch, num_samples)`` integers.

    Example:
        >>> categorical(np.log([[0.1, 0.9]]), 5, seed=0).shape
        (1, 5)
    """
    dt = np.dtype(dtype)
    if not np.issubdtype(dt, np.integer):
        raise ValueError(f"`keras.random.categorical` requires an integer `dtype`. "
                         f"Received: dtype={dtype}")
    logits = np.asarray(_value(logits), dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
                         f"Received: logits={logits.shape}")
    num_samples = int(num_samples)
    _check_result_size("keras.random.categorical", (logits.shape[0], num_samples, logits.shape[1]),
                      np.float64, num_samples=num_samples)
    # Gumbel-max: argmax(logits + Gumbel noise) is distributed as softmax(logits).
    u = _generator(seed).random((logits.shape[0], num_samples, logits.shape[1]))
    gumbel = -np.log(-np.log(np.clip(u, 1e-300, 1.0)))
    return _Tensor(np.argmax(logits[:, None, :] + gumbel, axis=-1).astype(dt))
