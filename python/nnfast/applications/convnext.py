"""ConvNeXtTiny/Small/Base/Large/XLarge (Liu et al., 2022) with Keras's layer names and
weight files, and the two layers of Keras's ConvNeXt module, ``LayerScale`` and
``StochasticDepth``. The models take raw pixels in [0, 255]: ImageNet normalization is a
layer of the model."""
import numpy as np

from nnfast import initializers, layers, ops
from nnfast.applications import imagenet_utils
from nnfast.backend import random as nnrandom
from nnfast.layers.layer import Layer
from nnfast.layers.regularization import broadcast_dropout
from nnfast.models.sequential import Sequential

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
# Keras's sha256 hashes: (with top, without top).
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768],
             "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768],
              "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024],
             "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536],
              "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048],
               "default_size": 224},
}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class StochasticDepth(Layer):
    """Drops the whole residual branch per sample while training (Huang et al., 2016):
    each sample's ``x`` is zeroed with probability ``drop_path_rate`` and the kept ones are
    scaled by ``1 / (1 - drop_path_rate)``; the identity at inference.

    Args:
        drop_path_rate: probability of dropping a sample's branch, in [0, 1).
        seed: seed of the layer's mask stream (default: drawn from the global seed).

    Input/output shape: any (B, ...), unchanged.

    Example:
        >>> y = StochasticDepth(0.1)(x, training=True)  # per sample: 0 or x / 0.9
    """

    def __init__(self, drop_path_rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(drop_path_rate) < 1.0:
            raise ValueError("`drop_path_rate` must be in [0, 1). Received: "
                             f"drop_path_rate={drop_path_rate}")
        self.drop_path_rate = drop_path_rate
        self.seed = seed
        self._stream_seed = nnrandom.draw_seed() if seed is None else int(seed)
        self._offset = 0

    def call(self, x, training=None):
        if not training or self.drop_path_rate == 0:
            return x
        noise_shape = (None,) + (1,) * (len(x.shape) - 1)
        return broadcast_dropout(self, x, self.drop_path_rate, noise_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"drop_path_rate": self.drop_path_rate})
        if self.seed is not None:
            config["seed"] = self.seed
        return config


