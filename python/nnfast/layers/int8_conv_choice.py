"""Which convolutions ``Model.quantize("int8")`` turns to int8 (nnfast beyond Keras: Keras
quantizes no convolution, so nnfast may choose per layer where int8 is measured to win).

A ``DepthwiseConv2D`` stays float32 below 64 channels: MobileNetV2's first depthwise layer
(32 channels at 112x112) ran at 0.75-0.85x of float32 in int8 even fused with its projection.
Its blocks 1-6 (96-192 channels, each fused with its expand and project convs into one int8
call) ran at 1.0-1.4x, blocks 7-16 (384 channels and more) at 2-5x
(benchmarks/profile_int8_layers.py --cpu-time --all-convs). The limit was 384 channels until
the depthwise kernel and the row quantizer were sped up, for top-1 agreement; quantizing blocks
1-6 keeps the trained networks' agreement at >= 99% (MobileNetV2 trained on MNIST, 2,000 test
images: 99.70% against 99.95% with blocks 1-6 float32; benchmarks/bench_int8_agreement.py),
while random-weight networks, whose logits nearly tie, agree less (59-65% against 91%).

The 1x1 ``Conv2D`` layers around a depthwise one (the expand conv whose output only it reads,
through a BatchNormalization/activation/ZeroPadding2D, and the project conv that alone reads
its output) follow its choice, whatever their own shape: int8, the three run as one int8 call
(``models.fusion.InvertedResidualChain``) with no feature map between them in memory; float32,
they keep the float32 plan's fused depthwise -> pointwise chain. Any other ``Conv2D`` stays
float32 when its reduction depth ``kh * kw * in`` is under 64 or it has fewer than 64 filters:
alone, its int8 GEMM pads the depth to 64 (AMX) or works on thin tiles while the float output
is as wide as ever, so the quantize/dequantize passes cost more than the int8 products save
(MobileNetV2's 3x3x3 stem ran at 0.5x of float32 so). ResNet50's convolutions are all at or over
the limits. The exception is a shallow stem (``ops.quantized_stem.int8_stem_applies``: a window
of at most 32 values, such as MobileNetV2's 3x3x3): it goes int8 on its own kernel, each sample
quantized once (1.4x of float32 alone at batch 32), and a depthwise layer whose input only such a
stem makes goes int8 whatever its channels, with its project conv: the stem, the depthwise and
the project conv then run as one int8 call over bands of rows
(``models.fusion.Int8StemBlockChain``; MobileNetV2's stem and block 0, 1.4x of float32 at batch
32).

A layer kept float32 gets ``int8_kept_float32`` (a sentence saying why); ``Model.quantize``
lists them in one warning. It saves and loads as the float32 layer it is. Passing ``filters``
to ``Model.quantize``, or calling ``layer.quantize("int8")`` directly, quantizes the chosen
layers whatever their shape.
"""
from nnfast.layers.activations import ReLU
from nnfast.layers.convolutional import Conv2D, DepthwiseConv2D
from nnfast.layers.core import Activation
from nnfast.layers.normalization import BatchNormalization
from nnfast.layers.reshaping_image import ZeroPadding2D
from nnfast.ops.quantized_stem import int8_stem_applies

MIN_INT8_DEPTH = 64
MIN_INT8_FILTERS = 64
MIN_INT8_DEPTHWISE_CHANNELS = 64


def int8_kept_float32_reason(layer):
    """Why ``Model.quantize("int8")`` leaves this built layer float32, or None when it
    quantizes it (layers other than ``Conv2D``/``DepthwiseConv2D`` always give None).

    Args:
        layer: a layer.

    Returns:
        A sentence naming the layer's shape and the limit it is under, or None.

    Example:
        >>> conv = Conv2D(32, 3)
        >>> conv.build((None, 32, 32, 4))
        >>> int8_kept_float32_reason(conv)  # doctest: +ELLIPSIS
        'reduction depth 36 (3x3x4) under 64...'
    """
    if (not getattr(layer, "built", False) or getattr(layer, "kernel", None) is None
            or layer.dtype_policy.quantization_mode is not None):
        return None  # (quantize's own errors: not built, already quantized)
    shape = tuple(int(d) for d in layer.kernel.shape)
    if type(layer) is DepthwiseConv2D:
        channels = shape[2] * shape[3]
        if channels < MIN_INT8_DEPTHWISE_CHANNELS:
            return (f"{channels} depthwise channels under {MIN_INT8_DEPTHWISE_CHANNELS}: int8 "
                    "is slower than float32 there")
        return None
    if type(layer) is not Conv2D or len(shape) != 4:
        return None
    if int8_stem_applies(shape, layer.dilation_rate, layer.groups):
        return None  # a shallow stem: each sample quantized once (ops.quantized_stem)
    depth = shape[0] * shape[1] * shape[2]
    if depth < MIN_INT8_DEPTH:
        return (f"reduction depth {depth} ({shape[0]}x{shape[1]}x{shape[2]}) under "
                f"{MIN_INT8_DEPTH}: int8 is slower than float32 there")
    if shape[3] < MIN_INT8_FILTERS:
        return (f"{shape[3]} filters under {MIN_INT8_FILTERS}: int8 is slower than float32 "
                "there")
    return None


# Layers a chain may pass through between a 1x1 conv and the depthwise conv next to it.
_BETWEEN = (BatchNormalization, ReLU, Activation, ZeroPadding2D)


def _is_pointwise(layer):
    return (type(layer) is Conv2D and getattr(layer, "built", False)
            and tuple(layer.kernel_size) == (1, 1) and tuple(layer.strides) == (1, 1))


