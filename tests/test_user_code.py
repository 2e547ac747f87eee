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
from nnfast.models.compile_loss import resolve_loss

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
    loss = resolve_loss(FORMS[name])  # the reduction and Keras's shape rule, as in fit
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
        with pytest.raises(TypeError, match="np.spacing"):
            np.spacing(out)  # differentiable, and no nnfast op computes it
        # Ufuncs without a gradient (comparisons, rounding) are not a cut graph.
        assert np.greater(out, 0.5).dtype == bool and np.floor(out).shape == out.shape
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

    resolve_loss(loss)(np.zeros(true_shape, "int32"), np.ones(pred_shape, "float32"))
    # Keras's squeeze_or_expand_to_same_rank: the rank-1 side of (N,) and (N, 1) is expanded.
    expected = {((5,), (5, 1)): ((5, 1), (5, 1)), ((5, 1), (5,)): ((5, 1), (5, 1))}.get(
        (true_shape, pred_shape), (true_shape, pred_shape))
    assert (seen["true"], seen["pred"]) == expected
    assert seen["types"] == (keras.Tensor, np.float32)


# --- data pipelines -------------------------------------------------------------------------

def _data(n=96):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


def _fit_weights(data, epochs=2, **kwargs):
    keras.utils.set_random_seed(0)
    model = _model(problem()[2])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    model.fit(data, epochs=epochs, verbose=0, **kwargs)
    return model


class _Batches:
    """A re-iterable batch source (what DataLoader and tf.data.Dataset look like to fit)."""

    def __init__(self, x, y, batch_size, as_list=False):
        self.x, self.y, self.batch_size, self.as_list = x, y, batch_size, as_list
        self.passes = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        self.passes += 1
        for s in range(0, len(self.x), self.batch_size):
            batch = (self.x[s:s + self.batch_size], self.y[s:s + self.batch_size])
            yield list(batch) if self.as_list else batch


def _array_fit(x, y, batch_size):
    keras.utils.set_random_seed(0)
    model = _model(problem()[2])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    return model.get_weights()


