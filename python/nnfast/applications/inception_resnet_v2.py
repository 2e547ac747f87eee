"""InceptionResNetV2 (Szegedy et al., 2017) with Keras's layer names and weight files."""
from nnfast import layers, ops
from nnfast.applications import imagenet_utils
from nnfast.applications.blocks import conv_bn
from nnfast.layers.layer import Layer

BASE_WEIGHT_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                   "inception_resnet_v2/")
WEIGHTS_HASHES = ("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")


class CustomScaleLayer(Layer):
    """The residual sum of an Inception-ResNet block: ``inputs[0] + inputs[1] * scale``.

    Args:
        scale: the factor of the residual branch (0.17, 0.1, 0.2 or 1.0 in the model).

    Input: a list of two tensors of the same shape; output: that shape.

    Example:
        >>> y = CustomScaleLayer(0.17)([x, branch])  # x + 0.17 * branch
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("CustomScaleLayer expects a list of two tensors [x, residual]. "
                             f"Received: inputs={inputs}")
        return ops.add(inputs[0], ops.multiply(inputs[1], self.scale))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale})
        return config


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu",
              use_bias=False, name=None):
    """Keras's block: conv, then (without bias) batch norm without scale, then
    ``activation``; the norm and activation are named ``{name}_bn`` / ``{name}_ac`` (or
    auto-named when ``name`` is None)."""
    if use_bias:
        x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                          use_bias=True, name=name)(x)
        return layers.Activation(activation, name=None if name is None else f"{name}_ac")(x) \
            if activation is not None else x
    return conv_bn(x, filters, kernel_size, strides=strides, padding=padding,
                   activation=activation, name=name,
                   bn_name=None if name is None else f"{name}_bn",
                   act_name=None if name is None else f"{name}_ac", bn_axis=3, bn_scale=False)


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """One Inception-ResNet block: parallel conv branches ("block35", "block17" or
    "block8"), concatenated, a 1x1 conv back to the input's channels, added to the input
    scaled by ``scale`` (``CustomScaleLayer``), then ``activation``."""
    if block_type == "block35":
        branches = [conv2d_bn(x, 32, 1),
                    conv2d_bn(conv2d_bn(x, 32, 1), 32, 3),
                    conv2d_bn(conv2d_bn(conv2d_bn(x, 32, 1), 48, 3), 64, 3)]
    elif block_type == "block17":
        branches = [conv2d_bn(x, 192, 1),
                    conv2d_bn(conv2d_bn(conv2d_bn(x, 128, 1), 160, [1, 7]), 192, [7, 1])]
    elif block_type == "block8":
        branches = [conv2d_bn(x, 192, 1),
                    conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1), 224, [1, 3]), 256, [3, 1])]
    else:
        raise ValueError('Unknown Inception-ResNet block type. Expects "block35", "block17" '
                         f'or "block8", but got: {block_type}')
    block_name = f"{block_type}_{block_idx}"
    mixed = layers.Concatenate(axis=3, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[3], 1, activation=None, use_bias=True,
                   name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None,
                      input_shape=None, pooling=None, classes=1000,
                      classifier_activation="softmax", name="inception_resnet_v2"):
    """The InceptionResNetV2 model: an Inception stem, 10 block35, a reduction, 20 block17,
    a reduction, 10 block8 residual Inception blocks, and a 1x1 conv to 1536 channels.

    Args:
        include_top: whether to include the global average pooling and the classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``inception_resnet_v2_weights_tf_dim_ordering_tf_kernels[_notop].h5``) or a
            weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 75; default (299, 299, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) scaled to [-1, 1] with
        ``inception_resnet_v2.preprocess_input`` -> (B, classes), or features
        (B, h, w, 1536).

    Example:
        >>> InceptionResNetV2(include_top=False, weights=None,
        ...                   input_shape=(75, 75, 3)).output_shape
        (None, 1, 1, 1536)
    """
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)

    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)

    branch_0 = conv2d_bn(x, 96, 1)
    branch_1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    branch_pool = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    branch_pool = conv2d_bn(branch_pool, 64, 1)
    x = layers.Concatenate(axis=3, name="mixed_5b")([branch_0, branch_1, branch_2,
                                                     branch_pool])
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)

    branch_0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2,
                         padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=3, name="mixed_6a")([branch_0, branch_1, branch_pool])
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)

    branch_0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2,
                         padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=3, name="mixed_7a")([branch_0, branch_1, branch_2,
                                                     branch_pool])
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8",
                               block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    fname = ("inception_resnet_v2_weights_tf_dim_ordering_tf_kernels"
             f"{'' if include_top else '_notop'}.h5")
    imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHT_URL + fname,
                                   WEIGHTS_HASHES[0 if include_top else 1])
    return model


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: scales pixels from [0, 255] to [-1, 1] (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
