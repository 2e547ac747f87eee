"""Lamb, Adafactor, ScheduleFreeAdamW and Muon replaying trainings recorded with Keras 3.15
(tests/fixtures/modules/make_optimizers.py)."""
import os

import numpy as np
import pytest

import nnfast as keras

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "modules", "optimizers.npz"))
CASES = {
    "lamb": lambda: keras.optimizers.Lamb(0.01),
    "lamb_wd": lambda: keras.optimizers.Lamb(0.01, weight_decay=0.1, clipnorm=0.5),
    "adafactor": lambda: keras.optimizers.Adafactor(0.05),
    "adafactor_abs": lambda: keras.optimizers.Adafactor(0.5, relative_step=False,
                                                        clip_threshold=0.5),
    "schedule_free": lambda: keras.optimizers.ScheduleFreeAdamW(0.01),
    "schedule_free_warmup": lambda: keras.optimizers.ScheduleFreeAdamW(0.02, warmup_steps=3,
                                                                       weight_decay=0.05),
    "muon": lambda: keras.optimizers.Muon(0.02),
    "muon_plain": lambda: keras.optimizers.Muon(0.05, nesterov=False, weight_decay=0.1,
                                                exclude_layers=["head"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_matches_keras(name):
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(4, activation="tanh", name="hidden"),
                              keras.layers.Dense(3, name="head")])
    model.set_weights([F[f"{name}/init/{i}"] for i in range(4)])
    model.compile(optimizer=CASES[name](), loss="mse")
    hist = model.fit(F["x"], F["y"], batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], F[f"{name}/loss"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"{name}/final/{i}"], rtol=1e-5, atol=1e-6)


def test_by_name_config_and_state():
    assert isinstance(keras.optimizers.get("lamb"), keras.optimizers.Lamb)
    opt = keras.optimizers.Adafactor(clip_threshold=0.3)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert again.clip_threshold == 0.3
    w = keras.Variable(np.ones((3, 2), np.float32))
    b = keras.Variable(np.ones((2,), np.float32))
    opt.build([w, b])
    # iterations, learning_rate, then r (3,), c (2,), v (3, 2) of w, then v (2,) of b
    assert [v.shape for v in opt.variables] == [(), (), (3,), (2,), (3, 2), (2,)]


def test_multi_optimizer_matches_keras():
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(4, activation="tanh", name="first"),
                              keras.layers.Dense(3, name="second")])
    model.set_weights([F[f"multi/init/{i}"] for i in range(4)])
    # Keras's paths carry the model's name ("sequential_3/first/kernel"); the pattern
    # matches both forms
    sgd, adam = keras.optimizers.SGD(0.1, momentum=0.5), keras.optimizers.Adam(0.01)
    omap = keras.optimizers.OptimizerMap(sgd, {".*first/.*": adam})
    opt = keras.optimizers.MultiOptimizer(omap)
    model.compile(optimizer=opt, loss="mse")
    hist = model.fit(F["x"], F["y"], batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], F["multi/loss"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"multi/final/{i}"], rtol=1e-5, atol=1e-6)
    assert opt.iterations == 8 and adam.iterations == 8 and opt.optimizers == [adam, sgd]
    # iterations, lr, then Adam's (iterations, lr, m0, v0, m1, v1), then SGD's (3 + 2)
    assert len(opt.variables) == 2 + 6 + 4
    opt.set_weights(opt.get_weights())
    with pytest.raises(AttributeError, match="sub-optimizers"):
        opt.learning_rate  # noqa: B018
    with pytest.raises(TypeError, match="default_optimizer"):
        keras.optimizers.OptimizerMap("adam")


def test_multi_optimizer_config_and_model_file(tmp_path):
    omap = keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.1), {".*first/.*":
                                                                    keras.optimizers.Adam(0.01)})
    opt = keras.optimizers.MultiOptimizer(omap, name="multi")
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(again, keras.optimizers.MultiOptimizer) and again.name == "multi"
    assert [type(o).__name__ for o in again.optimizers] == ["Adam", "SGD"]
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, name="first"),
                              keras.layers.Dense(2, name="second")])
    model.compile(optimizer=opt, loss="mse")
    model.fit(F["x"], F["y"][:, :2], batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, keras.optimizers.MultiOptimizer)
    for a, b in zip(loaded.optimizer.variables, opt.variables):
        np.testing.assert_allclose(a, b)
