"""ONNX converters of the numeric preprocessing layers that compute at inference:
``CategoryEncoding`` and ``Discretization`` (comparisons against a constant range or the bin
boundaries, reduced over the sample's axis), ``Resizing`` (the same source-pixel tables and
interpolation weights nnfast computes, as ``Gather`` and a linear blend, so ONNX Runtime
reproduces nnfast's numbers rather than its own resize rules), ``AutoContrast``, and
``Solarization`` (a random augmentation: identity at inference, as nnfast and Keras run it),
``Equalization`` (training only) and ``MaxNumBoundingBoxes`` (boxes only): identities too;
``IntegerLookup`` with integer indices.
"""
import numpy as np

from nnfast.export.onnx_graph import ExportError, _elem_type
from nnfast.export.onnx_layers import _identity, _in_shape, register
from nnfast.layers import augmentation, lookup
from nnfast.layers.categorical import CategoryEncoding
from nnfast.layers.discretization import Discretization
from nnfast.layers.preprocessing import Resizing
from nnfast.preprocessing import _transforms

_FLOAT, _INT64 = 1, 7  # ONNX TensorProto element types

register(augmentation.Solarization)(_identity)
# Equalization applies only in training (Keras's rule); MaxNumBoundingBoxes only pads the
# bounding boxes of a dict input: a tensor of images passes through. Both are identities in an
# exported inference graph.
register(augmentation.Equalization)(_identity)
register(augmentation.MaxNumBoundingBoxes)(_identity)


def encode_categories(g, ids, shape, mode, depth, h):
    """The ONNX nodes of Keras's categorical encoding of the int64 ``ids`` (static rank
    ``len(shape)``, batch first) as ``"one_hot"``, ``"multi_hot"`` or ``"count"`` float32
    vectors of length ``depth``. Out-of-range ids encode as zeros (nnfast raises instead)."""
    if mode == "one_hot" and len(shape) > 1 and shape[-1] == 1:
        ids = g.op("Squeeze", [ids, g.ints([-1], h + "/axes")], h)
    if mode != "one_hot" and len(shape) != 2 and not (mode == "multi_hot" and len(shape) > 2):
        raise ExportError(f"Layer '{h}': {mode!r} encoding of inputs of shape {shape} has no "
                          "ONNX conversion (batched (batch, n) inputs are converted).")
    hits = g.op("Equal", [g.op("Unsqueeze", [ids, g.ints([-1], h + "/axes")], h),
                          g.ints(np.arange(depth), h + "/categories")], h)
    hot = g.op("Cast", [hits], h, to=_FLOAT)
    if mode == "one_hot":
        return hot
    reduce = "ReduceMax" if mode == "multi_hot" else "ReduceSum"
    if reduce == "ReduceSum":  # ReduceSum takes its axes as an input from opset 13
        return g.op(reduce, [hot, g.ints([-2], h + "/axes")], h, keepdims=0)
    return g.op(reduce, [hot], h, axes=[-2], keepdims=0)


@register(CategoryEncoding)
def _category_encoding(g, node, ins):
    layer = node.layer
    h = layer.name
    if node.kwargs.get("count_weights") is not None or len(ins) > 1:
        raise ExportError(f"CategoryEncoding '{h}' called with `count_weights` has no ONNX "
                          "conversion.")
    ids = g.op("Cast", [ins[0]], h, to=_INT64)  # float ids truncate, as nnfast's astype
    return encode_categories(g, ids, _in_shape(node), layer.output_mode, layer.num_tokens, h)


@register(Discretization)
def _discretization(g, node, ins):
    layer = node.layer
    h = layer.name
    if layer.bin_boundaries is None:
        raise ExportError(f"Discretization '{h}' has no bin boundaries yet: call adapt() "
                          "first.")
    bounds = np.asarray(layer.bin_boundaries, np.float32)
    x = g.op("Cast", [ins[0]], h, to=_FLOAT)
    # np.digitize with increasing boundaries: the number of boundaries <= x.
    above = g.op("GreaterOrEqual", [g.op("Unsqueeze", [x, g.ints([-1], h + "/axes")], h),
                                    g.const(bounds, h + "/bin_boundaries")], h)
    idx = g.op("ReduceSum", [g.op("Cast", [above], h, to=_INT64), g.ints([-1], h + "/axes")],
               h, keepdims=0)
    if layer.output_mode == "int":
        # nnfast computes int32 indices; the graph declares the symbolic output's dtype
        # (float32 where the layer's dtype policy says so), so the indices take that type.

        return g.op("Cast", [idx], h, to=int(_elem_type(node.output_tensors[0].dtype)))
    return encode_categories(g, idx, _in_shape(node), layer.output_mode, len(bounds) + 1, h)


