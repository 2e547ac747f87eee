"""Color/mixing augmentation layers: Keras 3.15 outputs where the draw is fixed
(tests/fixtures/preproc/make_augmentation_fixtures.py), statistics otherwise, inference
pass-through, configs and use inside models."""
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast import layers as L
from nnfast.layers import augmentation

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "preproc")
F = dict(np.load(os.path.join(HERE, "augmentation_cases.npz")))
IMG, UNIT = F["images"], F["unit_images"]

DETERMINISTIC = [
    ("grayscale", lambda: L.RandomGrayscale(factor=1.0), IMG),
    ("invert", lambda: L.RandomInvert(factor=(1.0, 1.0)), IMG),
    ("invert_unit", lambda: L.RandomInvert(factor=(1.0, 1.0), value_range=(0, 1)), UNIT),
    ("solarize", lambda: L.Solarization(addition_factor=0.0, threshold_factor=0.0), IMG),
    ("solarize_unit", lambda: L.Solarization(value_range=(0, 1)), UNIT),
    ("autocontrast", lambda: L.AutoContrast(), IMG),
    ("autocontrast_unit", lambda: L.AutoContrast(value_range=(0, 1)), UNIT),
    ("posterize3", lambda: L.RandomPosterization(factor=(3, 3)), IMG),
    ("posterize5_unit", lambda: L.RandomPosterization(factor=(5, 5), value_range=(0, 1)), UNIT),
    ("equalize", lambda: L.Equalization(), IMG),
    ("equalize64_unit", lambda: L.Equalization(value_range=(0, 1), bins=64), UNIT),
    ("degenerate", lambda: L.RandomColorDegeneration(factor=(0.3, 0.3)), IMG),
    ("saturation07", lambda: L.RandomSaturation(factor=(0.7, 0.7)), IMG),
    ("saturation0", lambda: L.RandomSaturation(factor=(0.0, 0.0)), IMG),
    ("sharpness09", lambda: L.RandomSharpness(factor=(0.9, 0.9)), IMG),
    ("sharpness01_unit", lambda: L.RandomSharpness(factor=(0.1, 0.1), value_range=(0, 1)),
     UNIT),
    ("blur", lambda: L.RandomGaussianBlur(factor=(1.0, 1.0), kernel_size=5, sigma=(0.7, 0.7)),
     IMG),
    ("blur3", lambda: L.RandomGaussianBlur(factor=(1.0, 1.0), kernel_size=3,
                                           sigma=(1.0, 1.0)), IMG),
    ("clahe", lambda: L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 3)),
     IMG),
    ("clahe_noclip_unit", lambda: L.ContrastLimitedAdaptiveHistogramEqualization(
        value_range=(0, 1), clip_limit=0, tile_grid_size=(3, 4)), UNIT),
]


@pytest.mark.parametrize("name,make,x", DETERMINISTIC, ids=[c[0] for c in DETERMINISTIC])
def test_matches_keras_when_the_draw_is_fixed(name, make, x):
    layer = make()
    scale = 1.0 if x is UNIT else 255.0
    np.testing.assert_allclose(layer(x, training=True).numpy(), F[name], rtol=1e-5,
                               atol=2e-5 * scale)
    again = type(layer).from_config(layer.get_config())
    np.testing.assert_allclose(again(x, training=True).numpy(), F[name], rtol=1e-5,
                               atol=2e-5 * scale)


def test_hue_shift_matches_keras():
    layer = L.RandomHue(factor=0.5)
    np.testing.assert_allclose(layer.apply_shift(IMG, F["hue_shift"]), F["hue"], rtol=1e-5,
                               atol=5e-3)


@pytest.mark.parametrize("name,kwargs", [
    ("shear", dict(x_factor=0.3, y_factor=0.3)),
    ("shear_constant", dict(x_factor=0.3, fill_mode="constant", fill_value=7.0,
                            interpolation="nearest"))])
