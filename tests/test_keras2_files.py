"""Keras 2 era files and Keras 1 spellings: legacy ``.h5`` files written by tf_keras 2.21 (whole
models and ``save_weights``) load on nnfast with tf_keras's outputs, and the same models written
with Keras 1's argument names (``Convolution2D(nb_filter, nb_row, nb_col, border_mode=)``,
``Model(input=, output=)``, ``fit(nb_epoch=)``, ...) take those weights and train as tf_keras
did. Fixtures: tests/fixtures/keras2/make_tf_keras_h5.py."""
import os
import warnings

import numpy as np
import pytest

import nnfast as keras
from nnfast.optimizers import legacy

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "keras2")
L = keras.layers


@pytest.fixture(scope="module")
def ref():
    return np.load(os.path.join(FIX, "tf_keras_h5.npz"))


def _load(name, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-format warning
        return keras.models.load_model(os.path.join(FIX, name), **kwargs)


def _keras1(build):
    """Runs ``build`` and returns what it made and the DeprecationWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        made = build()
    return made, [str(w.message) for w in caught if w.category is DeprecationWarning]


# --- whole-model .h5 files written by tf_keras -----------------------------------------------
def test_tf_keras_sequential_cnn_h5_predicts_as_tf_keras(ref):
    model = _load("tfk_cnn.h5")
    assert [type(l).__name__ for l in model.layers] == [
        "Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "Conv2D", "Flatten",
        "Dense", "Dense"]
    bn = model.layers[1]
    assert not np.allclose(np.asarray(bn.moving_variance), 1.0)  # trained statistics came in
    np.testing.assert_allclose(model.predict(ref["cnn_x"], verbose=0), ref["cnn_pred"],
                               rtol=1e-5, atol=1e-6)


def test_tf_keras_sequential_rnn_h5_predicts_as_tf_keras(ref):
    model = _load("tfk_text.h5")
    assert [type(l).__name__ for l in model.layers] == ["Embedding", "LSTM", "GRU", "Dense"]
    assert model.layers[2].reset_after  # tf.keras 2's GRU default, kept from the file
    np.testing.assert_allclose(model.predict(ref["text_x"], verbose=0), ref["text_pred"],
                               rtol=1e-5, atol=1e-6)


def test_tf_keras_functional_h5_predicts_and_keeps_compile_state(ref):
    model = _load("tfk_functional.h5")
    assert len(model.inputs) == 2
    score, cls = model.predict([ref["fn_xa"], ref["fn_xb"]], verbose=0)
    np.testing.assert_allclose(score, ref["fn_score"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cls, ref["fn_cls"], rtol=1e-5, atol=1e-6)
    # tf_keras compiled it with RMSprop and two losses; 2 epochs of 2 batches ran.
    assert model.compiled and type(model.optimizer).__name__ == "RMSprop"
    assert int(model.optimizer.iterations) == 4
    # evaluate with the compiled losses and metrics of the file: tf_keras's values, and with
    # Keras 2's switch, its metrics_names for them.
    data = ([ref["fn_xa"], ref["fn_xb"]], [ref["fn_y0"], ref["fn_y1"]])
    expected = dict(zip(ref["fn_metrics_names"], ref["fn_evaluate"]))
    logs = model.evaluate(*data, verbose=0, return_dict=True)
    assert sorted(logs) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(logs[name], value, rtol=1e-5, err_msg=name)
    keras.config.set_keras_version(2)
    try:
        np.testing.assert_allclose(model.evaluate(*data, verbose=0), ref["fn_evaluate"],
                                   rtol=1e-5)
        assert model.metrics_names == list(ref["fn_metrics_names"])
    finally:
        keras.config.set_keras_version(3)


# --- save_weights files, loaded into models written with Keras 1's names ---------------------
def _keras1_cnn():
    # A Keras 1 tutorial's CNN, spelled as Keras 1 spelled it.
    return keras.Sequential([
        L.Convolution2D(4, 3, 3, border_mode="same", activation="relu", input_shape=(8, 8, 1)),
        L.BatchNormalization(mode=0),
        L.MaxPooling2D(pool_size=(2, 2), dim_ordering="tf"),
        L.Dropout(p=0.25),
        L.Convolution2D(nb_filter=3, nb_row=3, nb_col=3, activation="relu", init="he_normal"),
        L.Flatten(),
        L.Dense(output_dim=8, activation="relu", init="glorot_uniform"),
        L.Dense(3, activation="softmax"),
    ])


def test_tf_keras_weights_h5_into_keras1_spelled_cnn(ref):
    model, warned = _keras1(_keras1_cnn)
    assert len(warned) == 6  # one per layer call with Keras 1 arguments
    assert model.layers[0].kernel_size == (3, 3) and model.layers[0].strides == (1, 1)
    assert model.layers[0].padding == "same" and model.layers[4].kernel_size == (3, 3)
    model.load_weights(os.path.join(FIX, "tfk_cnn_weights.h5"))
    np.testing.assert_allclose(model.predict(ref["cnn_x"], verbose=0), ref["cnn_pred"],
                               rtol=1e-5, atol=1e-6)


def test_tf_keras_weights_h5_by_name_into_keras1_functional(ref):
    def build():
        a = L.Input((4,))
        b = L.Input((3,))
        extra = L.Dense(7, name="not_in_file")(a)  # by_name skips layers the file lacks
        h = L.ThresholdedReLU(theta=0.1)(L.Dense(output_dim=5, name="dense_a")(a))
        normed = L.BatchNormalization(name="bn", beta_init="zeros")(L.concatenate([h, b]))
        cls = L.Dense(2, activation="softmax", name="cls", init="zero")(normed)
        score = L.Dense(1, name="score")(normed)
        return keras.Model(input=[a, b], output=[score, cls, extra])

    model, warned = _keras1(build)
    assert any("`input` -> `inputs`" in w for w in warned)
    model.load_weights(os.path.join(FIX, "tfk_functional_weights.h5"), by_name=True)
    score, cls, _ = model.predict([ref["fn_xa"], ref["fn_xb"]], verbose=0)
    np.testing.assert_allclose(score, ref["fn_score"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cls, ref["fn_cls"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):  # by order: the extra layer makes the counts differ
        model.load_weights(os.path.join(FIX, "tfk_functional_weights.h5"))


def test_keras2_switch_builds_from_embedding_input_length():
    # With Keras 2's behaviour, a first Embedding(input_length=) declares the input, so the
    # weights load into the fresh model (Keras 3: not built, see the test below).
    keras.config.set_keras_version(2)
    try:
        model = keras.Sequential([L.Embedding(20, 4, input_length=6),
                                  L.LSTM(5, return_sequences=True), L.GRU(3),
                                  L.Dense(1, activation="sigmoid")])
    finally:
        keras.config.set_keras_version(3)
    assert model.built and model.input_shape == (None, 6)
    model.load_weights(os.path.join(FIX, "tfk_text.h5"))
    ref = np.load(os.path.join(FIX, "tf_keras_h5.npz"))
    np.testing.assert_allclose(model.predict(ref["text_x"], verbose=0), ref["text_pred"],
                               rtol=1e-5, atol=1e-6)
    assert not keras.Sequential([L.Embedding(20, 4, input_length=6)]).built  # Keras 3


def test_keras1_spelled_rnn_trains_as_tf_keras(ref):
    def build():
        model = keras.Sequential([
            L.Embedding(20, 4, input_length=6, init="uniform"),
            L.LSTM(output_dim=5, return_sequences=True, inner_activation="sigmoid",
                   forget_bias_init="one", consume_less="gpu"),
            L.GRU(3, inner_init="orthogonal"),
            L.Dense(1, activation="sigmoid"),
        ])
        # Keras 3 (and nnfast) ignore Embedding's `input_length`: the model is built here.
        with pytest.raises(ValueError, match="not built"):
            model.load_weights(os.path.join(FIX, "tfk_text.h5"))
        model.build((None, 6))
        model.load_weights(os.path.join(FIX, "tfk_text.h5"))  # weights of a whole-model file
        model.compile(optimizer=legacy.SGD(lr=0.1, momentum=0.9), loss="binary_crossentropy",
                      metrics=["acc"])
        return model, model.fit(ref["text_x"], ref["text_y"], batch_size=4, nb_epoch=2,
                                shuffle=False, verbose=0)

    (model, hist), warned = _keras1(build)
    assert any("`nb_epoch` -> `epochs`" in w for w in warned)
    assert any("`inner_activation` -> `recurrent_activation`" in w for w in warned)
    np.testing.assert_allclose(hist.history["loss"], ref["text_fit_loss"], rtol=1e-4)
    np.testing.assert_allclose(hist.history["acc"], ref["text_fit_acc"], rtol=1e-6)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ref[f"text_trained_{i}"], rtol=1e-4, atol=1e-5,
                                   err_msg=f"weight {i}")


@pytest.mark.parametrize("fused", [True, False])
def test_legacy_adam_on_embedding_lstm_trains_as_tf_keras(ref, fused):
    # Repeated ids in a batch: tf_keras's legacy Adam squares their summed row. Sequential
    # runs Embedding -> LSTM fused (summed table gradient) unless the layers are apart.
    model = _load("tfk_text.h5")
    if not fused:  # an Identity between them keeps the table's per-token gradient
        model = keras.Sequential([keras.Input((6,), dtype="int32"), model.layers[0],
                                  L.Identity(), *model.layers[1:]])
    optimizer = legacy.Adam(lr=0.01)
    assert not optimizer._needs_token_rows()  # the summed rows are all it needs
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    model.fit(ref["text_x"], ref["text_y"], batch_size=8, epochs=2, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ref[f"text_adam_{i}"], rtol=1e-4, atol=1e-5,
                                   err_msg=f"weight {i}")
