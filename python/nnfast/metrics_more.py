"""Keras 3 metrics added beside metrics.py: the IoU variants (BinaryIoU, OneHotIoU,
OneHotMeanIoU), correlation metrics (Pearson, concordance), the *At* confusion-curve
metrics (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
SpecificityAtSensitivity) and function forms Keras also lists in keras.metrics."""

import numpy as np

from nnfast import losses as _losses
from nnfast.backend.global_state import epsilon
from nnfast.metrics import (IoU, MeanMetricWrapper, Metric, _confusion_counts, _divide_no_nan,
                            _from_loss, _np, _squeeze_or_expand)

# --- IoU variants ------------------------------------------------------------------------------


class BinaryIoU(IoU):
    """IoU of binary labels: predictions ``>= threshold`` are class 1.

    Args:
        target_class_ids: (0, 1) by default (the mean of both classes' IoU).
        threshold: decision threshold on ``y_pred``.
        name: name of the metric (None: ``"binary_iou"``).
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = BinaryIoU(target_class_ids=[1], threshold=0.5)
        >>> m.update_state([0, 1, 1], [0.2, 0.7, 0.4]); m.result()  # 1 / 2
        0.4999999250000088
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = (_np(y_pred, np.float32) >= self.threshold).astype(np.int64)
        super().update_state(_np(y_true, np.float32).astype(np.int64), p, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class OneHotIoU(IoU):
    """IoU with one-hot ``y_true`` and score rows ``y_pred`` (argmax over ``axis``).

    Args:
        num_classes: the number of classes (the confusion matrix is ``num_classes`` square).
        target_class_ids: the classes whose IoUs are averaged.
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.
        ignore_class: a class id left out of the metric (its targets are masked); None: none.
        sparse_y_pred: whether ``y_pred`` holds class ids (True) or per-class scores whose argmax
            is taken (False). Defaults to ``False``.
        axis: the class axis. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
        >>> m.update_state(np.eye(3)[[0, 0, 1, 2]], np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7],
        ...                                                  [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]))
        >>> round(float(m.result()), 4)
        0.1667
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(OneHotIoU):
    """Mean IoU over all classes with one-hot ``y_true`` and score rows ``y_pred``.

    Args:
        num_classes: the number of classes (the confusion matrix is ``num_classes`` square).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.
        ignore_class: a class id left out of the metric (its targets are masked); None: none.
        sparse_y_pred: whether ``y_pred`` holds class ids (True) or per-class scores whose argmax
            is taken (False). Defaults to ``False``.
        axis: the class axis. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.OneHotMeanIoU(num_classes=3)
        >>> m.update_state(np.eye(3)[[0, 0, 1, 2]], np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7],
        ...                                                  [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]))
        >>> round(float(m.result()), 4)
        0.1111
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


# --- correlations ---------------------------------------------------------------------------


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation of ``y_true`` and ``y_pred`` along ``axis`` (one per sample).

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        axis: the axis along which the metric is computed. Defaults to ``-1``.

    Example:
        >>> keras.metrics.pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.5]]).round(4)
        array([0.9979])
    """
    p = _np(y_pred, np.float64)
    t = _np(y_true, np.float64)
    t, p = _squeeze_or_expand(t, p)
    tn = t - t.mean(axis=axis, keepdims=True)
    pn = p - p.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        tn = tn / tn.std(axis=axis, keepdims=True)
        pn = pn / pn.std(axis=axis, keepdims=True)
    return np.mean(tn * pn, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along ``axis``, with Keras 3.15's formula (its
    covariance term centres ``y_true`` on the mean of ``y_pred``).

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        axis: the axis along which the metric is computed. Defaults to ``-1``.

    Example:
        >>> keras.metrics.concordance_correlation([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]).round(4)
        array([1.])
    """
    p = _np(y_pred, np.float64)
    t = _np(y_true, np.float64)
    t, p = _squeeze_or_expand(t, p)
    tm, pm = t.mean(axis=axis, keepdims=True), p.mean(axis=axis, keepdims=True)
    tv, pv = np.var(t - tm, axis=axis, keepdims=True), np.var(p - pm, axis=axis, keepdims=True)
    covar = (t - pm) * (p - pm)
    norm = tv + pv + np.square(tm - pm)
    return np.mean(2 * covar / (norm + epsilon()), axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Running mean of the per-sample Pearson correlation (see :func:`pearson_correlation`).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"pearson_correlation"``.
        dtype: dtype of the metric's state and result; None: float32.
        axis: the axis along which the metric is computed. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.PearsonCorrelation()
        >>> m.update_state(np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 4.0, 6.5]]))
        >>> round(float(m.result()), 4)
        0.9979
    """
    _direction = "up"

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """Running mean of the per-sample concordance correlation.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"concordance_correlation"``.
        dtype: dtype of the metric's state and result; None: float32.
        axis: the axis along which the metric is computed. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.ConcordanceCorrelation()
        >>> m.update_state(np.array([[1.0, 2.0, 3.0]]), np.array([[1.5, 2.0, 3.0]]))
        >>> round(float(m.result()), 4)
        0.9231
    """
    _direction = "up"

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


