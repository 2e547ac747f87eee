"""Keras 3's color and mixing image augmentation layers, vectorized over the batch in NumPy.

Each layer follows Keras 3.15's arithmetic (value ranges, factor ranges, the order of the
operations, TensorFlow's RGB<->HSV and grayscale weights), so with a factor that fixes
the random draw (``factor=(f, f)``, probabilities of 1) the output equals Keras's. Random
draws are per image, from the layer's own generator (``seed``); like the other ``Random*``
layers they apply only when called with ``training=True`` (``fit``, or calling the layer
directly) and pass images through otherwise. ``AutoContrast`` is deterministic and applies
always, as in Keras.

Images are ``(batch, height, width, channels)`` or one ``(height, width, channels)`` image
(``data_format="channels_first"`` puts channels first); outputs are float32.
"""
import numpy as np

from nnfast.backend.keras_tensor import KerasTensor, compute_output_spec
from nnfast.backend.tensor import Tensor
from nnfast.distribution.shard import per_batch_generator
from nnfast.layers.layer import Layer, _takes_training
from nnfast.layers.preprocessing import (
    RandomBrightness,
    RandomContrast,
    RandomRotation,
    RandomTranslation,
    _AffineRandomLayer,
    _array,
    _check_data_format,
    _RandomLayer,
)
from nnfast.preprocessing import _transforms
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object

_EPSILON = 1e-7
_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)  # tf.image's


def keras_factor(factor, bounds, name="factor"):
    """Keras's ``_set_factor``: a number ``f`` gives ``(max(-f, low), f)``, a pair is
    sorted; values outside ``bounds`` are an error."""
    msg = (f"The `{name}` argument should be a number (or a list of two numbers) in the range "
           f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        return tuple(sorted(factor))
    if isinstance(factor, (int, float)):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(msg)
        factor = abs(factor)
        return (max(-factor, bounds[0]), factor)
    raise ValueError(msg)


def check_value_range(value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"The `value_range` argument should be a list of two numbers. "
                         f"Received: value_range={value_range}")
    return sorted(value_range)


def to_range(x, source, target):
    """Linear map of ``x`` from ``source`` = (lo, hi) to ``target``."""
    if tuple(source) == tuple(target):
        return x
    x = (x - np.float32(source[0])) / np.float32(source[1] - source[0])
    return x * np.float32(target[1] - target[0]) + np.float32(target[0])


def rgb_to_grayscale(x):
    """(..., 3) -> (..., 1) with TensorFlow's weights."""
    return np.tensordot(x, _GRAY_WEIGHTS, axes=([-1], [0]))[..., None].astype(np.float32)


def rgb_to_hsv(x):
    """TensorFlow's rgb_to_hsv on the last axis (any value scale; H and S in [0, 1])."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    rng = v - x.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(v > 0, rng / v, 0).astype(np.float32)
        norm = np.float32(1.0) / (np.float32(6.0) * rng)
        h = np.where(r == v, norm * (g - b),
                     np.where(g == v, norm * (b - r) + np.float32(2 / 6),
                              norm * (r - g) + np.float32(4 / 6)))
    h = np.where(rng > 0, h, 0).astype(np.float32)
    h = np.where(h < 0, h + 1, h)
    return np.stack([h, s, v], axis=-1).astype(np.float32)


def hsv_to_rgb(x):
    """TensorFlow's hsv_to_rgb (its piecewise-linear form) on the last axis."""
    h, s, v = x[..., 0], x[..., 1], x[..., 2]
    dh = h * np.float32(6)
    dr = np.clip(np.abs(dh - 3) - 1, 0, 1)
    dg = np.clip(2 - np.abs(dh - 2), 0, 1)
    db = np.clip(2 - np.abs(dh - 4), 0, 1)
    one_s = 1 - s
    return np.stack([(one_s + s * dr) * v, (one_s + s * dg) * v, (one_s + s * db) * v],
                    axis=-1).astype(np.float32)


def _depthwise_same(x, kernel):
    """Per-channel 2-D correlation of NHWC ``x`` with a (kh, kw) kernel, zero 'same' padding
    (as depthwise_conv with padding="same")."""
    kh, kw = kernel.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    out = np.zeros_like(x)
    h, w = x.shape[1], x.shape[2]
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[:, i:i + h, j:j + w, :]
    return out


class _ColorLayer(_RandomLayer):
    """A random augmentation with a ``value_range`` (and Keras's ``factor`` config)."""

    def __init__(self, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.value_range = check_value_range(value_range)

    def _uniform(self, low, high, n):
        return self._rng.uniform(low, high, n).astype(np.float32)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": list(self.value_range)})
        if hasattr(self, "factor"):
            config["factor"] = list(self.factor) if isinstance(self.factor, tuple) \
                else self.factor
        return config


class RandomGrayscale(_ColorLayer):
    """Turns each image gray (3 equal channels, TF's luma weights) with probability
    ``factor`` during training.

    Args:
        factor: the probability that an image turns gray (default 0.5).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomGrayscale(factor=0.5, seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if factor < 0 or factor > 1:
            raise ValueError(f"`factor` should be between 0 and 1. Received: factor={factor}")
        self.factor = factor

    def _augment(self, x):
        apply = self._uniform(0, 1, len(x)) < self.factor
        return np.where(apply[:, None, None, None], rgb_to_grayscale(x), x)

    def get_config(self):
        config = super().get_config()
        config.pop("value_range")
        return config


class RandomInvert(_ColorLayer):
    """Inverts images (``value_range[1] - x``) during training: each image draws a
    probability in ``factor`` and inverts when a uniform draw falls below it (so
    ``factor=1.0`` inverts about half the images, ``factor=(1, 1)`` all of them).

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range each image's probability is drawn
            from.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.array([[[[10.0, 200.0, 130.0]]]], "float32")
        >>> np.asarray(RandomInvert(factor=(1.0, 1.0))(images, training=True)).ravel()
        array([245.,  55., 125.], dtype=float32)
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))
        self.value_range = list(value_range)

    def _augment(self, x):
        n = len(x)
        probability = self._uniform(self.factor[0], self.factor[1], n)
        apply = self._uniform(0, 1, n) < probability
        return np.where(apply[:, None, None, None], np.float32(self.value_range[1]) - x, x)


