"""Vectorized image resampling shared by ``ImageDataGenerator``, the augmentation layers and
``image_dataset_from_directory``: batched affine warps and resizes written as whole-array
NumPy gathers (no per-pixel Python).

Images are ``channels_last`` batches ``(n, height, width, channels)``.
"""
import numpy as np

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _map_index(idx, size, fill_mode):
    """Maps integer source indices (any shape) into ``[0, size)`` by ``fill_mode``; returns
    ``(index, inside)`` where ``inside`` is False where ``constant`` mode reads the fill."""
    if fill_mode == "nearest":
        return np.clip(idx, 0, size - 1), None
    if fill_mode == "wrap":
        return np.mod(idx, size), None
    if fill_mode == "mirror":
        # (d c b | a b c d | c b a): period 2*(size-1), mirrored about the outer pixels.
        if size == 1:
            return np.zeros_like(idx), None
        m = np.mod(idx, 2 * size - 2)
        return np.where(m >= size, 2 * size - 2 - m, m), None
    if fill_mode == "reflect":
        # (d c b a | a b c d | d c b a): period 2*size, mirrored about the outer pixel edges.
        m = np.mod(idx, 2 * size)
        return np.where(m >= size, 2 * size - 1 - m, m), None
    inside = (idx >= 0) & (idx < size)
    return np.clip(idx, 0, size - 1), inside


def affine_resample(images, rows, cols, interpolation="bilinear", fill_mode="constant",
                    fill_value=0.0):
    """Samples ``images`` at float source coordinates.

    Args:
        images: ``(n, h, w, c)`` array.
        rows, cols: ``(n, out_h, out_w)`` float source coordinates (pixel centres at
            integers) for every output pixel of every image.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: how coordinates outside the image are read: ``"reflect"``,
            ``"wrap"``, ``"nearest"`` or ``"constant"`` (reads ``fill_value``).

    Returns:
        ``(n, out_h, out_w, c)`` float32 array.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Invalid interpolation {interpolation!r}; expected one of "
                         f"{INTERPOLATIONS}.")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"Invalid fill_mode {fill_mode!r}; expected one of {FILL_MODES}.")
    images = np.asarray(images, dtype=np.float32)
    n, h, w, c = images.shape
    out_shape = rows.shape
    flat = images.reshape(n * h * w, c)
    base = (np.arange(n, dtype=np.int64) * (h * w)).reshape((n,) + (1,) * (rows.ndim - 1))

    def gather(r, c):
        # r, c: (index, inside-mask or None) pairs already mapped by the fill mode.
        vals = flat[(base + r[0] * w + c[0]).ravel()].reshape(out_shape + (c_dim,))
        if r[1] is not None:
            vals = np.where((r[1] & c[1])[..., None], vals, np.float32(fill_value))
        return vals

    c_dim = c
    if interpolation == "nearest":
        # Round half away from zero, as TF's std::round (-0.5 is outside the image).
        def round_half_away(v):
            return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)

        return gather(_map_index(round_half_away(rows), h, fill_mode),
                      _map_index(round_half_away(cols), w, fill_mode)
                      ).astype(np.float32, copy=False)
    r0 = np.floor(rows)
    c0 = np.floor(cols)
    fr = (rows - r0).astype(np.float32)[..., None]
    fc = (cols - c0).astype(np.float32)[..., None]
    r0 = r0.astype(np.int64)
    c0 = c0.astype(np.int64)
    # Map each of the four neighbour rows/columns once, then gather the four corners.
    ra, rb = _map_index(r0, h, fill_mode), _map_index(r0 + 1, h, fill_mode)
    ca, cb = _map_index(c0, w, fill_mode), _map_index(c0 + 1, w, fill_mode)
    top = gather(ra, ca)
    top += (gather(ra, cb) - top) * fc
    bottom = gather(rb, ca)
    bottom += (gather(rb, cb) - bottom) * fc
    top += (bottom - top) * fr
    return top.astype(np.float32, copy=False)


def affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0):
    """Keras's ``ops.image.affine_transform`` on a channels_last batch.

    Each row of ``transforms`` is ``[a0, a1, a2, b0, b1, b2, c0, c1]`` and maps an output
    point ``(x, y)`` (x = column, y = row) to the input point
    ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``; ``c0``, ``c1`` (projective terms) must be 0.

    Args:
        images: ``(n, h, w, c)`` or a single ``(h, w, c)`` image.
        transforms: ``(8,)`` or ``(n, 8)``.

    Returns:
        float32 array of the same shape as ``images``.
    """
    images = np.asarray(images, dtype=np.float32)
    single = images.ndim == 3
    if single:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"affine_transform expects images of rank 3 or 4, received shape "
                         f"{images.shape}")
    t = np.asarray(transforms, dtype=np.float64)
    if t.ndim == 1:
        t = np.broadcast_to(t, (len(images), 8))
    if t.shape != (len(images), 8):
        raise ValueError(f"transforms must have shape (8,) or ({len(images)}, 8), received "
                         f"{t.shape}")
    if np.any(t[:, 6:] != 0):
        raise ValueError("Projective transforms (non-zero c0, c1) are not supported.")
    n, h, w, _ = images.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = t[:, :, None, None]
    cols = a[:, 0] * x + a[:, 1] * y + a[:, 2]
    rows = a[:, 3] * x + a[:, 4] * y + a[:, 5]
    out = affine_resample(images, rows, cols, interpolation, fill_mode, fill_value)
    return out[0] if single else out


def _crop_box(height, width, target_height, target_width):
    """Keras's centred crop with the target aspect ratio: (top, left, crop_h, crop_w)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int((height - crop_height) / 2), int((width - crop_width) / 2), crop_height, crop_width


