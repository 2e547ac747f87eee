"""Preprocessing and image augmentation layers (``keras.layers.Rescaling``, ``RandomFlip``...).

``Rescaling`` and ``Normalization`` compute with ``nnfast.ops`` so gradients flow through
them. ``Resizing``/``CenterCrop`` and the ``Random*`` augmentation layers compute with
vectorized NumPy over the whole batch (one gather per batch, no per-pixel Python); they
pass no gradient to their inputs, which in practice are the model's raw images.

The ``Random*`` layers augment only when called with ``training=True`` (``fit`` does;
``predict``/``evaluate`` and a model called with ``training=False`` or ``None`` get the
identity). As in Keras 3, calling such a layer directly, ``layer(images)``, counts as
training. Each layer draws from its own generator, seeded by ``seed`` or from
``nnfast.utils.set_random_seed``.

Images are ``channels_last`` ``(batch, height, width, channels)`` (or one image without
the batch axis) unless ``data_format="channels_first"``.
"""
import numpy as np

from nnfast import ops
from nnfast.backend import random as nnrandom
from nnfast.backend.global_state import image_data_format
from nnfast.backend.tensor import Tensor
from nnfast.distribution.shard import per_row_generator
from nnfast.layers.layer import Layer
from nnfast.preprocessing import _transforms

_EPSILON = 1e-7  # Keras's backend.epsilon()


def _array(x):
    a = x.value if isinstance(x, Tensor) else np.asarray(x)
    return a if a.dtype == np.float32 else a.astype(np.float32)


def _check_data_format(data_format):
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first'. Received: "
                         f"data_format={data_format!r}")
    return data_format


