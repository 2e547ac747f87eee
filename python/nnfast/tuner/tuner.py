"""``Tuner``: runs the trials an oracle proposes, trains a model per trial with the
arguments of ``search`` (forwarded to ``fit``), scores it, and keeps the best weights."""
import copy
import json
import os
import shutil
import time
import traceback

import numpy as np

from nnfast.callbacks import Callback
from nnfast.tuner.hypermodel import get_hypermodel
from nnfast.tuner.hyperparameters import Boolean, Choice
from nnfast.tuner.oracle import RandomSearchOracle
from nnfast.tuner.trial import TrialStatus

_CHECKPOINT = "checkpoint.weights.npz"


def save_weights_npz(model, path):
    """Writes ``model.get_weights()`` (and the model's input shape, when known) to an
    ``.npz`` file atomically."""
    weights = model.get_weights()
    arrays = {f"arr_{i}": w for i, w in enumerate(weights)}
    shape = getattr(model, "_build_shapes", None)
    arrays["input_shape"] = np.array(json.dumps(shape))
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_weights_npz(model, path):
    """Sets ``model``'s weights from a ``save_weights_npz`` file (building the model for the
    saved input shape first if needed)."""
    with np.load(path) as f:
        n = sum(1 for k in f.files if k.startswith("arr_"))
        weights = [f[f"arr_{i}"] for i in range(n)]
        shape = json.loads(str(f["input_shape"])) if "input_shape" in f.files else None
    if not model.built:
        if shape is None:
            raise ValueError(f"Cannot load {path} into a model that is not built; give the "
                             f"model an Input so it is built.")
        model.build(tuple(shape))
    model.set_weights(weights)


