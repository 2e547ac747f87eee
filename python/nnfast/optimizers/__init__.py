"""Optimizers: by object (``Adam(1e-3)``) or by name (``"adam"``).

Every optimizer runs each variable's step (clipping, weight decay, update rule) as one
fused C++ pass; see ``Optimizer`` for the shared arguments and the saved state layout."""
from nnfast.optimizers import schedules
from nnfast.optimizers.adadelta import Adadelta
from nnfast.optimizers.adafactor import Adafactor
from nnfast.optimizers.adagrad import Adagrad
from nnfast.optimizers.adam import Adam
from nnfast.optimizers.adamax import Adamax
from nnfast.optimizers.adamw import AdamW
from nnfast.optimizers.ftrl import Ftrl
from nnfast.optimizers.lamb import Lamb
from nnfast.optimizers.loss_scale_optimizer import LossScaleOptimizer
from nnfast.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from nnfast.optimizers.muon import Muon
from nnfast.optimizers.lion import Lion
from nnfast.optimizers.nadam import Nadam
from nnfast.optimizers.optimizer import Optimizer
from nnfast.optimizers.rmsprop import RMSprop
from nnfast.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from nnfast.optimizers.sgd import SGD
from nnfast.optimizers import legacy  # noqa: E402  (Keras 2's lr=/decay= classes)

_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Ftrl, Lion, Lamb,
            Adafactor, Muon, ScheduleFreeAdamW)
_BY_NAME = {cls.__name__.lower(): cls for cls in _CLASSES}
_BY_NAME["multioptimizer"] = MultiOptimizer
_BY_NAME["lossscaleoptimizer"] = LossScaleOptimizer


def get(identifier, custom_objects=None):
    """Resolves a name (``"adam"``), a config dict or an Optimizer instance.

    Args:
        identifier: a name (``"adam"``), a config dict or an ``Optimizer``.
        custom_objects: a dict of name -> class for optimizers of your own.

    Example:
        >>> type(keras.optimizers.get("adam")).__name__
        'Adam'
        >>> keras.optimizers.get({"class_name": "SGD", "config": {"momentum": 0.9}}).momentum
        0.9
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: '{identifier}'. "
                             f"Expected one of {sorted(_BY_NAME)}.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def serialize(optimizer):
    """Keras's serialized form ``{module, class_name, config, registered_name}``.

    Args:
        optimizer: an ``Optimizer``.

    Example:
        >>> config = keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.01))
        >>> config["class_name"], round(config["config"]["learning_rate"], 6)
        ('Adam', 0.01)
    """
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuilds an optimizer from ``serialize``'s output (or tf.keras's
    ``{"class_name", "config"}``).

    Args:
        config: the dict ``serialize`` returned (``{"class_name": ..., "config": ...}``).
        custom_objects: a dict of name -> class for optimizers of your own.

    Example:
        >>> config = keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.01))
        >>> optimizer = keras.optimizers.deserialize(config)
        >>> type(optimizer).__name__, round(float(optimizer.learning_rate), 6)
        ('Adam', 0.01)
    """
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: '{name}'. Expected one of {sorted(_BY_NAME)}.")
    cfg = dict(config.get("config", {}))
    cfg.pop("is_legacy_optimizer", None)
    cfg.pop("jit_compile", None)
    return cls.from_config(cfg)


__all__ = ["Optimizer", "MultiOptimizer", "OptimizerMap", "schedules", "legacy", "get", "serialize",
           "deserialize"] + [
    c.__name__ for c in _CLASSES]
