"""Learning-rate schedules: callables of the optimizer step (``iterations``, 0 for the
first batch) with Keras's formulas, names and configs.

Example:
    >>> lr = ExponentialDecay(1e-2, decay_steps=1000, decay_rate=0.9)
    >>> opt = nnfast.optimizers.SGD(learning_rate=lr)
"""
import math


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    Example:
        >>> class Halving(keras.optimizers.schedules.LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 * 0.5 ** (step // 100)
        ...     def get_config(self):
        ...         return {}
        >>> optimizer = keras.optimizers.Adam(learning_rate=Halving())
        >>> float(Halving()(250))
        0.025
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_positive(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; the exponent is
    floored when ``staircase``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: how many steps one decay period lasts.
        decay_rate: the decay factor per ``decay_steps``.
        staircase: decay in whole periods (``floor(step / decay_steps)``) instead of continuously.
            Defaults to ``False``.
        name: name of the schedule (kept in its config). Defaults to ``"ExponentialDecay"``.

    Example:
        >>> schedule = keras.optimizers.schedules.ExponentialDecay(
        ...     0.1, decay_steps=100, decay_rate=0.5)
        >>> [round(float(schedule(step)), 4) for step in (0, 100, 200)]
        [0.1, 0.05, 0.025]
        >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Args:
        boundaries: increasing step numbers where the rate changes.
        values: the rates, one more than ``boundaries``: ``values[i]`` applies up to
            ``boundaries[i]``.
        name: name of the schedule (kept in its config). Defaults to ``"PiecewiseConstant"``.

    Example:
        >>> schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        ...     [100, 200], [0.1, 0.01, 0.001])
        >>> [float(schedule(step)) for step in (0, 150, 250)]
        [0.1, 0.01, 0.001]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length {len(values)}.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end`` with ``step`` capped at
    ``decay_steps``; with ``cycle`` the horizon grows to the next multiple of
    ``decay_steps`` instead.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: how many steps one decay period lasts.
        end_learning_rate: the rate reached after ``decay_steps``. Defaults to ``0.0001``.
        power: the exponent of the polynomial (1: linear). Defaults to ``1.0``.
        cycle: restart the decay (with a longer period) after ``decay_steps`` instead of staying at
            ``end_learning_rate``. Defaults to ``False``.
        name: name of the schedule (kept in its config). Defaults to ``"PolynomialDecay"``.

    Example:
        >>> schedule = keras.optimizers.schedules.PolynomialDecay(
        ...     0.1, decay_steps=100, end_learning_rate=0.01)
        >>> [round(float(schedule(step)), 4) for step in (0, 50, 100, 500)]
        [0.1, 0.055, 0.01, 0.01]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = (
            end_learning_rate, power, cycle, name)

    def __call__(self, step):
        step = float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            # Keras: multiplier 1 at step 0, else ceil(step / decay_steps).
            mult = 1.0 if step == 0 else math.ceil(step / decay_steps)
            decay_steps = decay_steps * mult
        else:
            step = min(step, decay_steps)
        frac = step / decay_steps
        return ((self.initial_learning_rate - self.end_learning_rate) * (1 - frac) ** self.power
                + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; the ratio is
    floored when ``staircase``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: how many steps one decay period lasts.
        decay_rate: the decay factor per ``decay_steps``.
        staircase: decay in whole periods (``floor(step / decay_steps)``) instead of continuously.
            Defaults to ``False``.
        name: name of the schedule (kept in its config). Defaults to ``"InverseTimeDecay"``.

    Example:
        >>> schedule = keras.optimizers.schedules.InverseTimeDecay(
        ...     0.1, decay_steps=10, decay_rate=1.0)
        >>> [round(float(schedule(step)), 4) for step in (0, 10, 30)]
        [0.1, 0.05, 0.025]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or from ``warmup_target`` after a linear
    warmup of ``warmup_steps``) down to ``alpha`` times that rate over ``decay_steps``:
    ``lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, T) / T)) + alpha)``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: how many steps one decay period lasts.
        alpha: the floor of the decay, a fraction of ``initial_learning_rate``. Defaults to
            ``0.0``.
        name: name of the schedule (kept in its config). Defaults to ``"CosineDecay"``.
        warmup_target: the rate reached at the end of a linear warm-up from
            ``initial_learning_rate`` (None: no warm-up).
        warmup_steps: length of that warm-up, in steps. Defaults to ``0``.

    Example:
        >>> schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100)
        >>> [round(float(schedule(step)), 4) for step in (0, 50, 100)]
        [0.1, 0.05, 0.0]
        >>> warm = keras.optimizers.schedules.CosineDecay(
        ...     0.0, 100, warmup_target=0.1, warmup_steps=10)
        >>> [round(float(warm(step)), 4) for step in (0, 5, 10)]
        [0.0, 0.05, 0.1]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if decay_steps < 0:
            raise ValueError(f"Argument `decay_steps` must be >= 0. Received: {decay_steps}")
        self.initial_learning_rate, self.decay_steps, self.alpha = (
            initial_learning_rate, decay_steps, alpha)
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def _decay(self, step, target):
        frac = min(step, self.decay_steps) / self.decay_steps if self.decay_steps else 1.0
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return ((1 - self.alpha) * cosine + self.alpha) * target

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            completed = step / self.warmup_steps
            return (completed * (self.warmup_target - self.initial_learning_rate)
                    + self.initial_learning_rate)
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR cosine decay with warm restarts: the first period lasts
    ``first_decay_steps``, each next one ``t_mul`` times longer, restarting at ``m_mul``
    times the previous initial rate; ``alpha`` is the floor fraction.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: length of the first cosine period, in steps.
        t_mul: each period is this many times longer than the one before. Defaults to ``2.0``.
        m_mul: each restart begins at this fraction of the previous period's initial rate. Defaults
            to ``1.0``.
        alpha: the floor of the decay, a fraction of ``initial_learning_rate``. Defaults to
            ``0.0``.
        name: name of the schedule (kept in its config). Defaults to ``"SGDRDecay"``.

    Example:
        >>> schedule = keras.optimizers.schedules.CosineDecayRestarts(0.1, first_decay_steps=10)
        >>> [round(float(schedule(step)), 4) for step in (0, 5, 10, 20)]
        [0.1, 0.05, 0.1, 0.05]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        completed = float(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            i_restart = math.floor(completed)
            completed -= i_restart
        else:
            i_restart = math.floor(math.log(1.0 - completed * (1.0 - self.t_mul)) / math.log(self.t_mul))
            sum_r = (1.0 - self.t_mul ** i_restart) / (1.0 - self.t_mul)
            completed = (completed - sum_r) / self.t_mul ** i_restart
        m_fac = self.m_mul ** i_restart
        cosine = 0.5 * m_fac * (1.0 + math.cos(math.pi * completed))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                    InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """Keras's serialized form ``{module, class_name, config, registered_name}`` of a
    ``LearningRateSchedule``.

    Args:
        learning_rate_schedule: a ``LearningRateSchedule``.

    Example:
        >>> serialize(ExponentialDecay(0.1, 100, 0.9))["class_name"]
        'ExponentialDecay'
    """
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuilds a schedule from ``serialize``'s output (custom classes via custom_objects).

    Args:
        config: the dict ``serialize`` returned.
        custom_objects: a dict of name -> class for schedules of your own.

    Example:
        >>> s = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)
        >>> config = keras.optimizers.schedules.serialize(s)
        >>> keras.optimizers.schedules.deserialize(config).get_config() == s.get_config()
        True
    """
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: '{name}'. Expected one of "
                         f"{sorted(_CLASSES)}.")
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """Resolves a learning-rate schedule identifier: a schedule
    is returned as it is, a config dict (``serialize``'s) is deserialized.

    Args:
        identifier: a ``LearningRateSchedule`` or a config dict.

    Returns:
        A ``LearningRateSchedule``.

    Raises:
        ValueError: for anything else.

    Example:
        >>> s = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.5)
        >>> keras.optimizers.schedules.get(keras.optimizers.schedules.serialize(s))(100)
        0.05
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret learning rate schedule: {identifier!r}")
