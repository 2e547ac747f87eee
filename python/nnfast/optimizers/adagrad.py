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
