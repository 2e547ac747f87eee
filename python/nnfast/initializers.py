"""Weight initializers with Keras's names, arguments and distributions.

Each initializer is called as ``init(shape, dtype="float32")`` and returns a NumPy array.
``seed=None`` draws from nnfast's global generator (``nnfast.utils.set_random_seed``).
"""
import math

import numpy as np

from nnfast.backend import random as nnrandom


def _fans(shape, input_axes=None, output_axes=None):
    """Keras's fan computation: dense (in, out); conv (..., in, out) scaled by receptive field.
    With both ``input_axes`` and ``output_axes`` given (Keras 3.15), the fans are the products
    of the shape's sizes along those axes (e.g. an EinsumDense kernel ``(in, heads, dim)``:
    ``input_axes=[0], output_axes=[1, 2]``); with only one of them, Keras ignores both."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        try:
            fan_in = int(np.prod([shape[a] for a in input_axes], dtype=np.int64))
            fan_out = int(np.prod([shape[a] for a in output_axes], dtype=np.int64))
        except IndexError:
            raise ValueError(f"`input_axes`/`output_axes` must be axes of the shape. Received: "
                             f"shape={shape}, input_axes={input_axes}, "
                             f"output_axes={output_axes}") from None
        return fan_in, fan_out
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype)`` and ``get_config``.

    Example:
        >>> class Twos(keras.initializers.Initializer):
        ...     def __call__(self, shape, dtype=None):
        ...         return np.full(shape, 2.0, dtype or "float32")
        >>> layer = keras.layers.Dense(2, kernel_initializer=Twos())
        >>> _ = layer(np.ones((1, 3), "float32"))
        >>> layer.kernel.numpy()
        array([[2., 2.],
               [2., 2.],
               [2., 2.]], dtype=float32)
    """

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _rng(self):
        seed = getattr(self, "seed", None)
        return nnrandom.generator() if seed is None else np.random.default_rng(seed)


class Zeros(Initializer):
    """Initializer of all-zero tensors (Keras's ``"zeros"``).

    Example:
        >>> keras.initializers.Zeros()(shape=(2, 2))
        array([[0., 0.],
               [0., 0.]], dtype=float32)
    """
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """Initializer of all-one tensors (Keras's ``"ones"``).

    Example:
        >>> keras.initializers.Ones()(shape=(1, 3))
        array([[1., 1., 1.]], dtype=float32)
    """
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Initializer of tensors filled with one value.

    Args:
        value: the fill value (a Python or NumPy scalar). Defaults to ``0.0``.

    Example:
        >>> keras.initializers.Constant(3.0)(shape=(2,))
        array([3., 3.], dtype=float32)
    """
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """Initializer of ``gain`` times the identity matrix (2-D shapes only; a
    non-square shape gets ones on the main diagonal).

    Args:
        gain: the factor multiplied into the identity. Defaults to ``1.0``.

    Raises:
        ValueError: for a shape that is not 2-D.

    Example:
        >>> keras.initializers.Identity(gain=2.0)(shape=(2, 2))
        array([[2., 0.],
               [0., 2.]], dtype=float32)
    """
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, received {shape}")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


class RandomUniform(Initializer):
    """Initializer drawing from the uniform distribution on
    ``[minval, maxval)``.

    Args:
        minval: lower bound (inclusive). Defaults to ``-0.05``.
        maxval: upper bound (exclusive). Defaults to ``0.05``.
        seed: an int (the same numbers on every call with that seed) or None (fresh
            numbers each call).

    Example:
        >>> w = keras.initializers.RandomUniform(-1.0, 1.0, seed=0)(shape=(3, 4))
        >>> w.shape, bool(((w >= -1) & (w < 1)).all())
        ((3, 4), True)
    """
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32"):
        return self._rng().uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Initializer drawing from the normal distribution with
    ``mean`` and ``stddev``.

    Args:
        mean: mean of the distribution. Defaults to ``0.0``.
        stddev: standard deviation. Defaults to ``0.05``.
        seed: an int (the same numbers on every call with that seed) or None (fresh
            numbers each call).

    Example:
        >>> w = keras.initializers.RandomNormal(stddev=0.01, seed=0)(shape=(64, 32))
        >>> w.shape
        (64, 32)
    """
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_normal(rng, shape, mean, stddev):
    """Normal samples redrawn until within two standard deviations (as TF/Keras)."""
    out = rng.normal(0.0, 1.0, size=shape)
    bad = np.abs(out) > 2.0
    while np.any(bad):
        out[bad] = rng.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


