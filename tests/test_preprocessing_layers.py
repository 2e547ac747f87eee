"""Preprocessing and augmentation layers against NumPy references; random layers are the
identity at inference and active in training."""
import numpy as np
import pytest

import nnfast
from nnfast import layers
from conftest import check_grads
from layer_contract import run_layer_test


def _images(n=3, h=9, w=11, c=3, seed=0):
    return (np.random.default_rng(seed).random((n, h, w, c)) * 255).astype(np.float32)


def test_rescaling_values_gradient_and_config():
    x = _images()
    out = np.asarray(layers.Rescaling(1 / 127.5, offset=-1)(x))
    np.testing.assert_allclose(out, x / 127.5 - 1, rtol=1e-6, atol=1e-6)
    per_channel = np.asarray(layers.Rescaling([1.0, 2.0, 3.0])(x))
    np.testing.assert_allclose(per_channel, x * np.array([1, 2, 3]), rtol=1e-6)
    u8 = np.asarray(layers.Rescaling(0.5)(x.astype(np.uint8)))
    assert u8.dtype == np.float32
    check_grads(lambda a: layers.Rescaling(0.5, offset=2.0)(a), np.random.rand(2, 3))
    run_layer_test(layers.Rescaling, {"scale": 0.25, "offset": 1.0}, (2, 4, 5, 3))


