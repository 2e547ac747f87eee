"""Keras 3 layers added in one batch: GaussianNoise, GaussianDropout, AlphaDropout,
ActivityRegularization, Identity, PReLU, UnitNormalization, RMSNormalization,
GroupNormalization, ZeroPadding1D, Cropping1D, DepthwiseConv1D, SeparableConv1D,
Conv1DTranspose.

Reference numbers for the deterministic layers come from Keras 3.15 on TensorFlow
(tests/fixtures/more_layers/more_layers.npz, written by
tests/fixtures/make_more_layers_fixtures.py): outputs and the gradients of
``sum(y * probe)`` with respect to the input and every trainable weight, with random
weights. The noise layers are checked by their statistics.
"""
import os
import warnings

import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

from conftest import check_grads

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "more_layers")
FIXTURES = np.load(os.path.join(HERE, "more_layers.npz"))

L = layers
# The same layers as the fixture script, by tag.
CASES = {
    "prelu": lambda: L.PReLU(),
    "prelu_shared1": lambda: L.PReLU(shared_axes=[1]),
    "prelu_shared12": lambda: L.PReLU(shared_axes=[1, 2]),
    "unit": lambda: L.UnitNormalization(),
    "unit_axes": lambda: L.UnitNormalization(axis=[1, 2]),
    "rms": lambda: L.RMSNormalization(),
    "rms_eps": lambda: L.RMSNormalization(axis=-1, epsilon=0.5),
    "group": lambda: L.GroupNormalization(groups=4),
    "group_instance": lambda: L.GroupNormalization(groups=-1),
    "group_axis1": lambda: L.GroupNormalization(groups=2, axis=1, epsilon=1e-2),
    "group_noscale": lambda: L.GroupNormalization(groups=1, center=False, scale=False),
    "zp1d": lambda: L.ZeroPadding1D((1, 2)),
    "zp1d_first": lambda: L.ZeroPadding1D(2, data_format="channels_first"),
    "crop1d": lambda: L.Cropping1D((1, 2)),
    "dw1d": lambda: L.DepthwiseConv1D(3, strides=2, padding="same", depth_multiplier=2),
    "dw1d_dil": lambda: L.DepthwiseConv1D(3, dilation_rate=2, activation="relu"),
    "dw1d_first": lambda: L.DepthwiseConv1D(2, data_format="channels_first", use_bias=False),
    "sep1d": lambda: L.SeparableConv1D(5, 3, padding="same", depth_multiplier=2),
    "sep1d_stride": lambda: L.SeparableConv1D(4, 3, strides=2, activation="tanh"),
    "tr1d": lambda: L.Conv1DTranspose(3, 3, strides=2, padding="same"),
    "tr1d_op": lambda: L.Conv1DTranspose(2, 4, strides=3, output_padding=1),
    "tr1d_dil": lambda: L.Conv1DTranspose(3, 3, dilation_rate=2, activation="relu"),
}


def probe(shape):
    return np.cos(np.arange(int(np.prod(shape))) * 0.37).reshape(shape).astype("float32")


def config_roundtrip(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    return again


@pytest.mark.parametrize("tag", sorted(CASES))
def test_matches_keras(tag):
    x = FIXTURES[tag + "_x"]
    layer = CASES[tag]()
    layer.build(x.shape)
    names = [str(n) for n in FIXTURES[tag + "_names"]]
    assert [w.name for w in layer.weights] == names  # Keras's names and order
    weights = [FIXTURES[f"{tag}_w{i}"] for i in range(len(names))]
    layer.set_weights(weights)  # checks Keras's shapes
    variables = [nnfast.Variable(x)]
    with nnfast.GradientTape() as tape:
        tape.watch(layer.trainable_weights)
        y = layer(variables[0])
        loss = ops.sum(ops.multiply(y, probe(y.shape)))
    grads = tape.gradient(loss, variables + layer.trainable_weights)
    np.testing.assert_allclose(np.asarray(y), FIXTURES[tag + "_y"], rtol=1e-5, atol=2e-5)
    assert tuple(y.shape) == tuple(layer.compute_output_shape(x.shape))
    np.testing.assert_allclose(np.asarray(grads[0]), FIXTURES[tag + "_gx"], rtol=1e-4,
                               atol=5e-5)
    for i, g in enumerate(grads[1:]):
        np.testing.assert_allclose(np.asarray(g), FIXTURES[f"{tag}_gw{i}"], rtol=1e-4,
                                   atol=5e-5, err_msg=f"gradient of {names[i]}")
    config_roundtrip(layer)


def test_keras_saved_model_with_these_layers_loads_and_predicts(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nnfast.models.load_model(os.path.join(HERE, "more_layers_model.keras"))
        x, expected = FIXTURES["model_x"], FIXTURES["model_y"]
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4,
                                   atol=1e-5)
        model.save(tmp_path / "again.keras")
        again = nnfast.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    kinds = {type(layer).__name__ for layer in again.layers}
    assert {"GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
            "Identity", "PReLU", "GroupNormalization"} <= kinds


# --- noise layers ----------------------------------------------------------------------------

def test_gaussian_noise_statistics_and_gradient():
    layer = layers.GaussianNoise(0.3, seed=7)
    x = np.full((400, 500), 2.0, np.float32)
    assert layer(x) is x and layer(x, training=False) is x
    y = np.asarray(layer(x, training=True))
    noise = y - 2.0
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.3) < 0.005
    # Fresh noise every call; the same seed gives the same stream.
    assert not np.array_equal(np.asarray(layer(x, training=True)), y)
    np.testing.assert_array_equal(
        np.asarray(layers.GaussianNoise(0.3, seed=7)(x, training=True)), y)
    v = nnfast.Variable(x[:3, :4])
    with nnfast.GradientTape() as tape:
        loss = ops.sum(layer(v, training=True))
    np.testing.assert_array_equal(np.asarray(tape.gradient(loss, v)), np.ones((3, 4)))
    assert config_roundtrip(layer).stddev == 0.3
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(1.5)


