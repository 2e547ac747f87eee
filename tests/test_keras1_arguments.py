"""Keras 1 argument names in Keras 2 era code (``nnfast/keras1_arguments.py``): each is the
layer/model the Keras 2/3 spelling gives, with a DeprecationWarning at the caller naming the
new spelling; Keras 3 spellings warn nothing and mean what they mean in Keras 3."""
import inspect
import warnings

import numpy as np
import pytest

import nnfast as keras

L = keras.layers

# (class, Keras 1 arguments, the same layer in Keras 2/3 arguments); positional args first.
SAME_LAYER = [
    ("Dense", ((), dict(output_dim=4, init="zeros", bias=False, W_regularizer="l2",
                        W_constraint="non_neg")),
     ((4,), dict(kernel_initializer="zeros", use_bias=False, kernel_regularizer="l2",
                 kernel_constraint="non_neg"))),
    ("Dense", ((3,), dict(b_regularizer="l1", b_constraint="max_norm")),
     ((3,), dict(bias_regularizer="l1", bias_constraint="max_norm"))),
    ("Dropout", ((), dict(p=0.3)), ((0.3,), {})),
    ("GaussianDropout", ((), dict(p=0.2)), ((0.2,), {})),
    ("GaussianNoise", ((), dict(sigma=0.1)), ((0.1,), {})),
    ("SpatialDropout1D", ((), dict(p=0.2)), ((0.2,), {})),
    ("SpatialDropout2D", ((), dict(p=0.2, dim_ordering="tf")),
     ((0.2,), dict(data_format="channels_last"))),
    ("PReLU", ((), dict(init="ones")), ((), dict(alpha_initializer="ones"))),
    ("Embedding", ((10, 3), dict(init="normal", W_regularizer="l2")),
     ((10, 3), dict(embeddings_initializer="normal", embeddings_regularizer="l2"))),
    ("Conv2D", ((8, 3, 3), dict(border_mode="same", subsample=(2, 2), init="he_normal",
                                dim_ordering="tf", bias=False)),
     ((8, (3, 3)), dict(padding="same", strides=(2, 2), kernel_initializer="he_normal",
                        data_format="channels_last", use_bias=False))),
    ("Conv2D", ((), dict(nb_filter=8, nb_row=5, nb_col=3)), ((8, (5, 3)), {})),
    ("Conv2D", ((2, (3, 3)), dict(dim_ordering="th")),
     ((2, (3, 3)), dict(data_format="channels_first"))),
    ("Conv2D", ((8, 5), dict(nb_col=3, activation="relu")), ((8, (5, 3)), dict(activation="relu"))),
    ("Convolution2D", ((4,), dict(nb_row=2, nb_col=2, border_mode="valid")),
     ((4, (2, 2)), dict(padding="valid"))),
    ("Conv1D", ((), dict(nb_filter=4, filter_length=3, subsample_length=2, border_mode="same",
                         init="glorot_normal")),
     ((4, 3), dict(strides=2, padding="same", kernel_initializer="glorot_normal"))),
    ("Conv3D", ((2, 3, 3, 3), dict(border_mode="same")), ((2, (3, 3, 3)), dict(padding="same"))),
    ("Conv2DTranspose", ((4, 3, 3), dict(border_mode="same", output_shape=(None, 8, 8, 4))),
     ((4, (3, 3)), dict(padding="same"))),
    ("SeparableConv2D", ((4, 3, 3), dict(init="ones", border_mode="same")),
     ((4, (3, 3)), dict(depthwise_initializer="ones", pointwise_initializer="ones",
                        padding="same"))),
    ("LSTM", ((), dict(output_dim=5, init="glorot_normal", inner_init="orthogonal",
                       inner_activation="hard_sigmoid", U_regularizer="l2", dropout_W=0.1,
                       dropout_U=0.2, forget_bias_init="one", consume_less="mem")),
     ((5,), dict(kernel_initializer="glorot_normal", recurrent_initializer="orthogonal",
                 recurrent_activation="hard_sigmoid", recurrent_regularizer="l2", dropout=0.1,
                 recurrent_dropout=0.2, unit_forget_bias=True))),
    ("GRU", ((3,), dict(inner_activation="sigmoid")), ((3,), dict(recurrent_activation="sigmoid"))),
    ("SimpleRNN", ((), dict(output_dim=2, dropout_W=0.5)), ((2,), dict(dropout=0.5))),
    ("ConvLSTM2D", ((2, 3, 3), dict(border_mode="same", inner_activation="sigmoid")),
     ((2, (3, 3)), dict(padding="same", recurrent_activation="sigmoid"))),
    ("MaxPooling1D", ((), dict(pool_length=3, stride=1, border_mode="same")),
     ((3, 1, "same"), {})),
    ("AveragePooling1D", ((), dict(pool_length=2)), ((2,), {})),
    ("MaxPooling2D", (((2, 2),), dict(border_mode="same", dim_ordering="tf")),
     (((2, 2),), dict(padding="same", data_format="channels_last"))),
    ("AveragePooling2D", ((), dict(border_mode="valid")), ((), dict(padding="valid"))),
    ("GlobalAveragePooling2D", ((), dict(dim_ordering="default")), ((), {})),
    ("UpSampling1D", ((), dict(length=3)), ((3,), {})),
    ("UpSampling2D", ((), dict(dim_ordering="tf")), ((), dict(data_format="channels_last"))),
    ("ZeroPadding2D", ((1,), dict(dim_ordering="tf")), ((1,), dict(data_format="channels_last"))),
    ("Cropping2D", ((1,), dict(dim_ordering="tf")), ((1,), dict(data_format="channels_last"))),
    ("BatchNormalization", ((), dict(mode=0, beta_init="ones", gamma_init="zeros")),
     ((), dict(beta_initializer="ones", gamma_initializer="zeros"))),
]