class Solarization(_ColorLayer):
    """Solarizes images during training: on the 0..255 scale adds ``uniform(a0, a1 * 255)``
    (Keras's bounds for ``addition_factor``), clips, then inverts pixels at or above
    ``uniform(t0, t1 * 255)`` (``threshold_factor``).

    Args:
        addition_factor: float or ``(low, high)`` in [0, 1]: the range of the value added before
            solarizing (default 0).
        threshold_factor: float or ``(low, high)`` in [0, 1]: the range of the inversion
            threshold (default 0).
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.array([[[[0.0, 200.0, 130.0]]]], "float32")
        >>> layer = Solarization(threshold_factor=(0.5, 0.5))  # threshold in [0.5, 127.5]
        >>> np.asarray(layer(images, training=True)).ravel()  # 200 and 130 always inverted
        array([  0.,  55., 125.], dtype=float32)
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.addition_factor = self._solarize_factor(addition_factor, "addition_factor")
        self.threshold_factor = self._solarize_factor(threshold_factor, "threshold_factor")

    @staticmethod
    def _solarize_factor(factor, name):
        msg = (f"The `addition_factor` and `threshold_factor` arguments should be a number (or "
               f"a list of two numbers) in the range [0, 1]. Received: {name}={factor}")
        values = factor if isinstance(factor, (tuple, list)) else [0, factor]
        if not isinstance(factor, (tuple, list, int, float)) or len(values) != 2 or \
                any(v < 0 or v > 1 for v in values):
            raise ValueError(msg)
        return tuple(sorted(values))

    def _augment(self, x):
        n = len(x)
        additions = self._uniform(self.addition_factor[0], self.addition_factor[1] * 255, n)
        thresholds = self._uniform(self.threshold_factor[0], self.threshold_factor[1] * 255, n)
        y = to_range(x, self.value_range, (0, 255))
        y = np.clip(y + additions[:, None, None, None], 0, 255)
        y = np.where(y < thresholds[:, None, None, None], y, 255 - y)
        return to_range(y, (0, 255), self.value_range)

    def get_config(self):
        config = super().get_config()
        config.update({"addition_factor": list(self.addition_factor),
                       "threshold_factor": list(self.threshold_factor)})
        return config


class AutoContrast(Layer):
    """Stretches each image's channels to the full ``value_range`` (per image and channel:
    ``(x - min) * 255 / (max - min)`` on the 0..255 scale); flat channels are unchanged.
    Deterministic; applies in training and inference alike, as in Keras.

    Args:
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``).

    Example:
        >>> images = np.array([[[[0.2], [0.6]]]], "float32")  # one 1x2 grey image
        >>> np.asarray(AutoContrast(value_range=(0, 1))(images)).ravel()
        array([0., 1.], dtype=float32)
    """

    _config_only_keys = ("data_format",)  # in Keras's config, unused: always channels-last

    def __init__(self, value_range=(0, 255), **kwargs):
        kwargs.pop("data_format", None)
        super().__init__(**kwargs)
        self.value_range = check_value_range(value_range)

    def call(self, inputs):
        x = _array(inputs)
        single = x.ndim == 3
        if single:
            x = x[None]
        y = to_range(x, self.value_range, (0, 255))
        low = y.min(axis=(1, 2), keepdims=True)
        high = y.max(axis=(1, 2), keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.float32(255.0) / (high - low)
            y = np.clip(y * scale + (-low * scale), 0.0, 255.0)
        y = to_range(y, (0, 255), self.value_range)
        y = np.where(np.isnan(y), x, y).astype(np.float32)
        return Tensor(y[0] if single else y)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["value_range"] = list(self.value_range)
        return config


class RandomPosterization(_ColorLayer):
    """Keeps the top ``bits`` bits of each 8-bit pixel during training; ``bits`` is drawn
    per image from ``[factor[0], factor[1])`` (``factor=(b, b)`` fixes it), in 1..8.

    Args:
        factor: ``(low, high)`` in 1..8: the range the kept bit count is drawn from.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.array([[[[10.0, 200.0, 130.0]]]], "float32")
        >>> layer = RandomPosterization(factor=(4, 4))  # 16 levels per channel
        >>> np.asarray(layer(images, training=True)).ravel()
        array([  0., 192., 128.], dtype=float32)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (1, 8))

    def _augment(self, x):
        n = len(x)
        if self.factor[0] != self.factor[1]:
            bits = self._rng.integers(int(self.factor[0]), int(self.factor[1]), n)
        else:
            bits = np.full(n, int(self.factor[0]))
        shift = (8 - bits).astype(np.uint8)[:, None, None, None]
        y = to_range(x, self.value_range, (0, 255))
        y = np.clip(y, 0, 255).astype(np.uint8)  # TF's float->uint8 cast truncates
        y = ((y >> shift) << shift).astype(np.float32)
        return to_range(y, (0, 255), self.value_range)


class Equalization(Layer):
    """Histogram equalization of each channel, as Keras 3: the histogram (``bins`` bins on
    the 0..255 scale) is taken over the whole batch per channel; channels with at most one
    occupied bin are unchanged. Applies when ``training`` is true (Keras's rule).

    Args:
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        bins: the number of histogram bins (default 256).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> Equalization(value_range=(0, 255))(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.bins = bins
        self.value_range = check_value_range(value_range)
        self.data_format = _check_data_format(data_format)

    def _equalize(self, channel):
        bins = self.bins
        scaled = to_range(channel, self.value_range, (0, 255))
        idx = np.clip((scaled * (bins - 1) / np.float32(255)).astype(np.int32), 0, bins - 1)
        hist = np.bincount(idx.reshape(-1), minlength=bins)
        if np.count_nonzero(hist) <= 1:
            return channel
        cdf = np.cumsum(hist)
        cdf_min = cdf[np.nonzero(cdf)[0][0]]
        denominator = cdf[-1] - cdf_min
        denominator = denominator if denominator != 0 else 1
        table = np.clip(np.round((cdf - cdf_min) * 255 / denominator), 0, 255).astype(np.float32)
        pos = np.clip(scaled / np.float32(255.0) * (bins - 1), 0, bins - 1).astype(np.int32)
        return to_range(table[pos], (0, 255), self.value_range)

    def call(self, inputs, training=True):
        x = _array(inputs)
        if not training:
            return Tensor(x)
        axis = -3 if self.data_format == "channels_first" else -1
        channels = [self._equalize(np.take(x, i, axis=axis)) for i in range(x.shape[axis])]
        return Tensor(np.stack(channels, axis=axis).astype(np.float32))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"bins": self.bins, "value_range": list(self.value_range),
                       "data_format": self.data_format})
        return config


class RandomColorDegeneration(_ColorLayer):
    """Blends each image toward its grayscale version by a factor drawn from ``factor``
    (``x + f * (gray - x)``), then clips to ``value_range``.

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range the strength is drawn from.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomColorDegeneration(factor=(0.5, 0.5), seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (-1, 1))

    def _augment(self, x):
        f = self._uniform(self.factor[0], self.factor[1], len(x))[:, None, None, None]
        y = x + f * (rgb_to_grayscale(x) - x)
        return np.clip(y, self.value_range[0], self.value_range[1])


