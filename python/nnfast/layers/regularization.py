"""Regularization layers: ``Dropout``."""
from nnfast import ops
from nnfast.backend import random as nnrandom
from nnfast.layers.layer import Layer


class Dropout(Layer):
    """Inverted dropout: during training, zeroes each input with probability ``rate`` and
    scales the rest by ``1 / (1 - rate)``; the identity at inference.

    The mask comes from a counter-based generator seeded per layer (from ``seed`` or
    ``nnfast.utils.set_random_seed``), so a run is reproducible and does not depend on the
    number of threads.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
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
            raise NotImplementedError("Dropout(noise_shape=...) is not supported yet.")
        out = ops.dropout(inputs, self.rate, self._stream_seed, self._offset)
        self._offset += int(out.size)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config
