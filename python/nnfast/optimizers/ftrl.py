"""FTRL-proximal (McMahan et al.), as Keras implements it."""
from nnfast import _core
from nnfast.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """Follow-the-regularized-leader with L1/L2 regularization and L2 shrinkage. With
    ``p = learning_rate_power``, ``acc' = acc + g^2``,
    ``lin += g + 2*l2_shrinkage*w - (acc'^-p - acc^-p)/lr * w``,
    ``w = (clip(lin, -l1, l1) - lin) / (acc'^-p/lr + 2*(l2 + beta/(2*lr)))``.

    Args:
        learning_rate: default 0.001.
        learning_rate_power: <= 0, default -0.5.
        initial_accumulator_value: >= 0, default 0.1.
        l1_regularization_strength, l2_regularization_strength: >= 0, default 0.
        l2_shrinkage_regularization_strength: >= 0, default 0.
        beta: default 0.0.

    Example:
        >>> opt = Ftrl(learning_rate=0.05, l1_regularization_strength=0.001)
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, name=kwargs.pop("name", "ftrl"), **kwargs)
        checks = (("initial_accumulator_value", initial_accumulator_value, "greater than or equal to 0.0"),
                  ("learning_rate_power", -learning_rate_power, "less than or equal to 0.0"),
                  ("l1_regularization_strength", l1_regularization_strength, "greater than or equal to 0.0"),
                  ("l2_regularization_strength", l2_regularization_strength, "greater than or equal to 0.0"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "greater than or equal to 0.0"))
        for name, val, what in checks:
            if val < 0.0:
                raise ValueError(f"`{name}` needs to be {what}. Received: {name}="
                                 f"{-val if name == 'learning_rate_power' else val}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _slot_groups(self):
        return (("accumulator", "linear"),)

    def _slot_initial_value(self, name):
        return self.initial_accumulator_value if name == "accumulator" else 0.0

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        l2_total = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        _core.ftrl_update(variable.value, gradient, self._slots["accumulator"][index],
                          self._slots["linear"][index], learning_rate, self.learning_rate_power,
                          self.l1_regularization_strength, l2_total,
                          self.l2_shrinkage_regularization_strength, **common)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta})
        return config
