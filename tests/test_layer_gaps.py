"""Keras behaviours that nnfast used to refuse: UpSampling2D with resize interpolations,
LayerNormalization(rms_scaling=True) and Dropout(noise_shape=...).

Reference numbers come from Keras 3.15 on TensorFlow 2.21 (tests/fixtures/layer_gaps/
layer_gaps.npz, written by tests/fixtures/make_layer_gap_fixtures.py), from float64 NumPy
references written here, and from finite differences.
"""
import os
import warnings

import numpy as np
import pytest

import nnfast
from nnfast import layers, ops
from nnfast.ops import image_ops

from conftest import check_grads

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "layer_gaps",
                                "layer_gaps.npz"))
INTERPOLATIONS = ("bilinear", "bicubic", "lanczos3", "lanczos5", "area")


def probe(shape):
    """The output weighting the fixture gradients were taken with (see the fixture script)."""
    return np.cos(np.arange(int(np.prod(shape))) * 0.37).reshape(shape).astype("float32")


def tape_grads(fn, *arrays):
    """Gradients of sum(fn(*arrays) * probe) with respect to every array."""
    variables = [nnfast.Variable(a) for a in arrays]
    with nnfast.GradientTape() as tape:
        y = fn(*variables)
        loss = ops.sum(ops.multiply(y, probe(y.shape)))
    return [np.asarray(g) for g in tape.gradient(loss, variables)]


# --- UpSampling2D / resize -------------------------------------------------------------------

@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 4)])
def test_upsampling2d_matches_keras(interpolation, size):
    x = FIXTURES["up_x_last"]
    tag = f"up_{interpolation}_{size[0]}x{size[1]}"
    layer = layers.UpSampling2D(size, interpolation=interpolation)
    y = np.asarray(layer(x))
    assert y.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, FIXTURES[tag + "_y"], rtol=1e-5, atol=1e-5)
    if tag + "_gx" in FIXTURES:  # TF has no gradient for its area resize
        (gx,) = tape_grads(layer, x)
        np.testing.assert_allclose(gx, FIXTURES[tag + "_gx"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_upsampling2d_channels_first_matches_keras(interpolation):
    x = FIXTURES["up_x_first"]
    layer = layers.UpSampling2D((2, 3), data_format="channels_first",
                                interpolation=interpolation)
    y = np.asarray(layer(x))
    assert y.shape == (2, 3, 8, 15) == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, FIXTURES[f"up_{interpolation}_first_y"], rtol=1e-5,
                               atol=1e-5)
    # The same numbers as channels_last on the transposed batch.
    last = layers.UpSampling2D((2, 3), interpolation=interpolation)(x.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(y, np.asarray(last).transpose(0, 3, 1, 2), rtol=1e-6,
                               atol=1e-6)


def bilinear_reference(x, out_h, out_w):
    """float64 per-pixel tf.image.resize bilinear (half_pixel_centers=True), channels_last:
    source = (i + 0.5) * in / out - 0.5; lerp between max(floor, 0) and min(ceil, in - 1)
    with weight source - floor(source)."""
    n, h, w, c = x.shape
    x = x.astype(np.float64)
    y = np.zeros((n, out_h, out_w, c))

    def taps(i, size_in, size_out):
        s = (i + 0.5) * size_in / size_out - 0.5
        f = np.floor(s)
        return max(int(f), 0), min(int(np.ceil(s)), size_in - 1), s - f

    for i in range(out_h):
        r0, r1, fr = taps(i, h, out_h)
        for j in range(out_w):
            c0, c1, fc = taps(j, w, out_w)
            top = x[:, r0, c0] * (1 - fc) + x[:, r0, c1] * fc
            bottom = x[:, r1, c0] * (1 - fc) + x[:, r1, c1] * fc
            y[:, i, j] = top * (1 - fr) + bottom * fr
    return y


@pytest.mark.parametrize("shape,out", [((2, 5, 7, 3), (15, 14)), ((1, 9, 4, 2), (4, 11)),
                                       ((3, 1, 6, 1), (3, 6))])
def test_resize_bilinear_against_float64_reference(shape, out):
    # Odd sizes, a non-integer scale and downsampling go through the same op.
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    got = np.asarray(image_ops.resize(x, out))
    np.testing.assert_allclose(got, bilinear_reference(x, *out), rtol=1e-5, atol=1e-5)
    cf = image_ops.resize(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), out,
                          data_format="channels_first")
    np.testing.assert_allclose(np.asarray(cf).transpose(0, 2, 3, 1), got, rtol=1e-6,
                               atol=1e-6)


def test_resize_matrices_interpolate_constants_and_ramps():
    for interp in image_ops.RESIZE_INTERPOLATIONS:
        for n_out, n_in in ((10, 5), (7, 3), (4, 9)):
            m = image_ops.resize_matrix(n_out, n_in, interp).astype(np.float64)
            np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)  # constants survive
    # Away from the borders a linear ramp stays linear (bilinear is exact on it).
    m = image_ops.resize_matrix(12, 6, "bilinear").astype(np.float64)
    src = (np.arange(12) + 0.5) * 0.5 - 0.5
    np.testing.assert_allclose((m @ np.arange(6.0))[1:-1], src[1:-1], atol=1e-6)


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos3"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_upsampling2d_gradient_finite_differences(interpolation, data_format):
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 2)).astype(np.float32)
    layer = layers.UpSampling2D((2, 3), data_format=data_format, interpolation=interpolation)
    check_grads(lambda a: layer(a), x)