class _ImageLayer(Layer):
    """Shared plumbing: channels_last batches in, channels_last batches out."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _check_data_format(data_format)

    def _to_batch(self, inputs):
        x = _array(inputs)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} expects images of rank 3 (one image) or 4 "
                             f"(a batch), received shape {x.shape}")
        single = x.ndim == 3
        if single:
            x = x[None]
        if self.data_format == "channels_first":
            x = x.transpose(0, 2, 3, 1)
        return x, single

    def _from_batch(self, x, single):
        if self.data_format == "channels_first":
            x = x.transpose(0, 3, 1, 2)
        x = np.ascontiguousarray(x, dtype=np.float32)
        return Tensor(x[0] if single else x)

    def _hw_axes(self, ndim):
        return (ndim - 2, ndim - 1) if self.data_format == "channels_first" else (ndim - 3,
                                                                                    ndim - 2)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


# --- Rescaling / Normalization (differentiable) --------------------------------------------------


class Rescaling(Layer):
    """``inputs * scale + offset`` (e.g. ``Rescaling(1 / 255)`` maps 0..255 to 0..1, and
    ``Rescaling(1 / 127.5, offset=-1)`` to -1..1). ``scale`` and ``offset`` may be per
    channel lists. Any input shape; output float32 of the same shape.

    Args:
        scale: the factor multiplied into the inputs (a float, or an array broadcast against them).
        offset: the value added after scaling. Defaults to ``0.0``.

    Example:
        >>> layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1.0)
        >>> layer(np.array([[0.0, 127.5, 255.0]], "float32")).numpy()
        array([[-1.,  0.,  1.]], dtype=float32)
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dtype = np.float64 if self.compute_dtype == "float64" else np.float32
        x = inputs if isinstance(inputs, Tensor) and inputs.dtype == dtype else \
            ops.cast(inputs, dtype.__name__)
        scale = np.asarray(self.scale, dtype=dtype)
        offset = np.asarray(self.offset, dtype=dtype)
        return ops.add(ops.multiply(x, scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config


class Normalization(Layer):
    """Feature-wise normalization: ``(inputs - mean) / max(sqrt(variance), 1e-7)``, or its
    inverse with ``invert=True``.

    Args:
        axis: the axis (or axes) with a separate mean and variance (default the last,
            i.e. per feature/channel); ``None`` for one scalar mean and variance.
        mean: a fixed mean (broadcast to the kept axes), or None to learn it with
            ``adapt(data)`` (a non-trainable weight ``mean``, plus Keras's ``count``).
        variance: a fixed variance, given with ``mean``, or None (``adapt``).
        invert: apply ``mean + inputs * sqrt(variance)`` instead.

    Example:
        >>> norm = keras.layers.Normalization()
        >>> x_train = np.array([[1.0, 10.0], [3.0, 30.0]], "float32")
        >>> norm.adapt(x_train)
        >>> norm(x_train).numpy()
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True
        self.mean = None
        self.variance = None
        if (mean is not None) != (variance is not None):
            raise ValueError(f"When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(d if d >= 0 else d + ndim for d in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={input_shape}, with "
                                 f"unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1
                                      for d in range(ndim))
        shape = tuple(input_shape[d] for d in self._keep_axis)
        self._build_input_shape = input_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=shape, initializer="zeros", trainable=False,
                                              name="mean")
            self.adapt_variance = self.add_weight(shape=shape, initializer="ones",
                                                  trainable=False, name="variance")
            # Keras keeps an (unused) sample count for compatibility with older files.
            self.count = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                         trainable=False, name="count")
            self.built = True
            self.finalize_state()
        else:
            dtype = np.float64 if self.variable_dtype == "float64" else np.float32
            self.mean = np.broadcast_to(np.asarray(self.input_mean, dtype),
                                        self._broadcast_shape).copy()
            self.variance = np.broadcast_to(np.asarray(self.input_variance, dtype),
                                            self._broadcast_shape).copy()
        self.built = True

    def finalize_state(self):
        """Refreshes the broadcast statistics from the ``mean``/``variance`` weights."""
        if self.input_mean is not None or not self.built:
            return
        self.mean = np.reshape(self.adapt_mean.value, self._broadcast_shape)
        self.variance = np.reshape(self.adapt_variance.value, self._broadcast_shape)

    def adapt(self, data, batch_size=None, steps=None):
        """Sets ``mean``/``variance`` from ``data``: an array, or an iterable of batches
        (combined with a numerically stable streaming update)."""
        if isinstance(data, (np.ndarray, Tensor)):
            batches = [_array(data)]
        else:
            batches = (_array(b[0] if isinstance(b, tuple) else b) for b in data)
        count, mean, m2 = 0, None, None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if not self.built:
                self.build((None,) + batch.shape[1:])
                self._build_shapes = (None,) + batch.shape[1:]
            else:
                for d in self._keep_axis:
                    if batch.shape[d] != self._build_input_shape[d]:
                        raise ValueError(
                            f"Normalization was built with input shape "
                            f"{self._build_input_shape}, but adapt() received data with an "
                            f"incompatible shape {batch.shape}")
            b = batch.astype(np.float64)
            n = int(np.prod([b.shape[d] for d in self._reduce_axis]))
            b_mean = b.mean(axis=self._reduce_axis)
            b_m2 = b.var(axis=self._reduce_axis) * n
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
            else:
                delta = b_mean - mean
                total = count + n
                mean = mean + delta * n / total
                m2 = m2 + b_m2 + delta ** 2 * count * n / total
                count = total
        if mean is None:
            raise ValueError("Normalization.adapt() received no data.")
        if self.input_mean is not None:
            raise ValueError("Cannot adapt a Normalization layer built with fixed `mean` and "
                             "`variance`.")
        # NOTE: reshape to the variable's own shape: a scalar (axis=None) variable is
        # stored with shape (1,).
        self.adapt_mean.assign(np.reshape(mean, self.adapt_mean.shape).astype(np.float32))
        self.adapt_variance.assign(np.reshape(m2 / count, self.adapt_variance.shape)
                                   .astype(np.float32))
        self.finalize_state()

    def call(self, inputs):
        dtype = np.float64 if self.compute_dtype == "float64" else np.float32
        x = inputs if isinstance(inputs, Tensor) and inputs.dtype == dtype else \
            ops.cast(inputs, dtype.__name__)
        std = np.maximum(np.sqrt(self.variance), dtype(_EPSILON)).astype(dtype)
        mean = np.asarray(self.mean, dtype=dtype)
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert,
                       "mean": _listify(self.input_mean),
                       "variance": _listify(self.input_variance)})
        return config


def _listify(v):
    return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v


# --- Resizing / CenterCrop ------------------------------------------------------------------


class Resizing(_ImageLayer):
    """Resizes images to ``(height, width)`` as ``tf.image.resize`` (half-pixel centres).

    Args:
        interpolation: ``"bilinear"`` or ``"nearest"``.
        crop_to_aspect_ratio: resize the largest centred crop with the target aspect ratio.
        pad_to_aspect_ratio: pad with ``fill_value`` to the target aspect ratio first.
        antialias: when downsampling, widen the filter to cover each output pixel
            (``ops.image.resize(antialias=True)``, Keras's numbers).
        height: height of the output, in pixels.
        width: width of the output, in pixels.
        fill_mode: with ``pad_to_aspect_ratio=True``, how the padding is filled (only
            ``"constant"``). Defaults to ``"constant"``.
        fill_value: the padding value with ``pad_to_aspect_ratio=True``. Defaults to ``0.0``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Input ``(batch, h, w, c)`` (or ``(h, w, c)``); output ``(batch, height, width, c)``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.Resizing(4, 12)(images).shape
        (2, 4, 12, 3)
        >>> keras.layers.Resizing(4, 4, crop_to_aspect_ratio=True)(images[:, :, :6]).shape
        (2, 4, 4, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.antialias = bool(antialias)
        if interpolation not in _transforms.INTERPOLATIONS:
            raise ValueError(f"Invalid interpolation {interpolation!r}; expected one of "
                             f"{_transforms.INTERPOLATIONS}")
        if fill_mode != "constant":
            raise ValueError(f"Resizing pads with fill_mode='constant' only. Received: "
                             f"fill_mode={fill_mode!r}")
        self.height = int(height)
        self.width = int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be "
                             "True.")

    def call(self, inputs):
        x, single = self._to_batch(inputs)
        if self.antialias:
            out = _array(ops.image.resize(
                x, (self.height, self.width), self.interpolation, antialias=True,
                crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_value=self.fill_value,
                data_format="channels_last"))
        else:
            out = _transforms.resize(x, self.height, self.width, self.interpolation,
                                     self.crop_to_aspect_ratio, self.pad_to_aspect_ratio,
                                     self.fill_value)
        return self._from_batch(out, single)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h, w = self._hw_axes(len(shape))
        shape[h], shape[w] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width,
                       "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                       "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                       "antialias": self.antialias})
        return config


class CenterCrop(_ImageLayer):
    """Crops the central ``(height, width)`` region; an image smaller than that is instead
    resized (bilinear, after a centred crop to the target aspect ratio), as in Keras.

    Args:
        height: height of the crop, in pixels.
        width: width of the crop, in pixels.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.CenterCrop(4, 6)(images).shape
        (2, 4, 6, 3)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = int(height)
        self.width = int(width)

    def call(self, inputs):
        x, single = self._to_batch(inputs)
        _, h, w, _ = x.shape
        dh, dw = h - self.height, w - self.width
        if dh >= 0 and dw >= 0:
            top, left = int(dh / 2), int(dw / 2)
            out = x[:, top:top + self.height, left:left + self.width]
        else:
            out = _transforms.resize(x, self.height, self.width, "bilinear",
                                     crop_to_aspect_ratio=True)
        return self._from_batch(out, single)

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config


# --- random augmentation ---------------------------------------------------------------------


def _factor_range(factor, name, symmetric=True, min_value=None):
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"`{name}` should be a float or a tuple of two floats. Received: "
                             f"{name}={factor}")
        lower, upper = float(factor[0]), float(factor[1])
    else:
        lower, upper = (-float(factor), float(factor)) if symmetric else (float(factor),) * 2
    if upper < lower:
        raise ValueError(f"`{name}` lower bound must not exceed its upper bound. Received: "
                         f"{name}={factor}")
    if min_value is not None and (lower < min_value or upper < min_value):
        raise ValueError(f"`{name}` values must be >= {min_value}. Received: {name}={factor}")
    return lower, upper


class _RandomLayer(_ImageLayer):
    """A random augmentation: identity unless ``training`` is true."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = seed
        self._rng = nnrandom.make_generator(seed)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, single = self._to_batch(inputs)
        return self._from_batch(self._augment_rows(x), single)

    def _augment_rows(self, x):
        """``_augment(x)``; under data parallelism the per-image draws are made for the
        global batch and this rank's rows kept (the split does not change the images)."""
        generator = self._rng
        self._rng = per_row_generator(generator, len(x))
        try:
            return self._augment(x)
        finally:
            self._rng = generator

    def _augment(self, x):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class RandomFlip(_RandomLayer):
    """Flips each image with probability 1/2 during training.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or
            ``"horizontal_and_vertical"`` (each axis with its own draw).
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> layer = keras.layers.RandomFlip("horizontal", seed=1)
        >>> layer(images, training=True).shape
        (2, 8, 8, 3)
        >>> bool(np.array_equal(layer(images, training=False), images))
        True
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument "
                             f"{mode!r}; expected one of {self._MODES}")
        self.mode = mode

    def _augment(self, x):
        n = len(x)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = self._rng.random(n) < 0.5
            x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = self._rng.random(n) < 0.5
            x = np.where(flip[:, None, None, None], x[:, ::-1], x)
        return x

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


class _AffineRandomLayer(_RandomLayer):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if fill_mode not in _transforms.FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one "
                                      f"{_transforms.FILL_MODES}.")
        if interpolation not in _transforms.INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of "
                                      f"one {_transforms.INTERPOLATIONS}.")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _warp(self, x, transforms):
        return _transforms.affine_transform(x, transforms, self.interpolation, self.fill_mode,
                                            self.fill_value)

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class RandomRotation(_AffineRandomLayer):
    """Rotates each image by a random angle during training.

    Args:
        factor: a fraction of 2*pi: ``0.1`` draws angles in ``[-0.1, 0.1] * 2*pi``;
            ``(lower, upper)`` draws in ``[lower, upper] * 2*pi``. Positive angles rotate
            counter-clockwise.
        fill_mode: ``"reflect"`` (d c b a | a b c d | d c b a), ``"wrap"``, ``"nearest"`` or
            ``"constant"`` (``fill_value``).
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        fill_value: the value of points outside the input when ``fill_mode="constant"``. Defaults
            to ``0.0``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.RandomRotation(0.1, seed=1)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor
        self._lower, self._upper = _factor_range(factor, "factor")

    def _augment(self, x):
        n, h, w, _ = x.shape
        angle = self._rng.uniform(self._lower, self._upper, n) * 2.0 * np.pi
        cos, sin = np.cos(angle), np.sin(angle)
        x_off = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
        y_off = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
        zeros = np.zeros(n)
        t = np.stack([cos, -sin, x_off, sin, cos, y_off, zeros, zeros], axis=1)
        return self._warp(x, t)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomZoom(_AffineRandomLayer):
    """Zooms each image by a random factor during training.

    Args:
        height_factor: fraction of the height: ``0.2`` zooms by ``1 + [-0.2, 0.2]``;
            positive values zoom out (content shrinks), negative zoom in.
        width_factor: the same for the width; ``None`` keeps the aspect ratio (one factor
            for both axes).
        fill_mode: how points outside the input are filled: ``"constant"``, ``"reflect"``,
            ``"wrap"`` or ``"nearest"``. Defaults to ``"reflect"``.
        interpolation: how pixels are sampled: ``"bilinear"`` or ``"nearest"``. Defaults to
            ``"bilinear"``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        fill_value: the value of points outside the input when ``fill_mode="constant"``. Defaults
            to ``0.0``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.RandomZoom(0.2, seed=1)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._h = _factor_range(height_factor, "height_factor", min_value=-1)
        self._w = None if width_factor is None else _factor_range(width_factor, "width_factor",
                                                                  min_value=-1)

    def _augment(self, x):
        n, h, w, _ = x.shape
        zh = 1.0 + self._rng.uniform(self._h[0], self._h[1], n)
        zw = zh if self._w is None else 1.0 + self._rng.uniform(self._w[0], self._w[1], n)
        x_off = (w - 1.0) / 2.0 * (1.0 - zw)
        y_off = (h - 1.0) / 2.0 * (1.0 - zh)
        zeros = np.zeros(n)
        t = np.stack([zw, zeros, x_off, zeros, zh, y_off, zeros, zeros], axis=1)
        return self._warp(x, t)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomTranslation(_AffineRandomLayer):
    """Shifts each image by a random offset during training.

    Args:
        height_factor: fraction of the height: ``0.1`` shifts by up to 10% either way,
            ``(lower, upper)`` draws in that range (positive moves content down).
        width_factor: the same for the width (positive moves content right).
        fill_mode: how points outside the input are filled: ``"constant"``, ``"reflect"``,
            ``"wrap"`` or ``"nearest"``. Defaults to ``"reflect"``.
        interpolation: how pixels are sampled: ``"bilinear"`` or ``"nearest"``. Defaults to
            ``"bilinear"``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        fill_value: the value of points outside the input when ``fill_mode="constant"``. Defaults
            to ``0.0``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.RandomTranslation(0.1, 0.2, seed=1)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._h = _factor_range(height_factor, "height_factor", min_value=-1)
        self._w = _factor_range(width_factor, "width_factor", min_value=-1)

    def _augment(self, x):
        n, h, w, _ = x.shape
        dy = self._rng.uniform(self._h[0], self._h[1], n) * h
        dx = self._rng.uniform(self._w[0], self._w[1], n) * w
        ones, zeros = np.ones(n), np.zeros(n)
        t = np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
        return self._warp(x, t)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomContrast(_RandomLayer):
    """Scales each image's deviation from its per-channel mean by a random factor in
    ``[1 - lower, 1 + upper]`` during training, then clips to ``value_range``.

    Args:
        factor: ``f`` (same as ``(f, f)``) or ``(lower, upper)``, each in [0, 1].
        value_range: the ``(min, max)`` range of the input values; the output is clipped to it.
            Defaults to ``(0, 255)``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.RandomContrast(0.5, seed=1)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        lower, upper = _factor_range(factor, "factor", symmetric=False)
        if not (0 <= lower <= 1 and 0 <= upper <= 1):
            raise ValueError(f"`factor` argument cannot have negative values or values greater "
                             f"than 1. Received: factor={factor}")
        self._lower, self._upper = 1.0 - lower, 1.0 + upper
        self.value_range = tuple(value_range)

    def _augment(self, x):
        f = self._rng.uniform(self._lower, self._upper, len(x)).astype(np.float32)
        mean = x.mean(axis=(1, 2), keepdims=True)
        out = (x - mean) * f[:, None, None, None] + mean
        return np.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": list(self.value_range)})
        return config


class RandomBrightness(_RandomLayer):
    """Adds a random brightness delta, ``uniform(lower, upper) * (max - min)`` of
    ``value_range``, to each image during training, then clips to ``value_range``.

    Args:
        factor: ``f`` (``[-f, f]``) or ``(lower, upper)``, each in [-1, 1].
        value_range: the ``(min, max)`` range of the input values; the output is clipped to it.
            Defaults to ``(0, 255)``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> out = keras.layers.RandomBrightness(0.2, seed=1)(images, training=True)
        >>> out.shape, bool((out.numpy() >= 0).all() and (out.numpy() <= 255).all())
        ((2, 8, 8, 3), True)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        self._lower, self._upper = _factor_range(factor, "factor", min_value=-1)
        if self._upper > 1:
            raise ValueError(f"The argument `factor` must be in [-1, 1]. Received: "
                             f"factor={factor}")
        self.value_range = tuple(value_range)

    def _augment(self, x):
        span = self.value_range[1] - self.value_range[0]
        delta = self._rng.uniform(self._lower, self._upper, len(x)).astype(np.float32) * span
        return np.clip(x + delta[:, None, None, None], self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": list(self.value_range)})
        return config


class RandomCrop(_RandomLayer):
    """Crops a random ``(height, width)`` window of each image during training; at
    inference the central crop (or a resize of smaller images), as Keras does.

    Args:
        height: height of the output, in pixels.
        width: width of the output, in pixels.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        name: name of the layer; None: a unique name made from the class name.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> keras.layers.RandomCrop(5, 5, seed=1)(images, training=True).shape
        (2, 5, 5, 3)
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, name=name, **kwargs)
        self.height = int(height)
        self.width = int(width)

    def call(self, inputs, training=True):
        x, single = self._to_batch(inputs)
        n, h, w, _ = x.shape
        if h < self.height or w < self.width or not training:
            return CenterCrop.call(self, inputs)
        rng = per_row_generator(self._rng, n)  # the global batch's draws, this rank's rows
        tops = rng.integers(0, h - self.height + 1, n)
        lefts = rng.integers(0, w - self.width + 1, n)
        rows = tops[:, None] + np.arange(self.height)
        cols = lefts[:, None] + np.arange(self.width)
        out = x[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
        return self._from_batch(out, single)

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config
