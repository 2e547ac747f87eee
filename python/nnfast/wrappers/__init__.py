"""scikit-learn estimators wrapping nnfast models (``keras.wrappers``); scikit-learn is an
optional dependency (``pip install nnfast[sklearn]``)."""
from nnfast.wrappers.sklearn_wrapper import (SKLearnClassifier, SKLearnRegressor,
                                             SKLearnTransformer)

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
