"""nnfast.applications against Keras: architectures layer by layer (names, classes, weight
shapes, parameter counts), forward passes on Keras-written and seeded weights, weight-file
lookup, preprocess_input/decode_predictions, and transfer learning with a frozen base.

The Keras references live in tests/fixtures/applications (see make_keras_fixtures.py there).
"""
import importlib.util
import io
import json
import os
import urllib.request

import numpy as np
import pytest

import nnfast
from nnfast import applications, layers
from nnfast.applications import imagenet_utils

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "applications")
_spec = importlib.util.spec_from_file_location(
    "make_keras_fixtures", os.path.join(FIXTURES, "make_keras_fixtures.py"))
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

with open(os.path.join(FIXTURES, "keras_architectures.json")) as _f:
    KERAS_ARCH = json.load(_f)
KERAS_PRED = dict(np.load(os.path.join(FIXTURES, "keras_predictions.npz")))
KERAS_FILE = os.path.join(FIXTURES, "mobilenet_v2_0.35_32_top10.h5")


@pytest.fixture
def fast_init(monkeypatch):
    """Zero-filled initial weights: building VGG16 with its 120M-parameter top then takes
    a fraction of a second instead of drawing random numbers (the values are not used)."""
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


def _describe(model):
    return [{"name": l.name, "class_name": type(l).__name__,
             "weight_shapes": [list(w.shape) for w in l.weights]} for l in model.layers]


# --- architectures --------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(KERAS_ARCH))
def test_architecture_matches_keras(key, fast_init):
    ref = KERAS_ARCH[key]
    nnfast.clear_session()  # auto-named layers (global_average_pooling2d...) as in Keras
    model = getattr(applications, ref["function"])(weights=None, **ref["kwargs"])
    assert model.name == ref["name"]
    got = _describe(model)
    assert [l["name"] for l in got] == [l["name"] for l in ref["layers"]]
    assert got == ref["layers"]
    assert model.count_params() == ref["params"]
    assert list(model.output_shape) == ref["output_shape"]


def test_documented_parameter_counts(fast_init):
    counts = {
        ("MobileNetV2", False): 2_257_984, ("MobileNetV2", True): 3_538_984,
        ("VGG16", False): 14_714_688, ("VGG16", True): 138_357_544,
        ("VGG19", False): 20_024_384,
        ("ResNet50", False): 23_587_712, ("ResNet50", True): 25_636_712,
    }
    for (fn, top), expected in counts.items():
        kwargs = {"input_shape": (224, 224, 3)} if fn == "MobileNetV2" and not top else {}
        model = getattr(applications, fn)(weights=None, include_top=top, **kwargs)
        assert model.count_params() == expected, (fn, top)


def test_pooling_and_classes(fast_init):
    m = applications.ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3),
                              pooling="avg")
    assert m.output_shape == (None, 2048) and m.layers[-1].name == "avg_pool"
    m = applications.VGG16(weights=None, include_top=False, input_shape=(64, 80, 3),
                           pooling="max")
    assert m.output_shape == (None, 512)
    m = applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=5,
                                 classifier_activation=None)
    assert m.output_shape == (None, 5) and m.name == "mobilenetv2_1.00_96"
    assert m.get_layer("predictions").activation is nnfast.activations.get(None)
    m = applications.MobileNetV2(weights=None, include_top=False, input_shape=(64, 48, 3),
                                 name="tiny")
    assert m.output_shape == (None, 2, 2, 1280) and m.name == "tiny"


def test_input_tensor(fast_init):
    inp = nnfast.Input(shape=(64, 64, 3))
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(inp)
    model = applications.MobileNetV2(input_tensor=x, include_top=False, weights=None,
                                     alpha=0.35)
    assert model.inputs[0] is inp
    assert model.layers[1].name == "rescaling"
    assert model.output_shape == (None, 2, 2, 1280)
    with pytest.raises(ValueError, match="input_tensor"):
        applications.VGG16(input_tensor=np.zeros((1, 32, 32, 3), "float32"), weights=None,
                           include_top=False)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.MobileNetV2(input_shape=(31, 64, 3), include_top=False, weights=None)
    with pytest.raises(ValueError, match="classes"):
        applications.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="weights"):
        applications.ResNet50(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match=r"input_shape` should be \(224, 224, 3\)"):
        applications.ResNet50(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="alpha"):
        applications.MobileNetV2(weights="imagenet", alpha=0.6, include_top=False)
    with pytest.raises(ValueError, match="3 channels"):
        applications.VGG19(weights="imagenet", include_top=False, input_shape=(64, 64, 1))
    with pytest.raises(ValueError, match="static `input_shape`"):
        applications.MobileNetV2(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="classifier_activation"):
        applications.MobileNetV2(weights=KERAS_FILE, classifier_activation="relu",
                                 input_shape=(32, 32, 3), alpha=0.35, classes=10)


