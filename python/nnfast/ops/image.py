"""``keras.ops.image``: resizing, patches, colour conversions, padding/cropping, blurs, edge
and similarity measures, and geometric warps (affine, perspective, elastic,
``map_coordinates``), with Keras's arguments and TensorFlow-backend numbers.

Images are ``(batch, height, width, channels)`` (``channels_last``) or
``(batch, channels, height, width)``; a single 3-D image works too. Every op that is
differentiable in the pixels has its gradient (``GradientTape``); warps are differentiable in
the images, not in the coordinates or transforms.
"""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops import image_ops
from nnfast.ops._util import value
from nnfast.ops.conv import _standardize_data_format, normalize_tuple
from nnfast.ops.patches import extract_eager_square as _extract_eager_square
from nnfast.ops.size_limit import check_result_size

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
AFFINE_TRANSFORM_INTERPOLATIONS = ("nearest", "bilinear")
AFFINE_TRANSFORM_FILL_MODES = ("constant", "nearest", "wrap", "reflect")
MAP_COORDINATES_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic",
                               "lanczos3", "lanczos5")


def _float(x):
    a = np.asarray(value(x))
    if a.dtype.kind != "f" or a.dtype == np.float64:
        a = a.astype(np.float32)
    return a


def _batched(images, what, data_format):
    """(images as a 4-D tensor-like, unbatched flag, channels_first flag) after checks."""
    data_format = _standardize_data_format(data_format)
    nd = np.ndim(value(images))
    if nd not in (3, 4):
        raise ValueError(f"{what}: invalid images rank: expected rank 3 (single image) or rank "
                         f"4 (batch of images). Received input with shape: "
                         f"images.shape={np.shape(value(images))}")
    if nd == 3:
        from nnfast.ops.array import expand_dims

        images = expand_dims(images, 0)
    return images, nd == 3, data_format == "channels_first"


def _unbatch(y, unbatched):
    if unbatched:
        from nnfast.ops.array import squeeze

        return squeeze(y, 0)
    return y


def _to_last(x, channels_first):
    from nnfast.ops.array import transpose

    return transpose(x, (0, 2, 3, 1)) if channels_first else x


def _from_last(x, channels_first):
    from nnfast.ops.array import transpose

    return transpose(x, (0, 3, 1, 2)) if channels_first else x


# --- per-axis resampling matrices --------------------------------------------------------------


def _triangle(t):
    return np.maximum(0.0, 1.0 - np.abs(t))


def _keys_cubic(t):
    return image_ops._keys_cubic(t)


_KERNELS = {
    "triangle": (_triangle, 1.0),
    "keyscubic": (_keys_cubic, 2.0),
    "lanczos3": (lambda t: image_ops._lanczos(t, 3), 3.0),
    "lanczos5": (lambda t: image_ops._lanczos(t, 5), 5.0),
}