# --- metrics at a point of the confusion curve ------------------------------------------------


class _AtConstraint(Metric):
    """Confusion counts at ``num_thresholds`` thresholds (0, i/(n-1)..., 1; positive iff
    ``y_pred > threshold``); ``result`` is the best ``dependent`` value among thresholds
    whose ``constrained`` value reaches ``value``."""
    _direction = "up"
    _arg = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._arg}` must be in the range [0, 1]. "
                             f"Received: {self._arg}={value}")
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        super().__init__(name=name, dtype=dtype)
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        setattr(self, self._arg, value)
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = ([0.0] + [(i + 1) / (num_thresholds - 1)
                                        for i in range(num_thresholds - 2)] + [1.0])
        self._th = np.asarray(self.thresholds, np.float32)
        self.reset_state()

    def reset_state(self):
        n = len(self.thresholds)
        self.true_positives, self.false_positives = np.zeros(n), np.zeros(n)
        self.true_negatives, self.false_negatives = np.zeros(n), np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, self._th, sample_weight,
                                           class_id=self.class_id)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _rates(self):
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        return {"recall": _divide_no_nan(tp, tp + fn), "precision": _divide_no_nan(tp, tp + fp),
                "specificity": _divide_no_nan(tn, tn + fp)}

    def _best(self, constrained, dependent):
        rates = self._rates()
        feasible = rates[constrained] >= self.value
        return float(max(np.max(np.where(feasible, rates[dependent], 0.0)), 0.0))

    def get_config(self):
        config = super().get_config()
        config.update({"class_id": self.class_id, "num_thresholds": self.num_thresholds,
                       self._arg: self.value})
        return config


class SensitivityAtSpecificity(_AtConstraint):
    """Best sensitivity (recall) among thresholds with specificity >= ``specificity``.

    Args:
        specificity: the specificity in [0, 1] to reach.
        num_thresholds: how many evenly spaced thresholds approximate the curve. Defaults to
            ``200``.
        class_id: compute the metric for this one class (an index of the last axis); None: all
            classes treated as one binary problem.
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = SensitivityAtSpecificity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); m.result()  # 0.5
        0.5
    """
    _arg = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("specificity", "recall")


class SpecificityAtSensitivity(_AtConstraint):
    """Best specificity among thresholds with sensitivity >= ``sensitivity``.

    Args:
        sensitivity: the sensitivity in [0, 1] to reach.
        num_thresholds: how many evenly spaced thresholds approximate the curve. Defaults to
            ``200``.
        class_id: compute the metric for this one class (an index of the last axis); None: all
            classes treated as one binary problem.
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.SpecificityAtSensitivity(sensitivity=0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> round(float(m.result()), 4)
        0.6667
    """
    _arg = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("recall", "specificity")


class PrecisionAtRecall(_AtConstraint):
    """Best precision among thresholds with recall >= ``recall``.

    Args:
        recall: the recall in [0, 1] to reach.
        num_thresholds: how many evenly spaced thresholds approximate the curve. Defaults to
            ``200``.
        class_id: compute the metric for this one class (an index of the last axis); None: all
            classes treated as one binary problem.
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.PrecisionAtRecall(recall=0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> round(float(m.result()), 4)
        0.5
    """
    _arg = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("recall", "precision")


class RecallAtPrecision(_AtConstraint):
    """Best recall among thresholds with precision >= ``precision``.

    Args:
        precision: the precision in [0, 1] to reach.
        num_thresholds: how many evenly spaced thresholds approximate the curve. Defaults to
            ``200``.
        class_id: compute the metric for this one class (an index of the last axis); None: all
            classes treated as one binary problem.
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.RecallAtPrecision(precision=0.8)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> round(float(m.result()), 4)
        0.5
    """
    _arg = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("precision", "recall")


# --- function forms keras.metrics also exports --------------------------------------------


huber = _from_loss(_losses.huber)
binary_focal_crossentropy = _from_loss(_losses.binary_focal_crossentropy)
categorical_focal_crossentropy = _from_loss(_losses.categorical_focal_crossentropy)

CLASSES = (BinaryIoU, OneHotIoU, OneHotMeanIoU, PearsonCorrelation, ConcordanceCorrelation,
           SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
           RecallAtPrecision)
