"""ONNX converter of ``MultiHeadAttention``: the projections as ``MatMul``s, the heads by
``Reshape``/``Transpose``, the scaled dot product and softmax as nnfast computes them
(``layers.attention.MultiHeadAttention.call``), with the causal mask and an
``attention_mask`` tensor."""
import numpy as np

from nnfast.export.onnx_graph import ExportError
from nnfast.export.onnx_layers import _np, activation, register
from nnfast.layers.attention import _LARGE_NEGATIVE, MultiHeadAttention


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


@register(MultiHeadAttention)
def _multi_head_attention(g, node, ins):
    layer = node.layer
    h = layer.name
    names = {id(t): n for t, n in zip(node.input_tensors, ins)}
    kw = node.kwargs
    value = node.args[0] if node.args else kw.get("value")
    key = node.args[1] if len(node.args) > 1 else kw.get("key")
    for unsupported in ("query_mask", "value_mask", "key_mask"):
        if kw.get(unsupported) is not None:
            raise ExportError(f"MultiHeadAttention '{h}': `{unsupported}` has no ONNX "
                              "conversion; pass an `attention_mask` instead.")
    q_in = ins[0]
    v_in = names[id(value)] if value is not None else q_in
    k_in = names[id(key)] if key is not None else v_in
    q = g.op("Transpose", [_project(g, q_in, layer.query_dense, h + "/query")], h,
             perm=[0, 2, 1, 3])
    k = g.op("Transpose", [_project(g, k_in, layer.key_dense, h + "/key")], h,
             perm=[0, 2, 3, 1])
    v = g.op("Transpose", [_project(g, v_in, layer.value_dense, h + "/value")], h,
             perm=[0, 2, 1, 3])
    q = g.op("Mul", [q, g.const(np.float32(layer._inverse_sqrt_key_dim), h + "/scale")], h)
    scores = g.op("MatMul", [q, k], h)  # (B, heads, T, S)
    mask = None
    mask_tensor = kw.get("attention_mask")
    if mask_tensor is not None:
        mask = g.op("Cast", [names[id(mask_tensor)]], h, to=9)  # bool (B, T, S)
        mask = g.op("Unsqueeze", [mask, g.ints([1], h + "/axes")], h)
    if kw.get("use_causal_mask"):
        t = node.input_tensors[0].shape[1]
        s = (value if value is not None else node.input_tensors[0]).shape[1]
        if t is None or s is None:
            raise ExportError(f"MultiHeadAttention '{h}' with use_causal_mask needs static "
                              "sequence lengths for ONNX export.")
        causal = g.const(np.tril(np.ones((t, s), dtype=bool)), h + "/causal_mask", np.bool_)
        mask = causal if mask is None else g.op("And", [mask, causal], h)
    if mask is not None:
        scores = g.op("Where", [mask, scores, g.const(np.float32(_LARGE_NEGATIVE),
                                                      h + "/large_negative")], h)
    probs = g.op("Softmax", [scores], h, axis=-1)
    if mask is not None:  # fully masked rows are zero, as nnfast computes them
        probs = g.op("Mul", [probs, g.op("Cast", [mask], h, to=1)], h)
    out = g.op("Transpose", [g.op("MatMul", [probs, v], h)], h, perm=[0, 2, 1, 3])
    if layer.use_gate:
        out = g.op("Mul", [out, _project(g, q_in, layer.gate_dense, h + "/gate")], h)
    dense = layer.output_dense
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
