"""Volume reshaping layers: ``ZeroPadding3D``, ``Cropping3D``, ``UpSampling3D``.

``channels_last`` (batch, d, h, w, c) is the default; ``channels_first`` (batch, c, d, h, w)
works on the spatial axes directly.
"""
from nnfast import ops
from nnfast.layers.layer import Layer
from nnfast.ops import image_ops
from nnfast.ops.conv import _standardize_data_format, normalize_tuple


def _triples(value, name):
    """Keras's 3-D padding/cropping spec: int, (d, h, w) or three (before, after) pairs."""
    if isinstance(value, int) and not isinstance(value, bool):
        return ((value, value),) * 3
    if hasattr(value, "__len__") and len(value) == 3:
        if all(isinstance(v, int) for v in value):
            return tuple((v, v) for v in value)
        return tuple(normalize_tuple(v, 2, name) for v in value)
    raise ValueError(f"`{name}` should be either an int, a tuple of 3 ints (symmetric_dim1_pad, "
                     f"symmetric_dim2_pad, symmetric_dim3_pad), or a tuple of 3 tuples of 2 ints."
                     f" Received: {name}={value}")


def _spatial_axes(data_format):
    return (2, 3, 4) if data_format == "channels_first" else (1, 2, 3)


class ZeroPadding3D(Layer):
    """Pads the three spatial axes of a volume batch with zeros.

    Args:
        padding: int, (d, h, w) or ((front, back), (top, bottom), (left, right)); default 1 on
            every side.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> ZeroPadding3D(1)(np.zeros((1, 2, 3, 4, 2), "float32")).shape
        (1, 4, 5, 6, 2)
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _triples(padding, "padding")
        if min(min(p) for p in self.padding) < 0:
            raise ValueError(f"`padding` must be non-negative. Received: padding={padding}")
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        pads = [(0, 0)] * 5
        for axis, p in zip(_spatial_axes(self.data_format), self.padding):
            pads[axis] = p
        return image_ops.zero_pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (b, a) in zip(_spatial_axes(self.data_format), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + b + a
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class Cropping3D(Layer):
    """Crops the borders of the three spatial axes of a volume batch.

    Args:
        cropping: int, (d, h, w) or three (before, after) pairs; default 1 on every side.
        data_format: ``"channels_last"`` (default, ``(batch, d, h, w, c)``) or
            ``"channels_first"`` (``(batch, c, d, h, w)``).

    Example:
        >>> Cropping3D(((1, 0), (0, 0), (2, 2)))(np.zeros((1, 4, 5, 6, 3), "float32")).shape
        (1, 3, 5, 2, 3)
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _triples(cropping, "cropping")
        if min(min(c) for c in self.cropping) < 0:
            raise ValueError(f"`cropping` must be non-negative. Received: cropping={cropping}")
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        key = [slice(None)] * 5
        for axis, (b, a) in zip(_spatial_axes(self.data_format), self.cropping):
            n = inputs.shape[axis]
            if b + a >= n:
                raise ValueError(f"Cropping {self.cropping} leaves nothing of an input of shape "
                                 f"{tuple(inputs.shape)}")
            key[axis] = slice(b, n - a)
        return ops.get_item(inputs, tuple(key))

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (b, a) in zip(_spatial_axes(self.data_format), self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - b - a
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config


class UpSampling3D(Layer):
    """Repeats each voxel ``size`` times along depth, height and width (nearest).

    Args:
        size: int or (d, h, w) factors, default (2, 2, 2).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> UpSampling3D()(np.zeros((1, 2, 3, 4, 2), "float32")).shape
        (1, 4, 6, 8, 2)
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 3, "size")
        if min(self.size) <= 0:
            raise ValueError(f"`size` must be positive. Received: size={size}")
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        sizes = [1] * 5
        for axis, s in zip(_spatial_axes(self.data_format), self.size):
            sizes[axis] = s
        return image_ops.repeat_spatial(inputs, sizes)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, s in zip(_spatial_axes(self.data_format), self.size):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config
