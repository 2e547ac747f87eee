"""Pooling layers: ``MaxPooling1D/2D``, ``AveragePooling1D/2D``,
``GlobalAveragePooling1D/2D``, ``GlobalMaxPooling1D/2D``.

NHWC (``channels_last``) is the fast path; ``channels_first`` inputs are transposed at the
boundary. 'same' max pooling pads with -inf and 'same' average pooling divides by the number
of valid positions, as Keras does.
"""
from nnfast import ops
from nnfast.layers.layer import Layer
from nnfast.ops.conv import (_check_padding, _standardize_data_format, normalize_tuple,
                             output_size)


class BasePooling(Layer):
    rank = 2
    kind = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, self.rank, "strides"))
        if min(self.pool_size) <= 0 or min(self.strides) <= 0:
            raise ValueError(f"pool_size and strides must be positive. Received: "
                             f"pool_size={pool_size}, strides={strides}")
        self.padding = _check_padding(padding)
        self.data_format = _standardize_data_format(data_format)

    def call(self, inputs):
        fn = ops.max_pool if self.kind == "max" else ops.average_pool
        return fn(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        out = [output_size(n, k, s, 1, self.padding)
               for n, k, s in zip(spatial, self.pool_size, self.strides)]
        if first:
            return (input_shape[0], input_shape[1]) + tuple(out)
        return (input_shape[0],) + tuple(out) + (input_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


class MaxPooling2D(BasePooling):
    """Max pooling over (h, w) windows.

    Args:
        pool_size: int or (ph, pw), default (2, 2).
        strides: int, pair or None (None: ``pool_size``).
        padding: ``"valid"`` or ``"same"`` (pads with -inf).
        data_format: ``"channels_last"`` (default, fast) or ``"channels_first"``.
        name: name of the layer; None: a unique name made from the class name.

    Input ``(batch, h, w, c)``; output ``(batch, oh, ow, c)``.

    Example:
        >>> MaxPooling2D()(np.zeros((1, 26, 26, 32), "float32")).shape
        (1, 13, 13, 32)
    """

    rank, kind = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling2D(BasePooling):
    """Average pooling over (h, w) windows; 'same' windows average their valid positions.

    Args:
        pool_size: int or pair: the window (default (2, 2)).
        strides: None (the same as ``pool_size``), int or pair.
        padding: ``"valid"`` or ``"same"`` (output size ``ceil(n / stride)``).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        name: name of the layer; None: a unique name made from the class name.

    Input ``(batch, h, w, c)``; output ``(batch, new_h, new_w, c)`` (channels_last).

    Example:
        >>> AveragePooling2D()(np.ones((1, 4, 6, 3), "float32")).shape
        (1, 2, 3, 3)
    """

    rank, kind = 2, "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class MaxPooling1D(BasePooling):
    """Max pooling over steps of ``(batch, steps, channels)``; default pool_size 2.

    Args:
        pool_size: size of the pooling window. Defaults to ``2``.
        strides: step between windows; None: ``pool_size``.
        padding: ``"valid"`` (no padding) or ``"same"`` (pad so that the output length is
            ``ceil(input / strides)``). Defaults to ``"valid"``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        name: name of the layer; None: a unique name made from the class name.

    Example:
        >>> x = np.array([[[1.0], [5.0], [3.0], [4.0], [2.0]]], "float32")
        >>> keras.layers.MaxPooling1D(pool_size=2)(x).numpy()[..., 0]
        array([[5., 4.]], dtype=float32)
    """

    rank, kind = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(BasePooling):
    """Average pooling over steps of ``(batch, steps, channels)``; default pool_size 2.

    Args:
        pool_size: size of the pooling window. Defaults to ``2``.
        strides: step between windows; None: ``pool_size``.
        padding: ``"valid"`` (no padding) or ``"same"`` (pad so that the output length is
            ``ceil(input / strides)``). Defaults to ``"valid"``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        name: name of the layer; None: a unique name made from the class name.

    Example:
        >>> x = np.array([[[1.0], [2.0], [3.0], [4.0], [5.0]]], "float32")
        >>> keras.layers.AveragePooling1D(pool_size=2)(x).numpy()[..., 0]
        array([[1.5, 3.5]], dtype=float32)
        >>> same = keras.layers.AveragePooling1D(pool_size=2, strides=1, padding="same")
        >>> same(x).numpy()[..., 0]
        array([[1.5, 2.5, 3.5, 4.5, 5. ]], dtype=float32)
    """

    rank, kind = 1, "avg"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class BaseGlobalPooling(Layer):
    rank = 2
    kind = "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def call(self, inputs):
        if len(inputs.shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim={self.rank + 2}, found shape {inputs.shape}")
        return ops.global_pool(inputs, self.kind, self.data_format, self.keepdims)

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        c = input_shape[1] if first else input_shape[-1]
        if not self.keepdims:
            return (input_shape[0], c)
        ones = (1,) * self.rank
        return (input_shape[0], c) + ones if first else (input_shape[0],) + ones + (c,)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over (h, w): ``(batch, h, w, c)`` -> ``(batch, c)`` (``keepdims``: (batch, 1, 1, c)).

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the pooled axes with size 1.

    Example:
        >>> GlobalAveragePooling2D()(np.ones((2, 7, 7, 32), "float32")).shape
        (2, 32)"""

    rank, kind = 2, "avg"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Max over (h, w): ``(batch, h, w, c)`` -> ``(batch, c)``.

    Args:
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        keepdims: keep the reduced axes with length 1 (output ``(batch, 1, channels)`` instead of
            ``(batch, channels)``). Defaults to ``False``.

    Example:
        >>> x = np.arange(16, dtype="float32").reshape(1, 2, 4, 2)
        >>> keras.layers.GlobalMaxPooling2D()(x).numpy()
        array([[14., 15.]], dtype=float32)
    """

    rank, kind = 2, "max"


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over steps: ``(batch, steps, c)`` -> ``(batch, c)``.

    Args:
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        keepdims: keep the reduced axes with length 1 (output ``(batch, 1, channels)`` instead of
            ``(batch, channels)``). Defaults to ``False``.

    Example:
        >>> x = np.arange(12, dtype="float32").reshape(2, 3, 2)
        >>> keras.layers.GlobalAveragePooling1D()(x).numpy()
        array([[2., 3.],
               [8., 9.]], dtype=float32)
        >>> keras.layers.GlobalAveragePooling1D(keepdims=True)(x).shape
        (2, 1, 2)
    """

    rank, kind = 1, "avg"


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Max over steps: ``(batch, steps, c)`` -> ``(batch, c)``.

    Args:
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        keepdims: keep the reduced axes with length 1 (output ``(batch, 1, channels)`` instead of
            ``(batch, channels)``). Defaults to ``False``.

    Example:
        >>> x = np.arange(12, dtype="float32").reshape(2, 3, 2)
        >>> keras.layers.GlobalMaxPooling1D()(x).numpy()
        array([[ 4.,  5.],
               [10., 11.]], dtype=float32)
    """

    rank, kind = 1, "max"


MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