def _to_nhwc(g, x, layer, h):
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return g.op("Transpose", [x], h, perm=[0, 2, 3, 1])
    return x


def _from_nhwc(g, x, layer, h):
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return g.op("Transpose", [x], h, perm=[0, 3, 1, 2])
    return x


def _static_hw(node, layer, what):
    shape = _in_shape(node)
    if len(shape) != 4:
        raise ExportError(f"{what} '{layer.name}' exports batched images (rank 4) only; "
                          f"received input shape {shape}.")
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    hw = shape[2:4] if first else shape[1:3]
    if None in hw:
        raise ExportError(f"{what} '{layer.name}' needs a static image size for ONNX export; "
                          f"received input shape {shape}.")
    return hw


def _lerp_along(g, x, axis, lo, hi, frac, h):
    """``x[lo] * (1 - frac) + x[hi] * frac`` along ``axis`` of an NHWC tensor."""
    shape = [1, 1, 1, 1]
    shape[axis] = len(frac)
    a = g.op("Gather", [x, g.ints(lo, h + "/lo")], h, axis=axis)
    b = g.op("Gather", [x, g.ints(hi, h + "/hi")], h, axis=axis)
    w = g.const(frac.reshape(shape), h + "/frac")
    keep = g.const((np.float32(1) - frac).reshape(shape), h + "/keep")
    return g.op("Add", [g.op("Mul", [a, keep], h), g.op("Mul", [b, w], h)], h)


