"""MobileNetV3Small/Large, ConvNeXtTiny..XLarge, EfficientNetV2B0..L, InceptionResNetV2 and
NASNetMobile/Large against Keras: architectures layer by layer (names, classes, weight shapes
in order, parameter counts, output shapes), forward passes with seeded weights, Keras-written
weight files of a small ConvNeXt, the ImageNet weight-file names, each family's
preprocess_input, and the layers LayerScale, StochasticDepth and CustomScaleLayer.

The Keras references live in tests/fixtures/applications (see make_apps2_fixtures.py there).
"""
import gzip
import importlib.util
import json
import os
import urllib.request

import nnfast
import numpy as np
import pytest
from nnfast import applications
from nnfast.applications import convnext, inception_resnet_v2

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "applications")
_spec = importlib.util.spec_from_file_location(
    "make_apps2_fixtures", os.path.join(FIXTURES, "make_apps2_fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

with gzip.open(os.path.join(FIXTURES, "apps2_architectures.json.gz"), "rt") as _f:
    KERAS_ARCH = json.load(_f)
KERAS_PRED = dict(np.load(os.path.join(FIXTURES, "apps2_predictions.npz")))


def _zeros(self, shape, dtype="float32"):
    return np.zeros(shape, dtype)


@pytest.fixture
def fast_init(monkeypatch):
    """Zero-filled initial weights for the random initializers: building the large models
    then takes a fraction of a second instead of drawing random numbers (the values are not
    used)."""
    for cls in (nnfast.initializers.VarianceScaling, nnfast.initializers.GlorotUniform,
                nnfast.initializers.HeNormal):
        monkeypatch.setattr(cls, "__call__", _zeros)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty nnfast cache and Keras cache, no $NNFAST_MODELS, and no network."""
    monkeypatch.setenv("NNFAST_HOME", str(tmp_path / "nnfast_home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("NNFAST_MODELS", raising=False)
    calls = []

    def no_network(url, *args, **kwargs):
        calls.append(url)
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return calls


def _describe(model):
    return [[l.name, type(l).__name__, [list(w.shape) for w in l.weights]]
            for l in model.layers]


@pytest.mark.parametrize("key", sorted(KERAS_ARCH))
def test_architecture_matches_keras(key, fast_init):
    ref = KERAS_ARCH[key]
    nnfast.clear_session()  # auto-named layers (activation_N, ...) as in Keras
    model = getattr(applications, ref["function"])(weights=None, **ref["kwargs"])
    assert model.name == ref["name"]
    got = _describe(model)
    assert [l[0] for l in got] == [l[0] for l in ref["layers"]]
    assert got == ref["layers"]
    assert model.count_params() == ref["params"]
    assert list(model.output_shape) == ref["output_shape"]


@pytest.mark.parametrize("key", sorted(fx.SEEDED))
def test_seeded_weights_predict_like_keras(key, fast_init):
    fn, kwargs, raw = fx.SEEDED[key]
    model = getattr(applications, fn)(weights=None, **kwargs)
    model.set_weights(fx.seeded_weights(fx.weight_spec(model)))
    y = model.predict(fx.fixed_images((2,) + tuple(kwargs["input_shape"]), raw=raw), verbose=0)
    ref = KERAS_PRED[key]
    assert y.shape == ref.shape
    assert np.abs(ref).max() > 1e-2  # the seeded network did not collapse to zeros
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_keras_convnext_weight_file_loads(tmp_path):
    """Keras's files nest the stem/downsampling Sequential models and LayerScale weights;
    the same weights also round-trip through nnfast's ``.weights.h5``."""
    model = convnext.ConvNeXt(weights=None, **fx.CONVNEXT_MINI)
    model.load_weights(os.path.join(FIXTURES, "convnext_mini_legacy.h5"))
    path = str(tmp_path / "mini.weights.h5")
    model.save_weights(path)
    model = convnext.ConvNeXt(weights=None, **fx.CONVNEXT_MINI)
    model.load_weights(path)
    y = model.predict(fx.fixed_images((2, 32, 32, 3), raw=True), verbose=0)
    ref = KERAS_PRED["convnext_mini"]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


_IMAGENET_FILES = [
    (lambda: applications.MobileNetV3Small(input_shape=(224, 224, 3)),
     "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float.h5"),
    (lambda: applications.MobileNetV3Large(alpha=0.75, include_top=False,
                                           input_shape=(224, 224, 3)),
     "mobilenet_v3/weights_mobilenet_v3_large_224_0.75_float_no_top_v2.h5"),
    (lambda: applications.MobileNetV3Small(minimalistic=True, input_shape=(224, 224, 3)),
     "mobilenet_v3/weights_mobilenet_v3_small_minimalistic_224_1.0_float.h5"),
    (lambda: applications.ConvNeXtTiny(include_top=False, input_shape=(32, 32, 3)),
     "convnext/convnext_tiny_notop.h5"),
    (lambda: applications.EfficientNetV2B0(include_top=False, input_shape=(32, 32, 3)),
     "efficientnet_v2/efficientnetv2-b0_notop.h5"),
    (lambda: applications.EfficientNetV2S(include_top=False, input_shape=(32, 32, 3)),
     "efficientnet_v2/efficientnetv2-s_notop.h5"),
    (lambda: applications.InceptionResNetV2(include_top=False, input_shape=(75, 75, 3)),
     "inception_resnet_v2/inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: applications.NASNetMobile(include_top=False, input_shape=(32, 32, 3)),
     "nasnet/NASNet-mobile-no-top.h5"),
]


@pytest.mark.parametrize("build,path", _IMAGENET_FILES)
def test_imagenet_weights_offline_error_names_the_file(build, path, offline, fast_init,
                                                       tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build()
    cache_name = path.rsplit("/", 1)[1]
    if path.startswith("nasnet/"):
        cache_name = "nasnet_mobile_no_top.h5"  # Keras caches it under another name
    assert cache_name in str(err.value)
    assert str(tmp_path / "nnfast_home" / "models") in str(err.value)
    assert offline == ["https://storage.googleapis.com/tensorflow/keras-applications/" + path]


def test_imagenet_weights_found_in_cache(offline, tmp_path):
    source = applications.MobileNetV3Small(alpha=0.75, input_shape=(224, 224, 3),
                                           include_top=False, weights=None)
    folder = tmp_path / "keras_home" / "models"
    folder.mkdir(parents=True)
    source.save_weights(str(folder / "weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5"))
    model = applications.MobileNetV3Small(alpha=0.75, input_shape=(224, 224, 3),
                                          include_top=False)
    for a, b in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert offline == []


def test_argument_errors(fast_init):
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.MobileNetV3Small(input_shape=(16, 16, 3), weights=None)
    with pytest.raises(ValueError, match="alpha can be one of"):
        applications.MobileNetV3Large(alpha=0.5, include_top=False)
    with pytest.raises(ValueError, match="at least 75x75"):
        applications.InceptionResNetV2(input_shape=(64, 64, 3), include_top=False,
                                       weights=None)
    with pytest.raises(ValueError, match=r"input_shape` should be \(224, 224, 3\)"):
        applications.ConvNeXtTiny(input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="must contain the weights variant"):
        applications.ConvNeXtTiny(include_top=False, name="backbone")
    with pytest.raises(ValueError, match="classes"):
        applications.EfficientNetV2B0(classes=10)
    with pytest.raises(ValueError, match="static"):
        applications.NASNetLarge(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="penultimate_filters"):
        applications.nasnet.NASNet(penultimate_filters=1000, weights=None,
                                   include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="drop_path_rate"):
        convnext.StochasticDepth(1.0)
    with pytest.raises(ValueError, match="two tensors"):
        inception_resnet_v2.CustomScaleLayer(0.1)(np.ones((2, 3), "float32"))


def test_input_tensor_and_names(fast_init):
    inp = nnfast.Input(shape=(64, 64, 3))
    m = applications.EfficientNetV2B1(input_tensor=inp, include_top=False, weights=None,
                                      pooling="avg", name="backbone")
    assert m.inputs[0] is inp and m.output_shape == (None, 1280) and m.name == "backbone"
    m = applications.MobileNetV3Large(weights=None, include_top=False)
    assert m.output_shape == (None, None, None, 960)


def test_preprocess_input_per_family():
    img = np.random.RandomState(0).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    expected = {"mobilenet_v3": img, "convnext": img, "efficientnet_v2": img,
                "inception_resnet_v2": img / 127.5 - 1.0, "nasnet": img / 127.5 - 1.0}
    for module, ref in expected.items():
        out = getattr(applications, module).preprocess_input(img.copy())
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5, err_msg=module)
        with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
            getattr(applications, module).decode_predictions(np.zeros((2, 10)))


def test_layer_scale_matches_definition_and_trains():
    layer = convnext.LayerScale(0.5, 4)
    x = np.random.RandomState(0).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), 0.5 * x, rtol=1e-6)
    assert [w.shape for w in layer.weights] == [(4,)]
    restored = convnext.LayerScale.from_config(layer.get_config())
    assert restored.init_values == 0.5 and restored.projection_dim == 4
    with pytest.raises(ValueError, match="4 channels"):
        convnext.LayerScale(0.5, 4)(np.ones((2, 5), "float32"))
    # d(sum(x * gamma)) / d gamma = sum of x over the other axes.
    inp = nnfast.Input((3, 4))
    model = nnfast.Model(inp, convnext.LayerScale(1.0, 4)(inp))
    model.compile(optimizer=nnfast.optimizers.SGD(0.1), loss="mae")
    model.fit(x, np.full((2, 3, 4), 100.0, "float32"), epochs=1, batch_size=2, verbose=0)
    # MAE gradient wrt each output is -1/N (targets far above); gamma += 0.1 * sum(x)/N.
    expected = 1.0 + 0.1 * x.sum(axis=(0, 1)) / x.size
    np.testing.assert_allclose(model.get_weights()[0], expected, rtol=1e-5)


