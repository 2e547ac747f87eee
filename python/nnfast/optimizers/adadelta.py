"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer, decayed_square_rows


class Adadelta(Optimizer):
    """``Eg = rho*Eg + (1-rho)*g^2; d = -sqrt(Edx+eps)/sqrt(Eg+eps)*g;
    Edx = rho*Edx + (1-rho)*d^2; w += lr*d``. One fused C++ pass per variable.

    Args:
        learning_rate: default 0.001 (Keras 2.2 used 1.0).
        rho: decay rate, default 0.95.
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
        >>> opt = Adadelta(learning_rate=1.0)
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "adadelta", **kwargs)
        self.rho = float(rho)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _slot_groups(self):
        return (("accumulated_grad", "accumulated_delta_var"),)

    _token_statistic = "square"

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        acc_grad = self._slots["accumulated_grad"][index]
        acc_delta = self._slots["accumulated_delta_var"][index]
        decayed_square_rows(acc_grad, rows, self.rho)
        delta_before = acc_delta[rows.ids].copy()

        def after():
            # Keras squares delta = -rms(acc_delta)/rms(acc_grad) * g per token too.
            eps = np.float32(self.epsilon)
            factor = (delta_before + eps) / (acc_grad[rows.ids] + eps)
            acc_delta[rows.ids] += (np.float32(1.0 - self.rho) * factor
                                    * (rows.stat - rows.g * rows.g))
        return after

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        _core.adadelta_update(variable.value, gradient, self._slots["accumulated_grad"][index],
                              self._slots["accumulated_delta_var"][index], learning_rate,
                              self.rho, self.epsilon, **common)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
