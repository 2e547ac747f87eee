"""Losses, as classes (``CategoricalCrossentropy()``), names (``"mse"``) or functions.

A loss's ``call(y_true, y_pred)`` returns one value per sample; ``__call__`` applies the
sample weights and the reduction (default ``"sum_over_batch_size"``: the weighted sum
divided by the number of values, as Keras). The crossentropies fuse with a preceding
softmax/sigmoid (they use its logits), as Keras does on TensorFlow.
"""
import numpy as np

from nnfast import ops
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight", "auto")


def _align_ranks(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank for (N,) targets against (N, 1) outputs."""
    t = value(y_true)
    p_nd = len(np.shape(value(y_pred)))
    if t.ndim == p_nd - 1:
        t = t[..., None]
    elif t.ndim == p_nd + 1 and t.shape[-1] == 1:
        t = t[..., 0]
    return t


def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_true - y_pred)^2, axis=-1)``."""
    return ops.mean_squared_error(_align_ranks(y_true, y_pred), y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_true - y_pred|, axis=-1)``."""
    return ops.mean_absolute_error(_align_ranks(y_true, y_pred), y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample crossentropy of one-hot ``y_true`` against probabilities (or logits)."""
    t = value(y_true)
    if label_smoothing:
        n = np.shape(value(y_pred))[-1]
        t = t * (1.0 - label_smoothing) + label_smoothing / n
    return ops.categorical_crossentropy(t, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample crossentropy of integer class ids ``y_true``."""
    if ignore_class is not None:
        raise NotImplementedError("sparse_categorical_crossentropy(ignore_class=...) is not supported yet.")
    return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits, axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary crossentropy, mean over the last axis."""
    t = _align_ranks(y_true, y_pred)
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return ops.binary_crossentropy(t, y_pred, from_logits=from_logits)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
bce = BCE = binary_crossentropy


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Applies ``sample_weight`` and ``reduction`` to per-sample loss values."""
    if reduction in ("none", None):
        return values if sample_weight is None else ops.multiply(values, _broadcast_weight(sample_weight, values))
    count = max(int(np.size(value(values))), 1)
    if sample_weight is None and reduction != "sum":
        return ops.mean(values)  # one node on the tape: the common case
    if sample_weight is None:
        total = ops.sum(values)
        wsum = float(count)
    else:
        w = _broadcast_weight(sample_weight, values)
        total = ops.sum(ops.multiply(values, w))
        wsum = float(np.sum(w))
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight":
        return ops.divide(total, np.float32(max(wsum, 1e-12)))
    return ops.divide(total, np.float32(count))


def _broadcast_weight(sample_weight, values):
    w = np.asarray(value(sample_weight), dtype=np.float32)
    vshape = np.shape(value(values))
    while w.ndim > len(vshape) and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < len(vshape):
        w = w[..., None]
    try:
        return np.ascontiguousarray(np.broadcast_to(w, vshape))
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(value(sample_weight))} cannot be "
                         f"broadcast to the loss values of shape {vshape}") from None


class Loss:
    """Base class of losses: subclasses implement ``call(y_true, y_pred)`` (per sample).

    Args:
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean_with_sample_weight"``
            or ``"none"``.
        name: the loss name.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{_REDUCTIONS[:-1]}. Received: reduction={reduction}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = "sum_over_batch_size" if reduction == "auto" else reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """Wraps a per-sample function ``fn(y_true, y_pred, **kwargs)`` as a Loss."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        out = self.fn(y_true, y_pred, **self._fn_kwargs)
        if not isinstance(out, Tensor):
            out = ops.convert_to_tensor(out)
        return out

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot targets. ``from_logits=True`` if ``y_pred`` are logits."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer targets of shape ``(N,)`` or ``(N, 1)``."""

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy",
                 dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for 0/1 targets (probabilities, or logits with ``from_logits=True``)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def _snake(name):
    from nnfast.backend.global_state import to_snake_case

    return to_snake_case(name)


_BY_NAME = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error, "MSE": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "MAE": mean_absolute_error, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy, "bce": binary_crossentropy,
    "BCE": binary_crossentropy,
}
_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy, BinaryCrossentropy)}


def get(identifier):
    """Resolves a name, class name, config dict, Loss instance or function to a Loss."""
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(f"Could not interpret loss identifier: '{identifier}'. Expected one "
                             f"of {sorted(_BY_NAME)}.")
        return LossFunctionWrapper(fn, name=identifier)
    if isinstance(identifier, dict):
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