def _config(layer):
    config = layer.get_config()
    config.pop("name")
    return config


@pytest.mark.parametrize("name,old,new", SAME_LAYER,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SAME_LAYER)])
def test_keras1_arguments_make_the_keras3_layer(name, old, new):
    cls = getattr(L, name)
    with pytest.warns(DeprecationWarning, match=rf"Keras 1 arguments in `{cls.__name__}") as rec:
        layer = cls(*old[0], **old[1])
    # the warning points at this file (the caller), not at nnfast
    assert any(w.filename == __file__ for w in rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the Keras 2/3 spelling warns nothing
        reference = cls(*new[0], **new[1])
    assert _config(layer) == _config(reference)


def test_keras1_layers_compute_what_keras3_layers_compute():
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype(np.float32)
    with pytest.warns(DeprecationWarning):
        old = L.Convolution2D(4, 3, 3, border_mode="same", subsample=(2, 2), activation="relu")
    new = L.Conv2D(4, (3, 3), padding="same", strides=(2, 2), activation="relu")
    old(x), new(x)
    new.set_weights(old.get_weights())
    np.testing.assert_array_equal(np.asarray(old(x)), np.asarray(new(x)))
    assert old(x).shape == (2, 3, 3, 4)


def test_recurrent_input_dim_and_input_length_declare_the_input():
    with pytest.warns(DeprecationWarning, match="input_shape"):
        model = keras.Sequential([L.LSTM(3, input_dim=4, input_length=5), L.Dense(1)])
    assert model.built and model.input_shape == (None, 5, 4)
    with pytest.warns(DeprecationWarning, match="input_shape"):
        model = keras.Sequential([L.Conv1D(2, 3, input_dim=4, input_length=7)])
    assert model.input_shape == (None, 7, 4)
    with pytest.warns(DeprecationWarning, match="input_shape"):
        model = keras.Sequential([L.Conv1D(2, 3, input_dim=4)])
    assert model.input_shape == (None, None, 4)


def test_conv2d_three_ints_is_keras3_strides_unless_keras1_keywords_come_with_it():
    with pytest.warns(UserWarning, match=r"strides=3.*Conv2D\(8, \(3, 3\)\)"):
        layer = L.Conv2D(8, 3, 3)
    assert layer.kernel_size == (3, 3) and layer.strides == (3, 3)
    with pytest.warns(DeprecationWarning):
        layer = L.Conv2D(8, 3, 2, activation="relu", border_mode="valid")
    assert layer.kernel_size == (3, 2) and layer.strides == (1, 1)


@pytest.mark.parametrize("build,error,match", [
    (lambda: L.Dense(units=4, output_dim=4), TypeError, "both the Keras 1 argument `output_dim`"),
    (lambda: L.Dense(4, init="zeros", kernel_initializer="ones"), TypeError, "kernel_initializer"),
    (lambda: L.Embedding(10, 3, dropout=0.2), TypeError, "SpatialDropout1D"),
    (lambda: L.BatchNormalization(mode=2), ValueError, "mode=2"),
    (lambda: L.LSTM(3, forget_bias_init="zero"), ValueError, "unit_forget_bias"),
    (lambda: L.MaxPooling2D(dim_ordering="nhwc"), ValueError, "dim_ordering='nhwc'"),
])
def test_keras1_arguments_without_a_keras3_form_raise(build, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(error, match=match):
            build()


def test_signatures_and_configs_stay_keras3():
    assert list(inspect.signature(L.Dense.__init__).parameters)[1] == "units"
    assert "init" not in inspect.signature(L.Conv2D.__init__).parameters
    with pytest.warns(DeprecationWarning):
        dense = L.Dense(output_dim=2, init="ones")
    clone = L.Dense.from_config(dense.get_config())
    assert clone.units == 2 and "init" not in dense.get_config()


class _Batches:
    """A Keras 1 style generator object with a ``batch_size`` (as ImageDataGenerator.flow)."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size, self.i = x, y, batch_size, 0

    def __iter__(self):
        return self

    def __next__(self):
        s = slice(self.i, self.i + self.batch_size)
        self.i = (self.i + self.batch_size) % len(self.x)
        return self.x[s], self.y[s]


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    return x, x @ np.array([[1.0], [-1.0], [0.5]], np.float32)


def test_model_input_output_and_fit_nb_epoch_train_as_keras3():
    x, y = _data()

    def run(keras1):
        keras.utils.set_random_seed(3)
        inp = keras.Input((3,))
        out = L.Dense(1)(L.Dense(4, activation="tanh")(inp))
        if keras1:
            model = keras.Model(input=inp, output=out)
        else:
            model = keras.Model(inputs=inp, outputs=out)
        model.compile(keras.optimizers.SGD(0.1), "mse")
        kw = dict(nb_epoch=3) if keras1 else dict(epochs=3)
        return model, model.fit(x, y, batch_size=4, shuffle=False, verbose=0, **kw)

    with pytest.warns(DeprecationWarning) as rec:
        old, old_hist = run(True)
    messages = [str(w.message) for w in rec if w.category is DeprecationWarning]
    assert any("`input` -> `inputs`, `output` -> `outputs`" in m for m in messages)
    assert any("`nb_epoch` -> `epochs`" in m for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new, new_hist = run(False)
    assert type(old) is type(new) and len(old_hist.history["loss"]) == 3
    np.testing.assert_array_equal(old_hist.history["loss"], new_hist.history["loss"])
    for a, b in zip(old.get_weights(), new.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="only `epochs`"):
        old.fit(x, y, nb_epoch=1, epochs=1, verbose=0)


def test_functional_subclass_with_keras1_names():
    class Wrapped(keras.Model):
        def __init__(self):
            inp = keras.Input((3,))
            super().__init__(input=inp, output=L.Dense(2)(inp))

    with pytest.warns(DeprecationWarning, match="`input` -> `inputs`"):
        model = Wrapped()
    assert model(np.ones((1, 3), np.float32)).shape == (1, 2)


def test_generator_methods_with_keras1_sample_counts():
    x, y = _data()
    model = keras.Sequential([keras.Input((3,)), L.Dense(1)])
    model.compile("sgd", "mse")
    batches = []

    class Counting(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    with pytest.warns(DeprecationWarning, match="samples_per_epoch"):
        hist = model.fit_generator(_Batches(x, y, 4), samples_per_epoch=16, nb_epoch=2,
                                   validation_data=_Batches(x, y, 8), nb_val_samples=16,
                                   verbose=0, callbacks=[Counting()])
    assert len(hist.history["loss"]) == 2 and "val_loss" in hist.history
    assert batches == [0, 1, 2, 3] * 2  # 16 samples // batch 4 = 4 steps per epoch
    with pytest.warns(DeprecationWarning, match="val_samples"):
        preds = model.predict_generator(_Batches(x, y, 4), val_samples=8, verbose=0)
    assert preds.shape == (8, 1)
    with pytest.warns(DeprecationWarning, match="val_samples"):
        loss = model.evaluate_generator(_Batches(x, y, 4), val_samples=16, verbose=0)
    np.testing.assert_allclose(loss, model.evaluate(x, y, verbose=0), rtol=1e-6)

    def plain():
        while True:
            yield x[:4], y[:4]

    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit_generator(plain(), samples_per_epoch=16, verbose=0)
