"""``ReversibleEmbedding``: an embedding that can also project back to vocabulary logits
(Keras 3; the tied input/output embedding of language models)."""
import numpy as np

from nnfast import initializers, ops
from nnfast.layers.embedding import Embedding


class ReversibleEmbedding(Embedding):
    """An ``Embedding`` whose ``call(x, reverse=True)`` maps hidden states to logits.

    Forward (``reverse=False``): ``ids -> embeddings[ids]`` as ``Embedding``.
    Reverse: ``logits = x @ embeddings.T`` with ``tie_weights`` (default), else
    ``x @ reverse_embeddings`` (a second weight ``(output_dim, input_dim)``); with
    ``logit_soft_cap`` c the logits become ``tanh(logits / c) * c``.

    Args:
        input_dim: vocabulary size (ids run from 0 to ``input_dim - 1``).
        output_dim: size of each embedding vector.
        embeddings_initializer: initializer of the table (default ``"uniform"``).
        embeddings_regularizer: penalty on the table, or None.
        embeddings_constraint: constraint applied to the table after each update, or None.
        mask_zero: treat id 0 as padding and pass a mask downstream.
        tie_weights: reuse the embedding table for the reverse projection.
        reverse_dtype: dtype of the reverse projection (float32 or None here).
        logit_soft_cap: None or a positive float.

    Shapes: forward ``(batch, seq) -> (batch, seq, output_dim)``; reverse
    ``(batch, seq, output_dim) -> (batch, seq, input_dim)``.

    Example:
        >>> emb = ReversibleEmbedding(100, 16)
        >>> h = emb(np.array([[1, 2, 3]]))
        >>> emb(h, reverse=True).shape
        (1, 3, 100)
    """

    def __init__(self, input_dim, output_dim, tie_weights=True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        if reverse_dtype not in (None, "float32"):
            raise NotImplementedError(f"ReversibleEmbedding: reverse_dtype other than float32 "
                                      f"is not supported by nnfast. Received: "
                                      f"reverse_dtype={reverse_dtype!r}")
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim),
                initializer=initializers.get(initializers.serialize(
                    self.embeddings_initializer)),
                name="reverse_embeddings")
        self.built = True

    def __call__(self, inputs, *args, reverse=False, **kwargs):
        if reverse:
            if not self.built:
                self.build(None)
            return self.call(inputs, reverse=True)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = (ops.transpose(self.embeddings) if self.tie_weights
                  else self.reverse_embeddings)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            c = np.float32(self.logit_soft_cap)
            logits = ops.multiply(ops.tanh(ops.divide(logits, c)), c)
        return logits

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                       "logit_soft_cap": self.logit_soft_cap})
        return config
