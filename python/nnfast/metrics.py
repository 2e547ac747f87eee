"""Stateful metrics (``update_state`` / ``result`` / ``reset_state``) with Keras 3's names,
arguments and numbers.

Metrics run outside the gradient tape on the NumPy outputs of each batch, and keep their
state in float64 NumPy scalars/arrays (Keras keeps float32 variables; the difference is
below float32 rounding for the counts a training run reaches).

``"accuracy"``/``"acc"`` resolve by shapes as Keras resolves them: a last output dimension
of 1 gives binary accuracy; targets of lower rank (or a last dimension of 1 against a wider
output) give sparse categorical accuracy; otherwise categorical accuracy. Any other string
is a metric's snake_case class name (``"auc"``, ``"precision"``, ``"f1_score"``) or an alias
(``"mse"``, ``"mae"``, ``"mape"``, ``"msle"``, ``"bce"``); the log key is the string given.

Example:
    >>> m = Precision(thresholds=0.6)
    >>> m.update_state([0, 1, 1], [0.2, 0.7, 0.5])
    >>> m.result()
    1.0
"""
import inspect
import warnings

import numpy as np

from nnfast import initializers as _initializers
from nnfast import losses as _losses
from nnfast.backend import global_state as _global_state
from nnfast.backend import tensor as _tensor
from nnfast.backend.global_state import epsilon as _epsilon  # noqa: E402  (keras.config.epsilon)
from nnfast.backend.global_state import floatx as _floatx  # noqa: E402
from nnfast.ops._util import value as _value

_NEG_INF = -1e10


def _np(x, dtype=None):
    # Metrics compute in floatx as Keras's: under float64, float64 values are not narrowed.
    a = np.asarray(_raw(x) if dtype is np.float64 and _floatx() == "float64" else _value(x))
    return a if dtype is None else a.astype(dtype, copy=False)


def _squeeze_or_expand(t, p):
    """Keras's squeeze_or_expand_to_same_rank for NumPy arrays."""
    if t.ndim == p.ndim + 1 and t.shape[-1] == 1:
        t = t[..., 0] if p.ndim != 1 else t
        if p.ndim == 1:
            p = p[..., None]
    elif p.ndim == t.ndim + 1 and p.shape[-1] == 1:
        if t.ndim == 1:
            t = t[..., None]
        else:
            p = p[..., 0]
    return t, p


def _raw(x):
    """The array behind ``x`` with its dtype kept (``value`` narrows float64)."""

    return x.value if isinstance(x, _tensor.Tensor) else np.asarray(x)


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)
    return out if out.ndim else float(out)


