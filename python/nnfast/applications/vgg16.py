"""VGG16 (Simonyan & Zisserman, 2015) with Keras's layer names and weight files."""
from nnfast.applications import imagenet_utils
from nnfast.applications._vgg import build_vgg

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
                "vgg16_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
                       "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
_HASHES = ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 model: 13 3x3 convolutions in 5 blocks, then (with ``include_top``) two
    4096-unit Dense layers and the classifier.

    Args:
        include_top: whether to include the three fully-connected layers (then the input
            must be 224x224x3 with ImageNet weights).
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 32; default (224, 224, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output of the last block), "avg" or "max"
            (global pooling, 2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) preprocessed with
        ``vgg16.preprocess_input`` -> (B, classes), or features (B, H/32, W/32, 512).

    Example:
        >>> base = VGG16(include_top=False, weights=None, input_shape=(64, 64, 3))
        >>> base.output_shape
        (None, 2, 2, 512)
    """
    model = build_vgg((2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name)
    fname = WEIGHTS_PATH if include_top else WEIGHTS_PATH_NO_TOP
    imagenet_utils.load_pretrained(model, weights, fname.rsplit("/", 1)[1], fname,
                                   _HASHES[0 if include_top else 1])
    return model


def preprocess_input(x, data_format=None):
    """Keras's "caffe" preprocessing: RGB -> BGR, then subtract the ImageNet means
    [103.939, 116.779, 123.68] (see ``imagenet_utils.preprocess_input``)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
