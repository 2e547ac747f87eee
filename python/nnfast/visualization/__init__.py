"""``keras.visualization``: drawing segmentation masks and bounding boxes on images and
plotting image galleries (matplotlib, an optional dependency; bounding boxes are drawn with
OpenCV as Keras does)."""
from nnfast.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks
from nnfast.visualization.galleries import (plot_bounding_box_gallery, plot_image_gallery,
                                            plot_segmentation_mask_gallery)

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
           "plot_image_gallery", "plot_segmentation_mask_gallery"]
