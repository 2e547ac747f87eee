"""Image galleries with matplotlib (``pip install matplotlib``), laid out as Keras's
``plot_image_gallery`` / ``plot_bounding_box_gallery`` / ``plot_segmentation_mask_gallery``."""
import functools
import math

import numpy as np

from nnfast.backend.global_state import image_data_format
from nnfast.backend.tensor import as_array
from nnfast.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks


def _pyplot(function):
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"The `{function}` function requires the `matplotlib` package. "
                          "Please install it with `pip install matplotlib`.") from None
    return plt


def _batched(images, name="images"):
    images = np.asarray(as_array(images))
    if images.ndim != 4:
        raise ValueError(f"`{name}` must be batched 4D tensor. Received: "
                         f"{name}.shape={images.shape}")
    return images


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None,
                       value_range=(0, 255), scale=2, path=None, show=None, transparent=True,
                       dpi=60, legend_handles=None, data_format=None):
    """Plots a grid of images (with "Label:"/"Pred:" titles from ``label_map``).

    Args:
        images: ``(batch, height, width, channels)`` (channels first with
            ``data_format="channels_first"``), values in ``value_range``.
        y_true, y_pred: class ids per image, named through ``label_map`` (a dict).
        rows, cols: the grid (default ``ceil(sqrt(batch))`` rows, ``batch // rows``
            columns, as Keras).
        scale: inches per image. dpi, transparent: of the saved file.
        path: save the figure there (and close it); else ``show`` (default True) shows it.
        legend_handles: matplotlib handles for a legend below the grid.

    Example:
        >>> plot_image_gallery(images, value_range=(0, 1), path="gallery.png")
    """
    plt = _pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be "
                         "true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("If `y_true` or `y_pred` are provided, a `label_map` must also be "
                         "provided.")
    show = show if show is not None else path is None
    data_format = data_format or image_data_format()
    images = _batched(images)
    batch_size = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch_size)))
    cols = cols or int(math.ceil(batch_size // rows))
    images = images[:min(rows * cols, batch_size)]
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale),
                             frameon=False, layout="tight", squeeze=True, sharex="row",
                             sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if isinstance(axes, np.ndarray) and axes.ndim == 1:
        axes = np.expand_dims(axes, 0 if rows == 1 else -1)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    lo, hi = value_range
    images = images.astype(np.float32)
    if (lo, hi) != (0, 255):  # a linear map onto [0, 255], as Keras (no clipping)
        images = (images - np.float32(lo)) / np.float32(hi - lo) * np.float32(255)
    y_true = None if y_true is None else np.asarray(as_array(y_true))
    y_pred = None if y_pred is None else np.asarray(as_array(y_pred))
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col] if isinstance(axes, np.ndarray) else axes
            axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            title = []
            if y_true is not None and index < len(y_true):
                title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
            if title:
                axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent,
                    dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None,
                              value_range=(0, 255), true_color=(0, 188, 212),
                              pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None,
                              ground_truth_mapping=None, prediction_mapping=None,
                              legend=False, legend_handles=None, rows=None, cols=None,
                              data_format=None, **kwargs):
    """Plots images with their true (``y_true``) and predicted (``y_pred``) boxes drawn by
    ``draw_bounding_boxes`` in two colours; ``kwargs`` go to ``plot_image_gallery``.

    Args:
        bounding_box_format: the boxes' format (see ``draw_bounding_boxes``).
        y_true, y_pred: ``{"boxes": ..., "labels": ...}`` dicts.
        class_mapping: ``{label: name}`` for both (or ``ground_truth_mapping`` /
            ``prediction_mapping``).
        legend: add "Ground Truth" / "Prediction" legend entries.

    Example:
        >>> plot_bounding_box_gallery(images, "xyxy", y_true=truth, y_pred=pred,
        ...                           class_mapping={0: "cat"}, path="boxes.png")
    """
    _pyplot("plot_bounding_box_gallery")
    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = data_format or image_data_format()
    images = _batched(images)
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    draw = functools.partial(draw_bounding_boxes, bounding_box_format=bounding_box_format,
                             line_thickness=line_thickness, text_thickness=text_thickness,
                             font_scale=font_scale, data_format="channels_last")
    plotted = images
    if y_true is not None:
        plotted = draw(plotted, y_true, color=true_color, class_mapping=ground_truth_mapping)
    if y_pred is not None:
        plotted = draw(plotted, y_pred, color=pred_color, class_mapping=prediction_mapping)
    if legend:
        if legend_handles:
            raise ValueError("Only pass `legend` OR `legend_handles` to "
                             "`keras.visualization.plot_bounding_box_gallery()`.")
        from matplotlib import patches

        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(plotted, value_range=value_range, legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None,
                                   y_pred=None, color_mapping=None, blend=True, alpha=0.8,
                                   ignore_index=-1, data_format=None, **kwargs):
    """Plots each image beside its true and predicted masks drawn by
    ``draw_segmentation_masks`` (one row per image); ``kwargs`` go to
    ``plot_image_gallery``.

    Example:
        >>> plot_segmentation_mask_gallery(images, num_classes=3, y_true=masks,
        ...                                path="masks.png")
    """
    _pyplot("plot_segmentation_mask_gallery")
    data_format = data_format or image_data_format()
    images = _batched(images)
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    cols = 1 + (y_true is not None) + (y_pred is not None)
    draw = functools.partial(draw_segmentation_masks, num_classes=num_classes,
                             color_mapping=color_mapping, alpha=alpha,
                             ignore_index=ignore_index, blend=blend,
                             data_format="channels_last")

    def masks(y):
        y = np.asarray(as_array(y))
        if data_format == "channels_first":
            y = y.transpose(0, 2, 3, 1)
        return draw(images, y.astype(np.int32))

    drawn = [masks(y) for y in (y_true, y_pred) if y is not None]
    gallery = []
    for i in range(images.shape[0]):
        gallery.append(images[i])
        gallery.extend(d[i] for d in drawn)
    return plot_image_gallery(np.stack(gallery, axis=0).astype(np.float32),
                              value_range=value_range, rows=images.shape[0], cols=cols,
                              data_format="channels_last", **kwargs)
