"""Weight constraints, applied to a variable after each optimizer update."""
import numpy as np


class Constraint:
    """Base class: ``__call__(w)`` returns the projected array.

    Example:
        >>> class Clip(keras.constraints.Constraint):
        ...     def __call__(self, w):
        ...         return keras.ops.clip(w, -0.1, 0.1)
        >>> layer = keras.layers.Dense(2, kernel_constraint=Clip())
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class NonNeg(Constraint):
    """Keeps weights non-negative: negative entries are set to 0 after each update.

    Example:
        >>> np.asarray(NonNeg()(np.array([-1.0, 2.0], "float32")))
        array([0., 2.], dtype=float32)
        >>> layer = keras.layers.Dense(4, kernel_constraint=NonNeg())
    """

    def __call__(self, w):
        return np.maximum(w, 0.0)


class MaxNorm(Constraint):
    """Caps the L2 norm of each weight vector: vectors longer than ``max_value`` are scaled
    down to it, shorter ones are kept (``w * clip(n, 0, max_value) / (n + 1e-7)``).

    Args:
        max_value: the largest norm allowed (default 2).
        axis: the axis (or axes) the norm is taken over (default 0: for a ``Dense`` kernel
            ``(in, out)``, the incoming weights of each unit; use ``[0, 1, 2]`` for a
            ``Conv2D`` kernel).

    Example:
        >>> MaxNorm(1.0)(np.array([[3.0], [4.0]]))  # norm 5 -> 1: [[0.6], [0.8]]
        array([[0.59999999],
               [0.79999998]])
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Scales each weight vector to unit L2 norm (``w / (n + 1e-7)``).

    Args:
        axis: the axis (or axes) the norm is taken over (default 0).

    Example:
        >>> UnitNorm()(np.array([[3.0], [4.0]]))  # [[0.6], [0.8]]
        array([[0.59999999],
               [0.79999998]])
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (1e-7 + np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True)))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keeps the L2 norm of each weight vector within ``[min_value, max_value]``, moving it
    ``rate`` of the way there at each update
    (``n' = rate * clip(n, min_value, max_value) + (1 - rate) * n``).

    Args:
        min_value: the smallest norm allowed (default 0.0).
        max_value: the largest norm allowed (default 1.0).
        rate: how far each update moves the norm into the range, in [0, 1] (default 1.0:
            all the way).
        axis: the axis (or axes) the norm is taken over (default 0).

    Example:
        >>> MinMaxNorm(0.5, 1.0)(np.array([[3.0], [4.0]]))  # [[0.6], [0.8]]
        array([[0.59999999],
               [0.79999998]])
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = np.sqrt(np.sum(np.square(w), axis=self.axis, keepdims=True))
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


non_neg, max_norm, unit_norm, min_max_norm = NonNeg, MaxNorm, UnitNorm, MinMaxNorm
_BY_NAME = {"non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm,
            "min_max_norm": MinMaxNorm, "NonNeg": NonNeg, "MaxNorm": MaxNorm,
            "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}


def get(identifier):
    """Resolves a constraint identifier.

    Args:
        identifier: None, a ``Constraint`` or callable (returned as is), a name
            (``"max_norm"``, ``"NonNeg"``, ...) or a config dict.

    Returns:
        The constraint, or None.

    Raises:
        ValueError: for an unknown name or an identifier of another type.

    Example:
        >>> type(keras.constraints.get("non_neg")).__name__
        'NonNeg'
    """
    if identifier is None or isinstance(identifier, Constraint) or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown constraint '{identifier}'.")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")


def serialize(constraint):
    """The Keras config dict of a constraint (None for None).

    Args:
        constraint: a ``Constraint`` instance or None.

    Returns:
        ``{"module", "class_name", "config", "registered_name"}``, or None.

    Example:
        >>> keras.constraints.serialize(keras.constraints.MaxNorm(2.0))["class_name"]
        'MaxNorm'
    """
    if constraint is None:
        return None
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The constraint of a config written by ``serialize`` (or a name); ``custom_objects``
    maps class names to user classes.

    Args:
        config: a dict as ``serialize`` writes it, a name, or None.
        custom_objects: optional dict mapping class names to user classes.

    Returns:
        The constraint instance, or None.

    Example:
        >>> config = keras.constraints.serialize(keras.constraints.MaxNorm(2.0))
        >>> keras.constraints.deserialize(config).max_value
        2.0
    """
    if config is None:
        return None
    if isinstance(config, dict) and custom_objects and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    if isinstance(config, dict) and config.get("class_name") not in _BY_NAME:
        raise ValueError(f"Unknown constraint: '{config.get('class_name')}'. Expected one of "
                         f"{sorted(_BY_NAME)}.")
    return get(config)
