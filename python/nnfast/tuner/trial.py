"""One trial: a set of hyperparameter values, its status, its per-epoch metrics and score."""
import json
import os

from nnfast.tuner.hyperparameters import HyperParameters


class TrialStatus:
    RUNNING = "RUNNING"
    IDLE = "IDLE"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    FAILED = "FAILED"


class Trial:
    """A trial of the search.

    Attributes:
        trial_id: zero-padded string id (``"03"``).
        hyperparameters: a ``HyperParameters`` holding this trial's values.
        status: one of ``TrialStatus``.
        metrics: ``{name: [[step, value], ...]}`` recorded per epoch (``step`` = epoch).
        score, best_step: the objective value of the trial and the epoch it came from.
    """

    def __init__(self, hyperparameters, trial_id=None, status=TrialStatus.RUNNING,
                 message=None):
        self.hyperparameters = hyperparameters
        self.trial_id = trial_id
        self.status = status
        self.message = message
        self.metrics = {}
        self.score = None
        self.best_step = None

    def record(self, name, value, step):
        self.metrics.setdefault(name, []).append([int(step), float(value)])

    def summary(self):
        """Prints the trial's hyperparameters and score."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        for name, value in self.hyperparameters.values.items():
            print(f"{name}: {value}")
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.message:
            print(self.message)

    def get_state(self):
        return {"trial_id": self.trial_id,
                "hyperparameters": self.hyperparameters.get_config(),
                "metrics": self.metrics, "score": self.score, "best_step": self.best_step,
                "status": self.status, "message": self.message}

    @classmethod
    def from_state(cls, state):
        trial = cls(HyperParameters.from_config(state["hyperparameters"]), state["trial_id"],
                    state["status"], state.get("message"))
        trial.metrics = state.get("metrics", {})
        trial.score = state.get("score")
        trial.best_step = state.get("best_step")
        return trial

    def save(self, path):
        write_json(path, self.get_state())

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_state(json.load(f))


def write_json(path, obj):
    """Writes JSON atomically (temporary file, then rename), so an interrupted search never
    leaves a truncated state file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=_json_default)
    os.replace(tmp, path)


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")
