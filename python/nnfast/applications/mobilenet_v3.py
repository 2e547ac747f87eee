"""MobileNetV3Small and MobileNetV3Large (Howard et al., 2019) with Keras's layer names and
weight files. The models take raw pixels in [0, 255] (a ``Rescaling`` layer maps them to
[-1, 1]) unless built with ``include_preprocessing=False``."""
import warnings

from nnfast import layers
from nnfast.applications import imagenet_utils
from nnfast.applications.blocks import apply_activation, conv_bn, squeeze_excite
from nnfast.applications.mobilenet_v2 import _make_divisible

BASE_WEIGHT_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                    "mobilenet_v3/")
# Keras's md5 hashes: (with top, without top).
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}
# Inverted residual blocks: (expansion, filters, kernel, stride, squeeze-excite, activation)
# where kernel "k" / se True / activation "a" take the model's choice (5 / 0.25 / hard swish,
# or 3 / none / ReLU for the minimalistic models) and "r" is ReLU.
_SMALL = ((1, 16, 3, 2, True, "r"), (72.0 / 16, 24, 3, 2, False, "r"),
          (88.0 / 24, 24, 3, 1, False, "r"), (4, 40, "k", 2, True, "a"),
          (6, 40, "k", 1, True, "a"), (6, 40, "k", 1, True, "a"), (3, 48, "k", 1, True, "a"),
          (3, 48, "k", 1, True, "a"), (6, 96, "k", 2, True, "a"), (6, 96, "k", 1, True, "a"),
          (6, 96, "k", 1, True, "a"))
_LARGE = ((1, 16, 3, 1, False, "r"), (4, 24, 3, 2, False, "r"), (3, 24, 3, 1, False, "r"),
          (3, 40, "k", 2, True, "r"), (3, 40, "k", 1, True, "r"), (3, 40, "k", 1, True, "r"),
          (6, 80, 3, 2, False, "a"), (2.5, 80, 3, 1, False, "a"), (2.3, 80, 3, 1, False, "a"),
          (2.3, 80, 3, 1, False, "a"), (6, 112, 3, 1, True, "a"), (6, 112, 3, 1, True, "a"),
          (6, 160, "k", 2, True, "a"), (6, 160, "k", 1, True, "a"),
          (6, 160, "k", 1, True, "a"))


def _depth(channels):
    """Channels rounded to a multiple of 8 (never more than 10% down), as in Keras."""
    return _make_divisible(channels, 8)


def _relu(x):
    return layers.ReLU()(x)


def _hard_sigmoid(x):
    # Keras builds it from ops, not an Activation layer: relu6(x + 3) / 6.
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _hard_swish(x):
    return layers.Activation("hard_swish")(x)


def _bn_args():
    return {"bn_epsilon": 1e-3, "bn_momentum": 0.999}


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation,
                        block_id):
    """Expand (1x1) -> depthwise (stride-2 with Keras's explicit padding) -> optional
    squeeze-and-excitation with a hard-sigmoid gate -> linear 1x1 projection, plus the input
    when shapes allow."""
    shortcut = x
    infilters = x.shape[-1]
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = conv_bn(x, _depth(infilters * expansion), 1, activation=activation,
                    name=f"{prefix}expand", bn_name=f"{prefix}expand_bn", **_bn_args())
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999,
                                  name=f"{prefix}depthwise_bn")(x)
    x = apply_activation(x, activation)
    if se_ratio:
        filters_se = _depth(_depth(infilters * expansion) * se_ratio)
        x = squeeze_excite(
            x, filters_se, lambda t: layers.ReLU(name=f"{prefix}squeeze_excite_relu")(t),
            _hard_sigmoid, reshape=False, pool_name=f"{prefix}squeeze_excite_avg_pool",
            reduce_name=f"{prefix}squeeze_excite_conv",
            expand_name=f"{prefix}squeeze_excite_conv_1",
            multiply_name=f"{prefix}squeeze_excite_mul")
    x = conv_bn(x, filters, 1, activation=None, name=f"{prefix}project",
                bn_name=f"{prefix}project_bn", **_bn_args())
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _input_shape(input_shape, input_tensor):
    """Keras's MobileNetV3 rule: the input shape from ``input_shape``, else from
    ``input_tensor``, else (None, None, 3); no default size."""
    if input_shape is not None and input_tensor is not None and \
            input_tensor.shape[2] != input_shape[1]:
        raise ValueError("input_shape[1] must equal input_tensor.shape[2].  Received "
                         f"input_shape={input_shape}, input_tensor.shape={input_tensor.shape}")
    if input_shape is None and input_tensor is not None:
        input_shape = (input_tensor.shape[2], input_tensor.shape[1], 3)
    if input_shape is None:
        input_shape = (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError("`input_shape` must be a tuple of three integers. Received: "
                         f"input_shape={input_shape}")
    rows, cols = input_shape[0], input_shape[1]
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError("Input size must be at least 32x32; Received `input_shape="
                         f"{input_shape}`")
    return input_shape


def MobileNetV3(blocks, last_point_ch, input_shape=None, alpha=1.0, model_type="large",
                minimalistic=False, include_top=True, weights="imagenet", input_tensor=None,
                classes=1000, pooling=None, dropout_rate=0.2,
                classifier_activation="softmax", include_preprocessing=True, name=None):
    """The MobileNetV3 skeleton over ``blocks`` (rows of ``_SMALL`` / ``_LARGE``); see
    ``MobileNetV3Small`` for the arguments."""
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = _input_shape(input_shape, input_tensor)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise ValueError("If imagenet weights are being loaded, alpha can be one of "
                             "`0.75`, `1.0` for non minimalistic or `1.0` for minimalistic "
                             f"only. Received: alpha={alpha}, minimalistic={minimalistic}")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. "
                          "Weights for input shape (224, 224) will be loaded as the default.",
                          stacklevel=3)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    if minimalistic:
        kernel, activation, se_ratio = 3, _relu, None
    else:
        kernel, activation, se_ratio = 5, _hard_swish, 0.25

    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = conv_bn(x, 16, 3, strides=2, activation=activation, name="conv", bn_name="conv_bn",
                **_bn_args())
    for block_id, (expansion, filters, k, stride, se, act) in enumerate(blocks):
        x = _inverted_res_block(x, expansion, _depth(filters * alpha),
                                kernel if k == "k" else k, stride, se_ratio if se else None,
                                activation if act == "a" else _relu, block_id)
    last_conv_ch = _depth(x.shape[-1] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = conv_bn(x, last_conv_ch, 1, activation=activation, name="conv_1",
                bn_name="conv_1_bn", **_bn_args())
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True,
                          name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        model_name = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        suffix = "" if include_top else "_no_top_v2"
        fname = f"weights_mobilenet_v3_{model_name}{suffix}.h5"
        imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHT_PATH + fname,
                                       WEIGHTS_HASHES[model_name][0 if include_top else 1])
    else:
        imagenet_utils.load_pretrained(model, weights, None, None)
    return model


