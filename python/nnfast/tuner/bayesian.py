"""Bayesian optimization: a Gaussian process (Matern 5/2 kernel) fitted to the finished
trials proposes the point minimizing the lower confidence bound ``mu - beta * sigma`` (Keras
Tuner's acquisition, written with NumPy and SciPy; SciPy is imported only when a search
reaches its first GP step)."""
import numpy as np

from nnfast.tuner.hyperparameters import Fixed
from nnfast.tuner.oracle import Oracle, _values_hash
from nnfast.tuner.trial import TrialStatus
from nnfast.tuner.tuner import Tuner


def matern_kernel(x, y=None):
    """Matern kernel with nu = 5/2 and unit length scale."""
    y = x if y is None else y
    d = np.sqrt(np.maximum(np.sum(x * x, 1)[:, None] + np.sum(y * y, 1)[None, :]
                           - 2.0 * (x @ y.T), 0.0)) * np.sqrt(5.0)
    return (1.0 + d + d * d / 3.0) * np.exp(-d)


class GaussianProcessRegressor:
    """A zero-mean GP on standardized targets with ``alpha`` added to the kernel diagonal."""

    def __init__(self, alpha=1e-4):
        self.alpha = alpha

    def fit(self, x, y):
        import scipy.linalg  # SciPy is needed only by Bayesian optimization

        self._x = np.array(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self._y_mean = y.mean()
        self._y_std = y.std() or 1.0
        yn = (y - self._y_mean) / self._y_std
        k = matern_kernel(self._x)
        k[np.diag_indices_from(k)] += self.alpha
        self._l = scipy.linalg.cholesky(k, lower=True)
        self._alpha_vec = scipy.linalg.cho_solve((self._l, True), yn)
        l_inv = scipy.linalg.solve_triangular(self._l.T, np.eye(len(self._l)))
        self._k_inv = l_inv @ l_inv.T
        return self

    def predict(self, x):
        """Posterior mean and standard deviation at the rows of ``x``."""
        kt = matern_kernel(np.atleast_2d(x), self._x)
        mean = kt @ self._alpha_vec
        var = 1.0 - np.einsum("ij,ij->i", kt @ self._k_inv, kt)
        var = np.maximum(var, 0.0) * self._y_std ** 2
        return mean * self._y_std + self._y_mean, np.sqrt(var)


class BayesianOptimizationOracle(Oracle):
    """Proposes values by Gaussian-process regression over the unit cube of the space.

    Args:
        num_initial_points: random trials before the GP is used (default 3 per tuned
            hyperparameter, at least 3).
        alpha: noise added to the kernel diagonal.
        beta: exploration weight of the confidence bound.
    """

    def __init__(self, objective=None, max_trials=10, num_initial_points=None, alpha=1e-4,
                 beta=2.6, seed=None, hyperparameters=None, allow_new_entries=True,
                 tune_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3):
        super().__init__(objective, max_trials, hyperparameters, allow_new_entries,
                         tune_new_entries, seed, max_retries_per_trial,
                         max_consecutive_failed_trials)
        self.num_initial_points = num_initial_points
        self.alpha = alpha
        self.beta = beta

    def _tuned_space(self):
        return [hp for hp in self.hyperparameters.space if not isinstance(hp, Fixed)]

    def _vectorize(self, values):
        return [hp.value_to_prob(values[hp.name]) if hp.name in values
                else hp.value_to_prob(hp.default) for hp in self._tuned_space()]

    def _vector_to_values(self, vector):
        values = {}
        tuned = {hp.name: i for i, hp in enumerate(self._tuned_space())}
        for hp in self.hyperparameters.space:
            if not all(c.is_active(values) for c in hp.conditions):
                continue
            values[hp.name] = hp.value if isinstance(hp, Fixed) else \
                hp.prob_to_value(float(np.clip(vector[tuned[hp.name]], 0.0, 1.0)))
        return values

    def populate_space(self, trial_id):
        done = [t for t in self.trials.values()
                if t.status == TrialStatus.COMPLETED and t.score is not None]
        dims = len(self._tuned_space())
        initial = self.num_initial_points or max(3 * dims, 3)
        if len(done) < initial or dims == 0:
            values = self._random_values(trial_id)
            if values is None:
                return {"status": TrialStatus.STOPPED, "values": None}
            return {"status": TrialStatus.RUNNING, "values": values}
        x = np.array([self._vectorize(t.hyperparameters.values) for t in done])
        sign = -1.0 if self.objective.direction == "max" else 1.0
        y = np.array([sign * t.score for t in done])
        x = np.nan_to_num(x, posinf=0, neginf=0)
        y = np.nan_to_num(y, posinf=0, neginf=0)
        import scipy.optimize

        gpr = GaussianProcessRegressor(self.alpha).fit(x, y)

        def lower_confidence_bound(v):
            mean, std = gpr.predict(v.reshape(1, -1))
            return float(mean[0] - self.beta * std[0])

        rng = self._rng(trial_id)
        bounds = [(0.0, 1.0)] * dims
        best_value, best_x = np.inf, None
        for x0 in rng.uniform(0.0, 1.0, size=(50, dims)):
            result = scipy.optimize.minimize(lower_confidence_bound, x0=x0, bounds=bounds,
                                             method="L-BFGS-B")
            fun = float(np.ravel(result.fun)[0])
            if fun < best_value:
                best_value, best_x = fun, result.x
        values = self._vector_to_values(best_x)
        if _values_hash(values) in self._tried_so_far:
            # The GP's optimum was already evaluated: explore at random instead.
            values = self._random_values(trial_id)
            if values is None:
                return {"status": TrialStatus.STOPPED, "values": None}
        return {"status": TrialStatus.RUNNING, "values": values}

    def get_state(self):
        state = super().get_state()
        state.update({"num_initial_points": self.num_initial_points, "alpha": self.alpha,
                      "beta": self.beta})
        return state


class BayesianOptimization(Tuner):
    """Tuner driven by ``BayesianOptimizationOracle``.

    Args:
        hypermodel, objective, max_trials, seed: as ``RandomSearch``.
        num_initial_points, alpha, beta: see ``BayesianOptimizationOracle``.
        **kwargs: ``Tuner`` arguments.
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=10, num_initial_points=None,
                 alpha=1e-4, beta=2.6, seed=None, hyperparameters=None, tune_new_entries=True,
                 allow_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3, **kwargs):
        oracle = BayesianOptimizationOracle(
            objective=objective, max_trials=max_trials, num_initial_points=num_initial_points,
            alpha=alpha, beta=beta, seed=seed, hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries, allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, **kwargs)
