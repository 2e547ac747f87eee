"""nnfast: a fast neural-network library for the CPU with the Keras API.

Change ``from tensorflow import keras`` (or ``import keras``) to ``import nnfast as keras``.
"""
__version__ = "0.1.0"

from nnfast import _core  # noqa: F401  (fails early with a clear message if not built)

if not hasattr(_core, "gemm"):  # only the type stubs' folder (python/nnfast/_core/) was found
    raise ImportError(
        f"nnfast's compiled extension _core is not built in {__path__[0]}: build it there "
        "(README, 'The two commands') or install the package with pip, and import that one.")
from nnfast import (activations, callbacks, config, constraints, datasets, initializers, layers,
                    losses, metrics, models, ops, optimizers, regularizers, utils)
from nnfast.backend import GradientTape, Variable, clear_session
from nnfast.backend.tensor import Tensor
from nnfast.layers import Input, InputSpec, Layer
from nnfast.models import Model, Sequential
from nnfast.models.function import Function
from nnfast import applications  # noqa: E402,F401  (after models: it builds Functional models)
from nnfast import random, tree  # noqa: E402,F401  (keras.random, keras.tree)
from nnfast import dtype_policies, mixed_precision, quantizers  # noqa: E402,F401
from nnfast.dtype_policies import DTypePolicy, FloatDTypePolicy  # noqa: E402,F401
from nnfast.quantizers import Quantizer  # noqa: E402,F401
from nnfast import export  # noqa: E402,F401  (keras.export: ONNX)
from nnfast import distribute, distribution  # noqa: E402,F401  (data parallelism on MPI)
from nnfast.api_objects import (Initializer, Loss, Metric, Operation, Optimizer,  # noqa: E402,F401
                                Regularizer, version)
# Keras 3's scopes, KerasTensor and rematerialization (keras.name_scope, keras.remat, ...).
from nnfast.backend.keras_tensor import KerasTensor  # noqa: E402,F401
from nnfast.backend.scopes import (StatelessScope, SymbolicScope, device,  # noqa: E402,F401
                                   name_scope)
from nnfast.remat import RematScope, remat  # noqa: E402,F401

__all__ = ["Sequential", "Model", "Input", "InputSpec", "Function", "Layer", "GradientTape", "Variable", "Tensor",
           "activations", "callbacks", "config", "constraints", "datasets", "initializers",
           "layers", "losses", "metrics", "models", "ops", "optimizers", "regularizers", "utils",
           "clear_session"]
__all__ += ["random", "tree", "dtype_policies", "mixed_precision", "quantizers",
            "distribute", "distribution"]
from nnfast import keras2_modules as _keras2_modules  # noqa: E402
_keras2_modules.install()  # Keras 2 module paths: keras.layers.core, keras.engine.topology, ...


def __getattr__(name):
    # keras.wrappers / keras.visualization import scikit-learn / matplotlib: loaded on use.
    if name in ("wrappers", "visualization"):
        import importlib

        return importlib.import_module(f"nnfast.{name}")
    raise AttributeError(f"module 'nnfast' has no attribute {name!r}")
