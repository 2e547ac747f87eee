"""The inference plan of a Functional model: layer chains merged into single passes.

When nothing records gradients and ``training`` is off, a Functional model runs this plan
instead of its layer-by-layer one. It merges, where each intermediate result feeds only the
next layer and is not a model output,

    [ZeroPadding2D ->] Conv2D | DepthwiseConv2D [-> BatchNormalization]
        [-> Add(with one other tensor)] [-> ReLU | Activation]

into one ``ops.conv2d_inference`` call: the batch normalization with its moving statistics
becomes a per-channel scale and bias in the convolution's epilogue, the zero padding part of
the convolution's padding, a residual connection's sum and the activation its output pass.
(MobileNetV2 and ResNet50 are such chains; run separately, the normalization, sum and
activation passes re-read every feature map and cost about 40% of the convolution time at
batch 32.)

The folded numbers come from the layers' current weights at every call, so training between
predictions and ``set_weights`` need no invalidation. Results equal the unfused plan up to
float32 rounding (the normalization is applied as ``x * s + t`` instead of
``(x - mean) / sqrt(var + eps) * gamma + beta``).
"""
import numpy as np

from nnfast import activations, ops
from nnfast.ops.nn import ACTIVATION_IDS, DEFAULT_ALPHA


def _simple(entry):
    """A plan entry that runs its layer's own ``call`` (not an earlier fusion, not an
    activity-regularized wrapper) from one input slot to one output slot, with no extra
    arguments."""
    layer, call, _, direct, _, args, kwargs, extra, out = entry
    return (direct and isinstance(out, int) and not args and not kwargs and not extra
            and _own_call(layer, call))


def _own_call(layer, call):
    return getattr(call, "__self__", None) is layer and \
        getattr(call, "__func__", None) is type(layer).call


def _conv_layer(layer):
    """(depthwise, has_activation) for a conv layer this plan can fuse, else None."""
    from nnfast.layers.convolutional import BaseConvND, Conv2D, DepthwiseConv2D

    if isinstance(layer, Conv2D):
        depthwise = False
        if type(layer).call is not BaseConvND.call:
            return None
    elif isinstance(layer, DepthwiseConv2D):
        depthwise = True
        if type(layer).call is not DepthwiseConv2D.call:
            return None
    else:
        return None
    if layer.dtype_policy.quantization_mode is not None and (depthwise or layer.groups != 1):
        return None
    if not (layer.built and layer.data_format == "channels_last"
            and layer.activity_regularizer is None
            and (layer._fused == "linear" or layer._fused in ACTIVATION_IDS)):
        return None
    return depthwise, layer._fused not in ("linear",)


def _batch_norm_layer(layer):
    from nnfast.layers.normalization import BatchNormalization

    return (isinstance(layer, BatchNormalization)
            and type(layer).call is BatchNormalization.call and layer.built
            and layer._axis == 3 and getattr(layer, "activity_regularizer", None) is None)


def _activation_of(layer):
    """(name, alpha, max_value, threshold) of an activation layer the conv can apply, or None."""
    from nnfast.layers.activations import ReLU
    from nnfast.layers.core import Activation

    if type(layer) is ReLU:
        return ("relu", float(layer.negative_slope), layer.max_value, float(layer.threshold))
    if type(layer) is Activation:
        name = activations.fused_name(layer.activation)
        if name in ACTIVATION_IDS:
            return (name, 0.0, None, 0.0)
    return None


def _residual_add(entry, chain_out):
    """The slot of the other input when ``entry`` is ``Add()([chain_out, other])`` (either
    order), else None."""
    from nnfast.layers.merging import Add
    from nnfast.models.functional import _Slot

    layer, call, _, direct, spec, args, kwargs, extra, out = entry
    if (type(layer) is not Add or not _own_call(layer, call) or direct or args or kwargs
            or extra or not isinstance(out, int)):
        return None
    if not (isinstance(spec, (list, tuple)) and len(spec) == 2
            and all(isinstance(s, _Slot) for s in spec)):
        return None
    a, b = spec[0].index, spec[1].index
    if a == b or chain_out not in (a, b):
        return None
    return b if a == chain_out else a


def _padding_of(layer):
    from nnfast.layers.reshaping_image import ZeroPadding2D

    if type(layer) is ZeroPadding2D and layer.data_format == "channels_last":
        return tuple(tuple(int(v) for v in p) for p in layer.padding)
    return None


