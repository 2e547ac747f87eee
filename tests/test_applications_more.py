"""ResNet101/152, ResNet50V2/101V2/152V2, DenseNet121/169/201, Xception, InceptionV3,
MobileNet and EfficientNetB0-B7 against Keras: architectures layer by layer (names, classes,
weight shapes in order, parameter counts, output shapes), forward passes with seeded
weights, the ImageNet weight-file names, and each family's preprocess_input.

The Keras references live in tests/fixtures/applications (see make_more_fixtures.py there).
"""
import gzip
import importlib.util
import json
import os
import urllib.request

import numpy as np
import pytest

import nnfast
from nnfast import applications

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "applications")
_spec = importlib.util.spec_from_file_location(
    "make_more_fixtures", os.path.join(FIXTURES, "make_more_fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

with gzip.open(os.path.join(FIXTURES, "more_architectures.json.gz"), "rt") as _f:
    KERAS_ARCH = json.load(_f)
KERAS_PRED = dict(np.load(os.path.join(FIXTURES, "more_predictions.npz")))


@pytest.fixture
def fast_init(monkeypatch):
    """Zero-filled initial weights: building the 60M-parameter ResNet152 then takes a
    fraction of a second instead of drawing random numbers (the values are not used)."""
    monkeypatch.setattr(nnfast.initializers.VarianceScaling, "__call__",
                        lambda self, shape, dtype="float32": np.zeros(shape, dtype))


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


@pytest.mark.parametrize("key", sorted(KERAS_ARCH))
def test_architecture_matches_keras(key, fast_init):
    ref = KERAS_ARCH[key]
    nnfast.clear_session()  # auto-named layers (conv2d, batch_normalization...) as in Keras
    model = getattr(applications, ref["function"])(weights=None, **ref["kwargs"])
    assert model.name == ref["name"]
    got = [[l.name, type(l).__name__, [list(w.shape) for w in l.weights]]
           for l in model.layers]
    assert [l[0] for l in got] == [l[0] for l in ref["layers"]]
    assert got == ref["layers"]
    assert model.count_params() == ref["params"]
    assert list(model.output_shape) == ref["output_shape"]


@pytest.mark.parametrize("key", sorted(fx.SEEDED))
def test_seeded_weights_predict_like_keras(key, fast_init):
    fn, kwargs = fx.SEEDED[key]
    model = getattr(applications, fn)(weights=None, **kwargs)
    spec = [(type(l).__name__, [tuple(w.shape) for w in l.weights]) for l in model.layers
            if l.weights]
    model.set_weights(fx.seeded_weights(spec))
    x = fx.fixed_images((2,) + tuple(kwargs["input_shape"]), raw=fn.startswith("Efficient"))
    y = model.predict(x, verbose=0)
    ref = KERAS_PRED[key]
    assert y.shape == ref.shape
    assert np.abs(ref).max() > 1e-2  # the seeded network did not collapse to zeros
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


_IMAGENET_FILES = [
    (lambda: applications.ResNet101(include_top=False),
     "resnet/resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: applications.ResNet152(),
     "resnet/resnet152_weights_tf_dim_ordering_tf_kernels.h5"),
    (lambda: applications.ResNet50V2(include_top=False),
     "resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: applications.ResNet152V2(),
     "resnet/resnet152v2_weights_tf_dim_ordering_tf_kernels.h5"),
    (lambda: applications.DenseNet169(include_top=False),
     "densenet/densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: applications.DenseNet121(),
     "densenet/densenet121_weights_tf_dim_ordering_tf_kernels.h5"),
    (lambda: applications.Xception(include_top=False),
     "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: applications.InceptionV3(),
     "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5"),
    (lambda: applications.MobileNet(alpha=0.5, input_shape=(160, 160, 3), include_top=False),
     "mobilenet/mobilenet_5_0_160_tf_no_top.h5"),
    (lambda: applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3)),
     "mobilenet/mobilenet_2_5_128_tf.h5"),
]
_EFFICIENTNET_URL = "https://storage.googleapis.com/keras-applications/"