def _result(x):
    """Python float for scalars, NumPy array otherwise (what a user prints or logs)."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x.astype(np.float32)


def _is_dtype_name(value):
    if value in ("mixed_float16", "mixed_bfloat16", "bfloat16"):
        return True
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


class Metric:
    """Base class: subclasses implement ``update_state``, ``result`` and ``reset_state``.

    Args:
        dtype: accepted for Keras compatibility (Keras 3's first argument).
        name: the metric name (default: snake_case class name); the log key in ``fit``.

    Example:
        >>> class CountPositives(keras.metrics.Metric):
        ...     def __init__(self, name="positives", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.count = 0.0
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.count += float(np.sum(np.asarray(y_pred) > 0))
        ...     def result(self):
        ...         return self.count
        ...     def reset_state(self):
        ...         self.count = 0.0
        >>> m = CountPositives()
        >>> m.update_state(None, [1.0, -2.0, 3.0])
        >>> m.result()
        2.0
    """

    def __init__(self, dtype=None, name=None):
        if name is None and isinstance(dtype, str) and not _is_dtype_name(dtype):
            # tf.keras's Metric took (name, dtype): `super().__init__("my_metric")`.
            name, dtype = dtype, None
        self.name = name or _global_state.to_snake_case(type(self).__name__)
        # Keras: the metric's dtype is floatx when not given (what custom metrics cast to).
        self.dtype = dtype or "float32"
        self._variables = []

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Creates a state variable of the metric, as Keras 3's ``Metric.add_variable``: not
        trainable, listed in ``variables`` and zeroed by the default ``reset_state``.

        Args:
            shape: the variable's shape (``()`` for a scalar).
            initializer: an initializer or its name (``"zeros"``).
            dtype: the variable's dtype (default: the metric's dtype, float32).
            aggregation: how distributed replicas' values combine: ``"sum"`` (default),
                ``"mean"``, ``"only_first_replica"`` or ``"none"``.
            name: the variable's name.

        Returns:
            The new ``keras.Variable``.

        Example:
            >>> class Total(keras.metrics.Metric):
            ...     def __init__(self, name="total", **kwargs):
            ...         super().__init__(name=name, **kwargs)
            ...         self.total = self.add_variable(shape=(), initializer="zeros", name="total")
            ...     def update_state(self, values, sample_weight=None):
            ...         self.total.assign_add(keras.ops.sum(values))
            ...     def result(self):
            ...         return self.total
            >>> m = Total()
            >>> m.update_state([1.0, 2.0])
            >>> float(m.result()), [v.name for v in m.variables]
            (3.0, ['total'])
        """

        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: you forgot to call "
                               "`super().__init__()` in the `__init__()` method of the metric "
                               "before `add_variable`.")
        variable = _tensor.Variable(initializer=_initializers.get(initializer), shape=shape,
                                    dtype=dtype or self.dtype or "float32", trainable=False,
                                    aggregation=aggregation, synchronization="on_read", name=name)
        variable.path = f"{self.name.replace('/', '>')}/{variable.name}"  # Keras's scope
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Keras's older spelling of ``add_variable`` (zeros when no initializer is given).

        Args:
            shape: the variable's shape (default ``()``).
            initializer: an initializer or its name (default ``"zeros"``).
            dtype: the variable's dtype (default: the metric's dtype).
            name: the variable's name.

        Returns:
            The new ``keras.Variable``.

        Example:
            >>> m = keras.metrics.Metric(name="counter")
            >>> m.add_weight(name="n", shape=(2,)).numpy()
            array([0., 0.], dtype=float32)
        """
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype,
                                 name=name)

    @property
    def variables(self):
        """The state variables: those from ``add_variable``/``add_weight``, then those of
        metrics held as attributes (Keras's order)."""
        out = list(self.__dict__.get("_variables", ()))
        for attribute in self.__dict__.values():
            if isinstance(attribute, Metric) and attribute is not self:
                out.extend(attribute.variables)
        return out

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        """Sets every state variable to zeros (Keras 3's default; metrics keeping their
        state otherwise override it)."""
        for variable in self.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    def reset_states(self):  # tf.keras spelling
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Updates the state with one batch and returns the result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


# --- reductions ----------------------------------------------------------------------------


def _samplewise(values, sample_weight, reduce_fn):
    """Keras's reduce_to_samplewise_values: reduce values down to the weight's rank, weight
    them, then reduce every non-batch axis."""
    values = _np(values, np.float64)
    if sample_weight is not None:
        w = _np(sample_weight, np.float64)
        if values.ndim == w.ndim + 1 and values.shape[-1] == 1:
            if w.ndim == 1:
                w = w[..., None]
            else:
                values = values[..., 0]
        elif w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            if values.ndim == 1:
                values = values[..., None]
            else:
                w = w[..., 0]
        if values.ndim > w.ndim:
            values = reduce_fn(values, axis=tuple(range(w.ndim, values.ndim)))
        try:
            w = np.broadcast_to(w, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {np.shape(_value(sample_weight))} cannot be "
                             f"broadcast to values of shape {values.shape}") from None
        values = values * w
        if w.ndim > 1:
            w = reduce_fn(w, axis=tuple(range(1, w.ndim)))
        sample_weight = w
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Mean(Metric):
    """Weighted running mean: ``total += sum(v * w)``, ``count += sum(w)`` (the number of
    samples when unweighted); higher-rank values are first averaged per sample.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"mean"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Mean()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0])
        >>> float(m.result())
        4.0
        >>> m.update_state([9.0], sample_weight=[4.0])
        >>> float(m.result())
        6.5
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _samplewise(values, sample_weight, np.mean)
        # NOTE: np.add.reduce is np.sum's own reduction (the same pairwise sum) without its
        # Python dispatch layers, which cost more than the sum on a batch of values.
        self.total += float(np.add.reduce(values, axis=None))
        if sample_weight is not None:
            self.count += float(np.add.reduce(sample_weight, axis=None))
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Metric):
    """Weighted running sum of the values.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to ``"sum"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Sum()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0])
        >>> float(m.result())
        16.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(values, sample_weight, np.sum)
        self.total += float(np.sum(values))

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """A running mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    A mask on ``y_pred`` (``_keras_mask``) zeroes the weights of masked entries.

    Args:
        fn: the metric function ``fn(y_true, y_pred, **kwargs)`` returning one value per sample;
            the metric is the (weighted) mean of those values over all batches.
        name: name of the metric (None: the function's name).
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> def exact(y_true, y_pred):
        ...     return keras.ops.cast(keras.ops.equal(y_true, y_pred), "float32")
        >>> m = keras.metrics.MeanMetricWrapper(exact, name="exact")
        >>> m.update_state([[1.0], [2.0]], [[1.0], [3.0]])
        >>> float(m.result())
        0.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        values = _np(self._fn(y_true, y_pred, **self._fn_kwargs), np.float64)
        if mask is not None:
            mask = np.asarray(mask, np.float64)
            sample_weight = mask if sample_weight is None else _np(sample_weight, np.float64) * mask
        super().update_state(values, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(self._fn_kwargs)
        return config


# --- per-sample metric functions -------------------------------------------------------------


def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` exactly.

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.

    Example:
        >>> keras.metrics.accuracy([[1], [2]], [[1], [3]])
        array([[1.],
               [0.]], dtype=float32)
    """
    t, p = _squeeze_or_expand(_np(y_true), _np(y_pred))
    return (t == p).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_true == (y_pred > threshold)`` (strictly greater).

    Args:
        y_true: ground-truth values, shape ``(batch, d0, ..., dN)``.
        y_pred: predicted values, the same shape as ``y_true``.
        threshold: predictions above this count as positive. Defaults to ``0.5``.

    Example:
        >>> keras.metrics.binary_accuracy([[1], [0]], [[0.7], [0.6]])
        array([[1.],
               [0.]], dtype=float32)
    """
    t, p = _squeeze_or_expand(_np(y_true), _np(y_pred))
    return (t == (p > threshold).astype(t.dtype if t.dtype != bool else np.float32)).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) == argmax(y_true) (the first index wins ties).

    Args:
        y_true: one-hot targets, shape ``(batch, num_classes)``.
        y_pred: class scores, shape ``(batch, num_classes)``.

    Example:
        >>> keras.metrics.categorical_accuracy([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
        array([1., 0.], dtype=float32)
    """
    t = np.argmax(_np(y_true), axis=-1)
    p = np.argmax(_np(y_pred), axis=-1)
    return (t == p).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals the integer label; labels ``(N,)`` or ``(N, 1)``.

    Args:
        y_true: integer class ids, shape ``(batch,)`` or ``(batch, 1)``.
        y_pred: class scores, shape ``(batch, num_classes)``.

    Example:
        >>> keras.metrics.sparse_categorical_accuracy([1, 0], [[0.2, 0.8], [0.3, 0.7]])
        array([1., 0.], dtype=float32)
    """
    t, p = _np(y_true), _np(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return (t.astype(np.float64) == np.argmax(p, axis=-1)).astype(np.float32)


def _in_top_k(targets, predictions, k):
    """TF's in_top_k: the target's score is beaten by fewer than k classes (ties count as
    in); non-finite target scores are never in."""
    predictions = np.asarray(predictions, np.float32)
    rows = np.arange(len(targets))
    target_scores = predictions[rows, targets]
    beaten = np.sum(predictions > target_scores[:, None], axis=-1)
    return (beaten < k) & np.isfinite(target_scores)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target is among the ``k`` highest predictions.

    Args:
        y_true: one-hot targets, shape ``(batch, num_classes)``.
        y_pred: class scores, shape ``(batch, num_classes)``.
        k: how many of the highest-scored classes count as a hit. Defaults to ``5``.

    Example:
        >>> keras.metrics.top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], k=2)
        array([0.], dtype=float32)
    """
    t = np.argmax(_np(y_true), axis=-1)
    p = _np(y_pred)
    shape = t.shape
    out = _in_top_k(t.reshape(-1), p.reshape(-1, p.shape[-1]), k)
    return out.reshape(shape).astype(np.float32)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer target is among the ``k`` highest predictions (or, with
    ``from_sorted_ids``, among the first ``k`` ids of ``y_pred``).

    Args:
        y_true: integer class ids, shape ``(batch,)`` or ``(batch, 1)``.
        y_pred: class scores ``(batch, num_classes)`` (or sorted ids with ``from_sorted_ids``).
        k: how many of the highest-scored classes count as a hit. Defaults to ``5``.
        from_sorted_ids: whether ``y_pred`` already holds class ids sorted by score (the first
            ``k`` of each row are the top ones) instead of scores. Defaults to ``False``.

    Example:
        >>> keras.metrics.sparse_top_k_categorical_accuracy([2], [[0.5, 0.3, 0.2]], k=2)
        array([0.], dtype=float32)
    """
    t, p = _np(y_true), _np(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    t = t.astype(np.int64)
    if from_sorted_ids:
        return np.any(p[..., :k] == t[..., None], axis=-1).astype(np.float32)
    shape = t.shape
    out = _in_top_k(t.reshape(-1), p.reshape(-1, p.shape[-1]), k)
    return out.reshape(shape).astype(np.float32)


def _from_loss(loss_fn, name=None, negate=False):
    """The metric form of a per-sample loss function of ``nnfast.losses`` (as Keras's
    metrics wrap its losses): the same values, returned as a NumPy float32 array.

    Metrics run outside the gradient tape: tensors are read as arrays, so a metric updated
    inside a custom ``train_step`` records nothing. Targets and predictions are aligned with
    Keras's ``squeeze_or_expand_to_same_rank`` first, as ``MeanMetricWrapper`` does in Keras.

    Args:
        loss_fn: a function ``(y_true, y_pred, **kwargs)`` of ``nnfast.losses``.
        name: the function's name (default: the loss function's).
        negate: return ``-loss`` (cosine similarity: the loss is the negated metric).

    Example:
        >>> from nnfast import losses
        >>> mse = _from_loss(losses.mean_squared_error)
        >>> mse([[0.0, 1.0]], [[1.0, 1.0]])  # array([0.5], dtype=float32)
    """
    def metric_fn(y_true, y_pred, *args, **kwargs):
        # float64 predictions (float64 models) are measured in float64, others in float32
        dtype = np.float64 if _losses._is_float64(y_pred) else np.float32
        t, p = _squeeze_or_expand(_np(y_true) if dtype == np.float32 else _raw(y_true),
                                  _raw(y_pred).astype(dtype, copy=False))
        out = np.asarray(_raw(loss_fn(t, p, *args, **kwargs)), dtype)
        return -out if negate else out

    metric_fn.__name__ = metric_fn.__qualname__ = name or loss_fn.__name__
    metric_fn.__doc__ = ("The per-sample values of nnfast.losses." + loss_fn.__name__
                         + (", negated" if negate else "") + ", as a NumPy float32 array.\n\n"
                         + inspect.cleandoc(loss_fn.__doc__ or ""))
    metric_fn.__signature__ = inspect.signature(loss_fn)
    metric_fn.loss_fn = loss_fn
    return metric_fn


# Keras's metrics are its loss functions; these share losses.py's code and epsilons.
mean_squared_error = _from_loss(_losses.mean_squared_error)
mean_absolute_error = _from_loss(_losses.mean_absolute_error)
mean_absolute_percentage_error = _from_loss(_losses.mean_absolute_percentage_error)
mean_squared_logarithmic_error = _from_loss(_losses.mean_squared_logarithmic_error)
log_cosh = _from_loss(_losses.log_cosh)
# Keras's metric is the positive similarity; its loss is the negation.
cosine_similarity = _from_loss(_losses.cosine_similarity, negate=True)
hinge = _from_loss(_losses.hinge)
squared_hinge = _from_loss(_losses.squared_hinge)
categorical_hinge = _from_loss(_losses.categorical_hinge)
kl_divergence = _from_loss(_losses.kl_divergence)
poisson = _from_loss(_losses.poisson)
categorical_crossentropy = _from_loss(_losses.categorical_crossentropy)
sparse_categorical_crossentropy = _from_loss(_losses.sparse_categorical_crossentropy)
binary_crossentropy = _from_loss(_losses.binary_crossentropy)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error


# --- mean-metric classes -----------------------------------------------------------------------


def _wrapper_class(class_name, fn, default_name, params=(), doc=""):
    """A MeanMetricWrapper subclass of ``fn`` with Keras's constructor: ``name, dtype`` then
    the function's arguments (the top-k metrics take ``k`` first, as Keras)."""
    params = dict(params)
    first = _PARAMS_FIRST.get(class_name, 0)
    order = list(params)[:first] + ["name", "dtype"] + list(params)[first:]

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{class_name}() takes at most {len(order)} positional arguments")
        values = dict(params, name=default_name, dtype=None)
        values.update(zip(order, args))
        unknown = set(kwargs) - set(values)
        if unknown:
            raise TypeError(f"{class_name}() got unexpected keyword arguments {sorted(unknown)}")
        values.update(kwargs)
        name, dtype = values.pop("name"), values.pop("dtype")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # What the constructor accepts, spelled out for help() and inspect.signature (Keras's).
    defaults = dict(params, name=default_name, dtype=None)
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", kind)]
        + [inspect.Parameter(k, kind, default=defaults[k]) for k in order])
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc,
                                                   "from_config": from_config})


