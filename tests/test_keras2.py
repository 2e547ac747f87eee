"""Keras 2 / tf.keras programs on nnfast: legacy optimizers, ``keras.backend`` functions,
Keras 2 module paths. Numbers come from tf_keras 2.21 (fixtures in tests/fixtures/keras2/)
or float64 NumPy."""
import json
import os
import warnings

import numpy as np
import pytest

import nnfast as keras
from nnfast.optimizers import legacy

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "keras2")


# --- 1. legacy optimizers: lr=, decay= ------------------------------------------------------
def _legacy_cases():
    with open(os.path.join(FIX, "legacy_optimizers.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("case", sorted(_legacy_cases()))
def test_legacy_optimizer_trajectory_matches_tf_keras(case):
    fx = np.load(os.path.join(FIX, "legacy_optimizers.npz"))
    spec = _legacy_cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = getattr(legacy, spec["class"])(**spec["kwargs"])
    v = keras.Variable(fx["w0"].copy())
    for g, ref in zip(fx["grads"], fx[case]):
        opt.apply_gradients([(g, v)])
        np.testing.assert_allclose(np.asarray(v.numpy()), ref, rtol=1e-5, atol=1e-6)


def test_legacy_decay_keeps_base_rate_and_config():
    opt = legacy.SGD(lr=0.1, decay=0.5)
    v = keras.Variable(np.ones(3, np.float32))
    for _ in range(3):
        opt.apply_gradients([(np.ones(3, np.float32), v)])
    # steps use 0.1, 0.1/1.5, 0.1/2: w = 1 - (0.1 + 0.0666.. + 0.05)
    np.testing.assert_allclose(np.asarray(v.numpy()), 1 - (0.1 + 0.1 / 1.5 + 0.05), rtol=1e-6)
    assert opt.lr == pytest.approx(0.1) and opt.learning_rate == pytest.approx(0.1)
    config = opt.get_config()
    assert config["decay"] == 0.5
    assert type(legacy.SGD.from_config(config)).__name__ == "SGD"


def test_legacy_bad_arguments():
    with pytest.raises(ValueError, match="decay"):
        legacy.Adam(decay=-1.0)
    with pytest.raises(ValueError, match="lr"):
        legacy.Adam(lr=0.1, learning_rate=0.2)
    assert legacy.Adam(epsilon=None).epsilon == 1e-7
    with pytest.warns(UserWarning, match="schedule_decay"):
        legacy.Nadam(decay=0.1)
