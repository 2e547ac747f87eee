"""The ``Optimizer`` base class: learning rate, iterations, slots, and the Keras step order
(clip gradients -> weight decay -> update -> constraints -> iterations += 1)."""
import numpy as np

from nnfast.backend.tensor import Variable, as_array


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: a float, or a schedule/callable of the step (``iterations``).
        weight_decay: decoupled decay ``w -= w * wd * lr`` before the update.
        clipnorm / clipvalue / global_clipnorm: gradient clipping (at most one).
        name: optimizer name.
    """

    _slot_names = ()

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        kwargs.pop("decay", None)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self._learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._slots = {}  # id(variable) -> tuple of slot arrays
        self._variables = []  # the trainable variables the optimizer was built for
        self.built = False

    # --- learning rate ----------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate as a float (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if callable(lr):
            return float(lr(self.iterations))
        return float(lr)

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value

    lr = learning_rate

    # --- slots ----------------------------------------------------------------------------
    def build(self, variables):
        """Creates the slot arrays for each variable (zeros unless a subclass says)."""
        self._variables = list(variables)
        for v in self._variables:
            if id(v) not in self._slots:
                self._slots[id(v)] = self._make_slots(v)
        self.built = True

    def _make_slots(self, variable):
        return tuple(np.zeros_like(variable.value) for _ in self._slot_names)

    @property
    def variables(self):
        """``[iterations, learning_rate, slots...]`` in Keras's saved order."""
        out = [np.array(self.iterations, dtype=np.int64), np.array(self.learning_rate, np.float32)]
        for v in self._variables:
            out.extend(self._slots[id(v)])
        return out

    def set_variables(self, values):
        """Restores ``[iterations, learning_rate, slots...]`` (``variables`` order, as Keras
        saves them). Build the optimizer for the model's trainable variables first."""
        current = self.variables
        if len(values) != len(current):
            raise ValueError(f"Optimizer '{self.name}' has {len(current)} variables, received "
                             f"{len(values)} values.")
        for i, (old, new) in enumerate(zip(current[2:], values[2:])):
            if np.shape(old) != np.shape(new):
                raise ValueError(f"Optimizer variable {i + 2} has shape {np.shape(old)}, received "
                                 f"a value of shape {np.shape(new)}.")
        self.iterations = int(np.asarray(values[0]))
        if not callable(self._learning_rate):
            self._learning_rate = float(np.asarray(values[1]))
        it = iter(values[2:])
        for v in self._variables:
            for slot in self._slots[id(v)]:
                slot[...] = np.asarray(next(it), dtype=slot.dtype)

    # --- the step ---------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Applies ``[(grad, variable), ...]``; variables without a gradient are skipped."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, variables):
        """One optimizer step: ``grads[i]`` updates ``variables[i]`` in place."""
        if not self.built:
            self.build(variables)
        for v in variables:
            if id(v) not in self._slots:
                self._slots[id(v)] = self._make_slots(v)
                self._variables.append(v)
        grads = [np.ascontiguousarray(as_array(g), dtype=np.float32) for g in grads]
        grads = self._clip(grads)
        lr = self.learning_rate
        step = self.iterations + 1
        for g, v in zip(grads, variables):
            if g.shape != v.value.shape:
                raise ValueError(f"Gradient of shape {g.shape} does not match variable "
                                 f"'{v.path}' of shape {v.value.shape}")
            if self.weight_decay:
                v.value -= v.value * np.float32(self.weight_decay * lr)
            self.update_step(g, v, lr, step, self._slots[id(v)])
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        self.iterations += 1

    def update_step(self, gradient, variable, learning_rate, step, slots):
        raise NotImplementedError

    def _clip(self, grads):
        if self.clipnorm is not None:
            out = []
            for g in grads:
                norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
                out.append(g * np.float32(self.clipnorm / max(norm, self.clipnorm)))
            return out
        if self.global_clipnorm is not None:
            norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads)))
            scale = np.float32(self.global_clipnorm / max(norm, self.global_clipnorm))
            return [g * scale for g in grads]
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # --- config -----------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if hasattr(lr, "get_config"):
            lr = {"module": "keras.optimizers.schedules", "class_name": type(lr).__name__,
                  "config": lr.get_config(), "registered_name": None}
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            from nnfast.optimizers import schedules

            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)
