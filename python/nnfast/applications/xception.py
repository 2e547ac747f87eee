"""Xception (Chollet, 2017) with Keras's layer names and weight files."""
from nnfast import layers
from nnfast.applications import imagenet_utils

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/xception/"
                "xception_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5")
WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _sep_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=-1, name=f"{name}_bn")(x)


def _downsampling_block(x, filters1, filters2, block, first_relu=True):
    """Two separable convs and a stride-2 max pooling, added to a strided 1x1 conv of the
    input (the shortcut's conv and batch norm are auto-named in Keras)."""
    residual = layers.Conv2D(filters2, (1, 1), strides=(2, 2), padding="same",
                             use_bias=False)(x)
    residual = layers.BatchNormalization(axis=-1)(residual)
    if first_relu:
        x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
    x = _sep_bn(x, filters1, f"block{block}_sepconv1")
    x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
    x = _sep_bn(x, filters2, f"block{block}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    """The Xception model: an entry flow of strided separable-conv blocks, 8 middle-flow
    residual blocks of three 728-channel separable convs, and an exit flow to 2048 channels.

    Args:
        include_top: whether to include the global average pooling and the classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``xception_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 71; default (299, 299, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) scaled to [-1, 1] with
        ``xception.preprocess_input`` -> (B, classes), or features (B, h, w, 2048).

    Example:
        >>> Xception(include_top=False, weights=None, input_shape=(71, 71, 3)).output_shape
        (None, 3, 3, 2048)
    """
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=71,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_block(x, 128, 128, 2, first_relu=False)
    x = _downsampling_block(x, 256, 256, 3)
    x = _downsampling_block(x, 728, 728, 4)
    for i in range(8):
        residual = x
        prefix = f"block{i + 5}"
        for j in (1, 2, 3):
            x = layers.Activation("relu", name=f"{prefix}_sepconv{j}_act")(x)
            x = _sep_bn(x, 728, f"{prefix}_sepconv{j}")
        x = layers.add([x, residual])
    x = _downsampling_block(x, 728, 1024, 13)
    x = _sep_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    if include_top:
        fname, origin, file_hash = (WEIGHTS_PATH.rsplit("/", 1)[1], WEIGHTS_PATH,
                                    WEIGHTS_HASHES[0])
    else:
        fname, origin, file_hash = (WEIGHTS_PATH_NO_TOP.rsplit("/", 1)[1], WEIGHTS_PATH_NO_TOP,
                                    WEIGHTS_HASHES[1])
    imagenet_utils.load_pretrained(model, weights, fname, origin, file_hash)
    return model


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: scales pixels from [0, 255] to [-1, 1] (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
