"""keras.wrappers: SKLearnClassifier / SKLearnRegressor / SKLearnTransformer pass
scikit-learn's estimator checks (those Keras 3.15's own test passes, with its list of
expected failures) and work in pipelines and model selection."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import nnfast as keras  # noqa: E402
from nnfast.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


def dynamic_model(X, y, loss, out_activation_function="softmax", layers=(10,)):
    inputs = keras.Input((X.shape[1],))
    hidden = inputs
    for size in layers:
        hidden = keras.layers.Dense(size, activation="relu")(hidden)
    outputs = keras.layers.Dense(y.shape[1] if y.ndim > 1 else 1,
                                 activation=out_activation_function)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(loss=loss, optimizer="rmsprop")
    return model


# Keras 3.15's expected failures (keras/src/wrappers/sklearn_test.py): fits are random.
EXPECTED_FAILED = {
    "SKLearnClassifier": {
        "check_classifiers_one_label_sample_weights": "0 sample weight is not ignored",
        "check_classifiers_classes": "small cases may not predict every class",
        "check_classifier_data_not_an_array": "assumes reproducible fits",
        "check_supervised_y_2d": "assumes reproducible fits",
        "check_fit_idempotent": "assumes reproducible fits",
        "check_classifiers_train": "decision_function returns probabilities",
    },
    "SKLearnRegressor": {},
    "SKLearnTransformer": {},
}

ESTIMATORS = [
    SKLearnClassifier(model=dynamic_model,
                      model_kwargs={"loss": "categorical_crossentropy", "layers": [20, 20, 20]},
                      fit_kwargs={"epochs": 5, "verbose": 0}),
    SKLearnRegressor(model=dynamic_model, model_kwargs={"loss": "mse"},
                     fit_kwargs={"verbose": 0}),
    SKLearnTransformer(model=dynamic_model, model_kwargs={"loss": "mse"},
                       fit_kwargs={"verbose": 0}),
]


@parametrize_with_checks(ESTIMATORS,
                         expected_failed_checks=lambda e: EXPECTED_FAILED[type(e).__name__])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_classifier_in_a_pipeline_and_cross_validation():
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "pos", "neg")
    keras.utils.set_random_seed(1)
    clf = SKLearnClassifier(dynamic_model, model_kwargs={"loss": "categorical_crossentropy"},
                            fit_kwargs={"epochs": 60, "verbose": 0})
    pipe = make_pipeline(StandardScaler(), clf)
    scores = cross_val_score(pipe, X, labels, cv=3)
    assert scores.mean() > 0.7  # a linear boundary; chance is 0.5
    pipe.fit(X, labels)
    assert set(pipe.predict(X)) <= {"pos", "neg"}
    assert list(clf.classes_) == ["neg", "pos"]
    assert clf.decision_function(X[:3]).shape == (3, 2)
    assert clf.epoch_ == 60


def test_model_instance_is_cloned_and_warm_start_continues():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3)).astype("float32")
    y = X @ np.array([1.0, -2.0, 0.5], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    before = [w.copy() for w in model.get_weights()]
    reg = SKLearnRegressor(model, fit_kwargs={"epochs": 40, "verbose": 0})
    reg.fit(X, y)
    assert reg.model_ is not model
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # the given model is untouched
    assert reg.predict(X).shape == (64,)
    assert reg.score(X, y) > 0.9
    warm = SKLearnRegressor(model, warm_start=True, fit_kwargs={"epochs": 2, "verbose": 0})
    warm.fit(X, y)
    first = warm.model_
    warm.fit(X, y)
    assert warm.model_ is first
    uncompiled = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="compiled"):
        SKLearnRegressor(uncompiled).fit(X, y)
    with pytest.raises(ValueError, match="one class"):
        SKLearnClassifier(dynamic_model, model_kwargs={"loss": "mse"}).fit(X, np.zeros(64))
