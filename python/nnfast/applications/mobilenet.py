"""MobileNet (Howard et al., 2017: depthwise-separable convolutions) with Keras's layer names
and weight files."""
import warnings

from nnfast import layers
from nnfast.applications import imagenet_utils

BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
_PRETRAINED_ALPHAS = (0.25, 0.50, 0.75, 1.0)
_PRETRAINED_SIZES = (128, 160, 192, 224)
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.50: "5_0", 0.25: "2_5"}
# (pointwise filters, stride) of the 13 depthwise-separable blocks, block_id 1..13.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def _depthwise_conv_block(x, filters, alpha, depth_multiplier, stride, block_id):
    """Depthwise 3x3 -> BN -> ReLU6 -> pointwise 1x1 -> BN -> ReLU6; a stride-2 block pads
    one pixel on the bottom/right and convolves 'valid'."""
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=(stride, stride),
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights="imagenet", input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    """The MobileNet model: a stride-2 3x3 conv and 13 depthwise-separable blocks with ReLU6;
    the top is a 1x1 conv classifier on the pooled features.

    Args:
        input_shape: (H, W, C) with H, W >= 32; default (224, 224, 3) with the top and
            (None, None, 3) without. ImageNet weights exist for square 128, 160, 192 and
            224 inputs (others load the 224 weights, with a warning).
        alpha: width multiplier; ImageNet weights exist for 0.25, 0.5, 0.75 and 1.0.
        depth_multiplier: channel multiplier of the depthwise convolutions (1 for ImageNet
            weights).
        dropout: dropout rate before the classifier.
        include_top: whether to include the pooling, dropout and 1x1 conv classifier.
        weights: None (random initialization), "imagenet" (Keras's weights,
            ``mobilenet_{alpha}_{rows}_tf[_no_top].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top (None gives logits).
        name: model name; default ``f"mobilenet_{alpha:0.2f}_{rows}"``.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) scaled to [-1, 1] with
        ``mobilenet.preprocess_input`` -> (B, classes), or features
        (B, H/32, W/32, 1024 * alpha).

    Example:
        >>> MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False,
        ...           weights=None).output_shape
        (None, 2, 2, 256)
    """
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    default_size = 224
    if input_shape is not None:
        rows, cols = input_shape[0], input_shape[1]
        if rows == cols and rows in _PRETRAINED_SIZES:
            default_size = rows
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size,
                                                    min_size=32, require_flatten=include_top,
                                                    weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError("If imagenet weights are being loaded, depth multiplier must be "
                             f"1. Received: depth_multiplier={depth_multiplier}")
        if alpha not in _PRETRAINED_ALPHAS:
            raise ValueError("If imagenet weights are being loaded, alpha can be one of "
                             f"`0.25`, `0.50`, `0.75` or `1.0` only. Received: alpha={alpha}")
        if rows != cols or rows not in _PRETRAINED_SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in "
                          "[128, 160, 192, 224]. Weights for input shape (224, 224) will be "
                          "loaded as the default.", stacklevel=2)

    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
                      name="conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        suffix = "" if include_top else "_no_top"
        fname = f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf{suffix}.h5"
        imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHT_PATH + fname)
    else:
        imagenet_utils.load_pretrained(model, weights, None, None)
    return model


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: scales pixels from [0, 255] to [-1, 1] (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
