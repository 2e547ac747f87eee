"""Fourier transforms and framing (``keras.ops`` names), with gradients.

As in Keras, a complex tensor is passed and returned as a pair ``(real, imag)`` of real
tensors of the same shape. Every op here is differentiable: the FFTs are linear, and their
gradients are the adjoint transforms.
"""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import value
from nnfast.ops.array import get_item
from nnfast.ops.math import multiply


def _real_dtype(a):
    return np.float64 if a.dtype == np.float64 else np.float32


def _complex_pair(x, name="x"):
    """Checks that ``x`` is (real, imag) of equal shapes and float dtype."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError("Input `x` should be a tuple of two tensors - real and imaginary. "
                         f"Received: {name}={x!r}")
    real, imag = x
    rs, is_ = np.shape(value(real)), np.shape(value(imag))
    if rs != is_:
        raise ValueError("Input `x` should be a tuple of two tensors - real and imaginary. Both "
                         "the real and imaginary parts should have the same shape. Received: "
                         f"x[0].shape = {rs}, x[1].shape = {is_}")
    for part in (real, imag):
        if not np.issubdtype(np.asarray(value(part)).dtype, np.floating):
            raise ValueError("At least one tensor in input `x` is not of type float. "
                             f"Received: {name} dtypes=({np.asarray(value(real)).dtype}, "
                             f"{np.asarray(value(imag)).dtype})")
    return real, imag


def _complex(re, im):
    return re + 1j * im.astype(re.dtype)


class _FFT(Function):
    """Complex FFT (or inverse) over the last ``ndims`` axes of (real, imag)."""

    @staticmethod
    def forward(ctx, re, im, ndims=1, inverse=False):
        re, im = value(re), value(im)
        dt = _real_dtype(re)
        axes = tuple(range(-ndims, 0))
        c = _complex(re, im)
        out = np.fft.ifftn(c, axes=axes) if inverse else np.fft.fftn(c, axes=axes)
        ctx.axes, ctx.inverse, ctx.dtype = axes, inverse, dt
        ctx.n = int(np.prod([re.shape[a] for a in axes]))
        return out.real.astype(dt), out.imag.astype(dt)

    @staticmethod
    def backward(ctx, g_re, g_im):
        g = (0 if g_re is None else g_re) + 1j * (0 if g_im is None else g_im)
        # The adjoint of F is n * F^-1, and that of F^-1 is F / n.
        if ctx.inverse:
            gx = np.fft.fftn(g, axes=ctx.axes) / ctx.n
        else:
            gx = np.fft.ifftn(g, axes=ctx.axes) * ctx.n
        return gx.real.astype(ctx.dtype), gx.imag.astype(ctx.dtype)


def fft(x):
    """Complex FFT along the last axis.

    Args:
        x: ``(real, imag)`` pair of float tensors of the same shape.

    Returns:
        ``(real, imag)`` of the transform, same shape and dtype.

    Example:
        >>> fft((np.ones(4, "float32"), np.zeros(4, "float32")))   # ([4, 0, 0, 0], [0, 0, 0, 0])
        (<Tensor shape=(4,) dtype=float32
        array([4., 0., 0., 0.], dtype=float32)>, <Tensor shape=(4,) dtype=float32
        array([0., 0., 0., 0.], dtype=float32)>)
    """
    re, im = _complex_pair(x)
    return _FFT.apply(re, im, ndims=1)


def fft2(x):
    """Complex 2-D FFT over the last two axes of ``(real, imag)``.

    Args:
        x: a pair ``(real, imag)`` of float tensors of the same shape; the transform runs over the
            last two axes.

    Example:
        >>> re, im = fft2((np.ones((2, 2), "float32"), np.zeros((2, 2), "float32")))
    """
    re, im = _complex_pair(x)
    _check_rank(re, 2, "fft2")
    return _FFT.apply(re, im, ndims=2)


def ifft2(x):
    """Inverse complex 2-D FFT over the last two axes of ``(real, imag)``.

    Args:
        x: a pair ``(real, imag)`` of float tensors of the same shape; the inverse transform runs
            over the last two axes.

    Example:
        >>> a = np.arange(6, dtype="float32").reshape(2, 3)
        >>> b = np.ones((2, 3), "float32")
        >>> re, im = ifft2(fft2((a, b)))  # (a, b) again
        >>> bool(np.allclose(re, a, atol=1e-5) and np.allclose(im, b, atol=1e-5))
        True
    """
    re, im = _complex_pair(x)
    _check_rank(re, 2, "ifft2")
    return _FFT.apply(re, im, ndims=2, inverse=True)


def _check_rank(x, rank, name):
    if np.ndim(value(x)) < rank:
        raise ValueError(f"{name}: expected inputs of rank >= {rank}. "
                         f"Received: shape={np.shape(value(x))}")


class _RFFT(Function):
    @staticmethod
    def forward(ctx, x, n=None):
        x = value(x)
        dt = _real_dtype(x)
        out = np.fft.rfft(x, n=n, axis=-1)
        ctx.n, ctx.length, ctx.dtype = n, x.shape[-1], dt
        return out.real.astype(dt), out.imag.astype(dt)

    @staticmethod
    def backward(ctx, g_re, g_im):
        g = (0 if g_re is None else g_re) + 1j * (0 if g_im is None else g_im)
        n, length = ctx.n, ctx.length
        full = np.zeros(np.shape(g)[:-1] + (n,), dtype=np.complex128)
        full[..., :np.shape(g)[-1]] = g
        gx = (np.fft.ifft(full, axis=-1) * n).real
        if length <= n:  # the input was zero-padded to n: its gradient is the first part
            gx = gx[..., :length]
        else:  # the input was cut to n: the cut part has no gradient
            gx = np.concatenate([gx, np.zeros(gx.shape[:-1] + (length - n,))], axis=-1)
        return np.ascontiguousarray(gx.astype(ctx.dtype))


def rfft(x, fft_length=None):
    """FFT of a real signal along the last axis, the ``fft_length // 2 + 1``
    non-negative frequencies.

    Args:
        x: real float tensor.
        fft_length: transform length (the signal is cut or zero-padded); default its length.

    Returns:
        ``(real, imag)`` of shape ``x.shape[:-1] + (fft_length // 2 + 1,)``.

    Example:
        >>> re, im = rfft(np.ones((3, 8), "float32"), 6)   # shapes (3, 4)
    """
    a = np.asarray(value(x))
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"rfft: expected a float tensor. Received: x.dtype={a.dtype}")
    _check_rank(a, 1, "rfft")
    n = a.shape[-1] if fft_length is None else int(fft_length)
    return _RFFT.apply(x, n=n)


class _IRFFT(Function):
    @staticmethod
    def forward(ctx, re, im, n=None):
        re, im = value(re), value(im)
        dt = _real_dtype(re)
        ctx.n, ctx.m, ctx.dtype = n, re.shape[-1], dt
        return np.fft.irfft(_complex(re, im), n=n, axis=-1).astype(dt)

    @staticmethod
    def backward(ctx, g):
        n, m = ctx.n, ctx.m
        bins = n // 2 + 1
        spectrum = np.fft.rfft(g, n=n, axis=-1)
        weight = np.full(bins, 2.0)
        weight[0] = 1.0
        if n % 2 == 0:
            weight[-1] = 1.0
        gz = spectrum * weight / n
        if m > bins:  # bins past n // 2 are ignored by irfft
            gz = np.concatenate([gz, np.zeros(gz.shape[:-1] + (m - bins,))], axis=-1)
        else:
            gz = gz[..., :m]
        return gz.real.astype(ctx.dtype), gz.imag.astype(ctx.dtype)


def irfft(x, fft_length=None):
    """Inverse of ``rfft``: a real signal of length ``fft_length`` (default
    ``2 * (bins - 1)``) from its non-negative frequencies ``(real, imag)``.

    Args:
        x: a pair ``(real, imag)`` of float tensors holding the ``fft_length // 2 + 1``
            non-negative frequencies along the last axis.
        fft_length: length of the output signal; None: ``2 * (n - 1)`` for ``n`` input frequencies.

    Example:
        >>> irfft(rfft(np.arange(8.0, dtype="float32")))   # [0, 1, ..., 7]
        <Tensor shape=(8,) dtype=float32
        array([0., 1., 2., 3., 4., 5., 6., 7.], dtype=float32)>
    """
    re, im = _complex_pair(x)
    _check_rank(re, 1, "irfft")
    m = np.shape(value(re))[-1]
    n = 2 * (m - 1) if fft_length is None else int(fft_length)
    if n <= 0:
        raise ValueError(f"irfft: the output length must be positive. Received: fft_length="
                         f"{fft_length} with {m} frequency bins")
    return _IRFFT.apply(re, im, n=n)


# --- framing ------------------------------------------------------------------------------


class _Frames(Function):
    """(..., L) -> (..., num_frames, frame_length) frames starting every ``stride``."""

    @staticmethod
    def forward(ctx, x, frame_length=1, stride=1):
        x = value(x)
        num = (x.shape[-1] - frame_length) // stride + 1
        ctx.length, ctx.frame_length, ctx.stride, ctx.num = x.shape[-1], frame_length, stride, num
        return np.ascontiguousarray(_frame_view(x, frame_length, stride, num))

    @staticmethod
    def backward(ctx, g):
        return _overlap_add(g, ctx.stride, ctx.length)


def _frame_view(x, frame_length, stride, num):
    """(..., num, frame_length) read-only strided view of frames of x (no copy; copying it
    once is 3-4x faster than gathering with an index array)."""
    step = x.strides[-1]
    return np.lib.stride_tricks.as_strided(
        x, x.shape[:-1] + (num, frame_length), x.strides[:-1] + (stride * step, step),
        writeable=False)


class _WindowedFrames(Function):
    """Frames times a window in one pass over the signal (stft's framing and windowing)."""

    @staticmethod
    def forward(ctx, x, window=None, frame_length=1, stride=1):
        x = value(x)
        num = (x.shape[-1] - frame_length) // stride + 1
        ctx.length, ctx.stride, ctx.window = x.shape[-1], stride, window
        out = np.empty(x.shape[:-1] + (num, frame_length), np.result_type(x, window))
        return np.multiply(_frame_view(x, frame_length, stride, num), window, out=out)

    @staticmethod
    def backward(ctx, g):
        return _overlap_add(g * ctx.window, ctx.stride, ctx.length)


def _overlap_add(frames, stride, length):
    """Sums (..., num_frames, frame_length) frames placed every ``stride`` into length."""
    num, frame_length = frames.shape[-2], frames.shape[-1]
    out = np.zeros(frames.shape[:-2] + (length,), dtype=frames.dtype)
    # One strided add per position inside a frame: no index repeats within one add.
    for j in range(frame_length):
        out[..., j:j + stride * num:stride] += frames[..., :, j]
    return out


class _OverlapAdd(Function):
    @staticmethod
    def forward(ctx, frames, stride=1):
        frames = value(frames)
        num, frame_length = frames.shape[-2], frames.shape[-1]
        ctx.stride, ctx.frame_length = stride, frame_length
        return _overlap_add(frames, stride, frame_length + stride * (num - 1))

    @staticmethod
    def backward(ctx, g):
        num = (g.shape[-1] - ctx.frame_length) // ctx.stride + 1
        starts = np.arange(num) * ctx.stride
        return np.ascontiguousarray(g[..., starts[:, None] + np.arange(ctx.frame_length)])


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` samples taken every ``sequence_stride`` samples along
    the last axis (frames that would run past the end are dropped).

    Args:
        x: tensor of shape ``(..., length)``.
        sequence_length: length of each extracted frame.
        sequence_stride: step between the starts of consecutive frames.

    Returns:
        Shape ``x.shape[:-1] + ((L - sequence_length) // sequence_stride + 1,
        sequence_length)``.

    Example:
        >>> extract_sequences(np.arange(10.0), 4, 3)   # [[0..3], [3..6], [6..9]]
        <Tensor shape=(3, 4) dtype=float32
        array([[0., 1., 2., 3.],
               [3., 4., 5., 6.],
               [6., 7., 8., 9.]], dtype=float32)>
    """
    sequence_length, sequence_stride = int(sequence_length), int(sequence_stride)
    shape_ = np.shape(value(x))
    if len(shape_) < 1 or sequence_length < 1 or sequence_stride < 1 \
            or sequence_length > shape_[-1]:
        raise ValueError("extract_sequences: expected positive sequence_length <= x.shape[-1] "
                         f"and a positive sequence_stride. Received: x.shape={shape_}, "
                         f"sequence_length={sequence_length}, sequence_stride={sequence_stride}")
    return _Frames.apply(x, frame_length=sequence_length, stride=sequence_stride)


class _ReflectPad(Function):
    """Reflect padding of the last axis (edge not repeated), gradient folded back."""

    @staticmethod
    def forward(ctx, x, pad=0):
        x = value(x)
        ctx.pad, ctx.length = pad, x.shape[-1]
        widths = [(0, 0)] * (x.ndim - 1) + [(pad, pad)]
        return np.pad(x, widths, mode="reflect")

    @staticmethod
    def backward(ctx, g):
        p, n = ctx.pad, ctx.length
        gx = g[..., p:p + n].copy()
        if p:
            gx[..., 1:p + 1] += g[..., :p][..., ::-1]
            gx[..., n - 1 - p:n - 1] += g[..., p + n:][..., ::-1]
        return gx


def _window(window, sequence_length, fft_length, dtype):
    """The analysis window, zero-padded (centred) to ``fft_length``; None for no window."""
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError('If a string is passed to `window`, it must be one of "hann", '
                             f'"hamming". Received: window={window}')
        phase = 2.0 * np.pi * np.arange(sequence_length) / sequence_length  # periodic
        w = 0.5 - 0.5 * np.cos(phase) if window == "hann" else 0.54 - 0.46 * np.cos(phase)
    else:
        w = np.asarray(value(window), dtype=np.float64)
        if w.shape != (sequence_length,):
            raise ValueError("The shape of `window` must be equal to [sequence_length]. "
                             f"Received: window shape={w.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(w, (left, fft_length - sequence_length - left)).astype(dtype)


def _check_frame_args(sequence_length, sequence_stride, fft_length):
    if sequence_length < 1 or sequence_stride < 1:
        raise ValueError("`sequence_length` and `sequence_stride` must be positive. Received: "
                         f"sequence_length={sequence_length}, sequence_stride={sequence_stride}")
    if fft_length < sequence_length:
        raise ValueError("`fft_length` must equal or larger than `sequence_length`. Received: "
                         f"sequence_length={sequence_length}, fft_length={fft_length}")


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis.

    Frames of ``fft_length`` samples every ``sequence_stride`` (the ``sequence_length``
    window centred in them, zeros around it) are windowed and ``rfft``-ed.

    Args:
        x: float32/float64 signal ``(..., L)``.
        sequence_length: window length.
        sequence_stride: hop between frames.
        fft_length: FFT size (>= sequence_length).
        window: ``"hann"``, ``"hamming"`` (periodic), a 1-D array of ``sequence_length``,
            or None (no window).
        center: reflect-pad ``fft_length // 2`` samples on both sides first.

    Returns:
        ``(real, imag)`` of shape ``(..., num_frames, fft_length // 2 + 1)``.

    Example:
        >>> re, im = stft(np.zeros((2, 20), "float32"), 8, 4, 10)   # shapes (2, 6, 6)
    """
    a = np.asarray(value(x))
    if a.dtype not in (np.float32, np.float64):
        raise TypeError("Invalid input type. Expected `float32` or `float64`. "
                        f"Received: input type={a.dtype}")
    sequence_length, sequence_stride, fft_length = (int(sequence_length), int(sequence_stride),
                                                    int(fft_length))
    _check_frame_args(sequence_length, sequence_stride, fft_length)
    win = _window(window, sequence_length, fft_length, a.dtype)
    if center:
        pad = fft_length // 2
        if pad >= a.shape[-1]:
            raise ValueError(f"stft: with center=True the signal must be longer than "
                             f"fft_length // 2 = {pad}. Received: x.shape={a.shape}")
        x = _ReflectPad.apply(x, pad=pad)
    if np.shape(value(x))[-1] < fft_length:
        raise ValueError(f"stft: the signal is shorter than fft_length={fft_length}. "
                         f"Received: x.shape={a.shape}")
    if win is not None:
        frames = _WindowedFrames.apply(x, window=win, frame_length=fft_length,
                                       stride=sequence_stride)
    else:
        frames = _Frames.apply(x, frame_length=fft_length, stride=sequence_stride)
    return _RFFT.apply(frames, n=fft_length)


def _inverse_window(win, stride):
    """TensorFlow's ``inverse_stft_window_fn``: the window divided by the sum of the squared
    windows that overlap each position (periodic in ``stride``)."""
    frame_length = win.shape[0]
    squared = np.square(win.astype(np.float64))
    padded = np.pad(squared, (0, -frame_length % stride))
    denom = padded.reshape(-1, stride).sum(axis=0)
    denom = np.tile(denom, -(-frame_length // stride))[:frame_length]
    return (win / denom).astype(win.dtype)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of ``stft``: frames from ``irfft`` are multiplied by the synthesis window
    (the analysis window over the sum of overlapping squared windows, as TensorFlow's
    ``inverse_stft_window_fn``; no window when ``window`` is None) and overlap-added.

    Args:
        x: ``(real, imag)`` of shape ``(..., num_frames, fft_length // 2 + 1)``.
        sequence_length: the frame length given to ``stft``.
        sequence_stride: the hop given to ``stft``.
        fft_length: the FFT size given to ``stft``.
        window: the window given to ``stft``.
        length: output length (default: everything, minus the centre padding).
        center: drop the ``fft_length // 2`` samples ``stft`` padded at the start (and,
            without ``length``, at the end).

    Returns:
        The signal ``(..., L)``.

    Example:
        >>> x = np.sin(np.arange(64, dtype="float32") / 3)
        >>> y = np.asarray(istft(stft(x, 8, 4, 16), 8, 4, 16))  # x again, away from its edges
        >>> y.shape, bool(np.allclose(y[8:56], x[8:56], atol=1e-5))
        ((64,), True)
    """
    re, im = _complex_pair(x)
    dt = _real_dtype(np.asarray(value(re)))
    sequence_length, sequence_stride, fft_length = (int(sequence_length), int(sequence_stride),
                                                    int(fft_length))
    _check_frame_args(sequence_length, sequence_stride, fft_length)
    _check_rank(re, 2, "istft")
    num = np.shape(value(re))[-2]
    frames = _IRFFT.apply(re, im, n=fft_length)
    win = _window(window, sequence_length, fft_length, dt)
    if win is not None:
        frames = multiply(frames, _inverse_window(win, sequence_stride))
    signal = _OverlapAdd.apply(frames, stride=sequence_stride)
    total = fft_length + sequence_stride * (num - 1)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    key = (Ellipsis, slice(start, end))
    return get_item(signal, key)


__all__ = ["extract_sequences", "fft", "fft2", "ifft2", "irfft", "istft", "rfft", "stft"]
