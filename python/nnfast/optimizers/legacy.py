"""Keras 2's optimizers (``keras.optimizers.legacy`` in tf.keras 2.11+ and tf_keras).

They are the Keras 3 optimizers plus Keras 2's constructor arguments:

- ``lr=``: alias of ``learning_rate``;
- ``decay=``: time-based decay of the learning rate. Step ``t`` (``iterations`` before the
  step, counted from 0) uses ``lr / (1 + decay * t)``, computed in float32 as tf_keras's
  ``OptimizerV2._decayed_lr`` does; ``learning_rate``/``lr`` keep returning the undecayed
  base rate, as in Keras 2;
- ``epsilon=None``: means the backend epsilon (1e-7).

The update rules are those of the Keras 3 classes (the same formulas tf_keras's legacy
optimizers use, checked against tf_keras 2.21 in ``tests/test_keras2.py``).

Example:
    >>> from nnfast.optimizers import legacy
    >>> opt = legacy.Adam(lr=0.01, decay=1e-4)
    >>> model.compile(optimizer=opt, loss="mse")
"""
import warnings

import numpy as np

from nnfast.ops.embedding import TokenRowsGradient
from nnfast.optimizers import adadelta, adagrad, adam, adamax, ftrl, nadam, optimizer, rmsprop, sgd


class _RowsView:
    """Stands in for a variable while an update rule runs on some of its rows."""

    def __init__(self, value):
        self.value = value


class _TimeDecay:
    """Mixin giving a Keras 3 optimizer Keras 2's ``lr=``/``decay=``/``epsilon=None`` and
    Keras 2's rules for embedding tables (row-sliced gradients, ``tf.IndexedSlices`` there).

    tf_keras's legacy optimizers sum the rows of repeated ids first and apply the dense rule
    to the sum (Keras 3 squares each token's row: ``_token_statistic`` is off here); and
    several of them (``_lazy_rows``) update only the rows the batch looked up, leaving the
    slots and weights of the other rows as they were (TensorFlow's ``ResourceSparseApply*``
    kernels), where the dense rule would keep moving them with their momentum.
    """

    _token_statistic = None
    _lazy_ids = None  # id(variable) -> distinct touched row ids, during one lazy update

    def _lazy_rows(self):
        return False

    def _needs_token_rows(self):
        # The rule sees the summed rows (what a fused embedding backward gives) unless it is
        # lazy or clips each token's row first.
        return (self._lazy_rows() or self.clipnorm is not None or self.clipvalue is not None
                or self.global_clipnorm is not None)

    def _apply_plain(self, grads, variables):
        if self._lazy_rows() and any(type(g) is TokenRowsGradient and g.ids is not None
                                     for g in grads):
            return False
        return super()._apply_plain(grads, variables)

    def _update(self, grads, variables, tokens=None):
        if (tokens is None or not self._lazy_rows() or self.global_clipnorm is not None
                or self.weight_decay):
            return super()._update(grads, variables, tokens)
        self._lazy_ids = {id(v): np.unique(t[0]) for v, t in zip(variables, tokens)
                          if t is not None}
        try:
            return super()._update(grads, variables, tokens)
        finally:
            self._lazy_ids = None

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        ids = None if self._lazy_ids is None else self._lazy_ids.get(id(variable))
        if ids is None:
            return super()._fused_update(gradient, variable, index, learning_rate, step,
                                         common)
        # The rule on the looked-up rows alone: gather them and their slots, update, scatter.
        names = [name for group in self._slot_groups() for name in group]
        full = {name: self._slots[name][index] for name in names}
        rows = _RowsView(np.ascontiguousarray(variable.value[ids]))
        try:
            for name in names:
                self._slots[name][index] = np.ascontiguousarray(full[name][ids])
            super()._fused_update(np.ascontiguousarray(gradient[ids]), rows, index,
                                  learning_rate, step, common)
            for name in names:
                full[name][ids] = self._slots[name][index]
        finally:
            for name in names:
                self._slots[name][index] = full[name]
        variable.value[ids] = rows.value

    def __init__(self, *args, decay=0.0, **kwargs):
        if "lr" in kwargs:
            if "learning_rate" in kwargs:
                raise ValueError("Pass only one of `lr` and `learning_rate`. Received: "
                                 f"lr={kwargs['lr']}, learning_rate={kwargs['learning_rate']}")
            kwargs["learning_rate"] = kwargs.pop("lr")
        if "epsilon" in kwargs and kwargs["epsilon"] is None:
            kwargs["epsilon"] = 1e-7
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not decay >= 0:
            raise ValueError(f"`decay` must be a float >= 0. Received: decay={decay!r}")
        super().__init__(*args, **kwargs)
        self.decay = float(decay)

    def _step_learning_rate(self):
        if not self.decay:
            return self.learning_rate
        return optimizer.keras2_time_decay(self.learning_rate, self.decay, self.iterations)

    def get_config(self):
        config = super().get_config()
        config["decay"] = self.decay
        return config


def _legacy(base, lazy_rows=None):
    cls = type(base.__name__, (_TimeDecay, base), {
        "__module__": __name__,
        **({"_lazy_rows": lazy_rows} if lazy_rows else {}),
        "__doc__": (f"Keras 2's ``{base.__name__}``: ``nnfast.optimizers.{base.__name__}`` "
                    "with the legacy arguments ``lr=`` (alias of ``learning_rate``), "
                    "``decay=`` (``lr / (1 + decay * iterations)``) and ``epsilon=None``.\n\n"
                    f"Example:\n    >>> opt = legacy.{base.__name__}(lr=0.01, decay=1e-4)\n"),
    })
    cls.__qualname__ = base.__name__
    return cls


