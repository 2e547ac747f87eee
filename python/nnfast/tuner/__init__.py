"""Hyperparameter tuning with Keras Tuner's API (``import nnfast.tuner as kt``).

Example:
    >>> import nnfast.tuner as kt
    >>> def build_model(hp):
    ...     model = nnfast.Sequential([nnfast.Input((64,)),
    ...         nnfast.layers.Dense(hp.Int("units", 32, 256, step=32), activation="relu"),
    ...         nnfast.layers.Dense(10, activation="softmax")])
    ...     model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=5,
    ...                         directory="my_dir", project_name="digits")
    >>> tuner.search(x_train, y_train, epochs=5, validation_split=0.2)
    >>> best_hp = tuner.get_best_hyperparameters()[0]
"""
from nnfast.tuner.bayesian import BayesianOptimization, BayesianOptimizationOracle
from nnfast.tuner.hyperband import Hyperband, HyperbandOracle
from nnfast.tuner.hypermodel import HyperModel
from nnfast.tuner.hyperparameters import (Boolean, Choice, Fixed, Float, HyperParameter,
                                          HyperParameters, Int)
from nnfast.tuner.objective import Objective
from nnfast.tuner.oracle import Oracle, RandomSearchOracle
from nnfast.tuner.trial import Trial, TrialStatus
from nnfast.tuner.tuner import RandomSearch, Tuner

__all__ = ["HyperParameters", "HyperParameter", "Int", "Float", "Choice", "Boolean", "Fixed",
           "HyperModel", "Objective", "Oracle", "RandomSearchOracle", "HyperbandOracle",
           "BayesianOptimizationOracle", "Tuner", "RandomSearch", "Hyperband",
           "BayesianOptimization", "Trial", "TrialStatus"]
