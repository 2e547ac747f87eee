"""ONNX converter of ``ContrastLimitedAdaptiveHistogramEqualization`` (CLAHE), computing what
the layer computes (``layers/augmentation.py``) in the same float32 operation order:

1. the image mapped to 0..255 and padded symmetrically to whole tiles (a ``Gather`` of the
   same row/column indices ``np.pad(mode="symmetric")`` takes);
2. the 256-bin histogram of every (image, tile, channel): each pixel's integer level plus
   its bin's offset is one index of a ``ScatterElements(reduction="add")`` of ones, so memory
   stays proportional to the pixels (a one-hot of 256 levels per pixel would not);
3. the clip at ``clip_limit * tile_pixels / 256`` with the excess spread evenly, ``CumSum``
   for the CDF, then the equalizing lookup table ``(cdf - min) * 255 / (pixels - min)``;
4. the tables padded by one tile on each side (edge), and each pixel's four neighbouring
   tables read with one flat ``Gather`` each, blended with the weights the layer uses
   (``augmentation._clahe_tile_weights``).

Outputs are continuous (a blend of table entries, not rounded to levels), so the export is
checked like every other layer: within 1e-5 of nnfast's output relative to its largest value.
"""
import numpy as np

from nnfast.export.onnx_graph import ExportError, onnx_module
from nnfast.export.onnx_layers import _in_shape, register
from nnfast.export.onnx_preprocessing import _from_nhwc, _static_hw, _to_nhwc, _to_range
from nnfast.layers import augmentation

_FLOAT, _INT64 = 1, 7  # ONNX TensorProto element types
_LEVELS = 256


def _fill(value, dtype):
    """A ``ConstantOfShape`` value attribute."""
    return onnx_module().numpy_helper.from_array(np.asarray([value], dtype=dtype))


def _batch_offsets(g, x, stride, h):
    """``(batch, 1, 1, 1)`` int64: ``n * stride`` for image ``n`` of the dynamic batch."""
    n = g.op("Gather", [g.op("Shape", [x], h), g.const(0, h + "/zero", np.int64)], h, axis=0)
    n_range = g.op("Range", [g.const(0, h + "/start", np.int64), n,
                             g.const(1, h + "/delta", np.int64)], h)
    offsets = g.op("Mul", [n_range, g.const(stride, h + "/stride", np.int64)], h)
    return g.op("Reshape", [offsets, g.ints([-1, 1, 1, 1], h + "/shape")], h)


def _axis_index(g, values, axis, name):
    """An int64 constant of ``values`` laid along ``axis`` (1: rows, 2: columns, 3: channels)
    of an NHWC tensor, broadcastable over the other axes."""
    shape = [1, 1, 1]
    shape[axis - 1] = len(values)
    return g.const(np.asarray(values, np.int64).reshape(shape), name, np.int64)


def _histograms(g, levels, gh, gw, th, tw, channels, h):
    """``(batch, gh, gw, channels, 256)`` float32 counts of the int64 ``levels`` (batch, gh*th,
    gw*tw, channels) per tile and channel."""
    stride = gh * gw * channels * _LEVELS
    rows = np.arange(gh * th) // th * (gw * channels * _LEVELS)  # bin offset of each row's tile
    cols = np.arange(gw * tw) // tw * (channels * _LEVELS)
    key = g.op("Add", [levels, _axis_index(g, rows, 1, h + "/tile_rows")], h)
    key = g.op("Add", [key, _axis_index(g, cols, 2, h + "/tile_cols")], h)
    key = g.op("Add", [key, _axis_index(g, np.arange(channels) * _LEVELS, 3, h + "/channels")], h)
    key = g.op("Add", [key, _batch_offsets(g, levels, stride, h)], h)
    key = g.op("Reshape", [key, g.ints([-1], h + "/flat")], h)
    ones = g.op("ConstantOfShape", [g.op("Shape", [key], h)], h, value=_fill(1, np.float32))
    n = g.op("Slice", [g.op("Shape", [levels], h), g.ints([0], h + "/starts"),
                       g.ints([1], h + "/ends")], h)
    zeros = g.op("ConstantOfShape", [g.op("Mul", [n, g.ints([stride], h + "/bins")], h)], h,
                 value=_fill(0, np.float32))
    counts = g.op("ScatterElements", [zeros, key, ones], h, axis=0, reduction="add")
    return g.op("Reshape", [counts, g.ints([-1, gh, gw, channels, _LEVELS], h + "/shape")], h)


