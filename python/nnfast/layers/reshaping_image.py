"""Image reshaping layers: ``ZeroPadding2D``, ``UpSampling2D``, ``Cropping2D``.

``channels_last`` (batch, h, w, c) is the default; ``channels_first`` (batch, c, h, w) works
directly on the spatial axes (no transpose needed for these layers).
"""
from nnfast import ops
from nnfast.layers.layer import Layer
from nnfast.ops import image_ops
from nnfast.ops.conv import _standardize_data_format, normalize_tuple


def _pairs(value, name):
    """Keras's 2-D padding/cropping spec: int, (h, w) or ((top, bottom), (left, right))."""
    if isinstance(value, int):
        return ((value, value), (value, value))
    if hasattr(value, "__len__") and len(value) == 2:
        if all(isinstance(v, int) for v in value):
            return ((value[0], value[0]), (value[1], value[1]))
        out = tuple(normalize_tuple(v, 2, name) for v in value)
        return out
    raise ValueError(f"`{name}` should be either an int, a tuple of 2 ints (symmetric_height, "
                     f"symmetric_width), or a tuple of 2 tuples of 2 ints. Received: {value}")


_UPSAMPLING_INTERPOLATIONS = ("nearest", "area") + image_ops.RESIZE_INTERPOLATIONS


def _spatial_axes(data_format):
    return (2, 3) if data_format == "channels_first" else (1, 2)


class ZeroPadding2D(Layer):
    """Pads rows and columns of an image batch with zeros.

    Args:
        padding: int, (h, w) or ((top, bottom), (left, right)); default (1, 1).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> ZeroPadding2D(1)(np.zeros((1, 4, 4, 3), "float32")).shape
        (1, 6, 6, 3)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding")
        if min(min(p) for p in self.padding) < 0:
            raise ValueError(f"padding must be non-negative, received {padding}")
        self.data_format = _standardize_data_format(data_format)

    def _pads(self):
        pads = [(0, 0)] * 4
        for axis, p in zip(_spatial_axes(self.data_format), self.padding):
            pads[axis] = p
        return pads

    def call(self, inputs):
        return image_ops.zero_pad(inputs, self._pads())

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (b, a) in zip(_spatial_axes(self.data_format), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + b + a
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class UpSampling2D(Layer):
    """Upsamples rows and columns by integer factors, as Keras 3 does.

    ``"nearest"`` repeats each row ``size[0]`` times and each column ``size[1]`` times
    (``"area"`` gives the same for integer factors). The other modes resize to
    ``(h * size[0], w * size[1])`` like ``keras.ops.image.resize`` on the TensorFlow
    backend: ``tf.image.resize`` with half-pixel centres and no antialiasing.

    Args:
        size: int or (h_factor, w_factor), default (2, 2).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        interpolation: ``"nearest"`` (default), ``"bilinear"``, ``"bicubic"``,
            ``"lanczos3"``, ``"lanczos5"`` or ``"area"`` (case-insensitive).

    Example:
        >>> UpSampling2D()(np.zeros((1, 3, 3, 2), "float32")).shape
        (1, 6, 6, 2)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size")
        if min(self.size) <= 0:
            raise ValueError(f"size must be positive, received {size}")
        self.data_format = _standardize_data_format(data_format)
        interpolation = str(interpolation).lower()
        if interpolation not in _UPSAMPLING_INTERPOLATIONS:
            raise ValueError(f"Invalid value for argument `interpolation`. Expected one of "
                             f"{_UPSAMPLING_INTERPOLATIONS}. Received: "
                             f"interpolation={interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        if self.interpolation in image_ops.RESIZE_INTERPOLATIONS:
            axes = _spatial_axes(self.data_format)
            size = tuple(inputs.shape[a] * s for a, s in zip(axes, self.size))
            return image_ops.resize(inputs, size, self.interpolation, self.data_format)
        # "nearest", and "area", which for integer factors covers each output pixel with
        # a single input pixel, so it too repeats (TF's area resize agrees to ~1e-7).
        sizes = [1, 1, 1, 1]
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
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config


class Cropping2D(Layer):
    """Crops rows and columns from the borders of an image batch.

    Args:
        cropping: int, (h, w) or ((top, bottom), (left, right)); default ((0, 0), (0, 0)).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"`` (``(batch, c, h, w)``).

    Example:
        >>> Cropping2D(((1, 0), (2, 2)))(np.zeros((1, 5, 6, 3), "float32")).shape
        (1, 4, 2, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping")
        if min(min(c) for c in self.cropping) < 0:
            raise ValueError(f"cropping must be non-negative, received {cropping}")
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        key = [slice(None)] * 4
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