class RandomSaturation(_ColorLayer):
    """Scales the HSV saturation of each image by ``f / (1 - f + eps)``, ``f`` drawn from
    ``factor`` (0.5 leaves the image about unchanged, 0 grays it, 1 saturates fully), and
    clips the saturation to ``value_range`` as Keras does.

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range the strength is drawn from.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomSaturation(factor=(0.2, 0.8), seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (-1, 1))

    def _augment(self, x):
        f = self._uniform(self.factor[0], self.factor[1], len(x))
        f = (f / (1 - f + np.float32(_EPSILON))).astype(np.float32)[:, None, None]
        hsv = rgb_to_hsv(x)
        s = np.clip(hsv[..., 1] * f, self.value_range[0], self.value_range[1])
        return hsv_to_rgb(np.stack([hsv[..., 0], s, hsv[..., 2]], axis=-1))


class RandomHue(_ColorLayer):
    """Rotates the HSV hue of each image by ``± f / 2`` of a turn (sign and ``f`` drawn per
    image; ``f`` in ``factor``), on images mapped from ``value_range`` to 0..1.

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range the strength is drawn from.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomHue(factor=0.2, seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))
        self.value_range = list(value_range)

    def draw(self, n):
        """Per-image hue shifts (Keras's order of draws: sign, then magnitude)."""
        sign = np.where(self._uniform(0, 1, n) > 0.5, -1.0, 1.0).astype(np.float32)
        return sign * self._uniform(self.factor[0], self.factor[1], n) * np.float32(0.5)

    def _augment(self, x):
        return self.apply_shift(x, self.draw(len(x)))

    def apply_shift(self, x, shift):
        y = to_range(x, self.value_range, (0, 1))
        hsv = rgb_to_hsv(y)
        h = hsv[..., 0] + shift[:, None, None]
        h = np.where(h > 1.0, h - 1.0, h)
        h = np.where(h < 0.0, h + 1.0, h)
        rgb = np.clip(hsv_to_rgb(np.stack([h, hsv[..., 1], hsv[..., 2]], axis=-1)), 0, 1)
        return to_range(rgb, (0, 1), self.value_range)


class RandomSharpness(_ColorLayer):
    """Sharpens (or blurs) each image: blends it with its 3x3 smoothed version
    (``1/13`` around, ``5/13`` centre, zero padding) by ``1 - 2 f``, ``f`` drawn from
    ``factor`` (0.5 keeps the image), then clips to ``value_range``.

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range the strength is drawn from.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomSharpness(factor=(0.9, 0.9), seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))

    def _augment(self, x):
        f = (self._uniform(self.factor[0], self.factor[1], len(x)) * 2)[:, None, None, None]
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.array([[a, a, a], [a, b, a], [a, a, a]], dtype=np.float32)
        smoothed = _depthwise_same(x, kernel)
        y = x + (1.0 - f) * (smoothed - x)
        return np.clip(y, self.value_range[0], self.value_range[1])


class RandomColorJitter(_ColorLayer):
    """Random brightness, contrast, saturation and hue, in that order (each only when its
    factor is given), with the semantics of ``RandomBrightness``, ``RandomContrast``,
    ``RandomSaturation`` and ``RandomHue``.

    Args:
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        brightness_factor: as ``RandomBrightness``'s ``factor``, or None to skip.
        contrast_factor: as ``RandomContrast``'s ``factor``, or None to skip.
        saturation_factor: as ``RandomSaturation``'s ``factor``, or None to skip.
        hue_factor: as ``RandomHue``'s ``factor``, or None to skip.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> jitter = RandomColorJitter(brightness_factor=0.2, contrast_factor=0.2,
        ...                            saturation_factor=(0.4, 0.6), hue_factor=0.1, seed=0)
        >>> jitter(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.value_range = list(value_range)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        seed_of = (lambda k: None) if seed is None else (lambda k: seed + k)
        self._parts = []
        if brightness_factor is not None:
            self._parts.append(RandomBrightness(brightness_factor, value_range=value_range,
                                                seed=seed_of(1)))
        if contrast_factor is not None:
            self._parts.append(RandomContrast(contrast_factor, value_range=value_range,
                                              seed=seed_of(2)))
        if saturation_factor is not None:
            self._parts.append(RandomSaturation(saturation_factor, value_range=value_range,
                                                seed=seed_of(3)))
        if hue_factor is not None:
            self._parts.append(RandomHue(hue_factor, value_range=value_range, seed=seed_of(4)))

    def _augment(self, x):
        for part in self._parts:
            x = part._augment_rows(x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"brightness_factor": self.brightness_factor,
                       "contrast_factor": self.contrast_factor,
                       "saturation_factor": self.saturation_factor,
                       "hue_factor": self.hue_factor})
        return config


