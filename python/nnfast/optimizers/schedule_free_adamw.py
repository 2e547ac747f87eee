"""Schedule-free AdamW (Defazio et al., 2024), as Keras 3."""
import numpy as np

from nnfast.optimizers.optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """AdamW without a learning-rate schedule: the weights hold the interpolation ``y``
    between the averaged iterate ``x`` and the base iterate ``z`` (the ``momentum`` slot,
    started at the weights). Per step (Keras 3's rule, NumPy per variable)::

        v = v + (g**2 - v) * (1 - beta_2)
        z_new = z - lr_t * g / (sqrt(v / (1 - beta_2**t)) + eps)
        x = (y - (1 - beta_1) * z_new) / beta_1            # Keras reads z after its update
        x = (1 - 1/t) * x + z_new / t
        y = (1 - beta_1) * z_new + beta_1 * x

    with ``lr_t = lr * min(t / warmup_steps, 1)`` when ``warmup_steps > 0``.

    NOTE: ``z`` starts at the weights, as the algorithm and Keras's eager build say. When
    Keras-on-TensorFlow builds this optimizer inside ``fit``'s traced train step, that copy
    is lost and ``z`` starts at 0; nnfast does not reproduce that.

    Args:
        learning_rate: default 0.0025.
        beta_1: decay rate of the first-moment estimate (default 0.9).
        beta_2: decay rate of the second-moment estimate (default 0.999).
        epsilon: default 1e-8.
        warmup_steps: linear warm-up length (0: none).
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
        >>> model.compile(optimizer=ScheduleFreeAdamW(), loss="mse")
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "schedule_free_adamw", **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.warmup_steps = warmup_steps

    def _slot_groups(self):
        return (("momentum", "velocity"),)

    def _build_extra(self):
        for z, var in zip(self._slots["momentum"], self._trainable_variables):
            np.copyto(z, var.value)

    def _add_variable(self, reference):
        super()._add_variable(reference)
        np.copyto(self._slots["momentum"][-1], reference.value)

    # embedding gradients: squared per token (Optimizer._squared_gradient), as Keras on TF
    _token_statistic = "square"

    def update_step(self, gradient, variable, learning_rate):
        f = np.float32
        i = self._index[id(variable)]
        z, v = self._slots["momentum"][i], self._slots["velocity"][i]
        step = f(self.iterations + 1)
        lr = f(learning_rate)
        if self.warmup_steps > 0:
            lr = lr * min(step / f(self.warmup_steps), f(1.0))
        b1, b2 = f(self.beta_1), f(self.beta_2)
        g = np.asarray(gradient, np.float32)
        v += (self._squared_gradient(g) - v) * (f(1) - b2)
        denom = np.sqrt(v / (f(1) - b2 ** step)) + f(self.epsilon)
        z -= lr * g / denom
        # NOTE: Keras's "momentum_old" is the slot itself, read after its update.
        y = variable.value
        weight = f(1.0) / step
        x = (y - (f(1) - b1) * z) / b1
        x = (f(1) - weight) * x + weight * z
        y[...] = (f(1) - b1) * z + b1 * x

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "warmup_steps": self.warmup_steps})
        return config
