"""Image files and the legacy ``ImageDataGenerator`` (``keras.preprocessing.image``).

``load_img``/``save_img`` decode and encode with Pillow; ``img_to_array`` and
``array_to_img`` convert between PIL images and float32 ``(height, width, channels)``
arrays. ``ImageDataGenerator`` augments batches with random affine warps (rotation, shifts,
shear, zoom), flips, channel and brightness shifts, then standardizes them; the warps of a
whole batch are one vectorized NumPy gather (bilinear, as Keras's ``order=1``).

Example:
    >>> gen = ImageDataGenerator(rotation_range=20, horizontal_flip=True, rescale=1 / 255)
    >>> for x_batch, y_batch in gen.flow(x_train, y_train, batch_size=32):
    ...     break
"""
import io
import os
import pathlib
import threading
import warnings

import numpy as np

from nnfast import ops as _ops
from nnfast.backend.global_state import image_data_format
from nnfast.preprocessing import _transforms

try:
    from PIL import Image as pil_image
except ImportError:  # pragma: no cover - Pillow is a declared dependency
    pil_image = None

_PIL_INTERPOLATION_METHODS = {}
if pil_image is not None:
    _PIL_INTERPOLATION_METHODS = {
        "nearest": pil_image.NEAREST, "bilinear": pil_image.BILINEAR,
        "bicubic": pil_image.BICUBIC, "hamming": pil_image.HAMMING, "box": pil_image.BOX,
        "lanczos": pil_image.LANCZOS,
    }

# Extensions flow_from_directory accepts (Keras's white list).
_WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


def _require_pil():
    if pil_image is None:
        raise ImportError("Could not import PIL.Image. nnfast decodes images with Pillow: "
                          "`pip install Pillow`.")


def _data_format(data_format):
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first'. Received: "
                         f"data_format={data_format!r}")
    return data_format


