"""LAMB: Adam's step rescaled per variable by the trust ratio ||w|| / ||update||."""
import numpy as np

from nnfast.optimizers.optimizer import Optimizer


class Lamb(Optimizer):
    """LAMB (You et al., 2019) as Keras 3: Adam moments with bias correction,
    ``update = m_hat / (sqrt(v_hat) + eps)``, then ``w -= ratio * lr * update`` with
    ``ratio = ||w|| / ||update||`` (1 when either norm is 0). NumPy per variable.

    Args:
        learning_rate: default 0.001.
        beta_1: decay rate of the first-moment estimate (default 0.9).
        beta_2: decay rate of the second-moment estimate (default 0.999).
        epsilon: default 1e-7.
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
        >>> model.compile(optimizer=Lamb(learning_rate=1e-3), loss="mse")
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
                         name=name or "lamb", **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _slot_groups(self):
        return (("momentum", "velocity"),)

    # embedding gradients: squared per token (Optimizer._squared_gradient), as Keras on TF
    _token_statistic = "square"

    def update_step(self, gradient, variable, learning_rate):
        f = np.float32
        i = self._index[id(variable)]
        m, v = self._slots["momentum"][i], self._slots["velocity"][i]
        step = f(self.iterations + 1)
        g = np.asarray(gradient, np.float32)
        m += (g - m) * f(1 - self.beta_1)
        v += (self._squared_gradient(g) - v) * f(1 - self.beta_2)
        m_hat = m / (f(1.0) - f(self.beta_1) ** step)
        v_sqrt = np.sqrt(v / (f(1.0) - f(self.beta_2) ** step)) + f(self.epsilon)
        update = m_hat / v_sqrt
        w = variable.value
        w_norm = np.sqrt(np.sum(w * w))
        u_norm = np.sqrt(np.sum(update * update))
        ratio = w_norm / u_norm if (w_norm > 0 and u_norm > 0) else f(1.0)
        w -= f(ratio) * f(learning_rate) * update

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
