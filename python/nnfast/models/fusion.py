"""Fusion: one ordered list of rewrite rules over a model's plan (``models.plan``).

Each rule finds a chain of steps it can run as one call (``matches``) and replaces the chain
by one fused step (``rewrite``). A rule applies in training and inference, or at inference
only (when nothing records gradients and ``training`` is off). This module is the only one
that looks inside layers to fuse them; layers keep their Keras behaviour when called alone.

The rules, in order:

- ``ConvReluMaxPool`` (training and inference): ``Conv2D(relu) -> MaxPooling2D`` with
  non-overlapping windows as one op (``ops.fused.conv2d_relu_max_pool``) that never stores
  the conv output. Forward bit for bit; gradients within float32 rounding.
- ``EmbeddingRecurrence`` (training and inference): ``Embedding -> LSTM/GRU/SimpleRNN`` runs
  the recurrence straight from the table (see :class:`EmbeddingRecurrenceStep`).
- ``ConvChain`` (inference): ``[ZeroPadding2D ->] Conv2D | DepthwiseConv2D
  [-> BatchNormalization] [-> Add(with one other tensor)] [-> ReLU | Activation]`` as one
  ``ops.fused.conv2d_inference`` call: the normalization's moving statistics fold into a
  per-channel scale and bias, the zero padding into the convolution's padding, the residual
  sum and the activation into its output pass (MobileNetV2 and ResNet50 are such chains; run
  separately, those passes cost about 40% of the convolution time at batch 32).
- ``SeparableChain`` (inference): a depthwise chain feeding only a 1x1 chain as one
  ``ops.fused.separable_inference`` call, the depthwise output kept in the cache.
- ``InvertedResidualChain`` (inference): an int8 expand chain feeding only an int8
  SeparableChain as one ``int8_inverted_residual_inference`` call.
- ``Int8StemChain`` (inference): an int8 conv chain with a shallow window (MobileNetV2's 3x3x3
  stem) on ``ops.quantized_stem``: each sample's image quantized once, not each window.
- ``Int8StemBlockChain`` (inference): such a stem feeding only an int8 SeparableChain as one
  ``int8_stem_block_inference`` call over bands of rows (MobileNetV2's stem and block 0).

A chain fuses only where each intermediate result feeds only the next step and is not a
model output. Folded numbers come from the layers' current weights: each fused call compares
the bytes of the statistics, gamma, beta and bias with those it last folded
(``models.content_cache``) and folds again when one differs, so training between
predictions, ``assign`` and ``set_weights`` need no invalidation.

Example:
    >>> plan = fuse(model._plan, model, "inference")
"""
import dataclasses
import weakref

import numpy as np

from nnfast import activations, ops
from nnfast.backend.tensor import Tensor
from nnfast.layers.activations import ReLU
from nnfast.layers.convolutional import BaseConvND, Conv2D, DepthwiseConv2D
from nnfast.layers.core import Activation
from nnfast.layers.embedding import Embedding
from nnfast.layers.merging import Add
from nnfast.layers.normalization import BatchNormalization
from nnfast.layers.quantization import packed_kernel
from nnfast.layers.pooling import BasePooling
from nnfast.layers.recurrent import _RNNBase
from nnfast.layers.reshaping_image import ZeroPadding2D
from nnfast.models.content_cache import ContentKeyedCache, SameObject
from nnfast.models.plan import PlanStep, TensorRef
from nnfast.ops import (fused, quantized_conv, quantized_depthwise, quantized_separable,
                        quantized_stem)
from nnfast.ops.nn import ACTIVATION_IDS, DEFAULT_ALPHA
from nnfast.ops.precision import LOWER, compute_precision, round_floats
from nnfast.ops.rnn import embedded_input_pays

# Switch for the Conv2D(relu) -> MaxPooling2D rule (tests compare the two paths).
FUSE_CONV_POOL = True
# Switch for the int8 depthwise chains (SeparableChain on int8 layers, InvertedResidualChain),
# read when a plan is made: off, each int8 layer runs its own call (benchmarks compare).
FUSE_INT8_CHAINS = True
# Switch for Int8StemChain, read when a plan is made: off, a shallow int8 conv keeps the
# layer's own scheme (a scale per window) on the int8 GEMM.
FUSE_INT8_STEM = True


class Match:
    """What a rule found: the indices of the steps it merges (the fused step takes the last
    one's place) and the rule's own details."""

    __slots__ = ("indices", "details")

    def __init__(self, indices, **details):
        self.indices = list(indices)
        self.details = details


class Context:
    """What rules read while matching one plan: its steps, who reads each tensor id, the
    model outputs, the steps already merged in this pass, and the model."""

    def __init__(self, plan, model):
        self.plan = plan
        self.steps = plan.steps
        self.readers = plan.readers()
        self.outputs = set(plan.output_ids)
        self.merged = set()
        self.model = model

    def sole_reader(self, i):
        """The index of the only step reading step i's output, when that output is one id,
        not a model output, and the reader is not merged yet; else None."""
        out = self.steps[i].outputs
        if not isinstance(out, int) or out in self.outputs:
            return None
        users = self.readers.get(out, [])
        if len(users) != 1 or users[0] in self.merged:
            return None
        return users[0]


