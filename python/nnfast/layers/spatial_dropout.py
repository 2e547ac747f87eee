"""``SpatialDropout1D/2D/3D``: dropout of whole feature maps (Keras's noise shape
``(batch, 1, ..., channels)``, or ``(batch, channels, 1, ...)`` for channels_first)."""
from nnfast import ops
from nnfast.backend import random as nnrandom
from nnfast.layers.layer import Layer
from nnfast.layers.regularization import broadcast_dropout
from nnfast.ops.conv import _standardize_data_format


class _SpatialDropout(Layer):
    _rank = None  # spatial dimensions of the input

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
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
        ndim = self._rank + 2
        if len(inputs.shape) != ndim:
            raise ValueError(f"{type(self).__name__} expects a {ndim}-D input, received shape "
                             f"{tuple(inputs.shape)}")
        if self.rate >= 1.0:
            return ops.multiply(inputs, 0.0)
        ones = (1,) * self._rank
        noise_shape = (None, None) + ones if self.data_format == "channels_first" \
            else (None,) + ones + (None,)
        return broadcast_dropout(self, inputs, self.rate, noise_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops entire channels of ``(batch, timesteps, channels)`` inputs: during training
    each (sample, channel) sequence is zeroed with probability ``rate`` and the rest are
    scaled by ``1 / (1 - rate)`` (noise shape ``(batch, 1, channels)``); the identity at
    inference.

    Args:
        rate: fraction in [0, 1) of the channels dropped while training (whole feature maps, across
            all steps).
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        name: name of the layer; None: a unique name made from the class name.
        dtype: the layer's dtype policy (a name such as ``"float32"`` or ``"mixed_bfloat16"``, or a
            ``DTypePolicy``); None: the global policy.

    Example:
        >>> SpatialDropout1D(0.2)(np.ones((2, 5, 8), "float32"), training=True).shape
        (2, 5, 8)
    """

    _rank = 1

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, name=name, dtype=dtype,
                         **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops entire channels: during training each (sample, channel) feature map is zeroed
    with probability ``rate`` and the rest are scaled by ``1 / (1 - rate)`` (noise shape
    ``(batch, 1, 1, channels)``); the identity at inference.

    Args:
        rate: fraction in [0, 1) of the channels dropped while training.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        name: name of the layer; None: a unique name made from the class name.
        dtype: the layer's dtype policy (a name such as ``"float32"`` or ``"mixed_bfloat16"``, or a
            ``DTypePolicy``); None: the global policy.

    Example:
        >>> SpatialDropout2D(0.2)(np.ones((2, 4, 4, 8), "float32"), training=True).shape
        (2, 4, 4, 8)
    """

    _rank = 2

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout3D(SpatialDropout2D):
    """Drops entire channels of 5-D inputs (noise shape ``(batch, 1, 1, 1, channels)``, or
    ``(batch, channels, 1, 1, 1)`` for channels_first); the identity at inference.

    Args:
        rate: fraction in [0, 1) of the channels dropped while training.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        name: name of the layer; None: a unique name made from the class name.
        dtype: the layer's dtype policy (a name such as ``"float32"`` or ``"mixed_bfloat16"``, or a
            ``DTypePolicy``); None: the global policy.

    Example:
        >>> SpatialDropout3D(0.2)(np.ones((2, 3, 4, 4, 8), "float32"), training=True).shape
        (2, 3, 4, 4, 8)
    """

    _rank = 3