class RandomGaussianBlur(_ColorLayer):
    """Blurs each image with probability drawn from ``factor`` with a separable Gaussian
    kernel of ``kernel_size`` (odd) and sigmas drawn from ``sigma`` (one per axis, shared by
    the batch, as Keras), zero padding, then clips to ``value_range``.

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range each image's probability is drawn
            from.
        kernel_size: the odd side of the Gaussian kernel (default 3).
        sigma: float or ``(low, high)``: the range the blur's standard deviation is drawn from
            (default 1.0).
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> blur = RandomGaussianBlur(factor=(1, 1), kernel_size=5, sigma=(0.8, 0.8), seed=0)
        >>> blur(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))
        if isinstance(kernel_size, (tuple, list)):
            if len(kernel_size) != 2 or kernel_size[0] % 2 == 0 or kernel_size[1] % 2 == 0:
                raise ValueError(f"kernel_size must be an odd number (or two). Received: "
                                 f"kernel_size={kernel_size}")
            self.kernel_size = tuple(kernel_size)
        else:
            if kernel_size % 2 == 0:
                raise ValueError(f"kernel_size must be an odd number. Received: "
                                 f"kernel_size={kernel_size}")
            self.kernel_size = (kernel_size, kernel_size)
        self.sigma = keras_factor(sigma, (0, 1), "sigma")
        self.value_range = list(value_range)

    @staticmethod
    def _kernel(size, sigma):
        x = np.arange(size, dtype=np.float32) - np.float32((size - 1) / 2)
        k = np.exp(-(x ** 2) / np.float32(2.0 * sigma ** 2))
        return (k / k.sum()).astype(np.float32)

    def blur(self, x, sigma):
        """Blurs NHWC ``x`` with per-axis sigmas ``sigma`` = (sigma_y, sigma_x)."""
        ky = self._kernel(self.kernel_size[0], sigma[0])
        kx = self._kernel(self.kernel_size[1], sigma[1])
        return _depthwise_same(x, np.outer(ky, kx).astype(np.float32))

    def _augment(self, x):
        n = len(x)
        probability = self._uniform(self.factor[0], self.factor[1], n)
        apply = self._uniform(0, 1, n) < probability
        sigma = self._uniform(self.sigma[0], self.sigma[1], 2) + np.float32(1e-6)
        y = np.where(apply[:, None, None, None], self.blur(x, sigma), x)
        return np.clip(y, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"kernel_size": list(self.kernel_size), "sigma": list(self.sigma)})
        return config


class RandomErasing(_ColorLayer):
    """Erases a random rectangle of each image (with probability drawn from ``factor``):
    sides ``sqrt(u) * size`` with ``u`` in ``scale``, filled with ``fill_value`` (a number
    or three per-channel values) or, when ``None``, Gaussian noise times
    ``value_range[1]``, clipped to ``value_range``.

    Args:
        factor: float or ``(low, high)`` in [0, 1]: the range each image's probability is drawn
            from.
        scale: ``(low, high)``: the erased area's share of the image (default ``(0.02, 0.33)``).
        fill_value: a number, three per-channel values, or None (Gaussian noise).
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> erase = RandomErasing(factor=1.0, scale=(0.1, 0.2), fill_value=0, seed=0)
        >>> erase(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))
        self.scale = keras_factor(scale, (0, 1), "scale")
        if fill_value is not None and not (
                isinstance(fill_value, (int, float)) or
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3):
            raise ValueError(f"The `fill_value` argument should be a number (or a list of three "
                             f"numbers). Received: fill_value={fill_value}")
        self.fill_value = fill_value
        self.value_range = list(value_range)

    def _augment(self, x):
        n, h, w, _ = x.shape
        ratio = np.sqrt(self._rng.uniform(self.scale[0], self.scale[1], (n, 2))
                        ).astype(np.float32)
        box_w, box_h = ratio[:, 0] * w, ratio[:, 1] * h
        x0 = self._uniform(0, 1, n) * (w - box_w)
        y0 = self._uniform(0, 1, n) * (h - box_h)
        gx = np.arange(w, dtype=np.float32)[None, None, :, None]
        gy = np.arange(h, dtype=np.float32)[None, :, None, None]
        r = (slice(None), None, None, None)
        inside = (gx >= x0[r]) & (gx < (x0 + box_w)[r]) & (gy >= y0[r]) & (gy < (y0 + box_h)[r])
        probability = self._uniform(self.factor[0], self.factor[1], n)
        apply = self._uniform(0, 1, n) < probability
        if self.fill_value is None:
            fill = self._rng.standard_normal(x.shape).astype(np.float32) * \
                np.float32(self.value_range[1])
        else:
            fill = np.broadcast_to(np.asarray(self.fill_value, dtype=np.float32), x.shape)
        fill = np.clip(fill, self.value_range[0], self.value_range[1])
        return np.where(inside & apply[r], fill, x)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": list(self.scale), "fill_value": self.fill_value})
        return config


class _MixingLayer(_RandomLayer):
    """Mixes images (and, given ``{"images", "labels"}``, labels) across the batch."""

    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            if "images" not in inputs:
                raise ValueError(f"{type(self).__name__} expects a dict with an 'images' key. "
                                 f"Received keys: {sorted(inputs)}")
            out = dict(inputs)
            x, single = self._to_batch(inputs["images"])
            labels = None if "labels" not in inputs else _array(inputs["labels"])
            if training and not single:
                x, labels = self._mix(x, labels)
            out["images"] = self._from_batch(x, single)
            if labels is not None:
                out["labels"] = Tensor(labels.astype(np.float32))
            return out
        if not training:
            return inputs
        x, single = self._to_batch(inputs)
        if not single:
            x, _ = self._mix(x, None)
        return self._from_batch(x, single)


class MixUp(_MixingLayer):
    """MixUp: ``w * x + (1 - w) * x[perm]`` with ``w ~ Beta(alpha, alpha)`` per image and a
    random permutation of the batch; labels are mixed with the same weights.

    Args:
        alpha: the Beta(alpha, alpha) concentration of the mixing weight (default 0.2).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> labels = np.eye(3, dtype="float32")[[0, 2]]
        >>> out = MixUp(alpha=0.2, seed=0)({"images": images, "labels": labels}, training=True)
        >>> out["images"].shape, out["labels"].shape
        ((2, 8, 8, 3), (2, 3))
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = alpha

    def _mix(self, x, labels):
        n = len(x)
        perm = self._rng.permutation(n)
        w = self._rng.beta(self.alpha, self.alpha, n).astype(np.float32)
        x = w[:, None, None, None] * x + (1.0 - w[:, None, None, None]) * x[perm]
        if labels is not None:
            labels = w[:, None] * labels + (1.0 - w[:, None]) * labels[perm]
        return x, labels

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class CutMix(_MixingLayer):
    """CutMix: pastes a rectangle of another image of the batch (a random permutation) into
    each image; the rectangle's sides are ``sqrt(1 - w)`` of the image's with
    ``w ~ Beta(a, a)``, ``a`` drawn from ``factor``; labels are mixed by the pasted area.

    Args:
        factor: float or ``(low, high)``: the Beta concentration range (default 1.0).
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> labels = np.eye(3, dtype="float32")[[0, 2]]
        >>> out = CutMix(factor=1.0, seed=0)({"images": images, "labels": labels}, training=True)
        >>> out["images"].shape, out["labels"].shape
        ((2, 8, 8, 3), (2, 3))
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))

    def _mix(self, x, labels):
        n, h, w, _ = x.shape
        alpha = self._rng.uniform(self.factor[0], self.factor[1]) + 1e-6
        ratio = np.sqrt(1.0 - self._rng.beta(alpha, alpha, n)).astype(np.float32)
        cw, ch = ratio * w, ratio * h
        x0 = self._rng.uniform(0, 1, n).astype(np.float32) * (w - cw)
        y0 = self._rng.uniform(0, 1, n).astype(np.float32) * (h - ch)
        gx = np.arange(w, dtype=np.float32)[None, None, :, None]
        gy = np.arange(h, dtype=np.float32)[None, :, None, None]
        r = (slice(None), None, None, None)
        inside = (gx >= x0[r]) & (gx < (x0 + cw)[r]) & (gy >= y0[r]) & (gy < (y0 + ch)[r])
        perm = self._rng.permutation(n)
        x = np.where(inside, x[perm], x)
        if labels is not None:
            kept = (1.0 - cw * ch / (w * h)).astype(np.float32)[:, None]
            labels = kept * labels + (1.0 - kept) * labels[perm]
        return x, labels

    def get_config(self):
        config = super().get_config()
        config["factor"] = list(self.factor)
        return config