def scale_translate_matrix(out_size, in_size, scale, translation, kernel, antialias):
    """``(out_size, in_size)`` weights of TF's ScaleAndTranslate along one axis: output
    pixel ``i`` samples input position ``(i + 0.5 - translation) / scale`` with the kernel
    (stretched by ``1/scale`` when ``antialias`` and downsampling), weights renormalized;
    samples outside the input give a zero row."""
    fn, radius = _KERNELS[kernel]
    scale = np.float32(scale)
    inv_scale = np.float32(1.0) / scale
    kernel_scale = max(float(inv_scale), 1.0) if antialias else 1.0
    sample = ((np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * inv_scale
              - inv_scale * np.float32(translation)).astype(np.float64)
    reach = radius * kernel_scale
    start = np.clip(np.ceil(sample - reach - 0.5), 0, in_size - 1).astype(np.int64)
    end = np.clip(np.floor(sample + reach - 0.5), 0, in_size - 1).astype(np.int64) + 1
    taps = np.arange(in_size)[None, :]
    inside = (taps >= start[:, None]) & (taps < end[:, None])
    w = np.where(inside, fn(np.abs((taps + 0.5 - sample[:, None]) / kernel_scale)), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(np.abs(total) >= 1000.0 * np.finfo(np.float32).tiny, w / np.where(total == 0, 1, total), 0.0)
    w[(sample < 0) | (sample > in_size)] = 0.0
    return w


def _area_matrix(out_size, in_size):
    # resize_area: output i averages input [i*s, (i+1)*s) with fractional end weights.
    s = np.float32(in_size) / np.float32(out_size)
    m = np.zeros((out_size, in_size))
    for i in range(out_size):
        lo, hi = float(np.float32(i) * s), float(np.float32(i + 1) * s)
        for j in range(int(np.floor(lo)), int(np.ceil(hi))):
            w = min(j + 1, hi) - max(j, lo)
            m[i, min(j, in_size - 1)] += w
    return m / float(s)


def _nearest_index(out_size, in_size):
    # resize_nearest_neighbor(half_pixel_centers=True): floor((i + 0.5) * in / out).
    s = np.float32(in_size) / np.float32(out_size)
    idx = np.floor((np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * s)
    return np.clip(idx.astype(np.int64), 0, in_size - 1)


_RESIZE_KERNELS = {"bilinear": "triangle", "bicubic": "keyscubic", "lanczos3": "lanczos3",
                   "lanczos5": "lanczos5"}


def _axis_matrix(out_size, in_size, interpolation, antialias):
    if interpolation == "area":
        m = _area_matrix(out_size, in_size)
    elif antialias:
        m = scale_translate_matrix(out_size, in_size, out_size / in_size, 0.0,
                                   _RESIZE_KERNELS[interpolation], True)
    else:
        return image_ops.resize_matrix(out_size, in_size, interpolation)
    return np.ascontiguousarray(m, dtype=np.float32)


class SeparableResample(Function):
    """``y = Mh x Mw^T`` over the spatial axes of an NHWC/NCHW batch on the GEMM; linear,
    so the backward applies the transposed matrices."""

    @staticmethod
    def forward(ctx, x, mh=None, mw=None, channels_first=False):
        x = np.ascontiguousarray(_float(x), dtype=np.float32)
        ctx.params = (mh, mw, channels_first)
        return image_ops._apply_separable(x, mh, mw, channels_first)

    @staticmethod
    def backward(ctx, g):
        mh, mw, channels_first = ctx.params
        g = np.ascontiguousarray(g, dtype=np.float32)
        return image_ops._apply_separable(g, mh, mw, channels_first, trans=True)


class GatherSpatial(Function):
    """Nearest resize: picks rows ``ih`` and columns ``iw``; the gradient adds back."""

    @staticmethod
    def forward(ctx, x, ih=None, iw=None, channels_first=False):
        x = _float(x)
        ctx.params = (x.shape, ih, iw, channels_first)
        # np.take keeps C order (fancy indexing of a middle axis may not).
        a = 2 if channels_first else 1
        return np.take(np.take(x, ih, axis=a), iw, axis=a + 1)

    @staticmethod
    def backward(ctx, g):
        shape, ih, iw, channels_first = ctx.params
        dx = np.zeros(shape, np.float32)
        if channels_first:
            t = np.zeros(shape[:3] + (len(iw),), np.float32)
            np.add.at(t, (slice(None), slice(None), ih), g)
            np.add.at(dx, (slice(None), slice(None), slice(None), iw), t)
        else:
            t = np.zeros(shape[:2] + (len(iw), shape[3]), np.float32)
            np.add.at(t, (slice(None), ih), g)
            np.add.at(dx, (slice(None), slice(None), iw), t)
        return dx


def _fill_pad(x, pads, fill_value, channels_first):
    """Pads the spatial axes with ``fill_value`` (gradient: the centre)."""
    from nnfast.ops.array import pad

    (t, b), (l, r) = pads
    widths = ((0, 0), (0, 0), (t, b), (l, r)) if channels_first else \
        ((0, 0), (t, b), (l, r), (0, 0))
    return pad(x, widths, constant_values=float(fill_value))


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resizes images to ``size = (height, width)`` as ``keras.ops.image.resize`` on
    TensorFlow (half-pixel centres).

    Args:
        images: ``(batch, h, w, c)`` / ``(h, w, c)`` (or channels_first).
        size: ``(height, width)`` of the result.
        interpolation: ``"bilinear"`` (C++ kernel), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"``, ``"lanczos5"`` or ``"area"``.
        antialias: when downsampling, widen the filter to cover each output pixel's
            footprint (TF's scale_and_translate); no effect on nearest and area.
        crop_to_aspect_ratio: first crop the largest centred window of the target aspect
            ratio.
        pad_to_aspect_ratio: first pad (with ``fill_value``) symmetrically to the target
            aspect ratio.
        fill_mode: only ``"constant"``.

    Example:
        >>> ops.image.resize(np.zeros((2, 8, 8, 3), "float32"), (4, 6)).shape
        (2, 4, 6, 3)
    """
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{RESIZE_INTERPOLATIONS}. Received: interpolation={interpolation}")
    if fill_mode != "constant":
        raise ValueError("Invalid value for argument `fill_mode`. Only `'constant'` is "
                         f"supported. Received: fill_mode={fill_mode}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
                         "`True`.")
    if len(size) != 2:
        raise ValueError("Argument `size` must be a tuple of two elements (height, width). "
                         f"Received: size={size}")
    out_h, out_w = (int(s) for s in size)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"Argument `size` must be positive. Received: size={size}")
    x, unbatched, cf = _batched(images, "resize", data_format)
    shape = np.shape(value(x))
    h, w = (shape[2], shape[3]) if cf else (shape[1], shape[2])
    channels = shape[1] if cf else shape[3]
    check_result_size("image.resize", (shape[0], out_h, out_w, channels), np.float32, size=size)
    check_result_size("image.resize", (max(out_h, out_w), max(h, w)), np.float32, size=size)
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * out_h) / out_w)), 1)
        cw = max(min(w, int(float(h * out_w) / out_h)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        if (ch, cw) != (h, w):
            from nnfast.ops.array import get_item

            rows, cols = slice(top, top + ch), slice(left, left + cw)
            key = (slice(None), slice(None), rows, cols) if cf else (slice(None), rows, cols)
            x = get_item(x, key)
            h, w = ch, cw
    elif pad_to_aspect_ratio:
        ph = max(h, int(float(w * out_h) / out_w))
        pw = max(w, int(float(h * out_w) / out_h))
        top, left = int(float(ph - h) / 2), int(float(pw - w) / 2)
        check_result_size("image.resize (pad_to_aspect_ratio)", (shape[0], ph, pw, channels),
                          np.float32, size=size)
        # Keras pads the same amount on both sides of one axis (height first).
        if top > 0:
            x, h = _fill_pad(x, ((top, top), (0, 0)), fill_value, cf), h + 2 * top
        elif left > 0:
            x, w = _fill_pad(x, ((0, 0), (left, left)), fill_value, cf), w + 2 * left
    if interpolation == "nearest":
        y = GatherSpatial.apply(x, ih=_nearest_index(out_h, h), iw=_nearest_index(out_w, w),
                                channels_first=cf)
    elif interpolation == "bilinear" and not antialias:
        y = image_ops.Resize2D.apply(x, out_h, out_w, "bilinear", cf)
    else:
        aa = antialias and interpolation != "area"
        y = SeparableResample.apply(x, mh=_axis_matrix(out_h, h, interpolation, aa),
                                    mw=_axis_matrix(out_w, w, interpolation, aa),
                                    channels_first=cf)
    dtype = np.asarray(value(images)).dtype
    if dtype.kind in "iub":
        # Integer images come back in their dtype, rounded and saturated (as Keras).
        info = np.iinfo(dtype) if dtype.kind != "b" else None
        out = np.round(np.asarray(value(y)))
        if info is not None:
            out = np.clip(out, info.min, info.max)
        return _unbatch(Tensor(out.astype(dtype)), unbatched)
    return _unbatch(y, unbatched)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resamples ``images`` along ``spatial_dims``: output index ``i`` of each such axis
    reads input position ``(i + 0.5 - translation) / scale - 0.5`` with the ``method``
    kernel (``jax.image.scale_and_translate`` / TF's ScaleAndTranslate).

    Args:
        output_shape: the full result shape (equal to the input outside ``spatial_dims``).
        scale, translation: one value per spatial dim.
        method: ``"linear"``/``"bilinear"``/``"trilinear"``, ``"cubic"``/``"bicubic"``/
            ``"tricubic"``, ``"lanczos3"`` or ``"lanczos5"``.

    Example:
        >>> y = ops.image.scale_and_translate(np.ones((1, 4, 4, 1), "float32"), (1, 8, 8, 1),
        ...                                   [2.0, 2.0], [0.0, 0.0], (1, 2), "linear")
    """
    if method not in SCALE_AND_TRANSLATE_METHODS:
        raise ValueError(f"Invalid value for argument `method`. Expected of one "
                         f"{SCALE_AND_TRANSLATE_METHODS}. Received: method={method}")
    kernel = ("triangle" if "linear" in method else "keyscubic" if "cubic" in method
              else method)
    x = images
    in_shape = np.shape(value(x))
    output_shape = tuple(int(s) for s in output_shape)
    if len(output_shape) != len(in_shape):
        raise ValueError(f"scale_and_translate: output_shape={output_shape} must have the rank "
                         f"of images.shape={in_shape}")
    scale = np.asarray(value(scale), np.float32).reshape(-1)
    translation = np.asarray(value(translation), np.float32).reshape(-1)
    for k, d in enumerate(spatial_dims):
        m = scale_translate_matrix(output_shape[d], in_shape[d], scale[k], translation[k],
                                   kernel, bool(antialias))
        x = AlongAxis.apply(x, m=np.ascontiguousarray(m, np.float32), axis=int(d))
    return x


class AlongAxis(Function):
    """``y = M x`` along one axis (``tensordot``); the gradient applies ``M^T``."""

    @staticmethod
    def forward(ctx, x, m=None, axis=0):
        x = _float(x).astype(np.float32, copy=False)
        ctx.params = (m, axis)
        return np.ascontiguousarray(np.moveaxis(np.tensordot(m, x, axes=([1], [axis])), 0, axis))

    @staticmethod
    def backward(ctx, g):
        m, axis = ctx.params
        return np.ascontiguousarray(
            np.moveaxis(np.tensordot(m, np.asarray(g, np.float32), axes=([0], [axis])), 0, axis))


# --- patches -----------------------------------------------------------------------------------


def _patches(images, size, strides, dilation_rate, padding, data_format, spatial, what):
    from nnfast.ops.patches import extract

    data_format = _standardize_data_format(data_format)
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{what}: padding must be 'valid' or 'same'. Received: padding={padding}")
    size = normalize_tuple(size, spatial, "size")
    strides = size if strides is None else normalize_tuple(strides, spatial, "strides")
    dilation = normalize_tuple(dilation_rate, spatial, "dilation_rate")
    nd = np.ndim(value(images))
    if nd not in (spatial + 1, spatial + 2):
        raise ValueError(f"{what}: expected a rank {spatial + 1} (single) or {spatial + 2} "
                         f"(batch) input. Received: images.shape={np.shape(value(images))}")
    from nnfast.ops.array import expand_dims, squeeze, transpose

    x = images if nd == spatial + 2 else expand_dims(images, 0)
    last = data_format == "channels_last"
    if not last:
        x = transpose(x, (0,) + tuple(range(2, spatial + 2)) + (1,))
    y = extract(x, size, strides, dilation, padding)
    if not last:
        y = transpose(y, (0, spatial + 1) + tuple(range(1, spatial + 1)))
    return y if nd == spatial + 2 else squeeze(y, 0)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of images as channels: ``(batch, h, w, c)`` -> ``(batch, oh, ow, ph*pw*c)``
    (each patch flattened in (row, column, channel) order, as ``tf.image.extract_patches``);
    a 3-tuple ``size`` extracts 3-D patches of volumes (see ``extract_patches_3d``).

    Runs as one strided view of the (padded) input copied once: no per-patch loop.

    Args:
        size: patch size, an int or ``(ph, pw)``.
        strides: step between patches, ``size`` by default.
        dilation_rate: spacing of the pixels inside a patch.
        padding: ``"valid"`` (whole patches only) or ``"same"`` (``ceil(n / stride)``
            patches, zero padding split as TensorFlow does).

    Example:
        >>> ops.image.extract_patches(np.zeros((2, 20, 20, 3), "float32"), (5, 5)).shape
        (2, 4, 4, 75)
    """
    if strides is None and dilation_rate == 1 and padding == "valid" and data_format is None:
        y = _extract_eager_square(images, size)  # ViT's call: an eager batch, one int size
        if y is not None:
            return y
    if not isinstance(size, int):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"Invalid `size` argument. Expected an int or a tuple. Received: "
                            f"size={size} of type {type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError("Invalid `size` argument. Expected a tuple of length 2 or 3. "
                             f"Received: size={size} with length {len(size)}")
        if len(size) == 3:
            return extract_patches_3d(images, size, strides, dilation_rate, padding,
                                      data_format)
    return _patches(images, size, strides, dilation_rate, padding, data_format, 2,
                    "extract_patches")


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """3-D patches of volumes: ``(batch, d, h, w, c)`` -> ``(batch, od, oh, ow,
    pd*ph*pw*c)``; arguments as ``extract_patches``.

    Example:
        >>> ops.image.extract_patches_3d(np.zeros((1, 6, 6, 6, 2), "float32"), 3).shape
        (1, 2, 2, 2, 54)
    """
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3,
                    "extract_patches_3d")


# --- colour ------------------------------------------------------------------------------------

_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], np.float32)


def _channel_axis(images, data_format, what):
    data_format = _standardize_data_format(data_format)
    nd = np.ndim(value(images))
    if nd not in (3, 4):
        raise ValueError(f"{what}: invalid images rank: expected rank 3 (single image) or rank "
                         f"4 (batch of images). Received input with shape: "
                         f"images.shape={np.shape(value(images))}")
    axis = -1 if data_format == "channels_last" else -3
    if np.shape(value(images))[axis] != 3:
        raise ValueError(f"{what} expects 3 channels (RGB). Received: images.shape="
                         f"{np.shape(value(images))}")
    return axis


def rgb_to_grayscale(images, data_format=None):
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B``, keeping a channel axis of size 1.

    Example:
        >>> ops.image.rgb_to_grayscale(np.ones((2, 4, 4, 3), "float32")).shape
        (2, 4, 4, 1)
    """
    from nnfast.ops.math import sum as _sum, multiply

    axis = _channel_axis(images, data_format, "rgb_to_grayscale")
    w = _GRAY_WEIGHTS if axis == -1 else _GRAY_WEIGHTS[:, None, None]
    return _sum(multiply(images, w), axis=axis, keepdims=True)


def _split_channels(images, axis):
    from nnfast.ops.array import get_item

    nd = np.ndim(value(images))
    pre = (slice(None),) * (nd + axis)
    return [get_item(images, pre + (i,)) for i in range(3)]


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to HSV (hue in [0, 1)), as ``tf.image.rgb_to_hsv``; differentiable
    away from the colour-wheel seams.

    Example:
        >>> ops.image.rgb_to_hsv(np.array([[[1.0, 0.0, 0.0]]], "float32"))  # [[[0, 1, 1]]]
    """
    from nnfast.ops import math as m
    from nnfast.ops.array import stack

    axis = _channel_axis(images, data_format, "rgb_to_hsv")
    r, g, b = _split_channels(images, axis)
    v = m.maximum(m.maximum(r, g), b)
    lo = m.minimum(m.minimum(r, g), b)
    rng = m.subtract(v, lo)
    vv, rv = np.asarray(value(v)), np.asarray(value(rng))
    pos_v, pos_r = (vv > 0).astype(np.float32), (rv > 0).astype(np.float32)
    # Denominators made safe where the value is unused (hue/saturation 0 there).
    s = m.multiply(m.divide(rng, m.add(v, 1.0 - pos_v)), pos_v)
    inv6 = m.divide(pos_r / 6.0, m.add(rng, 1.0 - pos_r))
    rv_, gv_ = np.asarray(value(r)), np.asarray(value(g))
    is_r = (rv_ == vv).astype(np.float32)
    is_g = ((rv_ != vv) & (gv_ == vv)).astype(np.float32)
    is_b = 1.0 - is_r - is_g
    h = m.add(m.add(m.multiply(m.multiply(m.subtract(g, b), inv6), is_r),
                    m.multiply(m.add(m.multiply(m.subtract(b, r), inv6), 2.0 / 6.0 * pos_r),
                               is_g)),
              m.multiply(m.add(m.multiply(m.subtract(r, g), inv6), 4.0 / 6.0 * pos_r), is_b))
    h = m.add(h, (np.asarray(value(h)) < 0).astype(np.float32))
    return stack([h, s, v], axis=axis)


def hsv_to_rgb(images, data_format=None):
    """HSV (all in [0, 1]) to RGB, as ``tf.image.hsv_to_rgb``; differentiable.

    Example:
        >>> ops.image.hsv_to_rgb(np.array([[[0.0, 1.0, 1.0]]], "float32"))  # [[[1, 0, 0]]]
    """
    from nnfast.ops import math as m
    from nnfast.ops.array import stack

    axis = _channel_axis(images, data_format, "hsv_to_rgb")
    h, s, v = _split_channels(images, axis)
    dh = m.multiply(h, 6.0)
    dr = m.clip(m.subtract(m.abs(m.subtract(dh, 3.0)), 1.0), 0.0, 1.0)
    dg = m.clip(m.subtract(2.0, m.abs(m.subtract(dh, 2.0))), 0.0, 1.0)
    db = m.clip(m.subtract(2.0, m.abs(m.subtract(dh, 4.0))), 0.0, 1.0)
    one_minus_s = m.subtract(1.0, s)
    chans = [m.multiply(m.add(one_minus_s, m.multiply(s, d)), v) for d in (dr, dg, db)]
    return stack(chans, axis=axis)


# --- padding and cropping ----------------------------------------------------------------------


def _two_of_three(a, b, target, names):
    if [a, b, target].count(None) != 1:
        raise ValueError(f"Must specify exactly two of {names[0]}, {names[1]}, {names[2]}. "
                         f"Received: {names[0]}={a}, {names[1]}={b}, {names[2]}={target}")
    for v, n in zip((a, b, target), names):
        if v is not None and v < 0:
            raise ValueError(f"{n} must be >= 0. Received: {n}={v}")


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Zero-pads images; per axis give exactly two of (before, after, target size).

    Example:
        >>> ops.image.pad_images(np.ones((2, 4, 4, 3), "float32"), 1, 1, target_height=7,
        ...                      target_width=6).shape
        (2, 7, 6, 3)
    """
    _two_of_three(top_padding, bottom_padding, target_height,
                  ("top_padding", "bottom_padding", "target_height"))
    _two_of_three(left_padding, right_padding, target_width,
                  ("left_padding", "right_padding", "target_width"))
    x, unbatched, cf = _batched(images, "pad_images", data_format)
    shape = np.shape(value(x))
    h, w = (shape[2], shape[3]) if cf else (shape[1], shape[2])
    if top_padding is None:
        top_padding = target_height - bottom_padding - h
    if bottom_padding is None:
        bottom_padding = target_height - top_padding - h
    if left_padding is None:
        left_padding = target_width - right_padding - w
    if right_padding is None:
        right_padding = target_width - left_padding - w
    for v, n in ((top_padding, "top_padding"), (bottom_padding, "bottom_padding"),
                 (left_padding, "left_padding"), (right_padding, "right_padding")):
        if v < 0:
            raise ValueError(f"{n} must be >= 0. Received: {n}={v} for images of height {h} "
                             f"and width {w}")
    channels = shape[1] if cf else shape[3]
    check_result_size("image.pad_images",
                      (shape[0], h + top_padding + bottom_padding, w + left_padding + right_padding,
                       channels), value(x).dtype, target_height=target_height,
                      target_width=target_width, top_padding=top_padding,
                      bottom_padding=bottom_padding, left_padding=left_padding,
                      right_padding=right_padding)
    y = _fill_pad(x, ((top_padding, bottom_padding), (left_padding, right_padding)), 0.0, cf)
    return _unbatch(y, unbatched)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crops images; per axis give exactly two of (before, after, target size).

    Example:
        >>> ops.image.crop_images(np.ones((2, 8, 8, 3), "float32"), 1, 2, target_height=4,
        ...                       target_width=5).shape
        (2, 4, 5, 3)
    """
    from nnfast.ops.array import get_item

    _two_of_three(top_cropping, bottom_cropping, target_height,
                  ("top_cropping", "bottom_cropping", "target_height"))
    _two_of_three(left_cropping, right_cropping, target_width,
                  ("left_cropping", "right_cropping", "target_width"))
    x, unbatched, cf = _batched(images, "crop_images", data_format)
    shape = np.shape(value(x))
    h, w = (shape[2], shape[3]) if cf else (shape[1], shape[2])
    if top_cropping is None:
        top_cropping = h - target_height - bottom_cropping
    if target_height is None:
        target_height = h - bottom_cropping - top_cropping
    if left_cropping is None:
        left_cropping = w - target_width - right_cropping
    if target_width is None:
        target_width = w - right_cropping - left_cropping
    if min(top_cropping, left_cropping) < 0 or target_height <= 0 or target_width <= 0 or \
            top_cropping + target_height > h or left_cropping + target_width > w:
        raise ValueError(f"crop_images: the crop (top={top_cropping}, left={left_cropping}, "
                         f"height={target_height}, width={target_width}) does not fit images "
                         f"of height {h} and width {w}")
    rows = slice(top_cropping, top_cropping + target_height)
    cols = slice(left_cropping, left_cropping + target_width)
    key = (slice(None), slice(None), rows, cols) if cf else (slice(None), rows, cols)
    return _unbatch(get_item(x, key), unbatched)


# --- filters -----------------------------------------------------------------------------------


def _gaussian_1d(size, sigma):
    x = np.arange(size, dtype=np.float32) - np.float32((size - 1) / 2)
    k = np.exp(np.float32(-0.5) * (x / np.float32(sigma)) ** 2)
    return k / k.sum()


def _depthwise_same(x_last, kernel2d):
    """Per-channel 'same' correlation of an NHWC batch with one 2-D kernel (nnfast conv)."""
    from nnfast.ops.conv import depthwise_conv

    c = np.shape(value(x_last))[-1]
    k = np.ascontiguousarray(np.tile(kernel2d[:, :, None, None], (1, 1, c, 1)), np.float32)
    return depthwise_conv(x_last, k, 1, "same")


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Gaussian blur (zero padding, 'same' size), with Keras's kernel: the outer product of
    the 1-D kernels of ``(kernel_size[1], sigma[1])`` and ``(kernel_size[0], sigma[0])``
    laid out as ``kernel_size`` (as Keras builds it, also for unequal sizes).

    Example:
        >>> ops.image.gaussian_blur(np.ones((1, 5, 5, 3), "float32")).shape
        (1, 5, 5, 3)
    """
    ks = normalize_tuple(kernel_size, 2, "kernel_size")
    sg = tuple(float(s) for s in (sigma if isinstance(sigma, (list, tuple)) else (sigma, sigma)))
    x, unbatched, cf = _batched(images, "gaussian_blur", data_format)
    kernel = np.outer(_gaussian_1d(ks[1], sg[1]), _gaussian_1d(ks[0], sg[0])).reshape(ks)
    y = _from_last(_depthwise_same(_to_last(x, cf), kernel), cf)
    return _unbatch(y, unbatched)


class SobelEdges(Function):
    """``tf.image.sobel_edges``: (dy, dx) Sobel responses with reflect-101 ("REFLECT")
    padding, stacked on a new last axis."""

    @staticmethod
    def forward(ctx, x):
        x = _float(x).astype(np.float32, copy=False)
        p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
        h, w = x.shape[1:3]
        s = lambda i, j: p[:, i:i + h, j:j + w]  # noqa: E731
        dy = (s(2, 0) + 2 * s(2, 1) + s(2, 2)) - (s(0, 0) + 2 * s(0, 1) + s(0, 2))
        dx = (s(0, 2) + 2 * s(1, 2) + s(2, 2)) - (s(0, 0) + 2 * s(1, 0) + s(2, 0))
        ctx.shape = x.shape
        return np.stack([dy, dx], axis=-1)

    @staticmethod
    def backward(ctx, g):
        g = np.asarray(g, np.float32)
        n, h, w, c = ctx.shape
        gp = np.zeros((n, h + 2, w + 2, c), np.float32)
        gy, gx = g[..., 0], g[..., 1]
        for (i, j), (wy, wx) in {(0, 0): (-1, -1), (0, 1): (-2, 0), (0, 2): (-1, 1),
                                 (1, 0): (0, -2), (1, 2): (0, 2), (2, 0): (1, -1),
                                 (2, 1): (2, 0), (2, 2): (1, 1)}.items():
            gp[:, i:i + h, j:j + w] += wy * gy + wx * gx
        # Fold the reflected border back onto the pixels it copied.
        gp[:, 2] += gp[:, 0]
        gp[:, h - 1] += gp[:, h + 1]
        gp[:, :, 2] += gp[:, :, 0]
        gp[:, :, w - 1] += gp[:, :, w + 1]
        return np.ascontiguousarray(gp[:, 1:h + 1, 1:w + 1])


def sobel_edges(images, data_format=None):
    """Sobel edge maps: ``(batch, h, w, c)`` -> ``(batch, h, w, c, 2)`` holding (dy, dx)
    per channel (``(batch, c, h, w, 2)`` for channels_first).

    Example:
        >>> ops.image.sobel_edges(np.zeros((1, 4, 4, 3), "float32")).shape
        (1, 4, 4, 3, 2)
    """
    from nnfast.ops.array import transpose

    data_format = _standardize_data_format(data_format)
    if np.ndim(value(images)) != 4:
        raise ValueError(f"sobel_edges expects a 4-D batch of images. Received: "
                         f"images.shape={np.shape(value(images))}")
    cf = data_format == "channels_first"
    if min(np.shape(value(images))[2:4] if cf else np.shape(value(images))[1:3]) < 2:
        raise ValueError("sobel_edges needs images at least 2 pixels high and wide, received "
                         f"images.shape={np.shape(value(images))}")
    y = SobelEdges.apply(_to_last(images, cf))
    return transpose(y, (0, 3, 1, 2, 4)) if cf else y


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity of two image batches: per image, the mean over valid
    ``filter_size`` Gaussian windows and channels of the SSIM map (Keras's formula).

    Returns:
        ``(batch,)`` (a scalar for single images); differentiable.

    Example:
        >>> x = np.random.rand(2, 16, 16, 3).astype("float32")
        >>> ops.image.ssim(x, x)  # [1, 1]
    """
    from nnfast.ops import math as m
    from nnfast.ops.array import reshape, transpose
    from nnfast.ops.conv import conv

    a, unbatched, cf = _batched(image1, "ssim", data_format)
    b, _, _ = _batched(image2, "ssim", data_format)
    if np.shape(value(a)) != np.shape(value(b)):
        raise ValueError(f"ssim: image1 and image2 must have the same shape. Received: "
                         f"{np.shape(value(image1))} and {np.shape(value(image2))}")
    a, b = _to_last(a, cf), _to_last(b, cf)
    n, h, w, c = np.shape(value(a))
    g = _gaussian_1d(filter_size, filter_sigma)
    kernel = np.outer(g, g).astype(np.float32).reshape(filter_size, filter_size, 1, 1)
    per_channel = lambda t: reshape(transpose(t, (0, 3, 1, 2)), (-1, h, w, 1))  # noqa: E731
    a1, b1 = per_channel(a), per_channel(b)
    blur = lambda t: conv(t, kernel, 1, "valid")  # noqa: E731
    mu1, mu2 = blur(a1), blur(b1)
    mu1_sq, mu2_sq, mu12 = m.multiply(mu1, mu1), m.multiply(mu2, mu2), m.multiply(mu1, mu2)
    s1 = m.subtract(blur(m.multiply(a1, a1)), mu1_sq)
    s2 = m.subtract(blur(m.multiply(b1, b1)), mu2_sq)
    s12 = m.subtract(blur(m.multiply(a1, b1)), mu12)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    num = m.multiply(m.add(m.multiply(mu12, 2.0), c1), m.add(m.multiply(s12, 2.0), c2))
    den = m.multiply(m.add(m.add(mu1_sq, mu2_sq), c1), m.add(m.add(s1, s2), c2))
    per_image = m.mean(reshape(m.mean(m.divide(num, den), axis=(1, 2, 3)), (n, c)), axis=-1)
    return _unbatch(per_image, unbatched)


# --- geometric warps ---------------------------------------------------------------------------


def _map_tf_fill(coord, length, mode):
    """TF ImageProjectiveTransformV3's float coordinate mapping for ``fill_mode``."""
    c = coord.astype(np.float32)
    if mode == "constant":
        return c
    if mode == "nearest":
        return np.clip(c, 0, length - 1)
    if length <= 1:
        return np.zeros_like(c)
    if mode == "reflect":
        sz2 = 2 * length
        neg = c < 0
        cn = np.where(c < -sz2, sz2 * np.trunc(-c / sz2) + c, c)
        cn = np.where(cn < -length, cn + sz2, -cn - 1)
        cp = c - sz2 * np.trunc(c / sz2)
        cp = np.where(cp >= length, sz2 - cp - 1, cp)
        out = np.where(neg, cn, np.where(c > length - 1, cp, c))
    else:  # wrap
        sz = length - 1
        cn = c + length * (np.trunc(-c / sz) + 1)
        cp = c - length * np.trunc(c / sz)
        out = np.where(c < 0, cn, np.where(c > length - 1, cp, c))
    return np.clip(out, 0, length - 1)


class Sample2D(Function):
    """Samples an NHWC batch at per-output (y, x) positions with per-tap fill: the value
    is the weighted sum of the (1 or 4) neighbouring pixels, a neighbour outside the image
    reading ``fill_value``. Linear in the images (gradient: the weights added back)."""

    @staticmethod
    def forward(ctx, x, ys=None, xs=None, interpolation="bilinear", fill_value=0.0, nan=None):
        x = _float(x).astype(np.float32, copy=False)
        n, h, w, c = x.shape
        if interpolation == "nearest":
            # std::round: halves away from zero (np.round would round them to even).
            away = lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5)  # noqa: E731
            taps = [(away(ys), away(xs), np.ones_like(ys))]
        else:
            y0, x0 = np.floor(ys), np.floor(xs)
            wy, wx = ys - y0, xs - x0
            taps = [(y0, x0, (1 - wy) * (1 - wx)), (y0, x0 + 1, (1 - wy) * wx),
                    (y0 + 1, x0, wy * (1 - wx)), (y0 + 1, x0 + 1, wy * wx)]
        flat = x.reshape(-1, c)
        base = (np.arange(n) * h * w).reshape(n, 1, 1)
        out = np.zeros(ys.shape + (c,), np.float32)
        saved = []
        for ty, tx, wt in taps:
            ok = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
            idx = base + np.clip(ty, 0, h - 1).astype(np.int64) * w + \
                np.clip(tx, 0, w - 1).astype(np.int64)
            vals = np.where(ok[..., None], flat[idx], np.float32(fill_value))
            out += (wt[..., None] * vals).astype(np.float32)
            saved.append((idx, (wt * ok).astype(np.float32)))
        if nan is not None:
            out[nan] = fill_value
            saved = [(i, np.where(nan, 0.0, wt).astype(np.float32)) for i, wt in saved]
        ctx.params = (x.shape, saved)
        return out

    @staticmethod
    def backward(ctx, g):
        shape, saved = ctx.params
        n, h, w, c = shape
        g = np.asarray(g, np.float32)
        dx = np.zeros((n * h * w, c), np.float32)
        for idx, wt in saved:
            contrib = (g * wt[..., None]).reshape(-1, c)
            flat_idx = idx.reshape(-1)
            for ch in range(c):
                dx[:, ch] += np.bincount(flat_idx, weights=contrib[:, ch], minlength=n * h * w)
        return dx.reshape(shape)


def _projective(x_last, transforms, interpolation, fill_mode, fill_value):
    """TF's ImageProjectiveTransformV3 on an NHWC batch; ``transforms`` ``(n, 8)``."""
    n, h, w, _ = np.shape(value(x_last))
    t = transforms.astype(np.float32)
    oy, ox = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                         indexing="ij")
    t = t[:, :, None, None]
    proj = t[:, 6] * ox + t[:, 7] * oy + 1.0
    zero = proj == 0
    safe = np.where(zero, 1.0, proj)
    xs = (t[:, 0] * ox + t[:, 1] * oy + t[:, 2]) / safe
    ys = (t[:, 3] * ox + t[:, 4] * oy + t[:, 5]) / safe
    ys, xs = _map_tf_fill(ys, h, fill_mode), _map_tf_fill(xs, w, fill_mode)
    return Sample2D.apply(x_last, ys=ys, xs=xs, interpolation=interpolation,
                          fill_value=float(fill_value), nan=zero if zero.any() else None)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Warps images by projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]``: output
    pixel ``(x, y)`` reads input ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``,
    ``k = c0 x + c1 y + 1`` (TF's ImageProjectiveTransformV3).

    Args:
        transform: ``(8,)`` or ``(batch, 8)``.
        interpolation: ``"nearest"`` or ``"bilinear"``.
        fill_mode: ``"constant"`` (``fill_value`` outside), ``"nearest"``, ``"wrap"`` or
            ``"reflect"``.

    Example:
        >>> shift = np.array([1, 0, 2, 0, 1, 0, 0, 0], "float32")  # x + 2
        >>> ops.image.affine_transform(np.ones((1, 4, 4, 1), "float32"), shift).shape
        (1, 4, 4, 1)
    """
    if interpolation not in AFFINE_TRANSFORM_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_TRANSFORM_INTERPOLATIONS}. Received: "
                         f"interpolation={interpolation}")
    if fill_mode not in AFFINE_TRANSFORM_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{AFFINE_TRANSFORM_FILL_MODES}. Received: fill_mode={fill_mode}")
    x, unbatched, cf = _batched(images, "affine_transform", data_format)
    t = np.asarray(value(transform), np.float32)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError("Invalid transform rank: expected rank 1 (single transform) or rank 2 "
                         f"(batch of transforms) of 8 values. Received: transform.shape={t.shape}")
    n = np.shape(value(x))[0]
    t = np.broadcast_to(t.reshape(-1, 8), (n, 8)) if t.ndim == 1 or t.shape[0] == 1 else t
    y = _projective(_to_last(x, cf), t, interpolation, fill_mode, fill_value)
    return _unbatch(_from_last(y, cf), unbatched)


def _homography(start, end):
    """The 8 transform values mapping each output point ``end`` to input point ``start``."""
    rows = []
    for i in range(4):
        sx, sy, ex, ey = start[:, i, 0], start[:, i, 1], end[:, i, 0], end[:, i, 1]
        one, zero = np.ones_like(ex), np.zeros_like(ex)
        rows.append(np.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1))
        rows.append(np.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1))
    a = np.stack(rows, axis=1).astype(np.float64)
    target = start.reshape(start.shape[0], 8).astype(np.float64)
    return np.linalg.solve(a, target[..., None])[..., 0].astype(np.float32)


def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Perspective warp that moves the 4 ``start_points`` ``(x, y)`` to ``end_points``
    (constant fill).

    Args:
        start_points, end_points: ``(4, 2)`` or ``(batch, 4, 2)``.

    Example:
        >>> pts = np.array([[0, 0], [3, 0], [0, 3], [3, 3]], "float32")
        >>> ops.image.perspective_transform(np.ones((1, 4, 4, 1), "float32"), pts, pts + 0.5)
    """
    if interpolation not in AFFINE_TRANSFORM_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_TRANSFORM_INTERPOLATIONS}. Received: "
                         f"interpolation={interpolation}")
    s = np.asarray(value(start_points), np.float32)
    e = np.asarray(value(end_points), np.float32)
    if s.shape != e.shape or s.ndim not in (2, 3) or s.shape[-2:] != (4, 2):
        raise ValueError("start_points and end_points must have the same shape (4, 2) or "
                         f"(batch, 4, 2). Received: {s.shape} and {e.shape}")
    s, e = s.reshape(-1, 4, 2), e.reshape(-1, 4, 2)
    x, unbatched, cf = _batched(images, "perspective_transform", data_format)
    t = _homography(s, e)
    n = np.shape(value(x))[0]
    if t.shape[0] == 1 and n != 1:
        t = np.broadcast_to(t, (n, 8))
    y = _projective(_to_last(x, cf), t, interpolation, "constant", fill_value)
    return _unbatch(_from_last(y, cf), unbatched)


def _fill_indices(index, size, mode):
    """Keras's (TF backend) integer index mapping for ``map_coordinates``'s fill modes:
    (index in range, valid)."""
    if mode == "constant":
        return np.clip(index, 0, size - 1), (index >= 0) & (index < size)
    ones = np.ones(index.shape, bool)
    if mode == "nearest":
        return np.clip(index, 0, size - 1), ones
    if mode == "wrap":
        return np.mod(index, size), ones
    if mode == "mirror":
        # Reflection about the edge pixels' centres (period 2 * (size - 1)), as SciPy.
        if size == 1:
            return np.zeros_like(index), ones
        period = 2 * (size - 1)
        i = np.mod(np.abs(index), period)
        return np.where(i >= size, period - i, i), ones
    i = np.mod(np.abs(index), 2 * size)  # reflect, as Keras on TensorFlow
    return np.where(i < size, i, 2 * size - i - 1), ones


class MapCoordinates(Function):
    """N-D interpolation at given coordinates (order 0 or 1): linear in the input, and for
    order 1 differentiable in the coordinates too (piecewise linear weights)."""

    @staticmethod
    def forward(ctx, x, coords, order=1, fill_mode="constant", fill_value=0.0):
        import itertools

        x = _float(x).astype(np.float32, copy=False)
        coords = np.asarray(coords, dtype=np.float32)
        per_dim = []
        for d, cd in enumerate(coords):
            size = x.shape[d]
            if order == 0:
                nodes = [(np.round(cd).astype(np.int64), np.ones_like(cd), 0.0)]
            else:
                lo = np.floor(cd)
                up = cd - lo
                nodes = [(lo.astype(np.int64), 1 - up, -1.0), (lo.astype(np.int64) + 1, up, 1.0)]
            per_dim.append([(*_fill_indices(i, size, fill_mode), wt, sign)
                            for i, wt, sign in nodes])
        out = np.zeros(coords.shape[1:], np.float64)
        saved = []
        strides = np.cumprod((x.shape[1:] + (1,))[::-1])[::-1]
        flat = x.reshape(-1)
        for combo in itertools.product(*per_dim):
            idx = sum(i * s for (i, _, _, _), s in zip(combo, strides))
            valid = np.logical_and.reduce([v for _, v, _, _ in combo])
            weights = [wt for _, _, wt, _ in combo]
            wt = np.prod(weights, axis=0)
            vals = np.where(valid, flat[idx], fill_value)
            out += wt * vals
            saved.append((idx, np.where(valid, wt, 0.0), weights, [sg for *_, sg in combo], vals))
        ctx.params = (x.shape, saved, order)
        return out.astype(np.float32)

    @staticmethod
    def backward(ctx, g):
        shape, saved, order = ctx.params
        g = np.asarray(g, np.float64)
        need_x, need_c = ctx.needs_input_grad[:2]
        dx = dc = None
        if need_x:
            gf = g.reshape(-1)
            dx = np.zeros(int(np.prod(shape)), np.float64)
            for idx, wt, _, _, _ in saved:
                dx += np.bincount(idx.reshape(-1), weights=gf * wt.reshape(-1), minlength=dx.size)
            dx = dx.reshape(shape).astype(np.float32)
        if need_c:
            dc = np.zeros((len(shape),) + g.shape, np.float64)
            if order == 1:
                for _, _, weights, signs, vals in saved:
                    for d in range(len(shape)):
                        others = np.prod([w for e, w in enumerate(weights) if e != d], axis=0)
                        dc[d] += g * vals * others * signs[d]
            dc = dc.astype(np.float32)
        return dx, dc


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Samples ``inputs`` at ``coordinates`` (``(inputs.ndim, ...)``: one array of positions
    per input axis) with nearest (``order=0``) or linear (``order=1``) interpolation, as
    ``scipy.ndimage.map_coordinates``/Keras.

    Differentiable in ``inputs``, and with ``order=1`` in ``coordinates`` (as on
    TensorFlow).

    Args:
        fill_mode: ``"constant"`` (neighbours outside read ``fill_value``), ``"nearest"``,
            ``"wrap"``, ``"mirror"`` or ``"reflect"``.

    Example:
        >>> ops.image.map_coordinates(np.arange(4.0, dtype="float32"), [[0.5, 2.25]], 1)
        # [0.5, 2.25]
    """
    x = np.asarray(value(inputs))
    c = np.asarray(value(coordinates), dtype=np.float32)
    if c.shape[0] != x.ndim:
        raise ValueError("First dim of `coordinates` must be the same as the rank of `inputs`. "
                         f"Received inputs with shape: {x.shape} and coordinate leading dim of "
                         f"{c.shape[0]}")
    if c.ndim < 2:
        raise ValueError(f"Invalid coordinates rank: expected at least rank 2. Received input "
                         f"with shape: {c.shape}")
    if fill_mode not in MAP_COORDINATES_FILL_MODES:
        raise ValueError(f"Invalid value for argument `fill_mode`. Expected one of "
                         f"{set(MAP_COORDINATES_FILL_MODES)}. Received: fill_mode={fill_mode}")
    if order not in (0, 1):
        raise NotImplementedError("map_coordinates currently requires order<=1")
    coords = coordinates if hasattr(coordinates, "node") else c
    return MapCoordinates.apply(inputs, coords, order=int(order), fill_mode=fill_mode,
                                fill_value=float(fill_value))


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Elastic deformation: a random displacement field (uniform in [-1, 1], smoothed by a
    Gaussian of ``sigma``, scaled by ``alpha``) moves each pixel; the images are resampled
    there. The field comes from nnfast's random generator, so values differ from Keras's
    for the same seed (the distribution is the same); differentiable in the images.

    Example:
        >>> y = ops.image.elastic_transform(np.random.rand(1, 16, 16, 3).astype("float32"),
        ...                                 seed=1)
    """
    if interpolation not in AFFINE_TRANSFORM_INTERPOLATIONS:
        raise ValueError("Invalid value for argument `interpolation`. Expected of one "
                         f"{AFFINE_TRANSFORM_INTERPOLATIONS}. Received: "
                         f"interpolation={interpolation}")
    if fill_mode not in AFFINE_TRANSFORM_FILL_MODES:
        raise ValueError("Invalid value for argument `fill_mode`. Expected of one "
                         f"{AFFINE_TRANSFORM_FILL_MODES}. Received: fill_mode={fill_mode}")
    x, unbatched, cf = _batched(images, "elastic_transform", data_format)
    xl = _to_last(x, cf)
    n, h, w, c = np.shape(value(xl))
    from nnfast.backend import random as _random

    if seed is None or isinstance(seed, (int, np.integer)):
        rng = _random.make_generator(seed)  # None: seeded from nnfast's global generator
    elif hasattr(seed, "next"):  # a SeedGenerator: its next seed
        rng = _random.make_generator(int(np.asarray(value(seed.next())).ravel()[-1]))
    else:
        rng = _random.make_generator(int(np.asarray(value(seed)).ravel()[-1]))
    size = int(2 * np.ceil(3 * sigma) + 1)
    field = rng.uniform(-1, 1, (n, h, w, 2)).astype(np.float32)
    kernel = np.outer(_gaussian_1d(size, sigma), _gaussian_1d(size, sigma)).astype(np.float32)
    smooth = np.asarray(value(_depthwise_same(field, kernel))) * np.float32(alpha)
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                         indexing="ij")
    ys = _map_tf_fill(gy[None] + smooth[..., 0], h, fill_mode)
    xs = _map_tf_fill(gx[None] + smooth[..., 1], w, fill_mode)
    y = Sample2D.apply(xl, ys=ys, xs=xs, interpolation=interpolation,
                       fill_value=float(fill_value), nan=None)
    return _unbatch(_from_last(y, cf), unbatched)
