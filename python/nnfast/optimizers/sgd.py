"""Stochastic gradient descent with optional (Nesterov) momentum."""
import numpy as np

from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """``w -= lr * g``; with momentum ``m = momentum * m - lr * g; w += m``; Nesterov
    ``w += momentum * m - lr * g``. One fused C++ pass per variable.

    Args:
        learning_rate: default 0.01.
        momentum: default 0.0.
        nesterov: default False.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, name=kwargs.pop("name", "SGD"), **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _make_slots(self, variable):
        return (np.zeros_like(variable.value),) if self.momentum else ()

    def update_step(self, gradient, variable, learning_rate, step, slots):
        _core.sgd_update(variable.value, gradient, slots[0] if slots else None, learning_rate,
                         self.momentum, self.nesterov)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
