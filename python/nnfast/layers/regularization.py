"""Regularization layers: ``Dropout``, ``GaussianNoise``, ``GaussianDropout``,
``AlphaDropout``, ``ActivityRegularization``."""
import numpy as np

from nnfast import ops, regularizers
from nnfast.backend import random as nnrandom
from nnfast.distribution.shard import draw_rows, mask_offsets
from nnfast.layers.layer import Layer


def validate_noise_shape(noise_shape):
    """Keras's check of ``Dropout(noise_shape=...)``: None, or a tuple of positive ints and
    Nones (None = take that dimension from the input)."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str):
        raise ValueError(f"Invalid value received for argument `noise_shape`. Expected a tuple "
                         f"or list of integers. Received: noise_shape={noise_shape}")
    try:
        noise_shape = tuple(noise_shape)
    except TypeError:
        raise ValueError(f"Invalid value received for argument `noise_shape`. Expected an "
                         f"iterable of integers (e.g., a tuple or list). "
                         f"Received: noise_shape={noise_shape}") from None
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            raise ValueError(f"Invalid value received for argument `noise_shape`. Expected all "
                             f"elements to be integers or None. Received element at index "
                             f"{i}: {dim} (type: {type(dim).__name__})")
        if dim <= 0:
            raise ValueError(f"Invalid value received for argument `noise_shape`. Expected all "
                             f"dimensions to be positive integers or None. Received negative "
                             f"or zero value at index {i}: {dim}")
    return tuple(None if d is None else int(d) for d in noise_shape)


def broadcast_dropout(layer, inputs, rate, noise_shape):
    """Dropout with a keep-mask of shape ``noise_shape`` broadcast over ``inputs`` (Keras's
    ``noise_shape``; SpatialDropout is the (batch, 1, 1, channels) case).

    The mask is drawn from ``layer._stream_seed`` at ``layer._offset`` (advanced by the mask
    size), so it is reproducible like plain ``Dropout``. Each mask entry is 0 or
    ``1 / (1 - rate)``; the gradient to ``inputs`` is the same mask, through the multiply.
    """
    shape = tuple(inputs.shape)
    if len(noise_shape) != len(shape):
        raise ValueError(f"noise_shape {noise_shape} must have one entry per input dimension; "
                         f"received an input of shape {shape}")
    concrete = tuple(n if d is None else d for d, n in zip(noise_shape, shape))
    if any(d not in (1, n) for d, n in zip(concrete, shape)):
        raise ValueError(f"noise_shape {noise_shape} does not broadcast to the input shape "
                         f"{shape}: each dimension must be 1, None or the input's size")
    if concrete == shape:  # no broadcasting: the fused elementwise op
        draw_at, layer._offset = mask_offsets(layer._offset, shape)
        return ops.dropout(inputs, rate, layer._stream_seed, draw_at)
    if concrete[0] == 1:  # one mask for every row: the same on every rank
        draw_at, layer._offset = layer._offset, layer._offset + int(np.prod(concrete))
    else:  # this rank's rows of the global batch's mask
        draw_at, layer._offset = mask_offsets(layer._offset, concrete)
    mask = ops.dropout(np.ones(concrete, np.float32), rate, layer._stream_seed, draw_at)
    return ops.multiply(inputs, np.asarray(mask))


class Dropout(Layer):
    """Inverted dropout: during training, zeroes each input with probability ``rate`` and
    scales the rest by ``1 / (1 - rate)``; the identity at inference.

    The mask comes from a counter-based generator seeded per layer (from ``seed`` or
    ``nnfast.utils.set_random_seed``), so a run is reproducible and does not depend on the
    number of threads.

    Args:
        rate: fraction of the inputs to drop, in [0, 1].
        noise_shape: shape of the keep-mask, broadcast over the input; ``None`` entries take
            the input's size. E.g. ``(batch, 1, features)`` on ``(batch, timesteps,
            features)`` drops the same features at every timestep.
        seed: seed of this layer's mask stream.

    Example:
        >>> Dropout(0.5, noise_shape=(None, 1, 8))(np.ones((2, 5, 8), "float32"),
        ...                                         training=True).shape
        (2, 5, 8)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        self.rate = float(rate)
        self.noise_shape = validate_noise_shape(noise_shape)
        self.seed = seed
        self._stream_seed = nnrandom.draw_seed() if seed is None else int(seed)
        self._offset = 0
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate >= 1.0:
            return ops.multiply(inputs, 0.0)
        if self.noise_shape is not None:
            return broadcast_dropout(self, inputs, self.rate, self.noise_shape)
        # Under data parallelism this rank holds some rows of the global batch: it draws
        # those rows of the global batch's mask, so the split does not change the masks.
        draw_at, self._offset = mask_offsets(self._offset, inputs.shape)
        return ops.dropout(inputs, self.rate, self._stream_seed, draw_at)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


def _check_rate(value, name):
    if not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float "
                         f"value between 0 and 1. Received: {name}={value}")
    return value


