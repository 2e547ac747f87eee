"""Models: ``Sequential``, ``Model`` (subclassed or functional), saving and cloning."""
from nnfast.models.cloning import clone_model
from nnfast.models.functional import Functional
from nnfast.models.model import Model
from nnfast.models.sequential import Sequential
from nnfast.saving.saving_api import load_model, model_from_config, model_from_json, save_model
from nnfast import keras1_arguments as _keras1_arguments  # noqa: E402
from nnfast.models.trainer import Trainer as _Trainer  # noqa: E402

_keras1_arguments.install_model_arguments(Model, Functional, _Trainer)  # Keras 1 keywords
