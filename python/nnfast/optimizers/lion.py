"""Lion: sign-based updates (Chen et al., 2023)."""
from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """``w -= lr * sign(b1*m + (1-b1)*g)``, then ``m = b2*m + (1-b2)*g``. One fused C++
    pass per variable. Use a learning rate 3-10x smaller than AdamW's.

    Args:
        learning_rate: default 0.001.
        beta_1: in (0, 1], default 0.9.
        beta_2: default 0.99.
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
        >>> opt = Lion(learning_rate=1e-4)
    """
    # the step depends on the gradient only through its sum (embedding tables)
    _linear_in_gradient = True


    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "lion", **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument for `beta_1` must be in range (0, 1]. "
                             f"Received: beta_1={beta_1}.")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def _slot_groups(self):
        return (("momentum",),)

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        _core.lion_update(variable.value, gradient, self._slots["momentum"][index], learning_rate,
                          self.beta_1, self.beta_2, **common)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