class _PlanChains:
    """The steps of a model's plan as chains through ``_BETWEEN`` layers: who alone reads a
    step's output, and which step feeds a depthwise conv."""

    def __init__(self, plan):
        self.plan, self.steps = plan, plan.steps
        self.readers = plan.readers()
        self.producer = {step.outputs: i for i, step in enumerate(self.steps)
                         if isinstance(step.outputs, int)}

    def sole_reader(self, i):
        """The one step reading step i's output (not a model output), else None."""
        out = self.steps[i].outputs
        users = self.readers.get(out, []) if isinstance(out, int) else []
        return users[0] if len(users) == 1 and out not in self.plan.output_ids else None

    def feeder(self, i):
        """The step whose output alone reaches step i through ``_BETWEEN`` layers each read
        by the next one only, else None."""
        steps = self.steps
        k, below = self.producer.get(steps[i].inputs), i
        while (k is not None and isinstance(steps[k].layer, _BETWEEN)
               and self.sole_reader(k) == below and isinstance(steps[k].inputs, int)):
            below, k = k, self.producer.get(steps[k].inputs)
        return k if k is not None and self.sole_reader(k) == below else None

    def depthwise_steps(self):
        """(index, step) of the DepthwiseConv2D steps reading one tensor."""
        return [(i, step) for i, step in enumerate(self.steps)
                if type(step.layer) is DepthwiseConv2D and isinstance(step.inputs, int)]


def depthwise_partners(model):
    """``{id(conv): depthwise}`` for the 1x1 ``Conv2D`` layers next to a ``DepthwiseConv2D`` in
    ``model``'s graph: the expand conv whose output only the depthwise chain reads, and the
    project conv that alone reads the depthwise chain's output (through BatchNormalization,
    activations and ZeroPadding2D). Empty for models without a plan.

    Example:
        >>> import nnfast
        >>> inp = nnfast.Input((8, 8, 4))
        >>> x = DepthwiseConv2D(3)(Conv2D(16, 1)(inp))
        >>> model = nnfast.Model(inp, Conv2D(4, 1)(x))
        >>> len(depthwise_partners(model))  # the expand and the project conv
        2
    """
    plan = getattr(model, "_plan", None)
    if plan is None:
        return {}
    chains = _PlanChains(plan)
    partners = {}
    for i, step in chains.depthwise_steps():
        k = chains.feeder(i)  # back: expand -> [bn, act, pad] -> depthwise
        if k is not None and _is_pointwise(chains.steps[k].layer):
            partners[id(chains.steps[k].layer)] = step.layer
        j = chains.sole_reader(i)  # on: depthwise -> [bn, act] -> project
        while j is not None and isinstance(chains.steps[j].layer, _BETWEEN):
            j = chains.sole_reader(j)
        if j is not None and _is_pointwise(chains.steps[j].layer):
            partners[id(chains.steps[j].layer)] = step.layer
    return partners


def stem_fed_depthwise(model):
    """The ids of the ``DepthwiseConv2D`` layers of ``model`` whose input only a shallow stem
    ``Conv2D`` (``ops.quantized_stem.int8_stem_applies``) makes, through BatchNormalization,
    activations and ZeroPadding2D: MobileNetV2's block 0. Int8, the stem, that layer and its
    project conv run as one int8 call (``models.fusion.Int8StemBlockChain``) over bands of
    rows, with no feature map between them in memory, so the depthwise channel limit does not
    apply to it. Empty for models without a plan.

    Example:
        >>> import nnfast
        >>> inp = nnfast.Input((9, 9, 3))
        >>> x = DepthwiseConv2D(3)(Conv2D(16, 3, strides=2)(inp))
        >>> model = nnfast.Model(inp, Conv2D(4, 1)(x))
        >>> len(stem_fed_depthwise(model))
        1
    """
    plan = getattr(model, "_plan", None)
    if plan is None:
        return set()
    chains = _PlanChains(plan)
    fed = set()
    for i, step in chains.depthwise_steps():
        k = chains.feeder(i)
        if k is None:
            continue
        stem = chains.steps[k].layer
        if (type(stem) is Conv2D and getattr(stem, "built", False)
                and int8_stem_applies(tuple(stem.kernel.shape), stem.dilation_rate,
                                      stem.groups)):
            fed.add(id(step.layer))
    return fed


def int8_kept_float32_reasons(model, layers):
    """``{id(layer): reason}`` for the ``layers`` of ``model`` that ``Model.quantize("int8")``
    leaves float32: ``int8_kept_float32_reason`` of each, except that the 1x1 convs next to a
    depthwise conv (``depthwise_partners``) follow that layer's choice.

    Args:
        model: the model being quantized.
        layers: its leaf layers to decide.

    Returns:
        A dict from ``id(layer)`` to the sentence saying why it stays float32.

    Example:
        >>> import nnfast
        >>> inp = nnfast.Input((8, 8, 4))
        >>> x = DepthwiseConv2D(3)(Conv2D(16, 1)(inp))
        >>> model = nnfast.Model(inp, Conv2D(4, 1)(x))
        >>> len(int8_kept_float32_reasons(model, model.layers))  # 4 depthwise channels
        3
    """
    partners = depthwise_partners(model)
    stem_fed = stem_fed_depthwise(model)

    def reason_of(layer):
        return None if id(layer) in stem_fed else int8_kept_float32_reason(layer)

    reasons = {}
    for layer in layers:
        depthwise = partners.get(id(layer))
        if depthwise is None:
            reason = reason_of(layer)
        elif layer.dtype_policy.quantization_mode is not None:
            reason = None  # (quantize's own error: already quantized)
        else:
            why = reason_of(depthwise)
            reason = None if why is None else (
                f"next to {depthwise.name}, kept float32 ({why.split(':')[0]}): they run as "
                "one float32 chain")
        if reason is not None:
            reasons[id(layer)] = reason
    return reasons