class TruncatedNormal(Initializer):
    """Initializer drawing from a normal distribution whose
    samples further than two standard deviations from the mean are redrawn (as Keras and
    TensorFlow truncate).

    Args:
        mean: mean of the distribution. Defaults to ``0.0``.
        stddev: standard deviation before truncation. Defaults to ``0.05``.
        seed: an int (the same numbers on every call with that seed) or None (fresh
            numbers each call).

    Example:
        >>> w = keras.initializers.TruncatedNormal(stddev=1.0, seed=0)(shape=(1000,))
        >>> bool((abs(w) <= 2.0).all())
        True
    """
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return _truncated_normal(self._rng(), shape, self.mean, self.stddev).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or fan_avg) as the variance of a truncated normal,
    untruncated normal or uniform distribution.

    Args:
        scale: positive scaling factor.
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "truncated_normal", "untruncated_normal" or "uniform".
        seed: integer seed (None: nnfast's global generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in
            (give it together with ``output_axes``; None: Keras's dense/conv rule).
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = VarianceScaling(2.0, "fan_in", seed=1, input_axes=[0],
        ...                     output_axes=[1, 2])((64, 8, 16))
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid mode {mode!r}: expected fan_in, fan_out or fan_avg")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"Invalid distribution {distribution!r}")
        self.scale, self.mode, self.seed = scale, mode, seed
        self.input_axes, self.output_axes = input_axes, output_axes
        self.distribution = "truncated_normal" if distribution == "normal" else distribution

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / 0.87962566103423978
            out = _truncated_normal(rng, shape, 0.0, stddev)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(scale), size=shape)
        else:
            limit = math.sqrt(3.0 * scale)
            out = rng.uniform(-limit, limit, size=shape)
        return np.asarray(out, dtype=dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(VarianceScaling):
    """Glorot (Xavier) uniform: VarianceScaling(1, fan_avg, uniform).

    Args: ``seed``; ``input_axes``/``output_axes`` as ``VarianceScaling``.

    Args:
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in (give it
            together with ``output_axes``); None: Keras's dense/conv rule.
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = GlorotUniform(seed=0)((3, 4))
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_avg", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotNormal(VarianceScaling):
    """Glorot (Xavier) normal: VarianceScaling(1, fan_avg, truncated_normal).

    Args: ``seed``; ``input_axes``/``output_axes`` as ``VarianceScaling``.

    Args:
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in (give it
            together with ``output_axes``); None: Keras's dense/conv rule.
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = GlorotNormal(seed=0)((3, 4))
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class HeUniform(VarianceScaling):
    """He uniform: VarianceScaling(2, fan_in, uniform).

    Args: ``seed``; ``input_axes``/``output_axes`` as ``VarianceScaling``.

    Args:
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in (give it
            together with ``output_axes``); None: Keras's dense/conv rule.
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = HeUniform(seed=0)((3, 4))
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(2.0, "fan_in", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class HeNormal(VarianceScaling):
    """He normal: VarianceScaling(2, fan_in, truncated_normal).

    Args: ``seed``; ``input_axes``/``output_axes`` as ``VarianceScaling``.

    Args:
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in (give it
            together with ``output_axes``); None: Keras's dense/conv rule.
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = HeNormal(seed=0)((3, 4))
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class LecunUniform(VarianceScaling):
    """LeCun uniform: VarianceScaling(1, fan_in, uniform).

    Args: ``seed``; ``input_axes``/``output_axes`` as ``VarianceScaling``.

    Args:
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in (give it
            together with ``output_axes``); None: Keras's dense/conv rule.
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = LecunUniform(seed=0)((3, 4))
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_in", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class LecunNormal(VarianceScaling):
    """LeCun normal: VarianceScaling(1, fan_in, truncated_normal).

    Args: ``seed``; ``input_axes``/``output_axes`` as ``VarianceScaling``.

    Args:
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).
        input_axes: list of axes of the weight shape whose sizes multiply to the fan-in (give it
            together with ``output_axes``); None: Keras's dense/conv rule.
        output_axes: list of axes whose sizes multiply to the fan-out (with ``input_axes``).

    Example:
        >>> w = LecunNormal(seed=0)((3, 4))
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class Orthogonal(Initializer):
    """QR of a normal matrix, q * sign(diag(r)), transposed when rows < cols (Keras).

    Args:
        gain: multiplies the orthogonal matrix. Defaults to ``1.0``.
        seed: an int (the same numbers on every call with that seed), a
            ``keras.random.SeedGenerator``, or None (fresh numbers from the global seed generator).

    Example:
        >>> w = keras.initializers.Orthogonal(seed=0)(shape=(4, 4))
        >>> bool(np.allclose(w @ w.T, np.eye(4), atol=1e-5))
        True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype="float32"):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs at least 2-D shape, received {shape}")
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        flat = (max(rows, cols), min(rows, cols))
        a = self._rng().normal(0.0, 1.0, size=flat)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class STFT(Initializer):
    """Kernel of a Conv1D computing one side of a short-time Fourier transform: shape
    ``(frame_length, 1, fft_bins)`` with ``fft_bins = F // 2 + 1``, entries
    ``cos(-2 pi t f / F)`` (``side="real"``) or ``sin(...)`` (``"imag"``), times a window
    (a ``scipy.signal.windows`` name, an array of ``frame_length`` values, or None),
    divided by its L2 norm (``scaling="density"``) or L1 norm (``"spectrum"``).

    Args:
        side: ``"real"`` or ``"imag"``: which part of the Fourier basis the kernel holds. Defaults
            to ``"real"``.
        window: the window multiplied into the basis: a name such as ``"hann"`` or ``"hamming"``,
            an array, or None (rectangular). Defaults to ``"hann"``.
        scaling: ``"density"`` (divide by the window's sum), ``"spectrum"`` (by the square root of
            its sum of squares) or None. Defaults to ``"density"``.
        periodic: use the periodic form of the window (for spectral analysis) instead of the
            symmetric one. Defaults to ``False``.

    Example:
        >>> STFT("real", "hann")((128, 1, 65)).shape
        (128, 1, 65)
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            _window(window, 1, periodic)  # an unknown window name fails here
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 3:
            raise ValueError("STFT initializer expects a shape (frame_length, 1, fft_bins). "
                             f"Received: shape={shape}")
        frame_length, _, bins = shape
        t = np.arange(frame_length, dtype=np.float64).reshape(frame_length, 1, 1)
        f = np.arange(bins, dtype=np.float64).reshape(1, 1, bins) / ((bins - 1) * 2)
        args = -2.0 * t * f * np.pi
        kernel = np.cos(args) if self.side == "real" else np.sin(args)
        if self.window is not None:
            win = self.window
            win = (_window(win, frame_length, self.periodic) if isinstance(win, str)
                   else np.asarray(win, np.float64))
            if win.ndim != 1 or win.shape[0] != frame_length:
                raise ValueError("The shape of `window` must be equal to [frame_length]."
                                 f"Received: window shape={win.shape}")
            win = win.reshape(frame_length, 1, 1)
            scale = 1.0
            if self.scaling == "density":
                scale = np.sqrt(np.sum(win * win))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
            kernel = kernel * win / scale
        return kernel.astype(dtype)

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "scaling": self.scaling,
                "periodic": self.periodic}