def _always(self):
    return True


# Lazy where tf_keras's sparse kernel is: SGD with momentum (ResourceSparseApplyKerasMomentum),
# Adadelta, Adamax, Ftrl. Adam and Adagrad update as the dense rule does.
SGD = _legacy(sgd.SGD, lazy_rows=lambda self: self.momentum != 0)
Adam = _legacy(adam.Adam)
Adagrad = _legacy(adagrad.Adagrad)
Adadelta = _legacy(adadelta.Adadelta, lazy_rows=_always)
Adamax = _legacy(adamax.Adamax, lazy_rows=_always)
Ftrl = _legacy(ftrl.Ftrl, lazy_rows=_always)
Optimizer = _legacy(optimizer.Optimizer)


class RMSprop(_TimeDecay, rmsprop.RMSprop):
    """Keras 2's ``RMSprop``: ``lr=``/``decay=``/``epsilon=None`` as the other legacy
    optimizers. Without momentum Keras 2 adds epsilon outside the square root,
    ``w -= lr * g / (sqrt(ms) + eps)`` (``ms - mg^2`` when centered), where Keras 3 uses
    ``sqrt(ms + eps)``; with momentum both use ``sqrt(ms + eps)``.

    Example:
        >>> opt = legacy.RMSprop(lr=0.001, decay=1e-6)
    """

    def _lazy_rows(self):
        return self.momentum > 0  # ResourceSparseApplyRMSProp; without momentum: dense rule

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        if self.momentum > 0:
            return super()._fused_update(gradient, variable, index, learning_rate, step, common)
        g = gradient
        if common["grad_scale"] != 1.0:
            g = g * np.float32(common["grad_scale"])
        if common["clip_lo"] != -np.inf or common["clip_hi"] != np.inf:
            g = np.clip(g, common["clip_lo"], common["clip_hi"])
        w = variable.value
        if common["decay"]:
            w -= w * np.float32(common["decay"])
        rho = np.float32(self.rho)
        ms = self._slots["velocity"][index]
        ms *= rho
        ms += (np.float32(1.0) - rho) * g * g
        denom = ms
        if self.centered:
            mg = self._slots["average_gradient"][index]
            mg *= rho
            mg += (np.float32(1.0) - rho) * g
            denom = ms - mg * mg
        w -= np.float32(learning_rate) * g / (np.sqrt(denom) + np.float32(self.epsilon))


class Nadam(_TimeDecay, nadam.Nadam):
    """Keras 2's ``Nadam``: ``schedule_decay`` (default 0.004) sets the momentum schedule
    ``mu_t = beta_1 * (1 - 0.5 * 0.96^(schedule_decay * t))`` (Keras 3 uses ``0.96^t``), and
    the learning rate is never decayed. As in tf_keras's legacy Nadam, ``decay=`` does not
    change anything (tf_keras overwrites it with ``schedule_decay``); nnfast warns about it.

    Example:
        >>> opt = legacy.Nadam(lr=0.002)
    """

    def __init__(self, *args, schedule_decay=0.004, **kwargs):
        if kwargs.pop("decay", None):
            warnings.warn("Keras 2's Nadam ignores `decay` (tf_keras replaces it with "
                          "`schedule_decay`, default 0.004); pass `schedule_decay` to change "
                          "the momentum schedule.", stacklevel=2)
        super().__init__(*args, decay=schedule_decay, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["schedule_decay"] = config.pop("decay")
        return config

    def _step_learning_rate(self):
        return self.learning_rate

    def _lazy_rows(self):
        return True

    def _mu(self, t):
        power = np.float32(self.decay) * np.float32(t)
        return np.float32(self.beta_1) * (np.float32(1.0)
                                          - np.float32(0.5) * np.float32(0.96) ** power)

    def _before_update(self):
        self._u_product[...] = self._u_product * self._mu(self.iterations + 1)

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        # NumPy: the fused kernel hard-codes Keras 3's 0.96^t schedule.
        g = gradient
        if common["grad_scale"] != 1.0:
            g = g * np.float32(common["grad_scale"])
        if common["clip_lo"] != -np.inf or common["clip_hi"] != np.inf:
            g = np.clip(g, common["clip_lo"], common["clip_hi"])
        w = variable.value
        if common["decay"]:
            w -= w * np.float32(common["decay"])
        one = np.float32(1.0)
        b1, b2 = np.float32(self.beta_1), np.float32(self.beta_2)
        mu_t, mu_next = self._mu(step), self._mu(step + 1)
        prod_t = np.float32(self._u_product)
        prod_next = prod_t * mu_next
        m, v = self._slots["momentum"][index], self._slots["velocity"][index]
        m *= b1
        m += (one - b1) * g
        v *= b2
        v += (one - b2) * g * g
        m_bar = (one - mu_t) * (g / (one - prod_t)) + mu_next * (m / (one - prod_next))
        v_hat = v / (one - b2 ** np.float32(step))
        delta = np.float32(learning_rate) * m_bar / (np.sqrt(v_hat) + np.float32(self.epsilon))
        ids = None if self._lazy_ids is None else self._lazy_ids.get(id(variable))
        if ids is None:
            w -= delta
        else:  # an embedding table: tf_keras moves only the looked-up rows (slots decay all)
            w[ids] -= delta[ids]
