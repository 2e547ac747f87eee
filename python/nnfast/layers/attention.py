"""Attention layers: ``MultiHeadAttention`` (Keras 3 weight layout and numerics).

Everything is composed from differentiable ``nnfast.ops`` (dense projections on the SGEMM,
batched ``matmul``, ``softmax``, ``where``, ``dropout``), so gradients come from the tape.
"""
import math

import numpy as np

from nnfast import constraints, initializers, ops, regularizers
from nnfast.backend import random as nnrandom
from nnfast.backend.keras_tensor import KerasTensor, any_symbolic
from nnfast.backend.tensor import Tensor
from nnfast.distribution.shard import mask_offsets
from nnfast.layers.layer import Layer, _shape_of, standardize_shape
from nnfast.layers.node import record_node

# Keras's Softmax layer sets masked float32 scores to -1e9 before the softmax.
_LARGE_NEGATIVE = -1e9


class _ProjectionDense(Layer):
    """The ``EinsumDense`` projections of ``MultiHeadAttention``: contracts the last
    ``in_axes`` axes of the input with a kernel ``in_dims + out_dims`` and adds a bias of
    shape ``out_dims`` (Keras's weight names ``kernel`` and ``bias``)."""

    def __init__(self, in_dims, out_dims, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint,
                 activation=None, **kwargs):
        super().__init__(**kwargs)
        self.in_dims = tuple(int(d) for d in in_dims)
        self.out_dims = tuple(int(d) for d in out_dims)
        self.use_bias = use_bias
        self.activation = activation
        self._init = (kernel_initializer, bias_initializer, kernel_regularizer,
                      bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        k_init, b_init, k_reg, b_reg, k_con, b_con = self._init
        # Fresh initializer objects per projection (as Keras clones them): a seeded
        # initializer shared between projections would otherwise give equal kernels.
        k_init = initializers.get(initializers.serialize(k_init))
        b_init = initializers.get(initializers.serialize(b_init))
        self.kernel = self.add_weight(self.in_dims + self.out_dims, initializer=k_init,
                                      regularizer=k_reg, constraint=k_con, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(self.out_dims, initializer=b_init, regularizer=b_reg,
                                        constraint=b_con, name="bias")
        self.built = True

    def call(self, x):
        n_in = int(np.prod(self.in_dims))
        n_out = int(np.prod(self.out_dims))
        shape = tuple(np.shape(x.value if isinstance(x, Tensor) else x))
        lead = shape[:len(shape) - len(self.in_dims)]
        if len(self.in_dims) > 1:
            x = ops.reshape(x, lead + (n_in,))
        kernel = ops.reshape(self.kernel, (n_in, n_out))
        bias = ops.reshape(self.bias, (n_out,)) if self.bias is not None else None
        y = ops.dense(x, kernel, bias, activation=self.activation)
        return ops.reshape(y, lead + self.out_dims)


def _bool_mask(m):
    if m is None:
        return None
    if isinstance(m, KerasTensor):
        return m if m.dtype == "bool" else ops.greater(m, 0.5)
    m = np.asarray(m.value if isinstance(m, Tensor) else m)
    return m if m.dtype == bool else m > 0.5


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.), as ``keras.layers.MultiHeadAttention``.

    Query, key and value are projected per head, the scores ``q.k / sqrt(key_dim)`` go
    through a softmax over the keys (masked positions set to -1e9 first and to 0 after, as
    Keras does), dropout applies to the probabilities in training, and the heads are
    projected back to the query's last dimension (or ``output_shape``).

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        output_shape: last dimension(s) of the output (int or tuple); default the query's.
        attention_axes: only ``None`` (attention over axis 1 of 3-D inputs) or the
            equivalent ``1``/``(1,)``; others raise ``ValueError``.
        sliding_window: when set, position ``i`` attends only to ``|i - j| < sliding_window``.
        use_gate: gate the heads with ``sigmoid(query projection)`` before the output
            projection (Keras's ``gate`` weights).
        flash_attention: only None/False (nnfast has no flash-attention kernel; True raises
            ValueError).
        kernel_initializer: initializer of every projection's kernel.
        bias_initializer: initializer of every projection's bias.
        kernel_regularizer: penalty on every projection's kernel, or None.
        bias_regularizer: penalty on every projection's bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint on every projection's kernel, or None.
        bias_constraint: constraint on every projection's bias, or None.
        seed: seed of the attention-dropout mask stream.

    Weights (Keras order): ``query/kernel (d_q, H, key_dim)``, ``query/bias (H, key_dim)``,
    ``key/...`` (``d_k``), [``gate/...``], ``value/kernel (d_v, H, value_dim)``,
    ``value/bias``, ``attention_output/kernel (H, value_dim, d_out)``,
    ``attention_output/bias (d_out,)``.

    Call: ``layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None,
    use_causal_mask=False)`` with ``query (B, T, d_q)``, ``value (B, S, d_v)``, ``key (B, S,
    d_k)`` (default ``value``), boolean ``attention_mask (B, T, S)`` (True = attend). As in
    Keras the query mask is the query tensor's own mask (``_keras_mask``, e.g. from
    ``Embedding(mask_zero=True)``); value/key masks come from the arguments or the tensors.
    Returns ``(B, T, d_out)`` and, when asked, the scores ``(B, H, T, S)``.

    Example:
        >>> mha = keras.layers.MultiHeadAttention(num_heads=4, key_dim=16)
        >>> x = np.random.default_rng(0).normal(size=(2, 6, 32)).astype("float32")
        >>> y, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
        >>> y.shape, scores.shape
        ((2, 6, 32), (2, 4, 6, 6))
    """

    _build_from_shapes_dict = True  # build_config {"shapes_dict": {...}}, as Keras writes

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        if not isinstance(num_heads, int) or num_heads <= 0:
            raise ValueError("Received an invalid value for argument `num_heads`, expected a "
                             f"positive integer. Received: num_heads={num_heads}")
        if not isinstance(key_dim, int) or key_dim <= 0:
            raise ValueError("Received an invalid value for argument `key_dim`, expected a "
                             f"positive integer. Received: key_dim={key_dim}")
        if value_dim is not None and (not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError("Received an invalid value for argument `value_dim`, expected a "
                             f"positive integer or `None`. Received: value_dim={value_dim}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
        if sliding_window is not None and (not isinstance(sliding_window, int)
                                           or sliding_window <= 0):
            raise ValueError("`sliding_window` must be `None` or a positive integer. "
                             f"Received: sliding_window={sliding_window}")
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError("`attention_axes` must be an int, list, or tuple."
                             f"Received: attention_axes={attention_axes}")
        if attention_axes is not None and tuple(attention_axes) not in ((1,), (-2,)):
            raise ValueError(
                "nnfast's MultiHeadAttention supports attention over axis 1 of 3-D inputs "
                f"only (attention_axes=None or 1). Received: attention_axes={attention_axes}")
        if flash_attention:
            raise ValueError("flash_attention is not available in nnfast; "
                             "use flash_attention=None.")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim if value_dim else key_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.use_gate = bool(use_gate)
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(int(d) for d in output_shape)
            except TypeError:
                raise ValueError(f"Invalid `output_shape`: {output_shape}. When specified, "
                                 "the `output_shape` should be of type tuple, list, or int.")
        self._output_shape = output_shape or None
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
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
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))

    # --- build ------------------------------------------------------------------------------
    def _projection(self, in_dims, out_dims, name, activation=None):
        return _ProjectionDense(in_dims, out_dims, self.use_bias, self.kernel_initializer,
                                self.bias_initializer, self.kernel_regularizer,
                                self.bias_regularizer, self.kernel_constraint,
                                self.bias_constraint, activation=activation, name=name)

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the projections for ``query_shape``, ``value_shape`` and ``key_shape``
        (default ``value_shape``); also accepts one list ``[query, value(, key)]``."""
        if isinstance(query_shape, dict):  # a build_config shapes_dict
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
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={value_shape} and "
                             f"key_shape={key_shape}")
        for what, s in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(s) != 3:
                raise ValueError(
                    f"nnfast's MultiHeadAttention takes 3-D (batch, steps, features) inputs; "
                    f"received {what} of shape {s}")
        self._build_shapes = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not value_shape:
            self._build_shapes["key_shape"] = key_shape
        h = self.num_heads
        self.query_dense = self._projection((query_shape[-1],), (h, self.key_dim), "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection((key_shape[-1],), (h, self.key_dim), "key")
        self.key_dense.build(key_shape)
        if self.use_gate:
            self.gate_dense = self._projection((query_shape[-1],), (h, self.value_dim), "gate",
                                               activation="sigmoid")
            self.gate_dense.build(query_shape)
        self.value_dense = self._projection((value_shape[-1],), (h, self.value_dim), "value")
        self.value_dense.build(value_shape)
        out = self._output_shape or (query_shape[-1],)
        self.output_dense = self._projection((h, self.value_dim), out, "attention_output")
        self.output_dense.build(query_shape[:-1] + (h, self.value_dim))
        self.attention_axes = (1,)  # Keras records the resolved axes after building
        for w in self.weights:  # Keras's paths: "<mha>/query/kernel"
            w.path = f"{self.name}/{w.path}"
        self.built = True

    # --- call -------------------------------------------------------------------------------
    def __call__(self, query, value=None, key=None, **kwargs):
        if value is None:
            raise ValueError("MultiHeadAttention needs `query` and `value`: "
                             "layer(query, value, key=None, ...)")
        if not self.built:
            self.build(_shape_of(query), _shape_of(value),
                       None if key is None else _shape_of(key))
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None
        if key is not None:
            kwargs["key"] = key
        if any_symbolic([query, value, key]):
            out_shape = self.compute_output_shape(_shape_of(query), _shape_of(value))
            if kwargs.get("return_attention_scores"):
                q, v = _shape_of(query), _shape_of(value)
                out_shape = [out_shape, (q[0], self.num_heads, q[1], v[1])]
            return record_node(self, query, out_shape, (value,), kwargs)
        return super().__call__(query, value, **kwargs)

    def _attention_mask(self, t, s, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        """Keras's ``_compute_attention_mask``: AND of the masks, ``(B|1, T, S)`` or None."""
        masks = []
        if query_mask is not None:
            masks.append(_bool_mask(query_mask)[:, :, None])
        if value_mask is not None:
            masks.append(_bool_mask(value_mask)[:, None, :])
        if key_mask is not None:
            masks.append(_bool_mask(key_mask)[:, None, :])
        if use_causal_mask:
            masks.append(np.tril(np.ones((t, s), dtype=bool))[None])
        if self.sliding_window is not None:
            i, j = np.arange(t)[:, None], np.arange(s)[None, :]
            masks.append((np.abs(i - j) < self.sliding_window)[None])
        if attention_mask is not None:
            masks.append(_bool_mask(attention_mask))
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = out & m
        return out

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if key is None:
            key = value
        # As Keras: the query mask is the query tensor's own; value/key masks fall back to
        # the tensors' masks; a key that is the value carries no separate mask.
        query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not value:
            key_mask = getattr(key, "_keras_mask", None)
        q_shape, v_shape = np.shape(ops.convert_to_numpy(query)), np.shape(
            ops.convert_to_numpy(value))
        if len(q_shape) != 3 or len(v_shape) != 3:
            raise ValueError("nnfast's MultiHeadAttention takes 3-D (batch, steps, features) "
                             f"inputs; received query {q_shape} and value {v_shape}")
        t, s = q_shape[1], v_shape[1]
        mask = self._attention_mask(t, s, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)

        gate = self.gate_dense(query) if self.use_gate else None
        q = ops.transpose(self.query_dense(query), (0, 2, 1, 3))   # (B, H, T, K)
        k = ops.transpose(self.key_dense(key), (0, 2, 3, 1))       # (B, H, K, S)
        v = ops.transpose(self.value_dense(value), (0, 2, 1, 3))   # (B, H, S, V)
        # Keras scales the projected query before the dot product (same rounding).
        q = ops.multiply(q, np.float32(self._inverse_sqrt_key_dim))
        scores = ops.matmul(q, k)                                   # (B, H, T, S)
        probs, attended = self._attention_probs(scores, mask, training)
        out = ops.transpose(ops.matmul(attended, v), (0, 2, 1, 3))  # (B, T, H, V)
        if gate is not None:
            out = ops.multiply(out, gate)
        out = self.output_dense(out)
        if query_mask is not None:
            out._keras_mask = _bool_mask(query_mask)
        if return_attention_scores:
            return out, probs
        return out

    def _attention_probs(self, scores, mask, training):
        """Softmax of ``scores`` (B, heads, T, S) under the (B, T, S) boolean ``mask``, and
        the probabilities after attention dropout (the same when not training)."""
        b, heads, t, s = scores.shape
        if mask is not None:
            m = np.broadcast_to(mask[:, None], (mask.shape[0], 1, t, s))
            scores = ops.where(m, scores, np.float32(_LARGE_NEGATIVE))
            probs = ops.softmax(scores, axis=-1)
            # Zero fully masked rows, which the softmax would make uniform.
            probs = ops.multiply(probs, m.astype(np.float32))
        else:
            probs = ops.softmax(scores, axis=-1)
        attended = probs
        if training and self.dropout > 0.0:
            draw_at, self._offset = mask_offsets(self._offset, (b, heads, t, s))
            attended = ops.dropout(probs, self.dropout, self._stream_seed, draw_at)
        return probs, attended

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and isinstance(query_shape, list) and \
                isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape = query_shape[0], query_shape[1]
        query_shape = tuple(query_shape)
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def compute_mask(self, query, mask=None):
        return getattr(query, "_keras_mask", None)

    # --- config -----------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self.attention_axes,
            "sliding_window": self.sliding_window,
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


class Attention(Layer):
    """Dot-product (Luong) attention, as ``keras.layers.Attention``.

    ``scores = query @ key^T`` (times the trainable scalar ``scale`` when ``use_scale``), or
    with ``score_mode="concat"`` ``concat_score_weight * sum(tanh(scale * (q + k)))``;
    positions where the value mask is False get ``-1e9`` added before the softmax, dropout
    applies to the weights in training, and the output is ``weights @ value`` (zeroed
    where the query mask is False).

    Args:
        use_scale: learn a scalar ``scale`` for the scores.
        score_mode: ``"dot"`` or ``"concat"``.
        dropout: dropout rate on the attention weights (training only).
        seed: seed of the dropout mask stream.

    Call: ``layer([query, value(, key)], mask=[query_mask, value_mask], training=None,
    return_attention_scores=False, use_causal_mask=False)`` with ``query (B, Tq, dim)``,
    ``value (B, Tv, dim)``; returns ``(B, Tq, dim)`` (and the weights ``(B, Tq, Tv)``).

    Example:
        >>> query = np.random.default_rng(0).normal(size=(2, 4, 8)).astype("float32")
        >>> value = np.random.default_rng(1).normal(size=(2, 6, 8)).astype("float32")
        >>> out, scores = keras.layers.Attention()([query, value], return_attention_scores=True)
        >>> out.shape, scores.shape
        ((2, 4, 8), (2, 4, 6))
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        self.supports_masking = True
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
        self._stream_seed = nnrandom.draw_seed() if seed is None else int(seed)
        self._offset = 0

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: {inputs}.")
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(f"{name} layer accepts inputs list of length 2 or 3, namely "
                             "[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or
                                 not 2 <= len(mask) <= 3):
            raise ValueError(f"{name} layer mask must be a list of length 2 or 3, namely "
                             f"[query_mask, value_mask]. Received: mask={mask}.")

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight((), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight((), initializer="ones",
                                                       name="concat_score_weight")
        self.built = True

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            if self.scale is not None:
                scores = ops.multiply(scores, self.scale)
            return scores
        s = ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3))
        if self.scale is not None:
            s = ops.multiply(self.scale, s)
        return ops.multiply(self.concat_score_weight, ops.sum(ops.tanh(s), axis=-1))

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        if mask is None:  # as Keras: the inputs' own masks
            masks = [getattr(q, "_keras_mask", None), getattr(v, "_keras_mask", None)]
            mask = masks if any(m is not None for m in masks) else None
        q_mask = _bool_mask(mask[0]) if mask else None
        v_mask = _bool_mask(mask[1]) if mask else None
        scores = self._calculate_scores(q, k)
        tq, tv = scores.shape[-2], scores.shape[-1]
        scores_mask = v_mask[..., None, :] if v_mask is not None else None
        if use_causal_mask:
            causal = np.tril(np.ones((tq, tv), dtype=bool))[None]
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            # Keras subtracts 1e9 where masked (and keeps the softmax as is afterwards).
            penalty = np.where(scores_mask, np.float32(0), np.float32(-_LARGE_NEGATIVE))
            scores = ops.subtract(scores, penalty)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            draw_at, self._offset = mask_offsets(self._offset, weights.shape)
            weights = ops.dropout(weights, self.dropout, self._stream_seed, draw_at)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            out = ops.multiply(out, q_mask[..., None].astype(np.float32))
            out._keras_mask = q_mask
        if return_attention_scores:
            return out, weights
        return out

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return _bool_mask(mask[0])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def _symbolic_call(self, inputs, *args, **kwargs):
        if not kwargs.get("return_attention_scores"):
            return super()._symbolic_call(inputs, *args, **kwargs)
        shapes = _shape_of(inputs)
        if not self.built:
            self._build_shapes = shapes
            self.build(shapes)
            self.built = True
        key_shape = shapes[2] if len(shapes) > 2 else shapes[1]
        out = [self.compute_output_shape(shapes), tuple(shapes[0][:-1]) + (key_shape[-2],)]
        return record_node(self, inputs, out, args, kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "score_mode": self.score_mode,
                       "dropout": self.dropout, "seed": self.seed})
        return config


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention, as ``keras.layers.AdditiveAttention``:
    ``scores = sum(scale * tanh(query[:, :, None] + key[:, None]), axis=-1)`` with a
    trainable ``scale`` of shape ``(dim,)`` (glorot-uniform) when ``use_scale``; masks,
    dropout and the call are those of ``Attention``.

    Args:
        use_scale: learn a scale vector applied inside the ``tanh`` score. Defaults to ``True``.
        dropout: fraction of the attention scores dropped while training. Defaults to ``0.0``.

    Example:
        >>> query, value = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> AdditiveAttention()([query, value]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight((input_shape[0][-1],), initializer="glorot_uniform",
                                         name="scale")
        self.built = True

    def _calculate_scores(self, query, key):
        s = ops.tanh(ops.add(ops.expand_dims(query, -2), ops.expand_dims(key, -3)))
        if self.use_scale:
            s = ops.multiply(self.scale, s)
        return ops.sum(s, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
