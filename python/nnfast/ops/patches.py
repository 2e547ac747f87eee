"""Sliding-window patches of channels_last batches (2-D images or 3-D volumes) as one strided
view copied once (no per-patch Python), and their adjoint (overlapping patches summed back),
which ``image.extract_patches``, ``nn.unfold`` and ``nn.fold`` are built on."""
import numpy as np

from nnfast import _core
from nnfast.backend.global_state import image_data_format
from nnfast.backend.tape import Function, _tape_stack
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value


def _float(x):
    a = np.asarray(value(x))
    if a.dtype.kind != "f" or a.dtype == np.float64:
        a = a.astype(np.float32)
    return np.ascontiguousarray(a)


def _window_view(xp, size, strides, dilation, out):
    """View ``(N, *out, *size, C)`` of padded ``xp`` ``(N, *spatial, C)``: element
    ``[n, o..., k..., c] = xp[n, o*stride + k*dilation, ..., c]``."""
    st = xp.strides
    spatial = st[1:-1]
    shape = (xp.shape[0],) + tuple(out) + tuple(size) + (xp.shape[-1],)
    strides = ((st[0],) + tuple(s * m for s, m in zip(spatial, strides))
               + tuple(s * d for s, d in zip(spatial, dilation)) + (st[-1],))
    return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)


class ExtractPatches(Function):
    """``(N, *spatial, C)`` -> ``(N, *out, prod(size) * C)``, patch elements ordered
    (window position..., channel) as ``tf.image.extract_patches``. ``pads`` holds the
    (before, after) zero padding of each spatial axis."""

    @staticmethod
    def forward(ctx, x, size=None, strides=None, dilation=None, pads=None, out=None):
        x = _float(x)
        if len(size) == 2 and x.dtype == np.float32:
            # The C++ copy: one run per patch row, zeros for padding (no padded copy).
            y = np.empty((x.shape[0],) + tuple(out) + (size[0] * size[1] * x.shape[-1],),
                         np.float32)
            _core.extract_patches_2d(x, size, strides, dilation, [b for b, _ in pads], y)
            if ctx.recording:
                xp_shape = (x.shape[0],) + tuple(
                    n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)) + (x.shape[-1],)
                ctx.params = (x.shape, xp_shape, size, strides, dilation, pads, out)
            return y
        xp = x
        if any(b or a for b, a in pads):
            xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
        view = _window_view(xp, size, strides, dilation, out)
        y = np.ascontiguousarray(view).reshape((x.shape[0],) + tuple(out) + (-1,))
        if ctx.recording:
            ctx.params = (x.shape, xp.shape, size, strides, dilation, pads, out)
        return y

    @staticmethod
    def backward(ctx, g):
        x_shape, xp_shape, size, strides, dilation, pads, out = ctx.params
        return _sum_patches(g, x_shape, xp_shape, size, strides, dilation, pads, out)


def _sum_patches(g, x_shape, xp_shape, size, strides, dilation, pads, out):
    """Adjoint of the extraction: adds every patch element back onto its source pixel
    (one vectorized strided add per window position)."""
    n, c = x_shape[0], x_shape[-1]
    g = np.asarray(g, dtype=np.float32).reshape((n,) + tuple(out) + tuple(size) + (c,))
    dxp = np.zeros(xp_shape, np.float32)
    nd = len(size)
    for pos in np.ndindex(*size):
        dst = tuple(slice(p * d, p * d + s * (o - 1) + 1, s)
                    for p, d, s, o in zip(pos, dilation, strides, out))
        dxp[(slice(None),) + dst] += g[(slice(None),) * (nd + 1) + pos]
    inner = tuple(slice(b, b + m) for (b, _), m in zip(pads, x_shape[1:-1]))
    return np.ascontiguousarray(dxp[(slice(None),) + inner])


class SumPatches(Function):
    """The adjoint of ``ExtractPatches`` as an op (``nn.fold``); its gradient extracts."""

    @staticmethod
    def forward(ctx, g, x_shape=None, xp_shape=None, size=None, strides=None, dilation=None,
                pads=None, out=None):
        ctx.params = (size, strides, dilation, pads, out)
        return _sum_patches(_float(g), x_shape, xp_shape, size, strides, dilation, pads, out)

    @staticmethod
    def backward(ctx, gx):
        size, strides, dilation, pads, out = ctx.params
        gx = _float(gx)
        if any(b or a for b, a in pads):
            gx = np.pad(gx, ((0, 0),) + tuple(pads) + ((0, 0),))
        view = _window_view(gx, size, strides, dilation, out)
        return np.ascontiguousarray(view).reshape(view.shape[:1 + len(out)] + (-1,))


def geometry(spatial, size, strides, dilation, padding):
    """Output lengths and (before, after) paddings of a sliding window, Keras/TF rules
    (``"same"``: ``ceil(n / stride)`` outputs, extra padding after)."""
    out, pads = [], []
    for n, k, s, d in zip(spatial, size, strides, dilation):
        span = d * (k - 1) + 1
        if padding == "same":
            o = -(-n // s)
            total = max((o - 1) * s + span - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            o = (n - span) // s + 1 if n >= span else 0
            pads.append((0, 0))
        out.append(o)
    return tuple(out), tuple(pads)


def extract_eager_square(images, size):
    """``extract_patches(images, size)`` (square non-overlapping patches, 'valid', the
    default channels_last) of a C-contiguous float32 batch when nothing records: straight to
    the kernel, as the general path's checks cost as much as a small extraction. None when
    the call is not that case (the caller takes the general path).

    Example:
        >>> extract_eager_square(np.zeros((2, 8, 8, 3), "float32"), 4).shape
        (2, 2, 2, 48)
    """
    x = images.value if type(images) is Tensor else images
    if (_tape_stack or type(x) is not np.ndarray or x.ndim != 4 or x.dtype != np.float32
            or not x.flags.c_contiguous or type(size) is not int or size < 1
            or image_data_format() != "channels_last"):
        return None
    n, h, w, c = x.shape
    if h < size or w < size:
        return None  # (the general path says why the output would be empty)
    y = np.empty((n, h // size, w // size, size * size * c), np.float32)
    _core.extract_patches_2d(x, [size, size], [size, size], [1, 1], [0, 0], y)
    return Tensor(y)


def extract(x, size, strides, dilation, padding):
    """Patches of channels_last ``x`` ``(N, *spatial, C)``; see ``ExtractPatches``."""
    shape = np.shape(value(x))
    out, pads = geometry(shape[1:-1], size, strides, dilation, padding)
    if min(out) <= 0:
        raise ValueError(f"extract_patches: patch size {tuple(size)} (dilation "
                         f"{tuple(dilation)}) is larger than the input {shape} with "
                         f"padding='valid'; the output would be empty")
    return ExtractPatches.apply(x, size=tuple(size), strides=tuple(strides),
                                dilation=tuple(dilation), pads=pads, out=out)
