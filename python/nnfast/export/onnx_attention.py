"""ONNX converters of ``MultiHeadAttention`` and ``GroupedQueryAttention``: the projections
as ``MatMul``s, the heads by ``Reshape``/``Transpose`` (grouped-query key/value heads
repeated with ``Tile``), the scaled dot product and softmax as nnfast computes them
(``layers.attention.MultiHeadAttention.call``), with the causal and sliding-window masks
and an ``attention_mask`` tensor."""
import numpy as np

from nnfast.export.onnx_graph import ExportError
from nnfast.export.onnx_layers import _np, activation, register
from nnfast.layers.attention import _LARGE_NEGATIVE, MultiHeadAttention
from nnfast.layers.group_query_attention import GroupedQueryAttention


def _project(g, x, dense, h):
    """``dense`` (a projection of the last axis to (heads, dims)) as MatMul + Add, reshaped
    to (B, T, heads, dims)."""
    kernel = _np(dense.kernel)
    n_in = int(np.prod(dense.in_dims))
    n_out = int(np.prod(dense.out_dims))
    y = g.op("MatMul", [x, g.const(kernel.reshape(n_in, n_out), h + "/kernel")], h)
    if dense.bias is not None:
        y = g.op("Add", [y, g.const(_np(dense.bias).reshape(n_out), h + "/bias")], h)
    if dense.activation is not None:
        y = activation(g, y, dense.activation, h)
    return g.op("Reshape", [y, g.ints([0, 0] + list(dense.out_dims), h + "/shape")], h)


def _repeat_heads(g, x, heads, dims, repeats, h):
    """(B, S, heads, dims) -> (B, S, heads * repeats, dims), each head repeated in place
    (``ops.repeat(x, repeats, axis=2)``)."""
    x = g.op("Unsqueeze", [x, g.ints([3], h + "/axes")], h)
    x = g.op("Tile", [x, g.ints([1, 1, 1, repeats, 1], h + "/repeats")], h)
    return g.op("Reshape", [x, g.ints([0, 0, heads * repeats, dims], h + "/shape")], h)


def _static_mask(layer, node, value, kw, h):
    """The causal and sliding-window masks as one bool (T, S) array, or None."""
    want_causal = kw.get("use_causal_mask")
    window = getattr(layer, "sliding_window", None)
    if not want_causal and window is None:
        return None
    t = node.input_tensors[0].shape[1]
    s = (value if value is not None else node.input_tensors[0]).shape[1]
    if t is None or s is None:
        raise ExportError(f"{type(layer).__name__} '{h}' with use_causal_mask or "
                          "sliding_window needs static sequence lengths for ONNX export.")
    mask = np.ones((t, s), dtype=bool)
    if want_causal:
        mask &= np.tril(np.ones((t, s), dtype=bool))
    if window is not None:
        mask &= np.abs(np.arange(t)[:, None] - np.arange(s)[None, :]) < window
    return mask


def _attention(g, node, ins, dense, scale, repeats=1):
    """The nodes of multi-head (``repeats`` 1) or grouped-query attention as nnfast computes
    it; ``dense`` maps "query", "key", "value", "gate" (or None) and "output" to the
    layer's projections."""
    layer = node.layer
    h = layer.name
    names = {id(t): n for t, n in zip(node.input_tensors, ins)}
    kw = node.kwargs
    value = node.args[0] if node.args else kw.get("value")
    key = node.args[1] if len(node.args) > 1 else kw.get("key")
    for unsupported in ("query_mask", "value_mask", "key_mask"):
        if kw.get(unsupported) is not None:
            raise ExportError(f"{type(layer).__name__} '{h}': `{unsupported}` has no ONNX "
                              "conversion; pass an `attention_mask` instead.")
    q_in = ins[0]
    v_in = names[id(value)] if value is not None else q_in
    k_in = names[id(key)] if key is not None else v_in
    k = _project(g, k_in, dense["key"], h + "/key")
    v = _project(g, v_in, dense["value"], h + "/value")
    if repeats > 1:
        k = _repeat_heads(g, k, *dense["key"].out_dims, repeats, h + "/key")
        v = _repeat_heads(g, v, *dense["value"].out_dims, repeats, h + "/value")
    q = g.op("Transpose", [_project(g, q_in, dense["query"], h + "/query")], h,
             perm=[0, 2, 1, 3])
    k = g.op("Transpose", [k], h, perm=[0, 2, 3, 1])
    v = g.op("Transpose", [v], h, perm=[0, 2, 1, 3])
    q = g.op("Mul", [q, g.const(np.float32(scale), h + "/scale")], h)
    scores = g.op("MatMul", [q, k], h)  # (B, heads, T, S)
    mask = None
    mask_tensor = kw.get("attention_mask")
    if mask_tensor is not None:
        mask = g.op("Cast", [names[id(mask_tensor)]], h, to=9)  # bool (B, T, S)
        mask = g.op("Unsqueeze", [mask, g.ints([1], h + "/axes")], h)
    fixed = _static_mask(layer, node, value, kw, h)
    if fixed is not None:
        fixed = g.const(fixed, h + "/causal_mask", np.bool_)
        mask = fixed if mask is None else g.op("And", [mask, fixed], h)
    if mask is not None:
        scores = g.op("Where", [mask, scores, g.const(np.float32(_LARGE_NEGATIVE),
                                                      h + "/large_negative")], h)
    probs = g.op("Softmax", [scores], h, axis=-1)
    if mask is not None:  # fully masked rows are zero, as nnfast computes them
        probs = g.op("Mul", [probs, g.op("Cast", [mask], h, to=1)], h)
    out = g.op("Transpose", [g.op("MatMul", [probs, v], h)], h, perm=[0, 2, 1, 3])
    if dense.get("gate") is not None:
        out = g.op("Mul", [out, _project(g, q_in, dense["gate"], h + "/gate")], h)
    dense = dense["output"]
    n_in = int(np.prod(dense.in_dims))
    n_out = int(np.prod(dense.out_dims))
    out = g.op("Reshape", [out, g.ints([0, 0, n_in], h + "/shape")], h)
    y = g.op("MatMul", [out, g.const(_np(dense.kernel).reshape(n_in, n_out),
                                     h + "/attention_output/kernel")], h)
    if dense.bias is not None:
        y = g.op("Add", [y, g.const(_np(dense.bias).reshape(n_out), h + "/attention_output/bias")],
                 h)
    if len(dense.out_dims) > 1:
        y = g.op("Reshape", [y, g.ints([0, 0] + list(dense.out_dims), h + "/shape")], h)
    if kw.get("return_attention_scores"):
        return [y, probs]
    return y


@register(MultiHeadAttention)
def _multi_head_attention(g, node, ins):
    layer = node.layer
    dense = {"query": layer.query_dense, "key": layer.key_dense, "value": layer.value_dense,
             "gate": layer.gate_dense if layer.use_gate else None,
             "output": layer.output_dense}
    return _attention(g, node, ins, dense, layer._inverse_sqrt_key_dim)


@register(GroupedQueryAttention)
def _grouped_query_attention(g, node, ins):
    layer = node.layer
    dense = {"query": layer._query_dense, "key": layer._key_dense,
             "value": layer._value_dense,
             "gate": layer._gate_dense if layer.use_gate else None,
             "output": layer._output_dense}
    return _attention(g, node, ins, dense, layer._inverse_sqrt_head_dim, layer.num_repeats)
