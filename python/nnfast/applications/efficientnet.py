"""EfficientNetB0-B7 (Tan & Le, 2019) with Keras's layer names and weight files. The models
take raw pixels in [0, 255]: rescaling and ImageNet normalization are layers of the model."""
import copy
import math

from nnfast import initializers, layers
from nnfast.applications import imagenet_utils
from nnfast.applications.blocks import conv_bn, squeeze_excite

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/keras-applications/"
# Keras's md5 hashes: (with top, without top).
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# The seven MBConv stages of B0: repeats are scaled by depth, filters by width.
DEFAULT_BLOCKS_ARGS = [
    {"kernel_size": k, "repeats": r, "filters_in": fi, "filters_out": fo, "expand_ratio": e,
     "id_skip": True, "strides": s, "se_ratio": 0.25}
    for k, r, fi, fo, e, s in ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2),
                               (3, 3, 40, 80, 6, 2), (5, 3, 80, 112, 6, 1),
                               (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
]
IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225]


def _conv_init():
    return initializers.VarianceScaling(scale=2.0, mode="fan_out",
                                        distribution="truncated_normal")


def _dense_init():
    return initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_out", distribution="uniform")


def _mbconv_block(inputs, activation, drop_rate, name, filters_in, filters_out, kernel_size,
                  strides, expand_ratio, se_ratio, id_skip):
    """Inverted residual block: 1x1 expansion, depthwise conv, squeeze-and-excitation, 1x1
    projection, and (same shape) stochastic depth plus the input."""
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = conv_bn(inputs, filters, 1, activation=activation, name=f"{name}expand_conv",
                    bn_name=f"{name}expand_bn", act_name=f"{name}expand_activation", bn_axis=3,
                    kernel_initializer=_conv_init())
    else:
        x = inputs
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                               padding="valid" if strides == 2 else "same", use_bias=False,
                               depthwise_initializer=_conv_init(), name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        filters_se = max(1, int(filters_in * se_ratio))
        x = squeeze_excite(x, filters_se, activation, "sigmoid", pool_name=f"{name}se_squeeze",
                           reshape_name=f"{name}se_reshape", reduce_name=f"{name}se_reduce",
                           expand_name=f"{name}se_expand", multiply_name=f"{name}se_excite",
                           kernel_initializer=_conv_init())
    x = conv_bn(x, filters_out, 1, activation=None, name=f"{name}project_conv",
                bn_name=f"{name}project_bn", bn_axis=3, kernel_initializer=_conv_init())
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def EfficientNet(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                 drop_connect_rate=0.2, depth_divisor=8, activation="swish",
                 blocks_args="default", name="efficientnet", include_top=True,
                 weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                 classes=1000, classifier_activation="softmax", weights_name=None):
    """The EfficientNet skeleton scaled by ``width_coefficient`` (channels) and
    ``depth_coefficient`` (blocks per stage); see ``EfficientNetB0`` for the arguments.
    The weight file looked up for "imagenet" is ``{name}[_notop].h5``, as in Keras."""
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size,
                                                    min_size=32, require_flatten=include_top,
                                                    weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)

    def round_filters(filters, divisor=depth_divisor):
        filters *= width_coefficient
        new_filters = max(divisor, int(filters + divisor / 2) // divisor * divisor)
        if new_filters < 0.9 * filters:  # never round down by more than 10%
            new_filters += divisor
        return int(new_filters)

    def round_repeats(repeats):
        return math.ceil(depth_coefficient * repeats)

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=3)(x)
    if weights == "imagenet":
        # Keras's ImageNet files store the variance where the standard deviation belongs;
        # this rescaling corrects it.
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=_conv_init(), name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    blocks = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["repeats"] <= 0:
            raise ValueError("The number of repeats in `EfficientNet` must be > 0. "
                             f"Received: repeats={args['repeats']}")
        args["filters_in"] = round_filters(args["filters_in"])
        args["filters_out"] = round_filters(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = _mbconv_block(x, activation, drop_connect_rate * b / blocks,
                              name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=_conv_init(), name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=_dense_init(), name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        fname = name + (".h5" if include_top else "_notop.h5")
        imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHTS_PATH + fname,
                                       WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    else:
        imagenet_utils.load_pretrained(model, weights, None, None)
    return model


_DOC = """The EfficientNet{v} model (width x{w}, depth x{d}, default input {size}x{size}):
    a stride-2 stem and seven stages of MBConv blocks with squeeze-and-excitation and swish.

    The model includes its preprocessing: feed raw pixels in [0, 255]
    (``efficientnet.preprocess_input`` is the identity).

    Args:
        include_top: whether to include the pooling, dropout ({drop}) and classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``efficientnet{lv}[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 32; default ({size}, {size}, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) -> (B, classes), or features
        (B, H/32, W/32, {feat}).

    Example:
        >>> EfficientNet{v}(include_top=False, weights=None,
        ...                 input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, {feat})
"""


def _variant(version, width, depth, size, dropout, feat):
    lower = version.lower()

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=f"efficientnet{lower}"):
        return EfficientNet(width, depth, size, dropout, name=name, include_top=include_top,
                            weights=weights, input_tensor=input_tensor,
                            input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=lower)

    build.__name__ = build.__qualname__ = f"EfficientNet{version}"
    build.__doc__ = _DOC.format(v=version, lv=lower, w=width, d=depth, size=size,
                                drop=dropout, feat=feat)
    return build


EfficientNetB0 = _variant("B0", 1.0, 1.0, 224, 0.2, 1280)
EfficientNetB1 = _variant("B1", 1.0, 1.1, 240, 0.2, 1280)
EfficientNetB2 = _variant("B2", 1.1, 1.2, 260, 0.3, 1408)
EfficientNetB3 = _variant("B3", 1.2, 1.4, 300, 0.3, 1536)
EfficientNetB4 = _variant("B4", 1.4, 1.8, 380, 0.4, 1792)
EfficientNetB5 = _variant("B5", 1.6, 2.2, 456, 0.4, 2048)
EfficientNetB6 = _variant("B6", 1.8, 2.6, 528, 0.5, 2304)
EfficientNetB7 = _variant("B7", 2.0, 3.1, 600, 0.5, 2560)


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: EfficientNet models rescale and normalize inside.

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