def _format_time(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600:02d}h {(seconds % 3600) // 60:02d}m {seconds % 60:02d}s"


class _SaveBestEpoch(Callback):
    """Saves the weights of the epoch with the best objective, across the executions of a
    trial (one instance is shared by them)."""

    def __init__(self, objective, filepath):
        super().__init__()
        self.objective = objective
        self.filepath = filepath
        self.best = objective.worst()
        self.saved = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not self.objective.has_value(logs):
            return
        value = float(self.objective.get_value(logs))
        if not self.saved or self.objective.better_than(value, self.best):
            self.best = value
            self.saved = True
            save_weights_npz(self.model, self.filepath)


class _TunerCallback(Callback):
    """Reports every epoch's logs to the oracle (they land in ``trial.json``)."""

    def __init__(self, tuner, trial):
        super().__init__()
        self.tuner = tuner
        self.trial = trial

    def on_epoch_end(self, epoch, logs=None):
        self.tuner.oracle.update_trial(self.trial.trial_id, dict(logs or {}), step=epoch)


class _LoadWeights(Callback):
    """Loads a checkpoint once fit has built the model (Hyperband's promoted trials)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        load_weights_npz(self.model, self.path)


class Tuner:
    """Base tuner: builds, trains and scores one model per trial.

    Args:
        oracle: the ``Oracle`` that proposes values.
        hypermodel: a ``build_model(hp)`` function or a ``HyperModel``.
        directory, project_name: trial state goes to ``directory/project_name``
            (``oracle.json``, ``trial_<id>/trial.json``, ``trial_<id>/checkpoint.weights.npz``).
            Re-creating a tuner on the same folder resumes: finished trials are not rerun.
        overwrite: start afresh, deleting that folder.
        executions_per_trial: models trained per trial; the score is the mean of their best
            epochs.
        max_model_size: trials whose model has more parameters fail.
        optimizer, loss, metrics: if given, every model is recompiled with them.
    """

    def __init__(self, oracle, hypermodel=None, max_model_size=None, optimizer=None, loss=None,
                 metrics=None, distribution_strategy=None, directory=None, project_name=None,
                 logger=None, tuner_id=None, overwrite=False, executions_per_trial=1,
                 **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized arguments for a tuner: {sorted(kwargs)}")
        self.oracle = oracle
        self.hypermodel = get_hypermodel(hypermodel)
        if self.hypermodel is None and type(self).run_trial is Tuner.run_trial:
            raise ValueError("Received `hypermodel=None`. We only allow not specifying "
                             "`hypermodel` if the user defines the search space in "
                             "`Tuner.run_trial()` by subclassing a `Tuner` class without using "
                             "a `HyperModel` instance.")
        self.max_model_size = max_model_size
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.directory = directory or "."
        self.project_name = project_name or "untitled_project"
        self.project_dir = os.path.join(self.directory, self.project_name)
        self.tuner_id = tuner_id or "tuner0"
        self.executions_per_trial = int(executions_per_trial)
        self.verbose = 1
        if overwrite and os.path.exists(self.project_dir):
            shutil.rmtree(self.project_dir)
        resuming = os.path.exists(os.path.join(self.project_dir, "oracle.json"))
        self.oracle._set_project_dir(self.project_dir, overwrite=overwrite)
        if resuming and not overwrite:
            print(f"Reloading Tuner from {os.path.join(self.project_dir, 'oracle.json')}")
        if self.hypermodel is not None:
            self._populate_initial_space()

    # --- space discovery --------------------------------------------------------------
    def _register(self, hp):
        if self.hypermodel is not None and not self.hypermodel.tunable:
            saved, self.oracle.tune_new_entries = self.oracle.tune_new_entries, False
            try:
                self.oracle._register_space(hp)
            finally:
                self.oracle.tune_new_entries = saved
        else:
            self.oracle._register_space(hp)

    def _populate_initial_space(self):
        """Builds the model with default values to learn the space, then once per value of
        each Choice/Boolean that conditions others, so conditional branches are found too."""
        hp = self.oracle.hyperparameters.copy()
        hp.values = {}
        self.hypermodel.build(hp)
        self._register(hp)
        explored = set()
        for _ in range(64):
            space = self.oracle.hyperparameters
            parents = {c.name for p in space.space for c in p.conditions}
            todo = None
            for p in space.space:
                if p.name in parents and isinstance(p, (Choice, Boolean)):
                    options = p.values if isinstance(p, Choice) else [False, True]
                    for v in options:
                        if (p.name, repr(v)) not in explored:
                            todo = (p.name, v)
                            break
                if todo:
                    break
            if todo is None:
                break
            explored.add((todo[0], repr(todo[1])))
            hp = space.copy()
            hp.values = {todo[0]: todo[1]}
            self.hypermodel.build(hp)
            self._register(hp)

    # --- the search loop -----------------------------------------------------------------
    def search(self, *fit_args, **fit_kwargs):
        """Runs trials until the oracle stops (``max_trials`` reached, or its own end);
        positional and keyword arguments go to ``model.fit`` (``x``, ``y``, ``epochs``,
        ``validation_data``, ``callbacks``...)."""
        if "verbose" in fit_kwargs:
            self.verbose = fit_kwargs["verbose"]
        self.on_search_begin()
        while True:
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == TrialStatus.STOPPED:
                if self.verbose:
                    print("Oracle triggered exit")
                break
            if trial.status == TrialStatus.IDLE:
                if not self.oracle.ongoing_trials:
                    break
                continue
            self.on_trial_begin(trial)
            self._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
            self.on_trial_end(trial)
        self.on_search_end()

    def _try_run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        retries = self.oracle.max_retries_per_trial
        for attempt in range(retries + 1):
            trial.metrics = {}
            try:
                results = self.run_trial(trial, *fit_args, **fit_kwargs)
                trial.score, trial.best_step = self._score(results)
                self.oracle.end_trial(trial, TrialStatus.COMPLETED)
                return
            except Exception:  # a failing trial must not end the search (Keras Tuner)
                message = traceback.format_exc()
                if attempt < retries:
                    if self.verbose:
                        print(f"Trial {trial.trial_id} failed; retrying "
                              f"({attempt + 1}/{retries}).")
                    continue
                print(message)
                self.oracle.end_trial(trial, TrialStatus.FAILED, message)

    def _value_of(self, result):
        """(best value, best step) of one execution's result."""
        objective = self.oracle.objective
        if hasattr(result, "history") and isinstance(result.history, dict):
            logs = result.history
            if objective.name == "multi_objective":
                n = len(next(iter(logs.values())))
                values = [objective.get_value({k: v[i] for k, v in logs.items()})
                          for i in range(n)]
            elif objective.name in logs:
                values = logs[objective.name]
            else:
                raise ValueError(f"Objective value missing in metrics reported to the Oracle, "
                                 f"expected: ['{objective.name}'], found: {sorted(logs)}")
            values = [float(v) for v in values]
            best = int(np.argmax(values) if objective.direction == "max" else np.argmin(values))
            epochs = getattr(result, "epoch", None) or list(range(len(values)))
            return values[best], int(epochs[best])
        if isinstance(result, dict):
            return float(objective.get_value(result)), 0
        if isinstance(result, (int, float, np.floating, np.integer)):
            return float(result), 0
        raise TypeError(f"A trial returned {type(result).__name__}; `HyperModel.fit` / "
                        f"`run_trial` must return a History, a dict of metrics or a float.")

    def _score(self, results):
        if not isinstance(results, list):
            results = [results]
        pairs = [self._value_of(r) for r in results]
        values = [v for v, _ in pairs]
        better = np.argmax(values) if self.oracle.objective.direction == "max" else \
            np.argmin(values)
        return float(np.mean(values)), pairs[int(better)][1]

    # --- one trial ----------------------------------------------------------------------
    def get_trial_dir(self, trial_id):
        path = os.path.join(self.project_dir, f"trial_{trial_id}")
        os.makedirs(path, exist_ok=True)
        return path

    def _checkpoint_path(self, trial_id):
        return os.path.join(self.get_trial_dir(trial_id), _CHECKPOINT)

    def _deepcopy_callbacks(self, callbacks):
        try:
            return copy.deepcopy(list(callbacks))
        except Exception:  # callbacks holding unpicklable state are shared as they are
            return list(callbacks)

    def run_trial(self, trial, *args, **kwargs):
        """Trains ``executions_per_trial`` models for ``trial``; returns their results.
        Override it (with or without a hypermodel) for a custom training loop: return a
        float, a dict of metrics or a History."""
        path = self._checkpoint_path(trial.trial_id)
        if os.path.exists(path):
            os.remove(path)  # a rerun of an interrupted trial starts clean
        checkpoint = _SaveBestEpoch(self.oracle.objective, path)
        original = kwargs.pop("callbacks", None) or []
        histories = []
        for _ in range(self.executions_per_trial):
            copied = dict(kwargs)
            callbacks = self._deepcopy_callbacks(original)
            callbacks.append(_TunerCallback(self, trial))
            callbacks.append(checkpoint)
            copied["callbacks"] = callbacks
            histories.append(self._build_and_fit_model(trial, *args, **copied))
        return histories

    def _try_build(self, hp):
        model = self.hypermodel.build(hp)
        self._register(hp)
        if model is None:
            raise RuntimeError("`hypermodel.build()` returned None; it must return a model.")
        if self.optimizer is not None or self.loss is not None or self.metrics is not None:
            model.compile(optimizer=self.optimizer or model.optimizer,
                          loss=self.loss or model.loss,
                          metrics=self.metrics if self.metrics is not None
                          else getattr(model, "_metric_specs", None))
        if self.max_model_size is not None and model.built:
            size = model.count_params()
            if size > self.max_model_size:
                raise ValueError(f"Oversized model: {size} parameters > max_model_size="
                                 f"{self.max_model_size}")
        return model

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        results = self.hypermodel.fit(hp, model, *args, **kwargs)
        path = self._checkpoint_path(trial.trial_id)
        if not os.path.exists(path):
            save_weights_npz(model, path)
        return results

    # --- results ------------------------------------------------------------------------
    def load_model(self, trial):
        """The model of ``trial`` with its best checkpointed weights."""
        model = self._try_build(trial.hyperparameters.copy())
        load_weights_npz(model, self._checkpoint_path(trial.trial_id))
        return model

    def get_best_models(self, num_models=1):
        """The ``num_models`` best models, best first, with their best weights."""
        return [self.load_model(t) for t in self.oracle.get_best_trials(num_models)]

    def get_best_hyperparameters(self, num_trials=1):
        """The ``HyperParameters`` of the best trials, best first."""
        return [t.hyperparameters for t in self.oracle.get_best_trials(num_trials)]

    def results_summary(self, num_trials=10):
        """Prints the best trials: their values and scores."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(f"{self.oracle.objective}")
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()

    def search_space_summary(self, extended=False):
        """Prints every hyperparameter of the space and its configuration."""
        space = self.oracle.hyperparameters.space
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        for p in space:
            config = p.get_config()
            name = config.pop("name")
            print(f"{name} ({type(p).__name__})")
            print(config)

    @property
    def remaining_trials(self):
        if self.oracle.max_trials is None:
            return None
        return self.oracle.max_trials - len(self.oracle.trials)

    # --- hooks ----------------------------------------------------------------------
    def on_search_begin(self):
        self._search_start = time.time()

    def on_trial_begin(self, trial):
        self._trial_start = time.time()
        if not self.verbose:
            return
        best = self.oracle.get_best_trials(1)
        best_values = best[0].hyperparameters.values if best else {}
        print(f"\nSearch: Running Trial #{int(trial.trial_id) + 1}\n")
        print(f"{'Value':<18}|{'Best Value So Far':<18}|Hyperparameter")
        for name, value in trial.hyperparameters.values.items():
            print(f"{str(value):<18}|{str(best_values.get(name, '?')):<18}|{name}")
        print()

    def on_trial_end(self, trial):
        if not self.verbose:
            return
        name = self.oracle.objective.name
        print(f"Trial {int(trial.trial_id) + 1} Complete "
              f"[{_format_time(time.time() - self._trial_start)}]")
        if trial.score is not None:
            print(f"{name}: {trial.score}")
        best = self.oracle.get_best_trials(1)
        if best:
            print(f"\nBest {name} So Far: {best[0].score}")
        print(f"Total elapsed time: {_format_time(time.time() - self._search_start)}")

    def on_search_end(self):
        pass


class RandomSearch(Tuner):
    """Random search: each trial draws fresh values at random.

    Args:
        hypermodel: ``build_model(hp)`` or a ``HyperModel``.
        objective: ``"val_accuracy"``, ``Objective(...)``...
        max_trials: total trials (a resumed search counts the finished ones).
        seed: sampling seed.
        hyperparameters, tune_new_entries, allow_new_entries, max_retries_per_trial,
            max_consecutive_failed_trials: see ``Oracle``.
        **kwargs: ``Tuner`` arguments (``directory``, ``project_name``, ``overwrite``,
            ``executions_per_trial``...).

    Example:
        >>> tuner = RandomSearch(build_model, objective="val_accuracy", max_trials=5,
        ...                      directory="tuning", project_name="mnist")
        >>> tuner.search(x, y, epochs=3, validation_split=0.2)
        >>> best = tuner.get_best_models(1)[0]
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None,
                 hyperparameters=None, tune_new_entries=True, allow_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        oracle = RandomSearchOracle(objective=objective, max_trials=max_trials, seed=seed,
                                    hyperparameters=hyperparameters,
                                    tune_new_entries=tune_new_entries,
                                    allow_new_entries=allow_new_entries,
                                    max_retries_per_trial=max_retries_per_trial,
                                    max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)


__all__ = ["Tuner", "RandomSearch"]
