"""Image reshaping layers: ``ZeroPadding2D``, ``UpSampling2D``, ``Cropping2D``.

``channels_last`` (batch, h, w, c) is the default; ``channels_first`` (batch, c, h, w) works
directly on the spatial axes (no transpose needed for these layers). The bodies are shared
with the 3-D layers (``spatial_reshaping.py``).
"""
from nnfast.layers.spatial_reshaping import (SpatialCropping, SpatialUpSampling,
                                             SpatialZeroPadding, spatial_axes)
from nnfast.ops import image_ops

_UPSAMPLING_INTERPOLATIONS = ("nearest", "area") + image_ops.RESIZE_INTERPOLATIONS


class ZeroPadding2D(SpatialZeroPadding):
    """Pads rows and columns of an image batch with zeros.

    Args:
        padding: int, (h, w) or ((top, bottom), (left, right)); default (1, 1).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> ZeroPadding2D(1)(np.zeros((1, 4, 4, 3), "float32")).shape
        (1, 6, 6, 3)
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class UpSampling2D(SpatialUpSampling):
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

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        interpolation = str(interpolation).lower()
        if interpolation not in _UPSAMPLING_INTERPOLATIONS:
            raise ValueError(f"Invalid value for argument `interpolation`. Expected one of "
                             f"{_UPSAMPLING_INTERPOLATIONS}. Received: "
                             f"interpolation={interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        if self.interpolation in image_ops.RESIZE_INTERPOLATIONS:
            axes = spatial_axes(self.data_format, 2)
            size = tuple(inputs.shape[a] * s for a, s in zip(axes, self.size))
            return image_ops.resize(inputs, size, self.interpolation, self.data_format)
        # "nearest", and "area", which for integer factors covers each output pixel with
        # a single input pixel, so it too repeats (TF's area resize agrees to ~1e-7).
        return self._repeat(inputs)

    def get_config(self):
        config = super().get_config()
        config["interpolation"] = self.interpolation
        return config


class Cropping2D(SpatialCropping):
    """Crops rows and columns from the borders of an image batch.

    Args:
        cropping: int, (h, w) or ((top, bottom), (left, right)); default ((0, 0), (0, 0)).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"`` (``(batch, c, h, w)``).

    Example:
        >>> Cropping2D(((1, 0), (2, 2)))(np.zeros((1, 5, 6, 3), "float32")).shape
        (1, 4, 2, 3)
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
