"""SwapEMAWeights against a training recorded with Keras 3.15
(tests/fixtures/modules/make_swap_ema.py)."""
import os

import numpy as np
import pytest

import nnfast as keras

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "modules", "swap_ema.npz"))


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_matches_keras(swap_on_epoch):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.set_weights([F[f"{swap_on_epoch}/init/{i}"] for i in range(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8),
                  loss="mse")
    x, y = F["x"], F["y"]
    hist = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                     validation_data=(x[:4], y[:4]),
                     callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch)])
    np.testing.assert_allclose(hist.history["loss"], F[f"{swap_on_epoch}/loss"], rtol=1e-5)
    np.testing.assert_allclose(hist.history["val_loss"], F[f"{swap_on_epoch}/val_loss"],
                               rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, F[f"{swap_on_epoch}/final/{i}"], rtol=1e-5, atol=1e-6)


def test_swap_ema_weights_needs_use_ema():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, validation_data=(
            np.ones((2, 3)), np.ones((2, 2))), callbacks=[keras.callbacks.SwapEMAWeights()])
