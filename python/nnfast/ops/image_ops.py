"""Spatial reshaping ops for image layers, with gradients: zero padding, nearest upsampling
(repeat) and ``tf.image.resize``-compatible separable resizing (bilinear, bicubic,
lanczos3/5). Cropping uses ``ops.get_item``."""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops._util import f32
from nnfast.ops.float64 import arr64, is_float64
from nnfast.ops.size_limit import check_result_size


def _float_array(x):
    """float64 values stay float64 (float64 models); everything else becomes float32."""
    return arr64(x) if is_float64(x) else f32(x)


class ZeroPad(Function):
    """Zero padding with ``pads`` = ((before, after), ...) per axis."""

    @staticmethod
    def forward(ctx, x, pads):
        x = _float_array(x)
        ctx.slices = tuple(slice(b, b + n) for (b, _), n in zip(pads, x.shape))
        return np.pad(x, pads)

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.slices])


def zero_pad(x, pads):
    """Pads ``x`` with zeros; ``pads`` has one (before, after) pair per axis."""
    return ZeroPad.apply(x, tuple((int(b), int(a)) for b, a in pads))


class RepeatSpatial(Function):
    """Nearest-neighbour upsampling: repeats axis i ``sizes[i]`` times (1 = unchanged)."""

    @staticmethod
    def forward(ctx, x, sizes):
        x = _float_array(x)
        ctx.params = (x.shape, sizes)
        y = x
        for axis, s in enumerate(sizes):
            if s != 1:
                y = np.repeat(y, s, axis=axis)
        return np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, g):
        shape, sizes = ctx.params
        split = []
        for n, s in zip(shape, sizes):
            split += [n, s]
        # Sum each block of repeated copies back onto its source element.
        return np.ascontiguousarray(
            g.reshape(split).sum(axis=tuple(range(1, 2 * len(shape), 2)), dtype=g.dtype))


def repeat_spatial(x, sizes):
    """Repeats each element ``sizes[i]`` times along axis i (nearest upsampling)."""
    return RepeatSpatial.apply(x, tuple(int(s) for s in sizes))


# --- separable resizing (tf.image.resize semantics, antialias=False) --------------------------

RESIZE_INTERPOLATIONS = ("bilinear", "bicubic", "lanczos3", "lanczos5")


def _half_pixel_source(out_size, in_size):
    """TF's half-pixel source coordinate of each output index, in float32 as TF computes it:
    ``(i + 0.5) * (in / out) - 0.5``."""
    scale = np.float32(in_size) / np.float32(out_size)
    return (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)


def _bilinear_matrix(out_size, in_size):
    # resize_bilinear(half_pixel_centers=True): lower = max(floor(s), 0),
    # upper = min(ceil(s), in - 1), lerp = s - floor(s) (from the unclamped floor).
    s = _half_pixel_source(out_size, in_size)
    fl = np.floor(s)
    lerp = (s - fl).astype(np.float64)
    lower = np.maximum(fl, 0).astype(np.int64)
    upper = np.minimum(np.ceil(s), in_size - 1).astype(np.int64)
    m = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    np.add.at(m, (rows, lower), 1.0 - lerp)
    np.add.at(m, (rows, upper), lerp)
    return m


