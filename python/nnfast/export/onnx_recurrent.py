"""ONNX converters of the recurrent layers: SimpleRNN, LSTM and GRU as ONNX's ``RNN``,
``LSTM`` and ``GRU`` operators, ``Bidirectional`` around them, and the generic ``RNN`` layer
over the built-in cells (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, and
``StackedRNNCells`` of them: one operator per cell, each feeding the next its sequence).

Keras keeps the gates of ``kernel`` (features, gates * units) in the order i, f, c, o (LSTM)
and z, r, h (GRU); ONNX wants i, o, f, c and z, r, h, transposed, with a leading direction
axis. GRU's ``reset_after=True`` (Keras's default, two bias rows) is ONNX's
``linear_before_reset=1``. ``go_backwards`` reverses the time axis before a forward pass,
which gives Keras's outputs in processing order.
"""
import numpy as np

from nnfast.export.onnx_graph import ExportError
from nnfast.export.onnx_layers import _activation_name, _np, register
from nnfast.layers.recurrent import GRU, LSTM, SimpleRNN
from nnfast.layers.rnn import RNN
from nnfast.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from nnfast.layers.wrappers import Bidirectional

# Keras activation name -> (ONNX activation, alpha, beta) for the recurrent operators.
_RNN_ACTIVATIONS = {
    "sigmoid": ("Sigmoid", None, None),
    "tanh": ("Tanh", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "linear": ("Affine", 1.0, 0.0),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
}


def _activations(layer, names):
    acts, alphas, betas = [], [], []
    for fn in names:
        name = _activation_name(fn)
        if name not in _RNN_ACTIVATIONS:
            raise ExportError(f"{type(layer).__name__} '{layer.name}' uses the activation "
                              f"'{name}', which ONNX's recurrent operators do not offer.")
        op, a, b = _RNN_ACTIVATIONS[name]
        acts.append(op)
        alphas.append(0.0 if a is None else a)
        betas.append(0.0 if b is None else b)
    attrs = {"activations": acts}
    if any(a != "Sigmoid" and a != "Tanh" and a != "Relu" for a in acts):
        attrs["activation_alpha"] = alphas
        attrs["activation_beta"] = betas
    return attrs


def _gate_order(layer, n_gates):
    u = layer.units
    if isinstance(layer, (LSTM, LSTMCell)):  # Keras i, f, c, o -> ONNX i, o, f, c
        blocks = [0, 3, 1, 2]
    else:
        blocks = list(range(n_gates))
    return np.concatenate([np.arange(b * u, (b + 1) * u) for b in blocks])


def _weights(layer):
    """(W, R, B) for one direction: (gates*units, features), (gates*units, units),
    (2*gates*units,)."""
    n = _np(layer.kernel).shape[1] // layer.units  # gates
    order = _gate_order(layer, n)
    w = _np(layer.kernel)[:, order].T
    r = _np(layer.recurrent_kernel)[:, order].T
    zeros = np.zeros(n * layer.units, np.float32)
    if layer.bias is None:
        b = np.concatenate([zeros, zeros])
    else:
        bias = _np(layer.bias)
        if bias.ndim == 2:  # GRU reset_after: input and recurrent bias rows
            b = np.concatenate([bias[0][order], bias[1][order]])
        else:
            b = np.concatenate([bias[order], zeros])
    return w, r, b


def _op_and_attrs(layer):
    if isinstance(layer, (LSTM, LSTMCell)):
        acts = _activations(layer, [layer.recurrent_activation, layer.activation,
                                    layer.activation])
        return "LSTM", acts, 3
    if isinstance(layer, (GRU, GRUCell)):
        acts = _activations(layer, [layer.recurrent_activation, layer.activation])
        return "GRU", dict(acts, linear_before_reset=int(layer.reset_after)), 3
    return "RNN", _activations(layer, [layer.activation]), 2


def _check(layer, node):
    if layer.stateful:
        raise ExportError(f"{type(layer).__name__} '{layer.name}' is stateful; its carried "
                          "state has no ONNX form. Export a model with stateful=False.")


def _reverse_time(g, x, h):
    return g.op("Slice", [x, g.ints([-1], h + "/starts"), g.ints([_INT64_MIN], h + "/ends"),
                          g.ints([0], h + "/axes"), g.ints([-1], h + "/steps")], h)


_INT64_MIN = np.iinfo(np.int64).min


def _initial_states(g, node, ins, n_states):
    """ONNX names of the initial states passed to the call, each (1, batch, units), or
    Nones."""
    init = node.kwargs.get("initial_state")
    if init is None and node.args:
        init = node.args[0]
    if init is None:
        return [None] * n_states
    states = list(init) if isinstance(init, (list, tuple)) else [init]
    names = {id(t): n for t, n in zip(node.input_tensors, ins)}
    out = []
    for s in states:
        if id(s) not in names:
            raise ExportError(f"Layer '{node.layer.name}': the initial state must be a "
                              "symbolic tensor of the model.")
        out.append(g.op("Unsqueeze", [names[id(s)], g.ints([0], node.layer.name + "/axes")],
                        node.layer.name))
    return out + [None] * (n_states - len(out))


def _run(g, layer, x_tbf, h, direction="forward", initial=(None, None), weights=None):
    """One ONNX recurrent operator over time-major ``x_tbf``; returns (Y, Y_h, Y_c|None)."""
    op, attrs, n_out = _op_and_attrs(layer)
    w, r, b = weights or [a[None] for a in _weights(layer)]
    inputs = [x_tbf, g.const(w, h + "/W"), g.const(r, h + "/R"), g.const(b, h + "/B"), None,
              initial[0]]
    if op == "LSTM":
        inputs.append(initial[1] if len(initial) > 1 else None)
    while inputs[-1] is None:
        inputs.pop()
    outs = g.op(op, inputs, h, outputs=n_out if op == "LSTM" else 2, hidden_size=layer.units,
                direction=direction, **attrs)
    return outs if op == "LSTM" else outs + [None]


def _sequence_out(g, y, h):
    """ONNX's Y (T, dirs, B, U) as Keras's (B, T, dirs * U)."""
    y = g.op("Transpose", [y], h, perm=[2, 0, 1, 3])
    return g.op("Reshape", [y, g.ints([0, 0, -1], h + "/shape")], h)


def _squeeze0(g, t, h):
    return g.op("Squeeze", [t, g.ints([0], h + "/axes")], h)


@register(SimpleRNN, LSTM, GRU)
def _recurrent(g, node, ins):
    layer = node.layer
    _check(layer, node)
    h = layer.name
    x = g.op("Transpose", [ins[0]], h, perm=[1, 0, 2])
    if layer.go_backwards:
        x = _reverse_time(g, x, h)
    n_states = 2 if isinstance(layer, LSTM) else 1
    y, y_h, y_c = _run(g, layer, x, h, initial=_initial_states(g, node, ins, n_states))
    out = _sequence_out(g, y, h) if layer.return_sequences else _squeeze0(g, y_h, h)
    if not layer.return_state:
        return out
    states = [_squeeze0(g, y_h, h)]
    if y_c is not None:
        states.append(_squeeze0(g, y_c, h))
    return [out] + states


@register(Bidirectional)
def _bidirectional(g, node, ins):
    layer = node.layer
    fw, bw = layer.forward_layer, layer.backward_layer
    h = layer.name
    for sub in (fw, bw):
        if type(sub) not in (SimpleRNN, LSTM, GRU):
            raise ExportError(f"Bidirectional '{h}' wraps {type(sub).__name__}; the ONNX "
                              "export covers SimpleRNN, LSTM and GRU.")
        _check(sub, node)
    if getattr(layer, "return_state", False) or len(node.input_tensors) > 1:
        raise ExportError(f"Bidirectional '{h}' with states has no ONNX conversion.")
    if fw.go_backwards or not bw.go_backwards:
        raise ExportError(f"Bidirectional '{h}': only the standard forward/backward pair "
                          "exports.")
    x = g.op("Transpose", [ins[0]], h, perm=[1, 0, 2])
    yf, hf, _ = _run(g, fw, x, h + "/forward")
    # The backward layer runs on the reversed sequence; Keras reverses its sequence output
    # back to input order before merging.
    yb, hb, _ = _run(g, bw, _reverse_time(g, x, h), h + "/backward")
    seqs = fw.return_sequences
    if seqs:
        a = _sequence_out(g, yf, h)
        b = g.op("Transpose", [_reverse_time(g, yb, h)], h, perm=[2, 0, 1, 3])
        b = g.op("Reshape", [b, g.ints([0, 0, -1], h + "/shape")], h)
    else:
        a, b = _squeeze0(g, hf, h), _squeeze0(g, hb, h)
    mode = layer.merge_mode
    if mode == "concat":
        return g.op("Concat", [a, b], h, axis=-1)
    if mode == "sum":
        return g.op("Add", [a, b], h)
    if mode == "mul":
        return g.op("Mul", [a, b], h)
    if mode == "ave":
        return g.op("Mul", [g.op("Add", [a, b], h), g.const(0.5, h + "/half")], h)
    raise ExportError(f"Bidirectional '{h}' with merge_mode={mode!r} has no ONNX conversion.")


_BUILT_IN_CELLS = (SimpleRNNCell, LSTMCell, GRUCell)


@register(RNN)
def _rnn(g, node, ins):
    """``RNN`` over a built-in cell or a ``StackedRNNCells`` of them."""
    layer = node.layer
    h = layer.name
    _check(layer, node)
    stacked = isinstance(layer.cell, StackedRNNCells)
    cells = list(layer.cell.cells) if stacked else [layer.cell]
    for cell in cells:
        if type(cell) not in _BUILT_IN_CELLS:
            raise ExportError(f"RNN '{h}' runs a {type(cell).__name__}; the ONNX export covers "
                              "SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells of them.")
    x = g.op("Transpose", [ins[0]], h, perm=[1, 0, 2])
    if layer.go_backwards:
        x = _reverse_time(g, x, h)
    initial = _initial_states(g, node, ins, 2 if isinstance(cells[0], LSTMCell) else 1)
    if stacked and any(s is not None for s in initial):
        raise ExportError(f"RNN '{h}' over StackedRNNCells with an initial state has no ONNX "
                          "conversion.")
    states = []
    for i, cell in enumerate(cells):
        hint = f"{h}/cell_{i}" if stacked else h
        y, y_h, y_c = _run(g, cell, x, hint, initial=initial)
        states += [_squeeze0(g, y_h, hint)] + ([] if y_c is None else [_squeeze0(g, y_c, hint)])
        x = _squeeze_direction(g, y, hint)  # the next cell's (T, B, U) input
    last_h = states[-2] if y_c is not None else states[-1]
    out = _sequence_out(g, y, h) if layer.return_sequences else last_h
    return [out] + states if layer.return_state else out


def _squeeze_direction(g, y, h):
    """ONNX's Y (T, 1, B, U) as the (T, B, U) input of the next operator."""
    return g.op("Squeeze", [y, g.ints([1], h + "/axes")], h)
