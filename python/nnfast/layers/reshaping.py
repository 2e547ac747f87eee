"""Reshaping layers: ``Flatten``, ``Reshape``, ``Permute``, ``RepeatVector``, ``UpSampling1D``,
``ZeroPadding1D``, ``Cropping1D``."""
import math

import numpy as np

from nnfast import ops
from nnfast.layers.layer import Layer
from nnfast.ops import image_ops
from nnfast.ops.conv import _standardize_data_format, normalize_tuple


class Flatten(Layer):
    """Flattens every axis but the batch axis (C order: channels fastest for NHWC).

    Input ``(batch, d1, d2, ...)``; output ``(batch, d1*d2*...)``.

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``; with
            ``"channels_first"`` the channel axis is moved last before flattening, so the
            feature order matches a channels_last model.

    Returns:
        A tensor of shape ``(batch, d1*d2*...)``; a 2-D input passes through unchanged.

    Example:
        >>> Flatten()(np.zeros((2, 3, 4, 5), "float32")).shape
        (2, 60)
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
    """Reshapes to ``target_shape`` (no batch axis; one ``-1`` allowed).

    Args:
        target_shape: tuple of ints, the output shape without the batch axis; one entry may
            be -1, inferred from the number of elements.

    Input shape ``(batch, ...)``; output shape ``(batch, *target_shape)``. The element count
    must match (a ValueError says which shapes disagree).

    Example:
        >>> Reshape((3, 4))(np.zeros((2, 12), "float32")).shape
        (2, 3, 4)
        >>> Reshape((-1, 2))(np.zeros((2, 12), "float32")).shape
        (2, 6, 2)
    """

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


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is 1-based (``Permute((2, 1))`` swaps them).

    Input ``(batch, d1, ..., dn)``; output ``(batch, d_dims[0], ..., d_dims[n-1])``.

    Args:
        dims: tuple of 1-based axis indices, a permutation of ``1..rank-1`` (the batch axis 0
            never moves).

    Example:
        >>> Permute((2, 1))(np.zeros((4, 10, 64), "float32")).shape
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set of "
                             f"indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute{self.dims} expects inputs of rank {len(self.dims) + 1}, "
                             f"received input_shape={input_shape}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: output ``(batch, n, features)``.

    Args:
        n: how many times to repeat the input (a positive int).

    Input shape ``(batch, features)``; output shape ``(batch, n, features)``.

    Example:
        >>> RepeatVector(3)(np.zeros((2, 5), "float32")).shape
        (2, 3, 5)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        self.n = n

    def call(self, inputs):
        if len(inputs.shape) != 2:
            raise ValueError(f"RepeatVector expects a 2-D input (batch, features), received "
                             f"shape {tuple(inputs.shape)}")
        x = ops.expand_dims(inputs, 1)
        return ops.concatenate([x] * self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


class UpSampling1D(Layer):
    """Repeats each timestep of a ``(batch, steps, features)`` input ``size`` times.

    Args:
        size: int, how many times each timestep is repeated (default 2).

    Input ``(batch, steps, features)``; output ``(batch, steps * size, features)``.

    Example:
        >>> UpSampling1D(2)(np.zeros((1, 3, 4), "float32")).shape
        (1, 6, 4)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: "
                             f"size={size}")
        self.size = size

    def call(self, inputs):
        if len(inputs.shape) != 3:
            raise ValueError(f"UpSampling1D expects a 3-D input (batch, steps, features), "
                             f"received shape {tuple(inputs.shape)}")
        return image_ops.repeat_spatial(inputs, (1, self.size, 1))

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


def _non_negative_pair(value, name):
    """Keras's ``standardize_tuple(value, 2, name, allow_zero=True)``."""
    pair = normalize_tuple(value, 2, name)
    if min(pair) < 0:
        raise ValueError(f"The `{name}` argument must be a tuple of 2 non-negative integers. "
                         f"Received: {name}={value}")
    return pair


def _check_3d(layer, shape):
    if len(shape) != 3:
        raise ValueError(f"Input 0 of layer '{layer.name}' is incompatible with the layer: "
                         f"expected ndim=3, found ndim={len(shape)}. Full shape received: "
                         f"{tuple(shape)}")


class ZeroPadding1D(Layer):
    """Pads the steps axis of ``(batch, steps, channels)`` with zeros
    (``(batch, channels, steps)`` for channels_first).

    Args:
        padding: int (both ends) or ``(left, right)``; default 1.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Example:
        >>> ZeroPadding1D((1, 2))(np.ones((2, 3, 4), "float32")).shape
        (2, 6, 4)
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _standardize_data_format(data_format)
        self.padding = _non_negative_pair(padding, "padding")

    def _axis(self):
        return 2 if self.data_format == "channels_first" else 1

    def call(self, inputs):
        _check_3d(self, np.shape(inputs))
        pads = [(0, 0)] * 3
        pads[self._axis()] = self.padding
        return image_ops.zero_pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        _check_3d(self, input_shape)
        out = list(input_shape)
        axis = self._axis()
        if out[axis] is not None:
            out[axis] += self.padding[0] + self.padding[1]
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class Cropping1D(Layer):
    """Crops the steps axis of ``(batch, steps, channels)``.

    Args:
        cropping: int (both ends) or ``(start, end)`` steps to remove; default (1, 1).

    Example:
        >>> Cropping1D((1, 2))(np.ones((2, 6, 4), "float32")).shape
        (2, 3, 4)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _non_negative_pair(cropping, "cropping")

    def _check_length(self, shape):
        if shape[1] is not None and sum(self.cropping) >= shape[1]:
            raise ValueError("`cropping` parameter of `Cropping1D` layer must be smaller than "
                             f"the input length. Received: input_shape={tuple(shape)}, "
                             f"cropping={self.cropping}")

    def call(self, inputs):
        shape = tuple(np.shape(inputs))
        _check_3d(self, shape)
        self._check_length(shape)
        start, end = self.cropping
        return ops.get_item(inputs, (slice(None), slice(start, shape[1] - end), slice(None)))

    def compute_output_shape(self, input_shape):
        _check_3d(self, input_shape)
        self._check_length(input_shape)
        length = None if input_shape[1] is None else input_shape[1] - sum(self.cropping)
        return (input_shape[0], length, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config
