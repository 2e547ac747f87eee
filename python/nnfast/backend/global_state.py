"""Process-wide state: layer name counters and the Keras config constants."""
import collections
import re

_name_counters = collections.defaultdict(int)


def to_snake_case(name):
    """'Conv2D' -> 'conv2d', 'BatchNormalization' -> 'batch_normalization' (Keras's rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def unique_name(base):
    """Returns ``base``, then ``base_1``, ``base_2``... as Keras names layers.

    Args:
        base: the name to make unique, e.g. ``"dense"``.
    """
    count = _name_counters[base]
    _name_counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def clear_session():
    """Resets layer-name counters (like ``keras.backend.clear_session``)."""
    _name_counters.clear()


_FLOATX = ["float32"]
_EPSILON = [1e-7]
_IMAGE_DATA_FORMAT = ["channels_last"]


def floatx():
    """The default float type: ``"float32"`` (default) or ``"float64"``.

    Example:
        >>> keras.config.floatx()
        'float32'
    """
    return _FLOATX[0]


def set_floatx(value):
    """Sets the default float type: ``"float32"`` or ``"float64"``.

    Under ``"float64"`` layers built afterwards keep float64 weights and compute in float64
    (NumPy float64 routes in ``nnfast.ops``; nnfast's C++ kernels are float32-only, so this
    is for precision, not speed), and ``fit``/``evaluate``/``predict`` feed float data as
    float64. A layer without a float64 route raises ``NotImplementedError`` naming it rather
    than computing in float32. ``"float16"``/``"bfloat16"`` weights are not supported (use the
    ``"mixed_bfloat16"`` dtype policy) and raise ``NotImplementedError``.

    Args:
        value: the name of the default float type, ``"float32"`` or ``"float64"``.

    Example:
        >>> nnfast.config.set_floatx("float64")
        >>> nnfast.config.floatx()
        'float64'
        >>> nnfast.config.set_floatx("float32")
    """
    accepted = {"bfloat16", "float16", "float32", "float64"}
    if value not in accepted:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {accepted}")
    if value not in ("float32", "float64"):
        raise NotImplementedError(
            f"set_floatx({value!r}): nnfast keeps float weights in float32 or float64; for "
            "16-bit computation use the 'mixed_bfloat16' or 'mixed_float16' dtype policy.")
    _FLOATX[0] = str(value)


def epsilon():
    """The fuzz factor of numeric expressions (losses' clipping, metrics): 1e-7 by default.

    Example:
        >>> keras.config.epsilon()
        1e-07
    """
    return _EPSILON[0]


def set_epsilon(value):
    """Sets the fuzz factor returned by ``epsilon()`` and used by losses and metrics.

    Args:
        value: the fuzz factor (a small float, 1e-7 by default).

    Example:
        >>> keras.config.set_epsilon(1e-5)
        >>> keras.config.epsilon()
        1e-05
        >>> keras.config.set_epsilon(1e-7)
    """
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"`epsilon` must be a non-negative float. Received: value={value}")
    _EPSILON[0] = value


def image_data_format():
    """``"channels_last"`` (default) or ``"channels_first"``: the layout image layers and
    loaders use when their ``data_format`` argument is None."""
    return _IMAGE_DATA_FORMAT[0]


def set_image_data_format(data_format):
    """Sets the value ``image_data_format()`` returns (for layers created afterwards).

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Example:
        >>> keras.config.set_image_data_format("channels_last")
        >>> keras.config.image_data_format()
        'channels_last'
    """
    df = str(data_format).lower()
    if df not in {"channels_first", "channels_last"}:
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    _IMAGE_DATA_FORMAT[0] = df
