"""What the 2-D and 3-D padding, cropping and upsampling layers share: each works on the
spatial axes of a ``channels_last`` (batch, *spatial, c) or ``channels_first``
(batch, c, *spatial) batch, one (before, after) pair or factor per spatial axis. The public
classes (``reshaping_image.py``, ``reshaping3d.py``) set ``rank`` and Keras's defaults."""
from nnfast import ops
from nnfast.layers.layer import Layer
from nnfast.ops import image_ops
from nnfast.ops.conv import _standardize_data_format, normalize_tuple

_DIMENSION_NAMES = {2: "symmetric_height, symmetric_width",
                    3: "symmetric_dim1_pad, symmetric_dim2_pad, symmetric_dim3_pad"}


def per_axis_pairs(value, rank, name):
    """Keras's padding/cropping spec for ``rank`` spatial axes: an int, ``rank`` ints, or
    ``rank`` (before, after) pairs -> ``rank`` (before, after) pairs."""
    if isinstance(value, int):
        return ((value, value),) * rank
    if hasattr(value, "__len__") and len(value) == rank:
        if all(isinstance(v, int) for v in value):
            return tuple((v, v) for v in value)
        return tuple(normalize_tuple(v, 2, name) for v in value)
    raise ValueError(f"`{name}` should be either an int, a tuple of {rank} ints "
                     f"({_DIMENSION_NAMES[rank]}), or a tuple of {rank} tuples of 2 ints. "
                     f"Received: {name}={value}")


def spatial_axes(data_format, rank):
    """The spatial axes of a batch in ``data_format``."""
    first = 2 if data_format == "channels_first" else 1
    return tuple(range(first, first + rank))


class SpatialZeroPadding(Layer):
    """Zero padding of the ``rank`` spatial axes (ZeroPadding2D/3D)."""

    rank = 2

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = per_axis_pairs(padding, self.rank, "padding")
        if min(min(p) for p in self.padding) < 0:
            raise ValueError(f"`padding` must be non-negative. Received: padding={padding}")
        self.data_format = _standardize_data_format(data_format)

    def _pads(self):
        pads = [(0, 0)] * (self.rank + 2)
        for axis, p in zip(spatial_axes(self.data_format, self.rank), self.padding):
            pads[axis] = p
        return pads

    def call(self, inputs):
        return image_ops.zero_pad(inputs, self._pads())

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (b, a) in zip(spatial_axes(self.data_format, self.rank), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + b + a
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class SpatialCropping(Layer):
    """Cropping of the ``rank`` spatial axes (Cropping2D/3D)."""

    rank = 2

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = per_axis_pairs(cropping, self.rank, "cropping")
        if min(min(c) for c in self.cropping) < 0:
            raise ValueError(f"`cropping` must be non-negative. Received: cropping={cropping}")
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        key = [slice(None)] * (self.rank + 2)
        for axis, (b, a) in zip(spatial_axes(self.data_format, self.rank), self.cropping):
            n = inputs.shape[axis]
            if b + a >= n:
                raise ValueError(f"Cropping {self.cropping} leaves nothing of an input of shape "
                                 f"{tuple(inputs.shape)}")
            key[axis] = slice(b, n - a)
        return ops.get_item(inputs, tuple(key))

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (b, a) in zip(spatial_axes(self.data_format, self.rank), self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - b - a
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config


class SpatialUpSampling(Layer):
    """Nearest-neighbour upsampling of the ``rank`` spatial axes by integer factors
    (UpSampling2D/3D); UpSampling2D adds the resize interpolations."""

    rank = 2

    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, self.rank, "size")
        if min(self.size) <= 0:
            raise ValueError(f"`size` must be positive. Received: size={size}")
        self.data_format = _standardize_data_format(data_format)

    def _repeat(self, inputs):
        sizes = [1] * (self.rank + 2)
        for axis, s in zip(spatial_axes(self.data_format, self.rank), self.size):
            sizes[axis] = s
        return image_ops.repeat_spatial(inputs, sizes)

    def call(self, inputs):
        return self._repeat(inputs)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, s in zip(spatial_axes(self.data_format, self.rank), self.size):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config
