"""ONNX converter of ``ConvLSTM1D``/``2D``/``3D``, unrolled over the static number of time
steps (ONNX has no convolutional recurrent operator).

As nnfast computes the layer (``layers.conv_lstm``): every step's input convolution runs as
one ``Conv`` over ``batch * steps`` images (the layer's strides, padding and dilation, plus
the bias); then each step adds the recurrent convolution of the previous ``h`` ('same'
padding, stride 1) and applies the gates in Keras's order i, f, c, o:
``c = f * c + i * act(z_c)``, ``h = o * act(c)``. The graph works channels-first (ONNX's
convolution layout) and transposes at the edges for channels-last layers.
"""
import numpy as np

from nnfast.export.onnx_graph import ExportError, onnx_module
from nnfast.export.onnx_layers import _np, _same_pads, _spatial_attrs, activation, register
from nnfast.export.onnx_recurrent import _INT64_MIN
from nnfast.layers.conv_lstm import _ConvLSTM
from nnfast.ops.conv import output_size


def _oihw(kernel, rank):
    """Keras's (*kernel_size, in, out) kernel as ONNX's (out, in, *kernel_size)."""
    return np.ascontiguousarray(np.transpose(kernel, (rank + 1, rank) + tuple(range(rank))))


def _initial_states(g, node, ins, first, rank, h):
    """The (h0, c0) names passed to the call, channels-first, or None."""
    init = node.kwargs.get("initial_state")
    if init is None and node.args:
        init = node.args[0]
    if init is None:
        return None
    names = {id(t): n for t, n in zip(node.input_tensors, ins)}
    states = []
    for s in init:
        if id(s) not in names:
            raise ExportError(f"Layer '{h}': the initial state must be a symbolic tensor of "
                              "the model.")
        name = names[id(s)]
        if not first:
            name = g.op("Transpose", [name], h, perm=[0, rank + 1] + list(range(1, rank + 1)))
        states.append(name)
    return states


@register(_ConvLSTM)
def _conv_lstm(g, node, ins):
    layer = node.layer
    h = layer.name
    r = layer.rank
    if layer.stateful:
        raise ExportError(f"{type(layer).__name__} '{h}' is stateful; its carried state has "
                          "no ONNX form. Export a model with stateful=False.")
    shape = tuple(node.input_tensors[0].shape)
    first = layer.data_format == "channels_first"
    steps = shape[1]
    channels, spatial = (shape[2], shape[3:]) if first else (shape[-1], shape[2:-1])
    if steps is None or None in spatial:
        raise ExportError(f"{type(layer).__name__} '{h}' is unrolled over its time steps for "
                          "ONNX export and needs static time and spatial sizes; received "
                          f"input shape {shape}.")
    f = layer.filters
    out_sp = [output_size(n, k, s, d, layer.padding) for n, k, s, d in zip(
        spatial, layer.kernel_size, layer.strides, layer.dilation_rate)]
    x = ins[0]
    if not first:  # (B, T, *sp, C) -> (B, T, C, *sp)
        x = g.op("Transpose", [x], h, perm=[0, 1, r + 2] + list(range(2, r + 2)))
    if layer.go_backwards:
        x = g.op("Slice", [x, g.ints([-1], h + "/starts"), g.ints([_INT64_MIN], h + "/ends"),
                           g.ints([1], h + "/axes"), g.ints([-1], h + "/steps")], h)
    # Every step's input convolution at once, over (B * T) images.
    flat = g.op("Reshape", [x, g.ints([-1, channels] + list(spatial), h + "/shape")], h)
    bias = None if layer.bias is None else g.const(_np(layer.bias), h + "/bias")
    proj = g.op("Conv", [flat, g.const(_oihw(_np(layer.kernel), r), h + "/kernel"), bias], h,
                kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                dilations=list(layer.dilation_rate),
                **_spatial_attrs(layer.padding, list(spatial), layer.kernel_size,
                                 layer.strides, layer.dilation_rate))
    proj = g.op("Reshape", [proj, g.ints([-1, steps, 4 * f] + out_sp, h + "/shape")], h)
    states = _initial_states(g, node, ins, first, r, h)
    if states is None:
        batch = g.op("Slice", [g.op("Shape", [x], h), g.ints([0], h + "/starts"),
                               g.ints([1], h + "/ends")], h)
        state_shape = g.op("Concat", [batch, g.ints([f] + out_sp, h + "/state_shape")], h,
                           axis=0)
        zeros = g.op("ConstantOfShape", [state_shape], h,
                     value=_zero_tensor())
        states = [zeros, zeros]
    hid, cell = states
    ones = [1] * r
    begins, ends = _same_pads(out_sp, layer.kernel_size, ones, ones)
    recurrent = g.const(_oihw(_np(layer.recurrent_kernel), r), h + "/recurrent_kernel")
    split = g.ints([f, f, f, f], h + "/split")
    outs = []
    for t in range(steps):
        step = f"{h}/step_{t}"
        z = g.op("Gather", [proj, g.ints([t], step + "/index")], step, axis=1)
        z = g.op("Squeeze", [z, g.ints([1], step + "/axes")], step)
        rec = g.op("Conv", [hid, recurrent], step, kernel_shape=list(layer.kernel_size),
                   strides=ones, dilations=ones, pads=begins + ends)
        z = g.op("Add", [z, rec], step)
        zi, zf, zc, zo = g.op("Split", [z, split], step, outputs=4, axis=1)
        gate_i = activation(g, zi, layer.recurrent_activation, step)
        gate_f = activation(g, zf, layer.recurrent_activation, step)
        gate_o = activation(g, zo, layer.recurrent_activation, step)
        cell = g.op("Add", [g.op("Mul", [gate_f, cell], step),
                            g.op("Mul", [gate_i, activation(g, zc, layer.activation, step)],
                                 step)], step)
        hid = g.op("Mul", [gate_o, activation(g, cell, layer.activation, step)], step)
        if layer.return_sequences:
            outs.append(g.op("Unsqueeze", [hid, g.ints([1], step + "/axes")], step))
    if layer.return_sequences:
        out = outs[0] if len(outs) == 1 else g.op("Concat", outs, h, axis=1)
        if not first:  # (B, T, F, *sp) -> (B, T, *sp, F)
            out = g.op("Transpose", [out], h, perm=[0, 1] + list(range(3, r + 3)) + [2])
    else:
        out = hid
        if not first:
            out = g.op("Transpose", [out], h, perm=[0] + list(range(2, r + 2)) + [1])
    if not layer.return_state:
        return out
    last = [hid, cell]
    if not first:
        last = [g.op("Transpose", [s], h, perm=[0] + list(range(2, r + 2)) + [1])
                for s in last]
    return [out] + last


def _zero_tensor():
    return onnx_module().helper.make_tensor("zero", 1, [1], [0.0])
