"""Adam, with Keras's epsilon placement and optional AMSGrad."""
import numpy as np

from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer, decayed_square_rows


class Adam(Optimizer):
    """Adam (Kingma & Ba) as Keras computes it: epsilon is added to ``sqrt(v)`` before the
    bias correction folded into the step size
    (``w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``). One fused C++ pass
    per variable.

    Args:
        learning_rate: default 0.001.
        beta_1: decay rate of the first-moment estimate (default 0.9).
        beta_2: decay rate of the second-moment estimate (default 0.999).
        epsilon: default 1e-7.
        amsgrad: use the running maximum of ``v``.
        **kwargs: the base arguments (``weight_decay``, ``clipnorm``, ``use_ema``, ...).
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
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=Adam(learning_rate=3e-4), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "adam", **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _slot_groups(self):
        groups = (("momentum", "velocity"),)
        return groups + ((("velocity_hat",),) if self.amsgrad else ())

    # Keras squares an embedding's gradient per token (see Optimizer._adjust_token_rows).
    _token_statistic = "square"

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        decayed_square_rows(self._slots["velocity"][index], rows, self.beta_2)

    def _update_token_rows(self, variable, index, rows, learning_rate, step, decay):
        table = variable.value
        if self.amsgrad or table.ndim != 2 or not table.flags.c_contiguous:
            return False
        # one pass over the table: untouched rows decay their moments (zero gradient), the
        # touched rows take their summed gradient and per-token squares; no dense gradient
        _core.adam_update_token_rows(
            table, self._slots["momentum"][index], self._slots["velocity"][index],
            np.ascontiguousarray(rows.ids, np.int64), np.ascontiguousarray(rows.g, np.float32),
            np.ascontiguousarray(rows.stat, np.float32), learning_rate, self.beta_1,
            self.beta_2, self.epsilon, step, decay=decay)
        return True

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        vhat = self._slots["velocity_hat"][index] if self.amsgrad else None
        _core.adam_update(variable.value, gradient, self._slots["momentum"][index],
                          self._slots["velocity"][index], vhat, learning_rate, self.beta_1,
                          self.beta_2, self.epsilon, step, **common)

    def _plain_update(self, gradient, variable, index, learning_rate, step):
        vhat = self._slots["velocity_hat"][index] if self.amsgrad else None
        _core.adam_update(variable.value, gradient, self._slots["momentum"][index],
                          self._slots["velocity"][index], vhat, learning_rate, self.beta_1,
                          self.beta_2, self.epsilon, step)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
