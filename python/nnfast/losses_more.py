"""Losses added in Keras 3: Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy and
CTC, as functions and LossFunctionWrapper classes (Keras 3.15's formulas)."""
import numpy as np

from nnfast import ops
from nnfast.backend.global_state import epsilon
from nnfast.losses import LossFunctionWrapper
from nnfast.ops._util import value
from nnfast.ops.ctc import ctc_loss


def _pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(np.asarray(value(y_true), np.float32))
    return y_true, y_pred


def dice(y_true, y_pred, axis=None):
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps)``,
    summed over ``axis`` (None: all axes, one value for the batch).

    Args:
        y_true: ground-truth values, a tensor of the shape of ``y_pred``.
        y_pred: predicted probabilities.
        axis: the axes summed over (None: all; use the spatial axes for one value per sample).

    Example:
        >>> losses.dice(np.array([[1.0, 0.0]]), np.array([[0.8, 0.1]]))  # 1 - 1.6/1.9
        <Tensor shape=() dtype=float32
        array(0.15789479, dtype=float32)>
    """
    y_true, y_pred = _pair(y_true, y_pred)
    inter = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    denom = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)), epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(2.0, inter), denom))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Tversky loss ``1 - TP / (TP + alpha * FP + beta * FN + eps)`` with soft counts
    ``TP = sum(t * p)``, ``FP = sum((1 - p) * t)``, ``FN = sum(p * (1 - t))`` (Keras's
    naming), summed over ``axis``.

    Args:
        y_true: ground-truth values, a tensor of the shape of ``y_pred``.
        y_pred: predicted probabilities.
        alpha: the weight of the false-positive term (default 0.5).
        beta: the weight of the false-negative term (default 0.5).
        axis: the axes summed over (None: all).

    Returns:
        The loss, reduced over ``axis`` (a scalar with ``axis=None``).

    Example:
        >>> losses.tversky(np.array([[1.0, 0.0]]), np.array([[0.8, 0.1]]), alpha=0.7, beta=0.3)
        ... # 1 - 0.8 / (0.8 + 0.7 * 0.2 + 0.3 * 0.1) = 0.175
        <Tensor shape=() dtype=float32
        array(0.17525786, dtype=float32)>
    """
    y_true, y_pred = _pair(y_true, y_pred)
    inter = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    fp = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    fn = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    denom = ops.add(ops.add(ops.add(inter, ops.multiply(fp, alpha)), ops.multiply(fn, beta)),
                    epsilon())
    return ops.subtract(1.0, ops.divide(inter, denom))


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy (Zhang & Sabuncu, 2018) for integer labels ``y_true``
    (batch,) and probabilities ``y_pred`` (batch, classes): ``(1 - p_true**q) / q``.

    Args:
        y_true: ``(batch,)`` integer class labels.
        y_pred: ``(batch, classes)`` probabilities.
        q: in (0, 1): towards 0 the loss approaches cross-entropy, at 1 it is the mean absolute
            error.

    Returns:
        ``(batch,)`` losses.

    Example:
        >>> losses.categorical_generalized_cross_entropy(
        ...     np.array([0, 1]), np.array([[0.9, 0.1], [0.4, 0.6]]), q=0.5)  # [0.103, 0.451]
        <Tensor shape=(2,) dtype=float32
        array([0.10263348, 0.45080662], dtype=float32)>
    """
    y_pred = ops.convert_to_tensor(y_pred)
    labels = np.asarray(value(y_true)).astype(np.int64).reshape(-1)
    onehot = np.eye(y_pred.shape[-1], dtype=np.float32)[labels].reshape(y_pred.shape)
    p = ops.sum(ops.multiply(y_pred, onehot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, float(q))), float(q))


# logsumexp over an empty set: a large negative number instead of -inf keeps the gradient
# finite (softplus of it is 0 either way).
_NEG = -1e9


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss (Sun et al., 2020) of L2-normalised embeddings ``y_pred`` (batch, dim)
    with integer labels ``y_true`` (batch,), against ``ref_embeddings``/``ref_labels``
    (default: the batch itself, diagonal removed). One value per sample; samples whose
    loss is 0 are masked out of the mean, as in Keras.

    Args:
        y_true: ``(batch,)`` integer labels.
        y_pred: ``(batch, dim)`` L2-normalised embeddings.
        ref_labels: labels of ``ref_embeddings`` (None: ``y_true``).
        ref_embeddings: ``(n, dim)`` reference embeddings (None: ``y_pred``).
        remove_diagonal: ignore each sample's pair with itself (default True).
        gamma: the scale factor (default 80).
        margin: the relaxation margin (default 0.4).

    Returns:
        ``(batch,)`` losses (a mask marks the nonzero ones).
    """
    y_pred = ops.convert_to_tensor(y_pred)
    labels = np.asarray(value(y_true)).astype(np.int32).reshape(-1, 1)
    ref = y_pred if ref_embeddings is None else ops.convert_to_tensor(ref_embeddings)
    ref_lab = labels if ref_labels is None else \
        np.asarray(value(ref_labels)).astype(np.int32).reshape(-1, 1)
    dist = ops.maximum(ops.subtract(1.0, ops.matmul(y_pred, ops.transpose(ref))), 0.0)
    pos = labels == ref_lab.T
    neg = ~pos
    if remove_diagonal:
        pos = pos & ~np.eye(pos.shape[0], pos.shape[1], dtype=bool)
    posf, negf = pos.astype(np.float32), neg.astype(np.float32)
    pos_w = ops.maximum(ops.multiply(ops.add(dist, margin), posf), 0.0)
    neg_w = ops.maximum(ops.multiply(ops.subtract(1.0 + margin, dist), negf), 0.0)
    pos_wd = ops.multiply(ops.multiply(-float(gamma), pos_w), ops.subtract(margin, dist))
    neg_wd = ops.multiply(ops.multiply(float(gamma), neg_w), ops.subtract(1.0 - margin, dist))
    p_loss = ops.logsumexp(ops.where(pos, pos_wd, _NEG), axis=1)
    n_loss = ops.logsumexp(ops.where(neg, neg_wd, _NEG), axis=1)
    loss = ops.softplus(ops.add(p_loss, n_loss))
    loss._keras_mask = np.asarray(loss.value > 0)
    return loss


