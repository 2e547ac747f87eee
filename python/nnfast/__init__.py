"""nnfast: a fast neural-network library for the CPU with the Keras API.

Change ``from tensorflow import keras`` (or ``import keras``) to ``import nnfast as keras``.
"""
__version__ = "0.1.0"

from nnfast import _openmp_env  # noqa: F401,I001  (before _core loads libgomp: bounded spin)
from nnfast import _core  # noqa: F401  (fails early with a clear message if not built)
from nnfast import (activations, callbacks, config, constraints, datasets, initializers, layers,
                    losses, metrics, models, ops, optimizers, regularizers, utils)
from nnfast.backend import GradientTape, Variable, clear_session
from nnfast.backend.tensor import Tensor
from nnfast.layers import Input, InputSpec, Layer
from nnfast.models import Model, Sequential
from nnfast.models.function import Function
from nnfast import applications  # noqa: E402,F401  (after models: it builds Functional models)
from nnfast import random, tree  # noqa: E402,F401  (keras.random, keras.tree)
from nnfast.api_objects import (Initializer, Loss, Metric, Operation, Optimizer,  # noqa: E402,F401
                                Regularizer, version)

__all__ = ["Sequential", "Model", "Input", "InputSpec", "Function", "Layer", "GradientTape", "Variable", "Tensor",
           "activations", "callbacks", "config", "constraints", "datasets", "initializers",
           "layers", "losses", "metrics", "models", "ops", "optimizers", "regularizers", "utils",
           "clear_session"]
__all__ += ["random", "tree"]
