"""Muon: momentum orthogonalized by Newton-Schulz iterations for 2-D weights, AdamW for
the rest (Keras 3's rule)."""
import re

import numpy as np

from nnfast.optimizers.optimizer import Optimizer


class Muon(Optimizer):
    """Muon (Jordan et al., 2024) as Keras 3. 2-D variables (except embeddings with
    ``exclude_embeddings`` and paths matching ``exclude_layers``) take
    ``m = momentum * m + g``, ``u = NS5(g + momentum * m)`` (nesterov) or ``NS5(m)``,
    ``w -= lr * u * sqrt(max(rows, cols)) * rms_rate``, where NS5 is ``ns_steps`` quintic
    Newton-Schulz iterations (``muon_a, muon_b, muon_c``) on the Frobenius-normalised
    matrix. Other variables take AdamW's step with ``lr * adam_lr_ratio``. Decoupled
    weight decay: ``weight_decay`` for Muon variables, ``adam_weight_decay`` for the rest.
    NumPy per variable.

    Args:
        learning_rate: the learning rate of the Muon (matrix) updates. Defaults to ``0.001``.
        adam_beta_1: first-moment decay of the AdamW used for non-matrix variables. Defaults to
            ``0.9``.
        adam_beta_2: second-moment decay of that AdamW. Defaults to ``0.999``.
        adam_weight_decay: weight decay of that AdamW. Defaults to ``0.004``.
        epsilon: small constant for the AdamW updates' numerical stability. Defaults to ``1e-07``.
        weight_decay: weight decay of the Muon updates. Defaults to ``0.004``.
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
        exclude_layers: a list of regular expressions; variables whose path matches one are updated
            by AdamW instead of Muon.
        exclude_embeddings: update embedding tables with AdamW instead of Muon. Defaults to
            ``True``.
        muon_a: first coefficient of the Newton-Schulz orthogonalization polynomial. Defaults to
            ``3.4445``.
        muon_b: second coefficient of that polynomial. Defaults to ``-4.775``.
        muon_c: third coefficient of that polynomial. Defaults to ``2.0315``.
        adam_lr_ratio: the AdamW learning rate as a fraction of ``learning_rate``. Defaults to
            ``1``.
        momentum: momentum of the Muon updates. Defaults to ``0.95``.
        ns_steps: number of Newton-Schulz iterations. Defaults to ``5``.
        nesterov: use Nesterov momentum. Defaults to ``True``.
        rms_rate: scale the orthogonalized update to this RMS so AdamW learning rates carry over
            (None: Muon's original shape-based scale). Defaults to ``0.2``.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=Muon(learning_rate=0.02), loss="mse")
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, exclude_layers=None,
                 exclude_embeddings=True, muon_a=3.4445, muon_b=-4.775, muon_c=2.0315,
                 adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2,
                 **kwargs):
        # weight decay is applied here per variable kind, not by the base class
        super().__init__(learning_rate=learning_rate, weight_decay=None, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name or "muon", **kwargs)
        self.muon_weight_decay = weight_decay
        self.adam_beta_1, self.adam_beta_2 = adam_beta_1, adam_beta_2
        self.adam_weight_decay, self.epsilon = adam_weight_decay, epsilon
        self.exclude_layers = exclude_layers or []
        self.exclude_embeddings = exclude_embeddings
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, momentum, ns_steps
        self.nesterov, self.rms_rate = nesterov, rms_rate

    def _should_use_adamw(self, variable):
        if np.ndim(variable.value) != 2:
            return True
        path = getattr(variable, "path", getattr(variable, "name", "")) or ""
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(k, path) for k in self.exclude_layers)

    def _build_extra(self):
        # Keras's order, variable by variable: momentum, then velocity for AdamW variables.
        self._m, self._v = [], []
        for var in self._trainable_variables:
            self._add_muon_slots(var)

    def _add_muon_slots(self, var):
        self._m.append(self._new_array(var, 0.0))
        self._v.append(self._new_array(var, 0.0) if self._should_use_adamw(var) else None)

    def _add_variable(self, reference):
        super()._add_variable(reference)
        self._add_muon_slots(reference)

    # embedding gradients: squared per token (Optimizer._squared_gradient), as Keras on TF
    _token_statistic = "square"

    def update_step(self, gradient, variable, learning_rate):
        f = np.float32
        i = self._index[id(variable)]
        m, v = self._m[i], self._v[i]
        w = variable.value
        decay = self.adam_weight_decay if v is not None else self.muon_weight_decay
        if decay is not None and self._use_weight_decay(variable):
            w -= w * f(decay) * f(learning_rate)
        g = np.asarray(gradient, np.float32)
        if v is not None:
            lr = f(learning_rate * self.adam_lr_ratio)
            step = f(self.iterations + 1)
            alpha = lr * np.sqrt(f(1) - f(self.adam_beta_2) ** step) / (
                f(1) - f(self.adam_beta_1) ** step)
            m += (g - m) * f(1 - self.adam_beta_1)
            v += (self._squared_gradient(g) - v) * f(1 - self.adam_beta_2)
            w -= m * alpha / (np.sqrt(v) + f(self.epsilon))
            return
        m += g + m * f(self.momentum - 1)
        direction = g + f(self.momentum) * m if self.nesterov else m
        update = self._newton_schulz(direction) * f(learning_rate)
        if self.rms_rate is not None:
            update = update * np.sqrt(f(max(w.shape[0], w.shape[1]))) * f(self.rms_rate)
        w -= update

    def _newton_schulz(self, x):
        """The quintic Newton-Schulz approximation of the orthogonal factor of ``x``."""
        f = np.float32
        a, b, c = f(self.muon_a), f(self.muon_b), f(self.muon_c)
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = np.swapaxes(x, -1, -2)
        x = x / (np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True)) + f(1e-7))
        for _ in range(self.ns_steps):
            gram = x @ np.swapaxes(x, -1, -2)
            poly = b * gram + c * gram @ gram
            x = a * x + poly @ x
        return np.swapaxes(x, -1, -2) if tall else x

    def get_config(self):
        config = super().get_config()
        config.update({"weight_decay": self.muon_weight_decay, "adam_beta_1": self.adam_beta_1,
                       "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                       "exclude_layers": self.exclude_layers,
                       "exclude_embeddings": self.exclude_embeddings, "muon_a": self.muon_a,
                       "muon_b": self.muon_b, "muon_c": self.muon_c,
                       "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                       "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                       "rms_rate": self.rms_rate, "adam_weight_decay": self.adam_weight_decay})
        return config