def test_resize_gradient_finite_differences_downsampling():
    x = np.random.default_rng(5).normal(size=(1, 7, 5, 2)).astype(np.float32)
    check_grads(lambda a: image_ops.resize(a, (3, 4), "bicubic"), x)


def test_upsampling2d_config_and_validation():
    layer = layers.UpSampling2D((2, 3), data_format="channels_first", interpolation="Bilinear")
    config = layer.get_config()
    assert config["interpolation"] == "bilinear"  # lower-cased, as Keras does
    assert config["size"] == (2, 3) and config["data_format"] == "channels_first"
    clone = layers.UpSampling2D.from_config(config)
    assert clone.get_config() == config
    x = np.random.default_rng(6).normal(size=(1, 2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(layer(x)))
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="cubic")
    with pytest.raises(ValueError, match="4-D"):
        layers.UpSampling2D(interpolation="bilinear")(np.zeros((2, 3, 4), np.float32))


def test_upsampling2d_bilinear_in_a_trained_model():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(8, 4, 4, 2)).astype(np.float32)
    y = rng.normal(size=(8, 8, 8, 1)).astype(np.float32)
    model = nnfast.Sequential([nnfast.Input((4, 4, 2)),
                               layers.UpSampling2D(interpolation="bilinear"),
                               layers.Conv2D(1, 3, padding="same")])
    assert model.output_shape == (None, 8, 8, 1)
    model.compile("adam", "mse")
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


# --- LayerNormalization(rms_scaling=True) ----------------------------------------------------