class LayerScale(Layer):
    """Multiplies the last axis by a learned per-channel scale ``gamma`` (Touvron et al.,
    2021), initialized to ``init_values``.

    Args:
        init_values: the initial value of every entry of ``gamma`` (ConvNeXt: 1e-6).
        projection_dim: channels of the input's last axis (the size of ``gamma``).

    Input/output shape: (..., projection_dim), unchanged.

    Example:
        >>> LayerScale(1e-6, 96)(x)  # x * gamma, gamma of shape (96,)
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.projection_dim:
            raise ValueError(f"LayerScale expects inputs with {self.projection_dim} channels "
                             f"on the last axis. Received: input_shape={input_shape}")
        self.gamma = self.add_weight(shape=(self.projection_dim,), name="gamma",
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True)
        self.built = True

    def call(self, x):
        return ops.multiply(x, self.gamma)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"init_values": self.init_values,
                       "projection_dim": self.projection_dim})
        return config


def _convnext_block(x, projection_dim, drop_path_rate, layer_scale_init_value, name):
    """Depthwise 7x7 conv -> LayerNorm -> Dense 4x (GELU) -> Dense back -> LayerScale ->
    stochastic depth (or an identity), plus the input."""
    inputs = x
    x = layers.Conv2D(projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                      name=f"{name}_depthwise_conv")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
    if layer_scale_init_value is not None:
        x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
    if drop_path_rate:
        branch = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")
    else:
        branch = layers.Activation("linear", name=f"{name}_identity")
    return inputs + branch(x)


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6,
             default_size=224, name="convnext", include_preprocessing=True, include_top=True,
             weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", weights_name=None):
    """The ConvNeXt skeleton: four stages of ``depths[i]`` ConvNeXt blocks of
    ``projection_dims[i]`` channels, each stage after a downsampling ``Sequential`` (the
    4x4/4 stem, then LayerNorm + 2x2/2 convs). See ``ConvNeXtTiny`` for the other arguments.

    Args:
        depths: four block counts.
        projection_dims: four channel counts.
        drop_path_rate: stochastic depth rate of the last block (linear from 0).
        layer_scale_init_value: LayerScale's initial value (None: no LayerScale).
        default_size: default input size with the top.
        weights_name: the ImageNet variant ("convnext_tiny", ...) when weights="imagenet".

    Example:
        >>> mini = ConvNeXt([1, 1, 1, 1], [8, 8, 8, 8], input_shape=(32, 32, 3), classes=3)
    """
    imagenet_utils.check_weights_argument(weights, include_top, classes)
    if weights == "imagenet":
        variant = MODEL_CONFIGS.get(str(weights_name).split("convnext_")[-1])
        if variant is None or list(depths) != variant["depths"] or \
                list(projection_dims) != variant["projection_dims"]:
            raise ValueError(f"Architecture configuration does not match {weights_name} "
                             "variant. When using pre-trained weights, the model "
                             "architecture must match the pre-trained configuration exactly. "
                             f"Received: depths={depths}, projection_dims={projection_dims}")
        if weights_name not in name:
            raise ValueError(f'Model name "{name}" does not match weights variant '
                             f'"{weights_name}". When using imagenet weights, model name must '
                             "contain the weights variant.")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size,
                                                    min_size=32, require_flatten=include_top,
                                                    weights=weights)
    img_input = imagenet_utils.model_input(input_tensor, input_shape)
    x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = layers.Normalization(mean=[m * 255 for m in _IMAGENET_MEAN],
                                 variance=[(s * 255) ** 2 for s in _IMAGENET_STD],
                                 name=f"{name}_prestem_normalization")(x)

    downsample = [Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")]
    for i in range(3):
        downsample.append(Sequential([
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                          name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}"))
    drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample[i](x)
        for j in range(depths[i]):
            x = _convnext_block(x, projection_dims[i], drop_rates[cur + j],
                                layer_scale_init_value, name=f"{name}_stage_{i}_block_{j}")
        cur += depths[i]
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = imagenet_utils.finish_model(img_input, input_tensor, x, name)
    if weights == "imagenet":
        fname = name + (".h5" if include_top else "_notop.h5")
        imagenet_utils.load_pretrained(model, weights, fname, BASE_WEIGHTS_PATH + fname,
                                       WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    else:
        imagenet_utils.load_pretrained(model, weights, None, None)
    return model


_DOC = """The ConvNeXt{v} model (depths {depths}, channels {dims}): a 4x4 patchify stem and
    four stages of ConvNeXt blocks (depthwise 7x7 conv, LayerNorm, an MLP with GELU,
    LayerScale), downsampled 2x between stages.

    The model includes its preprocessing: feed raw pixels in [0, 255]
    (``convnext.preprocess_input`` is the identity).

    Args:
        include_top: whether to include the pooling, LayerNorm and classifier.
        include_preprocessing: whether the model starts with the ImageNet ``Normalization``
            (inputs in [0, 255]); without it, inputs are expected normalized.
        weights: None (random initialization), "imagenet" (Keras's ImageNet weights,
            ``{lv}[_notop].h5``) or a weight file path.
        input_tensor: optional KerasTensor to use as the image input.
        input_shape: (H, W, C) with H, W >= 32; default (224, 224, 3) with the top and
            (None, None, 3) without.
        pooling: without the top, None (4D output), "avg" or "max" (2D output); a
            LayerNormalization follows in every case, as in Keras.
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: model name (with ImageNet weights it must contain "{lv}").

    Returns:
        A ``nnfast.Model``: images (B, H, W, 3) -> (B, classes), or features
        (B, H/32, W/32, {feat}).

    Example:
        >>> ConvNeXt{v}(include_top=False, weights=None,
        ...             input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, {feat})
"""


def _variant(version):
    lower = version.lower()
    config = MODEL_CONFIGS[lower]

    def build(include_top=True, include_preprocessing=True, weights="imagenet",
              input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=f"convnext_{lower}"):
        return ConvNeXt(config["depths"], config["projection_dims"], drop_path_rate=0.0,
                        layer_scale_init_value=1e-6, default_size=config["default_size"],
                        name=name, include_preprocessing=include_preprocessing,
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation,
                        weights_name=f"convnext_{lower}")

    build.__name__ = build.__qualname__ = f"ConvNeXt{version}"
    build.__doc__ = _DOC.format(v=version, lv=f"convnext_{lower}", depths=config["depths"],
                                dims=config["projection_dims"],
                                feat=config["projection_dims"][-1])
    return build


ConvNeXtTiny = _variant("Tiny")
ConvNeXtSmall = _variant("Small")
ConvNeXtBase = _variant("Base")
ConvNeXtLarge = _variant("Large")
ConvNeXtXLarge = _variant("XLarge")


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: ConvNeXt models normalize inside.

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
