"""Volume reshaping layers: ``ZeroPadding3D``, ``Cropping3D``, ``UpSampling3D``.

``channels_last`` (batch, d, h, w, c) is the default; ``channels_first`` (batch, c, d, h, w)
works on the spatial axes directly. The bodies are shared with the 2-D layers
(``spatial_reshaping.py``).
"""
from nnfast.layers.spatial_reshaping import (SpatialCropping, SpatialUpSampling,
                                             SpatialZeroPadding)


class ZeroPadding3D(SpatialZeroPadding):
    """Pads the three spatial axes of a volume batch with zeros.

    Args:
        padding: int, (d, h, w) or ((front, back), (top, bottom), (left, right)); default 1 on
            every side.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> ZeroPadding3D(1)(np.zeros((1, 2, 3, 4, 2), "float32")).shape
        (1, 4, 5, 6, 2)
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping3D(SpatialCropping):
    """Crops the borders of the three spatial axes of a volume batch.

    Args:
        cropping: int, (d, h, w) or three (before, after) pairs; default 1 on every side.
        data_format: ``"channels_last"`` (default, ``(batch, d, h, w, c)``) or
            ``"channels_first"`` (``(batch, c, d, h, w)``).

    Example:
        >>> Cropping3D(((1, 0), (0, 0), (2, 2)))(np.zeros((1, 4, 5, 6, 3), "float32")).shape
        (1, 3, 5, 2, 3)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class UpSampling3D(SpatialUpSampling):
    """Repeats each voxel ``size`` times along depth, height and width (nearest).

    Args:
        size: int or (d, h, w) factors, default (2, 2, 2).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> UpSampling3D()(np.zeros((1, 2, 3, 4, 2), "float32")).shape
        (1, 4, 6, 8, 2)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)