def test_shear_matches_keras_for_given_factors(name, kwargs):
    layer = L.RandomShear(**kwargs)
    np.testing.assert_allclose(layer.shear(IMG, F["shear_factors"]), F[name], rtol=1e-5,
                               atol=1e-3)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_perspective_matches_keras_for_given_corners(interpolation):
    layer = L.RandomPerspective(factor=1.0, scale=0.4, fill_value=3.0,
                                interpolation=interpolation)
    h, w = IMG.shape[1:3]
    start = np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]] * 3)
    name = "perspective" if interpolation == "bilinear" else "perspective_nearest"
    got = layer.perspective(IMG, start, F["perspective_end"])
    np.testing.assert_allclose(got, F[name], rtol=1e-5, atol=1e-3)


def test_hsv_round_trip_and_known_colors():
    x = np.random.default_rng(0).uniform(0, 1, (50, 3)).astype(np.float32)
    np.testing.assert_allclose(augmentation.hsv_to_rgb(augmentation.rgb_to_hsv(x)), x,
                               atol=1e-6)
    red_green_blue = np.eye(3, dtype=np.float32)
    np.testing.assert_allclose(augmentation.rgb_to_hsv(red_green_blue)[:, 0], [0, 1 / 3, 2 / 3],
                               atol=1e-7)


RANDOM_LAYERS = [
    lambda: L.RandomGrayscale(), lambda: L.RandomInvert(), lambda: L.Solarization(0.5, 0.5),
    lambda: L.RandomPosterization(factor=(2, 6)), lambda: L.RandomColorDegeneration(0.5),
    lambda: L.RandomSaturation(0.5), lambda: L.RandomHue(0.3), lambda: L.RandomSharpness(0.5),
    lambda: L.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.2,
                                saturation_factor=0.5, hue_factor=0.1),
    lambda: L.RandomGaussianBlur(), lambda: L.RandomErasing(), lambda: L.MixUp(),
    lambda: L.CutMix(), lambda: L.Equalization(), lambda: L.RandomShear(0.2, 0.1),
    lambda: L.RandAugment(num_ops=3, seed=1), lambda: L.RandomPerspective(seed=2),
    lambda: L.AugMix(seed=3), lambda: L.RandomElasticTransform(seed=4),
]


def test_elastic_transform_displaces_along_a_smooth_field():
    x = np.tile(np.arange(32, dtype=np.float32)[None, :, None, None], (4, 1, 32, 1))
    x = np.concatenate([x, x, x], axis=-1) * 4  # rows 0..124: a vertical ramp
    layer = L.RandomElasticTransform(factor=(1, 1), scale=(1, 1), fill_mode="nearest", seed=0)
    out = layer(x, training=True).numpy()
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 255
    moved = np.abs(out - x)[..., 0] / 4  # in rows, as the ramp is one row per 4
    assert 0.05 < moved.mean() < 3.2  # alpha = 3.2 rows times a blurred unit-ish field
    # the displacement field is smooth: neighbouring pixels move alike
    assert np.abs(np.diff(out[..., 0], axis=2)).mean() < np.abs(out[..., 0] - x[..., 0]).mean()
    np.testing.assert_array_equal(L.RandomElasticTransform(scale=0.0)(x, training=True).numpy(),
                                  x)


def test_elastic_displace_is_the_given_resampling():
    layer = L.RandomElasticTransform(fill_mode="constant", interpolation="nearest")
    field = np.zeros((1, 7, 9), dtype=np.float32) + 0.5
    out = layer.displace(IMG[:1], field, alpha=2.0)  # every pixel reads (y + 1, x + 1)
    np.testing.assert_array_equal(out[0, :-1, :-1], IMG[0, 1:, 1:])
    np.testing.assert_array_equal(out[0, -1], 0)