@pytest.mark.parametrize("build,path", _IMAGENET_FILES)
def test_imagenet_weights_offline_error_names_the_file(build, path, offline, fast_init,
                                                       tmp_path):
    fname = path.rsplit("/", 1)[1]
    with pytest.raises(FileNotFoundError) as err:
        build()
    assert fname in str(err.value)
    assert str(tmp_path / "nnfast_home" / "models") in str(err.value)
    assert offline == ["https://storage.googleapis.com/tensorflow/keras-applications/" + path]


def test_efficientnet_imagenet_files(offline, fast_init):
    """Keras names EfficientNet's file after the model name (``{name}[_notop].h5``) and adds
    a rescaling layer that only the ImageNet weights need."""
    for build, fname in ((lambda: applications.EfficientNetB0(include_top=False),
                          "efficientnetb0_notop.h5"),
                         (lambda: applications.EfficientNetB4(), "efficientnetb4.h5")):
        with pytest.raises(FileNotFoundError, match=fname):
            build()
    assert offline == [_EFFICIENTNET_URL + "efficientnetb0_notop.h5",
                       _EFFICIENTNET_URL + "efficientnetb4.h5"]
    nnfast.clear_session()
    with_file = applications.EfficientNetB0(weights=None, include_top=False)
    assert [l.name for l in with_file.layers[1:4]] == ["rescaling", "normalization",
                                                       "stem_conv_pad"]


def test_imagenet_weights_found_in_cache(offline, tmp_path):
    source = applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), include_top=False,
                                    weights=None)
    folder = tmp_path / "keras_home" / "models"
    folder.mkdir(parents=True)
    source.save_weights(str(folder / "mobilenet_2_5_128_tf_no_top.h5"))
    model = applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), include_top=False)
    for a, b in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert offline == []


def test_argument_errors(fast_init):
    with pytest.raises(ValueError, match="at least 71x71"):
        applications.Xception(input_shape=(64, 64, 3), include_top=False, weights=None)
    with pytest.raises(ValueError, match="at least 75x75"):
        applications.InceptionV3(input_shape=(71, 71, 3), include_top=False, weights=None)
    with pytest.raises(ValueError, match=r"input_shape` should be \(299, 299, 3\)"):
        applications.InceptionV3(weights="imagenet", input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="classes"):
        applications.DenseNet121(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="depth multiplier"):
        applications.MobileNet(weights="imagenet", depth_multiplier=2, include_top=False)
    with pytest.raises(ValueError, match="alpha"):
        applications.MobileNet(weights="imagenet", alpha=0.35, include_top=False)
    with pytest.warns(UserWarning, match="224"), \
            pytest.raises(FileNotFoundError, match="mobilenet_1_0_224_tf_no_top.h5"):
        applications.MobileNet(include_top=False, input_shape=(96, 96, 3))


def test_default_names_and_shapes(fast_init):
    m = applications.MobileNet(weights=None, input_shape=(64, 64, 3), alpha=0.25, classes=3)
    assert m.name == "mobilenet_0.25_64" and m.output_shape == (None, 3)
    m = applications.ResNet101V2(weights=None, include_top=False, input_shape=(64, 96, 3),
                                 name="backbone")
    assert m.name == "backbone" and m.output_shape == (None, 2, 3, 2048)
    inp = nnfast.Input(shape=(96, 96, 3))
    m = applications.DenseNet201(input_tensor=inp, include_top=False, weights=None,
                                 pooling="avg")
    assert m.inputs[0] is inp and m.output_shape == (None, 1920)


def test_preprocess_input_per_family():
    img = np.random.RandomState(0).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    mean = np.array([103.939, 116.779, 123.68], "float32")
    caffe = img[..., ::-1] - mean
    tf_mode = img / 127.5 - 1.0
    torch_mode = (img / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    expected = {"resnet": caffe, "resnet_v2": tf_mode, "densenet": torch_mode,
                "xception": tf_mode, "inception_v3": tf_mode, "mobilenet": tf_mode,
                "efficientnet": img}
    for module, ref in expected.items():
        out = getattr(applications, module).preprocess_input(img.copy())
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5, err_msg=module)
        assert getattr(applications, module).decode_predictions is not None
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        applications.densenet.decode_predictions(np.zeros((2, 10)))