@pytest.mark.parametrize("as_list", [False, True])
def test_a_reiterable_source_is_iterated_each_epoch(as_list):
    x, y = _data()
    source = _Batches(x, y, 16, as_list=as_list)
    model = _fit_weights(source, epochs=2)
    assert source.passes == 2
    for got, want in zip(model.get_weights(), _array_fit(x, y, 16)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert model.evaluate(source, verbose=0) == pytest.approx(
        model.evaluate(x, y, batch_size=16, verbose=0), rel=1e-6)
    np.testing.assert_allclose(model.predict(source, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_torch_dataloader_feeds_fit():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _data()
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=16,
                        shuffle=False)
    model = _fit_weights(loader, epochs=2, validation_data=loader)
    for got, want in zip(model.get_weights(), _array_fit(x, y, 16)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_tf_data_dataset_feeds_fit():
    tf = pytest.importorskip("tensorflow")
    x, y = _data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = _fit_weights(dataset, epochs=2)
    for got, want in zip(model.get_weights(), _array_fit(x, y, 16)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("layout", ["strided", "fortran", "column_slice"])
def test_strided_inputs_train_exactly_as_contiguous_ones(layout):
    x, y = _data()
    wide = np.repeat(x, 2, axis=1)
    view = {"strided": wide[:, ::2], "fortran": np.asfortranarray(x),
            "column_slice": np.concatenate([x, x], axis=1)[:, :6]}[layout]
    assert not view.flags.c_contiguous
    weights = []
    for data in (x, view):
        keras.utils.set_random_seed(0)
        model = _model(problem()[2])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(data, y, batch_size=16, epochs=2, verbose=0)  # shuffled batches
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_a_generator_of_lists_and_a_clear_error_for_anything_else():
    x, y = _data()
    gen = ([x[s:s + 16], y[s:s + 16]] for s in range(0, 96, 16))
    model = _fit_weights(gen, epochs=1, steps_per_epoch=6)
    assert model.optimizer.iterations == 6
    with pytest.raises(TypeError, match="`x` must be a NumPy array.*received a set"):
        model.fit({"a", "b"}, y, verbose=0)
    with pytest.raises(TypeError, match="DataLoader.*received a str"):
        model.fit("train.csv", y, verbose=0)
    with pytest.raises(TypeError, match="received object"):
        model.fit(object(), y, verbose=0)


# --- custom layers and models: nothing they hold is silently left out of training ------------

def test_convert_to_tensor_and_cast_keep_the_gradient():
    w = keras.Variable(np.array([1.0, 2.0, 3.0]), name="w")
    with GradientTape() as tape:
        y = ops.convert_to_tensor(w * 2.0)
        y = ops.convert_to_tensor(y, dtype="float32")
        y = ops.sum(ops.cast(ops.cast(y, "float64"), "float32"))
    np.testing.assert_allclose(tape.gradient(y, w), [2.0, 2.0, 2.0])


class _RawVariable(keras.layers.Layer):
    def build(self, input_shape):
        self.w = keras.Variable(np.ones((input_shape[-1], 1)), name="w")
        self.frozen = keras.Variable(np.zeros((1,)), trainable=False)

    def call(self, x):
        return ops.matmul(x, self.w) + self.frozen


class _Blocks(keras.Model):
    def __init__(self):
        super().__init__()
        self.blocks = [keras.layers.Dense(4), keras.layers.Dense(1)]
        self.heads = {"extra": keras.layers.Dense(1)}
        self.offset = keras.Variable(np.zeros((1,)))

    def call(self, x):
        h = self.blocks[0](x)
        return self.blocks[1](h) + self.heads["extra"](h) + self.offset


def test_variables_and_layers_held_as_attributes_are_trained():
    layer = _RawVariable()
    inp = keras.Input((6,))
    model = keras.Model(inp, layer(inp))
    assert [v.path for v in model.trainable_weights] == [f"{layer.name}/w"]
    assert [v.path for v in model.non_trainable_weights] == [f"{layer.name}/frozen"]
    sub = _Blocks()
    x, y, _ = problem()
    sub(x[:2])
    assert len(sub.trainable_weights) == 7  # offset + 3 Dense layers' kernel and bias
    for m in (model, sub):
        before = [w.copy() for w in m.get_weights()]
        m.compile(optimizer="sgd", loss="mse")
        m.fit(x, y, epochs=1, verbose=0)
        moved = [not np.array_equal(a, b) for a, b in zip(before, m.get_weights())]
        trainable = [any(v is w for w in m.trainable_weights) for v in m.weights]
        assert moved == trainable


# --- masks reach the loss, as in Keras -------------------------------------------------------

@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_the_output_mask_reaches_the_loss_as_in_keras(kind):
    from loss_forms import masked_problem

    fixture = np.load(os.path.join(HERE, "masked_loss.npz"))
    x, y = masked_problem()
    model = _masked_model(kind)
    model.set_weights([fixture[f"{kind}/w0_{i}"] for i in range(len(model.get_weights()))])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert model.evaluate(x, y, verbose=0, batch_size=8) == pytest.approx(
        float(fixture[f"{kind}/loss"]), rel=1e-5)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, fixture[f"{kind}/w1_{i}"], rtol=1e-4, atol=1e-6)


def _masked_model(kind):
    if kind == "functional":
        inp = keras.Input((6,))
        h = keras.layers.Embedding(20, 4, mask_zero=True)(inp)
        h = keras.layers.LSTM(3, return_sequences=True)(h)
        return keras.Model(inp, keras.layers.Dense(1)(h))
    return keras.Sequential([keras.Input((6,)), keras.layers.Embedding(20, 4, mask_zero=True),
                             keras.layers.LSTM(3, return_sequences=True), keras.layers.Dense(1)])
