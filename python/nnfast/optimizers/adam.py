"""Adam, with Keras's epsilon placement and optional AMSGrad."""
import numpy as np

from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba) as Keras computes it: epsilon is added to ``sqrt(v)`` before the
    bias correction folded into the step size. One fused C++ pass per variable.

    Args:
        learning_rate: default 0.001.
        beta_1, beta_2: moment decay rates (0.9, 0.999).
        epsilon: default 1e-7.
        amsgrad: use the running maximum of ``v``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, name=kwargs.pop("name", "adam"), **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _make_slots(self, variable):
        n = 3 if self.amsgrad else 2
        return tuple(np.zeros_like(variable.value) for _ in range(n))

    def update_step(self, gradient, variable, learning_rate, step, slots):
        m, v = slots[0], slots[1]
        vhat = slots[2] if self.amsgrad else None
        _core.adam_update(variable.value, gradient, m, v, vhat, learning_rate, self.beta_1,
                          self.beta_2, self.epsilon, step)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
