"""EfficientNetV2B0-B3, S, M and L (Tan & Le, 2021) with Keras's layer names and weight
files. The models take raw pixels in [0, 255]: rescaling (and, for B0-B3, ImageNet
normalization) are layers of the model unless ``include_preprocessing=False``."""
import copy
import math

from nnfast import initializers, layers
from nnfast.applications import imagenet_utils
from nnfast.applications.blocks import conv_bn, squeeze_excite
from nnfast.applications.efficientnet import _conv_init, _dense_init

BASE_WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                     "efficientnet_v2/")
# Keras's md5 hashes: (with top, without top).
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(*rows):
    """Stage tables: (fused, repeats, input_filters, output_filters, expand_ratio, strides,
    se_ratio); every stage has 3x3 kernels."""
    return [{"conv_type": int(fused), "num_repeat": r, "input_filters": fi,
             "output_filters": fo, "expand_ratio": e, "strides": s, "se_ratio": se,
             "kernel_size": 3} for fused, r, fi, fo, e, s, se in rows]


_B = _stages((1, 1, 32, 16, 1, 1, 0), (1, 2, 16, 32, 4, 2, 0), (1, 2, 32, 48, 4, 2, 0),
             (0, 3, 48, 96, 4, 2, 0.25), (0, 5, 96, 112, 6, 1, 0.25),
             (0, 8, 112, 192, 6, 2, 0.25))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages((1, 2, 24, 24, 1, 1, 0), (1, 4, 24, 48, 4, 2, 0),
                                (1, 4, 48, 64, 4, 2, 0), (0, 6, 64, 128, 4, 2, 0.25),
                                (0, 9, 128, 160, 6, 1, 0.25), (0, 15, 160, 256, 6, 2, 0.25)),
    "efficientnetv2-m": _stages((1, 3, 24, 24, 1, 1, 0), (1, 5, 24, 48, 4, 2, 0),
                                (1, 5, 48, 80, 4, 2, 0), (0, 7, 80, 160, 4, 2, 0.25),
                                (0, 14, 160, 176, 6, 1, 0.25), (0, 18, 176, 304, 6, 2, 0.25),
                                (0, 5, 304, 512, 6, 1, 0.25)),
    "efficientnetv2-l": _stages((1, 4, 32, 32, 1, 1, 0), (1, 7, 32, 64, 4, 2, 0),
                                (1, 7, 64, 96, 4, 2, 0), (0, 10, 96, 192, 4, 2, 0.25),
                                (0, 19, 192, 224, 6, 1, 0.25), (0, 25, 224, 384, 6, 2, 0.25),
                                (0, 7, 384, 640, 6, 1, 0.25)),
    "efficientnetv2-b0": _B, "efficientnetv2-b1": _B, "efficientnetv2-b2": _B,
    "efficientnetv2-b3": _B,
}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """Channels scaled by ``width_coefficient``, rounded to ``depth_divisor`` (at least
    ``min_depth``); unlike V1, no upward correction."""
    filters *= width_coefficient
    minimum_depth = min_depth or depth_divisor
    return max(minimum_depth, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor)


def round_repeats(repeats, depth_coefficient):
    """Blocks per stage scaled by ``depth_coefficient``, rounded up."""
    return math.ceil(depth_coefficient * repeats)


def _se(x, input_filters, se_ratio, activation, name):
    return squeeze_excite(x, max(1, int(input_filters * se_ratio)), activation, "sigmoid",
                          pool_name=f"{name}se_squeeze", reshape_name=f"{name}se_reshape",
                          reduce_name=f"{name}se_reduce", expand_name=f"{name}se_expand",
                          multiply_name=f"{name}se_excite", kernel_initializer=_conv_init())


