"""keras.visualization against Keras 3.15 (fixtures/visualization/make_visualization.py):
drawn arrays exactly, gallery figures pixel by pixel (matplotlib's Agg renderer)."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "visualization")
sys.path.insert(0, HERE)
from visualization_inputs import inputs  # noqa: E402

from nnfast import visualization as V  # noqa: E402

D = np.load(os.path.join(HERE, "drawn.npz"))


def test_draw_segmentation_masks_matches_keras():
    images, masks, _ = inputs()
    np.testing.assert_array_equal(V.draw_segmentation_masks(images, masks, num_classes=4),
                                  D["seg_blend"])
    np.testing.assert_array_equal(V.draw_segmentation_masks(images, masks),
                                  D["seg_default_classes"])
    plain = V.draw_segmentation_masks(images[:1], masks[:1], num_classes=3,
                                      color_mapping={0: (255, 0, 0), 1: (0, 255, 0),
                                                     2: (0, 0, 255)}, blend=False)
    np.testing.assert_array_equal(plain, D["seg_plain"])
    cf = V.draw_segmentation_masks(images.transpose(0, 3, 1, 2), masks.transpose(0, 3, 1, 2),
                                   num_classes=4, data_format="channels_first")
    np.testing.assert_array_equal(cf, D["seg_blend"])
    with pytest.raises(TypeError, match="integer"):
        V.draw_segmentation_masks(images, masks.astype("float32"))
    with pytest.raises(ValueError, match="4D"):
        V.draw_segmentation_masks(images[0], masks[0])


def test_draw_bounding_boxes_matches_keras():
    pytest.importorskip("cv2")
    images, _, boxes = inputs()
    np.testing.assert_array_equal(
        V.draw_bounding_boxes(images, boxes, "xyxy", class_mapping={0: "cat", 1: "dog"}),
        D["boxes_xyxy"])
    rel = dict(boxes, boxes=boxes["boxes"] / np.array([32, 24, 32, 24], "float32"))
    np.testing.assert_array_equal(
        V.draw_bounding_boxes(images / 255.0, rel, "rel_xyxy", color=(255, 0, 0),
                              line_thickness=1), D["boxes_rel"])
    b = boxes["boxes"]
    center = dict(boxes, boxes=np.stack([(b[..., 0] + b[..., 2]) / 2,
                                         (b[..., 1] + b[..., 3]) / 2,
                                         b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1))
    np.testing.assert_array_equal(V.draw_bounding_boxes(images, center, "center_xywh"),
                                  D["boxes_center"])
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        V.draw_bounding_boxes(images, {"boxes": b}, "xyxy")
    with pytest.raises(ValueError, match="bounding_box_format"):
        V.draw_bounding_boxes(images, boxes, "xyzw")


def test_box_format_conversions():
    from nnfast.visualization.drawing import to_xyxy

    xyxy = np.array([[2.0, 3.0, 20.0, 15.0]])
    forms = {"xyxy": xyxy, "yxyx": xyxy[:, [1, 0, 3, 2]],
             "xywh": np.array([[2.0, 3.0, 18.0, 12.0]]),
             "center_xywh": np.array([[11.0, 9.0, 18.0, 12.0]]),
             "center_yxhw": np.array([[9.0, 11.0, 12.0, 18.0]]),
             "rel_xyxy": xyxy / [32, 24, 32, 24], "rel_yxyx": xyxy[:, [1, 0, 3, 2]] / [24, 32, 24, 32],
             "rel_xywh": np.array([[2.0, 3.0, 18.0, 12.0]]) / [32, 24, 32, 24]}
    for fmt, boxes in forms.items():
        np.testing.assert_allclose(to_xyxy(boxes, fmt, 24, 32), xyxy, err_msg=fmt)


def _png(path):
    import matplotlib.image

    return matplotlib.image.imread(path)


@pytest.mark.parametrize("name", ["image_gallery", "box_gallery", "mask_gallery"])
def test_galleries_match_keras(tmp_path, name):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    if name == "box_gallery":
        pytest.importorskip("cv2")
    images, masks, boxes = inputs()
    path = str(tmp_path / f"{name}.png")
    if name == "image_gallery":
        V.plot_image_gallery(images, y_true=np.array([0, 1, 1, 0]), label_map={0: "a", 1: "b"},
                             path=path)
    elif name == "box_gallery":
        V.plot_bounding_box_gallery(images, "xyxy", y_true=boxes, y_pred=boxes, legend=True,
                                    class_mapping={0: "cat", 1: "dog"}, path=path)
    else:
        V.plot_segmentation_mask_gallery(images[:2], num_classes=4, y_true=masks[:2],
                                         y_pred=masks[2:], path=path)
    mine, keras_png = _png(path), _png(os.path.join(HERE, f"{name}.png"))
    assert mine.shape == keras_png.shape
    # Same renderer: identical pixels; a different matplotlib may shift a few anti-aliased
    # text pixels, never the images.
    assert np.mean(np.abs(mine - keras_png)) < 2e-3


def test_gallery_argument_errors():
    pytest.importorskip("matplotlib")
    images, _, _ = inputs()
    with pytest.raises(ValueError, match="label_map"):
        V.plot_image_gallery(images, y_true=[0, 1, 0, 1], path="x.png")
    with pytest.raises(ValueError, match="either `path`"):
        V.plot_image_gallery(images, path="x.png", show=True)