# The top-k metrics take ``k`` before name/dtype (Keras's signatures): how many come first.
_PARAMS_FIRST = {"TopKCategoricalAccuracy": 1, "SparseTopKCategoricalAccuracy": 1}

Accuracy = _wrapper_class("Accuracy", accuracy, "accuracy", doc="""How often predictions equal
    targets exactly: the (weighted) fraction of ``y_pred == y_true`` over all batches.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"accuracy"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Accuracy()
        >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        >>> float(m.result())
        0.75
    """)
BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                                (("threshold", 0.5),),
                                """How often binary predictions match their 0/1 targets: the
    fraction of ``(y_pred > threshold) == y_true``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"binary_accuracy"``.
        dtype: dtype of the metric's state and result; None: float32.
        threshold: predictions above it count as 1. Defaults to ``0.5``.

    Example:
        >>> m = keras.metrics.BinaryAccuracy()
        >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        >>> float(m.result())
        0.75
    """)
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy,
                                     "categorical_accuracy",
                                     doc="""How often the highest-scored class is the one-hot
    target's class: the fraction of ``argmax(y_pred) == argmax(y_true)``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"categorical_accuracy"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.CategoricalAccuracy()
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> float(m.result())
        0.5
    """)
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy",
    doc="""How often the highest-scored class is the integer target: the fraction of
    ``argmax(y_pred) == y_true``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"sparse_categorical_accuracy"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.SparseCategoricalAccuracy()
        >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        >>> float(m.result())
        0.5
    """)
TopKCategoricalAccuracy = _wrapper_class(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "top_k_categorical_accuracy",
    (("k", 5),), """How often the one-hot target's class is among the ``k`` highest-scored classes.

    Args:
        k: how many of the highest-scored classes count as a hit. Defaults to ``5``.
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"top_k_categorical_accuracy"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.TopKCategoricalAccuracy(k=1)
        >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> float(m.result())
        0.5
    """)
