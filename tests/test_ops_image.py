"""keras.ops.image on nnfast: every op against Keras 3.15 (TensorFlow backend) fixtures or
SciPy, gradients against finite differences, Keras's errors."""
import os

import numpy as np
import pytest

from nnfast import ops
from nnfast.ops import image
from conftest import check_grads

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "ops_nn", "keras_ops_nn.npz"))
rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def close(got, ref, tol=2e-5):
    got = np.asarray(got)
    assert got.shape == np.shape(ref)
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=tol, atol=tol)


RESIZE_CASES = [(i, s, aa) for i in image.RESIZE_INTERPOLATIONS
                for s in ((4, 5), (11, 13), (7, 4)) for aa in (False, True)]


@pytest.mark.parametrize("interpolation,size,antialias", RESIZE_CASES)
def test_resize_matches_keras(interpolation, size, antialias):
    got = image.resize(FIX["resize_in"], size, interpolation=interpolation, antialias=antialias)
    close(got, FIX[f"resize_{interpolation}_{size[0]}x{size[1]}_{int(antialias)}"])


def test_resize_aspect_ratio_formats_and_single_images():
    x = FIX["resize_in"]
    close(image.resize(x, (5, 3), crop_to_aspect_ratio=True), FIX["resize_crop"])
    close(image.resize(x, (3, 8), crop_to_aspect_ratio=True), FIX["resize_crop2"])
    close(image.resize(x, (5, 3), pad_to_aspect_ratio=True, fill_value=0.5), FIX["resize_pad"])
    close(image.resize(x, (3, 8), pad_to_aspect_ratio=True, fill_value=0.5), FIX["resize_pad2"])
    close(image.resize(np.transpose(x, (0, 3, 1, 2)), (5, 6), data_format="channels_first"),
          FIX["resize_cf"])
    close(image.resize(x[0], (4, 5), "bicubic"), FIX["resize_bicubic_4x5_0"][0])
    for bad, match in [(dict(interpolation="cubic"), "interpolation"),
                       (dict(fill_mode="reflect"), "fill_mode"),
                       (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one")]:
        with pytest.raises(ValueError, match=match):
            image.resize(x, (4, 4), **bad)
    with pytest.raises(ValueError, match="rank"):
        image.resize(x[0, 0], (4, 4))
    # Integer images keep their dtype, rounded and saturated (Keras's _resize).
    u8 = (np.arange(2 * 4 * 4 * 3) % 255).astype(np.uint8).reshape(2, 4, 4, 3)
    got = image.resize(u8, (3, 5))
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(got).ravel()[:4], [2, 3, 4, 4])
    np.testing.assert_array_equal(np.asarray(image.resize(u8, (3, 5), "area")).ravel()[:4], [3, 4, 5, 5])


@pytest.mark.parametrize("interpolation,antialias", [
    ("bilinear", False), ("bilinear", True), ("nearest", False), ("bicubic", False),
    ("lanczos3", True), ("area", False)])
def test_resize_gradients(interpolation, antialias):
    check_grads(lambda t: image.resize(t, (3, 5), interpolation, antialias), r(1, 5, 4, 2))
    check_grads(lambda t: image.resize(t, (4, 2), interpolation, antialias, pad_to_aspect_ratio=True,
                                       data_format="channels_first"), r(1, 2, 3, 4))


PATCH_CASES = {"a": dict(size=(3, 2)), "b": dict(size=3, strides=2, padding="same"),
               "c": dict(size=(2, 3), strides=(1, 2), padding="valid"),
               "d": dict(size=(3, 3), strides=1, dilation_rate=2, padding="same"),
               "e": dict(size=(4, 3), strides=(3, 2), padding="same")}


@pytest.mark.parametrize("name", sorted(PATCH_CASES))
def test_extract_patches_matches_keras(name):
    close(image.extract_patches(FIX["patches_in"], **PATCH_CASES[name]), FIX[f"patches_{name}"], 0)


def test_extract_patches_layouts_3d_and_gradients():
    x = FIX["patches_in"]
    close(image.extract_patches(np.transpose(x, (0, 3, 1, 2)), (3, 2), strides=2, padding="same",
                                data_format="channels_first"), FIX["patches_cf"], 0)
    close(image.extract_patches(x[0], 3), np.asarray(image.extract_patches(x, 3))[0], 0)
    close(image.extract_patches_3d(FIX["patches3d_in"], (2, 3, 2), strides=(1, 2, 2), padding="same"),
          FIX["patches3d"], 0)
    close(image.extract_patches(FIX["patches3d_in"], (2, 3, 2), strides=(1, 2, 2), padding="same"),
          FIX["patches3d"], 0)
    check_grads(lambda t: image.extract_patches(t, 2, strides=1, padding="same"), r(1, 3, 4, 2))
    check_grads(lambda t: image.extract_patches(t, (2, 2), strides=1, dilation_rate=2), r(1, 5, 4, 1))
    with pytest.raises(ValueError, match="empty"):
        image.extract_patches(x, 10)
    with pytest.raises(TypeError, match="size"):
        image.extract_patches(x, "3")


COLOR_CASES = [
    ("grayscale", lambda c: image.rgb_to_grayscale(c)),
    ("rgb_to_hsv", lambda c: image.rgb_to_hsv(c)),
    ("hsv_to_rgb", lambda c: image.hsv_to_rgb(c)),
    ("gaussian_blur", lambda c: image.gaussian_blur(c, kernel_size=(3, 5), sigma=(0.8, 1.7))),
    ("sobel", lambda c: image.sobel_edges(c)),
    ("ssim", lambda c: image.ssim(c, FIX["color_in2"], filter_size=3, filter_sigma=1.0)),
    ("crop", lambda c: image.crop_images(c, top_cropping=1, left_cropping=2, target_height=3,
                                         target_width=3)),
    ("pad", lambda c: image.pad_images(c, top_padding=1, left_padding=2, target_height=8,
                                       target_width=9)),
]


@pytest.mark.parametrize("name,call", COLOR_CASES)
def test_colour_filters_pad_crop_match_keras(name, call):
    close(call(FIX["color_in"]), FIX[name], 3e-5)


def test_colour_filters_pad_crop_gradients():
    c = rng.uniform(0.05, 0.95, (1, 3, 4, 3)).astype(np.float32)
    # rgb_to_hsv is smooth away from its seams (equal channels, hue 0): pixels far from them.
    seamless = np.array([[[[.8, .5, .1], [.2, .7, .4], [.3, .1, .9]],
                          [[.6, .2, .4], [.1, .4, .8], [.5, .9, .2]]]], np.float32)
    check_grads(image.rgb_to_hsv, seamless)
    for fn in (image.rgb_to_grayscale, image.hsv_to_rgb, image.sobel_edges,
               lambda t: image.gaussian_blur(t, (3, 3), (1.0, 0.5)),
               lambda t: image.ssim(t, c[::-1] * 0.9, filter_size=3),
               lambda t: image.pad_images(t, 1, 0, 2, 1), lambda t: image.crop_images(t, 1, 1, 1, 1)):
        check_grads(fn, c, atol=3e-3)
    cf = np.ascontiguousarray(np.transpose(FIX["color_in"], (0, 3, 1, 2)))
    close(image.rgb_to_grayscale(cf, "channels_first"), np.transpose(FIX["grayscale"], (0, 3, 1, 2)))
    close(image.hsv_to_rgb(image.rgb_to_hsv(FIX["color_in"])), FIX["color_in"], 1e-5)
    with pytest.raises(ValueError, match="exactly two"):
        image.pad_images(c, top_padding=1, bottom_padding=1, target_height=5, left_padding=0,
                         right_padding=0)
    with pytest.raises(ValueError, match="does not fit"):
        image.crop_images(c, 0, 0, target_height=9, target_width=1)


@pytest.mark.parametrize("interpolation", image.AFFINE_TRANSFORM_INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", image.AFFINE_TRANSFORM_FILL_MODES)
def test_affine_transform_matches_keras(interpolation, fill_mode):
    got = image.affine_transform(FIX["affine_in"], FIX["affine_transform"], interpolation,
                                 fill_mode, fill_value=0.25)
    close(got, FIX[f"affine_{interpolation}_{fill_mode}"], 1e-4)


def test_perspective_elastic_and_warp_gradients():
    x = FIX["affine_in"]
    close(image.perspective_transform(x[:1], FIX["persp_start"], FIX["persp_end"], fill_value=0.5),
          FIX["perspective"], 1e-4)
    t = FIX["affine_transform"]
    check_grads(lambda a: image.affine_transform(a, t[:1], fill_mode="reflect"), r(1, 4, 5, 1))
    y = image.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3)
    close(y, np.asarray(image.elastic_transform(x, alpha=2.0, sigma=1.0, seed=3)), 0)
    close(image.elastic_transform(x, alpha=0.0, seed=1), x, 1e-6)  # no displacement: identity
    check_grads(lambda a: image.elastic_transform(a, alpha=1.0, sigma=1.0, seed=2), r(1, 4, 4, 1))
    with pytest.raises(ValueError, match="fill_mode"):
        image.affine_transform(x, t, fill_mode="mirror")


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "reflect"])
def test_map_coordinates_matches_keras(order, fill_mode):
    got = image.map_coordinates(FIX["map_in"], FIX["map_coords"], order, fill_mode, 0.5)
    close(got, FIX[f"map_{order}_{fill_mode}"], 1e-5)


