"""InceptionV3 (Szegedy et al., 2016) with Keras's layer names and weight files."""
from nnfast import layers
from nnfast.applications import imagenet_utils
from nnfast.applications.blocks import conv_bn

WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                "inception_v3_weights_tf_dim_ordering_tf_kernels.h5")
WEIGHTS_PATH_NO_TOP = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                       "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def _conv_bn(x, filters, rows, cols, padding="same", strides=(1, 1)):
    """Conv (no bias) -> BatchNormalization without scale -> ReLU, all auto-named as in
    Keras (conv2d_N, batch_normalization_N, activation_N)."""
    return conv_bn(x, filters, (rows, cols), strides=strides, padding=padding, bn_axis=3,
                   bn_scale=False)


def _avg_branch(x, filters):
    pool = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return _conv_bn(pool, filters, 1, 1)


def _block_35(x, pool_filters, name):
    """The 35x35 module: 1x1, 1x1->5x5, 1x1->3x3->3x3 and avg-pool->1x1 branches."""
    b1 = _conv_bn(x, 64, 1, 1)
    b5 = _conv_bn(x, 48, 1, 1)
    b5 = _conv_bn(b5, 64, 5, 5)
    b3 = _conv_bn(x, 64, 1, 1)
    b3 = _conv_bn(b3, 96, 3, 3)
    b3 = _conv_bn(b3, 96, 3, 3)
    bp = _avg_branch(x, pool_filters)
    return layers.concatenate([b1, b5, b3, bp], axis=3, name=name)


def _block_17(x, mid, name):
    """The 17x17 module with factorized 1x7 / 7x1 convolutions of ``mid`` channels."""
    b1 = _conv_bn(x, 192, 1, 1)
    b7 = _conv_bn(x, mid, 1, 1)
    b7 = _conv_bn(b7, mid, 1, 7)
    b7 = _conv_bn(b7, 192, 7, 1)
    bd = _conv_bn(x, mid, 1, 1)
    bd = _conv_bn(bd, mid, 7, 1)
    bd = _conv_bn(bd, mid, 1, 7)
    bd = _conv_bn(bd, mid, 7, 1)
    bd = _conv_bn(bd, 192, 1, 7)
    bp = _avg_branch(x, 192)
    return layers.concatenate([b1, b7, bd, bp], axis=3, name=name)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3"):
    """The InceptionV3 model: a convolutional stem, three 35x35, five 17x17 and two 8x8
    inception modules (concatenations named mixed0 .. mixed10).

    Args:
        include_top: whether to include the global average pooling and the classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``inception_v3_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or a weight
            file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 75; default (299, 299, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) scaled to [-1, 1] with
        ``inception_v3.preprocess_input`` -> (B, classes), or features (B, h, w, 2048).

    Example:
        >>> InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3)).output_shape
        (None, 1, 1, 2048)
    """
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = _conv_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = _conv_bn(x, 32, 3, 3, padding="valid")
    x = _conv_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _conv_bn(x, 80, 1, 1, padding="valid")
    x = _conv_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    x = _block_35(x, 32, "mixed0")
    x = _block_35(x, 64, "mixed1")
    x = _block_35(x, 64, "mixed2")

    b3 = _conv_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    bd = _conv_bn(x, 64, 1, 1)
    bd = _conv_bn(bd, 96, 3, 3)
    bd = _conv_bn(bd, 96, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, bd, bp], axis=3, name="mixed3")

    x = _block_17(x, 128, "mixed4")
    x = _block_17(x, 160, "mixed5")
    x = _block_17(x, 160, "mixed6")
    x = _block_17(x, 192, "mixed7")

    b3 = _conv_bn(x, 192, 1, 1)
    b3 = _conv_bn(b3, 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = _conv_bn(x, 192, 1, 1)
    b7 = _conv_bn(b7, 192, 1, 7)
    b7 = _conv_bn(b7, 192, 7, 1)
    b7 = _conv_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([b3, b7, bp], axis=3, name="mixed8")

    for i in range(2):
        b1 = _conv_bn(x, 320, 1, 1)
        b3 = _conv_bn(x, 384, 1, 1)
        b3 = layers.concatenate([_conv_bn(b3, 384, 1, 3), _conv_bn(b3, 384, 3, 1)], axis=3,
                                name=f"mixed9_{i}")
        bd = _conv_bn(x, 448, 1, 1)
        bd = _conv_bn(bd, 384, 3, 3)
        bd = layers.concatenate([_conv_bn(bd, 384, 1, 3), _conv_bn(bd, 384, 3, 1)], axis=3)
        bp = _avg_branch(x, 192)
        x = layers.concatenate([b1, b3, bd, bp], axis=3, name=f"mixed{9 + i}")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    origin = WEIGHTS_PATH if include_top else WEIGHTS_PATH_NO_TOP
    imagenet_utils.load_pretrained(model, weights, origin.rsplit("/", 1)[1], origin,
                                   WEIGHTS_HASHES[0 if include_top else 1])
    return model


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: scales pixels from [0, 255] to [-1, 1] (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
