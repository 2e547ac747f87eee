"""Hyperband (Li et al., 2018): many configurations trained briefly, the best ones promoted
to longer training, in brackets of successive halving (Keras Tuner's bracket arithmetic)."""
import math
import os

from nnfast.tuner.oracle import Oracle
from nnfast.tuner.trial import TrialStatus
from nnfast.tuner.tuner import Tuner, _LoadWeights


class HyperbandOracle(Oracle):
    """Schedules Hyperband's brackets.

    Bracket ``b`` (from ``num_brackets - 1`` down to 0) has ``b + 1`` rounds; round ``r``
    trains ``get_size(b, r)`` models for ``get_epochs(b, r)`` epochs, the models of a round
    being the best of the previous round continued from their weights. Trial values carry
    ``tuner/epochs``, ``tuner/initial_epoch``, ``tuner/bracket``, ``tuner/round`` and, for
    promoted trials, ``tuner/trial_id`` (the trial whose weights they continue).

    Args:
        max_epochs: most epochs a model is trained.
        factor: reduction factor between rounds.
        hyperband_iterations: how many times the full set of brackets runs.
    """

    def __init__(self, objective=None, max_epochs=100, factor=3, hyperband_iterations=1,
                 seed=None, hyperparameters=None, allow_new_entries=True, tune_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3):
        super().__init__(objective, None, hyperparameters, allow_new_entries, tune_new_entries,
                         seed, max_retries_per_trial, max_consecutive_failed_trials)
        if factor < 2:
            raise ValueError("factor needs to be a int larger than 1.")
        self.max_epochs = int(max_epochs)
        self.min_epochs = 1
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations or float("inf")
        self._current_iteration = 0
        self._current_bracket = self._get_num_brackets() - 1
        self._brackets = []
        self._start_new_bracket()

    # --- bracket arithmetic (as Keras Tuner) -------------------------------------------
    def _get_num_brackets(self):
        epochs = self.max_epochs
        brackets = 0
        while epochs >= self.min_epochs:
            epochs = epochs / self.factor
            brackets += 1
        return brackets

    def _get_num_rounds(self, bracket_num):
        return bracket_num + 1

    def _get_size(self, bracket_num, round_num):
        # Each bracket uses about the same total number of epochs.
        bracket0_end_size = math.ceil(1 + math.log(self.max_epochs, self.factor))
        bracket_end_size = bracket0_end_size / (bracket_num + 1)
        return math.ceil(bracket_end_size * self.factor ** (bracket_num - round_num))

    def _get_epochs(self, bracket_num, round_num):
        return math.ceil(self.max_epochs / self.factor ** (bracket_num - round_num))

    def _start_new_bracket(self):
        rounds = [[] for _ in range(self._get_num_rounds(self._current_bracket))]
        self._brackets.append({"bracket_num": self._current_bracket, "rounds": rounds})

    def _increment_bracket_num(self):
        self._current_bracket -= 1
        if self._current_bracket < 0:
            self._current_bracket = self._get_num_brackets() - 1
            self._current_iteration += 1

    def _remove_completed_brackets(self):
        def incomplete(bracket):
            last = len(bracket["rounds"]) - 1
            return len(bracket["rounds"][last]) != self._get_size(bracket["bracket_num"], last)

        self._brackets = [b for b in self._brackets if incomplete(b)]

    # --- scheduling -------------------------------------------------------------------
    def populate_space(self, trial_id):
        self._remove_completed_brackets()
        for bracket in self._brackets:
            bracket_num = bracket["bracket_num"]
            rounds = bracket["rounds"]
            if len(rounds[0]) < self._get_size(bracket_num, 0):
                return self._random_trial(trial_id, bracket)
            for round_num in range(1, len(rounds)):
                round_info = rounds[round_num]
                past_info = rounds[round_num - 1]
                size = self._get_size(bracket_num, round_num)
                past_size = self._get_size(bracket_num, round_num - 1)
                if len(round_info) >= size:
                    continue  # this round is full
                selected = {info["past_id"] for info in round_info}
                candidates = [self.trials[info["id"]] for info in past_info
                              if info["id"] not in selected and info["id"] in self.trials]
                candidates = [t for t in candidates if t.status == TrialStatus.COMPLETED]
                # Enough finished trials that the ones left over would be dropped anyway.
                if candidates and len(candidates) > past_size - size - len(round_info):
                    best = sorted(candidates, key=lambda t: t.score,
                                  reverse=self.objective.direction == "max")[0]
                    values = dict(best.hyperparameters.values)
                    values["tuner/trial_id"] = best.trial_id
                    values["tuner/epochs"] = self._get_epochs(bracket_num, round_num)
                    values["tuner/initial_epoch"] = self._get_epochs(bracket_num, round_num - 1)
                    values["tuner/bracket"] = self._current_bracket
                    values["tuner/round"] = round_num
                    round_info.append({"past_id": best.trial_id, "id": trial_id})
                    return {"status": TrialStatus.RUNNING, "values": values}
        if self._current_bracket == 0 and self._current_iteration + 1 >= self.hyperband_iterations:
            if self.ongoing_trials:
                return {"status": TrialStatus.IDLE}
            return {"status": TrialStatus.STOPPED}
        self._increment_bracket_num()
        self._start_new_bracket()
        return self._random_trial(trial_id, self._brackets[-1])

    def _random_trial(self, trial_id, bracket):
        values = self._random_values(trial_id)
        if values is None:
            return {"status": TrialStatus.IDLE if self.ongoing_trials else TrialStatus.STOPPED}
        bracket_num = bracket["bracket_num"]
        values["tuner/epochs"] = self._get_epochs(bracket_num, 0)
        values["tuner/initial_epoch"] = 0
        values["tuner/bracket"] = self._current_bracket
        values["tuner/round"] = 0
        bracket["rounds"][0].append({"past_id": None, "id": trial_id})
        return {"status": TrialStatus.RUNNING, "values": values}

    # --- state ------------------------------------------------------------------------
    def get_state(self):
        state = super().get_state()
        state.update({"max_epochs": self.max_epochs, "factor": self.factor,
                      "current_iteration": self._current_iteration,
                      "current_bracket": self._current_bracket, "brackets": self._brackets})
        return state

    def set_state(self, state):
        super().set_state(state)
        self._current_iteration = state["current_iteration"]
        self._current_bracket = state["current_bracket"]
        self._brackets = state["brackets"]