def _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name):
    # NOTE: Keras passes the "survival probability" as the Dropout rate; kept for its numbers.
    if strides == 1 and input_filters == output_filters:
        if survival_probability:
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1),
                               name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def _mbconv_block(inputs, input_filters, output_filters, expand_ratio, kernel_size, strides,
                  se_ratio, bn_momentum, activation, survival_probability, name):
    """1x1 expansion -> depthwise conv -> squeeze-and-excitation -> 1x1 projection."""
    bn = {"bn_axis": 3, "bn_momentum": bn_momentum, "kernel_initializer": _conv_init()}
    filters = input_filters * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, 1, activation=activation, name=f"{name}expand_conv",
                    bn_name=f"{name}expand_bn", act_name=f"{name}expand_activation", **bn)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="same", use_bias=False,
                               depthwise_initializer=_conv_init(), name=f"{name}dwconv2")(x)
    x = layers.BatchNormalization(axis=3, momentum=bn_momentum, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = _se(x, input_filters, se_ratio, activation, name)
    x = conv_bn(x, output_filters, 1, activation=None, name=f"{name}project_conv",
                bn_name=f"{name}project_bn", **bn)
    return _residual(x, inputs, strides, input_filters, output_filters, survival_probability,
                     name)


def _fused_mbconv_block(inputs, input_filters, output_filters, expand_ratio, kernel_size,
                        strides, se_ratio, bn_momentum, activation, survival_probability, name):
    """A full kxk expansion conv (instead of 1x1 + depthwise) -> squeeze-and-excitation ->
    1x1 projection; without expansion, one kxk conv with its activation."""
    bn = {"bn_axis": 3, "bn_momentum": bn_momentum, "kernel_initializer": _conv_init()}
    filters = input_filters * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = conv_bn(x, filters, kernel_size, strides=strides, activation=activation,
                    name=f"{name}expand_conv", bn_name=f"{name}expand_bn",
                    act_name=f"{name}expand_activation", **bn)
    if 0 < se_ratio <= 1:
        x = _se(x, input_filters, se_ratio, activation, name)
    expanded = expand_ratio != 1
    x = conv_bn(x, output_filters, 1 if expanded else kernel_size,
                strides=1 if expanded else strides, activation=None if expanded else activation,
                name=f"{name}project_conv", bn_name=f"{name}project_bn",
                act_name=f"{name}project_activation", **bn)
    return _residual(x, inputs, strides, input_filters, output_filters, survival_probability,
                     name)


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                   drop_connect_rate=0.2, depth_divisor=8, min_depth=8, bn_momentum=0.9,
                   activation="swish", blocks_args="default", name="efficientnetv2",
                   include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   include_preprocessing=True, weights_name=None, variant=None):
    """The EfficientNetV2 skeleton scaled by ``width_coefficient`` / ``depth_coefficient``
    over the stage table of ``variant`` (a key of ``DEFAULT_BLOCKS_ARGS``, default ``name``
    as in Keras); see ``EfficientNetV2B0`` for the other arguments."""
    variant = variant or name
    if blocks_args == "default":
        if variant not in DEFAULT_BLOCKS_ARGS:
            raise ValueError(f"No default blocks for EfficientNetV2 variant {variant!r}; "
                             f"expected one of {sorted(DEFAULT_BLOCKS_ARGS)}")
        blocks_args = DEFAULT_BLOCKS_ARGS[variant]
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size,
                                                    min_size=32, require_flatten=include_top,
                                                    weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = img_input
    if include_preprocessing:
        if variant.split("-")[-1].startswith("b") and input_shape[-1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=list(_IMAGENET_MEAN),
                                     variance=[s ** 2 for s in _IMAGENET_STD], axis=3)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def filters_of(n):
        return round_filters(n, width_coefficient, min_depth, depth_divisor)

    x = conv_bn(x, filters_of(blocks_args[0]["input_filters"]), 3, strides=2,
                activation=activation, name="stem_conv", bn_name="stem_bn",
                act_name="stem_activation", bn_axis=3, bn_momentum=bn_momentum,
                kernel_initializer=_conv_init())
    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    blocks = float(sum(args["num_repeat"] for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ValueError("The number of repeats in `EfficientNetV2` must be > 0. "
                             f"Received: num_repeat={args['num_repeat']}")
        args["input_filters"] = filters_of(args["input_filters"])
        args["output_filters"] = filters_of(args["output_filters"])
        block = (_mbconv_block, _fused_mbconv_block)[args.pop("conv_type")]
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = block(x, activation=activation, bn_momentum=bn_momentum,
                      survival_probability=drop_connect_rate * b / blocks,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = conv_bn(x, filters_of(1280), 1, activation=activation, name="top_conv",
                bn_name="top_bn", act_name="top_activation", bn_axis=3, bn_momentum=bn_momentum,
                kernel_initializer=_conv_init())
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=_dense_init(),
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
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


_DOC = """The EfficientNetV2{v} model (width x{w}, depth x{d}, default input {size}x{size}):
    a stride-2 stem, Fused-MBConv stages (full 3x3 convs) then MBConv stages with
    squeeze-and-excitation, all with swish.

    The model includes its preprocessing: feed raw pixels in [0, 255]
    (``efficientnet_v2.preprocess_input`` is the identity).

    Args:
        include_top: whether to include the pooling, dropout (0.2) and classifier.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``efficientnetv2-{lv}[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 32; default ({size}, {size}, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output).
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        include_preprocessing: whether the model starts with {prep} (inputs in [0, 255]).
        name: model name.

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) -> (B, classes), or features
        (B, H/32, W/32, {feat}).

    Example:
        >>> EfficientNetV2{v}(include_top=False, weights=None,
        ...                   input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, {feat})
"""


def _variant(version, width, depth, size, feat):
    lower = version.lower()
    key = lower if lower.startswith("b") else f"-{lower}"
    default_name = f"efficientnetv2-{lower}"

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              include_preprocessing=True, name=default_name):
        return EfficientNetV2(width, depth, size, name=name, include_top=include_top,
                              weights=weights, input_tensor=input_tensor,
                              input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=key,
                              variant=default_name)

    build.__name__ = build.__qualname__ = f"EfficientNetV2{version}"
    prep = ("Rescaling(1/255) and the ImageNet Normalization" if key.startswith("b") else
            "Rescaling(1/128, offset=-1)")
    build.__doc__ = _DOC.format(v=version, lv=lower, w=width, d=depth, size=size, feat=feat,
                                prep=prep)
    return build


EfficientNetV2B0 = _variant("B0", 1.0, 1.0, 224, 1280)
EfficientNetV2B1 = _variant("B1", 1.0, 1.1, 240, 1280)
EfficientNetV2B2 = _variant("B2", 1.1, 1.2, 260, 1408)
EfficientNetV2B3 = _variant("B3", 1.2, 1.4, 300, 1536)
EfficientNetV2S = _variant("S", 1.0, 1.0, 384, 1280)
EfficientNetV2M = _variant("M", 1.0, 1.0, 480, 1280)
EfficientNetV2L = _variant("L", 1.0, 1.0, 480, 1280)


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: EfficientNetV2 models rescale and normalize inside.

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