def test_normalization_adapt_mean_variance_and_invert():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((200, 4)) * [1, 2, 3, 4] + [5, -1, 0, 2]).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(x)
    np.testing.assert_allclose(norm.get_weights()[0], x.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(norm.get_weights()[1], x.var(0), rtol=1e-5)
    assert [w.name for w in norm.weights] == ["mean", "variance", "count"]
    assert not norm.trainable_weights
    out = np.asarray(norm(x))
    np.testing.assert_allclose(out, (x - x.mean(0)) / x.std(0), rtol=1e-4, atol=1e-4)
    # Streaming adapt over batches gives the same statistics.
    streamed = layers.Normalization()
    streamed.adapt([x[i:i + 30] for i in range(0, 200, 30)])
    np.testing.assert_allclose(streamed.get_weights()[0], x.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(streamed.get_weights()[1], x.var(0), rtol=1e-4)
    inv = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    np.testing.assert_allclose(np.asarray(inv(np.ones((2, 2), np.float32))), [[3, 5], [3, 5]])
    assert not inv.weights
    scalar = layers.Normalization(axis=None)
    scalar.adapt(x)
    np.testing.assert_allclose(scalar.get_weights()[0], x.mean(), rtol=1e-4, atol=1e-4)
    img = _images()
    chan = layers.Normalization(axis=-1)
    chan.adapt(img)
    np.testing.assert_allclose(chan.get_weights()[0], img.mean(axis=(0, 1, 2)), rtol=1e-5)
    check_grads(lambda a: layers.Normalization(mean=2.0, variance=4.0)(a), np.random.rand(3, 2))
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        layers.Normalization(mean=1.0)


def test_normalization_in_a_trained_model():
    x = np.random.default_rng(2).standard_normal((64, 3)).astype(np.float32) * 10 + 3
    y = (x[:, :1] > 3).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(x)
    model = nnfast.Sequential([nnfast.Input((3,)), norm, layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_allclose(norm.get_weights()[0], x.mean(0), rtol=1e-5)


def _resize_reference(x, h, w):
    """Bilinear with half-pixel centres, written as a loop (tf.image.resize's formula)."""
    n, ih, iw, c = x.shape
    out = np.zeros((n, h, w, c), np.float64)
    for i in range(h):
        sy = max((i + 0.5) * ih / h - 0.5, 0.0)
        y0 = int(np.floor(sy)); y1 = min(y0 + 1, ih - 1); fy = sy - y0
        for j in range(w):
            sx = max((j + 0.5) * iw / w - 0.5, 0.0)
            x0 = int(np.floor(sx)); x1 = min(x0 + 1, iw - 1); fx = sx - x0
            top = x[:, y0, x0] * (1 - fx) + x[:, y0, x1] * fx
            bottom = x[:, y1, x0] * (1 - fx) + x[:, y1, x1] * fx
            out[:, i, j] = top * (1 - fy) + bottom * fy
    return out


@pytest.mark.parametrize("size", [(5, 7), (17, 23), (9, 4)])
def test_resizing_bilinear_and_nearest(size):
    x = _images()
    out = np.asarray(layers.Resizing(*size)(x))
    np.testing.assert_allclose(out, _resize_reference(x.astype(np.float64), *size), rtol=1e-5,
                               atol=1e-3)
    near = np.asarray(layers.Resizing(*size, interpolation="nearest")(x))
    rows = np.minimum(np.floor((np.arange(size[0]) + 0.5) * 9 / size[0]), 8).astype(int)
    cols = np.minimum(np.floor((np.arange(size[1]) + 0.5) * 11 / size[1]), 10).astype(int)
    np.testing.assert_array_equal(near, x[:, rows][:, :, cols])


def test_resizing_against_torch_and_crop_to_aspect_ratio():
    torch = pytest.importorskip("torch")
    x = _images(h=12, w=20)
    ref = torch.nn.functional.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size=(7, 5),
                                          mode="bilinear", align_corners=False)
    np.testing.assert_allclose(np.asarray(layers.Resizing(7, 5)(x)),
                               ref.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-3)
    # crop_to_aspect_ratio: a 12x20 image to 6x6 resizes its central 12x12 crop.
    cropped = np.asarray(layers.Resizing(6, 6, crop_to_aspect_ratio=True)(x))
    np.testing.assert_allclose(cropped, np.asarray(layers.Resizing(6, 6)(x[:, :, 4:16])),
                               rtol=1e-6)
    single = np.asarray(layers.Resizing(4, 4)(x[0]))
    assert single.shape == (4, 4, 3)
    cf = layers.Resizing(4, 6, data_format="channels_first")
    assert np.asarray(cf(x.transpose(0, 3, 1, 2))).shape == (3, 3, 4, 6)
    run_layer_test(layers.Resizing, {"height": 4, "width": 5}, (2, 8, 9, 3),
                   expected_output_shape=(2, 4, 5, 3))


def test_center_crop():
    x = _images(h=9, w=12)
    out = np.asarray(layers.CenterCrop(5, 6)(x))
    np.testing.assert_array_equal(out, x[:, 2:7, 3:9])
    up = np.asarray(layers.CenterCrop(20, 20)(x))  # smaller input: crop to square + resize
    np.testing.assert_allclose(up, np.asarray(layers.Resizing(20, 20)(x[:, :, 1:10])),
                               rtol=1e-6)
    run_layer_test(layers.CenterCrop, {"height": 3, "width": 4}, (2, 8, 9, 3),
                   expected_output_shape=(2, 3, 4, 3))


RANDOM_LAYERS = [
    (layers.RandomFlip, {"mode": "horizontal", "seed": 1}),
    (layers.RandomRotation, {"factor": 0.2, "seed": 2}),
    (layers.RandomZoom, {"height_factor": 0.3, "seed": 3}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.2, "seed": 4}),
    (layers.RandomContrast, {"factor": 0.5, "seed": 5}),
    (layers.RandomBrightness, {"factor": 0.3, "seed": 6}),
]


@pytest.mark.parametrize("cls,kwargs", RANDOM_LAYERS)
def test_random_layers_identity_at_inference_active_in_training(cls, kwargs):
    x = _images(n=8)
    layer = cls(**kwargs)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=None)), x)
    out = np.asarray(layer(x, training=True))
    assert out.shape == x.shape and out.dtype == np.float32
    assert not np.allclose(out, x)
    again = cls(**kwargs)
    np.testing.assert_array_equal(np.asarray(again(x, training=True)), out)  # seeded
    # Inside a model: predict is the identity, fit sees augmented data.
    model = nnfast.Sequential([nnfast.Input(x.shape[1:]), cls(**kwargs)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    config = layer.get_config()
    assert cls.from_config(dict(config, name=config["name"] + "_c")).get_config() == dict(
        config, name=config["name"] + "_c")


def test_random_flip_exact():
    x = _images(n=200, h=4, w=5)
    out = np.asarray(layers.RandomFlip("horizontal_and_vertical", seed=0)(x))
    kinds = [next(k for k, f in enumerate([lambda a: a, lambda a: a[:, ::-1],
                                            lambda a: a[::-1], lambda a: a[::-1, ::-1]])
                  if np.array_equal(o, f(i))) for o, i in zip(out, x)]
    counts = np.bincount(kinds, minlength=4)
    assert np.all(counts > 25)
    with pytest.raises(ValueError, match="mode"):
        layers.RandomFlip("diagonal")


def test_random_rotation_quarter_turn_is_rot90():
    x = _images(h=7, w=7)
    out = np.asarray(layers.RandomRotation((0.25, 0.25))(x))
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(1, 2)), atol=1e-3)
    half = np.asarray(layers.RandomRotation((0.5, 0.5), interpolation="nearest")(x))
    np.testing.assert_allclose(half, x[:, ::-1, ::-1], atol=1e-3)