def _one_to_one(step):
    """One input id to one output id, no other call arguments (the call may be wrapped)."""
    return (isinstance(step.inputs, int) and isinstance(step.outputs, int) and not step.args
            and not step.kwargs and not step.refs_in_args)


# --- Conv2D(relu) -> MaxPooling2D ---------------------------------------------------------------

def conv_pool_call(conv, pool):
    """A callable ``f(x)`` computing ``pool.call(conv.call(x))`` as one fused op, or None when
    the pair does not qualify (both layers built, unsubclassed ``call``, channels_last, plain
    relu, groups 1, no activity regularizer, pool strides == pool_size, a small kernel)."""
    if not FUSE_CONV_POOL or not isinstance(conv, Conv2D) or not isinstance(pool, BasePooling):
        return None
    if type(conv).call is not BaseConvND.call or type(pool).call is not BasePooling.call:
        return None
    if conv.built and conv.dtype_policy.quantization_mode is not None:
        return None  # an int8 conv runs its own call
    if not (conv.built and conv._kernel_activation == "relu"
            and conv.data_format == "channels_last" and conv.groups == 1
            and conv.activity_regularizer is None
            and not conv.supports_masking and not pool.supports_masking):
        return None
    if not (pool.kind == "max" and pool.rank == 2 and pool.data_format == "channels_last"
            and getattr(pool, "activity_regularizer", None) is None
            and tuple(pool.strides) == tuple(pool.pool_size)):
        return None
    kshape = tuple(conv.kernel.shape)
    if not fused.conv_relu_max_pool_supported(kshape[2], kshape[3], kshape[:2], 1,
                                              pool.pool_size):
        return None

    # Under a mixed policy the pair computes in the conv layer's compute dtype, as it would
    # unfused (the plan calls this without the layers' autocast).
    dtype = conv.compute_dtype if conv._applies_dtype_policy else "float32"

    def call(inputs):
        if conv.dtype_policy.quantization_mode is not None:  # quantized after the plan was made
            return pool.call(conv.call(inputs))
        with compute_precision(dtype):
            return fused.conv2d_relu_max_pool(inputs, conv.kernel, conv.bias, conv.strides,
                                              conv.padding, conv.dilation_rate, pool.pool_size,
                                              pool.padding)

    return call


class ConvReluMaxPool:
    """``Conv2D(relu) -> MaxPooling2D`` as one op (training and inference)."""

    modes = ("training", "inference")

    def matches(self, ctx, i):
        """A Match of steps (i, its only reader) when they are such a pair, else None."""
        step = ctx.steps[i]
        if not _one_to_one(step):
            return None
        j = ctx.sole_reader(i)
        if j is None or not _one_to_one(ctx.steps[j]):
            return None
        call = conv_pool_call(step.layer, ctx.steps[j].layer)
        return None if call is None else Match([i, j], call=call)

    def rewrite(self, ctx, match):
        """The fused step: the conv's input to the pool's output."""
        conv, pool = (ctx.steps[k] for k in match.indices)
        return PlanStep(pool.layer, match.details["call"], conv.inputs, pool.outputs,
                        merged=(conv.layer, pool.layer), makes_masks=pool.makes_masks)


# --- Embedding -> recurrent layer ---------------------------------------------------------------

