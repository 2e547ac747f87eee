"""Keras's ImageNet architectures with Keras's layer names and weight files: ``VGG16/19``,
``ResNet50/101/152``, ``ResNet50V2/101V2/152V2``, ``DenseNet121/169/201``, ``Xception``,
``EfficientNetB0``-``B7``, ``EfficientNetV2B0``-``B3``/``S``/``M``/``L``, ``InceptionV3``,
``InceptionResNetV2``, ``MobileNet``, ``MobileNetV2``, ``MobileNetV3Small``/``Large``,
``ConvNeXtTiny``/``Small``/``Base``/``Large``/``XLarge``, ``NASNetMobile``/``Large``, each
module with its ``preprocess_input`` and ``decode_predictions``.

Example:
    >>> from nnfast.applications import MobileNetV2, mobilenet_v2
    >>> base = MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None)
    >>> x = mobilenet_v2.preprocess_input(images)  # images in [0, 255], (B, 96, 96, 3)
    >>> features = base.predict(x)                 # (B, 3, 3, 1280)
"""
from nnfast.applications import (
    convnext,
    densenet,
    efficientnet,
    efficientnet_v2,
    imagenet_utils,
    inception_resnet_v2,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    mobilenet_v3,
    nasnet,
    resnet,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from nnfast.applications.convnext import (
    ConvNeXtBase,
    ConvNeXtLarge,
    ConvNeXtSmall,
    ConvNeXtTiny,
    ConvNeXtXLarge,
)
from nnfast.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from nnfast.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from nnfast.applications.efficientnet_v2 import (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2L,
    EfficientNetV2M,
    EfficientNetV2S,
)
from nnfast.applications.inception_resnet_v2 import InceptionResNetV2
from nnfast.applications.inception_v3 import InceptionV3
from nnfast.applications.mobilenet import MobileNet
from nnfast.applications.mobilenet_v2 import MobileNetV2
from nnfast.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from nnfast.applications.nasnet import NASNetLarge, NASNetMobile
from nnfast.applications.resnet import ResNet50, ResNet101, ResNet152
from nnfast.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from nnfast.applications.vgg16 import VGG16
from nnfast.applications.vgg19 import VGG19
from nnfast.applications.xception import Xception

# Keras exposes ResNet50's module as both `applications.resnet` and `applications.resnet50`.
resnet50 = resnet

__all__ = [
    "VGG16",
    "VGG19",
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "InceptionResNetV2",
    "InceptionV3",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Large",
    "MobileNetV3Small",
    "NASNetLarge",
    "NASNetMobile",
    "ResNet50",
    "ResNet50V2",
    "ResNet101",
    "ResNet101V2",
    "ResNet152",
    "ResNet152V2",
    "Xception",
    "convnext",
    "densenet",
    "efficientnet",
    "efficientnet_v2",
    "imagenet_utils",
    "inception_resnet_v2",
    "inception_v3",
    "mobilenet",
    "mobilenet_v2",
    "mobilenet_v3",
    "nasnet",
    "resnet",
    "resnet50",
    "resnet_v2",
    "vgg16",
    "vgg19",
    "xception",
]