def _window(name, length, periodic):
    """scipy.signal.get_window(name, length, fftbins=periodic); the common cosine windows
    are computed here (no SciPy import), others come from SciPy."""
    cosine = {"hann": (0.5, 0.5), "hanning": (0.5, 0.5), "hamming": (0.54, 0.46)}
    if name in cosine or name in ("boxcar", "rectangular", "ones"):
        if length == 1:
            return np.ones(1)
        if name not in cosine:
            return np.ones(length)
        a0, a1 = cosine[name]
        m = length + 1 if periodic else length  # periodic: one more point, dropped
        n = np.arange(m)
        return (a0 - a1 * np.cos(2.0 * np.pi * n / (m - 1)))[:length]
    try:
        from scipy.signal import get_window
    except ImportError as e:  # scipy is optional for nnfast
        raise ImportError("STFT windows by name need scipy (pip install scipy).") from e
    return get_window(name, length, periodic)


# Keras's other public names for the same classes.
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT
constant, identity, ones, zeros, orthogonal, stft = (Constant, Identity, Ones, Zeros,
                                                     Orthogonal, STFT)
glorot_normal, glorot_uniform, he_normal, he_uniform = (GlorotNormal, GlorotUniform, HeNormal,
                                                        HeUniform)
lecun_normal, lecun_uniform, variance_scaling = LecunNormal, LecunUniform, VarianceScaling
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal

_ALIASES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "identity": Identity, "uniform": RandomUniform, "random_uniform": RandomUniform,
    "normal": RandomNormal, "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
    "stft": STFT,
}
_CLASSES = {cls.__name__: cls for cls in set(_ALIASES.values())}
_CLASSES.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
                 "STFTInitializer": STFT})


def get(identifier):
    """Resolves a name, class name, config dict, instance or callable to an initializer.

    Args:
        identifier: a name (``"glorot_uniform"``), a config dict, an initializer, or a callable
            ``(shape, dtype)``; None returns None.

    Example:
        >>> type(keras.initializers.get("he_normal")).__name__
        'HeNormal'
    """
    if identifier is None:
        return None
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer '{identifier}'. Expected one of {sorted(_ALIASES)}.")
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name")) or _ALIASES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Unknown initializer config: {identifier}")
        return cls.from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(initializer):
    """The config dict of an initializer, in Keras's format
    (``{"module", "class_name", "config", "registered_name"}``); ``deserialize`` reverses it.

    Args:
        initializer: an ``Initializer`` instance.

    Returns:
        A JSON-serializable dict.

    Example:
        >>> keras.initializers.serialize(keras.initializers.Constant(2.0))["config"]
        {'value': 2.0}
    """
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The initializer of a config dict written by ``serialize`` (or a name).

    Args:
        config: the dict ``serialize`` returned.
        custom_objects: a dict of name -> class for initializers of your own.

    Example:
        >>> config = keras.initializers.serialize(keras.initializers.Constant(0.5))
        >>> keras.initializers.deserialize(config).value
        0.5
    """
    if isinstance(config, dict) and custom_objects and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    return get(config)