class EmbeddingRecurrenceStep:
    """``Embedding -> recurrent layer`` as one step.

    With (batch, steps) ids, a table not far larger than the lookups
    (``ops.rnn.embedded_input_pays``) and no input dropout in training, the recurrent layer
    runs straight from the table (``_call_on_embedding``): the input projection, d(kernel)
    and the table's gradient cost one GEMM row per distinct id instead of one per step of
    every sample, and no (batch, steps, features) embeddings or their gradient are written.
    Otherwise it calls the two layers one after the other, exactly as the plan would.
    Outputs and gradients agree up to float32 rounding; masks, states and dropout streams
    follow the same rules.
    """

    def __init__(self, embedding, recurrent, model):
        self.embedding = embedding
        self.recurrent = recurrent
        self.supports_masking = recurrent.supports_masking
        # the model running this pair: its optimizer decides the training rule
        self.owner = weakref.ref(model) if model is not None else None

    def _fused_dtype(self):
        """The compute dtype the fused pair runs in, or None when reading the table directly
        would skip a rounding the two layers make: the recurrence's bf16 products round the
        rows as a bfloat16 Embedding's output (or the layer's autocast) would; a float16
        pair, or a rounded Embedding before a float32 recurrence, runs unfused."""
        emb_dtype, rnn_dtype = (layer.compute_dtype if layer._applies_dtype_policy
                                else "float32" for layer in (self.embedding, self.recurrent))
        if emb_dtype == rnn_dtype != "float16" or (emb_dtype, rnn_dtype) == ("float32",
                                                                             "bfloat16"):
            return rnn_dtype
        return None

    def call(self, inputs, training=None, mask=None):
        emb = self.embedding
        model = self.owner() if self.owner is not None else None
        optimizer = getattr(model, "optimizer", None)
        dtype = self._fused_dtype()
        if dtype is not None and self.recurrent._fuses_embedding(training, optimizer):
            ids = inputs.value if isinstance(inputs, Tensor) else np.asarray(inputs)
            # ids as the Embedding op takes them (floats are truncated, as it does)
            if (ids.ndim == 2 and ids.dtype.kind in "biuf"
                    and embedded_input_pays(ids.shape[0], ids.shape[1], emb.input_dim)):
                # squaring optimizers (Keras's per-token rule) need each row's token squares
                squares = bool(training) and optimizer._needs_token_rows()
                if dtype not in LOWER:
                    return self.recurrent._call_on_embedding(
                        ids, emb.embeddings, emb.compute_mask(ids, mask), training, squares)
                # mixed_bfloat16: bf16 products, outputs rounded as the layer's would be
                with compute_precision(dtype):
                    out = self.recurrent._call_on_embedding(
                        ids, emb.embeddings, emb.compute_mask(ids, mask), training, squares)
                return round_floats(out, dtype)
        # (each layer with its policy's autocast and precision, as the plan runs them apart)
        x = emb._plan_call()(inputs)
        return self.recurrent._plan_call()(x, mask=emb.compute_mask(inputs, mask),
                                           training=training)


class EmbeddingRecurrence:
    """``Embedding -> LSTM/GRU/SimpleRNN`` as one step reading the table (both modes)."""

    modes = ("training", "inference")

    def matches(self, ctx, i):
        """A Match of steps (i, its only reader) for Embedding -> recurrent layer, else None."""
        step = ctx.steps[i]
        emb = step.layer
        if type(emb) is not Embedding or not _one_to_one(step) or \
                emb.__dict__.get("activity_regularizer") is not None:
            return None
        j = ctx.sole_reader(i)
        if j is None:
            return None
        rnn = ctx.steps[j].layer
        if not (isinstance(rnn, _RNNBase) and type(rnn).call is _RNNBase.call
                and _one_to_one(ctx.steps[j])
                and rnn.__dict__.get("activity_regularizer") is None):
            return None
        return Match([i, j])

    def rewrite(self, ctx, match):
        """One EmbeddingRecurrenceStep from the ids to the recurrent layer's output."""
        first, second = (ctx.steps[k] for k in match.indices)
        pair = EmbeddingRecurrenceStep(first.layer, second.layer, ctx.model)
        return PlanStep(pair, pair.call, first.inputs, second.outputs, takes_training=True,
                        takes_mask=True, merged=(first.layer, second.layer))


# --- inference conv chains ----------------------------------------------------------------------

def _conv_kind(layer):
    """(depthwise, has_activation) for a conv layer a chain can start from, else None."""
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
    if layer.dtype_policy.quantization_mode is not None and (
            layer.dtype_policy.quantization_mode != "int8" or layer.groups != 1):
        return None
    act = layer._kernel_activation
    if not (layer.built and layer.data_format == "channels_last"
            and layer.activity_regularizer is None
            and (act == "linear" or act in ACTIVATION_IDS)):
        return None
    return depthwise, act != "linear"


def _is_batch_norm(layer):
    return (isinstance(layer, BatchNormalization)
            and type(layer).call is BatchNormalization.call and layer.built
            and layer._axis == 3 and getattr(layer, "activity_regularizer", None) is None)


def _activation_of(layer):
    """(name, alpha, max_value, threshold) of an activation layer the conv can apply, or None."""
    if type(layer) is ReLU:
        return ("relu", float(layer.negative_slope), layer.max_value, float(layer.threshold))
    if type(layer) is Activation:
        name = activations.fused_name(layer.activation)
        if name in ACTIVATION_IDS:
            return (name, 0.0, None, 0.0)
    return None


def _residual_other(step, chain_out):
    """The id of the other input when ``step`` is ``Add()([chain_out, other])`` (either
    order), else None."""
    if (type(step.layer) is not Add or not step.runs_own_call() or step.single_input
            or step.args or step.kwargs or step.refs_in_args
            or not isinstance(step.outputs, int)):
        return None
    spec = step.inputs
    if not (isinstance(spec, (list, tuple)) and len(spec) == 2
            and all(isinstance(s, TensorRef) for s in spec)):
        return None
    a, b = spec[0].id, spec[1].id
    if a == b or chain_out not in (a, b):
        return None
    return b if a == chain_out else a


def _zero_padding_of(layer):
    if type(layer) is ZeroPadding2D and layer.data_format == "channels_last":
        return tuple(tuple(int(v) for v in p) for p in layer.padding)
    return None


