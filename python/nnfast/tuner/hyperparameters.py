"""The search space: ``HyperParameters`` with ``Int``, ``Float``, ``Choice``, ``Boolean``,
``Fixed`` and conditional scopes (Keras Tuner's ``keras_tuner.HyperParameters``).

A model-building function asks ``hp`` for values (``hp.Int("units", 32, 512, step=32)``):
the first time a name is seen it is registered in the space and gets its default; during
a search the oracle fills ``hp.values`` with the trial's choices, which those same calls
then return. Every hyperparameter also maps values to and from the unit interval
(``prob_to_value``/``value_to_prob``), which random sampling and the Gaussian process use.
"""
import contextlib
import copy
import math

import numpy as np


def _prob_to_index(prob, n_values):
    return int(min(max(math.floor(prob * n_values), 0), n_values - 1))


def _index_to_prob(index, n_values):
    return (index + 0.5) / n_values


class Condition:
    """Active when the hyperparameter ``name`` currently has one of ``values``."""

    def __init__(self, name, values):
        self.name = name
        self.values = list(values) if isinstance(values, (list, tuple)) else [values]

    def is_active(self, values):
        return self.name in values and values[self.name] in self.values

    def get_config(self):
        return {"class_name": "Parent", "config": {"name": self.name, "values": self.values}}

    @classmethod
    def from_config(cls, config):
        return cls(**config["config"])

    def __eq__(self, other):
        return isinstance(other, Condition) and (self.name, self.values) == (other.name,
                                                                             other.values)


class HyperParameter:
    """Base class: a named hyperparameter with a default and activation conditions."""

    def __init__(self, name, default=None, conditions=None):
        self.name = name
        self._default = default
        self.conditions = list(conditions or [])

    @property
    def default(self):
        return self._default

    def random_sample(self, seed=None):
        rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
        return self.prob_to_value(rng.uniform())

    def get_config(self):
        return {"name": self.name, "default": self._default,
                "conditions": [c.get_config() for c in self.conditions]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["conditions"] = [Condition.from_config(c) for c in config.get("conditions", [])]
        return cls(**config)

    def _summary(self):
        config = self.get_config()
        config.pop("name")
        return config


class _Numerical(HyperParameter):
    _SAMPLINGS = ("linear", "log", "reverse_log")

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=None):
        super().__init__(name, default, conditions)
        sampling = (sampling or "linear").lower()
        if sampling not in self._SAMPLINGS:
            raise ValueError(f"`sampling` must be one of {self._SAMPLINGS}. Received: "
                             f"sampling={sampling!r}")
        if min_value > max_value:
            raise ValueError(f"`min_value` must be <= `max_value`. Received: min_value="
                             f"{min_value}, max_value={max_value}")
        if sampling != "linear" and min_value <= 0:
            raise ValueError(f"`sampling=\"{sampling}\"` needs `min_value` > 0. Received: "
                             f"min_value={min_value}")
        self.min_value = min_value
        self.max_value = max_value
        self.step = step
        self.sampling = sampling

    # continuous mapping
    def _sample_numerical(self, prob, max_value):
        lo = self.min_value
        if self.sampling == "linear":
            return prob * (max_value - lo) + lo
        if self.sampling == "log":
            return lo * math.pow(max_value / lo, prob)
        return max_value + lo - lo * math.pow(max_value / lo, 1 - prob)

    def _numerical_to_prob(self, value, max_value):
        lo = self.min_value
        if max_value == lo:
            return 0.5
        if self.sampling == "linear":
            return (value - lo) / (max_value - lo)
        if self.sampling == "log":
            return math.log(value / lo) / math.log(max_value / lo)
        return 1 - math.log((max_value + lo - value) / lo) / math.log(max_value / lo)

    # stepped mapping (log steps are multiplicative, as Keras Tuner's)
    def _n_values(self):
        if self.sampling == "linear":
            return int((self.max_value - self.min_value) // self.step + 1)
        return int(math.log(self.max_value / self.min_value, self.step) + 1e-8) + 1

    def _value_by_index(self, index):
        if self.sampling == "linear":
            return self.min_value + index * self.step
        if self.sampling == "log":
            return self.min_value * math.pow(self.step, index)
        return (self.max_value + self.min_value
                - self.min_value * math.pow(self.step, self._n_values() - index - 1))

    def _index_of(self, value):
        if self.sampling == "linear":
            return int(round((value - self.min_value) / self.step))
        if self.sampling == "log":
            return int(round(math.log(value / self.min_value, self.step)))
        return self._n_values() - 1 - int(round(math.log(
            (self.max_value + self.min_value - value) / self.min_value, self.step)))

    def get_config(self):
        config = super().get_config()
        config.update({"min_value": self.min_value, "max_value": self.max_value,
                       "step": self.step, "sampling": self.sampling})
        return config


class Int(_Numerical):
    """An integer in ``[min_value, max_value]`` (inclusive), on a grid of ``step`` (1 by
    default for linear sampling; a multiplicative factor for log sampling)."""

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=None):
        if step is None and (sampling or "linear") == "linear":
            step = 1
        super().__init__(name, int(min_value), int(max_value), step, sampling, default,
                         conditions)
        if default is not None and not min_value <= default <= max_value:
            raise ValueError(f"The default value of {name} must be in [{min_value}, "
                             f"{max_value}]. Received: default={default}")

    @property
    def default(self):
        return self.min_value if self._default is None else self._default

    def prob_to_value(self, prob):
        if self.step is None:
            v = int(math.floor(self._sample_numerical(prob, self.max_value + 1)))
            return min(max(v, self.min_value), self.max_value)
        return int(self._value_by_index(_prob_to_index(prob, self._n_values())))

    def value_to_prob(self, value):
        if self.step is None:
            return self._numerical_to_prob(value + 0.5, self.max_value + 1)
        return _index_to_prob(self._index_of(value), self._n_values())