class Pipeline(Layer):
    """Applies a list of layers in order (``keras.layers.Pipeline``), passing ``training``
    to those that take it; unlike ``Sequential`` it is a layer, for preprocessing stacks.

    Args:
        layers: the list of layers, applied in order; plain functions of one tensor
            (``lambda x: x / 255.0``) may sit among them (Keras 3.15 fails on those).
        name: the layer's name.

    Example:
        >>> augment = Pipeline([keras.layers.RandomFlip(seed=0),
        ...                     keras.layers.RandomRotation(0.1, seed=1),
        ...                     lambda x: x / 255.0])
        >>> images = np.full((2, 8, 8, 3), 255.0, "float32")
        >>> float(np.max(augment(images, training=False)))  # inference: only the scaling
        1.0
    """

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        self._pipeline_layers = list(layers)
        for layer in self._pipeline_layers:
            if not callable(layer):
                raise ValueError(f"Pipeline expects a list of layers. Received: {layer!r}")

    @property
    def layers(self):
        return self._pipeline_layers

    def call(self, inputs, training=True):
        x = inputs
        for layer in self._pipeline_layers:
            if isinstance(layer, Layer) and _takes_training(type(layer)):
                x = layer(x, training=training)
            else:
                x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            if isinstance(layer, Layer):
                input_shape = layer.compute_output_shape(input_shape)
            else:  # a plain function (nnfast extension; Keras 3.15 fails on one): trace it
                input_shape = compute_output_spec(layer, (KerasTensor(input_shape),), {}).shape
        return input_shape

    def get_config(self):
        return {"layers": [serialize_keras_object(layer) for layer in self._pipeline_layers],
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layers = [deserialize_keras_object(c, custom_objects) for c in config.pop("layers")]
        return cls(layers, **config)


class RandomShear(_AffineRandomLayer):
    """Shears images during training (Keras's affine map, no re-centring): an output pixel
    ``(x, y)`` samples the input at ``(x + sx * y, y + sy * x)``, with ``sx`` drawn from
    ``x_factor`` and ``sy`` from ``y_factor`` (a number ``f`` means ``[-f, f]``) and one
    random sign per image for both.

    Args:
        x_factor: horizontal shear range: a number ``f`` (``[-f, f]``) or a
            ``(lower, upper)`` pair in [0, 1].
        y_factor: vertical shear range, as ``x_factor``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"``.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomShear(x_factor=0.2, y_factor=0.2, seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.x_factor = self._shear_factor(x_factor, "x_factor")
        self.y_factor = self._shear_factor(y_factor, "y_factor")
        # The config keeps the arguments as given: Keras saves the (-f, f) range, which its
        # own constructor then rejects, so files with it do not load in Keras.
        self._factor_args = (list(x_factor) if isinstance(x_factor, (tuple, list)) else x_factor,
                             list(y_factor) if isinstance(y_factor, (tuple, list)) else y_factor)

    @staticmethod
    def _shear_factor(factor, name):
        msg = (f"The `factor` argument should be a number (or a list of two numbers) in the "
               f"range [0, 1.0]. Received: {name}={factor}")
        if isinstance(factor, (tuple, list)):
            # NOTE: pairs may go down to -1 so that Keras-written (-f, f) ranges load.
            if len(factor) != 2 or any(f < -1 or f > 1 for f in factor):
                raise ValueError(msg)
            return tuple(sorted(float(f) for f in factor))
        if isinstance(factor, (int, float)):
            if factor < 0 or factor > 1:
                raise ValueError(msg)
            return (-abs(float(factor)), abs(float(factor)))
        raise ValueError(msg)

    def shear(self, x, shear_factors):
        """Applies per-image ``(sx, sy)`` shears (an ``(n, 2)`` array) to NHWC ``x``."""
        # Source coordinates in float32 and TF's order of operations, so that points that
        # land on .5 round as Keras's "nearest" does.
        h, w = x.shape[1], x.shape[2]
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        f = np.asarray(shear_factors, dtype=np.float32)[:, :, None, None]
        cols = (gx + f[:, 0] * gy).astype(np.float32)
        rows = (f[:, 1] * gx + gy).astype(np.float32)
        return _transforms.affine_resample(x, rows, cols, self.interpolation, self.fill_mode,
                                           self.fill_value)

    def _augment(self, x):
        n = len(x)
        sign = np.where(self._rng.uniform(0, 1, (n, 1)) > 0.5, -1.0, 1.0)
        sy = self._rng.uniform(self.y_factor[0], self.y_factor[1], (n, 1))
        sx = self._rng.uniform(self.x_factor[0], self.x_factor[1], (n, 1))
        return self.shear(x, np.concatenate([sx, sy], axis=1).astype(np.float32) * sign)

    def get_config(self):
        config = super().get_config()
        config.update({"x_factor": self._factor_args[0], "y_factor": self._factor_args[1]})
        return config


def _augment_ops(factor, value_range, interpolation, seed):
    """RandAugment's and AugMix's operations, by Keras's attribute names, built from one
    ``(lower, upper)`` factor as Keras builds them."""
    f, vr = factor, value_range
    sub_seed = (lambda k: None) if seed is None else (lambda k: seed + k)
    return {
        "random_shear": RandomShear(x_factor=f, y_factor=f, interpolation=interpolation,
                                    seed=sub_seed(1)),
        "random_translation": RandomTranslation(f, f, interpolation=interpolation,
                                                seed=sub_seed(2)),
        "random_rotation": RandomRotation(f, interpolation=interpolation, seed=sub_seed(3)),
        "random_brightness": RandomBrightness(f, value_range=vr, seed=sub_seed(4)),
        "random_color_degeneration": RandomColorDegeneration(f, value_range=vr,
                                                             seed=sub_seed(5)),
        "random_contrast": RandomContrast(f, value_range=vr, seed=sub_seed(6)),
        "random_sharpness": RandomSharpness(f, value_range=vr, seed=sub_seed(7)),
        "random_posterization": RandomPosterization(max(1, int(8 * f[1])), value_range=vr,
                                                    seed=sub_seed(8)),
        "solarization": Solarization(f, f, value_range=vr, seed=sub_seed(9)),
        "auto_contrast": AutoContrast(value_range=vr),
        "equalization": Equalization(value_range=vr),
    }


def _apply_op(op, x):
    """One operation on an NHWC batch (random layers draw their own per-image strengths)."""
    return op._augment_rows(x) if isinstance(op, _RandomLayer) else np.asarray(op(x).value)


class RandAugment(_ColorLayer):
    """RandAugment (``keras.layers.RandAugment``): during training, ``num_ops`` operations
    drawn (with replacement, once per batch) from shear, translation, rotation, brightness,
    color degeneration, contrast, sharpness, posterization, solarization, auto-contrast and
    equalization are applied in turn to the batch, each with its own per-image random
    strength bounded by ``factor`` (in [0, 1]).

    Args:
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        num_ops: how many operations are applied (default 2).
        factor: float or ``(low, high)`` in [0, 1]: the strength bound of each operation
            (default 0.5).
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> augment = RandAugment(value_range=(0, 255), num_ops=2, factor=0.5)
        >>> augmented = augment(images, training=True)
    """

    _AUGMENT_LAYERS = ("random_shear", "random_translation", "random_rotation",
                       "random_brightness", "random_color_degeneration", "random_contrast",
                       "random_sharpness", "random_posterization", "solarization",
                       "auto_contrast", "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.value_range = list(value_range)
        self.num_ops = num_ops
        self.factor = keras_factor(factor, (0, 1))
        self.interpolation = interpolation
        self._ops = _augment_ops(self.factor, self.value_range, interpolation, seed)

    def _augment(self, x):
        # one choice per batch (not per image), even when num_ops equals a rank's rows
        for idx in per_batch_generator(self._rng).integers(0, len(self._AUGMENT_LAYERS),
                                                           self.num_ops):
            op = self._ops[self._AUGMENT_LAYERS[idx]]
            x = _apply_op(op, x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"num_ops": self.num_ops, "interpolation": self.interpolation})
        return config


def homography(start_points, end_points):
    """The ``(n, 8)`` projective transforms mapping each output corner (``end_points``) to
    its input corner (``start_points``), both ``(n, 4, 2)`` as (x, y) pairs (Keras's
    ``compute_homography_matrix``)."""
    s = np.asarray(start_points, dtype=np.float64)
    e = np.asarray(end_points, dtype=np.float64)
    n = len(s)
    a = np.zeros((n, 8, 8))
    b = np.zeros((n, 8))
    for k in range(4):
        ex, ey, sx, sy = e[:, k, 0], e[:, k, 1], s[:, k, 0], s[:, k, 1]
        a[:, 2 * k] = np.stack([ex, ey, np.ones(n), 0 * ex, 0 * ex, 0 * ex, -sx * ex, -sx * ey],
                               axis=-1)
        a[:, 2 * k + 1] = np.stack([0 * ex, 0 * ex, 0 * ex, ex, ey, np.ones(n), -sy * ex,
                                    -sy * ey], axis=-1)
        b[:, 2 * k], b[:, 2 * k + 1] = sx, sy
    return np.linalg.solve(a, b[..., None])[..., 0].astype(np.float32)


class RandomPerspective(_ColorLayer):
    """Random perspective warps (``keras.layers.RandomPerspective``): each image (with
    probability drawn from ``factor``) moves its four corners by up to ``scale / 2`` of
    their coordinates and is resampled through the homography, ``fill_value`` outside.

    Args:
        factor: the probability range, in [0, 1].
        scale: the corners' displacement bound, in [0, 1].
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_value: the value of output pixels that fall outside the input (default 0.0).
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomPerspective(factor=1.0, scale=0.3, seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))
        if scale < 0.0 or scale > 1.0:
            raise ValueError(f"The `scale` argument should be a number in the range [0,1]. "
                             f"Received: scale={scale}")
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of "
                                      f"one ('nearest', 'bilinear').")
        self.scale = scale
        self.interpolation = interpolation
        self.fill_value = fill_value

    def perspective(self, x, start_points, end_points):
        """Warps NHWC ``x`` so that ``start_points`` land on ``end_points`` (TF's projective
        resampling in float32, constant fill)."""
        t = homography(start_points, end_points)[:, :, None, None]
        h, w = x.shape[1], x.shape[2]
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        projection = t[:, 6] * gx + t[:, 7] * gy + np.float32(1)
        cols = ((t[:, 0] * gx + t[:, 1] * gy + t[:, 2]) / projection).astype(np.float32)
        rows = ((t[:, 3] * gx + t[:, 4] * gy + t[:, 5]) / projection).astype(np.float32)
        return _transforms.affine_resample(x, rows, cols, self.interpolation, "constant",
                                           self.fill_value)

    def _augment(self, x):
        n, h, w, _ = x.shape
        probability = self._uniform(self.factor[0], self.factor[1], n)
        apply = self._uniform(0, 1, n) < probability
        move = self._rng.uniform(-0.5 * self.scale, 0.5 * self.scale, (n, 4, 2))
        start = np.broadcast_to(np.array([[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1],
                                          [w - 1, h - 1]], dtype=np.float32), (n, 4, 2))
        end = (start + start * move).astype(np.float32)
        return np.where(apply[:, None, None, None], self.perspective(x, start, end), x)

    def get_config(self):
        config = super().get_config()
        config.pop("value_range")
        config.update({"scale": self.scale, "interpolation": self.interpolation,
                       "fill_value": self.fill_value})
        return config