class ConvChainCall:
    """The fused callable of one conv chain: ``f(x)``, or with a residual sum
    ``f([x, other])``."""

    def __init__(self, conv, depthwise, bn, act_layer, zero_padding, residual):
        self.conv, self.depthwise, self.bn, self.act_layer = conv, depthwise, bn, act_layer
        self.zero_padding, self.residual = zero_padding, residual
        self._fold_cache = ContentKeyedCache(self._fold)
        self._int8_bound = ContentKeyedCache(lambda *weights: self._bind_int8())
        # An int8 conv feeding an int8 depthwise layer gathers that layer's input statistics.
        self.gather_channel_absmax = False
        if act_layer is None:
            act = conv._kernel_activation
            name = act if act != "linear" else None
            self.act = (name, DEFAULT_ALPHA.get(name, 0.0), None, 0.0)
        else:
            self.act = _activation_of(act_layer)

    def folded(self):
        """(bias, scale) of the epilogue: the conv's bias with the normalization folded in,
        folded again only when a statistic, gamma, beta, the bias or epsilon changed."""
        conv, bn = self.conv, self.bn
        bias = None if conv.bias is None else conv.bias.value
        if bn is None:
            return bias, None
        return self._fold_cache.get(
            bias, bn.moving_mean.value, bn.moving_variance.value,
            None if bn.gamma is None else bn.gamma.value,
            None if bn.beta is None else bn.beta.value, bn.epsilon)

    def weights(self):
        """What the chain's prepared arguments are made of, for a ``ContentKeyedCache`` key:
        the bias, the normalization's statistics, gamma, beta and epsilon, and for an int8
        conv its kernel scales and kernel by identity (a depthwise int8 array is used in
        place, so its in-place writes need no new key; a 1x1 conv's packed kernel follows its
        array's identity as ``packed_kernel`` caches it)."""
        conv, bn = self.conv, self.bn
        parts = [None if conv.bias is None else conv.bias.value]
        if bn is not None:
            parts += (bn.moving_mean.value, bn.moving_variance.value,
                      None if bn.gamma is None else bn.gamma.value,
                      None if bn.beta is None else bn.beta.value, bn.epsilon)
        if conv.dtype_policy.quantization_mode == "int8":
            if self.depthwise:
                kernel = conv.kernel.value
                if kernel.flags.c_contiguous and kernel.dtype == np.int8:
                    kernel = SameObject(kernel)  # (else a copy is bound: compare the bytes)
            else:
                kernel = packed_kernel(conv.kernel)
            parts += (conv.kernel_scale.value, kernel)
        return parts

    @staticmethod
    def _fold(bias, mean, var, gamma, beta, epsilon):
        scale = np.float32(1.0) / np.sqrt(var + np.float32(epsilon))
        if gamma is not None:
            scale = scale * gamma
        shift = -mean * scale if bias is None else (bias - mean) * scale
        return (shift if beta is None else shift + beta), scale

    def is_pointwise(self):
        """A 1x1, stride-1, ungrouped, unpadded Conv2D chain."""
        conv = self.conv
        return (not self.depthwise and tuple(conv.kernel_size) == (1, 1)
                and tuple(conv.strides) == (1, 1) and conv.groups == 1
                and self.zero_padding == ((0, 0), (0, 0)))

    def __call__(self, inputs):
        conv = self.conv
        other = None
        if self.residual:
            inputs, other = inputs
        if conv.dtype_policy.quantization_mode == "int8":
            return self._int8(inputs, other)
        bias, scale = self.folded()
        name, alpha, max_value, threshold = self.act
        if other is not None and tuple(other.shape) != tuple(
                conv.compute_output_shape(tuple(inputs.shape))):
            # A broadcasting sum: the convolution alone, then the sum and the activation.
            y = fused.conv2d_inference(inputs, conv.kernel, bias, scale, conv.strides,
                                       conv.padding, conv.dilation_rate, self.depthwise, None,
                                       zero_padding=self.zero_padding)
            y = ops.add(y, other)
            return y if self.act_layer is None else self.act_layer.call(y)
        return fused.conv2d_inference(inputs, conv.kernel, bias, scale, conv.strides,
                                      conv.padding, conv.dilation_rate, self.depthwise, name,
                                      alpha, max_value, threshold, self.zero_padding, other)

    def _int8(self, inputs, other):
        """A quantized Conv2D's chain: the normalization folded into the dequantizing step
        (ops.quantized_conv.int8_conv_inference)."""
        conv = self.conv
        if self.depthwise:  # (never with a residual: ConvChain does not match one)
            bias, scale = self.folded()
            name, alpha, max_value, threshold = self.act
            return quantized_depthwise.int8_depthwise_conv_inference(
                inputs, conv.kernel.value, conv.kernel_scale.value, bias, scale, conv.strides,
                conv.padding, conv.dilation_rate, name, alpha, max_value, threshold,
                self.zero_padding)
        if other is not None and tuple(other.shape) != tuple(
                conv.compute_output_shape(tuple(inputs.shape))):
            bias, scale = self.folded()
            y = quantized_conv.int8_conv_inference(
                inputs, conv.kernel.value, conv.kernel_scale.value, packed_kernel(conv.kernel),
                bias, scale, conv.strides, conv.padding, conv.dilation_rate,
                zero_padding=self.zero_padding)
            y = ops.add(y, other)
            return y if self.act_layer is None else self.act_layer.call(y)
        # (bound once: rebound when a weight's bytes, the kernel or the epilogue change)
        bound = self._int8_bound.get(*self.weights(), SameObject(conv.kernel.value),
                                     self.gather_channel_absmax)
        return bound(inputs, other)

    def _bind_int8(self):
        conv = self.conv
        bias, scale = self.folded()
        name, alpha, max_value, threshold = self.act
        return quantized_conv.Int8ConvInference(
            conv.kernel.value, conv.kernel_scale.value, packed_kernel(conv.kernel), bias, scale,
            conv.strides, conv.padding, conv.dilation_rate, name, alpha, max_value, threshold,
            self.zero_padding, self.gather_channel_absmax)


