"""Reshaping layers: ``Flatten``, ``Reshape``."""
import math

from nnfast import ops
from nnfast.layers.layer import Layer


class Flatten(Layer):
    """Flattens every axis but the batch axis (C order: channels fastest for NHWC).

    Input ``(batch, d1, d2, ...)``; output ``(batch, d1*d2*...)``.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and len(inputs.shape) > 2:
            nd = len(inputs.shape)
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, nd)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes to ``target_shape`` (no batch axis; one ``-1`` allowed)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)
        if sum(1 for d in self.target_shape if d == -1) > 1:
            raise ValueError(f"There can be at most one -1 in target_shape, received {target_shape}")

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        known = math.prod(rest) if all(d is not None for d in rest) else None
        target = list(self.target_shape)
        if -1 in target:
            fixed = math.prod(d for d in target if d != -1)
            target[target.index(-1)] = None if known is None else known // fixed
        elif known is not None and math.prod(target) != known:
            raise ValueError(f"Cannot reshape a tensor of shape {input_shape} into "
                             f"target_shape {self.target_shape}: total size must be unchanged.")
        return (input_shape[0],) + tuple(target)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config
