"""3-D and adaptive pooling layers: ``MaxPooling3D``, ``AveragePooling3D``,
``GlobalAveragePooling3D``, ``GlobalMaxPooling3D`` and ``AdaptiveAveragePooling1D/2D/3D``,
``AdaptiveMaxPooling1D/2D/3D``.

3-D windows run as two passes of the C++ 2-D pooling kernels (the pooling is separable, see
``nnfast.ops.pool3d``); global pooling uses the same kernels as the 1-D/2-D layers.
"""
from nnfast.layers.layer import Layer
from nnfast.layers.pooling import BaseGlobalPooling, BasePooling
from nnfast.ops.conv import _standardize_data_format
from nnfast.ops.pool3d import adaptive_average_pool, adaptive_max_pool, average_pool3d, max_pool3d


class MaxPooling3D(BasePooling):
    """Max pooling over (d, h, w) windows of ``(batch, d, h, w, c)``.

    Args:
        pool_size: int or triple: the window's (d, h, w) extent (default (2, 2, 2)).
        strides: None (the same as ``pool_size``), int or triple.
        padding: ``"valid"`` (windows inside the input) or ``"same"`` (output size
            ``ceil(n / stride)``).
        data_format: ``"channels_last"`` (default, ``(batch, d, h, w, c)``) or
            ``"channels_first"`` (``(batch, c, d, h, w)``).
        name: the layer's name.

    Example:
        >>> MaxPooling3D()(np.zeros((1, 4, 6, 6, 3), "float32")).shape
        (1, 2, 3, 3, 3)
    """

    rank, kind = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)

    def call(self, inputs):
        return max_pool3d(inputs, self.pool_size, self.strides, self.padding, self.data_format)


class AveragePooling3D(BasePooling):
    """Average pooling over (d, h, w) windows; 'same' windows average their valid positions.

    Args:
        pool_size: int or triple: the window's (d, h, w) extent (required, as in Keras 3).
        strides: None (the same as ``pool_size``), int or triple.
        padding: ``"valid"`` or ``"same"`` (output size ``ceil(n / stride)``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        name: the layer's name.

    Example:
        >>> AveragePooling3D(2)(np.zeros((1, 4, 6, 6, 3), "float32")).shape
        (1, 2, 3, 3, 3)
    """

    rank, kind = 3, "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)

    def call(self, inputs):
        return average_pool3d(inputs, self.pool_size, self.strides, self.padding,
                              self.data_format)


