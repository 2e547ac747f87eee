"""ResNet50V2/101V2/152V2 (He et al., 2016: pre-activation residual units) with Keras's layer
names and weight files."""
from nnfast.applications import imagenet_utils
from nnfast.applications.resnet import _ARGS_DOC, _stack_v2_fn, build_resnet


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax", name="resnet50v2"):
    """The ResNet50V2 model: pre-activation bottleneck blocks 3+4+6+3, a final BN-ReLU.
{args}
    Example:
        >>> ResNet50V2(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 2048)
    """
    return build_resnet(_stack_v2_fn((3, 4, 6, 3)), True, "resnet50v2", include_top, weights,
                        input_tensor, input_shape, pooling, classes, classifier_activation, name)


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet101v2"):
    """The ResNet101V2 model: pre-activation bottleneck blocks 3+4+23+3, a final BN-ReLU.
{args}
    Example:
        >>> ResNet101V2(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 2048)
    """
    return build_resnet(_stack_v2_fn((3, 4, 23, 3)), True, "resnet101v2", include_top,
                        weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet152v2"):
    """The ResNet152V2 model: pre-activation bottleneck blocks 3+8+36+3, a final BN-ReLU.
{args}
    Example:
        >>> ResNet152V2(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
        (None, 2, 2, 2048)
    """
    return build_resnet(_stack_v2_fn((3, 8, 36, 3)), True, "resnet152v2", include_top,
                        weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


for _fn in (ResNet50V2, ResNet101V2, ResNet152V2):
    _fn.__doc__ = _fn.__doc__.replace("{args}", _ARGS_DOC.format(w=_fn.__name__.lower(),
                                                                  module="resnet_v2"))


def preprocess_input(x, data_format=None):
    """Keras's "tf" preprocessing: scales pixels from [0, 255] to [-1, 1] (x / 127.5 - 1)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The top ImageNet classes per sample (see ``imagenet_utils.decode_predictions``)."""
    return imagenet_utils.decode_predictions(preds, top=top)
