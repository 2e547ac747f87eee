"""Drawing on batches of images: segmentation masks (NumPy) and bounding boxes (OpenCV's
rectangles and Hershey text, as Keras; ``pip install opencv-python-headless``)."""
import numpy as np

from nnfast.backend.global_state import image_data_format
from nnfast.backend.tensor import as_array

try:
    import cv2
except ImportError:
    cv2 = None

_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
            "rel_xywh", "rel_center_xywh", "rel_center_yxhw")


def to_xyxy(boxes, bounding_box_format, height, width):
    """Boxes ``(..., 4)`` of a Keras bounding-box format as absolute ``xyxy`` pixels."""
    if bounding_box_format not in _FORMATS:
        raise ValueError(f"Unsupported bounding_box_format={bounding_box_format!r}; expected "
                         f"one of {_FORMATS}.")
    # float32 as Keras, whose rounding decides which pixel a relative corner lands on
    b = np.asarray(as_array(boxes), dtype=np.float32)
    fmt = bounding_box_format
    if fmt.startswith("rel_"):
        fmt = fmt[4:]
        scale = np.array([width, height, width, height], np.float32)
        if fmt in ("yxyx", "center_yxhw"):
            scale = scale[[1, 0, 3, 2]]
        b = b * scale
    a, c, d, e = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    if fmt == "xyxy":
        out = (a, c, d, e)
    elif fmt == "yxyx":
        out = (c, a, e, d)
    elif fmt == "xywh":
        out = (a, c, a + d, c + e)
    elif fmt == "center_xywh":
        out = (a - d / np.float32(2), c - e / np.float32(2), a + d / np.float32(2),
               c + e / np.float32(2))
    else:  # center_yxhw
        out = (c - e / np.float32(2), a - d / np.float32(2), c + e / np.float32(2),
               a + d / np.float32(2))
    return np.stack(out, axis=-1)


def _palette(num_classes):
    base = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * base) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None,
                            alpha=0.8, blend=True, ignore_index=-1, data_format=None):
    """Paints each class of integer ``segmentation_masks`` in its colour over ``images``.

    Args:
        images: ``(batch, height, width, channels)`` (channels first with
            ``data_format="channels_first"``).
        segmentation_masks: integer class ids, ``(batch, height, width, 1)``.
        num_classes: classes painted (ids ``0 .. num_classes - 1``). None: the largest id
            in the masks (as Keras, whose one-hot then leaves that id unpainted).
        color_mapping: ``{class id: (r, g, b)}``; default Keras's palette.
        alpha, blend: with ``blend``, ``images * (1 - alpha) + colours * alpha`` where the
            mask is not ``ignore_index`` (uint8 result); without, the painted float32 images.
        ignore_index: mask value left unpainted.

    Returns:
        The drawn images, ``(batch, height, width, channels)`` (NumPy).

    Example:
        >>> drawn = draw_segmentation_masks(images, masks, num_classes=3)
    """
    data_format = data_format or image_data_format()
    images = np.asarray(as_array(images))
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: "
                         f"images.shape={images.shape}")
    masks = np.asarray(as_array(segmentation_masks))
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
        masks = masks.transpose(0, 2, 3, 1)
    images = images.astype(np.float32)
    if not np.issubdtype(masks.dtype, np.integer):
        raise TypeError("`segmentation_masks` must be in integer dtype. Received: "
                        f"segmentation_masks.dtype={masks.dtype}")
    if num_classes is None:
        num_classes = int(masks.max())
    colors = (_palette(num_classes) if color_mapping is None
              else [color_mapping[i] for i in range(num_classes)])
    ids = masks[..., 0]
    valid = ids != ignore_index
    drawn = images.copy()
    for class_id, color in enumerate(colors):
        drawn[ids == class_id] = np.asarray(color, dtype=np.float32)[None, :]
    if not blend:
        return drawn
    out = images * np.float32(1 - alpha) + drawn * np.float32(alpha)
    out = np.where(valid[..., None], out, images)
    return out.astype(np.uint8)


def _text_origin(x, y, font_scale, thickness):
    # Keras: above the box when there is room, else inside it below the top edge.
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None,
                        color=(128, 128, 128), line_thickness=2, text_thickness=1,
                        font_scale=1.0, data_format=None):
    """Draws boxes (and class names from ``class_mapping``, with ``confidences`` when
    given) on a batch of images with OpenCV, as Keras does.

    Args:
        images: ``(batch, height, width, channels)``; floats in [0, 1] are scaled to 255.
        bounding_boxes: ``{"boxes": (batch, n, 4), "labels": (batch, n)}`` (optionally
            ``"confidences"``); label -1 marks padding boxes (skipped).
        bounding_box_format: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw" or their
            "rel_" (relative to the image size) forms.
        class_mapping: ``{label: name}`` of the labels to write.
        color, line_thickness, text_thickness, font_scale: drawing style.

    Returns:
        uint8 images with the drawings ``(batch, height, width, channels)``.

    Example:
        >>> out = draw_bounding_boxes(images, {"boxes": boxes, "labels": labels}, "xyxy",
        ...                           class_mapping={0: "cat"})
    """
    if cv2 is None:
        raise ImportError("The `draw_bounding_boxes` function requires the `cv2` package "
                          "(OpenCV). Please install it with `pip install "
                          "opencv-python-headless`.")
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = data_format or image_data_format()
    images = np.asarray(as_array(images))
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: "
                         f"images.shape={images.shape}")
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"`bounding_boxes` should be a dict. Received: "
                        f"bounding_boxes={bounding_boxes} of type {type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError("`bounding_boxes` should be a dict containing 'boxes' and 'labels' "
                         f"keys. Received: bounding_boxes={bounding_boxes}")
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    height, width = images.shape[1], images.shape[2]
    boxes = to_xyxy(bounding_boxes["boxes"], bounding_box_format, height, width)
    labels = np.asarray(as_array(bounding_boxes["labels"]))
    confidences = bounding_boxes.get("confidences")
    if confidences is not None:
        confidences = np.asarray(as_array(confidences))
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0,
                                                                                  255)
    images = np.ascontiguousarray(images.astype(np.uint8))
    for i in range(images.shape[0]):
        image = images[i]
        for j in range(boxes.shape[1]):
            x1, y1, x2, y2 = (int(v) for v in boxes[i, j].astype(np.int32))
            label = int(labels[i, j])
            if label == -1:
                continue
            cv2.rectangle(image, (x1, y1), (x2, y2), color, line_thickness)
            if label in class_mapping:
                text = class_mapping[label]
                if confidences is not None:
                    text = f"{text} | {confidences[i][j]:.2f}"
                cv2.putText(img=image, text=text,
                            org=_text_origin(x1, y1, font_scale, text_thickness),
                            fontFace=cv2.FONT_HERSHEY_SIMPLEX, fontScale=font_scale,
                            color=color, thickness=text_thickness)
    return images
