"""``keras.ops.dot_product_attention`` from differentiable ops: per-head products on
nnfast's batched SGEMM and the C++ softmax."""
import numpy as np

from nnfast.ops._util import value as _array
from nnfast.ops.array import repeat, transpose
from nnfast.ops.math import add, matmul, multiply
from nnfast.ops.nn import softmax, tanh

# Keras's masked-logit value for float32 (``-0.7 * float32 max``-ish, as the TF backend).
_LARGE_NEGATIVE = -0.7 * 3.38953e38


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention ``softmax(q k^T * scale + bias, masked) v``.

    Args:
        query: ``(batch, T, heads, head_dim)``.
        key: ``(batch, S, kv_heads, head_dim)``; with fewer key/value heads than query
            heads (grouped-query attention) each is repeated to match.
        value: ``(batch, S, kv_heads, head_dim)``, as ``key``.
        bias: added to the logits, broadcastable to ``(batch, heads, T, S)``.
        mask: boolean, broadcastable to ``(batch, heads, T, S)``; False positions are masked.
        scale: logit scale, ``1 / sqrt(head_dim)`` by default.
        is_causal: mask key positions after each query position.
        flash_attention: must be None or False (no flash kernel on the CPU).
        attn_logits_soft_cap: when given, logits become ``cap * tanh(logits / cap)``.

    Returns:
        ``(batch, T, heads, head_dim)``.

    Example:
        >>> q = np.random.rand(2, 5, 4, 8).astype("float32")
        >>> ops.dot_product_attention(q, q, q, is_causal=True).shape
        (2, 5, 4, 8)
    """
    if flash_attention:
        raise ValueError("Flash attention is not supported by nnfast (CPU kernels); "
                         f"received flash_attention={flash_attention}")
    qs, ks, vs = (np.shape(_array(t)) for t in (query, key, value))
    if len(qs) != 4 or len(ks) != 4 or len(vs) != 4:
        raise ValueError("`dot_product_attention` only supports 4D inputs. Received: "
                         f"query.shape={qs}, key.shape={ks}, value.shape={vs}.")
    if ks[:2] != vs[:2] or ks[2] != vs[2] or qs[3] != ks[3] or qs[0] != ks[0]:
        raise ValueError(f"dot_product_attention: incompatible shapes query.shape={qs}, "
                         f"key.shape={ks}, value.shape={vs}")
    heads, kv_heads = qs[2], ks[2]
    if heads != kv_heads:
        if heads % kv_heads:
            raise ValueError(f"dot_product_attention: query heads ({heads}) must be a multiple "
                             f"of key/value heads ({kv_heads})")
        key = repeat(key, heads // kv_heads, axis=2)
        value = repeat(value, heads // kv_heads, axis=2)
    if scale is None:
        scale = 1.0 / np.sqrt(qs[3])
    q = transpose(query, (0, 2, 1, 3))   # (B, N, T, H)
    k = transpose(key, (0, 2, 3, 1))     # (B, N, H, S)
    logits = multiply(matmul(q, k), np.float32(scale))
    if bias is not None:
        logits = add(logits, bias)
    if attn_logits_soft_cap is not None:
        cap = np.float32(attn_logits_soft_cap)
        logits = multiply(tanh(multiply(logits, 1.0 / cap)), cap)
    keep = None
    if mask is not None:
        keep = np.asarray(_array(mask)).astype(bool)
    if is_causal:
        t, s = qs[1], ks[1]
        causal = np.tril(np.ones((t, s), bool))[None, None]
        keep = causal if keep is None else keep & causal
    if keep is not None:
        keep = np.broadcast_to(keep, np.shape(logits.value))
        # where(keep, logits, large_negative) with a gradient only through kept logits.
        logits = add(multiply(logits, keep.astype(np.float32)),
                     np.where(keep, 0.0, _LARGE_NEGATIVE).astype(np.float32))
    probs = softmax(logits, axis=-1)
    out = matmul(probs, transpose(value, (0, 2, 1, 3)))  # (B, N, T, H)
    return transpose(out, (0, 2, 1, 3))