# --- files <-> PIL images <-> arrays ------------------------------------------------------------


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False, grayscale=False):
    """Loads an image file into a PIL image.

    Args:
        path: file path (str or ``pathlib.Path``) or a file-like object (``io.BytesIO``).
        color_mode: ``"grayscale"`` (8-bit, or kept as 16/32-bit grayscale), ``"rgb"`` or
            ``"rgba"``. ``grayscale=True`` is the legacy spelling of ``"grayscale"``.
        target_size: ``None`` (original size) or ``(height, width)``.
        interpolation: resampling when resizing: ``"nearest"``, ``"bilinear"``,
            ``"bicubic"``, ``"hamming"``, ``"box"`` or ``"lanczos"``.
        keep_aspect_ratio: resize the largest centred crop with the target aspect ratio
            instead of distorting the image.
        grayscale: deprecated spelling of ``color_mode="grayscale"``. Defaults to ``False``.

    Returns:
        A PIL image.

    Example:
        >>> img = load_img("cat.jpg", target_size=(224, 224))
        >>> x = img_to_array(img)          # (224, 224, 3) float32
    """
    _require_pil()
    if grayscale:
        warnings.warn("grayscale is deprecated. Please use color_mode='grayscale'.")
        color_mode = "grayscale"
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f'color_mode must be "grayscale", "rgb", or "rgba". Received: '
                         f"color_mode={color_mode!r}")
    if isinstance(path, io.IOBase) or hasattr(path, "read"):
        img = pil_image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:
            img = pil_image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    if color_mode == "grayscale":
        # Keep 16- and 32-bit grayscale as they are; convert anything else to 8-bit.
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode == "rgba":
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    if target_size is not None:
        width_height = (int(target_size[1]), int(target_size[0]))
        if img.size != width_height:
            if interpolation not in _PIL_INTERPOLATION_METHODS:
                raise ValueError(
                    f"Invalid interpolation method {interpolation!r}. Supported methods are "
                    f"{', '.join(_PIL_INTERPOLATION_METHODS)}")
            resample = _PIL_INTERPOLATION_METHODS[interpolation]
            if keep_aspect_ratio:
                width, height = img.size
                target_width, target_height = width_height
                crop_height = min(height, (width * target_height) // target_width)
                crop_width = min(width, (height * target_width) // target_height)
                top = (height - crop_height) // 2
                left = (width - crop_width) // 2
                box = (left, top, left + crop_width, top + crop_height)
                img = img.resize(width_height, resample, box=box)
            else:
                img = img.resize(width_height, resample)
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a NumPy array: ``(height, width, channels)`` float32 by default
    (``(channels, height, width)`` with ``data_format="channels_first"``); grayscale images
    get a channel axis of 1.

    Args:
        img: a PIL image.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        dtype: dtype of the generated arrays; None: ``keras.config.floatx()``.

    Example:
        >>> from PIL import Image
        >>> img = Image.new("RGB", (4, 3))
        >>> keras.preprocessing.image.img_to_array(img).shape
        (3, 4, 3)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        x = x.reshape((1,) + x.shape if data_format == "channels_first" else x.shape + (1,))
    else:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A rank-3 array as a PIL image (1 channel -> ``L``, 3 -> ``RGB``, 4 -> ``RGBA``).

    Args:
        x: ``(height, width, channels)`` array (``channels_first``: channels first).
        scale: shift and scale the values to fill 0..255 (``(x - min) / max * 255``);
            without it values are cast to uint8 as they are.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        dtype: dtype of the generated arrays; None: ``keras.config.floatx()``.

    Example:
        >>> img = keras.preprocessing.image.array_to_img(np.zeros((3, 4, 3)))
        >>> img.size
        (4, 3)
    """
    _require_pil()
    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with "
                         f"shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return pil_image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return pil_image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            # 32-bit signed integer grayscale (PIL mode "I").
            return pil_image.fromarray(x[:, :, 0].astype("int32"), "I")
        return pil_image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves a rank-3 array as an image file (format from ``file_format`` or the
    extension); extra keyword arguments go to ``PIL.Image.save``.

    Args:
        path: the file path (or a file object).
        x: the image array, rank 3.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        file_format: the format (``"png"``, ``"jpeg"``...); None: from the file name.
        scale: rescale the values to [0, 255] first. Defaults to ``True``.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
        >>> keras.preprocessing.image.save_img(path, np.zeros((3, 4, 3)))
        >>> keras.preprocessing.image.load_img(path).size
        (4, 3)
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format in ("jpg", "jpeg") or (
            file_format is None and str(path).lower().endswith((".jpg", ".jpeg")))):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


# --- vectorized augmentation primitives ----------------------------------------------------


def _transform_matrices(theta, tx, ty, shear, zx, zy, height, width):
    """Per-image 3x3 matrices mapping an output pixel ``(row, col, 1)`` to its source, built
    as Keras does: rotation @ shift @ shear @ zoom, about the image centre. ``tx``/``zx`` act
    on rows (height), ``ty``/``zy`` on columns (width); angles in degrees."""
    n = len(theta)
    t = np.deg2rad(theta)
    s = np.deg2rad(shear)
    m = np.zeros((n, 3, 3))
    m[:, 2, 2] = 1.0
    rot = np.stack([np.stack([np.cos(t), -np.sin(t)], -1),
                    np.stack([np.sin(t), np.cos(t)], -1)], 1)
    sh = np.stack([np.stack([np.ones(n), -np.sin(s)], -1),
                   np.stack([np.zeros(n), np.cos(s)], -1)], 1)
    lin = rot @ sh
    lin = lin * np.stack([zx, zy], -1)[:, None, :]  # right-multiplied by diag(zx, zy)
    m[:, :2, :2] = lin
    m[:, :2, 2] = (rot @ np.stack([tx, ty], -1)[:, :, None])[:, :, 0]
    # About the centre: offset @ m @ reset, with Keras's o = size / 2 - 0.5.
    o = np.array([height / 2 - 0.5, width / 2 - 0.5])
    m[:, :2, 2] += o - (m[:, :2, :2] @ o)
    return m


def apply_affine_transforms(x, matrices, fill_mode="nearest", cval=0.0, order=1):
    """Warps a channels_last batch ``x`` (n, h, w, c) with per-image 3x3 ``matrices`` that
    map output ``(row, col, 1)`` to source coordinates; ``order`` 1 is bilinear, 0 nearest.

    Args:
        x: images, shape ``(batch, height, width, channels)``.
        matrices: one affine matrix per image, shape ``(batch, 8)`` (the projective form
            ``a0..a7``, output pixel to input pixel).
        fill_mode: ``"constant"``, ``"nearest"``, ``"reflect"`` or ``"wrap"``: how points outside
            the input are filled. Defaults to ``"nearest"``.
        cval: the fill value with ``fill_mode="constant"``. Defaults to ``0.0``.
        order: interpolation order: 0 (nearest) or 1 (bilinear). Defaults to ``1``.
    """
    _, h, w, _ = x.shape
    r, c = np.mgrid[0:h, 0:w].astype(np.float64)
    m = matrices[:, :, :, None, None]
    rows = m[:, 0, 0] * r + m[:, 0, 1] * c + m[:, 0, 2]
    cols = m[:, 1, 0] * r + m[:, 1, 1] * c + m[:, 1, 2]
    return _transforms.affine_resample(x, rows, cols, "bilinear" if order == 1 else "nearest",
                                       fill_mode, cval)


def _brightness(x, factors):
    """Keras's brightness shift (PIL ``ImageEnhance.Brightness`` on the uint8 image),
    vectorized: images with values outside 0..255 are first scaled to that range and
    mapped back afterwards."""
    out = np.empty_like(x)
    lo = x.min(axis=(1, 2, 3))
    hi = x.max(axis=(1, 2, 3))
    for scaled in (False, True):
        sel = ((lo < 0) | (hi > 255)) if scaled else ~((lo < 0) | (hi > 255))
        if not np.any(sel):
            continue
        xs = x[sel]
        l, h = lo[sel][:, None, None, None], hi[sel][:, None, None, None]
        if scaled:
            span = np.where(h - l == 0, 1, h - l)
            xs = (xs - l) / span * 255
        u8 = np.trunc(np.clip(xs, 0, 255))
        enhanced = np.clip(np.trunc(u8 * factors[sel][:, None, None, None]), 0, 255)
        if scaled:
            enhanced = enhanced / 255 * (h - l) + l
        out[sel] = enhanced
    return out


# --- ImageDataGenerator ------------------------------------------------------------------------


class ImageDataGenerator:
    """Generates batches of augmented, standardized images (Keras's legacy API).

    Augmentation happens in this order, per image with its own random draw: the affine warp
    (rotation, shifts, shear, zoom), channel shift, horizontal then vertical flip,
    brightness. Then ``standardize``: ``preprocessing_function``, ``rescale``, samplewise
    then featurewise centring/normalization, ZCA whitening.

    Args:
        featurewise_center: subtract the dataset's per-channel mean (call ``fit(x)`` first).
        samplewise_center: subtract each image's mean (over all its values).
        featurewise_std_normalization: divide by the dataset's per-channel std (``fit(x)``).
        samplewise_std_normalization: divide each image by its std.
        zca_whitening: apply ZCA whitening fitted by ``fit(x)``.
        zca_epsilon: added to the eigenvalues in the ZCA fit (default 1e-6).
        rotation_range: degrees; angles uniform in ``[-r, r]``.
        width_shift_range: float < 1 (fraction of the width), float >= 1 (pixels), int
            (integer pixels in ``(-r, r)``) or a list of pixel values.
        height_shift_range: the same for the height.
        brightness_range: ``(low, high)`` brightness factors.
        shear_range: degrees, counter-clockwise.
        zoom_range: float ``z`` (zoom in ``[1 - z, 1 + z]``) or ``(low, high)``.
        channel_shift_range: added to every channel, clipped to the image's range.
        fill_mode: ``"nearest"``, ``"constant"`` (with ``cval``), ``"reflect"`` or ``"wrap"``.
        cval: the fill value with ``fill_mode="constant"``.
        horizontal_flip: flip half the images left-right.
        vertical_flip: flip half the images upside down.
        rescale: factor applied in ``standardize`` (e.g. ``1/255``).
        preprocessing_function: called on each augmented image (rank 3), returns the same
            shape.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        validation_split: fraction reserved for ``subset="validation"`` in ``flow`` /
            ``flow_from_directory``. NOTE: as in Keras, the validation subset is the FIRST
            fraction of the data (``fit(validation_split=...)`` takes the last).
        interpolation_order: 1 (bilinear, default) or 0 (nearest).
        dtype: dtype of the generated arrays; None: ``keras.config.floatx()``.

    Example:
        >>> gen = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255.0,
        ...                                                     horizontal_flip=True)
        >>> x, y = np.ones((6, 8, 8, 3), "float32") * 255, np.arange(6)
        >>> batch_x, batch_y = next(gen.flow(x, y, batch_size=4, shuffle=False))
        >>> batch_x.shape, float(batch_x.max()), batch_y.tolist()
        ((4, 8, 8, 3), 1.0, [0, 1, 2, 3])
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0, zoom_range=0.0,
                 channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = dtype or "float32"
        self.interpolation_order = interpolation_order
        if fill_mode not in ("nearest", "constant", "reflect", "wrap"):
            raise ValueError(f"fill_mode must be one of 'nearest', 'constant', 'reflect', 'wrap'."
                             f" Received: fill_mode={fill_mode!r}")
        if interpolation_order not in (0, 1):
            raise ValueError(f"interpolation_order must be 0 or 1, received {interpolation_order}")
        self.data_format = _data_format(data_format)
        if self.data_format == "channels_first":
            self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
        else:
            self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        if not 0 <= validation_split < 1:
            raise ValueError(f"`validation_split` must be strictly between 0 and 1. Received: "
                             f"{validation_split}")
        self._validation_split = validation_split
        self.mean = None
        self.std = None
        self.principal_components = None
        if np.isscalar(zoom_range):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2:
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(f"`zoom_range` should be a float or a tuple or list of two floats. "
                             f"Received: {zoom_range}")
        if brightness_range is not None and (
                np.isscalar(brightness_range) or len(brightness_range) != 2):
            raise ValueError(f"`brightness_range should be tuple or list of two floats. "
                             f"Received: {brightness_range}")
        self.brightness_range = brightness_range
        if zca_whitening and (featurewise_std_normalization or samplewise_std_normalization):
            warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides "
                          "the std normalization settings.")
            self.featurewise_std_normalization = False
            self.samplewise_std_normalization = False
        if zca_whitening and not featurewise_center:
            warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides "
                          "setting of `featurewise_center`.")
            self.featurewise_center = True

    # --- iterators ------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None):
        """Batches of augmented data from arrays.

        Args:
            x: rank-4 image array (or a tuple ``(images, misc_array_or_list)``).
            y: labels (or None: batches are images only).
            subset: ``"training"`` or ``"validation"`` with ``validation_split`` set.

        Returns:
            A ``NumpyArrayIterator`` yielding ``x`` or ``(x, y)`` or ``(x, y, sample_weight)``
            batches forever when iterated; it also has ``len`` and ``[i]`` like a PyDataset.
        """
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed,
                                  data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset,
                                  dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix="", save_format="png",
                            follow_links=False, subset=None, interpolation="nearest",
                            keep_aspect_ratio=False):
        """Batches of augmented images read from ``directory/<class>/<image>`` files.

        Classes are the sorted subdirectory names (or ``classes``); ``class_mode`` is
        ``"categorical"`` (one-hot), ``"binary"``, ``"sparse"`` (integer), ``"input"``
        (targets are the images) or ``None`` (images only).
        """
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode,
                                 classes=classes, class_mode=class_mode,
                                 data_format=self.data_format, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, save_to_dir=save_to_dir,
                                 save_prefix=save_prefix, save_format=save_format,
                                 follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio,
                                 dtype=self.dtype)

    # --- random transforms --------------------------------------------------------------
    def _shift(self, rng, shift_range, n, size):
        if not np.isscalar(shift_range) or isinstance(shift_range, (int, np.integer)):
            # Integer or list: pick an element, then a random sign (Keras's rule).
            choices = (np.arange(shift_range) if np.isscalar(shift_range)
                       else np.asarray(shift_range))
            out = rng.choice(choices, size=n).astype(np.float64) * rng.choice([-1, 1], size=n)
        else:
            out = rng.uniform(-shift_range, shift_range, size=n)
        if np.max(shift_range) < 1:
            out = out * size
        return out

    def get_random_transforms(self, n, img_shape, rng=None):
        """Random parameters for ``n`` images of shape ``img_shape`` (no batch axis): a dict
        of arrays ``theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical,
        channel_shift_intensity, brightness`` (the last two None when unused)."""
        rng = np.random if rng is None else rng
        h, w = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        zero = np.zeros(n)
        theta = rng.uniform(-self.rotation_range, self.rotation_range, n) \
            if self.rotation_range else zero
        tx = self._shift(rng, self.height_shift_range, n, h) if np.any(self.height_shift_range) \
            else zero
        ty = self._shift(rng, self.width_shift_range, n, w) if np.any(self.width_shift_range) \
            else zero
        shear = rng.uniform(-self.shear_range, self.shear_range, n) if self.shear_range else zero
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx = zy = np.ones(n)
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], (2, n))
        flip_h = (rng.random_sample(n) < 0.5) & bool(self.horizontal_flip)
        flip_v = (rng.random_sample(n) < 0.5) & bool(self.vertical_flip)
        channel_shift = None
        if self.channel_shift_range != 0:
            channel_shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range, n)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(self.brightness_range[0], self.brightness_range[1], n)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_h, "flip_vertical": flip_v,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    def get_random_transform(self, img_shape, seed=None):
        """Keras's single-image form: a dict of scalars for one image."""
        rng = np.random.RandomState(seed) if seed is not None else None
        params = self.get_random_transforms(1, img_shape, rng)
        return {k: (None if v is None else v[0].item()) for k, v in params.items()}

    def apply_transforms(self, x, params):
        """Applies ``get_random_transforms`` parameters to a batch ``x`` (rank 4) at once."""
        x = np.asarray(x, dtype=self.dtype)
        first = self.data_format == "channels_first"
        if first:
            x = x.transpose(0, 2, 3, 1)
        n, h, w, _ = x.shape
        p = {k: (None if v is None else np.broadcast_to(np.asarray(v), (n,)))
             for k, v in params.items()}
        get = lambda k, d: p[k] if p.get(k) is not None else np.full(n, d)  # noqa: E731
        theta, tx, ty, shear = get("theta", 0.0), get("tx", 0.0), get("ty", 0.0), get("shear", 0.0)
        zx, zy = get("zx", 1.0), get("zy", 1.0)
        warp = (theta != 0) | (tx != 0) | (ty != 0) | (shear != 0) | (zx != 1) | (zy != 1)
        if np.any(warp):
            idx = np.nonzero(warp)[0]
            m = _transform_matrices(theta[idx], tx[idx], ty[idx], shear[idx], zx[idx], zy[idx],
                                    h, w)
            x = np.array(x, copy=True)
            x[idx] = apply_affine_transforms(x[idx], m, self.fill_mode, self.cval,
                                             self.interpolation_order)
        shift = p.get("channel_shift_intensity")
        if shift is not None:
            lo = x.min(axis=(1, 2, 3), keepdims=True)
            hi = x.max(axis=(1, 2, 3), keepdims=True)
            x = np.clip(x + shift[:, None, None, None], lo, hi).astype(self.dtype)
        fh = p.get("flip_horizontal")
        if fh is not None and np.any(fh):
            x = np.where(fh.astype(bool)[:, None, None, None], x[:, :, ::-1], x)
        fv = p.get("flip_vertical")
        if fv is not None and np.any(fv):
            x = np.where(fv.astype(bool)[:, None, None, None], x[:, ::-1], x)
        if p.get("brightness") is not None:
            x = _brightness(x, p["brightness"]).astype(self.dtype)
        if first:
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def apply_transform(self, x, transform_parameters):
        """Keras's single-image form: ``x`` is rank 3."""
        params = {k: (None if v is None else np.asarray([v]))
                  for k, v in transform_parameters.items()}
        return self.apply_transforms(np.asarray(x)[None], params)[0]

    def random_transform(self, x, seed=None):
        """A randomly augmented copy of one rank-3 image."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    def augment_batch(self, x, rng=None):
        """A randomly augmented copy of the batch ``x`` (rank 4), one draw per image."""
        x = np.asarray(x, dtype=self.dtype)
        return self.apply_transforms(x, self.get_random_transforms(len(x), x.shape[1:], rng))

    # --- standardization ----------------------------------------------------------------
    def standardize(self, x):
        """Applies preprocessing_function, rescale and the normalizations to an image or a
        batch (in place when ``x`` is a float array of the generator's dtype)."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center or self.samplewise_std_normalization:
            axes = tuple(range(1, x.ndim)) if x.ndim == 4 else None
            if self.samplewise_center:
                x -= np.mean(x, axis=axes, keepdims=True)
            if self.samplewise_std_normalization:
                x /= np.std(x, axis=axes, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is not None:
                x -= self.mean
            else:
                warnings.warn("This ImageDataGenerator specifies `featurewise_center`, but it "
                              "hasn't been fit on any training data. Fit it first by calling "
                              "`.fit(numpy_data)`.")
        if self.featurewise_std_normalization:
            if self.std is not None:
                x /= self.std + 1e-6
            else:
                warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, "
                              "but it hasn't been fit on any training data. Fit it first by "
                              "calling `.fit(numpy_data)`.")
        if self.zca_whitening:
            if self.principal_components is not None:
                flat = np.reshape(x, (-1, int(np.prod(x.shape[-3:]))))
                x = np.reshape(flat @ self.principal_components, x.shape).astype(self.dtype)
            else:
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, but it hasn't "
                              "been fit on any training data. Fit it first by calling "
                              "`.fit(numpy_data)`.")
        return x

    def _standardize_batch(self, x):
        if self.preprocessing_function:
            # Keras calls it once per image.
            x = np.stack([np.asarray(self.preprocessing_function(xi), dtype=self.dtype)
                          for xi in x])
        saved, self.preprocessing_function = self.preprocessing_function, None
        try:
            return self.standardize(x)
        finally:
            self.preprocessing_function = saved

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Computes the featurewise statistics (mean, std, ZCA) from sample images.

        Args:
            x: rank-4 array of images (after ``rescale``, the statistics match what
                ``standardize`` sees).
            augment: fit on randomly augmented copies of ``x`` instead of ``x``.
            rounds: how many augmented copies of ``x`` (with ``augment``; default 1).
            seed: seed of the augmentation draws.
        """
        x = np.array(x, dtype=self.dtype, copy=True)
        if x.ndim != 4:
            raise ValueError(f"Input to `.fit()` should have rank 4. Got array with shape: "
                             f"{x.shape}")
        if x.shape[self.channel_axis] not in {1, 3, 4}:
            warnings.warn(f"Expected input to be images (as Numpy array) following the data "
                          f"format convention \"{self.data_format}\" (channels on axis "
                          f"{self.channel_axis}), i.e. expected either 1, 3 or 4 channels on "
                          f"axis {self.channel_axis}. However, it was passed an array with "
                          f"shape {x.shape} ({x.shape[self.channel_axis]} channels).")
        rng = np.random.RandomState(seed) if seed is not None else None
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.concatenate([self.augment_batch(x, rng) for _ in range(rounds)])
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=axes), shape).astype(self.dtype)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=axes), shape).astype(self.dtype)
            x /= self.std + 1e-6
        if self.zca_whitening:
            import scipy.linalg

            flat = np.reshape(x, (x.shape[0], -1)).astype(np.float64)
            sigma = flat.T @ flat / flat.shape[0]
            u, s, _ = scipy.linalg.svd(sigma)
            s_inv = 1.0 / np.sqrt(s[np.newaxis] + self.zca_epsilon)
            self.principal_components = ((u * s_inv) @ u.T).astype(self.dtype)


# --- iterators --------------------------------------------------------------------------------


class Iterator:
    """Base of the generator iterators: Keras's ``Iterator`` (a ``Sequence``).

    ``len(it)`` is the number of batches per epoch, ``it[i]`` the i-th batch of the current
    epoch order, and iterating yields batches forever (reshuffling each pass), as Keras's.
    With a ``seed`` every batch draws its randomness from ``seed + batches_seen``, so a run
    is reproducible; without one it draws from NumPy's global generator.

    Args:
        n: the number of samples.
        batch_size: samples per batch.
        shuffle: shuffle the order at each epoch.
        seed: seed of the shuffling.
    """

    white_list_formats = _WHITE_LIST_FORMATS

    def __init__(self, n, batch_size, shuffle, seed):
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size}")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _rng(self):
        if self.seed is not None:
            return np.random.RandomState((int(self.seed) + self.total_batches_seen) % (2**32))
        return np.random.mtrand._rand

    def _set_index_array(self, rng=None):
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = (rng or np.random.mtrand._rand).permutation(self.n)

    def __getitem__(self, idx):
        if idx >= len(self) or idx < -len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length "
                             f"{len(self)}")
        idx %= len(self)
        rng = self._rng()
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array(rng)
        index_array = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array, rng)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        self._set_index_array(self._rng())

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            rng = self._rng()
            if self.batch_index == 0:
                self._set_index_array(rng)
            current = (self.batch_index * self.batch_size) % self.n if self.n else 0
            if self.n > current + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current:current + self.batch_size], rng

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            index_array, rng = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array, rng)

    next = __next__

    def _get_batches_of_transformed_samples(self, index_array, rng):
        raise NotImplementedError

    def _save_batch(self, batch_x, index_array, rng):
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], self.data_format, scale=True)
            fname = (f"{self.save_prefix}_{int(j)}_{int(rng.randint(10000))}."
                     f"{self.save_format}")
            img.save(os.path.join(self.save_to_dir, fname))


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from arrays (what ``ImageDataGenerator.flow`` returns).

    Args:
        x: images, shape ``(samples, height, width, channels)`` (channels last).
        y: labels, one per image (None: only images).
        image_data_generator: the ``ImageDataGenerator`` whose random transforms and normalization
            are applied.
        batch_size: images per batch. Defaults to ``32``.
        shuffle: shuffle the order at each epoch. Defaults to ``False``.
        sample_weight: one weight per image, yielded as a third element (None: none).
        seed: random seed for shuffling and transformations.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        save_to_dir: a folder where the augmented images are also saved (None: not saved).
        save_prefix: filename prefix of the saved images. Defaults to ``""``.
        save_format: image format of the saved images (``"png"``, ``"jpeg"``...). Defaults to
            ``"png"``.
        subset: ``"training"`` or ``"validation"`` when the generator has a ``validation_split``.
        ignore_class_split: allow a validation split that lacks some classes. Defaults to
            ``False``.
        dtype: dtype of the generated arrays; None: ``keras.config.floatx()``.

    Example:
        >>> gen = keras.preprocessing.image.ImageDataGenerator()
        >>> x, y = np.zeros((5, 4, 4, 1)), np.arange(5)
        >>> it = keras.preprocessing.image.NumpyArrayIterator(x, y, gen, batch_size=2)
        >>> len(it), next(it)[0].shape
        (3, (2, 4, 4, 1))
    """

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, ignore_class_split=False,
                 dtype=None):
        self.dtype = dtype or "float32"
        if isinstance(x, tuple) or isinstance(x, list):
            if not isinstance(x[1], list):
                x_misc = [np.asarray(x[1])]
            else:
                x_misc = [np.asarray(xx) for xx in x[1]]
            x = x[0]
            for xx in x_misc:
                if len(x) != len(xx):
                    raise ValueError(f"All of the arrays in `x` should have the same length. "
                                     f"Found a pair with: len(x[0]) = {len(x)}, "
                                     f"len(x[?]) = {len(xx)}")
        else:
            x_misc = []
        if y is not None and len(x) != len(y):
            raise ValueError(f"`x` (images tensor) and `y` (labels) should have the same length. "
                             f"Found: x.shape = {np.asarray(x).shape}, "
                             f"y.shape = {np.asarray(y).shape}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"`x` (images tensor) and `sample_weight` should have the same "
                             f"length. Found: x.shape = {np.asarray(x).shape}, "
                             f"sample_weight.shape = {np.asarray(sample_weight).shape}")
        if subset is not None:
            if subset not in {"training", "validation"}:
                raise ValueError(f"Invalid subset name: {subset}; expected 'training' or "
                                 f"'validation'.")
            split_idx = int(len(x) * image_data_generator._validation_split)
            if y is not None and not ignore_class_split and not np.array_equal(
                    np.unique(y[:split_idx]), np.unique(y[split_idx:])):
                raise ValueError("Training and validation subsets have different number of "
                                 "classes after the split. If your numpy arrays are sorted by "
                                 "the label, you might want to shuffle them.")
            # NOTE: Keras's quirk: the validation subset is the FIRST fraction.
            part = slice(None, split_idx) if subset == "validation" else slice(split_idx, None)
            x = x[part]
            x_misc = [np.asarray(xx[part]) for xx in x_misc]
            if y is not None:
                y = y[part]
            if sample_weight is not None:
                sample_weight = sample_weight[part]
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError(f"Input data in `NumpyArrayIterator` should have rank 4. You passed "
                             f"an array with shape {self.x.shape}")
        self.data_format = _data_format(data_format)
        channels_axis = 3 if self.data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in {1, 3, 4}:
            warnings.warn(f"NumpyArrayIterator is set to use the data format convention "
                          f"\"{self.data_format}\" (channels on axis {channels_axis}), i.e. "
                          f"expected either 1, 3, or 4 channels on axis {channels_axis}. "
                          f"However, it was passed an array with shape {self.x.shape} "
                          f"({self.x.shape[channels_axis]} channels).")
        self.y = np.asarray(y) if y is not None else None
        self.sample_weight = np.asarray(sample_weight) if sample_weight is not None else None
        self.image_data_generator = image_data_generator
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array, rng=None):
        rng = np.random.mtrand._rand if rng is None else rng
        gen = self.image_data_generator
        batch_x = gen.augment_batch(self.x[index_array], rng)
        batch_x = gen._standardize_batch(batch_x)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng)
        batch_x_miscs = [xx[index_array] for xx in self.x_misc]
        output = (batch_x if not batch_x_miscs else [batch_x] + batch_x_miscs,)
        if self.y is None:
            return output[0]
        output += (self.y[index_array],)
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output


