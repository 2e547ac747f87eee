"""Adafactor: factored second moments (row and column averages) for matrices."""
import numpy as np

from nnfast.optimizers.optimizer import Optimizer


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018) as Keras 3. For variables of rank >= 2 the second
    moment is kept as row means ``r`` and column means ``c`` of ``g**2 + epsilon_1`` and
    rebuilt as ``v = (r / mean(r))[..., None] * c[..., None, :]``; vectors keep a full
    ``v``. ``beta_2_t = 1 - t**beta_2_decay``; the step is
    ``max(epsilon_2, rms(w)) * min(lr, 1/sqrt(t)) * u / max(1, rms(u) / clip_threshold)``
    with ``u = g / sqrt(v)``; with ``relative_step`` the rate is first capped at
    ``1/sqrt(t)``. NumPy per variable.

    Args:
        learning_rate: default 0.001.
        beta_2_decay: default -0.8.
        epsilon_1: added to the squared gradient (1e-30).
        epsilon_2: floor of the weights' RMS scale (1e-3).
        clip_threshold: update clipping by RMS (1.0).
        relative_step: cap the rate at ``1/sqrt(t)`` (True).
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
        >>> model.compile(optimizer=Adafactor(), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, weight_decay=None, clipnorm=None, clipvalue=None,
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
                         name=name or "adafactor", **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def _build_extra(self):
        # Keras's order, variable by variable: r and c (matrices only), then v.
        self._r, self._c, self._v = [], [], []
        for var in self._trainable_variables:
            self._add_factors(var)

    def _add_factors(self, var):
        shape = np.shape(var.value)
        if len(shape) >= 2:
            self._r.append(self._new_shaped(shape[:-1]))
            self._c.append(self._new_shaped(shape[:-2] + (shape[-1],)))
        else:
            self._r.append(None)
            self._c.append(None)
        self._v.append(self._new_shaped(shape))

    def _new_shaped(self, shape):
        arr = np.zeros(shape, np.float32)
        self._state.append(arr)
        return arr

    def _add_variable(self, reference):
        super()._add_variable(reference)
        self._add_factors(reference)

    def update_step(self, gradient, variable, learning_rate):
        f = np.float32
        i = self._index[id(variable)]
        r, c, v = self._r[i], self._c[i], self._v[i]
        step = f(self.iterations + 1)
        lr = f(learning_rate)
        if not callable(self._learning_rate) and self.relative_step:
            lr = min(lr, f(1.0) / np.sqrt(step))
        w = variable.value
        g = np.asarray(gradient, np.float32)
        rho = min(lr, f(1.0) / np.sqrt(step))
        alpha = max(f(self.epsilon_2), np.sqrt(np.mean(w * w))) * rho
        sq = g * g + f(self.epsilon_1)
        beta = f(1.0) - step ** f(self.beta_2_decay)
        if w.ndim >= 2:
            r[...] = beta * r + (f(1.0) - beta) * sq.mean(axis=-1)
            c[...] = beta * c + (f(1.0) - beta) * sq.mean(axis=-2)
            v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v[...] = beta * v + (f(1.0) - beta) * sq
        u = g / np.sqrt(v)
        u_hat = u / max(f(1.0), np.sqrt(np.mean(u * u)) / f(self.clip_threshold))
        w -= alpha * u_hat

    def get_config(self):
        config = super().get_config()
        config.update({"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                       "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                       "relative_step": self.relative_step})
        return config
