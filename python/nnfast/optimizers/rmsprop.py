"""RMSprop, plain, with momentum, or centered."""
from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer, decayed_square_rows


class RMSprop(Optimizer):
    """RMSprop as Keras: ``v = rho*v + (1-rho)*g^2``; ``inc = lr*g/sqrt(v + eps)`` (epsilon
    inside the root); centered uses ``v - a^2 + eps`` with ``a = rho*a + (1-rho)*g``; with
    momentum ``m = momentum*m + inc; w -= m``, else ``w -= inc``. One fused C++ pass.

    Args:
        learning_rate: default 0.001.
        rho: decay of the squared-gradient average, default 0.9.
        momentum: default 0.0.
        epsilon: default 1e-7.
        centered: normalise by the estimated variance instead of the second moment.
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
        >>> model.compile(optimizer=RMSprop(learning_rate=1e-3), loss="mse")
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "rmsprop", **kwargs)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)
        self.centered = bool(centered)

    def _slot_groups(self):
        # Keras creates all velocities, then all momentums, then all average gradients.
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return tuple(groups)

    _token_statistic = "square"

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        decayed_square_rows(self._slots["velocity"][index], rows, self.rho)

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        mom = self._slots["momentum"][index] if self.momentum > 0 else None
        avg = self._slots["average_gradient"][index] if self.centered else None
        _core.rmsprop_update(variable.value, gradient, self._slots["velocity"][index], mom, avg,
                             learning_rate, self.rho, self.momentum, self.epsilon, **common)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
