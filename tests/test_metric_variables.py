"""Custom metrics written the Keras 3 way: state in ``add_variable``/``add_weight``
variables, the default ``reset_state`` zeroing them (Keras 3.15's ``Metric.reset_state``),
used in ``compile(metrics=[...])``, saved and loaded with the model."""
import numpy as np
import pytest

import nnfast as keras
from nnfast import ops


class TruePositives(keras.metrics.Metric):
    def __init__(self, name="true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="ones", name="tp")
        self.batches = self.add_weight(name="batches", shape=(2,))

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.logical_and(ops.greater(y_true, 0.5), ops.greater(y_pred, 0.5))
        self.true_positives.assign_add(ops.sum(ops.cast(hits, self.dtype)))
        self.batches.assign(self.batches + 1.0)

    def result(self):
        return self.true_positives


class Pair(keras.metrics.Metric):
    """Holds another metric: its variables are listed after the pair's own."""

    def __init__(self, name="pair", **kwargs):
        super().__init__(name=name, **kwargs)
        self.own = self.add_variable((), "zeros", name="own")
        self.inner = TruePositives()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.inner.update_state(y_true, y_pred)

    def result(self):
        return self.inner.result()


def test_add_variable_tracks_initializes_and_resets():
    m = TruePositives()
    assert [v.name for v in m.variables] == ["tp", "batches"]
    assert [v.path for v in m.variables] == ["true_positives/tp", "true_positives/batches"]
    assert not any(v.trainable for v in m.variables) and m.dtype == "float32"
    assert float(m.result()) == 1.0  # the initializer's value until the first reset
    m.update_state(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.9, 0.1]))
    assert float(m.result()) == 2.0
    np.testing.assert_array_equal(np.asarray(m.batches), [1.0, 1.0])
    m.reset_state()  # Keras: zeros, whatever the initializer
    assert float(m.result()) == 0.0
    np.testing.assert_array_equal(np.asarray(m.batches), [0.0, 0.0])
    assert keras.metrics.Metric(name="m").get_config() == {"name": "m", "dtype": "float32"}


def test_nested_metric_variables_and_reset():
    pair = Pair()
    assert [v.name for v in pair.variables] == ["own", "tp", "batches"]
    pair.update_state(np.array([1.0]), np.array([1.0]))
    pair.reset_state()
    assert all(not np.any(np.asarray(v)) for v in pair.variables)


def test_bad_use_is_a_clear_error():
    class NoSuper(keras.metrics.Metric):
        def __init__(self):
            self.v = self.add_variable((), "zeros")

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        NoSuper()
    with pytest.raises(ValueError, match="aggregation"):
        keras.metrics.Metric().add_variable((), "zeros", aggregation="bogus")


def test_custom_metric_in_compile_fit_evaluate_save_load(tmp_path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(inp))
    model.compile("sgd", "binary_crossentropy", metrics=[TruePositives()])
    x = np.random.default_rng(0).random((16, 2)).astype("float32")
    y = (x[:, :1] > 0.5).astype("float32")
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert len(history.history["true_positives"]) == 2
    expected = float(np.sum((y > 0.5) & (model.predict(x, verbose=0) > 0.5)))
    # Reset before each evaluation: the count is this pass's, not accumulated.
    for _ in range(2):
        got = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
        assert got["true_positives"] == expected
    path = str(tmp_path / "custom_metric.keras")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"TruePositives": TruePositives})
    # As Keras 3.15 (checked in /work/kerasvenv): a freshly compiled model's metrics are
    # built after the reset, so its first evaluation starts from the initializer's 1.
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert got["true_positives"] == expected + 1.0
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert got["true_positives"] == expected
    np.testing.assert_allclose(got["loss"], model.evaluate(x, y, verbose=0)[0], rtol=1e-6)
