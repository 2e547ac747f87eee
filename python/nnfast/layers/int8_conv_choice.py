"""Which convolutions ``Model.quantize("int8")`` turns to int8 (nnfast beyond Keras: Keras
quantizes no convolution, so nnfast may choose per layer where int8 is measured to win).

A ``Conv2D`` stays float32 when its reduction depth ``kh * kw * in`` is under 64 or it has fewer
than 64 filters: its int8 GEMM pads the depth to 64 (AMX) or works on thin tiles while the float
output is as wide as ever, so the quantize/dequantize passes cost more than the int8 products
save (MobileNetV2's 3x3x3 stem, its expand 1x1 convs on 16-32 channels and its projections to
24-32 channels ran at 0.3-0.6x of float32; benchmarks/profile_int8_layers.py). A
``DepthwiseConv2D`` stays float32 below 384 channels: the float32 plan keeps its output in
cache for the 1x1 projection after it, and the int8 route's per-sample quantization pass over a
large, thin feature map loses to that (MobileNetV2's blocks 1-6). Layers at or over the limits
(ResNet50's convolutions all are, and MobileNetV2's blocks 7-16) are quantized.

A layer kept float32 gets ``int8_kept_float32`` (a sentence saying why); ``Model.quantize``
lists them in one warning. It saves and loads as the float32 layer it is. Passing ``filters``
to ``Model.quantize``, or calling ``layer.quantize("int8")`` directly, quantizes the chosen
layers whatever their shape.
"""
from nnfast.layers.convolutional import Conv2D, DepthwiseConv2D

MIN_INT8_DEPTH = 64
MIN_INT8_FILTERS = 64
MIN_INT8_DEPTHWISE_CHANNELS = 384


def int8_kept_float32_reason(layer):
    """Why ``Model.quantize("int8")`` leaves this built layer float32, or None when it
    quantizes it (layers other than ``Conv2D``/``DepthwiseConv2D`` always give None).

    Args:
        layer: a layer.

    Returns:
        A sentence naming the layer's shape and the limit it is under, or None.

    Example:
        >>> conv = Conv2D(32, 3)
        >>> conv.build((None, 32, 32, 3))
        >>> int8_kept_float32_reason(conv)  # doctest: +ELLIPSIS
        'reduction depth 27 (3x3x3) under 64...'
    """
    if (not getattr(layer, "built", False) or getattr(layer, "kernel", None) is None
            or layer.dtype_policy.quantization_mode is not None):
        return None  # (quantize's own errors: not built, already quantized)
    shape = tuple(int(d) for d in layer.kernel.shape)
    if type(layer) is DepthwiseConv2D:
        channels = shape[2] * shape[3]
        if channels < MIN_INT8_DEPTHWISE_CHANNELS:
            return (f"{channels} depthwise channels under {MIN_INT8_DEPTHWISE_CHANNELS}: the "
                    "float32 plan keeps the output in cache for the next 1x1 conv")
        return None
    if type(layer) is not Conv2D or len(shape) != 4:
        return None
    depth = shape[0] * shape[1] * shape[2]
    if depth < MIN_INT8_DEPTH:
        return (f"reduction depth {depth} ({shape[0]}x{shape[1]}x{shape[2]}) under "
                f"{MIN_INT8_DEPTH}: int8 is slower than float32 there")
    if shape[3] < MIN_INT8_FILTERS:
        return (f"{shape[3]} filters under {MIN_INT8_FILTERS}: int8 is slower than float32 "
                "there")
    return None
