"""Sequential models and the training loop, with Keras's semantics."""
import io
import contextlib

import numpy as np
import pytest

import nnfast
from nnfast.layers import Dense, Dropout, Flatten


def digits():
    (x, y), (xt, yt) = nnfast.datasets.digits.load_data()
    return (x / 16.0).astype(np.float32), y, (xt / 16.0).astype(np.float32), yt


def mlp(seed=0, dropout=0.2):
    nnfast.utils.set_random_seed(seed)
    return nnfast.Sequential([Flatten(input_shape=(8, 8)), Dense(32, activation="relu"),
                              Dropout(dropout), Dense(10, activation="softmax")])


def test_quickstart_learns_embedded_digits():
    x, y, xt, yt = digits()
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(xt, yt, verbose=0)
    assert acc > 0.9
    pred = model.predict(xt, verbose=0)
    assert pred.shape == (len(xt), 10) and pred.dtype == np.float32
    np.testing.assert_allclose(pred.sum(1), 1, rtol=1e-5)
    assert (pred.argmax(1) == yt).mean() == pytest.approx(acc)


def test_same_seed_same_run():
    x, y, _, _ = digits()
    results = []
    for _ in range(2):
        model = mlp(seed=3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        nnfast.utils.set_random_seed(3)
        h = model.fit(x[:300], y[:300], epochs=2, verbose=0)
        results.append((h.history["loss"], model.get_weights()))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_history_keys_validation_split_and_epoch_loss_is_sample_mean():
    x, y, _, _ = digits()
    model = mlp(dropout=0.0)
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
    h = model.fit(x[:100], y[:100], epochs=3, batch_size=30, validation_split=0.2, shuffle=False, verbose=0)
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert h.epoch == [0, 1, 2] and h.params["steps"] == 3 and h.params["epochs"] == 3
    assert model.history is h
    # validation is the last 20 samples, taken before any shuffling: evaluating them now
    # reproduces the last val_loss exactly.
    val_loss, val_acc = model.evaluate(x[80:100], y[80:100], verbose=0)
    assert val_loss == pytest.approx(h.history["val_loss"][-1], rel=1e-6)
    # with shuffle=False and no dropout, an epoch's loss is the sample-weighted mean of
    # the batch losses (batches of 30, 30, 20) computed as the weights change.
    model2 = mlp(dropout=0.0)
    model2.compile("sgd", "sparse_categorical_crossentropy")
    model2.set_weights(mlp(dropout=0.0).get_weights())
    w0 = model2.get_weights()
    h2 = model2.fit(x[:80], y[:80], epochs=1, batch_size=30, shuffle=False, verbose=0)
    model3 = mlp(dropout=0.0)
    model3.compile("sgd", "sparse_categorical_crossentropy")
    model3.set_weights(w0)
    x80, y80 = x[:80], y[:80]
    losses = [model3.train_on_batch(x80[s:s + 30], y80[s:s + 30]) for s in (0, 30, 60)]
    assert h2.history["loss"][0] == pytest.approx((30 * losses[0] + 30 * losses[1] + 20 * losses[2]) / 80, rel=1e-5)


def test_validation_data_and_initial_epoch():
    x, y, xt, yt = digits()
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", ["acc"])
    h = model.fit(x[:200], y[:200], epochs=4, initial_epoch=2, validation_data=(xt[:50], yt[:50]), verbose=0)
    assert h.epoch == [2, 3]
    assert "val_acc" in h.history and len(h.history["acc"]) == 2


def test_accuracy_resolution_by_shape():
    x, y, _, _ = digits()
    onehot = nnfast.utils.to_categorical(y, 10)
    model = mlp()
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    model.fit(x[:64], onehot[:64], verbose=0)
    assert type(model.metrics[1].metrics[0]).__name__ == "CategoricalAccuracy"
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:64], y[:64], verbose=0)
    assert type(model.metrics[1].metrics[0]).__name__ == "SparseCategoricalAccuracy"
    binary = nnfast.Sequential([Dense(1, activation="sigmoid", input_shape=(64,))])
    binary.compile("adam", "binary_crossentropy", ["accuracy"])
    binary.fit(x[:64].reshape(64, -1), (y[:64] > 4).astype("float32"), verbose=0)
    assert type(binary.metrics[1].metrics[0]).__name__ == "BinaryAccuracy"


def test_summary_matches_keras_numbers():
    model = nnfast.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                               Dropout(0.2), Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0].startswith('Model: "sequential')
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "(None, 784)" in text and "(None, 128)" in text and "100,480" in text and "1,290" in text
    assert " Total params: 101,770 (397.54 KB)" in lines
    assert " Trainable params: 101,770 (397.54 KB)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines
    assert model.count_params() == 101770