class Float(_Numerical):
    """A float in ``[min_value, max_value]``; continuous unless ``step`` is given.
    ``sampling="log"`` spreads samples evenly in log space (learning rates)."""

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=None):
        super().__init__(name, float(min_value), float(max_value), step, sampling, default,
                         conditions)

    @property
    def default(self):
        return self.min_value if self._default is None else self._default

    def prob_to_value(self, prob):
        if self.step is None:
            return float(min(max(self._sample_numerical(prob, self.max_value), self.min_value),
                             self.max_value))
        return float(self._value_by_index(_prob_to_index(prob, self._n_values())))

    def value_to_prob(self, value):
        if self.step is None:
            return self._numerical_to_prob(value, self.max_value)
        return _index_to_prob(self._index_of(value), self._n_values())


class Choice(HyperParameter):
    """One of ``values`` (all ints, floats, strings or bools); default the first."""

    def __init__(self, name, values, ordered=None, default=None, conditions=None):
        super().__init__(name, default, conditions)
        if not values:
            raise ValueError("`values` must be provided for `Choice`.")
        types = {type(v) for v in values}
        if len(types) > 1 and not types <= {int, float}:
            raise TypeError(f"A `Choice` can contain only one type of value, found values: "
                            f"{values} with types {types}.")
        self.values = list(values)
        if default is not None and default not in self.values:
            raise ValueError(f"The default value should be one of the choices {values}. "
                             f"Received: default={default}")
        is_numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if ordered and not is_numeric:
            raise ValueError("`ordered` must be `False` for non-numeric types.")
        self.ordered = is_numeric if ordered is None else ordered

    @property
    def default(self):
        return self.values[0] if self._default is None else self._default

    def prob_to_value(self, prob):
        return self.values[_prob_to_index(prob, len(self.values))]

    def value_to_prob(self, value):
        return _index_to_prob(self.values.index(value), len(self.values))

    def get_config(self):
        config = super().get_config()
        config.update({"values": self.values, "ordered": self.ordered})
        return config


class Boolean(HyperParameter):
    """True or False (default False)."""

    def __init__(self, name, default=False, conditions=None):
        super().__init__(name, bool(default), conditions)

    def prob_to_value(self, prob):
        return bool(prob >= 0.5)

    def value_to_prob(self, value):
        return 0.75 if value else 0.25


class Fixed(HyperParameter):
    """A constant that is recorded with the trial but never tuned."""

    def __init__(self, name, value, conditions=None):
        super().__init__(name, value, conditions)
        self.value = value

    def prob_to_value(self, prob):
        return self.value

    def value_to_prob(self, value):
        return 0.5

    def get_config(self):
        return {"name": self.name, "conditions": [c.get_config() for c in self.conditions],
                "value": self.value}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["conditions"] = [Condition.from_config(c) for c in config.get("conditions", [])]
        return cls(config["name"], config["value"], config["conditions"])


_CLASSES = {c.__name__: c for c in (Int, Float, Choice, Boolean, Fixed)}