def _keys_cubic(t):
    """Keys cubic convolution kernel with a = -0.5 (TF's ``use_keys_cubic`` table)."""
    a = -0.5
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _bicubic_matrix(out_size, in_size):
    # resize_bicubic(half_pixel_centers=True): taps floor(s)-1 .. floor(s)+2; TF reads the
    # kernel from a 1024-entry table (delta rounded to 1/1024), gives taps outside the image
    # zero weight and renormalizes the rest to sum to one.
    table = 1024
    s = _half_pixel_source(out_size, in_size)
    base = np.floor(s).astype(np.int64)
    delta = np.rint((s - np.floor(s)).astype(np.float64) * table) / table
    m = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    weights = np.stack([_keys_cubic(delta + 1), _keys_cubic(delta), _keys_cubic(1 - delta),
                        _keys_cubic(2 - delta)], axis=1)
    idx = base[:, None] + np.arange(-1, 3)[None, :]
    weights = np.where((idx >= 0) & (idx < in_size), weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    np.add.at(m, (np.repeat(rows, 4), np.clip(idx, 0, in_size - 1).ravel()), weights.ravel())
    return m


def _lanczos(t, radius):
    t = np.abs(t)
    safe = np.where(t <= 1e-3, 1.0, t)
    pi = np.pi
    v = radius * np.sin(pi * safe) * np.sin(pi * safe / radius) / (pi * pi * safe * safe)
    return np.where(t <= 1e-3, 1.0, np.where(t > radius, 0.0, v))


def _lanczos_matrix(out_size, in_size, radius):
    # scale_and_translate(kernel, antialias=False): sample = (i + 0.5) / scale; taps
    # ceil(sample - r - 0.5) .. floor(sample + r - 0.5) clamped to the image, weights
    # kernel(tap + 0.5 - sample) renormalized to sum to one.
    inv_scale = 1.0 / np.float32(np.float32(out_size) / np.float32(in_size))
    sample = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * np.float32(inv_scale)
    sample = sample.astype(np.float64)
    start = np.clip(np.ceil(sample - radius - 0.5), 0, in_size - 1).astype(np.int64)
    end = np.clip(np.floor(sample + radius - 0.5), 0, in_size - 1).astype(np.int64) + 1
    taps = np.arange(in_size)[None, :]
    inside = (taps >= start[:, None]) & (taps < end[:, None])
    m = np.where(inside, _lanczos(taps + 0.5 - sample[:, None], radius), 0.0)
    return m / m.sum(axis=1, keepdims=True)


_MATRIX_CACHE = {}


def resize_matrix(out_size, in_size, interpolation):
    """The (out_size, in_size) float32 matrix that resizes one axis as ``tf.image.resize``
    does (half-pixel centres, no antialiasing): ``out = M @ in`` along that axis."""
    key = (int(out_size), int(in_size), interpolation)
    m = _MATRIX_CACHE.get(key)
    if m is None:
        if interpolation == "bilinear":
            m = _bilinear_matrix(*key[:2])
        elif interpolation == "bicubic":
            m = _bicubic_matrix(*key[:2])
        elif interpolation in ("lanczos3", "lanczos5"):
            m = _lanczos_matrix(*key[:2], radius=int(interpolation[-1]))
        else:
            raise ValueError(f"Invalid interpolation {interpolation!r}; expected one of "
                             f"{RESIZE_INTERPOLATIONS}.")
        m = np.ascontiguousarray(m, dtype=np.float32)
        m.setflags(write=False)
        if len(_MATRIX_CACHE) > 256:
            _MATRIX_CACHE.clear()
        _MATRIX_CACHE[key] = m
    return m


_KRON_CACHE = {}


def _kron_with_identity(m, r, trans):
    """``kron(op(m).T, I_r)`` ``(L*r, Lo*r)``: ``x (B, L, r)`` flattened to ``(B, L*r)``
    times it is ``op(m) @ x[b]`` for every b in one GEMM. Cached per resize matrix (the
    entry holds ``m`` so its id stays its own)."""
    key = (id(m), r, trans)
    hit = _KRON_CACHE.get(key)
    if hit is not None and hit[0] is m:
        return hit[1]
    mm = m.T if trans else m
    k = np.ascontiguousarray(np.kron(mm.T, np.eye(r, dtype=np.float32)), dtype=np.float32)
    if len(_KRON_CACHE) > 64:
        _KRON_CACHE.clear()
    _KRON_CACHE[key] = (m, k)
    return k


def _along_middle(x3, m, trans):
    """``out[b] = op(m) @ x3[b]`` for x3 ``(B, L, R)``, with op(m) = m ``(Lo, L)`` or its
    transpose, on nnfast's GEMM (NumPy's matmul would use OpenBLAS's own thread pool, which
    thrashes against nnfast's threads)."""
    B, L, R = x3.shape
    Lo = m.shape[1] if trans else m.shape[0]
    if R <= 4 and B > 1 and L * Lo * R * R <= (1 << 22):  # widened matrix <= 16 MiB
        # Very thin slices (the width axis of RGB images): one product with the matrix
        # widened by the identity does R times the multiplies but no transposes (measured
        # 2x faster than the transposed product on 16x64x64x3 bicubic).
        out = np.empty((B, Lo * R), np.float32)
        _core.gemm(np.ascontiguousarray(x3).reshape(B, L * R), _kron_with_identity(m, R, trans),
                   out)
        return out.reshape(B, Lo, R)
    if B * 16 <= R or B == 1 or (R >= 64 and B <= 64):
        # Few wide slices: one GEMM each (no transposes: 6x faster than the transposed
        # product for 16 slices of 64 x 192).
        out = np.empty((B, Lo, R), np.float32)
        for b in range(B):
            _core.gemm(m, x3[b], out[b], trans_a=trans)
        return out
    # Many thin slices (e.g. the width axis of channels_last images): bring L to the front
    # so that a single (Lo, L) @ (L, B*R) product does the whole batch.
    xt = np.ascontiguousarray(x3.transpose(1, 0, 2)).reshape(L, B * R)
    out = np.empty((Lo, B * R), np.float32)
    _core.gemm(m, xt, out, trans_a=trans)
    return np.ascontiguousarray(out.reshape(Lo, B, R).transpose(1, 0, 2))


def _apply_separable(x, mh, mw, channels_first, trans=False):
    """``op(mh)`` along the height axis and ``op(mw)`` along the width axis of a 4-D batch
    (op = transpose when ``trans``, for the backward pass)."""
    ho = mh.shape[1] if trans else mh.shape[0]
    wo = mw.shape[1] if trans else mw.shape[0]
    if channels_first:
        n, c, h, w = x.shape
        # Width: a single (n*c*h, w) @ op(mw)^T product; then height per feature map.
        t = np.empty((n * c * h, wo), np.float32)
        _core.gemm(x.reshape(-1, w), mw, t, trans_b=not trans)
        return _along_middle(t.reshape(n * c, h, wo), mh, trans).reshape(n, c, ho, wo)
    n, h, w, c = x.shape
    t = _along_middle(x.reshape(n, h, w * c), mh, trans)
    return _along_middle(t.reshape(n * ho, w, c), mw, trans).reshape(n, ho, wo, c)


def _as_nhwc(x, channels_first):
    """The batch as a C-contiguous NHWC view for the bilinear kernel: channels_first
    ``(n, c, h, w)`` is ``(n * c, h, w, 1)`` without a copy."""
    x = np.ascontiguousarray(x)
    if channels_first:
        n, c, h, w = x.shape
        return x.reshape(n * c, h, w, 1)
    return x


class Resize2D(Function):
    """Separable resize of the spatial axes of a 4-D batch; linear in x, so the backward
    applies the adjoint. Bilinear runs the two-tap C++ kernel (O(1) work per output);
    the other interpolations apply dense per-axis matrices with the GEMM."""

    @staticmethod
    def forward(ctx, x, height, width, interpolation, channels_first):
        x = f32(x)
        if x.ndim != 4:
            raise ValueError(f"resize expects a 4-D batch of images, received shape {x.shape}")
        h, w = (x.shape[2], x.shape[3]) if channels_first else (x.shape[1], x.shape[2])
        if interpolation == "bilinear":
            ctx.params = (x.shape, channels_first, None, None)
            src = _as_nhwc(x, channels_first)
            out = np.empty((src.shape[0], height, width, src.shape[3]), np.float32)
            _core.resize_bilinear_forward(src, out)
            if channels_first:
                return out.reshape(x.shape[0], x.shape[1], height, width)
            return out
        mh = resize_matrix(height, h, interpolation)
        mw = resize_matrix(width, w, interpolation)
        ctx.params = (x.shape, channels_first, mh, mw)
        return _apply_separable(x, mh, mw, channels_first)

    @staticmethod
    def backward(ctx, g):
        shape, channels_first, mh, mw = ctx.params
        if mh is None:
            g = _as_nhwc(f32(g), channels_first)
            n, a, b, c = shape
            dx = np.empty((n * a, b, c, 1) if channels_first else shape, np.float32)
            _core.resize_bilinear_backward(g, dx)
            return dx.reshape(shape)
        return _apply_separable(f32(g), mh, mw, channels_first, trans=True)


def resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resizes a 4-D image batch to ``size = (height, width)`` like
    ``keras.ops.image.resize`` on the TensorFlow backend with ``antialias=False``
    (half-pixel centres; bicubic is Keys' a = -0.5 with taps outside the image dropped and
    the weights renormalized; lanczos3/5 as TF's ``scale_and_translate``). Differentiable.
    Bilinear runs a two-tap C++ kernel (O(1) work per output, both data formats); the other
    interpolations multiply by dense per-axis matrices.

    Args:
        x: ``(batch, h, w, c)`` (``channels_last``) or ``(batch, c, h, w)``.
        size: ``(height, width)`` of the result.
        interpolation: one of ``RESIZE_INTERPOLATIONS``.

    Example:
        >>> resize(np.ones((1, 3, 3, 2), "float32"), (6, 6)).shape
        (1, 6, 6, 2)
    """
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"Invalid interpolation {interpolation!r}; expected one of "
                         f"{RESIZE_INTERPOLATIONS}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Invalid data_format {data_format!r}")
    height, width = (int(s) for s in size)
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive, received {size}")
    shape = np.shape(x)
    if len(shape) == 4:
        b, c = shape[0], shape[1] if data_format == "channels_first" else shape[3]
        h, w = shape[2:4] if data_format == "channels_first" else shape[1:3]
        check_result_size("image.resize", (b, height, width, c), np.float32, size=size)
        check_result_size("image.resize", (max(height, width), max(h, w)), np.float32, size=size)
    return Resize2D.apply(x, height, width, interpolation, data_format == "channels_first")