def test_map_coordinates_mirror_scipy_and_gradient():
    from scipy import ndimage

    x = r(6, 5)
    coords = rng.uniform(-7, 12, (2, 40)).astype(np.float32)
    for order in (0, 1):
        ref = ndimage.map_coordinates(x.astype(np.float64), coords.astype(np.float64), order=order,
                                      mode="mirror")
        close(image.map_coordinates(x, coords, order, "mirror"), ref, 1e-5)
    check_grads(lambda a: image.map_coordinates(a, coords[:, :10] * 0.5, 1, "constant", 0.3), x)
    # Linear weights are differentiable in the coordinates (away from integer positions).
    c = np.array([[0.3, 2.6, 4.2, -0.6], [1.4, 3.7, 0.2, 4.5]], np.float32)
    check_grads(lambda a, cc: image.map_coordinates(a, cc, 1, "constant", 0.3), x, c)
    check_grads(lambda cc: image.map_coordinates(x, cc, 1, "reflect"), c)
    with pytest.raises(NotImplementedError, match="order"):
        image.map_coordinates(x, coords, 3)
    with pytest.raises(ValueError, match="First dim"):
        image.map_coordinates(x, coords[:1], 1)


def test_scale_and_translate_matches_keras_and_gradient():
    x = FIX["resize_in"]
    close(image.scale_and_translate(x, (2, 5, 4, 3), np.array([0.8, 0.5]), np.array([0.3, -0.4]),
                                    (1, 2), "linear", antialias=True), FIX["scale_translate"])
    close(image.scale_and_translate(x, (2, 9, 12, 3), np.array([1.3, 1.4]), np.array([-0.5, 0.2]),
                                    (1, 2), "cubic", antialias=False), FIX["scale_translate_cubic"])
    check_grads(lambda t: image.scale_and_translate(t, (1, 3, 6, 1), [0.7, 1.5], [0.2, 0.0], (1, 2),
                                                    "lanczos3"), r(1, 4, 4, 1))
    with pytest.raises(ValueError, match="method"):
        image.scale_and_translate(x, x.shape, [1, 1], [0, 0], (1, 2), "area")
