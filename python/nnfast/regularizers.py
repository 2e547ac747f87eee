"""Regularizers: penalties added to the training loss (Keras 3 formulas: no 1/2 factor).

A regularizer is called on a weight (``kernel_regularizer``, ``bias_regularizer``, ...) or
on a layer's outputs (``activity_regularizer``, added as is, not divided by the batch size
as tf.keras 2 did) and returns a scalar tensor; ``model.losses`` collects them and the
trainer adds them to every batch's loss. They are written with ``nnfast.ops`` so their
gradients come from the tape.

Example:
    >>> layers.Dense(64, kernel_regularizer=regularizers.l2(1e-4),
    ...              activity_regularizer="l1")
"""
import math

import numpy as np

from nnfast import ops
from nnfast.backend.tensor import Tensor as _Tensor


def _check_factor(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise ValueError(f"Invalid value for argument {name}: expected a float. "
                         f"Received: {name}={value}")
    if math.isinf(value) or math.isnan(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative finite "
                         f"float. Received: {name}={value}")
    return float(value)


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty tensor.

    Example:
        >>> class L1Sum(keras.regularizers.Regularizer):
        ...     def __call__(self, x):
        ...         return 0.01 * keras.ops.sum(keras.ops.abs(x))
        >>> layer = keras.layers.Dense(2, kernel_regularizer=L1Sum())
        >>> _ = layer(np.ones((1, 3), "float32"))
        >>> len(layer.losses)
        1
    """

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)``; both default to 0 (Keras 3 class defaults).

    Args:
        l1: the L1 factor, a non-negative finite float (default 0.0).
        l2: the L2 factor, a non-negative finite float (default 0.0).

    Raises:
        ValueError: when a factor is negative, infinite, NaN or not a number.

    Example:
        >>> round(float(L1L2(l1=0.1, l2=0.01)(np.array([[1.0, -2.0]], "float32"))), 6)
        0.35
        >>> layer = keras.layers.Dense(8, kernel_regularizer=L1L2(l1=1e-5, l2=1e-4))
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _check_factor(l1, "l1"), _check_factor(l2, "l2")

    def __call__(self, x):
        terms = []
        if self.l1:
            terms.append(ops.multiply(self.l1, ops.sum(ops.abs(x))))
        if self.l2:
            terms.append(ops.multiply(self.l2, ops.sum(ops.square(x))))
        if not terms:
            return _Tensor(np.zeros((), np.float32))
        return terms[0] if len(terms) == 1 else ops.add(terms[0], terms[1])

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``: pushes weights to exactly 0 (sparse weights).

    Args:
        l1: the factor, a non-negative finite float (default 0.01).

    Example:
        >>> round(float(L1(0.1)(np.array([1.0, -2.0]))), 6)  # 0.1 * 3
        0.3
    """

    def __init__(self, l1=0.01):
        self.l1 = _check_factor(l1, "l1")

    def __call__(self, x):
        return ops.multiply(self.l1, ops.sum(ops.abs(x)))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x^2)`` (weight decay through the loss; no 1/2 factor, as Keras 3).

    Args:
        l2: the factor, a non-negative finite float (default 0.01).

    Example:
        >>> round(float(L2(0.01)(np.array([[1.0, -2.0]], "float32"))), 6)
        0.05
        >>> layer = keras.layers.Dense(8, kernel_regularizer=L2(1e-4))
    """

    def __init__(self, l2=0.01):
        self.l2 = _check_factor(l2, "l2")

    def __call__(self, x):
        return ops.multiply(self.l2, ops.sum(ops.square(x)))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalty that pushes the rows or columns of a 2-D weight towards orthogonality.

    Encourages the rows (``mode="rows"``) or columns of a 2-D weight to be orthogonal:
    ``factor * 0.5 * sum(|N N^T - diag|) / (n (n - 1) / 2)`` with ``N`` the L2-normalized
    rows (or columns) and ``n`` their number.

    Args:
        factor: the penalty's scale, a non-negative finite float (default 0.01).
        mode: ``"rows"`` (default) or ``"columns"``: which vectors are compared.

    Raises:
        ValueError: for another ``mode``, a bad factor, or (when called) a weight whose rank
            is not 2.

    Example:
        >>> float(OrthogonalRegularizer(0.01)(np.eye(3, dtype="float32")))  # orthonormal rows
        0.0
        >>> layer = keras.layers.Dense(16, kernel_regularizer=OrthogonalRegularizer(0.01))
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _check_factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError("Invalid value for argument `mode`. Expected one of "
                             f"{{'rows', 'columns'}}. Received: mode={mode}")
        self.mode = mode

    def __call__(self, inputs):
        shape = np.shape(inputs.value if hasattr(inputs, "value") else inputs)
        if len(shape) != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={shape}")
        axis = 1 if self.mode == "rows" else 0
        norm = ops.sqrt(ops.maximum(ops.sum(ops.square(inputs), axis=axis, keepdims=True), 1e-7))
        normalized = ops.divide(inputs, norm)
        if self.mode == "rows":
            product = ops.matmul(normalized, ops.transpose(normalized))
        else:
            product = ops.matmul(ops.transpose(normalized), normalized)
        size = shape[0] if self.mode == "rows" else shape[1]
        off_diagonal = ops.multiply(product, (1.0 - np.eye(size)).astype(np.float32))
        num_pairs = size * (size - 1.0) / 2.0
        return ops.multiply(self.factor * 0.5 / num_pairs, ops.sum(ops.abs(off_diagonal)))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_CLASSES = {c.__name__: c for c in (L1, L2, L1L2, OrthogonalRegularizer)}
_BY_NAME = dict(_CLASSES)
_BY_NAME.update({"l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer})


def serialize(regularizer):
    """The Keras config dict of a regularizer (None for None).

    Args:
        regularizer: a ``Regularizer`` instance or None.

    Returns:
        ``{"module", "class_name", "config", "registered_name"}``, or None.

    Example:
        >>> keras.regularizers.serialize(keras.regularizers.L2(0.5))["config"]
        {'l2': 0.5}
    """
    if regularizer is None:
        return None
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The regularizer a config dict (as ``serialize`` writes it) describes.

    Args:
        config: a dict with ``class_name`` and ``config``.
        custom_objects: optional dict mapping class names to user classes.

    Returns:
        A new ``Regularizer`` instance.

    Raises:
        ValueError: for an unknown class name.

    Example:
        >>> config = keras.regularizers.serialize(keras.regularizers.L1L2(l1=0.1, l2=0.2))
        >>> r = keras.regularizers.deserialize(config)
        >>> round(r.l1, 6), round(r.l2, 6)
        (0.1, 0.2)
    """
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown regularizer: '{name}'. Expected one of {sorted(_BY_NAME)}.")
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """Resolves a regularizer identifier.

    Args:
        identifier: None, a name (``"l2"``), a class name, a config dict, a ``Regularizer``
            instance or class, or a callable ``f(weights) -> scalar``.

    Returns:
        The regularizer (a name gives an instance with default factors), or None.

    Raises:
        ValueError: for an unknown name or an identifier of another type.

    Example:
        >>> type(keras.regularizers.get("l2")).__name__
        'L2'
        >>> keras.regularizers.get({"class_name": "L1", "config": {"l1": 0.1}}).l1
        0.1
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown regularizer '{identifier}'. Expected one of "
                             f"{sorted(_BY_NAME)}.")
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