def _source_coords(out_size, in_size, interpolation):
    scale = in_size / out_size
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    if interpolation == "nearest":
        # TF's half-pixel nearest neighbour: floor((i + 0.5) * scale), clamped.
        return np.minimum(np.floor(centres), in_size - 1).astype(np.int64), None
    src = centres - 0.5
    lower = np.floor(src)
    frac = (src - lower).astype(np.float32)
    lo = np.clip(lower, 0, in_size - 1).astype(np.int64)
    hi = np.clip(lower + 1, 0, in_size - 1).astype(np.int64)
    return (lo, hi), frac


def resize(images, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_value=0.0):
    """Resizes a channels_last batch like ``tf.image.resize`` (half-pixel centres, no
    antialiasing) for ``"bilinear"`` and ``"nearest"``.

    Args:
        images: ``(n, h, w, c)`` or ``(h, w, c)``.
        crop_to_aspect_ratio: first crop the largest centred region with the target aspect
            ratio (so the image is not distorted).
        pad_to_aspect_ratio: first pad with ``fill_value`` to the target aspect ratio.

    Returns:
        float32 ``(n, height, width, c)`` (or ``(height, width, c)``).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Invalid interpolation {interpolation!r}; nnfast resizes with one of "
                         f"{INTERPOLATIONS}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
    images = np.asarray(images, dtype=np.float32)
    single = images.ndim == 3
    if single:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"resize expects images of rank 3 or 4, received shape {images.shape}")
    height, width = int(height), int(width)
    _, h, w, _ = images.shape
    if crop_to_aspect_ratio:
        top, left, ch, cw = _crop_box(h, w, height, width)
        images = images[:, top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        pad_h = max(int(round(w * height / width)) - h, 0)
        pad_w = max(int(round(h * width / height)) - w, 0)
        if pad_h or pad_w:
            images = np.pad(images, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                                     (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
                            constant_values=fill_value)
    _, h, w, _ = images.shape
    if (h, w) == (height, width):
        out = np.array(images, dtype=np.float32)
        return out[0] if single else out
    if interpolation == "nearest":
        ri, _ = _source_coords(height, h, "nearest")
        ci, _ = _source_coords(width, w, "nearest")
        out = images[:, ri][:, :, ci]
    else:
        (r0, r1), fr = _source_coords(height, h, "bilinear")
        (c0, c1), fc = _source_coords(width, w, "bilinear")
        fr = fr[None, :, None, None]
        rows = images[:, r0] * (1 - fr) + images[:, r1] * fr
        fc = fc[None, None, :, None]
        out = rows[:, :, c0] * (1 - fc) + rows[:, :, c1] * fc
    out = np.ascontiguousarray(out, dtype=np.float32)
    return out[0] if single else out
