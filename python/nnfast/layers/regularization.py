"""Regularization layers: ``Dropout``."""
import numpy as np

from nnfast import ops
from nnfast.backend import random as nnrandom
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
        out = ops.dropout(inputs, rate, layer._stream_seed, layer._offset)
        layer._offset += int(np.prod(shape))
        return out
    mask = ops.dropout(np.ones(concrete, np.float32), rate, layer._stream_seed, layer._offset)
    layer._offset += int(np.prod(concrete))
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
        out = ops.dropout(inputs, self.rate, self._stream_seed, self._offset)
        self._offset += int(out.size)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config
