"""fit/evaluate/predict on Python generators and PyDataset/Sequence classes, and the legacy
*_generator shims."""
import warnings

import numpy as np
import pytest

import nnfast
from nnfast import layers


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    return x, (x.sum(1, keepdims=True) > 0).astype("float32")


def _model():
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([nnfast.Input((5,)), layers.Dense(8, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(nnfast.optimizers.Adam(0.02), "binary_crossentropy", ["accuracy"])
    return model


class Batches(nnfast.utils.PyDataset):
    def __init__(self, x, y, batch_size=8, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


class OldSequence(nnfast.utils.Sequence):
    # tf.keras style: no super().__init__() call.
    def __init__(self, x):
        self.x = x

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return self.x[i * 4:(i + 1) * 4]


def test_pydataset_fit_evaluate_predict_match_arrays():
    x, y = _data()
    ds = Batches(x, y, workers=2, use_multiprocessing=False)
    model = _model()
    h = model.fit(ds, epochs=3, verbose=0)
    assert ds.epochs_ended == 3 and len(h.history["loss"]) == 3
    assert model.history.params["steps"] == 6
    by_ds = model.evaluate(ds, verbose=0, return_dict=True)
    by_arrays = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert by_ds["loss"] == pytest.approx(by_arrays["loss"], rel=1e-6)
    np.testing.assert_array_equal(model.predict(ds, verbose=0), model.predict(x, verbose=0))
    assert model.predict(OldSequence(x), verbose=0).shape == (8, 1)
    # Same data in the same order as unshuffled arrays: the same training run.
    other = _model()
    other.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_generators_with_steps_and_exhaustion():
    x, y = _data()

    def endless():
        while True:
            for i in range(0, len(x), 16):
                yield x[i:i + 16], y[i:i + 16]

    model = _model()
    h = model.fit(endless(), steps_per_epoch=3, epochs=4, verbose=0,
                  validation_data=Batches(x, y), validation_steps=2)
    assert len(h.history["loss"]) == 4 and "val_loss" in h.history

    def finite():
        for i in range(0, len(x), 16):
            yield x[i:i + 16], y[i:i + 16], np.ones(len(x[i:i + 16]), np.float32)

    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(finite(), epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1
    logs = model.evaluate(finite(), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    preds = model.predict((xb for xb, _, _ in finite()), verbose=0)
    assert preds.shape == (48, 1)
    with pytest.raises(ValueError, match="y` must be None"):
        model.fit(finite(), y, verbose=0)


def test_legacy_generator_methods_and_kwargs():
    x, y = _data()
    model = _model()

    def gen():
        while True:
            yield x[:16], y[:16]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = model.fit_generator(gen(), steps_per_epoch=2, epochs=2, verbose=0, workers=4,
                                use_multiprocessing=True, max_queue_size=3)
    assert len(h.history["loss"]) == 2
    loss, acc = model.evaluate_generator(gen(), steps=2)
    assert 0 <= acc <= 1
    assert model.predict_generator(((xb,) for xb, _ in gen()), steps=3).shape == (48, 1)
    model.fit(x, y, workers=2, use_multiprocessing=True, max_queue_size=5, verbose=0,
              steps_per_epoch=2)


def test_multi_input_generator():
    a, b = nnfast.Input((2,), name="a"), nnfast.Input((3,), name="b")
    out = layers.Dense(1)(layers.concatenate([a, b]))
    model = nnfast.Model([a, b], out)
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)

    def gen():
        for _ in range(4):
            yield {"a": rng.normal(size=(8, 2)), "b": rng.normal(size=(8, 3))}, np.zeros((8, 1))

    h = model.fit(gen(), epochs=1, verbose=0)
    assert len(h.history["loss"]) == 1
