"""Optimizers: by object (``Adam(1e-3)``) or by name (``"adam"``)."""
from nnfast.optimizers import schedules
from nnfast.optimizers.adam import Adam
from nnfast.optimizers.optimizer import Optimizer
from nnfast.optimizers.sgd import SGD

_BY_NAME = {"sgd": SGD, "adam": Adam}


def get(identifier):
    """Resolves a name (``"adam"``), a config dict or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: '{identifier}'. "
                             f"Expected one of {sorted(_BY_NAME)}.")
        return cls()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier["class_name"].lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer: {identifier['class_name']}")
        return cls.from_config(identifier.get("config", {}))
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}