def _lookup_tables(g, hist, tile_pixels, clip_limit, h):
    """Clipped, redistributed, equalizing CDFs of the histograms (the layer's ``_tile_cdfs``)."""
    if clip_limit > 0:
        limit = g.const(np.float32(clip_limit * tile_pixels / 256.0), h + "/clip_limit")
        clipped = g.op("Min", [hist, limit], h)
        excess = g.op("ReduceSum", [g.op("Sub", [hist, clipped], h),
                                    g.ints([-1], h + "/axes")], h, keepdims=1)
        hist = g.op("Add", [clipped, g.op("Div", [excess, g.const(np.float32(256.0),
                                                                  h + "/levels")], h)], h)
    cdf = g.op("CumSum", [hist, g.const(4, h + "/axis", np.int64)], h)
    cdf_min = g.op("ReduceMin", [cdf], h, axes=[-1], keepdims=1)
    denominator = g.op("Sub", [g.const(np.float32(tile_pixels), h + "/pixels"), cdf_min], h)
    zero = g.op("Equal", [denominator, g.const(np.float32(0), h + "/zero_f")], h)
    denominator = g.op("Where", [zero, g.const(np.float32(1), h + "/one"), denominator], h)
    lut = g.op("Div", [g.op("Mul", [g.op("Sub", [cdf, cdf_min], h),
                                    g.const(np.float32(255.0), h + "/255")], h), denominator], h)
    return g.op("Clip", [lut, g.const(np.float32(0), h + "/min"),
                         g.const(np.float32(255), h + "/max")], h)


@register(augmentation.ContrastLimitedAdaptiveHistogramEqualization)
def _clahe(g, node, ins):
    layer = node.layer
    h = layer.name
    height, width = _static_hw(node, layer, "ContrastLimitedAdaptiveHistogramEqualization")
    shape = _in_shape(node)
    channels = shape[1] if layer.data_format == "channels_first" else shape[3]
    if channels is None:
        raise ExportError(f"ContrastLimitedAdaptiveHistogramEqualization '{h}' needs a static "
                          f"channel count for ONNX export; received input shape {shape}.")
    gh, gw = (int(v) for v in layer.tile_grid_size)
    th, tw = -(-height // gh), -(-width // gw)
    x = _to_nhwc(g, g.op("Cast", [ins[0]], h, to=_FLOAT), layer, h)
    x = _to_range(g, x, layer.value_range, (0, 255), h)
    padded = x
    for axis, size, full in ((1, height, gh * th), (2, width, gw * tw)):
        if full != size:
            rows = np.pad(np.arange(size), (0, full - size), mode="symmetric")
            padded = g.op("Gather", [padded, g.ints(rows, h + "/symmetric")], h, axis=axis)
    # Integer levels as the layer takes them (clip, then truncate); the second clip keeps a
    # NaN pixel's undefined cast inside the tables.
    levels = g.op("Cast", [g.op("Clip", [padded, g.const(np.float32(0), h + "/min"),
                                         g.const(np.float32(255), h + "/max")], h)], h,
                  to=_INT64)
    levels = g.op("Clip", [levels, g.const(0, h + "/lo", np.int64),
                           g.const(_LEVELS - 1, h + "/hi", np.int64)], h)
    lut = _lookup_tables(g, _histograms(g, levels, gh, gw, th, tw, channels, h), th * tw,
                         layer.clip_limit, h)
    for axis, count in ((1, gh), (2, gw)):  # one edge tile on each side
        edge = np.clip(np.arange(-1, count + 1), 0, count - 1)
        lut = g.op("Gather", [lut, g.ints(edge, h + "/edge")], h, axis=axis)
    lut = g.op("Reshape", [lut, g.ints([-1], h + "/flat")], h)

    table = (gh + 2) * (gw + 2) * channels * _LEVELS
    levels = g.op("Slice", [levels, g.ints([0, 0], h + "/starts"),
                            g.ints([height, width], h + "/ends"), g.ints([1, 2], h + "/axes")], h)
    channel_bins = _axis_index(g, np.arange(channels) * _LEVELS, 3, h + "/channels")
    base = g.op("Add", [levels, channel_bins], h)
    base = g.op("Add", [base, _batch_offsets(g, levels, table, h)], h)
    y0, y1, wy = (a[:height] for a in augmentation._clahe_tile_weights(th * gh, th, gh))
    x0, x1, wx = (a[:width] for a in augmentation._clahe_tile_weights(tw * gw, tw, gw))

    def at(rows, cols):
        row_offsets = _axis_index(g, rows * ((gw + 2) * channels * _LEVELS), 1, h + "/rows")
        col_offsets = _axis_index(g, cols * (channels * _LEVELS), 2, h + "/cols")
        index = g.op("Add", [g.op("Add", [base, row_offsets], h), col_offsets], h)
        return g.op("Gather", [lut, index], h, axis=0)

    def blend(a, b, weight, axis):
        shape = [1, 1, 1, 1]
        shape[axis] = len(weight)
        keep = g.const((np.float32(1) - weight).reshape(shape), h + "/keep")
        take = g.const(weight.reshape(shape), h + "/weight")
        return g.op("Add", [g.op("Mul", [a, keep], h), g.op("Mul", [b, take], h)], h)

    top = blend(at(y0, x0), at(y0, x1), wx, 2)
    bottom = blend(at(y1, x0), at(y1, x1), wx, 2)
    y = _to_range(g, blend(top, bottom, wy, 1), (0, 255), layer.value_range, h)
    return _from_nhwc(g, y, layer, h)