class _NoiseLayer(Layer):
    """Shared seeding of the Gaussian/alpha noise layers: a per-layer NumPy Generator from
    ``seed`` (or from the global stream that ``nnfast.utils.set_random_seed`` seeds), so a
    run is reproducible; each training call draws fresh noise from it."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = nnrandom.make_generator(seed)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_NoiseLayer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` during training
    (``inputs + N(0, stddev^2)``, fresh noise per call); the identity at inference.

    The gradient to ``inputs`` is the identity (the noise is a constant of the step).

    Args:
        stddev: standard deviation of the noise, in [0, 1] (as Keras checks).
        seed: seed of this layer's noise stream.

    Example:
        >>> GaussianNoise(0.1)(np.zeros((2, 3), "float32"), training=True).shape
        (2, 3)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _check_rate(stddev, "stddev")

    def call(self, inputs, training=False):
        if not training or self.stddev <= 0:
            return inputs
        shape = tuple(np.shape(inputs))
        noise = draw_rows(lambda s: self._rng.standard_normal(s, dtype=np.float32), shape,
                          shape[0] if shape else 1)
        noise *= np.float32(self.stddev)
        return ops.add(inputs, noise)

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(_NoiseLayer):
    """Multiplies the inputs by 1-centred Gaussian noise of standard deviation
    ``sqrt(rate / (1 - rate))`` during training; the identity at inference.

    Args:
        rate: drop probability as in ``Dropout``, in [0, 1].
        seed: seed of this layer's noise stream.

    Example:
        >>> GaussianDropout(0.2)(np.ones((2, 3), "float32"), training=True).shape
        (2, 3)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, "rate")

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        stddev = np.float32(np.sqrt(self.rate / (1.0 - self.rate)))
        shape = tuple(np.shape(inputs))
        noise = draw_rows(lambda s: self._rng.standard_normal(s, dtype=np.float32), shape,
                          shape[0] if shape else 1)
        noise *= stddev
        noise += np.float32(1.0)
        return ops.multiply(inputs, noise)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


# SELU's constants: alpha dropout sets dropped units to SELU's negative saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(_NoiseLayer):
    """Dropout that keeps the mean and variance of SELU activations: during training each
    unit is kept with probability ``1 - rate`` or set to ``alpha' = -1.7581`` (SELU's
    saturation value), then ``a * x + b`` restores zero mean and unit variance, with
    ``a = ((1 - rate) * (1 + rate * alpha'^2)) ** -0.5`` and ``b = -a * alpha' * rate``.
    The identity at inference.

    Args:
        rate: drop probability, in [0, 1].
        noise_shape: shape of the keep-mask broadcast over the input (``None`` entries take
            the input's size), as in ``Dropout``.
        seed: seed of this layer's mask stream.

    Example:
        >>> AlphaDropout(0.1)(np.zeros((2, 3), "float32"), training=True).shape
        (2, 3)
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, "rate")
        self.noise_shape = validate_noise_shape(noise_shape)

    def call(self, inputs, training=False):
        if not training or self.rate <= 0:
            return inputs
        shape = tuple(np.shape(inputs))
        if self.noise_shape is None:
            mask_shape = shape
        else:
            if len(self.noise_shape) != len(shape):
                raise ValueError(f"noise_shape {self.noise_shape} must have one entry per "
                                 f"input dimension; received an input of shape {shape}")
            mask_shape = tuple(n if d is None else d for d, n in zip(self.noise_shape, shape))
        uniform = draw_rows(lambda s: self._rng.random(s, dtype=np.float32), mask_shape,
                            shape[0] if shape else 1)
        kept = (uniform >= self.rate).astype(np.float32)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a * (x * kept + alpha_p * (1 - kept)) + b, as one multiply and one add so the
        # gradient to x is a * kept.
        scale = (np.float32(a) * kept).astype(np.float32)
        shift = (np.float32(a * alpha_p) * (np.float32(1.0) - kept) + np.float32(b)) \
            .astype(np.float32)
        return ops.add(ops.multiply(inputs, scale), shift)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds ``l1 * sum(|x|) + l2 * sum(x^2)`` of it to the
    model's losses (Keras's activity regularizer ``L1L2(l1, l2)``).

    Args:
        l1: L1 factor: adds ``l1 * sum(|x|)`` of the inputs to the loss. Defaults to ``0.0``.
        l2: L2 factor: adds ``l2 * sum(x ** 2)`` of the inputs to the loss. Defaults to ``0.0``.

    Example:
        >>> layer = ActivityRegularization(l2=0.01)
        >>> _ = layer(np.ones((2, 3), "float32"))
        >>> round(float(layer.losses[0]), 6)  # 0.01 * 6 over a batch of 2, as Keras
        0.03
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        # A Tensor even for a NumPy input: the base class penalises Tensor outputs only.
        return ops.convert_to_tensor(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