def test_stochastic_depth_drops_whole_samples():
    nnfast.utils.set_random_seed(3)
    layer = convnext.StochasticDepth(0.5, seed=7)
    x = np.ones((400, 2, 3), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)  # inference: identity
    y = np.asarray(layer(x, training=True))
    per_sample = y.reshape(400, -1)
    # Every sample is all zeros or all 1 / keep_prob, about half of each.
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert np.all(per_sample.min(axis=1) == per_sample.max(axis=1))
    assert 150 < (per_sample[:, 0] == 0).sum() < 250
    assert convnext.StochasticDepth.from_config(layer.get_config()).drop_path_rate == 0.5


def test_custom_scale_layer():
    a = np.arange(6, dtype="float32").reshape(2, 3)
    b = np.ones((2, 3), "float32")
    out = inception_resnet_v2.CustomScaleLayer(0.17)([a, b])
    np.testing.assert_allclose(np.asarray(out), a + 0.17, rtol=1e-6)
    assert inception_resnet_v2.CustomScaleLayer(0.2).get_config()["scale"] == 0.2


def test_application_layers_save_and_load_as_keras_writes_them(tmp_path):
    """LayerScale / StochasticDepth / CustomScaleLayer are written under their Keras module
    (``keras.src.applications.convnext``...), which is how Keras reads them back (checked
    by hand with Keras 3.15: its load_model reads this file and predicts the same), and are
    found from it when reading."""
    import zipfile

    model = convnext.ConvNeXt([1, 1, 1, 1], [8, 8, 8, 8], drop_path_rate=0.1,
                              name="convnext_mini", input_shape=(32, 32, 3), classes=3)
    path = str(tmp_path / "mini.keras")
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    entries = {l["class_name"]: l for l in config["config"]["layers"]}
    assert entries["LayerScale"]["module"] == "keras.src.applications.convnext"
    assert entries["LayerScale"]["registered_name"] == "LayerScale"
    assert entries["StochasticDepth"]["config"]["drop_path_rate"] > 0
    restored = nnfast.saving.load_model(path)
    assert {type(l).__name__ for l in restored.layers} >= {"LayerScale", "StochasticDepth"}
    x = fx.fixed_images((2, 32, 32, 3), raw=True)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    inp = nnfast.Input((4,))
    scaled = inception_resnet_v2.CustomScaleLayer(0.5)([inp, nnfast.layers.Dense(4)(inp)])
    nnfast.Model(inp, scaled).save(str(tmp_path / "scale.keras"))
    restored = nnfast.saving.load_model(str(tmp_path / "scale.keras"))
    assert type(restored.layers[-1]) is inception_resnet_v2.CustomScaleLayer
    assert restored.layers[-1].scale == 0.5


@pytest.mark.parametrize("build", [
    lambda: convnext.ConvNeXt([1, 1, 1, 1], [8, 8, 8, 8], drop_path_rate=0.2,
                              input_shape=(32, 32, 3), classes=3, name="convnext_mini"),
    lambda: applications.MobileNetV3Small(alpha=0.75, input_shape=(32, 32, 3), classes=3,
                                          weights=None, dropout_rate=0.0),
])
def test_small_models_train(build):
    """A few steps of fit lower the loss: gradients flow through LayerScale, stochastic
    depth, grouped convs and LayerNorm (ConvNeXt), and through hard-swish and the hard-sigmoid
    built from ops (MobileNetV3)."""
    nnfast.utils.set_random_seed(0)
    model = build()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 3, 16)
    model.compile(optimizer=nnfast.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
