"""Models: ``Sequential``, ``Model`` (subclassed or functional), saving and cloning."""
from nnfast.models.cloning import clone_model
from nnfast.models.functional import Functional
from nnfast.models.model import Model
from nnfast.models.sequential import Sequential
from nnfast.saving.saving_api import load_model, model_from_config, model_from_json, save_model
