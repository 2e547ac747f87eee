"""What a search optimizes: ``Objective(name, direction)``, or a metric name whose direction
is inferred (``"val_accuracy"`` -> max, ``"val_loss"`` -> min), as Keras Tuner does."""
import numpy as np

from nnfast import metrics

_MAX_NAMES = {"accuracy", "acc", "binary_accuracy", "categorical_accuracy",
              "sparse_categorical_accuracy", "top_k_categorical_accuracy",
              "sparse_top_k_categorical_accuracy", "precision", "recall", "auc",
              "true_positives", "true_negatives", "f1_score", "fbeta_score", "r2_score",
              "cosine_similarity", "iou", "mean_iou"}
_MIN_NAMES = {"loss", "mse", "mae", "mape", "msle", "mean_squared_error",
              "mean_absolute_error", "mean_absolute_percentage_error",
              "mean_squared_logarithmic_error", "root_mean_squared_error", "logcosh",
              "log_cosh_error", "hinge", "squared_hinge", "categorical_hinge", "kl_divergence",
              "kld", "poisson", "binary_crossentropy", "categorical_crossentropy",
              "sparse_categorical_crossentropy", "false_positives", "false_negatives"}


def infer_direction(name):
    """``"max"``/``"min"`` for a metric name (``val_`` prefix ignored), or None."""
    base = name[4:] if name.startswith("val_") else name
    if base in _MAX_NAMES:
        return "max"
    if base in _MIN_NAMES or base.endswith("loss"):
        return "min"

    cls = metrics._BY_NAME.get(base)
    direction = getattr(cls, "_direction", None)
    if direction is not None:
        return "max" if direction == "up" else "min"
    return None


class Objective:
    """A metric to optimize and its direction.

    Args:
        name: the key in the ``fit`` logs (``"val_accuracy"``).
        direction: ``"min"`` or ``"max"``.
    """

    def __init__(self, name, direction):
        if direction not in ("min", "max"):
            raise ValueError(f"`direction` should be one of {{\"min\", \"max\"}}. Received: "
                             f"direction={direction!r}")
        self.name = name
        self.direction = direction

    def has_value(self, logs):
        return self.name in logs

    def get_value(self, logs):
        return logs[self.name]

    def better_than(self, a, b):
        """Whether score ``a`` beats ``b`` (ties are not better)."""
        return a > b if self.direction == "max" else a < b

    def worst(self):
        return -np.inf if self.direction == "max" else np.inf

    def get_config(self):
        return {"name": self.name, "direction": self.direction}

    def __eq__(self, other):
        if isinstance(other, str):
            return self.name == other
        return isinstance(other, Objective) and (self.name, self.direction) == (
            other.name, other.direction)

    def __repr__(self):
        return f'Objective(name="{self.name}", direction="{self.direction}")'


class MultiObjective(Objective):
    """Several objectives summed into one score to minimize (``max`` ones negated)."""

    def __init__(self, objectives):
        super().__init__("multi_objective", "min")
        self.objectives = list(objectives)

    def has_value(self, logs):
        return all(o.has_value(logs) for o in self.objectives)

    def get_value(self, logs):
        return sum(o.get_value(logs) * (-1 if o.direction == "max" else 1)
                   for o in self.objectives)

    def get_config(self):
        return {"name": self.name, "direction": self.direction,
                "objectives": [o.get_config() for o in self.objectives]}

    def __repr__(self):
        return f"MultiObjective({self.objectives})"


def create_objective(objective):
    """An ``Objective`` from a name, an ``Objective``, a list of them, or None (the value a
    custom ``run_trial``/``HyperModel.fit`` returns, minimized)."""
    if objective is None:
        return Objective("default_objective", "min")
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, dict):
        if "objectives" in objective:
            return MultiObjective([create_objective(o) for o in objective["objectives"]])
        return Objective(objective["name"], objective["direction"])
    if isinstance(objective, (list, tuple)):
        return MultiObjective([create_objective(o) for o in objective])
    if isinstance(objective, str):
        direction = infer_direction(objective)
        if direction is None:
            raise ValueError(
                f'Could not infer optimization direction ("min" or "max") for unknown metric '
                f'"{objective}". Please specify the objective as a `nnfast.tuner.Objective`, '
                f'for example `nnfast.tuner.Objective("{objective}", direction="min")`.')
        return Objective(objective, direction)
    raise TypeError(f"`objective` must be a string, an Objective or a list of them. Received: "
                    f"{objective!r}")