class HyperParameters:
    """A search space and the current values in it.

    Example:
        >>> def build_model(hp):
        ...     model = nnfast.Sequential([nnfast.Input((64,))])
        ...     model.add(Dense(hp.Int("units", 32, 512, step=32), activation="relu"))
        ...     model.add(Dense(10, activation="softmax"))
        ...     lr = hp.Float("lr", 1e-4, 1e-2, sampling="log")
        ...     model.compile(optimizer=Adam(lr), loss="sparse_categorical_crossentropy",
        ...                   metrics=["accuracy"])
        ...     return model
    """

    def __init__(self):
        self._hps = {}
        self.space = []
        self.values = {}
        self._conditions = []

    # --- registration -------------------------------------------------------------
    def _retrieve(self, hp):
        hp.conditions = list(self._conditions) + [c for c in hp.conditions
                                                  if c not in self._conditions]
        if hp.name not in self._hps:
            self._hps[hp.name] = hp
            self.space.append(hp)
        else:
            hp = self._hps[hp.name]
        if not self.is_active(hp):
            return None
        if hp.name not in self.values:
            self.values[hp.name] = hp.value if isinstance(hp, Fixed) else hp.default
        return self.values[hp.name]

    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None,
            parent_name=None, parent_values=None):
        """An integer hyperparameter (see ``Int``); returns its current value."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(Int(name, min_value, max_value, step, sampling, default))

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None,
              parent_name=None, parent_values=None):
        """A float hyperparameter (see ``Float``); returns its current value."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(Float(name, min_value, max_value, step, sampling, default))

    def Choice(self, name, values, ordered=None, default=None, parent_name=None,
               parent_values=None):
        """One of ``values``; returns the current choice."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(Choice(name, values, ordered, default))

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        """True/False; returns the current value."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(Boolean(name, default))

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        """A constant recorded with the trial; returns ``value``."""
        with self._maybe_scope(parent_name, parent_values):
            return self._retrieve(Fixed(name, value))

    @contextlib.contextmanager
    def _maybe_scope(self, parent_name, parent_values):
        if parent_name is None:
            yield
        else:
            with self.conditional_scope(parent_name, parent_values):
                yield

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters created inside are active only while ``parent_name``'s value is
        one of ``parent_values``; inactive ones return None and are not tuned.

        Example:
            >>> kind = hp.Choice("kind", ["mlp", "wide"])
            >>> with hp.conditional_scope("kind", ["mlp"]):
            ...     if kind == "mlp":
            ...         depth = hp.Int("depth", 1, 3)
        """
        if parent_name not in self._hps:
            raise ValueError(f"`HyperParameters.conditional_scope` must be called with the name "
                             f"of an existing hyperparameter. Received: {parent_name!r}")
        self._conditions.append(Condition(parent_name, parent_values))
        try:
            yield
        finally:
            self._conditions.pop()

    # --- queries ------------------------------------------------------------------
    def is_active(self, hp):
        """Whether every condition of ``hp`` (an object or a name) holds right now."""
        if isinstance(hp, str):
            hp = self._hps[hp]
        return all(c.is_active(self.values) for c in hp.conditions)

    def get(self, name):
        """The current value of ``name``; raises if it is unknown or inactive."""
        if name in self._hps:
            if not self.is_active(name):
                raise ValueError(f"{name} is currently inactive.")
            return self.values.get(name, self._hps[name].default)
        if name in self.values:
            return self.values[name]
        raise KeyError(f"{name} does not exist.")

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name in self._hps or name in self.values

    def active_space(self):
        return [hp for hp in self.space if self.is_active(hp)]

    def copy(self):
        return copy.deepcopy(self)

    # --- serialization --------------------------------------------------------------
    def get_config(self):
        return {"space": [{"class_name": type(hp).__name__, "config": hp.get_config()}
                          for hp in self.space],
                "values": dict(self.values)}

    @classmethod
    def from_config(cls, config):
        hps = cls()
        for entry in config.get("space", []):
            hp = _CLASSES[entry["class_name"]].from_config(entry["config"])
            hps._hps[hp.name] = hp
            hps.space.append(hp)
        hps.values = dict(config.get("values", {}))
        return hps

    def merge(self, other):
        """Adds ``other``'s hyperparameters that this space does not have yet."""
        for hp in other.space:
            if hp.name not in self._hps:
                self._hps[hp.name] = copy.deepcopy(hp)
                self.space.append(self._hps[hp.name])
                if hp.name in other.values:
                    self.values.setdefault(hp.name, other.values[hp.name])