class MaxNumBoundingBoxes(Layer):
    """Pads (with ``fill_value``) or truncates the bounding boxes of
    ``{"images", "bounding_boxes": {"boxes", "labels"}}`` inputs to ``max_number`` per image
    (``keras.layers.MaxNumBoundingBoxes``); images and other keys pass unchanged.

    Args:
        max_number: boxes per image after the layer.
        fill_value: the value of padded boxes and labels (-1).

    Keyword Args:
        bounding_box_format: the boxes' format name (kept in the config, as Keras).

    Example:
        >>> images = np.zeros((2, 8, 8, 3), "float32")
        >>> b = np.array([[[0, 0, 4, 4]], [[1, 1, 5, 5]]], "float32")
        >>> l = np.array([[1], [2]], "float32")
        >>> layer = MaxNumBoundingBoxes(max_number=3, bounding_box_format="xyxy")
        >>> out = layer({"images": images, "bounding_boxes": {"boxes": b, "labels": l}})
        >>> np.asarray(out["bounding_boxes"]["labels"])  # padded with -1
        array([[ 1., -1., -1.],
               [ 2., -1., -1.]], dtype=float32)
    """

    _config_only_keys = ("data_format", "bounding_box_format")

    def __init__(self, max_number, fill_value=-1, **kwargs):
        self.bounding_box_format = kwargs.pop("bounding_box_format", None)
        kwargs.pop("data_format", None)
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def _fit(self, a, trailing):
        a = _array(a) if not isinstance(a, np.ndarray) else a.astype(np.float32)
        a = a[:, :self.max_number]
        pad = self.max_number - a.shape[1]
        if pad > 0:
            a = np.pad(a, [(0, 0), (0, pad)] + [(0, 0)] * trailing,
                       constant_values=self.fill_value)
        return a

    def call(self, inputs):
        if not isinstance(inputs, dict) or "bounding_boxes" not in inputs:
            return inputs
        boxes = inputs["bounding_boxes"]
        extra = set(boxes) - {"boxes", "labels"}
        if extra:
            raise KeyError(f"There are unsupported keys in `bounding_boxes`: {sorted(extra)}. "
                           "Only `boxes` and `labels` are supported.")
        if not self.bounding_box_format:
            raise ValueError("You passed an input with a 'bounding_boxes' key, but you didn't "
                             "specify a bounding box format. Pass a `bounding_box_format` "
                             "argument to MaxNumBoundingBoxes, e.g. "
                             "`bounding_box_format='xyxy'`.")
        b = np.asarray(boxes["boxes"].value if isinstance(boxes["boxes"], Tensor)
                       else boxes["boxes"], dtype=np.float32)
        lab = np.asarray(boxes["labels"].value if isinstance(boxes["labels"], Tensor)
                         else boxes["labels"], dtype=np.float32)
        single = b.ndim == 2
        if single:
            b, lab = b[None], lab[None]
        b, lab = self._fit(b, 1), self._fit(lab, 0)
        out = dict(inputs)
        out["bounding_boxes"] = {"boxes": Tensor(b[0] if single else b),
                                 "labels": Tensor(lab[0] if single else lab)}
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["max_number"] = self.max_number
        config["fill_value"] = self.fill_value
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