def _iter_valid_files(directory, white_list_formats, follow_links):
    """(root, file name) of every image under ``directory``, in sorted walk order."""
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda t: t[0]):
        for fname in sorted(files):
            if fname.lower().endswith(tuple("." + e for e in white_list_formats)):
                yield root, fname


class DirectoryIterator(Iterator):
    """Batches of augmented images read from a class-per-folder tree (what
    ``ImageDataGenerator.flow_from_directory`` returns).

    Attributes:
        class_indices: ``{class_name: index}``; classes: the label of every file;
        filenames: paths relative to ``directory``; filepaths: absolute paths; samples: count.

    Args:
        directory: the folder holding one sub-folder per class.
        image_data_generator: the ``ImageDataGenerator`` whose random transforms and normalization
            are applied.
        target_size: ``(height, width)`` every image is resized to. Defaults to ``(256, 256)``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``. Defaults to ``"rgb"``.
        classes: the list of sub-folder names to use (None: every sub-folder, alphanumerically).
        class_mode: ``"categorical"`` (one-hot), ``"binary"``, ``"sparse"`` (ids), ``"input"`` (the
            image itself) or None (no labels). Defaults to ``"categorical"``.
        batch_size: images per batch. Defaults to ``32``.
        shuffle: shuffle the order at each epoch. Defaults to ``True``.
        seed: random seed for shuffling and transformations.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        save_to_dir: a folder where the augmented images are also saved (None: not saved).
        save_prefix: filename prefix of the saved images. Defaults to ``""``.
        save_format: image format of the saved images (``"png"``, ``"jpeg"``...). Defaults to
            ``"png"``.
        follow_links: whether to visit sub-folders reached through symbolic links. Defaults to
            ``False``.
        subset: ``"training"`` or ``"validation"`` when the generator has a ``validation_split``.
        interpolation: resampling used when resizing: ``"nearest"``, ``"bilinear"``,
            ``"bicubic"``... Defaults to ``"nearest"``.
        keep_aspect_ratio: crop to the target aspect ratio before resizing (no distortion).
            Defaults to ``False``.
        dtype: dtype of the generated arrays; None: ``keras.config.floatx()``.
    """

    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype=None):
        _require_pil()
        self.dtype = dtype or "float32"
        self.directory = directory
        self.image_data_generator = image_data_generator
        self.target_size = tuple(int(v) for v in target_size)
        self.keep_aspect_ratio = keep_aspect_ratio
        if color_mode not in {"rgb", "rgba", "grayscale"}:
            raise ValueError(f"Invalid color mode: {color_mode}; expected \"rgb\", \"rgba\", or "
                             f"\"grayscale\".")
        self.color_mode = color_mode
        self.data_format = _data_format(data_format)
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[color_mode]
        self.image_shape = (self.target_size + (channels,) if self.data_format == "channels_last"
                            else (channels,) + self.target_size)
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of "
                             f"\"categorical\", \"binary\", \"sparse\", \"input\" or None.")
        self.class_mode = class_mode
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        if interpolation not in _PIL_INTERPOLATION_METHODS:
            raise ValueError(f"Invalid interpolation method {interpolation!r}. Supported methods "
                             f"are {', '.join(_PIL_INTERPOLATION_METHODS)}")
        if subset is not None:
            if subset not in {"training", "validation"}:
                raise ValueError(f"Invalid subset name: {subset}; expected 'training' or "
                                 f"'validation'")
            split = image_data_generator._validation_split
            split = (0, split) if subset == "validation" else (split, 1)
        else:
            split = None
        self.split = split
        self.subset = subset
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"Image directory not found: {directory}")
        if not classes:
            classes = sorted(d for d in os.listdir(directory)
                             if os.path.isdir(os.path.join(directory, d)))
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        filenames, labels = [], []
        for name in classes:
            sub = os.path.join(directory, name)
            files = list(_iter_valid_files(sub, self.white_list_formats, follow_links))
            if split is not None:
                # Per class: the first fraction is validation (Keras's rule).
                start, stop = int(split[0] * len(files)), int(split[1] * len(files))
                files = files[start:stop]
            for root, fname in files:
                filenames.append(os.path.relpath(os.path.join(root, fname), directory))
                labels.append(self.class_indices[name])
        self.filenames = filenames
        self.samples = len(filenames)
        self.classes = np.array(labels, dtype="int32")
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self):
        return [os.path.join(self.directory, f) for f in self.filenames]

    @property
    def labels(self):
        return self.classes

    def _get_batches_of_transformed_samples(self, index_array, rng=None):
        rng = np.random.mtrand._rand if rng is None else rng
        gen = self.image_data_generator
        batch_x = np.empty((len(index_array),) + self.image_shape, dtype=self.dtype)
        paths = self.filepaths
        for i, j in enumerate(index_array):
            img = load_img(paths[j], color_mode=self.color_mode, target_size=self.target_size,
                           interpolation=self.interpolation,
                           keep_aspect_ratio=self.keep_aspect_ratio)
            batch_x[i] = img_to_array(img, data_format=self.data_format, dtype=self.dtype)
            if hasattr(img, "close"):
                img.close()
        batch_x = gen.augment_batch(batch_x, rng)
        batch_x = gen._standardize_batch(batch_x)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng)
        if self.class_mode == "input":
            batch_y = batch_x.copy()
        elif self.class_mode == "sparse":
            batch_y = self.classes[index_array]
        elif self.class_mode == "binary":
            batch_y = self.classes[index_array].astype(self.dtype)
        elif self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), self.num_classes), dtype=self.dtype)
            batch_y[np.arange(len(batch_x)), self.classes[index_array]] = 1.0
        else:
            return batch_x
        return batch_x, batch_y


