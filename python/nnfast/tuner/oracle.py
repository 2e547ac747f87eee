"""Oracles decide which hyperparameter values each trial tries, and keep the search state
(``oracle.json`` plus one ``trial_<id>/trial.json`` per trial) so a search resumes."""
import hashlib
import json
import os

import numpy as np

from nnfast.tuner.hyperparameters import Fixed, HyperParameters
from nnfast.tuner.objective import create_objective
from nnfast.tuner.trial import Trial, TrialStatus, write_json


def _values_hash(values):
    text = json.dumps({k: values[k] for k in sorted(values)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Oracle:
    """Base oracle: trial bookkeeping, persistence and random sampling.

    Subclasses implement ``populate_space(trial_id)`` returning ``{"status": ..., "values":
    {...}}``.

    Args:
        objective: a metric name, ``Objective`` or list of them.
        max_trials: most trials to create (None: until the oracle stops by itself).
        hyperparameters: a ``HyperParameters`` to start the space from (e.g. with ``Fixed``
            entries); ``tune_new_entries=False`` keeps hyperparameters the model adds at
            their defaults, ``allow_new_entries=False`` rejects them.
        seed: random seed of the sampling.
        max_retries_per_trial: reruns of a trial whose build or fit raised.
        max_consecutive_failed_trials: the search stops with an error after this many
            failed trials in a row.
    """

    def __init__(self, objective=None, max_trials=None, hyperparameters=None,
                 allow_new_entries=True, tune_new_entries=True, seed=None,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3):
        self.objective = create_objective(objective)
        self.max_trials = max_trials
        self.hyperparameters = hyperparameters.copy() if hyperparameters else HyperParameters()
        self._fixed_names = {hp.name for hp in self.hyperparameters.space}
        self.allow_new_entries = allow_new_entries
        self.tune_new_entries = tune_new_entries
        self.seed = int(np.random.randint(1, 10**7)) if seed is None else int(seed)
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.trials = {}
        self.ongoing_trials = {}
        self._tried_so_far = set()
        self._to_resume = []
        self._id_width = len(str(max_trials)) if max_trials else 4
        self._project_dir = None

    # --- files -------------------------------------------------------------------------
    def _set_project_dir(self, project_dir, overwrite=False):
        self._project_dir = project_dir
        os.makedirs(project_dir, exist_ok=True)
        if not overwrite and os.path.exists(self._state_path()):
            self.reload()

    def _state_path(self):
        return os.path.join(self._project_dir, "oracle.json")

    def _trial_dir(self, trial_id):
        return os.path.join(self._project_dir, f"trial_{trial_id}")

    def get_state(self):
        return {"objective": self.objective.get_config(), "seed": self.seed,
                "id_width": self._id_width, "tried_so_far": sorted(self._tried_so_far),
                "trial_ids": list(self.trials),
                "hyperparameters": self.hyperparameters.get_config()}

    def set_state(self, state):
        self.seed = state["seed"]
        self._id_width = state.get("id_width", self._id_width)
        self._tried_so_far = set(state.get("tried_so_far", []))
        saved = HyperParameters.from_config(state.get("hyperparameters", {}))
        saved.merge(self.hyperparameters)
        self.hyperparameters = saved

    def save(self):
        if self._project_dir is not None:
            write_json(self._state_path(), self.get_state())

    def _save_trial(self, trial):
        if self._project_dir is not None:
            trial.save(os.path.join(self._trial_dir(trial.trial_id), "trial.json"))

    def reload(self):
        """Restores the state and the trials from the project directory. Trials that were
        running when the search stopped are run again first."""
        with open(self._state_path()) as f:
            state = json.load(f)
        self.set_state(state)
        self.trials = {}
        for trial_id in state.get("trial_ids", []):
            path = os.path.join(self._trial_dir(trial_id), "trial.json")
            if os.path.exists(path):
                trial = Trial.load(path)
                self.trials[trial_id] = trial
                if trial.status in (TrialStatus.RUNNING, TrialStatus.IDLE):
                    self._to_resume.append(trial)

    # --- trials -------------------------------------------------------------------------
    def _next_id(self):
        return str(len(self.trials)).zfill(self._id_width)

    def _rng(self, trial_id, attempt=0):
        key = (self.seed * 1000003 + int(trial_id) * 7919 + attempt) % (2**32)
        return np.random.RandomState(key)

    def create_trial(self, tuner_id="tuner0"):
        """The next trial to run (status RUNNING), or one with status STOPPED when the
        search is over."""
        if self._to_resume:
            trial = self._to_resume.pop(0)
            trial.status = TrialStatus.RUNNING
            self.ongoing_trials[tuner_id] = trial
            return trial
        if self.max_trials is not None and len(self.trials) >= self.max_trials:
            return Trial(self.hyperparameters.copy(), status=TrialStatus.STOPPED)
        failed = 0
        for trial in reversed(list(self.trials.values())):
            if trial.status != TrialStatus.FAILED:
                break
            failed += 1
        if self.max_consecutive_failed_trials and failed >= self.max_consecutive_failed_trials:
            raise RuntimeError(f"Number of consecutive failures exceeded the limit of "
                               f"{self.max_consecutive_failed_trials}.\n"
                               f"{list(self.trials.values())[-1].message}")
        trial_id = self._next_id()
        response = self.populate_space(trial_id)
        status = response["status"]
        hps = self.hyperparameters.copy()
        hps.values = dict(response.get("values") or {})
        trial = Trial(hps, trial_id, status)
        if status == TrialStatus.RUNNING:
            self._tried_so_far.add(_values_hash(self._tuned_values(hps.values)))
            self.trials[trial_id] = trial
            self.ongoing_trials[tuner_id] = trial
            self._save_trial(trial)
            self.save()
        return trial

    def _tuned_values(self, values):
        return {k: v for k, v in values.items() if not k.startswith("tuner/")}

    def update_trial(self, trial_id, metrics, step=0):
        """Records ``{name: value}`` for ``step`` (an epoch)."""
        trial = self.trials[trial_id]
        for name, value in metrics.items():
            trial.record(name, value, step)
        return trial.status

    def end_trial(self, trial, status=TrialStatus.COMPLETED, message=None):
        """Marks ``trial`` done (its ``score`` already set for a completed trial) and saves."""
        trial.status = status
        trial.message = message
        for key, ongoing in list(self.ongoing_trials.items()):
            if ongoing is trial:
                del self.ongoing_trials[key]
        self.trials[trial.trial_id] = trial
        self._save_trial(trial)
        self.save()

    def get_trial(self, trial_id):
        return self.trials[trial_id]

    def get_best_trials(self, num_trials=1):
        """Completed trials, best score first."""
        done = [t for t in self.trials.values()
                if t.status == TrialStatus.COMPLETED and t.score is not None]
        reverse = self.objective.direction == "max"
        return sorted(done, key=lambda t: t.score, reverse=reverse)[:num_trials]

    # --- space ----------------------------------------------------------------------
    def _register_space(self, hps):
        """Adds hyperparameters a model build declared to the searched space."""
        for hp in hps.space:
            if hp.name in self.hyperparameters:
                continue
            if not self.allow_new_entries:
                raise RuntimeError(f"`allow_new_entries` is False, but found a new entry "
                                   f"{hp.name}")
            if not self.tune_new_entries:
                hp = Fixed(hp.name, hp.default, hp.conditions)
            self.hyperparameters._hps[hp.name] = hp
            self.hyperparameters.space.append(hp)

    def _sample_values(self, rng):
        values = {}
        for hp in self.hyperparameters.space:
            if not all(c.is_active(values) for c in hp.conditions):
                continue
            values[hp.name] = hp.value if isinstance(hp, Fixed) else hp.random_sample(rng)
        return values

    def _random_values(self, trial_id):
        """Fresh random values not tried before; None once 100 draws in a row collide
        (the space is exhausted)."""
        for attempt in range(100):
            values = self._sample_values(self._rng(trial_id, attempt))
            if _values_hash(values) not in self._tried_so_far:
                return values
        return None

    def populate_space(self, trial_id):
        raise NotImplementedError


class RandomSearchOracle(Oracle):
    """Samples every trial uniformly at random from the space (in each hyperparameter's
    sampling scale), never repeating a combination."""

    def __init__(self, objective=None, max_trials=10, seed=None, hyperparameters=None,
                 allow_new_entries=True, tune_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3):
        super().__init__(objective, max_trials, hyperparameters, allow_new_entries,
                         tune_new_entries, seed, max_retries_per_trial,
                         max_consecutive_failed_trials)

    def populate_space(self, trial_id):
        values = self._random_values(trial_id)
        if values is None:
            return {"status": TrialStatus.STOPPED, "values": None}
        return {"status": TrialStatus.RUNNING, "values": values}