def test_gaussian_dropout_statistics_and_gradient():
    rate = 0.2
    layer = layers.GaussianDropout(rate, seed=1)
    x = np.full((400, 500), 3.0, np.float32)
    assert layer(x) is x
    y = np.asarray(layer(x, training=True)) / 3.0
    assert abs(y.mean() - 1.0) < 0.005
    assert abs(y.std() - np.sqrt(rate / (1 - rate))) < 0.005
    x2 = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32) + 0.5
    v = nnfast.Variable(x2)
    with nnfast.GradientTape() as tape:
        out = layer(v, training=True)
        loss = ops.sum(out)
    # d(x * noise)/dx is the noise, i.e. out / x.
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)), np.asarray(out) / x2,
                               rtol=1e-5)
    assert config_roundtrip(layer).rate == rate
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(-0.1)


def test_alpha_dropout_keeps_mean_and_variance():
    rate = 0.25
    layer = layers.AlphaDropout(rate, seed=5)
    x = np.random.default_rng(2).normal(size=(500, 400)).astype(np.float32)
    assert layer(x) is x
    y = np.asarray(layer(x, training=True))
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1.0) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-6)
    assert abs(dropped.mean() - rate) < 0.005
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    v = nnfast.Variable(x[:6, :7])
    with nnfast.GradientTape() as tape:
        out = layer(v, training=True)
        loss = ops.sum(out)
    kept = ~np.isclose(np.asarray(out), a * alpha_p + b, atol=1e-6)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)), a * kept, rtol=1e-6)
    again = config_roundtrip(layer)
    assert again.rate == rate and again.noise_shape is None


def test_alpha_dropout_noise_shape_broadcasts():
    layer = layers.AlphaDropout(0.5, noise_shape=(None, 1, 6), seed=3)
    x = np.random.default_rng(4).normal(size=(8, 5, 6)).astype(np.float32)
    y = np.asarray(layer(x, training=True))
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((0.5) * (1 + 0.5 * alpha_p ** 2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * 0.5, atol=1e-6)
    # The same units dropped at every step.
    assert (dropped == dropped[:, :1, :]).all() and 0 < dropped.mean() < 1
    assert config_roundtrip(layer).noise_shape == (None, 1, 6)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.AlphaDropout(0.5, noise_shape=(None, 1))(x, training=True)


def test_activity_regularization_adds_its_penalty():
    x = np.random.default_rng(3).normal(size=(4, 5)).astype(np.float32)
    layer = layers.ActivityRegularization(l1=0.01, l2=0.1)
    y = layer(x)
    np.testing.assert_array_equal(np.asarray(y), x)
    expected = 0.01 * np.abs(x.astype(np.float64)).sum() + 0.1 * (x.astype(np.float64) ** 2).sum()
    expected /= len(x)  # Keras 3.15 divides activity penalties by the batch size
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(np.asarray(layer.losses[0])), expected, rtol=1e-5)
    config = layer.get_config()
    assert config["l1"] == 0.01 and config["l2"] == 0.1 and "activity_regularizer" not in config
    config_roundtrip(layer)
    # Its penalty reaches training: the gradient of the penalty alone.
    v = nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        layer(v)
        loss = layer.losses[0]
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)),
                               (0.01 * np.sign(x) + 0.2 * x) / len(x), rtol=1e-5, atol=1e-7)


def test_identity():
    x = np.ones((2, 3), np.float32)
    layer = layers.Identity()
    assert layer(x) is x and layer.compute_output_shape((None, 3)) == (None, 3)
    config_roundtrip(layer)


# --- weights, shapes, finite differences, errors --------------------------------------------

def test_prelu_weight_shapes_and_defaults():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 6, 7, 3))
    assert layer.alpha.shape == (1, 1, 3)
    np.testing.assert_array_equal(np.asarray(layer.alpha.value), 0.0)  # "Zeros" default
    assert layers.PReLU(shared_axes=2).shared_axes == [2]
    full = layers.PReLU()
    full.build((None, 4, 5))
    assert full.alpha.shape == (4, 5)
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[3]).build((None, 4, 5))
    check_grads(lambda a, x: _prelu_with(a)(x), np.full((1, 3), 0.3, np.float32),
                np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32) + 0.05)