SparseTopKCategoricalAccuracy = _wrapper_class(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy", (("k", 5), ("from_sorted_ids", False)),
    """How often the integer target is among the ``k`` highest-scored classes.

    Args:
        k: how many of the highest-scored classes count as a hit. Defaults to ``5``.
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"sparse_top_k_categorical_accuracy"``.
        dtype: dtype of the metric's state and result; None: float32.
        from_sorted_ids: whether ``y_pred`` already holds class ids sorted by score (the first
            ``k`` of each row are the top ones) instead of scores. Defaults to ``False``.

    Example:
        >>> m = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
        >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> float(m.result())
        0.5
    """)
MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error",
                                  doc="""The (weighted) mean over all batches of each sample's mean
    squared error ``mean((y_true - y_pred) ** 2, axis=-1)``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"mean_squared_error"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.MeanSquaredError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> float(m.result())
        0.25
    """)
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error,
                                   "mean_absolute_error",
                                   doc="""The (weighted) mean over all batches of each sample's
    mean absolute error ``mean(|y_true - y_pred|, axis=-1)``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"mean_absolute_error"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.MeanAbsoluteError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> float(m.result())
        0.25
    """)
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", doc="""The (weighted) mean over all batches of ``100 *
    mean(|y_true - y_pred| / max(|y_true|, epsilon), axis=-1)``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"mean_absolute_percentage_error"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.MeanAbsolutePercentageError()
        >>> m.update_state([[1, 2]], [[1.5, 2]])
        >>> float(m.result())
        25.0
    """)
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", doc="""The (weighted) mean over all batches of ``mean((log(1
    + y_true) - log(1 + y_pred)) ** 2, axis=-1)`` (negative values clipped to 0).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"mean_squared_logarithmic_error"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.MeanSquaredLogarithmicError()
        >>> m.update_state([[0, 0]], [[0, 0]])
        >>> float(m.result())
        0.0
    """)
LogCoshError = _wrapper_class("LogCoshError", log_cosh, "logcosh", doc="""The (weighted) mean over
    all batches of ``mean(log(cosh(y_pred - y_true)), axis=-1)``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"logcosh"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.LogCoshError()
        >>> m.update_state([[0.0]], [[0.0]])
        >>> float(m.result())
        0.0
    """)
CosineSimilarity = _wrapper_class("CosineSimilarity", cosine_similarity, "cosine_similarity",
                                  (("axis", -1),), """The (weighted) mean over all batches of the
    cosine similarity of ``y_true`` and ``y_pred`` along ``axis`` (1: same direction, -1:
    opposite).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"cosine_similarity"``.
        dtype: dtype of the metric's state and result; None: float32.
        axis: the axis along which the vectors lie. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.CosineSimilarity()
        >>> m.update_state([[0, 1], [1, 1]], [[1, 0], [1, 1]])
        >>> round(float(m.result()), 4)
        0.5
    """)
Hinge = _wrapper_class("Hinge", hinge, "hinge", doc="""The (weighted) mean over all batches of
    ``mean(max(1 - y_true * y_pred, 0), axis=-1)`` (0/1 targets are mapped to -1/1 first).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"hinge"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Hinge()
        >>> m.update_state([[0, 1]], [[-1.0, 1.0]])
        >>> float(m.result())
        0.0
    """)
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              doc="""The (weighted) mean over all batches of ``mean(max(1 - y_true
    * y_pred, 0) ** 2, axis=-1)`` (0/1 targets mapped to -1/1 first).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"squared_hinge"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.SquaredHinge()
        >>> m.update_state([[0, 1]], [[0.0, 0.0]])
        >>> float(m.result())
        1.0
    """)
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge",
                                  doc="""The (weighted) mean over all batches of ``max(neg - pos +
    1, 0)``, with ``pos`` the score of the target class and ``neg`` the highest other score.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"categorical_hinge"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.CategoricalHinge()
        >>> m.update_state([[0, 1]], [[0.0, 2.0]])
        >>> float(m.result())
        0.0
    """)
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              doc="""The (weighted) mean over all batches of the Kullback-Leibler
    divergence ``sum(y_true * log(y_true / y_pred), axis=-1)`` (both clipped to ``[epsilon, 1]``).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"kl_divergence"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.KLDivergence()
        >>> m.update_state([[0.5, 0.5]], [[0.5, 0.5]])
        >>> float(m.result())
        0.0
    """)
Poisson = _wrapper_class("Poisson", poisson, "poisson", doc="""The (weighted) mean over all batches
    of the Poisson loss ``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"poisson"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Poisson()
        >>> m.update_state([[0.0]], [[1.0]])
        >>> float(m.result())
        1.0
    """)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    (("from_logits", False), ("label_smoothing", 0.0)), """The (weighted) mean over all batches of
    the binary crossentropy of 0/1 targets and predicted probabilities (or logits).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"binary_crossentropy"``.
        dtype: dtype of the metric's state and result; None: float32.
        from_logits: whether ``y_pred`` holds logits rather than probabilities. Defaults to
            ``False``.
        label_smoothing: in [0, 1]: move the targets that far toward 0.5. Defaults to ``0.0``.

    Example:
        >>> m = keras.metrics.BinaryCrossentropy(from_logits=True)
        >>> m.update_state([[1.0]], [[0.0]])
        >>> round(float(m.result()), 4)
        0.6931
    """)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    (("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)),
    """The (weighted) mean over all batches of the crossentropy of one-hot targets and predicted
    class probabilities (or logits).

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"categorical_crossentropy"``.
        dtype: dtype of the metric's state and result; None: float32.
        from_logits: whether ``y_pred`` holds logits rather than probabilities. Defaults to
            ``False``.
        label_smoothing: in [0, 1]: move the targets that far toward a uniform distribution.
            Defaults to ``0.0``.
        axis: the class axis. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.CategoricalCrossentropy()
        >>> m.update_state([[0, 1]], [[0.5, 0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy",
    (("from_logits", False), ("ignore_class", None), ("axis", -1)),
    """The (weighted) mean over all batches of the crossentropy of integer targets and predicted
    class probabilities (or logits); targets equal to ``ignore_class`` count as 0 in the mean, as
    Keras 3.15's metric on TensorFlow.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"sparse_categorical_crossentropy"``.
        dtype: dtype of the metric's state and result; None: float32.
        from_logits: whether ``y_pred`` holds logits rather than probabilities. Defaults to
            ``False``.
        ignore_class: a class id whose targets contribute 0 (None: none).
        axis: the class axis. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.SparseCategoricalCrossentropy()
        >>> m.update_state([1], [[0.5, 0.5]])
        >>> round(float(m.result()), 4)
        0.6931
    """)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running (weighted) mean of squared errors.

    Args:
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"root_mean_squared_error"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.RootMeanSquaredError()
        >>> m.update_state([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
        >>> float(m.result())
        0.5
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _squeeze_or_expand(_np(y_true, np.float64), _np(y_pred, np.float64))
        super().update_state(np.square(p - t), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


# --- confusion-matrix metrics ----------------------------------------------------------------


def _parse_thresholds(thresholds, default):
    if thresholds is None:
        return np.array([default], np.float32), True
    single = np.ndim(thresholds) == 0
    t = np.atleast_1d(np.asarray(thresholds, np.float32))
    if np.any((t < 0) | (t > 1)):
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds}")
    return t, single


def _filter_top_k(x, k):
    """Keeps the top ``k`` entries of the last axis (lower index first on ties), the rest
    become NEG_INF."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, bool)
    np.put_along_axis(keep, idx, True, axis=-1)
    return np.where(keep, x, np.float32(_NEG_INF)).astype(np.float32)


def _confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None,
                      multi_label=False, label_weights=None):
    """(tp, fp, tn, fn) at each threshold (predicted positive iff ``y_pred > threshold``).
    Shapes: ``(T,)``, or ``(T, labels)`` with ``multi_label``."""
    p = _np(y_pred, np.float32)
    t = _np(y_true)
    t, p = _squeeze_or_expand(t, p)
    t = (t != 0).astype(np.float64)
    if top_k is not None:
        p = _filter_top_k(p, top_k)
    if class_id is not None:
        t, p = t[..., class_id], p[..., class_id]
    w = np.ones(p.shape, np.float64)
    if sample_weight is not None:
        sw = _np(sample_weight, np.float64)
        while sw.ndim > p.ndim and sw.shape[-1] == 1:
            sw = sw[..., 0]
        while sw.ndim < p.ndim:
            sw = sw[..., None]
        w = w * np.broadcast_to(sw, p.shape)
    if label_weights is not None and not multi_label:
        w = w * np.broadcast_to(np.asarray(label_weights, np.float64), p.shape)
    th = np.asarray(thresholds, np.float32)
    if multi_label:
        p2 = p.reshape(-1, p.shape[-1])
        t2 = t.reshape(p2.shape)
        w2 = w.reshape(p2.shape)
        cols = [_counts_1d(t2[:, j], p2[:, j], w2[:, j], th) for j in range(p2.shape[-1])]
        return tuple(np.stack([c[i] for c in cols], axis=-1) for i in range(4))
    return _counts_1d(t.reshape(-1), p.reshape(-1), w.reshape(-1), th)


def _counts_1d(t, p, w, th):
    """Cumulative counts by sorting: an element is positive at threshold j iff
    ``p > th[j]``, i.e. for j < (number of thresholds below p)."""
    order = np.argsort(th, kind="stable")
    ts = th[order]
    above = np.searchsorted(ts, p, side="left")  # thresholds strictly below p
    n = len(th)
    pos_w = np.bincount(above, weights=w * t, minlength=n + 1)
    neg_w = np.bincount(above, weights=w * (1 - t), minlength=n + 1)
    # tp[j] = weight of positives with above > j
    tp_sorted = np.cumsum(pos_w[::-1])[::-1][1:]
    fp_sorted = np.cumsum(neg_w[::-1])[::-1][1:]
    tp = np.empty(n)
    fp = np.empty(n)
    tp[order], fp[order] = tp_sorted, fp_sorted
    total_pos, total_neg = float(np.sum(w * t)), float(np.sum(w * (1 - t)))
    return tp, fp, total_neg - fp, total_pos - tp


class _ConfusionMatrixMetric(Metric):
    """Shared state of TruePositives... Precision, Recall: counts per threshold."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        default = 0.5 if top_k is None else _NEG_INF
        if thresholds is None:
            self.thresholds_array, self._single = np.array([default], np.float32), True
        else:
            self.thresholds_array, self._single = _parse_thresholds(thresholds, default)
        self.init_thresholds = thresholds
        self.thresholds = thresholds if thresholds is not None else default
        self.top_k, self.class_id = top_k, class_id
        self.reset_state()

    def reset_state(self):
        n = len(self.thresholds_array)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.true_negatives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, self.thresholds_array, sample_weight,
                                           self.top_k, self.class_id)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _out(self, x):
        return _result(x[0] if self._single else x)

    def get_config(self):
        config = super().get_config()
        config["thresholds"] = self.init_thresholds
        return config


class _CountMetric(_ConfusionMatrixMetric):
    _field = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self):
        return self._out(getattr(self, self._field))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_CountMetric):
    """Weighted count of positives predicted positive (``y_pred > threshold``, default 0.5).

    Args:
        thresholds: a float or list of floats in [0, 1]: a prediction above a threshold counts as
            positive, one count per threshold (None: 0.5).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.TruePositives()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> float(m.result())
        2.0
    """
    _field = "true_positives"


class FalsePositives(_CountMetric):
    """Weighted count of negatives predicted positive.

    Args:
        thresholds: a float or list of floats in [0, 1]: a prediction above a threshold counts as
            positive, one count per threshold (None: 0.5).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.FalsePositives()
        >>> m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
        >>> float(m.result())
        2.0
    """
    _field = "false_positives"


class TrueNegatives(_CountMetric):
    """Weighted count of negatives predicted negative.

    Args:
        thresholds: a float or list of floats in [0, 1]: a prediction above a threshold counts as
            positive, one count per threshold (None: 0.5).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.TrueNegatives()
        >>> m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
        >>> float(m.result())
        2.0
    """
    _field = "true_negatives"


class FalseNegatives(_CountMetric):
    """Weighted count of positives predicted negative.

    Args:
        thresholds: a float or list of floats in [0, 1]: a prediction above a threshold counts as
            positive, one count per threshold (None: 0.5).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.FalseNegatives()
        >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
        >>> float(m.result())
        2.0
    """
    _field = "false_negatives"


class Precision(_ConfusionMatrixMetric):
    """``tp / (tp + fp)`` (0 when nothing is predicted positive).

    Args:
        thresholds: a float or list in [0, 1] (default 0.5; with ``top_k``, none).
        top_k: only the ``k`` highest predictions of a row count as positive.
        class_id: compute for this class (last-axis index) only.
        name: name of the metric (None: ``"precision"``).
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Precision()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(float(m.result()), 4)
        0.6667
    """

    def result(self):
        return self._out(_divide_no_nan(self.true_positives,
                                        self.true_positives + self.false_positives))

    def get_config(self):
        config = super().get_config()
        config.update({"top_k": self.top_k, "class_id": self.class_id})
        return config


class Recall(Precision):
    """``tp / (tp + fn)`` (0 when there are no positives). Arguments as ``Precision``.

    Args:
        thresholds: a float or list of floats in [0, 1]: a prediction above a threshold counts as
            positive, one count per threshold (None: 0.5).
        top_k: count only the ``top_k`` highest predictions of each row as positive (None: all
            above the threshold).
        class_id: compute the metric for this one class (an index of the last axis); None: all
            classes treated as one binary problem.
        name: name of the metric (None: ``"recall"``).
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.Recall()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(float(m.result()), 4)
        0.6667
    """

    def result(self):
        return self._out(_divide_no_nan(self.true_positives,
                                        self.true_positives + self.false_negatives))


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at
    ``num_thresholds`` evenly spaced thresholds (Keras's Riemann sums).

    Args:
        num_thresholds: default 200 (thresholds ``i/(n-1)``, plus -eps and 1+eps).
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"`` (PR uses Davis & Goadrich's interpolation),
            ``"minoring"`` or ``"majoring"``.
        thresholds: explicit thresholds in [0, 1] instead of ``num_thresholds``.
        multi_label: one curve per label (last axis), averaged (``label_weights``).
        from_logits: apply a sigmoid to ``y_pred`` first.
        name: name of the metric (None: ``"auc"`` with a suffix if taken).
        dtype: dtype of the metric's state and result; None: float32.
        num_labels: with ``multi_label=True``, the number of labels, so the state is made before
            the first batch (None: from the first batch).
        label_weights: with ``multi_label=True``, one weight per label for the average (None: equal
            weights).

    Example:
        >>> m = keras.metrics.AUC(num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> round(float(m.result()), 4)
        0.75
        >>> model = keras.Sequential([keras.Input((4,)),
        ...                           keras.layers.Dense(1, activation="sigmoid")])
        >>> model.compile(optimizer="adam", loss="binary_crossentropy",
        ...               metrics=[keras.metrics.AUC()])
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name, dtype=dtype)
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             '["ROC", "PR"]')
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             'Expected values are ["interpolation", "majoring", "minoring"]')
        if thresholds is not None:
            inner = sorted(float(t) for t in np.atleast_1d(thresholds))
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._init_thresholds = thresholds
        self._thresholds = np.array([0.0 - _epsilon()] + list(inner) + [1.0 + _epsilon()])
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._from_logits = bool(from_logits)
        self.reset_state()

    @property
    def thresholds(self):
        return list(self._thresholds)

    def reset_state(self):
        shape = (self.num_thresholds,)
        if self.multi_label and self.num_labels:
            shape += (self.num_labels,)
        self.true_positives = np.zeros(shape)
        self.false_positives = np.zeros(shape)
        self.true_negatives = np.zeros(shape)
        self.false_negatives = np.zeros(shape)
        self._started = False

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = _np(y_pred, np.float64)
        if self._from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        counts = _confusion_counts(y_true, p.astype(np.float32), self._thresholds, sample_weight,
                                   multi_label=self.multi_label,
                                   label_weights=None if self.multi_label else self.label_weights)
        if self.multi_label and not self._started and self.true_positives.ndim == 1:
            shape = counts[0].shape
            self.true_positives = np.zeros(shape)
            self.false_positives = np.zeros(shape)
            self.true_negatives = np.zeros(shape)
            self.false_negatives = np.zeros(shape)
        self._started = True
        self.true_positives = self.true_positives + counts[0]
        self.false_positives = self.false_positives + counts[1]
        self.true_negatives = self.true_negatives + counts[2]
        self.false_negatives = self.false_negatives + counts[3]

    def _aggregate(self, by_label):
        if not self.multi_label:
            return float(by_label)
        if self.label_weights is None:
            return float(np.mean(by_label))
        return float(_divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights)))

    def _interpolate_pr_auc(self):
        n = self.num_thresholds
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        prec_slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0),
                                _divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide_no_nan(prec_slope * (dtp + intercept * np.log(safe_p_ratio)),
                                   np.maximum(tp[1:] + fn[1:], 0))
        return self._aggregate(np.sum(increment, axis=0))

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        n = self.num_thresholds
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        x, y = np.asarray(x), np.asarray(y)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return self._aggregate(np.sum((x[:n - 1] - x[1:]) * heights, axis=0))

    def get_config(self):
        config = super().get_config()
        config.update({"num_thresholds": self.num_thresholds, "curve": self.curve,
                       "summation_method": self.summation_method,
                       "multi_label": self.multi_label, "num_labels": self.num_labels,
                       "from_logits": self._from_logits,
                       "label_weights": None if self.label_weights is None else self.label_weights.tolist()})
        if self._init_thresholds is not None:
            config["thresholds"] = self.thresholds[1:-1]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("thresholds") is not None:
            config.pop("num_thresholds", None)
        return cls(**config)