def ctc(y_true, y_pred):
    """CTC loss of integer label sequences ``y_true`` (batch, max_label_length), padded
    with 0 (the blank, Keras's ``mask_index``), and logits ``y_pred`` (batch, steps,
    classes). One negative log-likelihood per sample.

    Args:
        y_true: ``(batch, max_label_length)`` integer labels, 0-padded.
        y_pred: ``(batch, steps, classes)`` logits.

    Returns:
        ``(batch,)`` negative log-likelihoods.

    Raises:
        ValueError: when ``y_true`` is not 2-D or ``y_pred`` not 3-D.

    Example:
        >>> losses.ctc(np.array([[1, 2]]), np.zeros((1, 5, 4), "float32"))  # [3.376]
        <Tensor shape=(1,) dtype=float32
        array([3.3761237], dtype=float32)>
    """
    t = np.asarray(value(y_true))
    y_pred = ops.convert_to_tensor(y_pred)
    if t.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         f"`(batch_size, max_length)` in integer format. Received: "
                         f"y_true.shape={t.shape}")
    if y_pred.ndim != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. Received: "
                         f"y_pred.shape={y_pred.shape}")
    t = t.astype(np.int64)
    label_length = np.sum(t != 0, axis=-1)
    output_length = np.full((t.shape[0],), y_pred.shape[1], np.int64)
    return ctc_loss(t, y_pred, label_length, output_length, mask_index=0)


class Dice(LossFunctionWrapper):
    """Dice loss (see :func:`dice`) for segmentation: 0 when prediction and target overlap
    exactly.

    Args:
        reduction: how per-sample losses are combined: ``"sum_over_batch_size"`` (default, the
            mean), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``, ``"none"`` or None
            (per-sample losses).
        name: the loss's name (its key in the history).
        axis: the axes summed over (None: all).
        dtype: the dtype of the loss computation (None: floatx).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(loss=Dice(), optimizer="adam")
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(LossFunctionWrapper):
    """Tversky loss (see :func:`tversky`); ``alpha=beta=0.5`` is the Dice loss.

    Args:
        alpha: the weight of the false-positive term (default 0.5).
        beta: the weight of the false-negative term (default 0.5).
        reduction: how per-sample losses are combined: ``"sum_over_batch_size"`` (default, the
            mean), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``, ``"none"`` or None
            (per-sample losses).
        name: the loss's name (its key in the history).
        axis: the axes summed over (None: all).
        dtype: the dtype of the loss computation (None: floatx).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(loss=Tversky(alpha=0.7, beta=0.3), optimizer="adam")  # recall-weighted
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


class Circle(LossFunctionWrapper):
    """Circle loss (see :func:`circle`) for metric learning.

    Args:
        gamma: the scale factor (default 80).
        margin: the relaxation margin (default 0.4).
        remove_diagonal: ignore each sample's pair with itself (default True).
        reduction: how per-sample losses are combined: ``"sum_over_batch_size"`` (default, the
            mean), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``, ``"none"`` or None
            (per-sample losses).
        name: the loss's name (its key in the history).
        dtype: the dtype of the loss computation (None: floatx).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(loss=Circle(gamma=80, margin=0.4), optimizer="adam")
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy for noisy labels, ``q`` in (0, 1) (see
    :func:`categorical_generalized_cross_entropy`).

    Args:
        q: in (0, 1) (default 0.5); other values raise ValueError.
        reduction: how per-sample losses are combined: ``"sum_over_batch_size"`` (default, the
            mean), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``, ``"none"`` or None
            (per-sample losses).
        name: the loss's name (its key in the history).
        dtype: the dtype of the loss computation (None: floatx).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(loss=CategoricalGeneralizedCrossEntropy(q=0.7), optimizer="adam")
    """

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1). Received: q={q}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction,
                         name=name, dtype=dtype, q=q)
        self.q = q


class CTC(LossFunctionWrapper):
    """CTC loss (see :func:`ctc`): ``y_true`` label ids padded with 0, ``y_pred`` logits.

    Args:
        reduction: how per-sample losses are combined: ``"sum_over_batch_size"`` (default, the
            mean), ``"sum"``, ``"mean"``, ``"mean_with_sample_weight"``, ``"none"`` or None
            (per-sample losses).
        name: the loss's name (its key in the history).
        dtype: the dtype of the loss computation (None: floatx).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(loss=CTC(), optimizer="adam")  # y_true: 0-padded label ids
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


CLASSES = (Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy, CTC)
FUNCTIONS = (dice, tversky, circle, categorical_generalized_cross_entropy, ctc)
