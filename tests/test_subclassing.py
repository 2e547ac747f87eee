"""Subclassed models and custom layers written with nnfast.ops train with automatic
gradients; custom losses and metrics as functions or subclasses."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops


class Residual(layers.Layer):
    """x + Dense(relu(x @ W)) with its own weight and a sublayer."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.proj = layers.Dense(units)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")

    def call(self, x):
        return ops.add(x, self.proj(ops.relu(ops.matmul(x, self.w))))


class Net(nnfast.Model):
    def __init__(self):
        super().__init__(name="net")
        self.block = Residual(4)
        self.drop = layers.Dropout(0.5)
        self.head = layers.Dense(3, activation="softmax")

    def call(self, x, training=None):
        return self.head(self.drop(self.block(x), training=training))


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)


def test_subclassed_model_trains_with_automatic_gradients():
    nnfast.utils.set_random_seed(0)
    model = Net()
    model.compile(nnfast.optimizers.Adam(0.02), "sparse_categorical_crossentropy", ["accuracy"])
    x, y = _data()
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    assert loss < 0.6 * before and acc > 0.7
    # Weights: the block's own weight, its sublayer's, then the head's.
    assert len(model.weights) == 5 and model.count_params() == 16 + 20 + 15
    assert [l.name for l in model.layers][:1] == [model.block.name]
    # training=True applies dropout, training=False does not.
    a = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(a, np.asarray(model(x, training=False)))
    assert not np.array_equal(a, np.asarray(model(x, training=True)))


def test_subclassed_weights_save_and_load(tmp_path):
    model, other = Net(), Net()
    x, _ = _data(8)
    model(x)
    other(x)
    model.save_weights(str(tmp_path / "net.weights.h5"))
    other.load_weights(str(tmp_path / "net.weights.h5"))
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))


def test_custom_loss_and_metric_functions_and_classes():
    def my_mse(y_true, y_pred):
        return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)

    class Scaled(nnfast.losses.Loss):
        def call(self, y_true, y_pred):
            return ops.multiply(my_mse(y_true, y_pred), 2.0)

    def max_err(y_true, y_pred):
        return np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred)), axis=-1)

    class Count(nnfast.metrics.Metric):
        def __init__(self, name="count"):
            super().__init__(name=name)
            self.n = 0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n += len(y_true)

        def result(self):
            return self.n

        def reset_state(self):
            self.n = 0

    x = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
    y = x[:, :1] * 2
    model = nnfast.Sequential([nnfast.Input((3,)), layers.Dense(1)])
    model.compile("sgd", loss=my_mse, metrics=[max_err, Count()])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "max_err", "count"} and logs["count"] == 20
    pred = model.predict(x, verbose=0)
    assert logs["loss"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-5)
    assert logs["max_err"] == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-5)
    model.compile("sgd", loss=Scaled())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(2 * logs["loss"], rel=1e-5)
    h = model.fit(x, y, epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_custom_train_step_via_compute_loss_override():
    class WithPenalty(nnfast.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            base = super().compute_loss(x, y, y_pred, sample_weight, training)
            return ops.add(base, ops.multiply(ops.sum(ops.square(self.d.kernel)), 10.0))

    model = WithPenalty()
    model.compile("sgd", "mse")
    x = np.ones((8, 2), np.float32)
    model.fit(x, np.zeros((8, 1)), epochs=20, verbose=0)
    assert np.abs(model.d.get_weights()[0]).max() < 0.1


def test_subclass_without_config_cannot_be_cloned():
    with pytest.raises(ValueError, match="get_config"):
        nnfast.models.clone_model(Net())
