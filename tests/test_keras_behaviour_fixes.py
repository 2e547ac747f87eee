"""Regression tests for behaviours the documentation pass found different from Keras 3.15,
checked against tests/fixtures/fixes/keras_behaviour.json (make_keras_behaviour.py)."""
import json
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast.models.compile_loss import resolve_loss

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "fixes",
                       "keras_behaviour.json")
with open(FIXTURE) as _f:
    KERAS = json.load(_f)


@pytest.mark.parametrize("name", sorted(KERAS["loss_get"]))
def test_losses_get_returns_what_keras_returns(name):
    kind, what = KERAS["loss_get"][name].split(":")
    got = keras.losses.get(name)
    if kind == "function":
        assert not isinstance(got, keras.losses.Loss) and callable(got)
        assert got.__name__ == what and got is getattr(keras.losses, what)
    else:
        assert type(got).__name__ == what and isinstance(got, keras.losses.Loss)


def test_losses_get_callables_classes_and_errors():
    def fn(y_true, y_pred):
        return keras.ops.mean(y_pred - y_true, axis=-1)

    assert keras.losses.get(fn) is fn
    assert isinstance(keras.losses.get(keras.losses.Huber), keras.losses.Huber)
    huber = keras.losses.Huber(delta=2.0)
    assert keras.losses.get(huber) is huber
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        keras.losses.get("crossentropy")  # a compile shorthand only, as in Keras
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        keras.losses.get(3)


def test_compile_still_wraps_function_names():
    loss = resolve_loss("mse")
    assert isinstance(loss, keras.losses.LossFunctionWrapper) and loss.name == "mse"
    t = np.array([[0.0, 1.0], [2.0, 2.0]], "float32")
    p = np.array([[1.0, 1.0], [2.0, 0.0]], "float32")
    # Weighted mean of per-sample MSE [0.5, 2.0] with weights [1, 3] over 2 samples.
    np.testing.assert_allclose(float(loss(t, p, sample_weight=[1.0, 3.0])), (0.5 + 6.0) / 2,
                               rtol=1e-6)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    assert np.isfinite(model.evaluate(t, p, verbose=0))


@pytest.mark.parametrize("case", KERAS["discretization"], ids=lambda c: json.dumps(c["kwargs"]))
def test_discretization_symbolic_dtype_is_what_call_returns(case):
    layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0], **case["kwargs"])
    symbolic = layer(keras.Input((3,)))
    eager = np.asarray(layer(np.array([[-1.0, 0.5, 2.0]], "float32")))
    assert symbolic.dtype == case["symbolic_dtype"]
    assert list(symbolic.shape) == case["symbolic_shape"]
    assert str(eager.dtype) == case["eager_dtype"]
    np.testing.assert_array_equal(eager, np.array(case["eager"]))