def test_augmix_blends_within_range_and_stays_near_the_image():
    out = L.AugMix(num_chains=3, chain_depth=2, factor=0.3, seed=0)(IMG, training=True)
    out = out.numpy()
    assert out.shape == IMG.shape and out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out, IMG)
    # a convex blend of the image and augmented copies of it: correlated with the image
    assert np.corrcoef(out.reshape(-1), IMG.reshape(-1))[0, 1] > 0.3


def test_rand_augment_applies_num_ops_of_its_operations():
    layer = L.RandAugment(num_ops=2, factor=0.5, seed=0)
    out = layer(IMG, training=True).numpy()
    assert out.shape == IMG.shape and np.all(np.isfinite(out))
    assert not np.allclose(out, IMG)
    assert out.min() >= -1e-3 and out.max() <= 255 + 1e-3
    # with num_ops=0 nothing is drawn and the batch passes through
    np.testing.assert_array_equal(L.RandAugment(num_ops=0)(IMG, training=True).numpy(), IMG)


@pytest.mark.parametrize("make", RANDOM_LAYERS, ids=lambda m: type(m()).__name__)
def test_inference_passes_through_and_config_round_trips(make):
    layer = make()
    np.testing.assert_array_equal(np.asarray(layer(IMG, training=False)), IMG)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    assert layer(IMG[0], training=True).shape == IMG[0].shape


def test_seeded_layers_repeat_and_differ_between_images():
    a = L.RandomSaturation(factor=(0.1, 0.9), seed=3)(IMG, training=True).numpy()
    b = L.RandomSaturation(factor=(0.1, 0.9), seed=3)(IMG, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    c = L.RandomSaturation(factor=(0.1, 0.9), seed=4)(IMG, training=True).numpy()
    assert not np.allclose(a, c)


def test_random_invert_probability_and_grayscale_probability():
    x = np.tile(IMG[:1], (400, 1, 1, 1))
    inverted = L.RandomInvert(factor=1.0, seed=0)(x, training=True).numpy()
    share = np.mean(np.all(np.isclose(inverted, 255 - x), axis=(1, 2, 3)))
    assert 0.4 < share < 0.6  # a probability drawn in [0, 1], then a coin below it: 1/2
    gray = L.RandomGrayscale(factor=0.25, seed=0)(x, training=True).numpy()
    share = np.mean(np.all(np.isclose(gray[..., 0], gray[..., 1]), axis=(1, 2)))
    assert 0.17 < share < 0.33


def test_random_erasing_boxes_and_fill():
    x = np.full((300, 20, 30, 3), 100.0, dtype=np.float32)
    out = L.RandomErasing(factor=(1, 1), scale=(0.09, 0.25), fill_value=0, seed=1)(
        x, training=True).numpy()
    erased = (out == 0).all(axis=-1).mean(axis=(1, 2))
    # sides sqrt(u) of the image's (u in [0.09, 0.25] per axis), cut at pixel centres
    assert erased.min() > 0.04 and erased.max() < 0.3
    assert set(np.unique(out)) <= {0.0, 100.0}


def test_mixup_mixes_images_and_labels_with_the_same_weights():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (64, 4, 4, 1)).astype(np.float32)
    labels = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 64)]
    layer = L.MixUp(alpha=0.4, seed=2)
    out = layer({"images": images, "labels": labels}, training=True)
    mixed_labels = out["labels"].numpy()
    np.testing.assert_allclose(mixed_labels.sum(axis=1), 1.0, rtol=1e-6)
    # each mixed image is the label-weighted blend: its mean lies between the two sources
    assert np.all(mixed_labels >= 0) and out["images"].shape == images.shape
    np.testing.assert_allclose(out["images"].numpy().mean(), images.mean(), atol=0.02)
    np.testing.assert_array_equal(layer({"images": images, "labels": labels},
                                        training=False)["labels"].numpy(), labels)


