"""Top-level names of ``keras`` that are base classes or small helpers defined elsewhere:
``Initializer``, ``Loss``, ``Metric``, ``Optimizer``, ``Regularizer``, ``Operation`` and
``version``."""
import nnfast
from nnfast.backend.global_state import to_snake_case, unique_name
from nnfast.initializers import Initializer  # noqa: F401
from nnfast.losses import Loss  # noqa: F401
from nnfast.metrics import Metric  # noqa: F401
from nnfast.optimizers import Optimizer  # noqa: F401
from nnfast.regularizers import Regularizer  # noqa: F401


class Operation:
    """Base class of a computation on tensors, as ``keras.Operation``: subclasses implement
    ``call(*args, **kwargs)`` with ``nnfast.ops``; calling the object runs ``call`` (eagerly
    on tensors, and on symbolic inputs when ``call`` is built from ops that accept them).

    Example:
        >>> class AddOne(keras.Operation):
        ...     def call(self, x):
        ...         return keras.ops.add(x, 1.0)
        >>> AddOne()(np.zeros(2))   # [1., 1.]
    """

    def __init__(self, name=None, *args, **kwargs):
        # Keras declares Operation(*args, **kwargs); its __init__ takes ``name`` only.
        if args or kwargs:
            raise TypeError(f"Operation.__init__() takes only `name`. Received: args={args}, "
                            f"kwargs={kwargs}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<Operation name={self.name}>"


def version():
    """The version of nnfast (``nnfast.__version__``)."""
    return nnfast.__version__
