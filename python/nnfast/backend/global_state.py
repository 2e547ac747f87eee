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
    """Returns ``base``, then ``base_1``, ``base_2``... as Keras names layers."""
    count = _name_counters[base]
    _name_counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def clear_session():
    """Resets layer-name counters (like ``keras.backend.clear_session``)."""
    _name_counters.clear()


def floatx():
    return "float32"


def epsilon():
    return 1e-7


def image_data_format():
    return "channels_last"
