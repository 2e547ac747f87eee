"""Adamax: Adam with the infinity norm."""
import numpy as np

from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class Adamax(Optimizer):
    """``m += (g - m)(1 - b1); u = max(b2*u, |g|); w -= lr*m / ((1 - b1^t)(u + eps))``.
    One fused C++ pass per variable.

    Args:
        learning_rate: default 0.001.
        beta_1: decay rate of the first-moment estimate (default 0.9).
        beta_2: decay rate of the second-moment estimate (default 0.999).
        epsilon: default 1e-7.
        weight_decay: decoupled weight decay: each step also multiplies every variable by ``1 -
            learning_rate * weight_decay`` (None or 0: none).
        clipnorm: clip each gradient to this L2 norm (None: no clipping).
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]`` (None: no clipping).
        global_clipnorm: clip all gradients together so that their joint L2 norm is at most this
            (None: no clipping; exclusive with ``clipnorm``).
        use_ema: keep an exponential moving average of the weights (written into the model every
            ``ema_overwrite_frequency`` steps and by ``finalize_variable_values``). Defaults to
            ``False``.
        ema_momentum: momentum of that moving average, ``ema = m * ema + (1 - m) * w`` (used with
            ``use_ema=True``). Defaults to ``0.99``.
        ema_overwrite_frequency: every how many iterations the moving average overwrites the
            weights (None: only at the end of ``fit``).
        loss_scale_factor: multiply the loss by this before computing gradients and divide the
            gradients by it (None: no scaling), for low-precision training.
        gradient_accumulation_steps: apply the mean gradient of this many steps once, every that
            many steps (None: every step).
        name: name of the optimizer (prefixes its variables); None: the class name in snake case.

    Example:
        >>> opt = Adamax(learning_rate=0.002)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name or "adamax", **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _slot_groups(self):
        return (("m", "u"),)

    _token_statistic = "abs"

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        # kernel: u = max(beta_2*u, |g|); Keras takes max(beta_2*u, sum of |token rows|),
        # which is >= |g|: raising u's rows to that over beta_2 gives it.
        if not self.beta_2 > 0.0:
            raise NotImplementedError("Adamax with beta_2=0 on per-token gradients is not "
                                      f"supported; received beta_2={self.beta_2}.")
        u = self._slots["u"][index]
        u[rows.ids] = np.maximum(u[rows.ids], rows.stat / np.float32(self.beta_2))

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        _core.adamax_update(variable.value, gradient, self._slots["m"][index],
                            self._slots["u"][index], learning_rate, self.beta_1, self.beta_2,
                            self.epsilon, step, **common)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