# --- numerics against Keras -----------------------------------------------------------------
def test_keras_written_weight_file_predicts_like_keras():
    """A MobileNetV2 weight file written by Keras's legacy writer (the layout of its ImageNet
    files), loaded through ``weights=<path>`` by topological layer order."""
    model = applications.MobileNetV2(alpha=0.35, input_shape=(32, 32, 3), classes=10,
                                     classifier_activation=None, weights=KERAS_FILE)
    bn = model.get_layer("block_3_depthwise_BN")
    assert not np.allclose(bn.moving_variance.numpy(), 1.0)  # the file's statistics loaded
    y = model.predict(fx.fixed_images((3, 32, 32, 3)), verbose=0)
    ref = KERAS_PRED["mobilenet_v2_0.35_32_top10"]
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-4 * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("key", sorted(fx.SEEDED))
def test_seeded_weights_predict_like_keras(key):
    fn, kwargs = fx.SEEDED[key]
    model = getattr(applications, fn)(weights=None, **kwargs)
    spec = [(type(l).__name__, [tuple(w.shape) for w in l.weights]) for l in model.layers
            if l.weights]
    model.set_weights(fx.seeded_weights(spec))
    y = model.predict(fx.fixed_images((2,) + tuple(kwargs["input_shape"])), verbose=0)
    ref = KERAS_PRED[key]
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-4 * max(1.0, np.abs(ref).max()))


# --- weight files ---------------------------------------------------------------------------
def test_imagenet_weights_offline_error_names_file_and_folder(offline, tmp_path):
    cases = [
        (lambda: applications.MobileNetV2(alpha=0.35, include_top=False,
                                          input_shape=(96, 96, 3)),
         "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"),
        (lambda: applications.VGG16(include_top=False, input_shape=(32, 32, 3)),
         "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        (lambda: applications.ResNet50(include_top=False, input_shape=(32, 32, 3)),
         "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ]
    for build, fname in cases:
        with pytest.raises(FileNotFoundError) as err:
            build()
        message = str(err.value)
        assert fname in message
        assert str(tmp_path / "nnfast_home" / "models") in message
    assert offline == [
        "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ]
    assert not [p for p in (tmp_path / "nnfast_home" / "models").iterdir()]  # no .part left


def test_imagenet_weights_from_caches(offline, tmp_path, monkeypatch):
    source = applications.MobileNetV2(alpha=0.35, include_top=False, input_shape=(96, 96, 3),
                                      weights=None)
    fname = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    for folder in (tmp_path / "nnfast_home" / "models", tmp_path / "keras_home" / "models",
                   tmp_path / "shared"):
        folder.mkdir(parents=True, exist_ok=True)
        source.save_weights(str(folder / fname))
        if folder.name == "shared":
            monkeypatch.setenv("NNFAST_MODELS", str(folder))
        model = applications.MobileNetV2(alpha=0.35, include_top=False,
                                         input_shape=(96, 96, 3))
        for a, b in zip(model.get_weights(), source.get_weights()):
            np.testing.assert_array_equal(a, b)
        os.remove(folder / fname)
    assert offline == []
    # Sizes without their own ImageNet weights fall back to the 224 file, with a warning.
    with pytest.warns(UserWarning, match="224"):
        with pytest.raises(FileNotFoundError, match="_0.35_224_no_top.h5"):
            applications.MobileNetV2(alpha=0.35, include_top=False, input_shape=(64, 64, 3))


def test_download_checks_keras_hash(offline, tmp_path, monkeypatch):
    payload = b"not the real VGG16 weights"
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, *a, **k: io.BytesIO(payload))
    with pytest.raises(ValueError, match="6d6bbae143d832006294945121d1f1fc"):
        applications.VGG16(include_top=False, input_shape=(32, 32, 3))
    cache = tmp_path / "nnfast_home" / "models"
    assert list(cache.iterdir()) == []
    import hashlib

    md5 = hashlib.md5(payload).hexdigest()
    path = imagenet_utils.get_model_file("x.bin", "https://example.invalid/x.bin", md5)
    assert path == str(cache / "x.bin") and open(path, "rb").read() == payload
    sha = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(ValueError, match="hash"):
        imagenet_utils.get_model_file("y.bin", "https://example.invalid/y.bin", sha)


def test_save_and_load_weights_round_trip(tmp_path):
    model = applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = str(tmp_path / "resnet.h5")
    model.save_weights(path)
    other = applications.ResNet50(weights=path, include_top=False, input_shape=(32, 32, 3))
    x = fx.fixed_images((1, 32, 32, 3))
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))