# --- F-scores, R2, IoU -----------------------------------------------------------------------


class FBetaScore(Metric):
    """F-beta score per class (``average=None``) or averaged (``"micro"``, ``"macro"``,
    ``"weighted"``). Predictions are binarized at ``threshold``, or, with
    ``threshold=None``, the row maximum is the positive class.

    Inputs are ``(batch, classes)`` one-hot/multi-hot targets and scores.

    Args:
        average: None (one score per class), ``"micro"``, ``"macro"`` or ``"weighted"``.
        beta: how many times recall weighs more than precision. Defaults to ``1.0``.
        threshold: predictions above it count as 1; None: the row's argmax counts as 1.
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"fbeta_score"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.FBetaScore(beta=2.0, threshold=0.5)
        >>> m.update_state(np.array([[1, 0], [0, 1], [1, 0]], np.float32),
        ...                np.array([[0.9, 0.2], [0.6, 0.7], [0.2, 0.1]], np.float32))
        >>> m.result().round(4)
        array([0.5, 1. ], dtype=float32)
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             "[None, 'micro', 'macro', 'weighted']. "
                             f"Received: average={average}")
        if not isinstance(beta, (int, float)) or beta <= 0.0:
            raise ValueError(f"`beta` value should be greater than zero. Received: beta={beta}")
        if threshold is not None and (not isinstance(threshold, float) or threshold > 1.0
                                      or threshold <= 0.0):
            raise ValueError("`threshold` should be a float in the interval (0, 1]. Received: "
                             f"threshold={threshold}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.axis = None if average == "micro" else 0
        self.reset_state()

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = None
        self.intermediate_weights = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true, np.float64), _np(y_pred, np.float64)
        if t.ndim != 2 or p.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs (batch, classes). "
                             f"Received: y_true.shape={t.shape}, y_pred.shape={p.shape}")
        if self.threshold is None:
            p = ((p >= np.max(p, axis=-1, keepdims=True)) & (np.abs(p) > 1e-9)).astype(np.float64)
        else:
            p = (p > self.threshold).astype(np.float64)
        w = None if sample_weight is None else _np(sample_weight, np.float64).reshape(-1, 1)

        def wsum(v):
            return np.sum(v * w if w is not None else v, axis=self.axis)

        parts = (wsum(p * t), wsum(p * (1 - t)), wsum((1 - p) * t), wsum(t))
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.false_negatives, \
                self.intermediate_weights = (np.asarray(x, np.float64) for x in parts)
        else:
            self.true_positives = self.true_positives + parts[0]
            self.false_positives = self.false_positives + parts[1]
            self.false_negatives = self.false_negatives + parts[2]
            self.intermediate_weights = self.intermediate_weights + parts[3]

    def result(self):
        if self.true_positives is None:
            return 0.0
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        precision = tp / (tp + fp + _epsilon())
        recall = tp / (tp + fn + _epsilon())
        b2 = self.beta ** 2
        f = (precision * recall) / (b2 * precision + recall + _epsilon()) * (1 + b2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (np.sum(self.intermediate_weights) + _epsilon())
            f = np.sum(f * weights)
        elif self.average is not None:
            f = np.mean(f)
        return _result(f)

    def get_config(self):
        config = super().get_config()
        config.update({"average": self.average, "beta": self.beta, "threshold": self.threshold})
        return config


class F1Score(FBetaScore):
    """F1 score (``FBetaScore`` with ``beta=1``).

    Args:
        average: None (one score per class), ``"micro"`` (from the global counts), ``"macro"`` (the
            mean of the per-class scores) or ``"weighted"`` (weighted by each class's support).
        threshold: predictions above it count as 1; None: the row's argmax counts as 1.
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"f1_score"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.F1Score(average="macro", threshold=0.5)
        >>> m.update_state(np.array([[1, 0], [0, 1], [1, 0]], np.float32),
        ...                np.array([[0.9, 0.2], [0.6, 0.7], [0.2, 0.1]], np.float32))
        >>> round(float(m.result()), 4)
        0.75
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """Coefficient of determination ``1 - SS_res / SS_tot`` per output, aggregated by
    ``class_aggregation`` (``"uniform_average"``, ``"variance_weighted_average"`` or None);
    ``num_regressors > 0`` gives the adjusted R2. Inputs ``(batch, outputs)``.

    Args:
        class_aggregation: ``"uniform_average"`` (mean over outputs),
            ``"variance_weighted_average"`` (weighted by each output's variance) or None (one score
            per output). Defaults to ``"uniform_average"``.
        num_regressors: number of regressors for the adjusted R2 (0: plain R2). Defaults to ``0``.
        name: name of the metric, the key of its value in the training logs. Defaults to
            ``"r2_score"``.
        dtype: dtype of the metric's state and result; None: float32.

    Example:
        >>> m = keras.metrics.R2Score()
        >>> m.update_state(np.array([[1.0], [4.0], [3.0]]), np.array([[2.0], [4.0], [4.0]]))
        >>> round(float(m.result()), 4)
        0.5714
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in ("uniform_average", "variance_weighted_average", None):
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             "('uniform_average', 'variance_weighted_average', None). "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.reset_state()

    def reset_state(self):
        self.sum = self.squared_sum = self.total_mse = self.count = None
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _squeeze_or_expand(_np(y_true, np.float64), _np(y_pred, np.float64))
        if t.ndim != 2 or p.ndim != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={p.shape} and "
                             f"y_true.shape={t.shape}.")
        w = np.float64(1.0) if sample_weight is None else _np(sample_weight, np.float64)
        if np.ndim(w) == 1:
            w = w[:, None]
        w = np.broadcast_to(w, t.shape)
        parts = (np.sum(t * w, axis=0), np.sum(t * t * w, axis=0),
                 np.sum((t - p) ** 2 * w, axis=0), np.sum(w, axis=0))
        if self.sum is None:
            self.sum, self.squared_sum, self.total_mse, self.count = parts
        else:
            self.sum = self.sum + parts[0]
            self.squared_sum = self.squared_sum + parts[1]
            self.total_mse = self.total_mse + parts[2]
            self.count = self.count + parts[3]
        self.num_samples += t.size

    def result(self):
        if self.sum is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = np.sum(total * raw) / np.sum(total)
        else:
            r2 = raw
        if self.num_regressors:
            n, k = self.num_samples, self.num_regressors
            if k > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                              "Falling back to standard R2 score.", stacklevel=2)
            elif k == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard "
                              "R2 score.", stacklevel=2)
            else:
                r2 = 1.0 - (1.0 - r2) * (n - 1.0) / (n - k - 1.0)
        return _result(r2)

    def get_config(self):
        config = super().get_config()
        config.update({"class_aggregation": self.class_aggregation,
                       "num_regressors": self.num_regressors})
        return config


class IoU(Metric):
    """Intersection-over-union for ``target_class_ids``, averaged over the classes that
    occur (confusion matrix of integer labels vs predicted ids).

    Args:
        num_classes: number of classes.
        target_class_ids: the classes to average over.
        ignore_class: a label left out of the counts.
        sparse_y_true: labels are class ids (True) or one-hot rows (False: argmax over
            ``axis``).
        sparse_y_pred: predictions are class ids (True) or score rows (False: argmax over
            ``axis``).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.
        axis: the class axis of ``y_pred``. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        # Keras 3.15: the confusion matrix is int64 unless a dtype is given.
        super().__init__(name=name, dtype=dtype or "int64")
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.num_classes, self.target_class_ids = int(num_classes), list(target_class_ids)
        self.ignore_class, self.sparse_y_true, self.sparse_y_pred = (
            ignore_class, sparse_y_true, sparse_y_pred)
        self.axis = axis
        self.reset_state()

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true), _np(y_pred)
        if not self.sparse_y_true:
            t = np.argmax(t, axis=self.axis)
        if not self.sparse_y_pred:
            p = np.argmax(p, axis=self.axis)
        t, p = t.reshape(-1).astype(np.int64), p.reshape(-1).astype(np.int64)
        w = np.ones(t.shape) if sample_weight is None else np.broadcast_to(
            _np(sample_weight, np.float64).reshape(-1), t.shape)
        if sample_weight is not None and "int" in str(self.dtype):
            # Keras keeps the confusion matrix in int64 by default: weights are truncated.
            if np.any(w != np.trunc(w)):
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may "
                              "result in an incorrect weight due to type casting Consider "
                              "using integer weights.", stacklevel=2)
            w = np.trunc(w)
        if self.ignore_class is not None:
            valid = t != self.ignore_class
            t, p, w = t * valid, p * valid, w * valid
        if t.size and (t.min() < 0 or t.max() >= self.num_classes or p.min() < 0
                       or p.max() >= self.num_classes):
            raise ValueError(f"Labels and predictions must be in [0, {self.num_classes}).")
        self.total_cm += np.bincount(t * self.num_classes + p, weights=w,
                                     minlength=self.num_classes ** 2).reshape(self.total_cm.shape)

    def result(self):
        cm = self.total_cm
        tp = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
        ids = self.target_class_ids
        tp, denominator = tp[ids], denominator[ids]
        num_valid = np.sum(denominator > 1e-9)
        iou = tp / (denominator + _epsilon())
        return float(np.sum(iou) / (num_valid + _epsilon()))

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                       "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                       "sparse_y_pred": self.sparse_y_pred, "axis": self.axis})
        return config


