"""Audio spectrogram layers: ``STFTSpectrogram`` and ``MelSpectrogram`` (Keras 3).

``STFTSpectrogram`` is a strided 1-D convolution of each channel with Keras's windowed
cosine/sine kernels (its weights ``real_kernel``/``imag_kernel``, trainable as in Keras), so
it runs on nnfast's conv kernels and is differentiable. ``MelSpectrogram`` is a preprocessing
layer (no weights, no gradient): a centred STFT magnitude raised to ``mag_exp``, an HTK mel
filter bank and optionally decibels, as Keras computes it on the TensorFlow backend.
"""
import math

import numpy as np

from nnfast import ops
from nnfast.backend.tensor import Tensor
from nnfast.layers.layer import Layer
from nnfast.ops.conv import _standardize_data_format, conv_bias_activation, output_size
from nnfast.ops.spectral import angle, mel_filterbank, short_time_magnitude, stft_kernel

_EPSILON = 1e-7  # keras.config.epsilon()
_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """Short-time Fourier transform of each channel of ``(batch, time, channels)`` signals.

    Args:
        mode: ``"log"`` (log magnitude, default), ``"magnitude"``, ``"psd"`` (power, the
            one-sided bins doubled), ``"real"``, ``"imag"``, ``"angle"`` or ``"stft"``
            (real and imaginary parts side by side).
        frame_length: samples per frame (default 256).
        frame_step: the hop between frames (default ``frame_length // 2``).
        fft_length: DFT size (default the next power of two >= frame_length).
        window: a scipy window name (``"hann"``), an array, or None.
        periodic: use the periodic form of the window (scipy's ``fftbins``).
        scaling: ``"density"``, ``"spectrum"`` or None (no scaling).
        padding: ``"valid"`` or ``"same"`` (of the framing convolution).
        expand_dims: keep channels apart: ``(batch, frames, bins, channels)``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Output: ``(batch, frames, channels * bins)`` (channels_last).

    Example:
        >>> STFTSpectrogram(frame_length=64)(np.zeros((2, 400, 1), "float32")).shape
        (2, 11, 33)
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError("`frame_step` should be a positive integer not greater than "
                             f"`frame_length`. Received frame_step={frame_step}, "
                             f"frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError("`fft_length` should be not less than `frame_length`. Received "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        if mode not in _MODES:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(_MODES)}. "
                             f"Received: mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: "
                             f"padding={padding}")
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = _standardize_data_format(data_format)
        if isinstance(window, str):
            stft_kernel("real", 1, 2, window, scaling, periodic)  # an unknown name raises now

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if (side == "real" and self.mode == "imag") or (side == "imag"
                                                            and self.mode == "real"):
                continue
            kernel = stft_kernel(side, self.frame_length, shape[-1], self.window, self.scaling,
                                 self.periodic)
            setattr(self, side + "_kernel", self.add_weight(
                shape=shape, initializer=lambda s, dtype="float32", k=kernel: k.copy(),
                name=side + "_kernel"))
        self.built = True

    def _apply_conv(self, x, kernel):
        """x (batch, time, channels) -> (batch, channels, bins, frames)."""
        b, t, c = x.shape
        flat = ops.reshape(ops.transpose(x, (0, 2, 1)), (b * c, t, 1))
        out = conv_bias_activation(flat, kernel, None, self._frame_step, self.padding)
        frames, bins = out.shape[1], out.shape[2]
        return ops.reshape(ops.transpose(out, (0, 2, 1)), (b, c, bins, frames))

    def _adjust(self, out):
        b, c, bins, frames = out.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return ops.transpose(out, (0, 3, 2, 1))
            return ops.transpose(ops.reshape(out, (b, c * bins, frames)), (0, 2, 1))
        if self.expand_dims:
            return ops.transpose(out, (0, 1, 3, 2))
        return ops.reshape(out, (b, c * bins, frames))

    def call(self, inputs):
        x = inputs
        if len(x.shape) != 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim=3, found shape {tuple(x.shape)}")
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 2, 1))
        real = imag = None
        if self.mode != "imag":
            real = self._apply_conv(x, self.real_kernel)
        if self.mode != "real":
            imag = self._apply_conv(x, self.imag_kernel)
        if self.mode == "real":
            return self._adjust(real)
        if self.mode == "imag":
            return self._adjust(imag)
        if self.mode == "angle":
            return self._adjust(angle(real, imag))
        if self.mode == "stft":
            return self._adjust(ops.concatenate([real, imag], axis=2))
        power = ops.add(ops.square(real), ops.square(imag))
        if self.mode == "psd":
            inner = ops.get_item(power, (slice(None), slice(None), slice(1, -1)))
            return self._adjust(ops.add(power, ops.pad(inner, ((0, 0), (0, 0), (1, 1),
                                                               (0, 0)))))
        magnitude = self._adjust(ops.sqrt(ops.maximum(power, np.float32(_EPSILON))))
        if self.mode == "magnitude":
            return magnitude
        return ops.log(ops.maximum(magnitude, np.float32(_EPSILON)))

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        channels = input_shape[1] if first else input_shape[-1]
        steps = input_shape[2] if first else input_shape[1]
        bins = self._fft_length // 2 + 1
        if self.mode == "stft":
            bins *= 2
        frames = output_size(steps, self.frame_length, self._frame_step, 1, self.padding)
        if self.expand_dims:
            return ((input_shape[0], channels, frames, bins) if first
                    else (input_shape[0], frames, bins, channels))
        feats = None if channels is None else bins * channels
        return (input_shape[0], feats, frames) if first else (input_shape[0], frames, feats)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "frame_length": self.frame_length,
                       "frame_step": self.frame_step, "fft_length": self.fft_length,
                       "window": self.window, "periodic": self.periodic,
                       "scaling": self.scaling, "padding": self.padding,
                       "data_format": self.data_format, "expand_dims": self.expand_dims})
        return config


class MelSpectrogram(Layer):
    """Mel-scaled spectrogram of raw audio ``(batch, samples)`` or ``(samples,)``.

    Args:
        fft_length: FFT size of each frame (default 2048).
        sequence_stride: samples between frame starts (default 512).
        sequence_length: samples per frame (default ``fft_length``); frames come from the
            centred, reflect-padded signal.
        window: ``"hann"`` (default), ``"hamming"`` (periodic) or None.
        sampling_rate: samples per second of the audio (default 16000).
        num_mel_bins: mel bands of the HTK filter bank (default 128).
        min_freq: lowest band edge in Hz (default 20).
        max_freq: highest band edge in Hz (default ``sampling_rate / 2``).
        power_to_db: convert to decibels, ``10 log10(max(S, min_power) / max(ref,
            min_power))`` (default True).
        top_db: decibels below the maximum (over the whole batch, as Keras) at which the
            output is floored (default 80).
        mag_exp: exponent of the magnitude (default 2: power).
        min_power: floor of the power before the logarithm (default 1e-10).
        ref_power: reference power of 0 dB (default 1).

    Output: ``(batch, num_mel_bins, frames)``. Not differentiable (a preprocessing layer).

    Example:
        >>> MelSpectrogram(num_mel_bins=40)(np.zeros((2, 16000), "float32")).shape
        (2, 40, 32)
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError("`fft_length` must be greater than or equal to `sequence_length`."
                             f" Received: `sequence_length`={self.sequence_length}, "
                             f"`fft_length`={self.fft_length}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        x = np.asarray(inputs.value if isinstance(inputs, Tensor) else inputs, np.float32)
        spec = short_time_magnitude(x, self.sequence_length, self.sequence_stride,
                                    self.fft_length, self.window)
        spec = np.power(spec, np.float32(self.mag_exp))
        mel = np.tensordot(spec, mel_filterbank(self.num_mel_bins, spec.shape[-1],
                                                self.sampling_rate, self.min_freq,
                                                self.max_freq), axes=1).astype(np.float32)
        if self.power_to_db:
            f = np.float32
            log_spec = f(10.0) * np.log10(np.maximum(mel, f(self.min_power)))
            log_spec -= f(10.0) * np.log10(np.maximum(np.abs(f(self.ref_power)),
                                                      f(self.min_power)))
            mel = np.maximum(log_spec, np.max(log_spec) - f(self.top_db))
        return Tensor(np.ascontiguousarray(np.swapaxes(mel, -1, -2), np.float32))

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 1:
            frames = None if input_shape[0] is None else \
                (input_shape[0] + self.sequence_stride) // self.sequence_stride
            return (self.num_mel_bins, frames)
        frames = None if input_shape[-1] is None else \
            (input_shape[-1] + self.sequence_stride) // self.sequence_stride
        return tuple(input_shape[:-1]) + (self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                       "sequence_length": self.sequence_length, "window": self.window,
                       "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                       "min_freq": self.min_freq, "max_freq": self.max_freq,
                       "power_to_db": self.power_to_db, "top_db": self.top_db,
                       "mag_exp": self.mag_exp, "min_power": self.min_power,
                       "ref_power": self.ref_power})
        return config