class ConvChain:
    """``[ZeroPadding2D ->] conv [-> BatchNormalization] [-> Add] [-> activation]`` as one
    ``conv2d_inference`` call (inference only)."""

    modes = ("inference",)

    def matches(self, ctx, i):
        """A Match of the longest chain starting at step i (two steps or more), else None."""
        steps = ctx.steps
        if not steps[i].is_plain():
            return None
        chain = [i]
        zero_padding = ((0, 0), (0, 0))
        pad = _zero_padding_of(steps[i].layer)
        if pad is not None:
            j = self._next_plain(ctx, i)
            if j is None or _conv_kind(steps[j].layer) is None:
                return None
            zero_padding = pad
            chain.append(j)
        conv = steps[chain[-1]].layer
        kind = _conv_kind(conv)
        if kind is None:
            return None
        depthwise, has_activation = kind
        bn = act_layer = other = None
        if not has_activation:
            j = self._next_plain(ctx, chain[-1])
            if j is not None and _is_batch_norm(steps[j].layer):
                bn = steps[j].layer
                chain.append(j)
            out = steps[chain[-1]].outputs
            users = ctx.readers.get(out, [])
            if (not depthwise and len(users) == 1 and users[0] not in ctx.merged
                    and out not in ctx.outputs):
                other = _residual_other(steps[users[0]], out)
                if other is not None:
                    chain.append(users[0])
            j = self._next_plain(ctx, chain[-1])
            if j is not None and _activation_of(steps[j].layer) is not None:
                act_layer = steps[j].layer
                chain.append(j)
        if len(chain) == 1:
            return None  # a lone convolution already runs as one fused op
        call = ConvChainCall(conv, depthwise, bn, act_layer, zero_padding, other is not None)
        call.gather_channel_absmax = (not depthwise and conv.dtype_policy.quantization_mode ==
                                      "int8" and self._feeds_int8_depthwise(ctx, chain[-1]))
        return Match(chain, call=call, other=other)

    @classmethod
    def _feeds_int8_depthwise(cls, ctx, i):
        """Whether step i's output goes only to an int8 DepthwiseConv2D (through a
        ZeroPadding2D or not)."""
        j = cls._next_plain(ctx, i)
        if j is not None and _zero_padding_of(ctx.steps[j].layer) is not None:
            j = cls._next_plain(ctx, j)
        if j is None:
            return False
        layer = ctx.steps[j].layer
        return (isinstance(layer, DepthwiseConv2D) and layer.built
                and layer.dtype_policy.quantization_mode == "int8")

    @staticmethod
    def _next_plain(ctx, i):
        j = ctx.sole_reader(i)
        return j if j is not None and ctx.steps[j].is_plain() else None

    def rewrite(self, ctx, match):
        """One step running the chain's ConvChainCall (inputs ``[x, other]`` with a sum)."""
        first, last = ctx.steps[match.indices[0]], ctx.steps[match.indices[-1]]
        other = match.details["other"]
        inputs = first.inputs if other is None else [TensorRef(first.inputs), TensorRef(other)]
        return PlanStep(last.layer, match.details["call"], inputs, last.outputs,
                        merged=tuple(ctx.steps[k].layer for k in match.indices),
                        makes_masks=last.makes_masks)


def _pair_inputs(first, second, residual):
    """The inputs of one step running `first` then `second`, where `second` reads only
    `first`'s output (and, with a residual, a second tensor): None when it reads otherwise."""
    spec = second.inputs
    if residual:
        if not (isinstance(spec, list) and spec[0].id == first.outputs):
            return None
        return [TensorRef(first.inputs), spec[1]]
    return first.inputs if spec == first.outputs else None