class _ConvChain:
    """The fused callable of one chain (see the module docstring): ``f(x)``, or with a
    residual sum ``f([x, other])``."""

    def __init__(self, conv, depthwise, bn, act_layer, zero_padding, residual):
        self.conv, self.depthwise, self.bn, self.act_layer = conv, depthwise, bn, act_layer
        self.zero_padding, self.residual = zero_padding, residual
        if act_layer is None:
            name = conv._fused if conv._fused != "linear" else None
            self.act = (name, DEFAULT_ALPHA.get(name, 0.0), None, 0.0)
        else:
            self.act = _activation_of(act_layer)

    def folded(self):
        """(bias, scale) of the epilogue: the conv's bias with the normalization folded in."""
        conv, bn = self.conv, self.bn
        bias = None if conv.bias is None else conv.bias.value
        scale = None
        if bn is not None:
            mean, var = bn.moving_mean.value, bn.moving_variance.value
            scale = np.float32(1.0) / np.sqrt(var + np.float32(bn.epsilon))
            if bn.gamma is not None:
                scale = scale * bn.gamma.value
            shift = -mean * scale if bias is None else (bias - mean) * scale
            bias = shift if bn.beta is None else shift + bn.beta.value
        return bias, scale

    def is_pointwise(self):
        conv = self.conv
        return (not self.depthwise and tuple(conv.kernel_size) == (1, 1)
                and tuple(conv.strides) == (1, 1) and conv.groups == 1
                and self.zero_padding == ((0, 0), (0, 0)))

    def __call__(self, inputs):
        conv = self.conv
        other = None
        if self.residual:
            inputs, other = inputs
        bias, scale = self.folded()
        name, alpha, max_value, threshold = self.act
        if conv.dtype_policy.quantization_mode == "int8":
            return self._int8(inputs, other, bias, scale)
        if other is not None and tuple(other.shape) != tuple(
                conv.compute_output_shape(tuple(inputs.shape))):
            # A broadcasting sum: the convolution alone, then the sum and the activation.
            y = ops.conv2d_inference(inputs, conv.kernel, bias, scale, conv.strides,
                                     conv.padding, conv.dilation_rate, self.depthwise, None,
                                     zero_padding=self.zero_padding)
            y = ops.add(y, other)
            return y if self.act_layer is None else self.act_layer.call(y)
        return ops.conv2d_inference(inputs, conv.kernel, bias, scale, conv.strides,
                                    conv.padding, conv.dilation_rate, self.depthwise, name,
                                    alpha, max_value, threshold, self.zero_padding, other)


    def _int8(self, inputs, other, bias, scale):
        """A quantized Conv2D's chain: the normalization folded into the dequantizing step
        (ops.quantized_conv.int8_conv_inference)."""
        from nnfast.layers.quantization import packed_kernel
        from nnfast.ops.quantized_conv import int8_conv_inference

        conv = self.conv
        name, alpha, max_value, threshold = self.act
        if other is not None and tuple(other.shape) != tuple(
                conv.compute_output_shape(tuple(inputs.shape))):
            y = int8_conv_inference(inputs, conv.kernel.value, conv.kernel_scale.value,
                                    packed_kernel(conv.kernel), bias, scale, conv.strides,
                                    conv.padding, conv.dilation_rate,
                                    zero_padding=self.zero_padding)
            y = ops.add(y, other)
            return y if self.act_layer is None else self.act_layer.call(y)
        return int8_conv_inference(inputs, conv.kernel.value, conv.kernel_scale.value,
                                   packed_kernel(conv.kernel), bias, scale, conv.strides,
                                   conv.padding, conv.dilation_rate, name, alpha, max_value,
                                   threshold, self.zero_padding, other)


class _SeparableChain:
    """A depthwise chain feeding only a pointwise chain, run as one
    ``ops.separable_inference`` call: the depthwise output stays in the cache."""

    def __init__(self, dw, pw):
        self.dw, self.pw = dw, pw

    def __call__(self, inputs):
        other = None
        if self.pw.residual:
            inputs, other = inputs
        conv = self.dw.conv
        if self.pw.conv.dtype_policy.quantization_mode is not None:  # quantized after planning
            return self.pw(self.dw(inputs) if other is None else [self.dw(inputs), other])
        if other is not None:
            want = conv.compute_output_shape(tuple(inputs.shape))[:3] + (
                self.pw.conv.kernel.shape[-1],)
            if tuple(other.shape) != tuple(want):   # a broadcasting sum: one chain at a time
                return self.pw([self.dw(inputs), other])
        dw_bias, dw_scale = self.dw.folded()
        pw_bias, pw_scale = self.pw.folded()
        return ops.separable_inference(
            inputs, conv.kernel, dw_bias, dw_scale, self.pw.conv.kernel, pw_bias, pw_scale,
            conv.strides, conv.padding, conv.dilation_rate, self.dw.act, self.pw.act,
            self.dw.zero_padding, other)