__all__ = ["load_img", "img_to_array", "array_to_img", "save_img", "ImageDataGenerator",
           "Iterator", "NumpyArrayIterator", "DirectoryIterator", "apply_affine_transforms"]


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last", **kwargs):
    """Resizes images to ``size`` without distorting them, as Keras: takes the largest
    centred crop with the target aspect ratio, then resizes it (``ops.image.resize``).

    Args:
        x: an image ``(height, width, channels)`` or a batch ``(n, height, width,
            channels)`` (channels first with ``data_format="channels_first"``).
        size: ``(height, width)``.
        interpolation: "bilinear", "nearest", "bicubic", "lanczos3" or "lanczos5".
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``. Defaults to ``"channels_last"``.

    Returns:
        float32 images of the target size (a NumPy array).

    Example:
        >>> smart_resize(np.zeros((340, 500, 3)), (200, 200)).shape
        (200, 200, 3)
    """

    if kwargs:
        raise TypeError(f"smart_resize() got unexpected keyword arguments: {list(kwargs)}")
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    img = np.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError("Expected an image array with shape `(height, width, channels)`, or "
                         "`(batch_size, height, width, channels)`, but got input with "
                         f"incorrect rank, of shape {img.shape}.")
    h_axis = img.ndim - 3 if data_format == "channels_last" else img.ndim - 2
    height, width = img.shape[h_axis], img.shape[h_axis + 1]
    target_height, target_width = size
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top = int(float(height - crop_height) / 2)
    left = int(float(width - crop_width) / 2)
    index = [slice(None)] * img.ndim
    index[h_axis] = slice(top, top + crop_height)
    index[h_axis + 1] = slice(left, left + crop_width)
    out = _ops.image.resize(img[tuple(index)], tuple(size), interpolation=interpolation,
                            data_format=data_format)
    return np.asarray(_ops.convert_to_numpy(out))