class Hyperband(Tuner):
    """Hyperband tuner: trains many models for few epochs and promotes the best.

    Args:
        hypermodel, objective: as ``RandomSearch``.
        max_epochs: most epochs one model trains (set it a little above the epochs a model
            needs to converge).
        factor: reduction factor between rounds (3).
        hyperband_iterations: repetitions of the whole schedule.
        **kwargs: ``Tuner`` arguments.

    ``search`` sets ``epochs``/``initial_epoch`` of ``fit`` per trial; promoted trials start
    from the weights of the trial they continue.
    """

    def __init__(self, hypermodel=None, objective=None, max_epochs=100, factor=3,
                 hyperband_iterations=1, seed=None, hyperparameters=None,
                 tune_new_entries=True, allow_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3, **kwargs):
        oracle = HyperbandOracle(objective, max_epochs=max_epochs, factor=factor,
                                 hyperband_iterations=hyperband_iterations, seed=seed,
                                 hyperparameters=hyperparameters,
                                 tune_new_entries=tune_new_entries,
                                 allow_new_entries=allow_new_entries,
                                 max_retries_per_trial=max_retries_per_trial,
                                 max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            fit_kwargs["epochs"] = values["tuner/epochs"]
            fit_kwargs["initial_epoch"] = values["tuner/initial_epoch"]
        if "tuner/trial_id" in values:
            source = os.path.join(self.get_trial_dir(values["tuner/trial_id"]),
                                  "checkpoint.weights.npz")
            fit_kwargs["callbacks"] = list(fit_kwargs.get("callbacks") or []) + [
                _LoadWeights(source)]
        return super().run_trial(trial, *fit_args, **fit_kwargs)
