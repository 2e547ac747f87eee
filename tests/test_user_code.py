"""Issue 21: user code meets nnfast as it meets Keras.

Custom losses keep their gradient whichever side `y_true` is on (checked against Keras 3.15's
numbers and finite differences), NumPy never silently detaches a tensor that needs a
gradient, and a loss cut off from the model is an error, not a model that trains nothing.
"""
import os
import sys
import warnings

import numpy as np
import pytest

import nnfast as keras
from nnfast import GradientTape, ops

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "user_code")
sys.path.insert(0, HERE)
from loss_forms import loss_forms, problem  # noqa: E402

FIXTURE = np.load(os.path.join(HERE, "custom_losses.npz"))
FORMS = loss_forms(ops, keras.losses.Loss)


def _model(weights):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights(weights)
    return model


@pytest.mark.parametrize("name", sorted(FORMS))
def test_custom_loss_trains_as_keras(name):
    x, y, weights = problem()
    model = _model(weights)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=FORMS[name])
    loss0 = model.evaluate(x[:8], y[:8], verbose=0, batch_size=8)
    np.testing.assert_allclose(loss0, FIXTURE[f"{name}/loss0"], rtol=1e-5, atol=1e-6)
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], FIXTURE[f"{name}/epoch_loss"],
                               rtol=1e-5, atol=1e-6)
    for i, w in enumerate(model.get_weights()):
        assert not np.array_equal(w, weights[i]), f"weight {i} did not move"
        np.testing.assert_allclose(w, FIXTURE[f"{name}/w{i}"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_custom_loss_gradient_matches_finite_differences(name):
    loss = keras.losses.get(FORMS[name])  # the reduction and Keras's shape rule, as in fit
    rng = np.random.default_rng(1)
    y_true = (rng.random((7,)) > 0.5).astype("float32")
    y_pred = keras.Variable(rng.uniform(0.2, 0.8, size=(7, 1)), name="y_pred")
    with GradientTape() as tape:
        value = loss(y_true, y_pred)
    grad = tape.gradient(value, y_pred)
    assert grad is not None
    base = y_pred.numpy().astype(np.float64)
    eps = 1e-3
    numeric = np.zeros_like(base)
    for i in range(base.shape[0]):
        for sign in (1, -1):
            shifted = base.copy()
            shifted[i, 0] += sign * eps
            numeric[i, 0] += sign * float(loss(y_true, shifted.astype("float32"))) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=2e-2, atol=2e-3)


def test_numpy_operators_defer_to_tensors():
    w = keras.Variable(np.array([1.0, 2.0, 3.0]), name="w")
    left = np.array([1.0, 1.0, 1.0], dtype="float32")
    with GradientTape() as tape:
        y = ops.sum(left - w) + ops.sum(np.float32(2.0) * w) + ops.sum(np.float64(1.0) / w)
        y = y + ops.sum(np.square(w)) + ops.sum(left ** w)
    assert isinstance(y, keras.Tensor)
    grad = tape.gradient(y, w)
    expected = -1 + 2 - 1 / np.array([1.0, 4.0, 9.0]) + 2 * np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(grad, expected, rtol=1e-6)


def test_numpy_functions_that_would_detach_raise_naming_the_op():
    model = _model(problem()[2])
    x = problem()[0]
    with GradientTape():
        out = model(x)
        with pytest.raises(TypeError, match=r"the output of `\w+`, shape \(16, 1\).*no gradient"):
            np.mean(out)
        with pytest.raises(TypeError, match="np.floor_divide"):
            np.floor_divide(out, 2.0)
        with pytest.raises(TypeError, match="variable 'dense.*kernel'"):
            np.asarray(model.trainable_weights[0])
        # Detaching on purpose stays possible.
        assert isinstance(out.numpy(), np.ndarray)
        assert isinstance(ops.stop_gradient(out).numpy(), np.ndarray)
    # Outside a tape NumPy works on tensors as on arrays.
    out = model(x)
    assert isinstance(np.exp(out.numpy()), np.ndarray)
    np.testing.assert_allclose(np.mean(out), out.numpy().mean(), rtol=1e-6)
    np.testing.assert_allclose(np.floor(out), np.floor(out.numpy()))


def test_a_loss_cut_off_from_the_model_is_an_error():
    x, y, weights = problem()
    model = _model(weights)
    model.compile(optimizer="sgd", loss=lambda y_true, y_pred: float(ops.mean(y_pred)) * 0 + 1.0)
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        model.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))


def test_missing_gradients_warn_naming_the_variables():
    inp = keras.Input((6,))
    used = keras.layers.Dense(1, name="used")(inp)
    unused = keras.layers.Dense(1, name="unused")(inp)
    model = keras.Model(inp, [used, unused])
    model.compile(optimizer="sgd", loss=["mse", None])
    x, y, _ = problem()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, [y, y], epochs=1, verbose=0)
    assert any("Gradients do not exist" in str(w.message) and "unused" in str(w.message)
               for w in caught)


@pytest.mark.parametrize("true_shape,pred_shape", [((5,), (5, 1)), ((5, 1), (5,)),
                                                   ((5, 3), (5, 3)), ((5, 1), (5, 1))])
def test_targets_reach_loss_functions_shaped_as_keras(true_shape, pred_shape):
    seen = {}

    def loss(y_true, y_pred):
        seen["true"], seen["pred"] = tuple(y_true.shape), tuple(y_pred.shape)
        seen["types"] = (type(y_true), y_true.dtype)
        return ops.mean(ops.square(y_true - y_pred))

    keras.losses.get(loss)(np.zeros(true_shape, "int32"), np.ones(pred_shape, "float32"))
    # Keras's squeeze_or_expand_to_same_rank: the rank-1 side of (N,) and (N, 1) is expanded.
    expected = {((5,), (5, 1)): ((5, 1), (5, 1)), ((5, 1), (5,)): ((5, 1), (5, 1))}.get(
        (true_shape, pred_shape), (true_shape, pred_shape))
    assert (seen["true"], seen["pred"]) == expected
    assert seen["types"] == (keras.Tensor, np.float32)
