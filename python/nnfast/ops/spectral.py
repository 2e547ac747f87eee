"""Spectral helpers for the spectrogram layers: Keras's STFT kernels, its mel filter bank and
short-time Fourier transform, and a differentiable ``angle(real, imag)``.

``stft_kernel`` builds the (frame_length, 1, fft_length // 2 + 1) cosine/sine kernels that
``STFTSpectrogram`` convolves with (Keras's ``initializers.STFT``, computed in float32 as
Keras does). ``mel_filterbank`` and ``short_time_power`` follow ``MelSpectrogram`` on the
TensorFlow backend (``tf.signal.stft`` frames, periodic windows, reflect padding, HTK mel
scale with a zeroed DC row).
"""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import f32

_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _scipy_window(window, length, periodic):
    import scipy.signal

    return np.asarray(scipy.signal.get_window(window, length, periodic), np.float64)


def stft_kernel(side, frame_length, fft_bins, window="hann", scaling="density",
                periodic=False):
    """The ``"real"`` (cosine) or ``"imag"`` (sine) STFT kernel ``(frame_length, 1,
    fft_bins)``, windowed and scaled (``"density"``: / sqrt(sum w^2), ``"spectrum"``:
    / sum |w|, None: unscaled)."""
    f32t = np.float32
    freq = np.arange(fft_bins, dtype=f32t).reshape(1, 1, fft_bins) / f32t((fft_bins - 1) * 2)
    time = np.arange(frame_length, dtype=f32t).reshape(frame_length, 1, 1)
    args = (f32t(-2) * time) * freq * f32t(np.arccos(np.float32(-1)))
    kernel = (np.cos(args) if side == "real" else np.sin(args)).astype(f32t)
    if window is not None:
        win = (_scipy_window(window, frame_length, periodic) if isinstance(window, str)
               else np.asarray(window, np.float64))
        if win.ndim != 1 or win.shape[0] != frame_length:
            raise ValueError("The shape of `window` must be equal to [frame_length]. "
                             f"Received: window shape={win.shape}")
        win = win.astype(f32t).reshape(frame_length, 1, 1)
        scale = f32t(1)
        if scaling == "density":
            scale = np.sqrt(np.sum(np.square(win), dtype=f32t))
        elif scaling == "spectrum":
            scale = np.sum(np.abs(win), dtype=f32t)
        kernel = (kernel * win) / scale
    return np.ascontiguousarray(kernel, dtype=f32t)


def hertz_to_mel(hz):
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + np.asarray(hz) / _MEL_BREAK_FREQUENCY_HERTZ)


def mel_filterbank(num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz,
                   upper_edge_hertz):
    """``(num_spectrogram_bins, num_mel_bins)`` triangular HTK mel filters with peak 1 (the
    DC bin's row is zero), as ``keras.layers.MelSpectrogram.linear_to_mel_weight_matrix``."""
    f = np.float32
    linear = np.linspace(f(0), f(sampling_rate) / f(2), num_spectrogram_bins,
                         dtype=f)[1:]
    bins_mel = hertz_to_mel(linear).astype(f)[:, None]
    edges = np.linspace(hertz_to_mel(f(lower_edge_hertz)), hertz_to_mel(f(upper_edge_hertz)),
                        num_mel_bins + 2).astype(f)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(f(0), np.minimum(lower_slopes, upper_slopes))
    return np.pad(weights, ((1, 0), (0, 0))).astype(f)


def short_time_magnitude(x, sequence_length, sequence_stride, fft_length, window):
    """``|stft(x)|`` over the last axis: reflect-padded by fft_length // 2 on both sides,
    frames of fft_length (the window of sequence_length centred in it), periodic hann or
    hamming windows (or an array, or None), rfft of fft_length -> (..., frames, bins)."""
    x = np.asarray(x, np.float32)
    pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
    x = np.pad(x, pad, mode="reflect")
    l_pad = (fft_length - sequence_length) // 2
    r_pad = fft_length - sequence_length - l_pad
    win = None
    if window is not None:
        if isinstance(window, str):
            if window not in ("hann", "hamming"):
                raise ValueError('If a string is passed to `window`, it must be one of '
                                 f'`"hann"`, `"hamming"`. Received: window={window}')
            n = np.arange(sequence_length, dtype=np.float64)
            cos = np.cos(2.0 * np.pi * n / sequence_length)
            win = 0.5 - 0.5 * cos if window == "hann" else 0.54 - 0.46 * cos
        else:
            win = np.asarray(window, np.float64)
        win = np.pad(win, (l_pad, r_pad))
    frames = 1 + (x.shape[-1] - fft_length) // sequence_stride
    if frames <= 0:
        raise ValueError(f"The signal of {x.shape[-1]} padded samples is shorter than one "
                         f"frame of {fft_length}")
    idx = np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)[None]
    framed = x[..., idx].astype(np.float64)
    if win is not None:
        framed = framed * win
    return np.abs(np.fft.rfft(framed, n=fft_length, axis=-1)).astype(np.float32)


class Angle(Function):
    """``atan2(imag, real)`` with its gradient (``d/dr = -i / (r^2 + i^2)``,
    ``d/di = r / (r^2 + i^2)``; 0 at the origin)."""

    @staticmethod
    def forward(ctx, real, imag):
        real, imag = f32(real), f32(imag)
        if ctx.recording:
            ctx.save_for_backward(real, imag)
        return np.arctan2(imag, real).astype(np.float32)

    @staticmethod
    def backward(ctx, g):
        real, imag = ctx.saved
        denom = real * real + imag * imag
        safe = np.where(denom > 0, denom, 1.0)
        g = f32(g) * (denom > 0)
        return (-imag * g / safe).astype(np.float32), (real * g / safe).astype(np.float32)


def angle(real, imag):
    """The phase ``atan2(imag, real)`` elementwise, differentiable."""
    return Angle.apply(real, imag)