class SeparableChainCall:
    """A depthwise chain feeding only a pointwise chain, run as one
    ``separable_inference`` call: the depthwise output stays in the cache."""

    def __init__(self, dw, pw):
        self.dw, self.pw = dw, pw

    def __call__(self, inputs):
        other = None
        if self.pw.residual:
            inputs, other = inputs
        conv = self.dw.conv
        modes = (conv.dtype_policy.quantization_mode,
                 self.pw.conv.dtype_policy.quantization_mode)
        if modes == ("int8", "int8") and quantized_separable.int8_separable_available(inputs):
            return self._int8(inputs, other)
        if modes != (None, None):  # one of them quantized (maybe after planning)
            return self.pw(self.dw(inputs) if other is None else [self.dw(inputs), other])
        if other is not None:
            want = conv.compute_output_shape(tuple(inputs.shape))[:3] + (
                self.pw.conv.kernel.shape[-1],)
            if tuple(other.shape) != tuple(want):   # a broadcasting sum: one chain at a time
                return self.pw([self.dw(inputs), other])
        dw_bias, dw_scale = self.dw.folded()
        pw_bias, pw_scale = self.pw.folded()
        return fused.separable_inference(
            inputs, conv.kernel, dw_bias, dw_scale, self.pw.conv.kernel, pw_bias, pw_scale,
            conv.strides, conv.padding, conv.dilation_rate, self.dw.act, self.pw.act,
            self.dw.zero_padding, other)

    def _int8(self, inputs, other):
        """Both layers quantized: one int8 call (ops.quantized_separable)."""
        dw, pw = self.dw.conv, self.pw.conv
        if other is not None:
            want = dw.compute_output_shape(tuple(inputs.shape))[:3] + (pw.kernel.shape[-1],)
            if tuple(other.shape) != tuple(want):  # a broadcasting sum: one chain at a time
                return self.pw([self.dw(inputs), other])
        dw_bias, dw_scale = self.dw.folded()
        pw_bias, pw_scale = self.pw.folded()
        return quantized_separable.int8_separable_inference(
            inputs, dw.kernel.value, dw.kernel_scale.value, packed_kernel(pw.kernel),
            pw.kernel_scale.value, dw_bias, dw_scale, pw_bias, pw_scale, dw.strides,
            dw.padding, dw.dilation_rate, self.dw.act, self.pw.act, self.dw.zero_padding,
            other)


class SeparableChain:
    """A depthwise ConvChain whose output only a pointwise ConvChain (same output shape, no
    broadcasting sum) reads, as one ``separable_inference`` call (inference only)."""

    modes = ("inference",)

    def matches(self, ctx, i):
        """A Match of a fused depthwise step i and the pointwise step reading it, else None."""
        step = ctx.steps[i]
        dw = step.run
        if not (isinstance(dw, ConvChainCall) and dw.depthwise and not dw.residual
                and step.single_input and isinstance(step.outputs, int)
                and step.outputs not in ctx.outputs):
            return None
        j = ctx.sole_reader(i)
        if j is None:
            return None
        pw = ctx.steps[j].run
        if not (isinstance(pw, ConvChainCall) and pw.is_pointwise()):
            return None
        modes = (dw.conv.dtype_policy.quantization_mode, pw.conv.dtype_policy.quantization_mode)
        if modes not in ((None, None), ("int8", "int8")):  # (int8: SeparableChainCall._int8)
            return None
        if modes == ("int8", "int8") and not FUSE_INT8_CHAINS:
            return None
        inputs = _pair_inputs(step, ctx.steps[j], pw.residual)
        return None if inputs is None else Match([i, j], inputs=inputs)

    def rewrite(self, ctx, match):
        """One step running both chains as a SeparableChainCall."""
        dw, pw = (ctx.steps[k] for k in match.indices)
        return PlanStep(pw.layer, SeparableChainCall(dw.run, pw.run), match.details["inputs"],
                        pw.outputs, merged=dw.merged + pw.merged, makes_masks=pw.makes_masks)


