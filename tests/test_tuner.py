"""nnfast.tuner: hyperparameter sampling, objectives, RandomSearch on the embedded digits,
resuming from the project directory, Hyperband's brackets, Bayesian optimization."""
import json

import numpy as np
import pytest

import nnfast
import nnfast.tuner as kt
from nnfast import layers


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = nnfast.datasets.digits.load_data()
    return (x.reshape(len(x), -1).astype(np.float32) / 16, y,
            xt.reshape(len(xt), -1).astype(np.float32) / 16, yt)


BUILDS = []


def build_model(hp):
    units = hp.Int("units", 8, 64, step=8)
    BUILDS.append(units)
    model = nnfast.Sequential([nnfast.Input((64,)), layers.Dense(units, activation="relu"),
                               layers.Dense(10, activation="softmax")])
    model.compile(nnfast.optimizers.Adam(hp.Float("lr", 1e-3, 3e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --- hyperparameters ---------------------------------------------------------------------


def test_hyperparameter_values_and_sampling():
    hp = kt.HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("depth", 3) == 3
    assert hp.get("units") == 32 and hp["act"] == "relu"
    hp.values["units"] = 96
    assert hp.Int("units", 32, 512, step=32) == 96  # a set value is returned
    rng = np.random.RandomState(0)
    ints = [hp._hps["units"].random_sample(rng) for _ in range(400)]
    assert set(ints) <= set(range(32, 513, 32)) and len(set(ints)) > 12
    logs = np.array([hp._hps["lr"].random_sample(rng) for _ in range(2000)])
    assert logs.min() >= 1e-4 and logs.max() <= 1e-2
    # Log sampling: each decade gets about half of the samples.
    assert 0.4 < np.mean(logs < 1e-3) < 0.6
    rev = kt.Float("r", 0.1, 1.0, sampling="reverse_log")
    rs = np.array([rev.random_sample(rng) for _ in range(2000)])
    assert rs.min() >= 0.1 and rs.max() <= 1.0 and np.mean(rs > 0.55) > 0.6
    stepped = kt.Float("f", 0.0, 1.0, step=0.25)
    assert {stepped.prob_to_value(p) for p in np.linspace(0, 1, 50)} == {0, .25, .5, .75, 1.0}
    for p in (kt.Int("i", 3, 40, step=3), kt.Int("j", 1, 1000, sampling="log"),
              kt.Float("k", 1e-5, 1.0, sampling="log"), kt.Choice("c", [1, 2, 5]),
              kt.Int("l", 1, 64, step=2, sampling="log")):
        for v in [p.prob_to_value(q) for q in np.linspace(0.01, 0.99, 9)]:
            assert p.prob_to_value(p.value_to_prob(v)) == pytest.approx(v)
    assert kt.Int("l", 1, 64, step=2, sampling="log").prob_to_value(0.99) == 64
    with pytest.raises(ValueError):
        hp.Int("bad", 5, 1)
    with pytest.raises(KeyError):
        hp.get("nothing")


def test_conditional_scope():
    hp = kt.HyperParameters()
    kind = hp.Choice("kind", ["mlp", "linear"])
    with hp.conditional_scope("kind", ["mlp"]):
        depth = hp.Int("depth", 1, 3)
    assert kind == "mlp" and depth == 1 and hp.is_active("depth")
    hp2 = kt.HyperParameters()
    hp2.values["kind"] = "linear"
    hp2.Choice("kind", ["mlp", "linear"])
    with hp2.conditional_scope("kind", ["mlp"]):
        assert hp2.Int("depth", 1, 3) is None
    assert not hp2.is_active("depth")
    with pytest.raises(ValueError, match="inactive"):
        hp2.get("depth")
    with pytest.raises(ValueError, match="existing hyperparameter"):
        with hp2.conditional_scope("missing", [1]):
            pass
    round_trip = kt.HyperParameters.from_config(json.loads(json.dumps(hp.get_config())))
    assert round_trip.values == hp.values
    assert round_trip._hps["depth"].conditions[0].values == ["mlp"]


def test_objective_directions():
    from nnfast.tuner.objective import create_objective

    assert create_objective("val_accuracy").direction == "max"
    assert create_objective("accuracy").direction == "max"
    assert create_objective("val_loss").direction == "min"
    assert create_objective("val_mean_absolute_error").direction == "min"
    assert create_objective("val_auc").direction == "max"
    assert repr(kt.Objective("val_f", "max")) == 'Objective(name="val_f", direction="max")'
    with pytest.raises(ValueError, match="infer optimization direction"):
        create_objective("val_custom_thing")
    with pytest.raises(ValueError, match="direction"):
        kt.Objective("x", "up")


# --- searches ---------------------------------------------------------------------------------


def test_random_search_finds_a_configuration_and_resumes(tmp_path, digits, capsys):
    x, y, xt, yt = digits
    kw = dict(objective="val_accuracy", directory=str(tmp_path), project_name="digits", seed=3)
    tuner = kt.RandomSearch(build_model, max_trials=2, **kw)
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert "Default search space size: 2" in out and "units (Int)" in out
    tuner.search(x, y, epochs=4, batch_size=64, validation_data=(xt, yt), verbose=0)
    assert len(tuner.oracle.trials) == 2
    first_values = [t.hyperparameters.values for t in tuner.oracle.trials.values()]
    project = tmp_path / "digits"
    assert (project / "oracle.json").exists()
    for tid in tuner.oracle.trials:
        state = json.loads((project / f"trial_{tid}" / "trial.json").read_text())
        assert state["status"] == "COMPLETED" and state["score"] is not None
        assert len(state["metrics"]["val_accuracy"]) == 4
        assert (project / f"trial_{tid}" / "checkpoint.weights.npz").exists()

    # Interrupted search: a new tuner on the same directory with max_trials=4 runs only the
    # two missing trials.
    BUILDS.clear()
    resumed = kt.RandomSearch(build_model, max_trials=4, **kw)
    assert len(resumed.oracle.trials) == 2
    before = len(BUILDS)
    resumed.search(x, y, epochs=4, batch_size=64, validation_data=(xt, yt), verbose=0)
    assert len(resumed.oracle.trials) == 4
    assert len(BUILDS) - before == 2  # one build per new trial, none for finished ones
    assert [t.hyperparameters.values for t in list(resumed.oracle.trials.values())[:2]] == \
        first_values
    values = [json.dumps(t.hyperparameters.values, sort_keys=True)
              for t in resumed.oracle.trials.values()]
    assert len(set(values)) == 4

    best_hp = resumed.get_best_hyperparameters()[0]
    assert best_hp.get("units") in range(8, 65, 8) and 1e-3 <= best_hp.get("lr") <= 3e-2
    best_trial = resumed.oracle.get_best_trials(1)[0]
    assert best_trial.score == max(t.score for t in resumed.oracle.trials.values())
    model = resumed.get_best_models(1)[0]
    _, acc = model.evaluate(xt, yt, verbose=0)
    assert acc == pytest.approx(best_trial.score, abs=1e-6)  # the best epoch's weights
    assert acc > 0.85
    resumed.results_summary(2)
    summary = capsys.readouterr().out
    assert "Results summary" in summary and f"Score: {best_trial.score}" in summary
    again = kt.RandomSearch(build_model, max_trials=4, **kw)
    again.search(x, y, epochs=1, validation_data=(xt, yt), verbose=0)
    assert len(again.oracle.trials) == 4  # nothing left to do
    fresh = kt.RandomSearch(build_model, max_trials=1, overwrite=True, **kw)
    assert len(fresh.oracle.trials) == 0


def test_interrupted_running_trial_is_rerun(tmp_path, digits):
    x, y, xt, yt = digits

    class Interrupt(nnfast.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    kw = dict(objective="val_loss", directory=str(tmp_path), project_name="p", seed=0)
    tuner = kt.RandomSearch(build_model, max_trials=2, **kw)
    with pytest.raises(KeyboardInterrupt):
        tuner.search(x, y, epochs=2, validation_data=(xt, yt), verbose=0,
                     callbacks=[Interrupt()])
    resumed = kt.RandomSearch(build_model, max_trials=2, **kw)
    assert [t.status for t in resumed.oracle.trials.values()] == ["RUNNING"]
    resumed.search(x, y, epochs=2, validation_data=(xt, yt), verbose=0)
    assert [t.status for t in resumed.oracle.trials.values()] == ["COMPLETED", "COMPLETED"]


def test_hypermodel_subclass_executions_and_failures(tmp_path, digits):
    x, y, xt, yt = digits

    class MyHyperModel(kt.HyperModel):
        def build(self, hp):
            return build_model(hp)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 128]), **kwargs)

    tuner = kt.RandomSearch(MyHyperModel(), objective=kt.Objective("val_loss", "min"),
                            max_trials=2, executions_per_trial=2, directory=str(tmp_path),
                            project_name="hm", seed=1)
    tuner.search(x[:300], y[:300], epochs=2, validation_data=(xt, yt), verbose=0)
    for trial in tuner.oracle.trials.values():
        assert "batch_size" in trial.hyperparameters.values
        assert len(trial.metrics["val_loss"]) == 4  # 2 epochs x 2 executions
        assert trial.score is not None

    def broken(hp):
        hp.Int("units", 1, 4)
        raise RuntimeError("cannot build")

    # A build that fails while the tuner learns the space fails loudly at construction.
    with pytest.raises(RuntimeError, match="cannot build"):
        kt.RandomSearch(broken, objective="val_loss", directory=str(tmp_path),
                        project_name="bad")


def test_failed_trials_stop_after_limit(tmp_path, digits):
    x, y, xt, yt = digits

    def flaky(hp):
        units = hp.Int("units", 1, 100)
        if units > 0 and flaky.calls > 0:
            flaky.calls += 1
            raise RuntimeError("trial blew up")
        flaky.calls += 1
        return build_model(hp)

    flaky.calls = 0
    tuner = kt.RandomSearch(flaky, objective="val_loss", max_trials=6, directory=str(tmp_path),
                            project_name="flaky", max_consecutive_failed_trials=2, seed=0)
    with pytest.raises(RuntimeError, match="consecutive failures"):
        tuner.search(x, y, epochs=1, validation_data=(xt, yt), verbose=0)
    statuses = [t.status for t in tuner.oracle.trials.values()]
    assert statuses == ["FAILED", "FAILED"]


def test_hyperband_bracket_arithmetic():
    oracle = kt.HyperbandOracle(objective="val_loss", max_epochs=27, factor=3)
    assert oracle._get_num_brackets() == 4
    # Keras Tuner's schedule: sizes ceil(ceil(1 + log3(27)) / (b + 1) * 3^(b - r)) and
    # epochs ceil(27 / 3^(b - r)).
    assert [oracle._get_size(3, r) for r in range(4)] == [27, 9, 3, 1]
    assert [oracle._get_epochs(3, r) for r in range(4)] == [1, 3, 9, 27]
    assert [oracle._get_size(1, r) for r in range(2)] == [6, 2]
    assert [oracle._get_epochs(0, 0)] == [27]
    small = kt.HyperbandOracle(objective="val_loss", max_epochs=10, factor=3)
    assert small._get_num_brackets() == 3
    # ceil(1 + log3(10)) = 4 models end bracket 0; bracket 2 ends with 4 / 3 of them.
    assert [small._get_size(2, r) for r in range(3)] == [12, 4, 2]
    assert [small._get_epochs(2, r) for r in range(3)] == [2, 4, 10]
    assert [small._get_size(0, 0)] == [4]


def test_hyperband_search_promotes_and_continues(tmp_path, digits):
    x, y, xt, yt = digits
    tuner = kt.Hyperband(build_model, objective="val_accuracy", max_epochs=4, factor=2,
                         directory=str(tmp_path), project_name="hb", seed=2)
    epochs_seen = []

    class Record(nnfast.callbacks.Callback):
        def on_train_begin(self, logs=None):
            epochs_seen.append((self.params["epochs"]))

    tuner.search(x, y, validation_data=(xt, yt), callbacks=[Record()], verbose=0)
    trials = list(tuner.oracle.trials.values())
    # Brackets 2, 1, 0 of max_epochs=4, factor=2: 4+2+1, 3+2 and 3 trials.
    assert len(trials) == 15
    assert [t.hyperparameters.values["tuner/epochs"] for t in trials] == \
        [1, 1, 1, 1, 2, 2, 4, 2, 2, 2, 4, 4, 4, 4, 4]
    promoted = [t for t in trials if "tuner/trial_id" in t.hyperparameters.values]
    assert len(promoted) == 5
    for t in promoted:
        source = tuner.oracle.trials[t.hyperparameters.values["tuner/trial_id"]]
        tuned = {k: v for k, v in source.hyperparameters.values.items()
                 if not k.startswith("tuner/")}
        assert all(t.hyperparameters.values[k] == v for k, v in tuned.items())
        # Continues from where its source stopped (initial_epoch) for the new epoch budget.
        assert t.hyperparameters.values["tuner/initial_epoch"] == \
            source.hyperparameters.values["tuner/epochs"]
        assert [s for s, _ in t.metrics["val_accuracy"]][0] == \
            t.hyperparameters.values["tuner/initial_epoch"]
    assert len(tuner.get_best_models(1)) == 1


def test_bayesian_optimization_proposes_in_range(tmp_path, digits):
    x, y, xt, yt = digits
    tuner = kt.BayesianOptimization(build_model, objective="val_accuracy", max_trials=6,
                                    num_initial_points=3, directory=str(tmp_path),
                                    project_name="bo", seed=5)
    tuner.search(x[:400], y[:400], epochs=2, validation_data=(xt, yt), verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 6 and all(t.status == "COMPLETED" for t in trials)
    for t in trials:
        assert t.hyperparameters.values["units"] in range(8, 65, 8)
        assert 1e-3 <= t.hyperparameters.values["lr"] <= 3e-2
    keys = {json.dumps(t.hyperparameters.values, sort_keys=True) for t in trials}
    assert len(keys) == 6


def test_gaussian_process_interpolates():
    from nnfast.tuner.bayesian import GaussianProcessRegressor

    rng = np.random.default_rng(0)
    xs = rng.random((12, 2))
    ys = np.sin(3 * xs[:, 0]) + xs[:, 1]
    gp = GaussianProcessRegressor(alpha=1e-8).fit(xs, ys)
    mean, std = gp.predict(xs)
    np.testing.assert_allclose(mean, ys, atol=1e-4)
    assert np.all(std < 1e-2)
    _, far_std = gp.predict(np.array([[5.0, 5.0]]))
    assert far_std[0] > 0.5 * ys.std()
