"""Model customization as in Keras 3's "Customizing what happens in fit()" guides: the same
programs (tests/fixtures/custom_steps/scenarios.py) run on nnfast and give Keras 3.15's
numbers (custom_steps.npz, written by make_custom_steps.py with the Keras venv)."""
import importlib.util
import os

import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "custom_steps")
_spec = importlib.util.spec_from_file_location("custom_step_scenarios",
                                               os.path.join(HERE, "scenarios.py"))
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)
EXPECTED = np.load(os.path.join(HERE, "custom_steps.npz"))


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.__name__)
def test_guide_programs_match_keras(scenario):
    got = scenario(nnfast, nnfast.GradientTape)
    prefix = scenario.__name__ + "/"
    keys = sorted(k[len(prefix):] for k in EXPECTED.files if k.startswith(prefix))
    assert sorted(got) == keys
    for key in keys:
        np.testing.assert_allclose(got[key], EXPECTED[prefix + key], rtol=2e-4, atol=2e-5,
                                   err_msg=f"{scenario.__name__}: {key}")


class _Counting(nnfast.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.calls = {"train": 0, "test": 0, "predict": 0}

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.calls["train"] += 1
        return super().train_step(data)

    def test_step(self, data):
        self.calls["test"] += 1
        return super().test_step(data)

    def predict_step(self, data):
        self.calls["predict"] += 1
        return super().predict_step(data) * 2.0


def _xy(n=40):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def test_overridden_steps_are_called_once_per_batch():
    x, y = _xy()
    model = _Counting()
    model.compile("sgd", "mse", metrics=["mae"])
    h = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x[:16], y[:16]))
    assert model.calls["train"] == 10 and model.calls["test"] == 2 * 2
    assert sorted(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    model.evaluate(x, y, batch_size=16, verbose=0)
    assert model.calls["test"] == 4 + 3
    pred = model.predict(x, batch_size=16, verbose=0)
    assert model.calls["predict"] == 3
    np.testing.assert_allclose(pred, 2.0 * model(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:4]), 2.0 * model(x[:4]).numpy(),
                               rtol=1e-6)
    logs = model.train_on_batch(x[:8], y[:8], return_dict=True)
    assert model.calls["train"] == 11 and set(logs) == {"loss", "mae"}


def test_data_reaches_train_step_as_keras_packs_it():
    seen = []

    class Probe(nnfast.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y, sw = nnfast.utils.unpack_x_y_sample_weight(data)
            seen.append((type(data).__name__, None if y is None else y.shape,
                         None if sw is None else sw.shape))
            return {"n": float(x.shape[0])}

    x, y = _xy(8)
    model = Probe()
    model.compile("sgd")  # no loss: the custom step needs none
    h = model.fit(x, batch_size=8, verbose=0)
    model.fit(x, y, batch_size=8, verbose=0)
    model.fit(x, y, sample_weight=np.ones(8), batch_size=8, verbose=0)
    # As Keras: tensors (so `y - y_pred` in the step keeps its gradient), packed by arity.
    assert seen == [("Tensor", None, None), ("tuple", (8, 1), None), ("tuple", (8, 1), (8,))]
    assert h.history == {"n": [8.0]}


def test_metrics_names_and_tracking_as_keras():
    x, y = _xy()

    class Tracked(nnfast.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.extra = nnfast.metrics.Mean(name="extra")

        def call(self, x):
            return self.dense(x)

    model = Tracked()
    assert model.metrics_names == ["extra"]
    model.compile("sgd", "mse")
    assert model.metrics_names == ["loss", "extra"]
    model.compile("sgd", "mse", metrics=["mae"])
    assert model.metrics_names == ["loss", "compile_metrics", "extra"]
    model.extra.update_state(5.0)
    model.fit(x, y, verbose=0)  # every metric of model.metrics is reset at epoch start
    assert model.extra.result() == 0.0
    assert [m.name for m in model.metrics[1].metrics] == ["mae"]


def test_model_without_loss_and_default_step_raises_keras_error():
    x, y = _xy(8)
    model = nnfast.Sequential([nnfast.Input((3,)), layers.Dense(1)])
    model.compile("sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(x, y, verbose=0)


def test_add_loss_is_reset_each_call_and_joins_model_losses():
    class Penalty(layers.Layer):
        def call(self, x):
            self.add_loss(ops.sum(x))
            return x

    model = nnfast.Sequential([nnfast.Input((3,)), Penalty(), layers.Dense(1)])
    x, _ = _xy(4)
    model(x)
    model(x)
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0].numpy()), x.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="add_loss"):
        model.layers[0].add_loss(1.0)
    with pytest.raises(NotImplementedError, match="metric trackers"):
        model.layers[0].add_metric(ops.sum(x), name="total")  # tf.keras 2 only, as Keras 3


def test_compiled_loss_and_compiled_metrics_shims_warn():
    x, y = _xy(8)

    class Legacy(nnfast.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            with nnfast.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compiled_loss(y, y_pred)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.compiled_metrics.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    model = Legacy()
    model.compile("sgd", "mse", metrics=["mae"])
    with pytest.warns(UserWarning, match="deprecated"):
        h = model.fit(x, y, batch_size=8, verbose=0)
    y_pred = model.predict(x, verbose=0)
    assert "mae" in h.history and h.history["mae"][0] > 0
    assert np.isfinite(y_pred).all()
