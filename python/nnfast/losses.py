"""Losses, as classes (``CategoricalCrossentropy()``), names (``"mse"``) or functions.

A loss's ``call(y_true, y_pred)`` returns one value per sample (per sample and time step
for sequences); ``__call__`` applies the mask, the sample weights and the reduction, as
Keras 3 does:

- ``"sum_over_batch_size"`` (default): ``sum(w * loss) / number of loss values`` (not
  divided by ``sum(w)``), ``"mean"`` the same; ``"mean_with_sample_weight"``:
  ``sum(w * loss) / sum(w)``; ``"sum"``; ``"none"``/None: the weighted values.
- A mask on the predictions (``y_pred._keras_mask``) or on the loss values zeroes the
  masked entries and rescales the rest so the result is a mean over valid entries.

The crossentropies, MSE and MAE are fused C++ ops (and the crossentropies fuse with a
preceding softmax/sigmoid by using its logits, as Keras does on TensorFlow); the other
losses are written with ``nnfast.ops`` and get their gradients from the tape.

Example:
    >>> loss = CategoricalCrossentropy(label_smoothing=0.1)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""
import inspect
import math

import numpy as np

from nnfast import ops
from nnfast.backend import global_state as _global_state
from nnfast.backend.global_state import epsilon as _epsilon  # noqa: E402  (keras.config.epsilon)
from nnfast.backend.global_state import floatx as _floatx  # noqa: E402
from nnfast.backend.tensor import Tensor as _Tensor
from nnfast.ops._util import value as _value
from nnfast.ops.float64 import is_float64 as _float64_route  # noqa: E402
from nnfast.ops.nn import binary_crossentropy_mean as _binary_crossentropy_mean

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


# --- rank alignment ---------------------------------------------------------------------------


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rule for targets of shape ``(N,)`` against outputs ``(N, 1)`` (and back).

    Args:
        x1: the first tensor (e.g. ``y_true``).
        x2: the second tensor (e.g. ``y_pred``).
        expand_rank_1: when one side is rank 1 and the other ``(N, 1)``, expand the rank-1 side
            (True) instead of squeezing the other. Defaults to ``True``.
    """
    s1, s2 = np.shape(_value(x1)), np.shape(_value(x2))
    if len(s1) == len(s2) + 1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif len(s2) == len(s1) + 1 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def _target(y_true, y_pred):
    """``y_true`` as a float32 array aligned to ``y_pred``'s rank (targets get no gradient)."""
    t = np.asarray(_raw(y_true), dtype=np.float64 if _is_float64(y_pred) else np.float32)
    s_t, s_p = t.shape, np.shape(_value(y_pred))
    if len(s_t) == len(s_p) - 1 and s_p[-1] == 1:
        t = t[..., None]
    elif len(s_t) == len(s_p) + 1 and s_t[-1] == 1:
        t = t[..., 0]
    return t


def _as_tensor(x, dtype):
    """``x`` as a Tensor of ``dtype``; a tensor of that dtype is returned as it is (it may
    carry a node, a mask or the logits that precede it)."""
    if isinstance(x, _Tensor):
        return x if x.value.dtype == dtype else ops.cast(x, dtype)
    if x is None:
        return None
    return _Tensor(np.asarray(x, dtype=dtype))