class InvertedResidualCall:
    """An int8 1x1 ConvChainCall (expand) feeding only an int8 SeparableChainCall (depthwise ->
    project), run as one ``int8_inverted_residual_inference`` call: neither intermediate
    feature map is written to memory.

    The call's weight arguments are bound once (``ops.quantized_separable
    .InvertedResidualBlock``) and bound again only when the bytes of a weight they come from
    differ from those last bound (``ContentKeyedCache`` over every chain's ``weights()``):
    per call, one key of ~20 short arrays instead of three folds, six divisions and
    ~20 argument conversions."""

    def __init__(self, expand, separable):
        self.expand, self.separable = expand, separable
        self._block = ContentKeyedCache(lambda *weights: self._bind())
        self._residual_shapes = {}  # input shape -> the output shape a residual must have

    def _bind(self):
        expand, dw, pw = self.expand, self.separable.dw, self.separable.pw
        e_bias, e_scale = expand.folded()
        d_bias, d_scale = dw.folded()
        p_bias, p_scale = pw.folded()
        return quantized_separable.InvertedResidualBlock(
            packed_kernel(expand.conv.kernel), expand.conv.kernel_scale.value,
            dw.conv.kernel.value, dw.conv.kernel_scale.value, packed_kernel(pw.conv.kernel),
            pw.conv.kernel_scale.value, e_bias, e_scale, d_bias, d_scale, p_bias, p_scale,
            dw.conv.strides, dw.conv.padding, dw.conv.dilation_rate, expand.act, dw.act, pw.act,
            dw.zero_padding)

    def _output_shape(self, x_shape):
        """The block's output shape for an input of ``x_shape`` (layer geometry: fixed once
        built), remembered per shape."""
        found = self._residual_shapes.get(x_shape)
        if found is None:
            expand, dw, pw = self.expand, self.separable.dw, self.separable.pw
            hidden = expand.conv.compute_output_shape(x_shape)
            found = tuple(dw.conv.compute_output_shape(hidden)[:3]) + (
                pw.conv.kernel.shape[-1],)
            self._residual_shapes[x_shape] = found
        return found

    def __call__(self, inputs):
        other = None
        if self.separable.pw.residual:
            inputs, other = inputs
        expand, dw, pw = self.expand, self.separable.dw, self.separable.pw
        fused = (expand.conv.dtype_policy.quantization_mode == "int8"
                 and dw.conv.dtype_policy.quantization_mode == "int8"
                 and pw.conv.dtype_policy.quantization_mode == "int8"
                 and quantized_separable.int8_separable_available(inputs))
        if fused and other is not None:  # (not a broadcasting sum)
            fused = tuple(other.shape) == self._output_shape(tuple(inputs.shape))
        if not fused:  # one layer at a time (maybe quantized differently after planning)
            hidden = expand(inputs)
            return self.separable(hidden if other is None else [hidden, other])
        block = self._block.get(*expand.weights(), *dw.weights(), *pw.weights())
        return block(inputs, other)


class InvertedResidualChain:
    """An int8 1x1 ConvChain (no residual) whose output only an int8 SeparableChain reads, as one
    InvertedResidualCall (inference only; MobileNetV2's blocks)."""

    modes = ("inference",)

    def matches(self, ctx, i):
        """A Match of an int8 expand step i and the int8 separable step reading it, else None."""
        step = ctx.steps[i]
        expand = step.run
        if not (FUSE_INT8_CHAINS and isinstance(expand, ConvChainCall) and expand.is_pointwise()
                and not expand.residual and step.single_input
                and isinstance(step.outputs, int) and step.outputs not in ctx.outputs
                and expand.conv.dtype_policy.quantization_mode == "int8"):
            return None
        j = ctx.sole_reader(i)
        if j is None:
            return None
        separable = ctx.steps[j].run
        if not (isinstance(separable, SeparableChainCall)
                and separable.dw.conv.dtype_policy.quantization_mode == "int8"
                and separable.pw.conv.dtype_policy.quantization_mode == "int8"):
            return None
        inputs = _pair_inputs(step, ctx.steps[j], separable.pw.residual)
        return None if inputs is None else Match([i, j], inputs=inputs)

    def rewrite(self, ctx, match):
        """One step running the expand and separable chains as an InvertedResidualCall."""
        expand, separable = (ctx.steps[k] for k in match.indices)
        return PlanStep(separable.layer, InvertedResidualCall(expand.run, separable.run),
                        match.details["inputs"], separable.outputs,
                        merged=expand.merged + separable.merged,
                        makes_masks=separable.makes_masks)


class Int8StemCall:
    """An int8 ConvChainCall with a shallow window run by ``ops.quantized_stem`` (each sample
    quantized once: see that module for how its numbers differ from the layer's own call)."""

    def __init__(self, chain):
        self.chain = chain

    def __call__(self, inputs):
        chain = self.chain
        conv = chain.conv
        if conv.dtype_policy.quantization_mode != "int8":  # (quantized differently after planning)
            return chain(inputs)
        bias, scale = chain.folded()
        name, alpha, max_value, threshold = chain.act
        return quantized_stem.int8_stem_conv_inference(
            inputs, conv.kernel.value, conv.kernel_scale.value, bias, scale, conv.strides,
            conv.padding, name, alpha, max_value, threshold, chain.zero_padding,
            channel_absmax=chain.gather_channel_absmax)


class Int8StemChain:
    """An int8 Conv2D chain (no residual) whose window ``quantized_stem.int8_stem_applies``
    takes, as one Int8StemCall (inference only; MobileNetV2's stem)."""

    modes = ("inference",)

    def matches(self, ctx, i):
        """A Match of step i alone when it is such a chain, else None."""
        chain = ctx.steps[i].run
        if not (FUSE_INT8_STEM and isinstance(chain, ConvChainCall) and not chain.depthwise
                and not chain.residual
                and chain.conv.dtype_policy.quantization_mode == "int8"
                and quantized_stem.int8_stem_applies(chain.conv.kernel.shape,
                                                     chain.conv.dilation_rate,
                                                     chain.conv.groups)):
            return None
        return Match([i])

    def rewrite(self, ctx, match):
        """The step, running an Int8StemCall."""
        return dataclasses.replace(ctx.steps[match.indices[0]],
                                   run=Int8StemCall(ctx.steps[match.indices[0]].run))