def rms_scaling_reference(x, gamma, axes, epsilon=1e-3):
    x = x.astype(np.float64)
    var = x.var(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    return x / np.sqrt(var + epsilon) * gamma.astype(np.float64).reshape(shape)


def rms_layer(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return layers.LayerNormalization(rms_scaling=True, **kwargs)


@pytest.mark.parametrize("tag,axis", [("ln_rms_last", -1), ("ln_rms_multi", (1, 3))])
def test_layer_norm_rms_scaling_matches_keras(tag, axis, isa):
    x, gamma = FIXTURES[tag + "_x"], FIXTURES[tag + "_gamma"]
    layer = rms_layer(axis=axis)
    layer.build(x.shape)
    assert [w.name for w in layer.weights] == list(FIXTURES[tag + "_weight_names"]) == ["gamma"]
    layer.gamma.assign(gamma)
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y, FIXTURES[tag + "_y"], rtol=1e-5, atol=1e-5)
    axes = (x.ndim - 1,) if axis == -1 else axis
    np.testing.assert_allclose(y, rms_scaling_reference(x, gamma, axes), rtol=1e-5, atol=1e-5)
    gx, ggamma = tape_grads(lambda a, g: ops.layer_normalization(a, g, None, axis, 1e-3,
                                                                 rms_scaling=True), x, gamma)
    np.testing.assert_allclose(gx, FIXTURES[tag + "_gx"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ggamma, FIXTURES[tag + "_ggamma"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape,axis", [((4, 9), -1), ((2, 3, 5), (1, 2)), ((3, 4, 2), 1)])
def test_layer_norm_rms_scaling_gradients(shape, axis, isa):
    rng = np.random.default_rng(8)
    x = (rng.normal(size=shape) + 0.5).astype(np.float32)
    axes = tuple(a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis))
    gamma = rng.normal(size=[shape[a] for a in axes]).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(ops.layer_normalization(x, gamma, None, axis, 1e-3, rms_scaling=True)),
        rms_scaling_reference(x, gamma, axes), rtol=1e-5, atol=1e-5)
    check_grads(lambda a, g: ops.layer_normalization(a, g, None, axis, 1e-3, rms_scaling=True),
                x, gamma)
    # Without gamma (ops level): the plain variance scaling.
    check_grads(lambda a: ops.layer_normalization(a, axis=axis, epsilon=1e-3, rms_scaling=True), x)


def test_layer_norm_rms_scaling_weights_and_config():
    with pytest.warns(UserWarning, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)
    # Keras: gamma even with scale=False, never beta; beta arguments are ignored.
    layer = rms_layer(scale=False, center=True)
    x = np.random.default_rng(9).normal(size=(3, 6)).astype(np.float32)
    layer(x)
    assert [w.name for w in layer.weights] == ["gamma"]
    config = layer.get_config()
    assert config["rms_scaling"] is True and config["scale"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone = layers.LayerNormalization.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(layer(x)), rtol=1e-6)
    plain = layers.LayerNormalization()
    plain(x)
    assert [w.name for w in plain.weights] == ["gamma", "beta"]


def test_layer_norm_rms_scaling_trains():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    y = (x[:, :1] * 2.0).astype(np.float32)
    model = nnfast.Sequential([nnfast.Input((6,)), layers.Dense(8), rms_layer(),
                               layers.Dense(1)])
    model.compile("adam", "mse")
    before = model.layers[1].get_weights()[0].copy()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(model.layers[1].get_weights()[0], before)  # gamma learns


# --- Dropout(noise_shape=...) ----------------------------------------------------------------

def test_dropout_noise_shape_mask_statistics():
    rate = 0.3
    x = np.ones((64, 10, 32), np.float32)
    layer = layers.Dropout(rate, noise_shape=(None, 1, 32), seed=5)
    y = np.asarray(layer(x, training=True))
    assert y.shape == x.shape
    # Every value is 0 or 1 / (1 - rate), constant along the broadcast (timestep) axis.
    np.testing.assert_allclose(np.unique(y), [0.0, 1.0 / (1.0 - rate)], rtol=1e-6)
    assert np.all(y == y[:, :1, :])
    kept = np.mean(y[:, 0, :] != 0)
    assert abs(kept - (1 - rate)) < 0.05  # 2048 draws: ~5 standard deviations
    assert abs(y.mean() - 1.0) < 0.08  # inverted scaling keeps the mean
    # Different (sample, feature) masks, and a new mask on the next call.
    assert 0 < np.mean(y[0, 0] != 0) < 1
    y2 = np.asarray(layer(x, training=True))
    assert not np.array_equal(y, y2)


def test_dropout_noise_shape_explicit_ints_and_gradient():
    x = np.random.default_rng(11).normal(size=(6, 5, 4)).astype(np.float32)
    layer = layers.Dropout(0.5, noise_shape=[1, 5, 1], seed=3)
    assert layer.noise_shape == (1, 5, 1)
    v = nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        y = layer(v, training=True)
        loss = ops.sum(y)
    g = np.asarray(tape.gradient(loss, [v])[0])
    y = np.asarray(y)
    mask = g  # d sum(x * mask) / dx = mask
    assert np.all(mask == mask[:1, :, :1])  # one mask per timestep, shared by all else
    np.testing.assert_allclose(y, x * mask, rtol=1e-6)
    assert set(np.unique(mask)) <= {0.0, 2.0}


def test_dropout_noise_shape_inference_and_reproducibility():
    x = np.random.default_rng(12).normal(size=(4, 3, 8)).astype(np.float32)
    layer = layers.Dropout(0.4, noise_shape=(None, 1, None), seed=7)
    for training in (None, False):
        np.testing.assert_array_equal(np.asarray(layer(x, training=training)), x)
    a = np.asarray(layers.Dropout(0.4, noise_shape=(None, 1, None), seed=7)(x, training=True))
    b = np.asarray(layers.Dropout(0.4, noise_shape=(None, 1, None), seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)
    # A noise shape equal to the input's is plain element-wise dropout, same stream.
    full = layers.Dropout(0.4, noise_shape=(None, None, None), seed=7)(x, training=True)
    plain = layers.Dropout(0.4, seed=7)(x, training=True)
    np.testing.assert_array_equal(np.asarray(full), np.asarray(plain))
    np.testing.assert_array_equal(
        np.asarray(layers.Dropout(1.0, noise_shape=(None, 1, None))(x, training=True)), 0 * x)


def test_dropout_noise_shape_config_and_validation():
    layer = layers.Dropout(0.25, noise_shape=[None, 1, 16], seed=2)
    config = layer.get_config()
    assert config["noise_shape"] == (None, 1, 16)
    assert layers.Dropout.from_config(config).get_config() == config
    for bad in ("abc", 3, (None, 0), (2.5, None)):
        with pytest.raises(ValueError, match="noise_shape"):
            layers.Dropout(0.5, noise_shape=bad)
    x = np.ones((4, 3, 8), np.float32)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 2, None))(x, training=True)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=(None, 8))(x, training=True)