class AugMix(_ColorLayer):
    """AugMix (``keras.layers.AugMix``): during training the batch goes through
    ``num_chains`` chains of up to ``chain_depth`` operations drawn from RandAugment's set
    (only the geometric and tone ones unless ``all_ops``); the chains are mixed with
    Dirichlet(``alpha``) weights and the result is blended with the original image by a
    Beta(``alpha``, ``alpha``) weight, then clipped to ``value_range``.

    Args:
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        num_chains: how many augmentation chains are mixed (default 3).
        chain_depth: the most operations per chain (each chain draws 1..chain_depth; default 3).
        factor: float or ``(low, high)``: the strength of each operation (default 0.3).
        alpha: the Dirichlet and Beta concentration of the mixing weights (default 1.0).
        all_ops: also use the colour operations (brightness, contrast, ...), not only the
            geometric and tone ones.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> augmix = AugMix(value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, seed=0)
        >>> augmix(images, training=True).shape
        (2, 8, 8, 3)
    """

    _ALL = ("random_shear", "random_translation", "random_rotation", "random_posterization",
            "solarization", "auto_contrast", "equalization", "random_brightness",
            "random_color_degeneration", "random_contrast", "random_sharpness")

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.value_range = list(value_range)
        self.num_chains = num_chains
        self.chain_depth = chain_depth
        self.factor = keras_factor(factor, (0, 1))
        self.alpha = alpha
        self.all_ops = all_ops
        self.interpolation = interpolation
        self._names = self._ALL if all_ops else self._ALL[:7]
        self._ops = _augment_ops(self.factor, self.value_range, interpolation, seed)

    def _augment(self, x):
        gamma = per_batch_generator(self._rng).gamma(self.alpha, size=self.num_chains)
        chain_weights = (gamma / gamma.sum()).astype(np.float32)
        keep = np.float32(self._rng.beta(self.alpha, self.alpha))
        mixed = np.zeros_like(x)
        for c in range(self.num_chains):
            y = x.copy()
            for _ in range(self.chain_depth):
                pick = self._rng.integers(0, len(self._names) + 1)  # the extra choice: skip
                if pick < len(self._names):
                    y = _apply_op(self._ops[self._names[pick]], y)
            mixed += y * chain_weights[c]
        out = keep * x + (1 - keep) * mixed
        return np.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"num_chains": self.num_chains, "chain_depth": self.chain_depth,
                       "alpha": self.alpha, "all_ops": self.all_ops,
                       "interpolation": self.interpolation})
        return config


class RandomElasticTransform(_ColorLayer):
    """Elastic distortions (``keras.layers.RandomElasticTransform``): each image (with
    probability drawn from ``factor``) is resampled at ``(x + alpha d, y + alpha d)``, where
    ``d`` is Gaussian noise times ``sigma`` blurred by a Gaussian of ``sigma`` (kernel
    ``6 int(sigma) | 1``), ``alpha = 0.1 s max(h, w)``, ``sigma = 0.05 s min(h, w)`` and
    ``s`` is drawn from ``scale`` once per batch; then clipped to ``value_range``. As in
    Keras 3.15 the same field displaces both axes.

    Args:
        factor: the probability range, in [0, 1].
        scale: the distortion strength range, in [0, 1].
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: ``"reflect"``, ``"mirror"``, ``"wrap"``, ``"nearest"`` or ``"constant"``.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        seed: int or None: seeds the layer's random draws (repeatable augmentation).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> RandomElasticTransform(factor=1.0, scale=0.5, seed=0)(images, training=True).shape
        (2, 8, 8, 3)
    """

    _FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0, 1))
        self.scale = keras_factor(scale, (0, 1), "scale")
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of "
                                      f"one ('nearest', 'bilinear').")
        if fill_mode not in self._FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one "
                                      f"{self._FILL_MODES}.")
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.value_range = list(value_range)

    def displace(self, x, field, alpha):
        """Resamples NHWC ``x`` at ``(x + alpha * field, y + alpha * field)`` per image
        (``field``: ``(n, h, w)``)."""
        h, w = x.shape[1], x.shape[2]
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        shift = np.float32(alpha) * field
        return _transforms.affine_resample(x, gy + shift, gx + shift, self.interpolation,
                                           self.fill_mode, self.fill_value)

    def _augment(self, x):
        if self.scale[1] == 0 or self.factor[1] == 0:
            return x
        n, h, w, _ = x.shape
        probability = self._uniform(self.factor[0], self.factor[1], n)
        apply = self._uniform(0, 1, n) < probability
        s = float(self._rng.uniform(self.scale[0], self.scale[1]))
        alpha, sigma = max(h, w) * 0.1 * s, min(h, w) * 0.05 * s
        size = 6 * int(sigma) | 1
        noise = self._rng.standard_normal((n, h, w, 1)).astype(np.float32) * np.float32(sigma)
        k = RandomGaussianBlur._kernel(size, max(sigma, 1e-6))
        field = _depthwise_same(noise, np.outer(k, k).astype(np.float32))[..., 0]
        out = np.where(apply[:, None, None, None], self.displace(x, field, alpha), x)
        return np.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        config = super().get_config()
        config.update({"scale": list(self.scale), "interpolation": self.interpolation,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value})
        return config