def test_cutmix_label_weights_equal_pasted_area():
    n = 32
    images = np.zeros((n, 10, 10, 1), dtype=np.float32) + np.arange(n, dtype=np.float32)[
        :, None, None, None]
    labels = np.eye(n, dtype=np.float32)
    out = L.CutMix(seed=5)({"images": images, "labels": labels}, training=True)
    mixed, mixed_labels = out["images"].numpy(), out["labels"].numpy()
    kept_pixels = (mixed[..., 0] == np.arange(n)[:, None, None]).mean(axis=(1, 2))
    kept_label = mixed_labels[np.arange(n), np.arange(n)]
    moved = kept_pixels < 1
    # the label keeps 1 - (box area / image area) of its own class: the pixel share kept,
    # up to the box's fractional edges
    np.testing.assert_allclose(kept_label[moved], kept_pixels[moved], atol=0.25)


def test_pipeline_applies_layers_in_order_and_round_trips(tmp_path):
    pipe = L.Pipeline([L.RandomInvert(factor=(1.0, 1.0)), L.Rescaling(1 / 255.0)])
    np.testing.assert_allclose(pipe(IMG, training=True).numpy(), (255 - IMG) / 255.0,
                               rtol=1e-6)
    np.testing.assert_allclose(pipe(IMG, training=False).numpy(), IMG / 255.0, rtol=1e-6)
    again = L.Pipeline.from_config(pipe.get_config())
    assert [type(layer).__name__ for layer in again.layers] == ["RandomInvert", "Rescaling"]


def test_augmentation_inside_a_model_fits_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (32, 8, 8, 3)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.float32)[:, None]
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        L.RandomColorJitter(brightness_factor=0.1, saturation_factor=(0.4, 0.6), seed=1),
        L.RandomGaussianBlur(factor=0.5, seed=2), L.AutoContrast(), L.Rescaling(1 / 255.0),
        L.Flatten(), L.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    pred = model.predict(x[:4], verbose=0)
    path = str(tmp_path / "aug.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x[:4], verbose=0), pred,
                               rtol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="factor"):
        L.RandomSharpness(factor=1.5)
    with pytest.raises(ValueError, match="odd"):
        L.RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match="value_range"):
        L.AutoContrast(value_range=5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        L.RandomGrayscale(factor=2)


def test_max_num_bounding_boxes_pads_and_truncates():
    layer = L.MaxNumBoundingBoxes(max_number=3, bounding_box_format="xyxy")
    boxes = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    labels = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32)
    out = layer({"images": IMG[:2], "bounding_boxes": {"boxes": boxes, "labels": labels}})
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"].numpy(), boxes[:, :3])
    out = L.MaxNumBoundingBoxes(max_number=6, bounding_box_format="xyxy")(
        {"images": IMG[:2], "bounding_boxes": {"boxes": boxes, "labels": labels}})
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"].numpy()[:, 4:], -1)
    assert out["images"] is IMG[:2] or np.array_equal(out["images"], IMG[:2])
    with pytest.raises(ValueError, match="bounding box format"):
        L.MaxNumBoundingBoxes(max_number=2)({"images": IMG, "bounding_boxes": {
            "boxes": boxes, "labels": labels}})


def test_keras_written_configs_rebuild():
    import json

    from nnfast.saving.serialization import deserialize_keras_object

    with open(os.path.join(HERE, "augmentation_configs.json")) as f:
        configs = json.load(f)
    for config in configs:
        layer = deserialize_keras_object(config)
        assert type(layer).__name__ == config["class_name"]
        out = layer(IMG, training=False)
        deterministic = ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization")
        if config["class_name"] not in deterministic:  # identity at inference
            np.testing.assert_array_equal(np.asarray(out), IMG)


def test_clahe_refuses_nan_pixels_by_name():
    x = np.full((1, 4, 4, 1), 100.0, np.float32)
    x[0, 1, 2, 0] = np.nan
    layer = L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2), name="eq")
    with pytest.raises(ValueError, match=r"'eq' expects images without NaN values; received 1 NaN"):
        layer(x)