def _prelu_with(alpha):
    layer = layers.PReLU(shared_axes=[1])
    layer.build((None, 4, 3))
    layer.alpha = alpha  # the op under test takes alpha as an input
    return layer


def test_normalization_references_and_grads():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 4, 6)).astype(np.float32)
    x64 = x.astype(np.float64)
    y = np.asarray(layers.UnitNormalization(axis=1)(x))
    np.testing.assert_allclose(y, x64 / np.sqrt((x64 ** 2).sum(1, keepdims=True)), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(layers.UnitNormalization()(np.zeros((1, 3),
                                                                                   np.float32))), 0)
    rms = layers.RMSNormalization(axis=1)
    y = np.asarray(rms(x))
    assert rms.scale.shape == (4,) and rms.get_config()["axis"] == [1]
    np.testing.assert_allclose(y, x64 / np.sqrt((x64 ** 2).mean(1, keepdims=True) + 1e-6),
                               rtol=1e-5)
    gn = layers.GroupNormalization(groups=3)
    y = np.asarray(gn(x))
    g = x64.reshape(3, 4, 3, 2)
    ref = (g - g.mean((1, 3), keepdims=True)) / np.sqrt(g.var((1, 3), keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref.reshape(x.shape), rtol=1e-4, atol=1e-5)
    assert [w.name for w in gn.weights] == ["gamma", "beta"]
    check_grads(lambda v: layers.GroupNormalization(groups=2)(v), x[:2, :3, :4])
    check_grads(lambda v: layers.UnitNormalization(axis=[1, 2])(v), x[:2, :3, :4])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="multiple"):
        layers.GroupNormalization(groups=4)(np.zeros((1, 2, 6), np.float32))
    with pytest.raises(ValueError, match="more than"):
        layers.GroupNormalization()(np.zeros((1, 2, 6), np.float32))
    with pytest.raises(TypeError, match="axis"):
        layers.UnitNormalization(axis="x")
    with pytest.raises(ValueError, match="out of bounds"):
        layers.UnitNormalization(axis=3)(np.zeros((1, 2, 6), np.float32))
    with pytest.raises(ValueError, match="smaller than the input length"):
        layers.Cropping1D(3)(np.zeros((1, 6, 2), np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        layers.ZeroPadding1D(-1)
    with pytest.raises(ValueError, match="ndim=3"):
        layers.ZeroPadding1D(1)(np.zeros((1, 6), np.float32))
    for make in (lambda: layers.DepthwiseConv1D(3, padding="causal"),
                 lambda: layers.SeparableConv1D(2, 3, padding="causal"),
                 lambda: layers.Conv1DTranspose(2, 3, padding="causal")):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="output padding"):
        layers.Conv1DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="ndim=3"):
        layers.DepthwiseConv1D(3)(np.zeros((1, 5, 5, 2), np.float32))


def test_conv1d_family_weight_layouts_and_output_shapes():
    dw = layers.DepthwiseConv1D(3, depth_multiplier=2)
    dw.build((None, 10, 4))
    assert [(w.name, w.shape) for w in dw.weights] == [("kernel", (3, 4, 2)), ("bias", (8,))]
    assert dw.compute_output_shape((None, 10, 4)) == (None, 8, 8)
    sep = layers.SeparableConv1D(5, 3, depth_multiplier=2)
    sep.build((None, 10, 4))
    assert [(w.name, w.shape) for w in sep.weights] == [
        ("depthwise_kernel", (3, 4, 2)), ("pointwise_kernel", (1, 8, 5)), ("bias", (5,))]
    tr = layers.Conv1DTranspose(6, 3, strides=2)
    tr.build((None, 10, 4))
    assert [(w.name, w.shape) for w in tr.weights] == [("kernel", (3, 6, 4)), ("bias", (6,))]
    assert tr.compute_output_shape((None, 10, 4)) == (None, 21, 6)
    for layer in (dw, sep, tr):
        config = config_roundtrip(layer)
        assert config.kernel_size == (3,) and config.strides in ((1,), (2,))
    assert layers.Convolution1DTranspose is layers.Conv1DTranspose
    assert layers.SeparableConvolution1D is layers.SeparableConv1D


def test_training_a_model_with_these_layers():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(32, 12, 3)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    model = nnfast.models.Sequential([
        layers.Input((12, 3)),
        layers.GaussianNoise(0.1, seed=1),
        layers.SeparableConv1D(4, 3, padding="same"),
        layers.PReLU(shared_axes=[1]),
        layers.GroupNormalization(groups=2),
        layers.AlphaDropout(0.1, seed=2),
        layers.DepthwiseConv1D(3),
        layers.ActivityRegularization(l2=1e-3),
        layers.Flatten(),
        layers.GaussianDropout(0.1, seed=3),
        layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.isfinite(v) for v in history.history["loss"])
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    # Inference is deterministic: the noise layers are off.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
