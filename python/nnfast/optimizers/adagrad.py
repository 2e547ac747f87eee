"""Adagrad: per-element learning rates from the accumulated squared gradients."""
from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """``acc += g^2; w -= lr * g / sqrt(acc + eps)``, the accumulator starting at
    ``initial_accumulator_value``. One fused C++ pass per variable.

    Args:
        learning_rate: default 0.001.
        initial_accumulator_value: default 0.1.
        epsilon: default 1e-7.

    Example:
        >>> opt = Adagrad(learning_rate=0.01)
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "adagrad", **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _slot_groups(self):
        return (("accumulator",),)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value

    _token_statistic = "square"

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        # the kernel adds g**2 of the summed rows; Keras adds the per-token squares
        self._slots["accumulator"][index][rows.ids] += rows.stat - rows.g * rows.g

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        _core.adagrad_update(variable.value, gradient, self._slots["accumulator"][index],
                             learning_rate, self.epsilon, **common)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
