"""Stochastic gradient descent with optional (Nesterov) momentum."""
from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent: ``w -= lr * g``; with momentum ``m = momentum * m - lr * g;
    w += m``; Nesterov ``w += momentum * m - lr * g`` (with the new ``m``). One fused C++
    pass per variable.

    Args:
        learning_rate: default 0.01.
        momentum: float in [0, 1], default 0.0.
        nesterov: default False.
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
        >>> model.compile(optimizer=SGD(0.1, momentum=0.9), loss="mse")
    """
    # the step depends on the gradient only through its sum (embedding tables)
    _linear_in_gradient = True


    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "SGD", **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _slot_groups(self):
        return (("momentum",),) if self.momentum != 0 else ()

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        m = self._slots["momentum"][index] if self.momentum != 0 else None
        _core.sgd_update(variable.value, gradient, m, learning_rate, self.momentum,
                         self.nesterov, **common)

    def _plain_update(self, gradient, variable, index, learning_rate, step):
        m = self._slots["momentum"][index] if self.momentum != 0 else None
        _core.sgd_update(variable.value, gradient, m, learning_rate, self.momentum, self.nesterov)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
