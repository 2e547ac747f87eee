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
                                                exclude_layers=["dense_1"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_matches_keras(name):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(3)])
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
