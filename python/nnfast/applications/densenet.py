"""DenseNet121/169/201 (Huang et al., 2017) with Keras's layer names and weight files."""
from nnfast import layers
from nnfast.applications import imagenet_utils

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
# Keras's md5 hashes per block configuration: (with top, without top).
WEIGHTS_HASHES = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7",
                      "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b",
                      "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807",
                      "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
_BN_EPSILON = 1.001e-5
_GROWTH_RATE = 32


def _conv_block(x, growth_rate, name):
    """BN-ReLU-1x1 conv (4*growth) -> BN-ReLU-3x3 conv (growth), concatenated to the input."""
    x1 = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_0_bn")(x)
    x1 = layers.Activation("relu", name=f"{name}_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x1)
    x1 = layers.Activation("relu", name=f"{name}_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                       name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, x1])


def _dense_block(x, blocks, name):
    for i in range(blocks):
        x = _conv_block(x, _GROWTH_RATE, name=f"{name}_block{i + 1}")
    return x


def _transition_block(x, reduction, name):
    """BN-ReLU, a 1x1 conv to ``reduction`` of the channels, 2x2 average pooling."""
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(blocks, include_top, weights, input_tensor, input_shape, pooling, classes,
              classifier_activation, name):
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    # The two paddings are auto-named in Keras (zero_padding2d, zero_padding2d_1).
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = _dense_block(x, blocks[0], name="conv2")
    x = _transition_block(x, 0.5, name="pool2")
    x = _dense_block(x, blocks[1], name="conv3")
    x = _transition_block(x, 0.5, name="pool3")
    x = _dense_block(x, blocks[2], name="conv4")
    x = _transition_block(x, 0.5, name="pool4")
    x = _dense_block(x, blocks[3], name="conv5")
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    stem, top_hash, notop_hash = WEIGHTS_HASHES[tuple(blocks)]
    suffix = "" if include_top else "_notop"
    fname = f"{stem}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHTS_PATH + fname,
                                   top_hash if include_top else notop_hash)
    return model


_DOC = """The {title} model: a 7x7 stride-2 stem, then dense blocks of {blocks} BN-ReLU-conv
    units (growth rate 32) joined by halving transition blocks, and a final BN-ReLU.

    Args:
        include_top: whether to include the global average pooling and the classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``{stem}_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 32; default (224, 224, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) preprocessed with
        ``densenet.preprocess_input`` -> (B, classes), or features (B, H/32, W/32, {feat}).

    Example:
        >>> {title}(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, {feat})
"""


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet121"):
    return _densenet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet169"):
    return _densenet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet201"):
    return _densenet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, name)


DenseNet121.__doc__ = _DOC.format(title="DenseNet121", blocks="6/12/24/16",
                                  stem="densenet121", feat=1024)
DenseNet169.__doc__ = _DOC.format(title="DenseNet169", blocks="6/12/32/32",
                                  stem="densenet169", feat=1664)
DenseNet201.__doc__ = _DOC.format(title="DenseNet201", blocks="6/12/48/32",
                                  stem="densenet201", feat=1920)


def preprocess_input(x, data_format=None):
    """Keras's "torch" preprocessing: x / 255, then subtract [0.485, 0.456, 0.406] and divide
    by [0.229, 0.224, 0.225] per RGB channel."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
