"""``SKLearnClassifier``, ``SKLearnRegressor`` and ``SKLearnTransformer``: a compiled nnfast
model (or a function building one from the data) as a scikit-learn estimator, usable in
pipelines, grid searches and ``cross_val_score`` as Keras 3's wrappers are.

scikit-learn is needed to construct them (ImportError naming the package otherwise).
"""
import numpy as np

from nnfast.models.cloning import clone_model
from nnfast.models.model import Model
from nnfast.saving.saving_lib import compile_from_config

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes exist; constructing one asks for scikit-learn
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


def _require_sklearn(name):
    if sklearn is None:
        raise ImportError(f"{name} requires `scikit-learn` to be installed. Run "
                          "`pip install scikit-learn` (or `pip install nnfast[sklearn]`).")


def _validate(estimator, X, y="no_validation", reset=True):
    """scikit-learn's checks of ``X`` (and of ``y`` when given; None is an error)."""
    from sklearn.utils.validation import validate_data

    if isinstance(y, str) and y == "no_validation":
        return validate_data(estimator, X, reset=reset)
    # As Keras: targets are 1-D (a column is raveled with a DataConversionWarning).
    return validate_data(estimator, X, y, reset=reset)


def _float32(x):
    """A float32 copy with NumPy's canonical dtype (memory-mapped or unpickled arrays carry
    dtype instances nnfast's kernels refuse)."""
    out = np.empty(np.shape(x), dtype=np.float32)
    out[...] = x
    return out


def _check_compiled(model):
    if not getattr(model, "compiled", False) or not model.loss or not model.optimizer:
        raise RuntimeError("Given model needs to be compiled, and have a loss and an "
                           "optimizer.")


class _ColumnTarget:
    """Makes a 1-D target a column for ``fit`` and squeezes predictions back."""

    def fit(self, y):
        self.ndim_ = np.ndim(y)
        return self

    def transform(self, y):
        y = np.asarray(y)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        y = np.asarray(y)
        return y[:, 0] if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1 else y


class SKLBase(BaseEstimator):
    """Shared logic of the scikit-learn wrappers.

    Args:
        model: a compiled ``Model``, or a callable ``model(X=X, y=y, **model_kwargs)``
            returning one. A ``Model`` is cloned (weights re-initialized, compiled as the
            original) at each ``fit`` unless ``warm_start`` and a previous fit exist.
        warm_start: reuse the model of the previous ``fit`` (continue training it).
        model_kwargs: keyword arguments for ``model`` when it is a callable.
        fit_kwargs: keyword arguments for ``model.fit`` (``epochs``, ``batch_size``...);
            the ones given to ``fit`` directly take precedence.

    Attributes:
        model_: the fitted model. history_: ``fit``'s History dict.
        n_features_in_: number of input features.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        # The model (or builder) is shared, not deep-copied: fit clones a Model itself.
        return type(self)(model=self.model, warm_start=self.warm_start,
                          model_kwargs=self.model_kwargs, fit_kwargs=self.fit_kwargs)

    @property
    def epoch_(self):
        """Epochs trained by the last ``fit``."""
        history = getattr(self, "history_", None) or {}
        return len(next(iter(history.values()), []))

    def _build_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            _check_compiled(self.model)

            clone = clone_model(self.model)
            compile_from_config(clone, self.model._serialize_compile_config())
            return clone
        if not callable(self.model):
            raise TypeError("`model` must be a compiled Model or a callable returning one. "
                            f"Received: model={self.model!r}")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Fits the model on ``X`` (n_samples, n_features) and ``y``; ``kwargs`` go to
        ``model.fit``. Returns self."""
        X, y = _validate(self, X, y, reset=True)
        X = _float32(X)
        y = self._encode_target(y, reset=True)
        model = self._build_model(X, y)
        _check_compiled(model)
        fit_kwargs = dict(self.fit_kwargs or {})
        fit_kwargs.update(kwargs)
        self.history_ = dict(model.fit(X, y, **fit_kwargs).history)
        self.model_ = model
        return self

    def _predict_raw(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _float32(_validate(self, X, reset=False))
        return np.asarray(self.model_.predict(X, verbose=0))

    def predict(self, X):
        """Predictions for ``X`` in the target's original form."""
        return self._decode_target(self._predict_raw(X))

    def _encode_target(self, y, reset=False):
        from sklearn.utils.multiclass import type_of_target

        type_of_target(y, raise_unknown=True)  # "Unknown label type" for bad targets
        if reset:
            self._target_shape = _ColumnTarget().fit(y)
        return _float32(self._target_shape.transform(y))

    def _decode_target(self, y):
        return self._target_shape.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around an nnfast model: the labels (any type, binary or
    multiclass) are one-hot encoded for ``fit``; ``predict`` returns the label of the
    largest output, ``decision_function`` the raw outputs.

    Args: as ``SKLBase`` (model, warm_start, model_kwargs, fit_kwargs).

    Attributes: ``classes_`` (the sorted labels), ``model_``, ``history_``.

    Example:
        >>> def build(X, y, hidden=16):
        ...     inputs = keras.Input((X.shape[1],))
        ...     h = keras.layers.Dense(hidden, activation="relu")(inputs)
        ...     outputs = keras.layers.Dense(y.shape[1], activation="softmax")(h)
        ...     model = keras.Model(inputs, outputs)
        ...     model.compile("adam", "categorical_crossentropy")
        ...     return model
        >>> clf = SKLearnClassifier(build, model_kwargs={"hidden": 32},
        ...                         fit_kwargs={"epochs": 20, "verbose": 0})
        >>> clf.fit(X, labels).score(X, labels)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _encode_target(self, y, reset=False):
        from sklearn.preprocessing import OneHotEncoder
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y, raise_unknown=True)
        if kind not in ("binary", "multiclass"):
            raise ValueError("Only binary and multiclass target types are supported. "
                             f"Target type: {kind}")
        column = np.asarray(y).reshape(-1, 1)
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
            self._one_hot = OneHotEncoder(sparse_output=False).fit(column)
        return _float32(self._one_hot.transform(column))

    def _decode_target(self, y):
        return self.classes_[np.argmax(y, axis=1)]

    def decision_function(self, X):
        """The model's raw outputs for ``X`` (n_samples, n_classes)."""
        return self._predict_raw(X)


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around an nnfast model (1-D targets are fitted as one
    column and predicted back as 1-D).

    Args: as ``SKLBase`` (model, warm_start, model_kwargs, fit_kwargs).

    Example:
        >>> reg = SKLearnRegressor(build, fit_kwargs={"epochs": 50, "verbose": 0})
        >>> reg.fit(X, y).score(X, y)       # R^2
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around an nnfast model: ``fit`` trains it on ``(X, y)``,
    ``transform(X)`` returns its outputs (e.g. an embedding model in a pipeline).

    Args: as ``SKLBase`` (model, warm_start, model_kwargs, fit_kwargs).

    Example:
        >>> pipe = sklearn.pipeline.make_pipeline(
        ...     SKLearnTransformer(build_encoder, fit_kwargs={"verbose": 0}),
        ...     sklearn.linear_model.LogisticRegression())
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def transform(self, X):
        """The model's outputs for ``X``."""
        return self._predict_raw(X)