class MeanIoU(IoU):
    """Mean intersection-over-union over all ``num_classes`` classes (that occur).

    Args:
        num_classes: the number of classes (the confusion matrix is ``num_classes`` square).
        name: name of the metric, the key of its value in the training logs.
        dtype: dtype of the metric's state and result; None: float32.
        ignore_class: a class id left out of the metric (its targets are masked); None: none.
        sparse_y_true: whether ``y_true`` holds class ids (True) or one-hot rows (False). Defaults
            to ``True``.
        sparse_y_pred: whether ``y_pred`` holds class ids (True) or per-class scores whose argmax
            is taken (False). Defaults to ``True``.
        axis: the class axis of ``y_pred``. Defaults to ``-1``.

    Example:
        >>> m = keras.metrics.MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


# Which way is better, for callbacks in mode="auto" (EarlyStopping reads ``_direction``).
for _cls in (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
             TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, CosineSimilarity,
             TruePositives, TrueNegatives, Precision, Recall, AUC, FBetaScore, R2Score, IoU):
    _cls._direction = "up"
for _cls in (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
             MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError, Hinge, SquaredHinge,
             CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
             SparseCategoricalCrossentropy, FalsePositives, FalseNegatives):
    _cls._direction = "down"
del _cls

# --- resolution ------------------------------------------------------------------------------

_CLASS_LIST = (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError,
    CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, TruePositives,
    FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC, FBetaScore, F1Score,
    R2Score, IoU, MeanIoU)
_CLASSES = {c.__name__: c for c in _CLASS_LIST}


def _snake(name):
    return _global_state.to_snake_case(name)


_BY_NAME = {_snake(c.__name__): c for c in _CLASS_LIST}
_BY_NAME.update({"mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError,
                 "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
                 "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
                 "MSLE": MeanSquaredLogarithmicError, "bce": BinaryCrossentropy,
                 "BCE": BinaryCrossentropy, "kld": KLDivergence, "KLD": KLDivergence,
                 "rmse": RootMeanSquaredError, "logcosh": LogCoshError, "log_cosh": LogCoshError,
                 "mean_iou": MeanIoU, "auc": AUC, "top_k_categorical_accuracy": TopKCategoricalAccuracy})


def _resolve_accuracy(y_true_shape, y_pred_shape):
    """Keras's shape rule for the 'accuracy' string.

    Args:
        y_true_shape: shape of the targets.
        y_pred_shape: shape of the model output.

    Example:
        >>> _resolve_accuracy((32,), (32, 1)).__name__
        'BinaryAccuracy'
        >>> _resolve_accuracy((32, 10), (32, 10)).__name__
        'CategoricalAccuracy'
    """
    if y_pred_shape and y_pred_shape[-1] == 1:
        return BinaryAccuracy
    if len(y_true_shape) < len(y_pred_shape) or (
            y_true_shape and y_true_shape[-1] == 1 and y_pred_shape[-1] != 1):
        return SparseCategoricalAccuracy
    return CategoricalAccuracy


def serialize(metric):
    """The config dict of a metric (``{"class_name", "config"}``), as
    ``keras.metrics.serialize``; ``deserialize`` reverses it.

    Args:
        metric: a ``Metric`` instance.

    Returns:
        A JSON-serializable dict.

    Example:
        >>> config = keras.metrics.serialize(keras.metrics.MeanSquaredError())
        >>> config["class_name"]
        'MeanSquaredError'
    """
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The metric of a config dict written by ``serialize``.

    Args:
        config: the dict ``serialize`` returned.
        custom_objects: a dict of class name -> class for metrics of your own.

    Returns:
        A ``Metric`` instance.

    Raises:
        ValueError: for a class name neither built in nor in ``custom_objects``.

    Example:
        >>> m = keras.metrics.deserialize(
        ...     keras.metrics.serialize(keras.metrics.AUC(num_thresholds=50)))
        >>> m.num_thresholds
        50
    """
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown metric: '{name}'.")
    return cls.from_config(config.get("config", {}))