@register(Resizing)
def _resizing(g, node, ins):
    layer = node.layer
    h = layer.name
    if layer.antialias:
        raise ExportError(f"Resizing '{h}' with antialias=True has no ONNX conversion.")
    height, width = _static_hw(node, layer, "Resizing")
    x = _to_nhwc(g, ins[0], layer, h)
    if layer.crop_to_aspect_ratio:
        top, left, ch, cw = _transforms._crop_box(height, width, layer.height, layer.width)
        x = g.op("Slice", [x, g.ints([top, left], h + "/starts"),
                           g.ints([top + ch, left + cw], h + "/ends"),
                           g.ints([1, 2], h + "/axes")], h)
        height, width = ch, cw
    elif layer.pad_to_aspect_ratio:
        pad_h = max(int(round(width * layer.height / layer.width)) - height, 0)
        pad_w = max(int(round(height * layer.width / layer.height)) - width, 0)
        if pad_h or pad_w:
            pads = [0, pad_h // 2, pad_w // 2, 0, 0, pad_h - pad_h // 2, pad_w - pad_w // 2, 0]
            x = g.op("Pad", [x, g.ints(pads, h + "/pads"),
                             g.const(np.float32(layer.fill_value), h + "/fill_value")], h,
                     mode="constant")
            height, width = height + pad_h, width + pad_w
    if (height, width) != (layer.height, layer.width):
        for axis, out, size in ((1, layer.height, height), (2, layer.width, width)):
            if layer.interpolation == "nearest":
                idx, _ = _transforms._source_coords(out, size, "nearest")
                x = g.op("Gather", [x, g.ints(idx, h + "/index")], h, axis=axis)
            else:
                (lo, hi), frac = _transforms._source_coords(out, size, "bilinear")
                x = _lerp_along(g, x, axis, lo, hi, frac, h)
    return _from_nhwc(g, x, layer, h)


def _to_range(g, x, source, target, h):
    """``augmentation.to_range`` as ONNX nodes (the same operation order)."""
    if tuple(source) == tuple(target):
        return x
    x = g.op("Div", [g.op("Sub", [x, g.const(np.float32(source[0]), h + "/lo")], h),
                     g.const(np.float32(source[1] - source[0]), h + "/span")], h)
    return g.op("Add", [g.op("Mul", [x, g.const(np.float32(target[1] - target[0]),
                                                h + "/span")], h),
                        g.const(np.float32(target[0]), h + "/lo")], h)


@register(augmentation.AutoContrast)
def _auto_contrast(g, node, ins):
    layer = node.layer
    h = layer.name
    if len(_in_shape(node)) != 4:
        raise ExportError(f"AutoContrast '{h}' exports batched images (rank 4) only.")
    x = g.op("Cast", [ins[0]], h, to=_FLOAT)
    y = _to_range(g, x, layer.value_range, (0, 255), h)
    low = g.op("ReduceMin", [y], h, axes=[1, 2], keepdims=1)
    high = g.op("ReduceMax", [y], h, axes=[1, 2], keepdims=1)
    span = g.op("Sub", [high, low], h)
    flat = g.op("Equal", [span, g.const(np.float32(0), h + "/zero")], h)
    # A flat channel keeps its input (nnfast's NaN from 0/0 falls back to x); the divisor
    # is made 1 there so the unused branch stays finite.
    safe = g.op("Where", [flat, g.const(np.float32(1), h + "/one"), span], h)
    scale = g.op("Div", [g.const(np.float32(255), h + "/255"), safe], h)
    shift = g.op("Neg", [g.op("Mul", [low, scale], h)], h)
    y = g.op("Add", [g.op("Mul", [y, scale], h), shift], h)
    y = g.op("Clip", [y, g.const(np.float32(0), h + "/min"), g.const(np.float32(255),
                                                                    h + "/max")], h)
    y = _to_range(g, y, (0, 255), layer.value_range, h)
    return g.op("Where", [flat, x, y], h)


@register(lookup.IntegerLookup)
def _integer_lookup(g, node, ins):
    """``IntegerLookup`` (``invert=False``): each value compared with the vocabulary's keys
    (``Equal`` against a constant, so small vocabularies), the first hit's index gathered,
    out-of-vocabulary values to the OOV index (``value mod num_oov_indices`` past it with
    several, as nnfast and Keras's default take them), the mask token to 0; other output modes
    encode those indices as ``CategoryEncoding`` does (TF-IDF weights applied)."""
    layer = node.layer
    h = layer.name
    if layer.invert:
        raise ExportError(f"IntegerLookup '{h}' with invert=True (indices to values) has no "
                          "ONNX conversion.")
    if layer.num_oov_indices == 0 or (layer.num_oov_indices > 1
                                      and layer.oov_method == "farmhash"):
        raise ExportError(f"IntegerLookup '{h}': num_oov_indices={layer.num_oov_indices} "
                          f"(oov_method={layer.oov_method!r}) has no ONNX conversion (an OOV "
                          "value raises, or is placed by a string hash).")
    keys = np.asarray(layer._sorted_keys, np.int64)
    values = np.asarray(layer._sorted_values, np.int64)
    if keys.size == 0:
        raise ExportError(f"IntegerLookup '{h}' has no vocabulary yet: call adapt() or pass "
                          "`vocabulary`.")
    x = g.op("Cast", [ins[0]], h, to=_INT64)
    keys_c = g.const(keys, h + "/keys", np.int64)
    column = g.op("Unsqueeze", [x, g.ints([-1], h + "/axes")], h)
    hits = g.op("Cast", [g.op("Equal", [column, keys_c], h)], h, to=_INT64)
    found = g.op("Cast", [g.op("ReduceMax", [hits], h, axes=[-1], keepdims=0)], h, to=9)
    index = g.op("Gather", [g.const(values, h + "/indices", np.int64),
                            g.op("ArgMax", [hits], h, axis=-1, keepdims=0)], h)
    oov_start = g.const(layer._oov_start_index(), h + "/oov_start", np.int64)
    if layer.num_oov_indices == 1:
        oov = oov_start
    else:
        count = g.const(layer.num_oov_indices, h + "/oov_count", np.int64)
        slots = g.op("Mod", [x, count], h)
        oov = g.op("Add", [slots, oov_start], h)
    out = g.op("Where", [found, index, oov], h)
    if layer.mask_token is not None:
        mask_key = g.const(layer._key(layer.mask_token), h + "/mask_token", np.int64)
        # index 0 in "int" mode; dropped from the encodings (no category matches it)
        masked = 0 if layer.output_mode == "int" else np.iinfo(np.int64).max
        masked = g.const(masked, h + "/mask_index", np.int64)
        out = g.op("Where", [g.op("Equal", [x, mask_key], h), masked, out], h)
    if layer.output_mode != "int":
        mode = "count" if layer.output_mode == "tf_idf" else layer.output_mode
        out = encode_categories(g, out, _in_shape(node), mode, layer._depth(), h)
        if layer.output_mode == "tf_idf":
            out = g.op("Mul", [out, g.const(np.asarray(layer.idf_weights, np.float32),
                                            h + "/idf_weights")], h)
    return g.op("Cast", [out], h, to=int(_elem_type(node.output_tensors[0].dtype)))
