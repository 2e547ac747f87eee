"""ResNet50/101/152 (He et al., 2015; the v1 "caffe" variant with biases) with Keras's layer
names and weight files; the shared builder of ``resnet_v2``."""
from nnfast import layers
from nnfast.applications import imagenet_utils
from nnfast.applications.blocks import conv_bn

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# Keras's md5 hashes: (with top, without top).
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_BN_EPSILON = 1.001e-5


def _conv_bn(x, filters, kernel_size, name, strides=1, padding="valid", activation="relu"):
    """``{name}_conv`` (with bias, as in the v1 "caffe" weights) -> ``{name}_bn`` ->
    ``{name}_relu``."""
    return conv_bn(x, filters, kernel_size, strides=strides, padding=padding, use_bias=True,
                   activation=activation, name=f"{name}_conv", bn_name=f"{name}_bn",
                   act_name=f"{name}_relu", bn_axis=3, bn_epsilon=_BN_EPSILON)


def _residual_block(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """Bottleneck block: 1x1 (stride) -> kxk -> 1x1 (4*filters), added to the shortcut."""
    if conv_shortcut:
        shortcut = _conv_bn(x, 4 * filters, 1, f"{name}_0", strides=stride, activation=None)
    else:
        shortcut = x
    x = _conv_bn(x, filters, 1, f"{name}_1", strides=stride)
    x = _conv_bn(x, filters, kernel_size, f"{name}_2", padding="same")
    x = _conv_bn(x, 4 * filters, 1, f"{name}_3", activation=None)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack(x, filters, blocks, stride1=2, name=None):
    x = _residual_block(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = _residual_block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def _residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """Pre-activation bottleneck block (ResNetV2): BN-ReLU first, the stride on the 3x3 conv,
    no activation after the addition."""
    preact = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON,
                                       name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        # Keras subsamples the identity with an (auto-named) 1x1 max pooling.
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def _stack_v2(x, filters, blocks, stride1=2, name=None):
    # ResNetV2 strides in the last block of a stack, not the first.
    x = _residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = _residual_block_v2(x, filters, name=f"{name}_block{i}")
    return _residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _stack_v1_fn(blocks):
    def stack_fn(x):
        x = _stack(x, 64, blocks[0], stride1=1, name="conv2")
        x = _stack(x, 128, blocks[1], name="conv3")
        x = _stack(x, 256, blocks[2], name="conv4")
        return _stack(x, 512, blocks[3], name="conv5")
    return stack_fn


def _stack_v2_fn(blocks):
    def stack_fn(x):
        x = _stack_v2(x, 64, blocks[0], name="conv2")
        x = _stack_v2(x, 128, blocks[1], name="conv3")
        x = _stack_v2(x, 256, blocks[2], name="conv4")
        return _stack_v2(x, 512, blocks[3], stride1=1, name="conv5")
    return stack_fn


def build_resnet(stack_fn, preact, weights_name, include_top, weights, input_tensor,
                 input_shape, pooling, classes, classifier_activation, name):
    """The ResNet / ResNetV2 skeleton around ``stack_fn`` (Keras's ``ResNet``): a 7x7 stride-2
    stem, max pooling, the stacks, then (V2) a final BN-ReLU, and the top or pooling."""
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    if preact:
        x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    else:
        x = _conv_bn(x, 64, 7, "conv1", strides=2)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    suffix = "" if include_top else "_notop"
    fname = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHTS_PATH + fname,
                                   WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return model


_ARGS_DOC = """
    Args:
        include_top: whether to include the global average pooling and the classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``{w}_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 32; default (224, 224, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) preprocessed with
        ``{module}.preprocess_input`` -> (B, classes), or features (B, H/32, W/32, 2048).
"""


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet50"):
    """The ResNet50 model: a 7x7 stride-2 stem, max pooling, then 3+4+6+3 bottleneck blocks.
{args}
    Example:
        >>> ResNet50(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 2048)
    """
    return build_resnet(_stack_v1_fn((3, 4, 6, 3)), False, "resnet50", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation, name)


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet101"):
    """The ResNet101 model: as ResNet50 with 3+4+23+3 bottleneck blocks.
{args}
    Example:
        >>> ResNet101(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 2048)
    """
    return build_resnet(_stack_v1_fn((3, 4, 23, 3)), False, "resnet101", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation, name)


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet152"):
    """The ResNet152 model: as ResNet50 with 3+8+36+3 bottleneck blocks.
{args}
    Example:
        >>> ResNet152(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 2048)
    """
    return build_resnet(_stack_v1_fn((3, 8, 36, 3)), False, "resnet152", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation, name)


for _fn in (ResNet50, ResNet101, ResNet152):
    _fn.__doc__ = _fn.__doc__.replace("{args}", _ARGS_DOC.format(w=_fn.__name__.lower(),
                                                                  module="resnet"))


def preprocess_input(x, data_format=None):
    """Keras's "caffe" preprocessing: RGB -> BGR, then subtract the ImageNet means
    [103.939, 116.779, 123.68] (see ``imagenet_utils.preprocess_input``)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
