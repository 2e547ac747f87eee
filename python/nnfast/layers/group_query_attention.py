"""``GroupQueryAttention`` / ``GroupedQueryAttention`` (Keras 3's grouped-query attention, Ainslie et al., 2023).

``num_query_heads`` query heads share ``num_key_value_heads`` key/value heads: each key/value
head is repeated ``num_query_heads // num_key_value_heads`` times, then attention proceeds as
in ``MultiHeadAttention`` (query scaled by ``1/sqrt(head_dim)``, masked softmax, dropout on
the probabilities, output projection). Weights and their order are Keras's: ``query``
(m, u, h), ``key`` (m, v, h), [``gate`` (m, u, h)], ``value`` (m, v, h),
``attention_output`` (u, h, m), each with a bias over its output axes when ``use_bias``.
"""
import math

import numpy as np

from nnfast import constraints, initializers, ops, regularizers
from nnfast.backend import random as nnrandom
from nnfast.layers.attention import MultiHeadAttention, _bool_mask
from nnfast.layers.layer import Layer, standardize_shape


class GroupedQueryAttention(MultiHeadAttention):
    """Grouped-query attention over ``(batch, steps, features)`` inputs.

    Args:
        head_dim: size of each attention head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key/value heads (divides ``num_query_heads``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: biases on the projections.
        sliding_window: None or a positive int: position i attends to j only when
            ``|i - j| < sliding_window``.
        flash_attention: None or False (no flash kernel in nnfast).
        kernel_initializer: initializer of the projection kernels (default
            ``"glorot_uniform"``).
        bias_initializer: initializer of the projection biases (default ``"zeros"``).
        kernel_regularizer: penalty on the projection kernels, or None.
        bias_regularizer: penalty on the projection biases, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint applied to the kernels after each update, or None.
        bias_constraint: constraint applied to the biases after each update, or None.
        use_gate: multiply the attended values by a learned sigmoid gate.
        seed: seed of the attention dropout.

    Call: ``layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)``; output ``(batch, target_steps, features)``, scores
    ``(batch, num_query_heads, target_steps, source_steps)``.

    Example:
        >>> gqa = GroupQueryAttention(head_dim=8, num_query_heads=4, num_key_value_heads=2)
        >>> gqa(np.zeros((2, 5, 16), "float32"), np.zeros((2, 7, 16), "float32")).shape
        (2, 5, 16)
    """

    # Keras's class is GroupedQueryAttention (its files' weight paths say
    # "grouped_query_attention"), exported and written in configs as GroupQueryAttention.
    _keras_class_name = "GroupQueryAttention"

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        for name, v in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                        ("num_key_value_heads", num_key_value_heads)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                                 f"positive integer. Received: {name}={v}")
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`. "
                             f"Received: num_query_heads={num_query_heads}, "
                             f"num_key_value_heads={num_key_value_heads}")
        if sliding_window is not None and (not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        if flash_attention:
            raise ValueError("flash_attention is not available in nnfast; "
                             "use flash_attention=None.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
        Layer.__init__(self, activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        # What MultiHeadAttention's shared code (symbolic calls, masks) reads.
        self.num_heads, self.key_dim, self.value_dim = num_query_heads, head_dim, head_dim
        self._output_shape = None
        self.attention_axes = None
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = bool(use_gate)
        self.sliding_window = sliding_window
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._stream_seed = nnrandom.draw_seed() if seed is None else int(seed)
        self._offset = 0
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(head_dim))

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the projections for ``query_shape`` and ``value_shape`` (``key_shape``
        defaults to ``value_shape``); also accepts one list ``[query, value(, key)]``."""
        if isinstance(query_shape, dict):
            query_shape, value_shape, key_shape = (query_shape["query_shape"],
                                                   query_shape["value_shape"],
                                                   query_shape.get("key_shape"))
        if value_shape is None and isinstance(query_shape, list) and \
                isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None, None])[:3]
        if value_shape is None:
            value_shape = query_shape
        query_shape, value_shape = standardize_shape(query_shape), standardize_shape(value_shape)
        key_shape = value_shape if key_shape is None else standardize_shape(key_shape)
        for what, s in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(s) != 3:
                raise ValueError(f"GroupQueryAttention takes 3-D (batch, steps, features) "
                                 f"inputs; received {what} of shape {s}")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={value_shape} and "
                             f"key_shape={key_shape}")
        self._build_shapes = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not value_shape:
            self._build_shapes["key_shape"] = key_shape
        u, v, h = self.num_query_heads, self.num_key_value_heads, self.head_dim
        # Keras's attribute names (its files store the projections under "_query_dense"...).
        self.feature_dim = query_shape[-1]
        self._query_dense = self._projection((query_shape[-1],), (u, h), "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._projection((key_shape[-1],), (v, h), "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._projection((query_shape[-1],), (u, h), "gate",
                                               activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._projection((value_shape[-1],), (v, h), "value")
        self._value_dense.build(value_shape)
        self._output_dense = self._projection((u, h), (self.feature_dim,), "attention_output")
        self._output_dense.build(query_shape[:-1] + (u, h))
        for w in self.weights:  # Keras's paths: "<gqa>/query/kernel"
            w.path = f"{self.name}/{w.path}"
        self.built = True

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if key is None:
            key = value
        query_mask = getattr(query, "_keras_mask", None) if query_mask is None else query_mask
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not value:
            key_mask = getattr(key, "_keras_mask", None)
        q_shape, v_shape = np.shape(ops.convert_to_numpy(query)), np.shape(
            ops.convert_to_numpy(value))
        if len(q_shape) != 3 or len(v_shape) != 3:
            raise ValueError("GroupQueryAttention takes 3-D (batch, steps, features) inputs; "
                             f"received query {q_shape} and value {v_shape}")
        t, s = q_shape[1], v_shape[1]
        mask = self._attention_mask(t, s, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        gate = self._gate_dense(query) if self.use_gate else None
        q = ops.transpose(self._query_dense(query), (0, 2, 1, 3))      # (B, U, T, H)
        k = ops.repeat(self._key_dense(key), self.num_repeats, axis=2)
        v = ops.repeat(self._value_dense(value), self.num_repeats, axis=2)
        k = ops.transpose(k, (0, 2, 3, 1))                             # (B, U, H, S)
        v = ops.transpose(v, (0, 2, 1, 3))                             # (B, U, S, H)
        q = ops.multiply(q, np.float32(self._inverse_sqrt_head_dim))
        scores = ops.matmul(q, k)                                      # (B, U, T, S)
        probs, attended = self._attention_probs(scores, mask, training)
        out = ops.transpose(ops.matmul(attended, v), (0, 2, 1, 3))     # (B, T, U, H)
        if gate is not None:
            out = ops.multiply(out, gate)
        out = self._output_dense(out)
        if query_mask is not None:
            out._keras_mask = _bool_mask(query_mask)
        if return_attention_scores:
            return out, probs
        return out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and isinstance(query_shape, list) and \
                isinstance(query_shape[0], (list, tuple)):
            query_shape = query_shape[0]
        return tuple(query_shape)

    def get_config(self):
        config = Layer.get_config(self)
        config.update({
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "sliding_window": self.sliding_window,
            "dropout": self.dropout,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        })
        return config


GroupQueryAttention = GroupedQueryAttention