def test_random_zoom_and_translation_references():
    x = _images(h=8, w=10)
    # Zoom factor -0.5 (zoom in 2x): output(r, c) samples input at centre + (r - centre) / 2.
    zoom = np.asarray(layers.RandomZoom((-0.5, -0.5), fill_mode="constant")(x))
    r = (np.arange(8) - 3.5) * 0.5 + 3.5
    c = (np.arange(10) - 4.5) * 0.5 + 4.5
    rows = np.stack([np.floor(r), np.minimum(np.floor(r) + 1, 7)]).astype(int)
    cols = np.stack([np.floor(c), np.minimum(np.floor(c) + 1, 9)]).astype(int)
    fr, fc = (r - rows[0])[:, None, None], (c - cols[0])[None, :, None]
    ref = ((x[:, rows[0]][:, :, cols[0]] * (1 - fc) + x[:, rows[0]][:, :, cols[1]] * fc)
           * (1 - fr) + (x[:, rows[1]][:, :, cols[0]] * (1 - fc)
                         + x[:, rows[1]][:, :, cols[1]] * fc) * fr)
    np.testing.assert_allclose(zoom, ref, rtol=1e-5, atol=1e-3)
    # A translation of exactly (+2 rows, -3 cols) with constant fill.
    shift = layers.RandomTranslation((0.25, 0.25), (-0.3, -0.3), fill_mode="constant",
                                     fill_value=-1.0)
    out = np.asarray(shift(x))
    np.testing.assert_allclose(out[:, 2:, :7], x[:, :6, 3:], atol=1e-3)
    assert np.all(out[:, :2] == -1) and np.all(out[:, :, 7:] == -1)
    wrap = np.asarray(layers.RandomTranslation((0.25, 0.25), 0.0, fill_mode="wrap")(x))
    np.testing.assert_allclose(wrap, np.roll(x, 2, axis=1), atol=1e-3)
    refl = np.asarray(layers.RandomTranslation((0.25, 0.25), 0.0, fill_mode="reflect")(x))
    np.testing.assert_allclose(refl[:, :2], x[:, 1::-1], atol=1e-3)


def test_random_contrast_reference():
    x = _images(n=4)
    layer = layers.RandomContrast((0.5, 0.5), seed=11)
    out = np.asarray(layer(x))
    f = np.random.default_rng(11).uniform(0.5, 1.5, 4)
    mean = x.mean(axis=(1, 2), keepdims=True)
    ref = np.clip((x - mean) * f[:, None, None, None] + mean, 0, 255)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError):
        layers.RandomContrast(1.5)


def test_augmentation_model_trains():
    (x, y), _ = nnfast.datasets.digits.load_data()
    x = x[:128, :, :, None].astype(np.float32)
    model = nnfast.Sequential([
        nnfast.Input((8, 8, 1)), layers.RandomFlip("horizontal", seed=0),
        layers.RandomRotation(0.05, seed=1), layers.Rescaling(1 / 16), layers.Flatten(),
        layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y[:128], epochs=3, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert model.predict(x[:4], verbose=0).shape == (4, 10)
