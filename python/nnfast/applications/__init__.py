"""Keras's ImageNet architectures with Keras's layer names and weight files:
``MobileNetV2``, ``VGG16``, ``VGG19``, ``ResNet50``, each module with its
``preprocess_input`` and ``decode_predictions``.

Example:
    >>> from nnfast.applications import MobileNetV2, mobilenet_v2
    >>> base = MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None)
    >>> x = mobilenet_v2.preprocess_input(images)  # images in [0, 255], (B, 96, 96, 3)
    >>> features = base.predict(x)                 # (B, 3, 3, 1280)
"""
from nnfast.applications import imagenet_utils, mobilenet_v2, resnet, vgg16, vgg19
from nnfast.applications.mobilenet_v2 import MobileNetV2
from nnfast.applications.resnet import ResNet50
from nnfast.applications.vgg16 import VGG16
from nnfast.applications.vgg19 import VGG19

# Keras exposes ResNet50's module as both `applications.resnet` and `applications.resnet50`.
resnet50 = resnet

__all__ = ["MobileNetV2", "ResNet50", "VGG16", "VGG19", "imagenet_utils", "mobilenet_v2",
           "resnet", "resnet50", "vgg16", "vgg19"]