def _clahe_tile_weights(size, tile, count):
    """CLAHE's bilinear blend along one image axis of ``size`` pixels cut into ``count``
    tiles of ``tile`` pixels: for each pixel, the two neighbouring tiles' indices in the
    edge-padded grid of ``count + 2`` tiles and the float32 weight of the second (also used by
    the layer's ONNX converter, so both blend alike)."""
    pos = (np.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile) + 1
    lo = np.floor(pos)
    weight = pos - lo
    return (np.clip(lo, 0, count + 1).astype(np.int64),
            np.clip(lo + 1, 0, count + 1).astype(np.int64), weight)


class ContrastLimitedAdaptiveHistogramEqualization(Layer):
    """CLAHE (``keras.layers.ContrastLimitedAdaptiveHistogramEqualization``): each channel
    is cut into a ``tile_grid_size`` grid of tiles (the image padded symmetrically to a
    multiple of it); every tile's 256-bin histogram is clipped at
    ``clip_limit * tile_pixels / 256`` with the excess spread evenly, turned into an
    equalizing CDF, and each pixel maps through the bilinear blend of its four nearest
    tiles' CDFs. Deterministic; applies in training and inference, as in Keras.

    Args:
        value_range: ``(low, high)`` of the input's pixel values (default ``(0, 255)``); outputs
            are clipped to it.
        clip_limit: the histogram clipping threshold, relative to a flat histogram (default
            4.0).
        tile_grid_size: ``(rows, cols)`` of the tile grid (default ``(8, 8)``).
        data_format: ``"channels_last"`` (default, ``(batch, h, w, c)``) or
            ``"channels_first"``.

    Example:
        >>> images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> ContrastLimitedAdaptiveHistogramEqualization(clip_limit=2.0,
        ...                                               tile_grid_size=(4, 4))(images).shape
        (2, 8, 8, 3)
    """

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.value_range = list(value_range)
        self.clip_limit = clip_limit
        self.tile_grid_size = tuple(tile_grid_size)
        self.data_format = _check_data_format(data_format)

    def _tile_cdfs(self, tiles, tile_pixels):
        """(..., tile_pixels) int values -> (..., 256) clipped, normalized CDFs."""
        flat = tiles.reshape(-1, tiles.shape[-1]).astype(np.int64)
        keys = flat + 256 * np.arange(len(flat), dtype=np.int64)[:, None]  # (tile, value)
        hist = np.bincount(keys.reshape(-1), minlength=256 * len(flat)).astype(np.float32)
        hist = hist.reshape(tiles.shape[:-1] + (256,))
        if self.clip_limit > 0:
            limit = np.float32(self.clip_limit * tile_pixels / 256.0)
            clipped = np.minimum(hist, limit)
            hist = clipped + (hist - clipped).sum(axis=-1, keepdims=True) / np.float32(256.0)
        cdf = np.cumsum(hist, axis=-1, dtype=np.float32)
        cdf_min = cdf.min(axis=-1, keepdims=True)
        denominator = np.float32(tile_pixels) - cdf_min
        denominator = np.where(denominator == 0, np.float32(1), denominator)
        return np.clip((cdf - cdf_min) * np.float32(255.0) / denominator, 0, 255)

    def _clahe(self, x):
        n, h, w, c = x.shape
        gh, gw = self.tile_grid_size
        th, tw = -(-h // gh), -(-w // gw)
        padded = np.pad(x, ((0, 0), (0, th * gh - h), (0, tw * gw - w), (0, 0)),
                        mode="symmetric")
        tiles = padded.reshape(n, gh, th, gw, tw, c).transpose(0, 1, 3, 5, 2, 4)
        tiles = np.clip(tiles.astype(np.int32), 0, 255).reshape(n, gh, gw, c, th * tw)
        cdf = self._tile_cdfs(tiles, th * tw)                      # (n, gh, gw, c, 256)
        cdf = np.pad(cdf, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

        y0, y1, wy = _clahe_tile_weights(th * gh, th, gh)
        x0, x1, wx = _clahe_tile_weights(tw * gw, tw, gw)
        pixels = np.clip(padded, 0, 255).astype(np.int64)
        b = np.arange(n)[:, None, None, None]
        ch = np.arange(c)[None, None, None, :]

        def at(ys, xs):
            return cdf[b, ys[None, :, None, None], xs[None, None, :, None], ch, pixels]

        wy, wx = wy[None, :, None, None], wx[None, None, :, None]
        top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
        bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
        return (top * (1 - wy) + bottom * wy)[:, :h, :w, :].astype(np.float32)

    def call(self, inputs):
        x = _array(inputs)
        if np.isnan(x).any():  # a NaN has no histogram bin (Keras fails in its gather)
            raise ValueError(f"{type(self).__name__} '{self.name}' expects images without "
                             f"NaN values; received {int(np.isnan(x).sum())} NaN values in "
                             f"inputs of shape {x.shape}.")
        single = x.ndim == 3
        if single:
            x = x[None]
        if self.data_format == "channels_first":
            x = x.transpose(0, 2, 3, 1)
        y = to_range(self._clahe(to_range(x, self.value_range, (0, 255))), (0, 255),
                     self.value_range).astype(np.float32)
        if self.data_format == "channels_first":
            y = y.transpose(0, 3, 1, 2)
        return Tensor(y[0] if single else y)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "clip_limit": self.clip_limit,
                       "tile_grid_size": list(self.tile_grid_size),
                       "data_format": self.data_format})
        return config
