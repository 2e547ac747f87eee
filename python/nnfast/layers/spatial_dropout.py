"""``SpatialDropout2D``: dropout of whole feature maps."""
from nnfast import ops
from nnfast.backend import random as nnrandom
from nnfast.layers.layer import Layer
from nnfast.layers.regularization import broadcast_dropout
from nnfast.ops.conv import _standardize_data_format


class SpatialDropout2D(Layer):
    """Drops entire channels: during training each (sample, channel) feature map is zeroed
    with probability ``rate`` and the rest are scaled by ``1 / (1 - rate)`` (noise shape
    ``(batch, 1, 1, channels)``); the identity at inference.

    Example:
        >>> SpatialDropout2D(0.2)(np.ones((2, 4, 4, 8), "float32"), training=True).shape
        (2, 4, 4, 8)
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        self.rate = float(rate)
        self.data_format = _standardize_data_format(data_format)
        self.seed = seed
        self._stream_seed = nnrandom.draw_seed() if seed is None else int(seed)
        self._offset = 0

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if len(inputs.shape) != 4:
            raise ValueError(f"SpatialDropout2D expects a 4-D input, received shape "
                             f"{tuple(inputs.shape)}")
        if self.rate >= 1.0:
            return ops.multiply(inputs, 0.0)
        noise_shape = (None, None, 1, 1) if self.data_format == "channels_first" \
            else (None, 1, 1, None)
        return broadcast_dropout(self, inputs, self.rate, noise_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "data_format": self.data_format, "seed": self.seed})
        return config