def _map_leaves(fn, x):
    if isinstance(x, dict):
        return {k: _map_leaves(fn, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and not (x and isinstance(x[0], (int, float))):
        return type(x)(_map_leaves(fn, v) for v in x)
    return fn(x)


def _is_float64(x):
    """Whether a loss of prediction ``x`` computes in float64: a float64 tensor, a float64
    array under ``set_floatx("float64")``, or Python numbers under it (as
    ``convert_to_tensor`` gives them floatx)."""
    if isinstance(x, (_Tensor, np.ndarray)):
        return _float64_route(x)
    return _floatx() == "float64"


def _raw(x):
    """The array behind ``x`` with its dtype kept (``value`` narrows float64)."""
    return x.value if isinstance(x, _Tensor) else np.asarray(x)


def _pred(y_pred):
    return y_pred if isinstance(y_pred, _Tensor) else ops.convert_to_tensor(
        np.asarray(_value(y_pred), dtype=np.float32))


# --- per-sample loss functions (Keras names) -----------------------------------------------


def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_true - y_pred)^2, axis=-1)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.MSE([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
        array([0.5, 0.5], dtype=float32)
    """
    return ops.mean_squared_error(_target(y_true, y_pred), y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_true - y_pred|, axis=-1)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.MAE([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
        array([0.5, 0.5], dtype=float32)
    """
    return ops.mean_absolute_error(_target(y_true, y_pred), y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample ``100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.MAPE([[2.0, 4.0]], [[3.0, 4.0]]).numpy()
        array([25.], dtype=float32)
    """
    t = _target(y_true, y_pred)
    scale = (100.0 / np.maximum(np.abs(t), _epsilon())).astype(np.float32)
    return ops.mean(ops.multiply(ops.abs(ops.subtract(t, y_pred)), scale), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample ``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.MSLE([[0.0, 1.0]], [[1.0, 1.0]]).numpy().round(5)
        array([0.24023], dtype=float32)
    """
    t = _target(y_true, y_pred)
    log_t = np.log1p(np.maximum(t, _epsilon())).astype(np.float32)
    log_p = ops.log1p(ops.maximum(y_pred, _epsilon()))
    return ops.mean(ops.square(ops.subtract(log_p, log_t)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss: ``0.5 e^2`` where ``|e| <= delta``, else
    ``delta |e| - 0.5 delta^2``; mean over the last axis.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        delta: the error size where the loss turns from quadratic to linear. Defaults to ``1.0``.

    Example:
        >>> keras.losses.huber([[0.0, 0.0]], [[0.5, 3.0]]).numpy()
        array([1.3125], dtype=float32)
    """
    t = _target(y_true, y_pred)
    abs_err = ops.abs(ops.subtract(y_pred, t))
    quadratic = ops.minimum(abs_err, float(delta))
    linear = ops.subtract(abs_err, quadratic)
    per = ops.add(ops.multiply(0.5, ops.square(quadratic)), ops.multiply(float(delta), linear))
    return ops.mean(per, axis=-1)


def log_cosh(y_true, y_pred):
    """Per-sample ``mean(log(cosh(y_pred - y_true)))``, computed stably as
    ``x + softplus(-2x) - log(2)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.log_cosh([[0.0, 0.0]], [[1.0, 0.0]]).numpy().round(5)
        array([0.21689], dtype=float32)
    """
    x = ops.subtract(y_pred, _target(y_true, y_pred))
    per = ops.subtract(ops.add(x, ops.softplus(ops.multiply(-2.0, x))), float(np.log(2.0)))
    return ops.mean(per, axis=-1)


def _hinge_labels(t):
    """Keras maps {0, 1} labels to {-1, 1}; other labels are kept."""
    if np.all((t == 0) | (t == 1)):
        return (2.0 * t - 1.0).astype(np.float32)
    return t


def hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0))`` (labels in {-1, 1} or {0, 1}).

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.hinge([[0.0, 1.0]], [[0.5, 0.5]]).numpy()
        array([1.], dtype=float32)
    """
    t = _hinge_labels(_target(y_true, y_pred))
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(t, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0)^2)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.squared_hinge([[0.0, 1.0]], [[0.5, 0.5]]).numpy()
        array([1.25], dtype=float32)
    """
    t = _hinge_labels(_target(y_true, y_pred))
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(t, y_pred)), 0.0)),
                    axis=-1)


def categorical_hinge(y_true, y_pred):
    """Per-sample ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.categorical_hinge([[0.0, 1.0]], [[0.5, 0.25]]).numpy()
        array([1.25], dtype=float32)
    """
    t = _target(y_true, y_pred)
    pos = ops.sum(ops.multiply(t, y_pred), axis=-1)
    neg = ops.max(ops.multiply((1.0 - t).astype(np.float32), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def kl_divergence(y_true, y_pred):
    """Per-sample ``sum(y_true * log(y_true / y_pred))`` with both clipped to [eps, 1].

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.KLD([[0.5, 0.5]], [[0.25, 0.75]]).numpy().round(5)
        array([0.14384], dtype=float32)
    """
    t = np.clip(_target(y_true, y_pred), _epsilon(), 1.0).astype(np.float32)
    p = ops.clip(y_pred, _epsilon(), 1.0)
    t_log_t = np.sum(t * np.log(t), axis=-1).astype(np.float32)
    return ops.subtract(t_log_t, ops.sum(ops.multiply(t, ops.log(p)), axis=-1))


def poisson(y_true, y_pred):
    """Per-sample ``mean(y_pred - y_true * log(y_pred + eps))``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.losses.poisson([[1.0, 2.0]], [[1.0, 1.0]]).numpy().round(5)
        array([1.], dtype=float32)
    """
    t = _target(y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(t, ops.log(ops.add(y_pred, _epsilon())))),
                    axis=-1)


def _l2_normalize(x, axis):
    return ops.divide(x, ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True),
                                              _epsilon())))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample ``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 when the
    vectors point the same way (so minimizing it maximizes the similarity).

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        axis: the axis along which the vectors lie. Defaults to ``-1``.

    Example:
        >>> keras.losses.cosine_similarity([[0.0, 1.0]], [[1.0, 1.0]]).numpy().round(5)
        array([-0.70711], dtype=float32)
    """
    t = _target(y_true, y_pred)
    t_n = t / np.sqrt(np.maximum(np.sum(t * t, axis=axis, keepdims=True), _epsilon()))
    return ops.negative(ops.sum(ops.multiply(t_n.astype(np.float32), _l2_normalize(y_pred, axis)),
                                axis=axis))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample crossentropy of one-hot (or soft) ``y_true`` against probabilities (or
    logits with ``from_logits``); label smoothing mixes ``y_true`` with ``1/classes``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        from_logits: whether ``y_pred`` holds logits (unnormalized scores) rather than
            probabilities; logits are the numerically safer choice. Defaults to ``False``.
        label_smoothing: in [0, 1]: move the targets that far toward a uniform distribution (0: no
            smoothing). Defaults to ``0.0``.
        axis: the axis along which the loss is computed (the class axis). Defaults to ``-1``.

    Example:
        >>> keras.losses.categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0.0]]).numpy().round(5)
        array([0.05129], dtype=float32)
    """
    t = np.asarray(_value(y_true), dtype=np.float32)
    if label_smoothing:
        n = np.shape(_value(y_pred))[axis]
        t = (t * (1.0 - label_smoothing) + label_smoothing / n).astype(np.float32)
    return ops.categorical_crossentropy(t, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample crossentropy of integer class ids ``y_true`` (shape ``(N,)`` or ``(N, 1)``).

    ``ignore_class``: entries with this label get zero loss and are left out of the mean.

    Args:
        y_true: integer class ids, shape ``(batch, d0, ..., dN-1)``.
        y_pred: class scores, shape ``(batch, d0, ..., dN-1, num_classes)``.
        from_logits: whether ``y_pred`` holds logits (unnormalized scores) rather than
            probabilities; logits are the numerically safer choice. Defaults to ``False``.
        ignore_class: a class id whose targets contribute no loss (masked out); None: none.
        axis: the axis along which the loss is computed (the class axis). Defaults to ``-1``.

    Example:
        >>> keras.losses.sparse_categorical_crossentropy([1], [[0.05, 0.95, 0.0]]).numpy().round(5)
        array([0.05129], dtype=float32)
    """
    if ignore_class is None:
        return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits,
                                                   axis=axis)
    labels = np.asarray(_value(y_true))
    out_shape = np.shape(_value(y_pred))
    if labels.ndim == len(out_shape) and labels.shape[-1] == 1:
        labels = labels[..., 0]
    valid = labels != ignore_class
    safe = np.where(valid, labels, 0)
    res = ops.sparse_categorical_crossentropy(safe, y_pred, from_logits=from_logits, axis=axis)
    res = ops.multiply(res, valid.astype(np.float32))
    res._keras_mask = valid
    return res


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary crossentropy, mean over ``axis``; label smoothing pulls ``y_true``
    towards 0.5.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        from_logits: whether ``y_pred`` holds logits (unnormalized scores) rather than
            probabilities; logits are the numerically safer choice. Defaults to ``False``.
        label_smoothing: in [0, 1]: move the targets that far toward a uniform distribution (0: no
            smoothing). Defaults to ``0.0``.
        axis: the axis along which the loss is computed (the class axis). Defaults to ``-1``.
    """
    t = _target(y_true, y_pred)
    if label_smoothing:
        t = (t * (1.0 - label_smoothing) + 0.5 * label_smoothing).astype(np.float32)
    ndim = len(np.shape(y_pred))
    if axis in (-1, ndim - 1):  # the fused kernel averages over the last axis
        return _binary_crossentropy_mean(t, y_pred, from_logits=from_logits)
    return ops.mean(ops.binary_crossentropy(t, y_pred, from_logits=from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample focal loss (Lin et al.): elementwise BCE times ``(1 - p_t)^gamma``
    (times ``alpha``/``1 - alpha`` with class balancing), mean over ``axis``.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        apply_class_balancing: weigh positives by ``alpha`` and negatives by ``1 - alpha``.
            Defaults to ``False``.
        alpha: weight of the positive class (or per-class weighting factor). Defaults to ``0.25``.
        gamma: focusing parameter: the factor ``(1 - p_t) ** gamma`` down-weights well-classified
            examples. Defaults to ``2.0``.
        from_logits: whether ``y_pred`` holds logits (unnormalized scores) rather than
            probabilities; logits are the numerically safer choice. Defaults to ``False``.
        label_smoothing: in [0, 1]: move the targets that far toward a uniform distribution (0: no
            smoothing). Defaults to ``0.0``.
        axis: the axis along which the loss is computed (the class axis). Defaults to ``-1``.

    Example:
        >>> keras.losses.binary_focal_crossentropy([[0.0, 1.0]], [[0.4, 0.6]]).numpy().round(5)
        array([0.08173], dtype=float32)
    """
    t = _target(y_true, y_pred)
    if label_smoothing:
        t = (t * (1.0 - label_smoothing) + 0.5 * label_smoothing).astype(np.float32)
    p = ops.sigmoid(y_pred) if from_logits else _pred(y_pred)
    pc = ops.clip(p, _epsilon(), 1.0 - _epsilon())
    one_t = (1.0 - t).astype(np.float32)
    bce = ops.negative(ops.add(ops.multiply(t, ops.log(pc)),
                               ops.multiply(one_t, ops.log(ops.subtract(1.0, pc)))))
    p_t = ops.add(ops.multiply(t, p), ops.multiply(one_t, ops.subtract(1.0, p)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        focal = ops.multiply((t * alpha + one_t * (1.0 - alpha)).astype(np.float32), focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Per-sample categorical focal loss: ``sum(alpha (1 - p)^gamma * -y log p)`` over the
    classes, with ``p`` normalized to sum to 1 and clipped to [eps, 1 - eps].

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        alpha: weight of the positive class (or per-class weighting factor). Defaults to ``0.25``.
        gamma: focusing parameter: the factor ``(1 - p_t) ** gamma`` down-weights well-classified
            examples. Defaults to ``2.0``.
        from_logits: whether ``y_pred`` holds logits (unnormalized scores) rather than
            probabilities; logits are the numerically safer choice. Defaults to ``False``.
        label_smoothing: in [0, 1]: move the targets that far toward a uniform distribution (0: no
            smoothing). Defaults to ``0.0``.
        axis: the axis along which the loss is computed (the class axis). Defaults to ``-1``.

    Example:
        >>> keras.losses.categorical_focal_crossentropy(
        ...     [[0, 1, 0]], [[0.05, 0.9, 0.05]]).numpy().round(5)
        array([0.00026], dtype=float32)
    """
    t = np.asarray(_value(y_true), dtype=np.float32)
    if label_smoothing:
        n = np.shape(_value(y_pred))[axis]
        t = (t * (1.0 - label_smoothing) + label_smoothing / n).astype(np.float32)
    p = ops.softmax(y_pred, axis=axis) if from_logits else _pred(y_pred)
    p = ops.divide(p, ops.sum(p, axis=axis, keepdims=True))
    p = ops.clip(p, _epsilon(), 1.0 - _epsilon())
    cce = ops.multiply(-t, ops.log(p))
    weight = ops.multiply(ops.power(ops.subtract(1.0, p), float(gamma)), float(alpha))
    return ops.sum(ops.multiply(weight, cce), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy
logcosh = log_cosh
kullback_leibler_divergence = kl_divergence


# --- reduction -------------------------------------------------------------------------------


def _weight_like(weight, shape):
    """``weight`` squeezed/expanded to the rank of the loss values, then broadcast."""
    w = np.asarray(_value(weight), dtype=np.float32)
    while w.ndim > len(shape) and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < len(shape):
        w = w[..., None]
    try:
        return np.ascontiguousarray(np.broadcast_to(w, shape))
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(_value(weight))} cannot be broadcast "
                         f"to the loss values of shape {tuple(shape)}") from None


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """Applies ``mask``, ``sample_weight`` and ``reduction`` to per-sample loss values
    (Keras's ``reduce_weighted_values``).

    Args:
        values: per-sample loss values.
        sample_weight: weights broadcast against ``values`` (None: all 1).
        mask: a 0/1 array broadcast against ``values``: masked entries count neither in the sum nor
            in the mean's denominator (None: none).
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.

    Example:
        >>> values = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
        >>> weights = np.array([[1.0], [0.0]])
        >>> float(keras.losses.reduce_weighted_values(values, sample_weight=weights))
        0.75
        >>> float(keras.losses.reduce_weighted_values(values, reduction="sum"))
        10.0
    """
    shape = np.shape(_value(values))
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=np.float32), shape)
        if reduction in ("mean", "sum_over_batch_size"):
            # Valid entries get total/valid so the mean runs over valid entries only.
            mask = mask * (mask.size / (float(mask.sum()) + _epsilon()))
        sample_weight = mask if sample_weight is None else mask * _weight_like(sample_weight, shape)
    if sample_weight is None and reduction in ("sum_over_batch_size", "mean",
                                               "mean_with_sample_weight") and math.prod(shape):
        return ops.mean(values)  # one node on the tape: the common case
    if sample_weight is not None:
        sample_weight = _weight_like(sample_weight, shape)
        values = ops.multiply(values, sample_weight)
    if reduction in ("none", None) or shape in ((), (0,)):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(sample_weight, dtype=np.float64))
    else:
        divisor = float(math.prod(shape))
    # Keras divides "no nan": an empty or all-zero-weight batch gives 0, not NaN.
    return ops.divide(total, divisor) if divisor else ops.multiply(total, 0.0)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Backward-compatible alias of ``reduce_weighted_values`` without a mask.

    Args:
        values: per-sample loss values.
        sample_weight: weights broadcast against ``values`` (None: all 1).
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.

    Example:
        >>> float(keras.losses.reduce_values(np.array([1.0, 3.0], np.float32)))
        2.0
    """
    return reduce_weighted_values(values, sample_weight, None, reduction)


# --- classes ---------------------------------------------------------------------------------


class Loss:
    """Base class of losses: subclasses implement ``call(y_true, y_pred)`` returning one
    value per sample.

    Args:
        name: the loss name (default: the snake_case class name).
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"`` or ``"none"``/None. tf.keras's ``"auto"`` means the
            default.
        dtype: the dtype predictions and targets are cast to (default: floatx, so
            ``"float64"`` after ``set_floatx("float64")``).

    Example:
        >>> class MyLoss(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ops.mean(ops.square(y_pred - y_true), axis=-1)
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction == "auto":
            reduction = "sum_over_batch_size"
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{_REDUCTIONS}. Received: reduction={reduction}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)
        # As Keras: both arrive as tensors of the loss dtype, so a custom loss written with
        # `y_true` on the left (`y_true - y_pred`) runs nnfast's ops and keeps its gradient.
        dtype = self.dtype or _floatx()
        y_pred = _map_leaves(lambda t: _as_tensor(t, dtype), y_pred)
        y_true = _map_leaves(lambda t: _as_tensor(t, dtype), y_true)
        values = self.call(y_true, y_pred)
        if not isinstance(values, _Tensor):
            values = ops.convert_to_tensor(np.asarray(_raw(values), dtype=dtype))
        out_mask = values._keras_mask
        mask = in_mask
        if in_mask is not None and out_mask is not None:
            mask = np.logical_and(in_mask, out_mask)
        elif out_mask is not None:
            mask = out_mask
        if mask is not None and np.shape(mask) != np.shape(values.value):
            mask = np.reshape(mask, np.shape(values.value)) if np.size(mask) == values.size else None
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """Wraps a per-sample function ``fn(y_true, y_pred, **kwargs)`` as a Loss.

    Args:
        fn: the loss function ``fn(y_true, y_pred, **kwargs)`` returning one value per sample.
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss (None: the function's name).
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> def scaled_mae(y_true, y_pred, scale=1.0):
        ...     error = keras.ops.abs(keras.ops.subtract(y_true, y_pred))
        ...     return keras.ops.mean(error, axis=-1) * scale
        >>> loss = keras.losses.LossFunctionWrapper(scaled_mae, name="scaled_mae", scale=2.0)
        >>> float(loss([[0.0, 1.0]], [[1.0, 1.0]]))
        1.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if isinstance(y_true, _Tensor) and isinstance(y_pred, _Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        if cls is LossFunctionWrapper:
            config = dict(config)
            fn = config.pop("fn", None)
            if isinstance(fn, str):
                fn = _FUNCTIONS[fn]
            return cls(fn, **config)
        return cls(**config)


def _wrapper(fn, defaults=(), default_name=None, after_reduction=()):
    """Keras's constructor for a LossFunctionWrapper subclass of ``fn``: the function's
    keyword arguments (with defaults) first, then ``reduction``, the ``after_reduction``
    ones (Keras's order for SparseCategoricalCrossentropy's ``axis``), ``name``, ``dtype``."""
    default_name = default_name or fn.__name__
    params = dict(defaults)
    trailing = dict(after_reduction)
    order = list(params) + ["reduction"] + list(trailing) + ["name", "dtype"]
    params.update(trailing)

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{type(self).__name__}() takes at most {len(order)} positional "
                            f"arguments ({len(args)} given)")
        values = dict(params, reduction="sum_over_batch_size", name=default_name, dtype=None)
        values.update(zip(order, args))
        unknown = set(kwargs) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments "
                            f"{sorted(unknown)}")
        values.update(kwargs)
        reduction, name, dtype = values.pop("reduction"), values.pop("name"), values.pop("dtype")
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype,
                                     **values)

    # What the constructor accepts, spelled out for help() and inspect.signature (Keras's).
    kinds = inspect.Parameter.POSITIONAL_OR_KEYWORD
    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", kinds)]
        + [inspect.Parameter(k, kinds, default=v) for k, v in params.items()
           if k not in trailing]
        + [inspect.Parameter("reduction", kinds, default="sum_over_batch_size")]
        + [inspect.Parameter(k, kinds, default=v) for k, v in trailing.items()]
        + [inspect.Parameter("name", kinds, default=default_name),
           inspect.Parameter("dtype", kinds, default=None)])
    return __init__


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squares of errors: ``mean((y_true - y_pred)^2)`` ("mse").

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"mean_squared_error"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.MeanSquaredError()
        >>> float(loss([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
        0.5
        >>> float(loss([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]],
        ...            sample_weight=[0.7, 0.3]))
        0.25
    """
    __init__ = _wrapper(mean_squared_error)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors ("mae").

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"mean_absolute_error"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.MeanAbsoluteError()
        >>> float(loss([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
        0.5
    """
    __init__ = _wrapper(mean_absolute_error)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, eps))`` ("mape").

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"mean_absolute_percentage_error"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.MeanAbsolutePercentageError()
        >>> float(loss([[2.0, 4.0]], [[3.0, 4.0]]))
        25.0
    """
    __init__ = _wrapper(mean_absolute_percentage_error)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """``mean((log1p(y_pred) - log1p(y_true))^2)`` with both floored at eps ("msle").

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"mean_squared_logarithmic_error"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.MeanSquaredLogarithmicError()
        >>> round(float(loss([[0.0, 1.0]], [[1.0, 1.0]])), 5)
        0.24023
    """
    __init__ = _wrapper(mean_squared_logarithmic_error)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for ``|error| <= delta`` (default 1.0), linear beyond.

    Args:
        delta: the error size where the loss turns from quadratic to linear. Defaults to ``1.0``.
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"huber_loss"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.Huber(delta=1.0)
        >>> float(loss([[0.0, 0.0]], [[0.5, 3.0]]))
        1.3125
    """
    __init__ = _wrapper(huber, (("delta", 1.0),), "huber_loss")


class LogCosh(LossFunctionWrapper):
    """``mean(log(cosh(y_pred - y_true)))`` ("log_cosh").

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"log_cosh"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.LogCosh()
        >>> round(float(loss([[0.0, 0.0]], [[1.0, 0.0]])), 5)
        0.21689
    """
    __init__ = _wrapper(log_cosh)


class Hinge(LossFunctionWrapper):
    """``mean(max(1 - y_true * y_pred, 0))``; {0, 1} labels are mapped to {-1, 1}.

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"hinge"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.Hinge()
        >>> float(loss([[0.0, 1.0]], [[0.5, 0.5]]))
        1.0
    """
    __init__ = _wrapper(hinge)


class SquaredHinge(LossFunctionWrapper):
    """``mean(max(1 - y_true * y_pred, 0)^2)``; {0, 1} labels are mapped to {-1, 1}.

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"squared_hinge"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.SquaredHinge()
        >>> float(loss([[0.0, 1.0]], [[0.5, 0.5]]))
        1.25
    """
    __init__ = _wrapper(squared_hinge)


class CategoricalHinge(LossFunctionWrapper):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` (one-hot targets).

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"categorical_hinge"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.CategoricalHinge()
        >>> float(loss([[0.0, 1.0]], [[0.5, 0.25]]))
        1.25
    """
    __init__ = _wrapper(categorical_hinge)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` ("kld").

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"kl_divergence"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.KLDivergence()
        >>> round(float(loss([[0.5, 0.5]], [[0.25, 0.75]])), 5)
        0.14384
    """
    __init__ = _wrapper(kl_divergence)


class Poisson(LossFunctionWrapper):
    """``mean(y_pred - y_true * log(y_pred + eps))``.

    Args:
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"poisson"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.Poisson()
        >>> round(float(loss([[1.0, 2.0]], [[1.0, 1.0]])), 5)
        1.0
    """
    __init__ = _wrapper(poisson)


class CosineSimilarity(LossFunctionWrapper):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (between -1 and 1).

    Args:
        axis: the axis along which the vectors lie. Defaults to ``-1``.
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"cosine_similarity"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.CosineSimilarity()
        >>> round(float(loss([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])), 5)
        -0.5
    """
    __init__ = _wrapper(cosine_similarity, (("axis", -1),))


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot targets.

    Args:
        from_logits: ``y_pred`` are logits (else probabilities; a softmax output is fused).
        label_smoothing: in [0, 1]; targets become ``y(1 - ls) + ls / classes``.
        axis: the class axis (default -1).
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"categorical_crossentropy"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.CategoricalCrossentropy()
        >>> round(float(loss([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])), 5)
        1.17694
    """
    __init__ = _wrapper(categorical_crossentropy, (("from_logits", False),
                                                       ("label_smoothing", 0.0), ("axis", -1)))


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer targets of shape ``(N,)`` or ``(N, 1)``.

    Args:
        from_logits: ``y_pred`` are logits.
        ignore_class: a label whose entries are left out of the loss (e.g. padding).
        axis: the class axis (default -1).
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"sparse_categorical_crossentropy"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        >>> round(float(loss([1, 2], [[0.1, 2.0, 0.3], [1.0, 0.5, 0.2]])), 5)
        0.90378
        >>> per_sample = keras.losses.SparseCategoricalCrossentropy(reduction=None)
        >>> per_sample([1], [[0.2, 0.7, 0.1]]).shape
        (1,)
    """
    __init__ = _wrapper(sparse_categorical_crossentropy,
                        (("from_logits", False), ("ignore_class", None)),
                        after_reduction=(("axis", -1),))


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for 0/1 targets (probabilities, or logits with ``from_logits=True``).

    Args:
        from_logits: ``y_pred`` holds logits (applies the sigmoid inside, more stably).
        label_smoothing: in [0, 1]: targets are pulled towards 0.5 by this fraction.
        axis: the axis the mean is taken over (default -1).
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"binary_crossentropy"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.BinaryCrossentropy(from_logits=True)
        >>> round(float(loss([[0.0, 1.0]], [[-2.0, 3.0]])), 5)
        0.08776
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    """
    __init__ = _wrapper(binary_crossentropy, (("from_logits", False),
                                                  ("label_smoothing", 0.0), ("axis", -1)))


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Focal binary crossentropy: BCE scaled by ``(1 - p_t)^gamma`` to focus on hard cases.

    Args:
        apply_class_balancing: weight positives by ``alpha`` and negatives by ``1 - alpha``.
        alpha: default 0.25. gamma: default 2.0.
        from_logits: ``y_pred`` holds logits.
        label_smoothing: in [0, 1]: targets are pulled towards 0.5 by this fraction.
        axis: the axis the mean is taken over (default -1).
        gamma: focusing parameter: the factor ``(1 - p_t) ** gamma`` down-weights well-classified
            examples. Defaults to ``2.0``.
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"binary_focal_crossentropy"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.BinaryFocalCrossentropy(gamma=2.0)
        >>> round(float(loss([[0.0, 1.0]], [[0.4, 0.6]])), 5)
        0.08173
    """
    __init__ = _wrapper(binary_focal_crossentropy, (
        ("apply_class_balancing", False), ("alpha", 0.25), ("gamma", 2.0), ("from_logits", False),
        ("label_smoothing", 0.0), ("axis", -1)))


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Focal categorical crossentropy: ``alpha (1 - p)^gamma`` times the crossentropy.

    Args:
        alpha: default 0.25. gamma: default 2.0.
        from_logits: ``y_pred`` holds logits (a softmax is applied inside).
        label_smoothing: in [0, 1]: one-hot targets are mixed with the uniform distribution.
        axis: the class axis (default -1).
        gamma: focusing parameter: the factor ``(1 - p_t) ** gamma`` down-weights well-classified
            examples. Defaults to ``2.0``.
        reduction: how the per-sample losses combine: ``"sum_over_batch_size"`` (the mean over all
            entries), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"`` (the sum divided by the
            sum of the weights) or ``None``/``"none"`` (one loss per sample). Defaults to
            ``"sum_over_batch_size"``.
        name: name of the loss instance. Defaults to ``"categorical_focal_crossentropy"``.
        dtype: dtype of the loss computation; None uses ``keras.config.floatx()`` (float32).

    Example:
        >>> loss = keras.losses.CategoricalFocalCrossentropy()
        >>> round(float(loss([[0, 1, 0]], [[0.05, 0.9, 0.05]])), 5)
        0.00026
    """
    __init__ = _wrapper(categorical_focal_crossentropy, (
        ("alpha", 0.25), ("gamma", 2.0), ("from_logits", False), ("label_smoothing", 0.0),
        ("axis", -1)))


def _snake(name):
    return _global_state.to_snake_case(name)


class _ShapeResolvedCrossentropy(Loss):
    """``"crossentropy"``/``"ce"``: binary, sparse or categorical chosen from the shapes
    at the first call (Keras's compile-time rule)."""

    def __init__(self, name="crossentropy", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self._fn = None

    def call(self, y_true, y_pred):
        if self._fn is None:
            ts, ps = np.shape(_value(y_true)), np.shape(_value(y_pred))
            if ps[-1] == 1:
                self._fn = binary_crossentropy
            elif len(ts) < len(ps) or (ts[-1] == 1 and ps[-1] > 1):
                self._fn = sparse_categorical_crossentropy
            else:
                self._fn = categorical_crossentropy
        return self._fn(y_true, y_pred)


_CLASS_LIST = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
               MeanSquaredLogarithmicError, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge,
               KLDivergence, Poisson, CosineSimilarity, CategoricalCrossentropy,
               SparseCategoricalCrossentropy, BinaryCrossentropy, BinaryFocalCrossentropy,
               CategoricalFocalCrossentropy)
_CLASSES = {c.__name__: c for c in _CLASS_LIST}
_FUNCTIONS = {f.__name__: f for f in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, hinge, squared_hinge, categorical_hinge,
    kl_divergence, poisson, cosine_similarity, categorical_crossentropy,
    sparse_categorical_crossentropy, binary_crossentropy, binary_focal_crossentropy,
    categorical_focal_crossentropy)}
_BY_NAME = dict(_FUNCTIONS)
_BY_NAME.update({"mse": mean_squared_error, "MSE": mean_squared_error,
                 "mae": mean_absolute_error, "MAE": mean_absolute_error,
                 "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
                 "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
                 "kld": kl_divergence, "KLD": kl_divergence,
                 "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh,
                 "bce": binary_crossentropy, "BCE": binary_crossentropy})


def serialize(loss):
    """Keras's serialized form of a Loss (or the name of a built-in loss function).

    Args:
        loss: a ``Loss`` instance or a built-in loss function.

    Example:
        >>> keras.losses.serialize(keras.losses.Huber(delta=2.0))["config"]["delta"]
        2.0
    """
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    return getattr(loss, "__name__", loss)


def deserialize(name, custom_objects=None):
    """Rebuilds a loss from ``serialize``'s output (``name`` is Keras's name for that config
    dict) or from a loss name.

    Args:
        name: a loss config dict (or name).
        custom_objects: a dict of name -> class/function for losses of your own.

    Example:
        >>> type(deserialize(serialize(MeanSquaredError()))).__name__
        'MeanSquaredError'
    """
    config = name
    if isinstance(config, str):
        return get(config)
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        fn = _BY_NAME.get(name)
        if fn is None:
            raise ValueError(f"Unknown loss: '{name}'. Expected one of {sorted(_CLASSES)}.")
        return LossFunctionWrapper(fn, name=name)
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """Resolves a loss identifier as Keras does: a function for a function's name, an
    instance for a class's name or a class, the object itself for a ``Loss`` or a callable.

    ``compile(loss=...)`` wraps functions in ``LossFunctionWrapper`` itself (sample weights,
    reduction).

    Args:
        identifier: a name (``"mse"``, ``"MeanSquaredError"``), a config dict, a ``Loss``
            class or instance, or a callable; None returns None.

    Returns:
        A loss function or a ``Loss`` instance (or None).

    Example:
        >>> keras.losses.get("mse").__name__
        'mean_squared_error'
        >>> type(keras.losses.get({"class_name": "Huber", "config": {"delta": 2.0}})).__name__
        'Huber'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _CLASSES.get(identifier) or _BY_NAME.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret loss identifier: '{identifier}'. Expected one "
                             f"of {sorted(set(_BY_NAME) | set(_CLASSES))}.")
    else:
        obj = identifier
    if isinstance(obj, type):
        return obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Expected a name, "
                     f"a config dict, a Loss or a callable.")


# Keras 3's newer losses live in losses_more.py; registered here under their names.
from nnfast import losses_more as _more  # noqa: E402
from nnfast.losses_more import (  # noqa: E402
    CTC,
    CategoricalGeneralizedCrossEntropy,
    Circle,
    Dice,
    Tversky,
    categorical_generalized_cross_entropy,
    circle,
    ctc,
    dice,
    tversky,
)

_CLASSES.update({c.__name__: c for c in _more.CLASSES})
_FUNCTIONS.update({f.__name__: f for f in _more.FUNCTIONS})
_BY_NAME.update({f.__name__: f for f in _more.FUNCTIONS})