# --- preprocess_input / decode_predictions --------------------------------------------------
def test_preprocess_input_modes():
    rng = np.random.RandomState(0)
    img = rng.uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    mean = np.array([103.939, 116.779, 123.68], "float32")

    out = applications.vgg16.preprocess_input(img.copy())
    np.testing.assert_allclose(out, img[..., ::-1] - mean, rtol=1e-6)
    np.testing.assert_allclose(applications.resnet50.preprocess_input(img.copy()), out)
    np.testing.assert_allclose(applications.vgg19.preprocess_input(img.copy()), out)
    first = applications.resnet.preprocess_input(img.transpose(0, 3, 1, 2).copy(),
                                                 data_format="channels_first")
    np.testing.assert_allclose(first, out.transpose(0, 3, 1, 2), rtol=1e-6)
    single = applications.vgg16.preprocess_input(img[0].transpose(2, 0, 1).copy(),
                                                 data_format="channels_first")
    np.testing.assert_allclose(single, out[0].transpose(2, 0, 1), rtol=1e-6)

    buf = img.copy()
    tf_out = applications.mobilenet_v2.preprocess_input(buf)
    np.testing.assert_allclose(tf_out, img / 127.5 - 1.0, rtol=1e-6, atol=1e-6)
    assert tf_out is buf  # float input is written over, as in Keras

    torch_out = imagenet_utils.preprocess_input(img.copy(), mode="torch")
    expected = (img / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(torch_out, expected, rtol=1e-5, atol=1e-6)

    ints = applications.mobilenet_v2.preprocess_input(np.array([[0, 255]], np.uint8))
    assert ints.dtype == np.float32 and ints.tolist() == [[-1.0, 1.0]]
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(img, mode="caffe2")
    with pytest.raises(ValueError, match="data_format"):
        applications.vgg16.preprocess_input(img, data_format="NHWC")


def test_decode_predictions(offline, tmp_path, monkeypatch):
    folder = tmp_path / "nnfast_home" / "models"
    folder.mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(json.dumps(index))
    monkeypatch.setattr(imagenet_utils, "_CLASS_INDEX", None)
    preds = np.zeros((2, 1000), "float32")
    preds[0, [7, 42, 999]] = [0.2, 0.5, 0.3]
    preds[1, 3] = 1.0
    out = applications.mobilenet_v2.decode_predictions(preds, top=3)
    assert [r[:2] for r in out[0]] == [("n00000042", "class_42"), ("n00000999", "class_999"),
                                       ("n00000007", "class_7")]
    assert [float(r[2]) for r in out[0]] == pytest.approx([0.5, 0.3, 0.2])
    assert len(out[1]) == 3 and out[1][0][:2] == ("n00000003", "class_3")
    assert len(applications.resnet50.decode_predictions(preds)[0]) == 5
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        applications.vgg16.decode_predictions(np.zeros((2, 10)))
    assert offline == []


def test_decode_predictions_offline_error(offline, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_CLASS_INDEX", None)
    with pytest.raises(FileNotFoundError, match="imagenet_class_index.json"):
        applications.vgg19.decode_predictions(np.zeros((1, 1000)))


# --- transfer learning ----------------------------------------------------------------------
def _digits_rgb(n, size=32):
    (x, y), _ = nnfast.datasets.digits.load_data()
    x = np.kron(x[:n].astype("float32") * (255.0 / 16.0), np.ones((size // 8, size // 8)))
    return np.repeat(x[..., None], 3, axis=-1), y[:n].astype("int64")


def test_transfer_learning_trains_only_the_head():
    x, y = _digits_rgb(192)
    x = applications.mobilenet_v2.preprocess_input(x)
    base = applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False,
                                    weights=None)
    base.trainable = False
    # A frozen base's BatchNormalization runs in inference mode even with training=True.
    # training=True runs the layers one by one, training=False the fused inference plan: the
    # same numbers, but not always the same bits. On AVX2 the last projection (336 -> 112 on
    # 2x2 pixels) is a GEMM that sums K in cache blocks of 256 (blocked summation, kept for
    # long weight-gradient sums), while the fused block's 1x1 register tile sums all 336 in
    # one pass (on AVX-512 the GEMM's block, 384, covers it): float32 rounding apart.
    frozen_train = base(x[:4], training=True).numpy()
    frozen_infer = base(x[:4], training=False).numpy()
    np.testing.assert_allclose(frozen_train, frozen_infer, rtol=0,
                               atol=1e-6 * float(np.abs(frozen_infer).max()))
    inputs = nnfast.Input(shape=(32, 32, 3))
    h = base(inputs, training=False)
    h = layers.GlobalAveragePooling2D()(h)
    outputs = layers.Dense(10, activation="softmax")(h)
    model = nnfast.Model(inputs, outputs)
    assert len(model.trainable_weights) == 2
    assert len(model.non_trainable_weights) == len(base.weights)
    base_before = [w.copy() for w in base.get_weights()]
    head = model.layers[-1]
    head_before = [w.copy() for w in head.get_weights()]
    model.compile(optimizer=nnfast.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    for a, b in zip(base.get_weights(), base_before):
        np.testing.assert_array_equal(a, b)  # kernels and moving statistics unchanged
    assert all(not np.array_equal(a, b) for a, b in zip(head.get_weights(), head_before))
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


def test_capped_relu_fast_path():
    """ReLU(6.0), the activation of every MobileNetV2 block, on a vectorized loop: values,
    the cap, NaN -> 0 and infinities as Keras's relu."""
    x = np.concatenate([np.linspace(-8, 8, 1001), [np.nan, np.inf, -np.inf, 6.0, 0.0]])
    x = x.astype("float32")
    for layer, cap in ((layers.ReLU(6.0), 6.0), (layers.ReLU(max_value=2.5), 2.5)):
        y = layer(x).numpy()
        expected = np.minimum(np.where(x > 0, x, 0.0), cap)
        np.testing.assert_array_equal(y, expected.astype("float32"))