class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over (d, h, w): ``(batch, d, h, w, c)`` -> ``(batch, c)``.

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the pooled axes with size 1: ``(batch, 1, 1, 1, c)``.

    Example:
        >>> GlobalAveragePooling3D()(np.zeros((2, 3, 4, 5, 6), "float32")).shape
        (2, 6)
    """

    rank, kind = 3, "avg"


class GlobalMaxPooling3D(BaseGlobalPooling):
    """Max over (d, h, w): ``(batch, d, h, w, c)`` -> ``(batch, c)``.

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the pooled axes with size 1: ``(batch, 1, 1, 1, c)``.

    Example:
        >>> GlobalMaxPooling3D(keepdims=True)(np.zeros((2, 3, 4, 5, 6), "float32")).shape
        (2, 1, 1, 1, 6)
    """

    rank, kind = 3, "max"


class _AdaptivePooling(Layer):
    rank = 2
    kind = "avg"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        r = self.rank
        if isinstance(output_size, int) and not isinstance(output_size, bool):
            sizes = (output_size,) * r
        elif isinstance(output_size, (tuple, list)) and len(output_size) == r:
            sizes = tuple(output_size)
        else:
            raise TypeError(f"`output_size` must be an integer or a tuple of {r} integers. "
                            f"Received: {output_size} of type {type(output_size)}")
        self.output_size = sizes
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        if len(inputs.shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim={self.rank + 2}, found shape {tuple(inputs.shape)}")
        fn = adaptive_average_pool if self.kind == "avg" else adaptive_max_pool
        return fn(inputs, self.output_size, self.data_format)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0],) + self.output_size + (input_shape[-1],)
        return (input_shape[0], input_shape[1]) + self.output_size

    def get_config(self):
        config = super().get_config()
        config.update({"output_size": self.output_size, "data_format": self.data_format})
        return config


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Average pooling of ``(batch, steps, c)`` to ``output_size`` steps, window i covering
    ``[floor(i*n/o), ceil((i+1)*n/o))`` (PyTorch's and Keras 3's adaptive windows).

    Args:
        output_size: int or 1-tuple: the output's spatial size; window ``i`` of an axis of
            length ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Raises:
        TypeError: when ``output_size`` is neither an int nor a tuple of 1 ints.

    Example:
        >>> AdaptiveAveragePooling1D(4)(np.zeros((2, 10, 3), "float32")).shape
        (2, 4, 3)
    """

    rank, kind = 1, "avg"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Adaptive average pooling of ``(batch, h, w, c)`` to ``output_size`` (int or (oh, ow)).

    Args:
        output_size: int or 2-tuple: the output's spatial size; window ``i`` of an axis of
            length ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Raises:
        TypeError: when ``output_size`` is neither an int nor a tuple of 2 ints.

    Example:
        >>> AdaptiveAveragePooling2D((2, 3))(np.zeros((1, 7, 8, 3), "float32")).shape
        (1, 2, 3, 3)
    """

    rank, kind = 2, "avg"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Adaptive average pooling of ``(batch, d, h, w, c)`` to ``output_size``.

    Args:
        output_size: int or 3-tuple: the output's spatial size; window ``i`` of an axis of
            length ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Raises:
        TypeError: when ``output_size`` is neither an int nor a tuple of 3 ints.

    Example:
        >>> AdaptiveAveragePooling3D(2)(np.zeros((1, 5, 6, 7, 3), "float32")).shape
        (1, 2, 2, 2, 3)
    """

    rank, kind = 3, "avg"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Adaptive max pooling of ``(batch, steps, c)``; windows as
    ``AdaptiveAveragePooling1D``.

    Args:
        output_size: int or 1-tuple: the output's spatial size; window ``i`` of an axis of
            length ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Raises:
        TypeError: when ``output_size`` is neither an int nor a tuple of 1 ints.

    Example:
        >>> AdaptiveMaxPooling1D(3)(np.zeros((2, 10, 4), "float32")).shape
        (2, 3, 4)
    """

    rank, kind = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Adaptive max pooling of ``(batch, h, w, c)`` to ``output_size``.

    Args:
        output_size: int or 2-tuple: the output's spatial size; window ``i`` of an axis of
            length ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Raises:
        TypeError: when ``output_size`` is neither an int nor a tuple of 2 ints.

    Example:
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> AdaptiveMaxPooling2D((2, 2))(x).numpy().ravel()
        array([ 5.,  7., 13., 15.], dtype=float32)
    """

    rank, kind = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Adaptive max pooling of ``(batch, d, h, w, c)`` to ``output_size``.

    Args:
        output_size: int or 3-tuple: the output's spatial size; window ``i`` of an axis of
            length ``n`` covers ``[floor(i*n/o), ceil((i+1)*n/o))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Raises:
        TypeError: when ``output_size`` is neither an int nor a tuple of 3 ints.

    Example:
        >>> AdaptiveMaxPooling3D((1, 2, 3))(np.zeros((1, 4, 4, 6, 2), "float32")).shape
        (1, 1, 2, 3, 2)
    """

    rank, kind = 3, "max"


MaxPool3D, AvgPool3D = MaxPooling3D, AveragePooling3D
GlobalAvgPool3D, GlobalMaxPool3D = GlobalAveragePooling3D, GlobalMaxPooling3D