def get(identifier, y_true_shape=None, y_pred_shape=None):
    """Resolves a metric identifier to a Metric; a string also becomes its name (the log
    key). ``"accuracy"``/``"acc"`` need the target and output shapes.

    Args:
        identifier: a name (``"mae"``, ``"accuracy"``), a config dict, a ``Metric`` or a function.
        y_true_shape: shape of the targets, needed to resolve ``"accuracy"``.
        y_pred_shape: shape of the model output, needed to resolve ``"accuracy"``.

    Example:
        >>> type(keras.metrics.get("mae")).__name__
        'MeanAbsoluteError'
        >>> m = keras.metrics.get("accuracy", y_true_shape=(32, 1), y_pred_shape=(32, 10))
        >>> type(m).__name__
        'SparseCategoricalAccuracy'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            if y_pred_shape is None:
                raise ValueError("'accuracy' needs the target and output shapes to resolve.")
            return _resolve_accuracy(tuple(y_true_shape), tuple(y_pred_shape))(name=identifier)
        cls = _BY_NAME.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret metric identifier: '{identifier}'. Expected "
                             f"one of {sorted(['accuracy', 'acc'] + list(_BY_NAME))}.")
        if cls in (IoU, MeanIoU):
            raise ValueError(f"Metric '{identifier}' needs `num_classes`: pass an instance, e.g. "
                             "MeanIoU(num_classes=3).")
        obj = cls()
        obj.name = identifier
        return obj
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


# Keras 3's newer metrics live in metrics_more.py; registered here under their names.
from nnfast import metrics_more as _more  # noqa: E402
from nnfast.metrics_more import (  # noqa: E402
    BinaryIoU,
    ConcordanceCorrelation,
    OneHotIoU,
    OneHotMeanIoU,
    PearsonCorrelation,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    concordance_correlation,
    huber,
    pearson_correlation,
)

_CLASSES.update({c.__name__: c for c in _more.CLASSES})
_BY_NAME.update({_snake(c.__name__): c for c in _more.CLASSES})