def inference_plan(plan, output_slots):
    """``plan`` (Functional's list of layer calls) with fusable chains merged; the slots the
    merged layers wrote in between are then never written."""
    from nnfast.models.functional import plan_readers

    readers = plan_readers(plan)
    outputs = set(output_slots)

    def sole_next(i):
        """The index of the only reader of entry i's output when it is simple and the output
        is not a model output."""
        out = plan[i][8]
        if not isinstance(out, int) or out in outputs:
            return None
        users = readers.get(out, [])
        if len(users) != 1 or users[0] in merged or not _simple(plan[users[0]]):
            return None
        return users[0]

    merged, replace = set(), {}
    for i, entry in enumerate(plan):
        if i in merged or not _simple(entry):
            continue
        chain = [i]
        zero_padding = ((0, 0), (0, 0))
        pad = _padding_of(entry[0])
        if pad is not None:
            j = sole_next(i)
            if j is None or _conv_layer(plan[j][0]) is None:
                continue
            zero_padding = pad
            chain.append(j)
        conv = plan[chain[-1]][0]
        kind = _conv_layer(conv)
        if kind is None:
            continue
        depthwise, has_activation = kind
        bn = act_layer = other = None
        if not has_activation:
            j = sole_next(chain[-1])
            if j is not None and _batch_norm_layer(plan[j][0]):
                bn = plan[j][0]
                chain.append(j)
            users = readers.get(plan[chain[-1]][8], [])
            if (not depthwise and len(users) == 1 and users[0] not in merged
                    and plan[chain[-1]][8] not in outputs):
                other = _residual_add(plan[users[0]], plan[chain[-1]][8])
                if other is not None:
                    chain.append(users[0])
            j = sole_next(chain[-1])
            if j is not None and _activation_of(plan[j][0]) is not None:
                act_layer = plan[j][0]
                chain.append(j)
        if len(chain) == 1:
            continue  # a lone convolution already runs as one fused op
        first, last = plan[chain[0]], plan[chain[-1]]
        fused = _ConvChain(conv, depthwise, bn, act_layer, zero_padding, other is not None)
        merged.update(chain)
        if other is None:
            replace[chain[-1]] = (last[0], fused, False, True, first[4], (), {}, False, last[8])
        else:
            from nnfast.models.functional import _Slot

            spec = [_Slot(first[4]), _Slot(other)]
            replace[chain[-1]] = (last[0], fused, False, False, spec, (), {}, False, last[8])
    fused_plan = [replace[i] if i in replace else e for i, e in enumerate(plan)
                  if i not in merged or i in replace]
    return _merge_separable(fused_plan, outputs)


def _merge_separable(plan, outputs):
    """Merges each depthwise chain whose output only a pointwise chain (same shape of
    output, no broadcasting sum) reads into one _SeparableChain entry."""
    from nnfast.models.functional import plan_readers, _Slot

    readers = plan_readers(plan)
    drop, replace = set(), {}
    for i, entry in enumerate(plan):
        dw = entry[1]
        if not (isinstance(dw, _ConvChain) and dw.depthwise and not dw.residual
                and entry[3] and isinstance(entry[8], int) and entry[8] not in outputs):
            continue
        users = readers.get(entry[8], [])
        if len(users) != 1 or users[0] in replace:
            continue
        j = users[0]
        pw = plan[j][1]
        if not (isinstance(pw, _ConvChain) and pw.is_pointwise()
                and pw.conv.dtype_policy.quantization_mode is None):
            continue
        spec = plan[j][4]
        if pw.residual:
            if not (isinstance(spec, list) and spec[0].index == entry[8]):
                continue
            new_spec, direct = [_Slot(entry[4]), spec[1]], False
        else:
            if spec != entry[8]:
                continue
            new_spec, direct = entry[4], True
        drop.add(i)
        replace[j] = (plan[j][0], _SeparableChain(dw, pw), False, direct, new_spec, (), {},
                      False, plan[j][8])
    return [replace.get(i, e) for i, e in enumerate(plan) if i not in drop]
