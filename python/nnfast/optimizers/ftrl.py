"""FTRL-proximal (McMahan et al.), as Keras implements it."""
import numpy as np

from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """Follow-the-regularized-leader with L1/L2 regularization and L2 shrinkage. With
    ``p = learning_rate_power``, ``acc' = acc + g^2``,
    ``lin += g + 2*l2_shrinkage*w - (acc'^-p - acc^-p)/lr * w``,
    ``w = (clip(lin, -l1, l1) - lin) / (acc'^-p/lr + 2*(l2 + beta/(2*lr)))``.

    Args:
        learning_rate: default 0.001.
        learning_rate_power: <= 0, default -0.5.
        initial_accumulator_value: >= 0, default 0.1.
        l1_regularization_strength: L1 penalty strength, >= 0 (default 0).
        l2_regularization_strength: L2 penalty strength, >= 0 (default 0).
        l2_shrinkage_regularization_strength: >= 0, default 0.
        beta: default 0.0.
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
        >>> opt = Ftrl(learning_rate=0.05, l1_regularization_strength=0.001)
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "ftrl", **kwargs)
        checks = (("initial_accumulator_value", initial_accumulator_value, "greater than or equal to 0.0"),
                  ("learning_rate_power", -learning_rate_power, "less than or equal to 0.0"),
                  ("l1_regularization_strength", l1_regularization_strength, "greater than or equal to 0.0"),
                  ("l2_regularization_strength", l2_regularization_strength, "greater than or equal to 0.0"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "greater than or equal to 0.0"))
        for name, val, what in checks:
            if val < 0.0:
                raise ValueError(f"`{name}` needs to be {what}. Received: {name}="
                                 f"{-val if name == 'learning_rate_power' else val}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _slot_groups(self):
        return (("accumulator", "linear"),)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value if name == "accumulator" else 0.0

    _token_statistic = "square"

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        acc, lin, w = (self._slots["accumulator"][index], self._slots["linear"][index],
                       variable.value)
        ids = rows.ids
        acc0, lin0, w0 = acc[ids].copy(), lin[ids].copy(), w[ids].copy()
        if self.weight_decay and self._use_weight_decay(variable):
            w0 -= w0 * np.float32(np.float32(self.weight_decay) * np.float32(learning_rate))

        def after():
            # Keras's FTRL step on the touched rows, with the per-token sum of squares.
            f = np.float32
            lr, power = f(learning_rate), f(-self.learning_rate_power)
            l2 = f(self.l2_regularization_strength + self.beta / (2.0 * learning_rate))
            grad = rows.g + f(2 * self.l2_shrinkage_regularization_strength) * w0
            new_acc = acc0 + rows.stat
            new_lin = lin0 + grad - (new_acc ** power - acc0 ** power) / lr * w0
            quadratic = new_acc ** power / lr + f(2) * l2
            l1 = f(self.l1_regularization_strength)
            w[ids] = (np.clip(new_lin, -l1, l1) - new_lin) / quadratic
            lin[ids] = new_lin
            acc[ids] = new_acc
        return after

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        l2_total = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        _core.ftrl_update(variable.value, gradient, self._slots["accumulator"][index],
                          self._slots["linear"][index], learning_rate, self.learning_rate_power,
                          self.l1_regularization_strength, l2_total,
                          self.l2_shrinkage_regularization_strength, **common)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta})
        return config