def test_get_set_weights_keras_order_and_lazy_build():
    model = nnfast.Sequential([Dense(4, activation="relu"), Dense(2)])
    assert not model.built
    out = model.predict(np.ones((3, 5), np.float32), verbose=0)
    assert out.shape == (3, 2) and model.built
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(5, 4), (4,), (4, 2), (2,)]
    new = [np.full(s, 0.5, np.float32) for s in shapes]
    model.set_weights(new)
    np.testing.assert_allclose(model.predict(np.ones((1, 5), np.float32), verbose=0), [[6.5, 6.5]])


def test_adding_layers_and_input():
    model = nnfast.Sequential()
    model.add(nnfast.Input(shape=(6,)))
    model.add(Dense(3))
    assert model.built and model.output_shape == (None, 3)
    model.add(Dense(1))
    assert model.output_shape == (None, 1)
    assert model.pop().units == 1
    assert len(model.layers) == 1
    with pytest.raises(TypeError, match="Layer"):
        model.add("dense")


def test_progress_bar_and_epoch_lines():
    x, y, _, _ = digits()
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.fit(x[:64], y[:64], epochs=2, batch_size=32, verbose=1)
    out = buf.getvalue()
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2" in out and "/step" in out and "accuracy: " in out and "loss: " in out
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=2)
    line = buf.getvalue().strip().splitlines()[-1]
    assert line.startswith("2/2 - ") and " - accuracy: " in line
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.fit(x[:64], y[:64], epochs=1, verbose=0)
    assert buf.getvalue() == ""


def test_train_test_predict_on_batch():
    x, y, _, _ = digits()
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    loss, acc = model.train_on_batch(x[:32], y[:32])
    assert loss > 0 and 0 <= acc <= 1
    logs = model.test_on_batch(x[:32], y[:32], return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert model.predict_on_batch(x[:5]).shape == (5, 10)


def test_sample_and_class_weights():
    x, y, _, _ = digits()
    model = mlp(dropout=0.0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    w = np.zeros(32, np.float32)
    w[:16] = 2.0
    full = model.test_on_batch(x[:32], y[:32])
    half = model.test_on_batch(x[:16], y[:16])
    weighted = model.test_on_batch(x[:32], y[:32], sample_weight=w)
    # sum_over_batch_size: sum(w * l) / 32 = 2 * sum(l[:16]) / 32 = mean(l[:16])
    assert weighted == pytest.approx(half, rel=1e-5)
    assert full != pytest.approx(half)
    model.fit(x[:64], y[:64], class_weight={0: 2.0}, verbose=0)


def test_bad_inputs_raise_clear_errors():
    x, y, _, _ = digits()
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    with pytest.raises(ValueError, match="x sizes: 100, y sizes: 99"):
        model.fit(x[:100], y[:99], verbose=0)
    with pytest.raises(ValueError, match="outside the valid range"):
        model.fit(x[:10], np.full(10, 12), verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(x[:10], np.full(10, np.nan), verbose=0)
    with pytest.raises(ValueError, match=r"64.*\(32, 49\)|\(64, 32\).*49"):
        model.fit(x[:32, :7, :7], y[:32], verbose=0)
    with pytest.raises(TypeError, match="numeric"):
        model.fit(np.array([["a"] * 64] * 4), y[:4], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x[:10], y[:10], batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x[:10], y[:10], validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="optimizer identifier"):
        model.compile(optimizer="adamz", loss="mse")
    with pytest.raises(ValueError, match="loss identifier"):
        model.compile(optimizer="adam", loss="msee")
    onehot = nnfast.utils.to_categorical(y, 10)
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"target.shape=\(10, 9\), output.shape=\(10, 10\)"):
        model.fit(x[:10], onehot[:10, :9], verbose=0)


def test_legacy_compile_and_fit_spellings():
    x, y, _, _ = digits()
    model = mlp()
    model.compile(nnfast.optimizers.Adam(lr=0.01), "sparse_categorical_crossentropy", ["accuracy"])
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    h = model.fit(x[:64], y[:64], workers=4, use_multiprocessing=False, verbose=0)
    assert "accuracy" in h.history


def test_to_categorical():
    out = nnfast.utils.to_categorical([[1], [0], [2]])
    assert out.shape == (3, 3) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(1), [1, 0, 2])
    with pytest.raises(ValueError, match="class ids"):
        nnfast.utils.to_categorical([0, 5], num_classes=3)