_DOC = """The MobileNetV3{size} model: a stride-2 3x3 stem, {n} inverted residual blocks with
    depthwise convolutions, squeeze-and-excitation (hard-sigmoid gate) and hard-swish, a 1x1
    conv to 6x the last block's channels, and a {last}-channel 1x1 conv head.

    Args:
        input_shape: (H, W, 3) with H, W >= 32; default (None, None, 3) (any size). ImageNet
            weights were trained at 224x224 (other sizes warn).
        alpha: width multiplier (channels per layer scale with it); ImageNet weights exist for
            0.75 and 1.0 (1.0 only when minimalistic).
        minimalistic: without squeeze-and-excitation, hard-swish and 5x5 kernels (3x3 and
            ReLU everywhere).
        include_top: whether to include the pooling, the 1x1-conv head and the classifier.
        weights: None (random initialization), "imagenet" (Keras's weights,
            ``weights_mobilenet_v3_{lower}[_minimalistic]_224_{{alpha}}_float[_no_top_v2].h5``)
            or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        classes: number of classes of the top.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        dropout_rate: dropout before the classifier.
        classifier_activation: activation of the top layer (None gives logits).
        include_preprocessing: whether the model starts with ``Rescaling(1/127.5, -1)``
            (inputs in [0, 255]); without it, inputs are expected in [-1, 1].
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) -> (B, classes), or features
        (B, H/32, W/32, {feat}) for alpha 1.

    Example:
        >>> MobileNetV3{size}(include_top=False, weights=None,
        ...                   input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, {feat})
"""


def _variant(size, blocks, last_point_ch, feat):
    def build(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
              weights="imagenet", input_tensor=None, classes=1000, pooling=None,
              dropout_rate=0.2, classifier_activation="softmax", include_preprocessing=True,
              name=f"MobileNetV3{size}"):
        return MobileNetV3(blocks, last_point_ch, input_shape, alpha, size.lower(),
                           minimalistic, include_top, weights, input_tensor, classes, pooling,
                           dropout_rate, classifier_activation, include_preprocessing,
                           name=name)

    build.__name__ = build.__qualname__ = f"MobileNetV3{size}"
    build.__doc__ = _DOC.format(size=size, n=len(blocks), last=last_point_ch,
                                lower=size.lower(), feat=feat)
    return build


MobileNetV3Small = _variant("Small", _SMALL, 1024, 576)
MobileNetV3Large = _variant("Large", _LARGE, 1280, 960)


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: MobileNetV3 models rescale inside (``Rescaling`` layer).

    Args:
        x: images (a NumPy array or tensor) with values in [0, 255].
        data_format: accepted for compatibility; unused.

    Returns:
        ``x`` unchanged.
    """
    return x


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