class Int8StemBlockCall:
    """An Int8StemCall feeding only an int8 SeparableChainCall (depthwise -> project, no
    residual), run as one ``int8_stem_block_inference`` call: neither the stem's nor the
    depthwise output is written to memory."""

    def __init__(self, stem, separable):
        self.stem, self.separable = stem, separable

    def __call__(self, inputs):
        stem, dw, pw = self.stem.chain, self.separable.dw, self.separable.pw
        modes = {chain.conv.dtype_policy.quantization_mode for chain in (stem, dw, pw)}
        if not (modes == {"int8"} and quantized_separable.int8_separable_available(inputs)):
            return self.separable(self.stem(inputs))  # one layer at a time
        s_bias, s_scale = stem.folded()
        d_bias, d_scale = dw.folded()
        p_bias, p_scale = pw.folded()
        return quantized_stem.int8_stem_block_inference(
            inputs, stem.conv.kernel.value, stem.conv.kernel_scale.value, dw.conv.kernel.value,
            dw.conv.kernel_scale.value, packed_kernel(pw.conv.kernel),
            pw.conv.kernel_scale.value, s_bias, s_scale, d_bias, d_scale, p_bias, p_scale,
            stem.conv.strides, stem.conv.padding, dw.conv.strides, dw.conv.padding, stem.act,
            dw.act, pw.act, stem.zero_padding, dw.zero_padding)


class Int8StemBlockChain:
    """An Int8StemCall step whose output only an int8 SeparableChainCall (no residual,
    dilation 1) reads, as one Int8StemBlockCall (inference only; MobileNetV2's stem and
    block 0)."""

    modes = ("inference",)

    def matches(self, ctx, i):
        """A Match of the stem step i and the separable step reading it, else None."""
        step = ctx.steps[i]
        if not (FUSE_INT8_STEM and FUSE_INT8_CHAINS and isinstance(step.run, Int8StemCall)
                and step.single_input and isinstance(step.outputs, int)
                and step.outputs not in ctx.outputs):
            return None
        j = ctx.sole_reader(i)
        if j is None:
            return None
        separable = ctx.steps[j].run
        if not (isinstance(separable, SeparableChainCall) and not separable.pw.residual
                and separable.dw.conv.dtype_policy.quantization_mode == "int8"
                and separable.pw.conv.dtype_policy.quantization_mode == "int8"
                and tuple(separable.dw.conv.dilation_rate) == (1, 1)
                and ctx.steps[j].inputs == step.outputs):
            return None
        return Match([i, j])

    def rewrite(self, ctx, match):
        """One step running the stem and separable chains as an Int8StemBlockCall."""
        stem, separable = (ctx.steps[k] for k in match.indices)
        return PlanStep(separable.layer, Int8StemBlockCall(stem.run, separable.run),
                        stem.inputs, separable.outputs, merged=stem.merged + separable.merged,
                        makes_masks=separable.makes_masks)


# The rules, in the order they apply.
RULES = (ConvReluMaxPool(), EmbeddingRecurrence(), ConvChain(), SeparableChain(),
         InvertedResidualChain(), Int8StemChain(), Int8StemBlockChain())


def fuse(plan, model, mode):
    """``plan`` rewritten by the rules for ``mode``.

    Args:
        plan: a Plan (for ``"inference"``: the plan already fused for training; only the
            inference-only rules run on it).
        model: the model the plan runs (rules that need its optimizer keep a weak reference).
        mode: ``"training"`` (the rules valid in both modes) or ``"inference"``.

    Returns:
        A new Plan computing the same outputs.
    """
    if mode not in ("training", "inference"):
        raise ValueError(f"`mode` must be 'training' or 'inference'. Received: mode={mode!r}")
    for rule in RULES:
        applies = "training" in rule.modes if mode == "training" else \
            rule.modes == ("inference",)
        if applies:
            plan = _apply(rule, plan, model)
    return plan


def _apply(rule, plan, model):
    """One pass of ``rule`` over ``plan``: each match's steps become one fused step at the
    place of the last of them."""
    ctx = Context(plan, model)
    replace = {}
    for i in range(len(plan.steps)):
        if i in ctx.merged:
            continue
        match = rule.matches(ctx, i)
        if match is None:
            continue
        ctx.merged.update(match.indices)
        replace[match.indices[-1]] = rule.rewrite(ctx, match)
    if not replace:
        return plan
    return plan.with_steps(replace[i] if i in replace else step
                           for i, step in enumerate(plan.steps)
                           if i not in ctx.merged or i in replace)