def test_dropout_noise_shape_in_fit():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(16, 5, 4)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    model = nnfast.Sequential([nnfast.Input((5, 4)),
                               layers.Dropout(0.5, noise_shape=(None, 1, 4), seed=1),
                               layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               model.predict(x, verbose=0))  # inference is deterministic


@pytest.mark.parametrize("cls,shape,data_format,shared_axes", [
    (layers.SpatialDropout1D, (16, 6, 12), None, (1,)),
    (layers.SpatialDropout2D, (8, 3, 4, 12), "channels_first", (2, 3)),
    (layers.SpatialDropout3D, (8, 2, 3, 4, 12), "channels_last", (1, 2, 3)),
    (layers.SpatialDropout3D, (8, 12, 2, 3, 4), "channels_first", (2, 3, 4)),
])
def test_spatial_dropout_drops_whole_feature_maps(cls, shape, data_format, shared_axes):
    kwargs = {} if data_format is None else {"data_format": data_format}
    layer = cls(0.5, seed=4, **kwargs)
    x = np.random.default_rng(14).uniform(1, 2, size=shape).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)  # inference: identity
    y = np.asarray(layer(x, training=True))
    mask = y / x
    first = tuple(slice(0, 1) if a in shared_axes else slice(None) for a in range(len(shape)))
    np.testing.assert_allclose(mask, np.broadcast_to(mask[first], shape), rtol=1e-6)
    assert set(np.round(np.unique(mask), 5)) == {0.0, 2.0}
    config = layer.get_config()
    assert cls.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="input"):
        layer(np.ones((2, 3), np.float32), training=True)


def test_upsampling1d():
    x = np.random.default_rng(15).normal(size=(2, 3, 4)).astype(np.float32)
    layer = layers.UpSampling1D(3)
    y = layer(x)
    np.testing.assert_array_equal(np.asarray(y), np.repeat(x, 3, axis=1))
    assert layer.compute_output_shape((None, 3, 4)) == (None, 9, 4)
    assert layers.UpSampling1D.from_config(layer.get_config()).get_config() == \
        layer.get_config()
    check_grads(lambda a: layers.UpSampling1D(2)(a), x)
    with pytest.raises(TypeError):
        layers.UpSampling1D(2.0)


def test_keras_saved_model_with_these_layers_loads_and_predicts(tmp_path):
    # Saved by Keras 3.15: UpSampling2D(bilinear), Dropout(noise_shape), SpatialDropout1D/2D,
    # UpSampling1D and LayerNormalization(rms_scaling=True) with a non-trivial gamma.
    path = os.path.join(os.path.dirname(__file__), "fixtures", "layer_gaps",
                        "layer_gaps_model.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nnfast.models.load_model(path)
        x, expected = FIXTURES["model_x"], FIXTURES["model_y"]
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4,
                                   atol=1e-5)
        model.save(tmp_path / "again.keras")
        again = nnfast.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
