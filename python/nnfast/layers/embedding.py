"""``Embedding``: integer ids -> dense vectors by table lookup."""
import numpy as np

from nnfast import config, constraints, initializers, ops, quantizers, regularizers
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor
from nnfast.layers import quantization, quantization_int4
from nnfast.layers.core import _int4_config, _reject_lora_and_quantization
from nnfast.layers.layer import Layer
from nnfast.quantizers_config import Int4QuantizationConfig


class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors: ``embeddings[ids]``.

    Args:
        input_dim: vocabulary size (largest id + 1).
        output_dim: size of each vector.
        embeddings_initializer: default ``"uniform"`` (U(-0.05, 0.05), Keras's).
        embeddings_regularizer: penalty on the embedding matrix, or None.
        embeddings_constraint: constraint applied to the matrix after each update, or None.
        lora_rank: Keras's LoRA rank; accepted but not applied (nnfast has no LoRA yet).
        activity_regularizer: penalty on the layer's output, or None.
        mask_zero: treat id 0 as padding: the output carries a mask (``ids != 0``) that
            recurrent layers use to skip padded steps. ``input_dim`` must then count id 0.
        input_length: tf.keras's argument: ignored as in Keras 3, or, with
            ``nnfast.config.set_keras_version(2)``, the input length of a model that starts
            with this layer (as Keras 2 read it).
        weights: optional ``[embeddings]`` to start from.
        lora_alpha: not implemented in nnfast (LoRA): must stay None, else ``NotImplementedError``.
        quantization_config: the ``Int4QuantizationConfig`` of a table quantized with
            ``"int4"`` (as Keras writes it in saved configs); Keras's default int8 config is
            accepted; others raise ``NotImplementedError``.

    Input ``(batch, ...)`` integers; output ``(batch, ..., output_dim)`` float32. The
    gradient touches only the looked-up rows (see ``nnfast.ops.embedding``).

    Example:
        >>> layer = keras.layers.Embedding(10000, 128, mask_zero=True)
        >>> ids = np.array([[4, 20, 0, 0]])
        >>> layer(ids).shape
        (1, 4, 128)
        >>> np.asarray(layer.compute_mask(ids))
        array([[ True,  True, False, False]])
    """

    _quantization_modes = ("int8", "int4")  # the modes an Embedding computes

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 input_length=None, activity_regularizer=None, **kwargs):
        super().__init__(weights=weights, **kwargs)
        quantization_config = _int4_config(quantization_config)
        int4 = isinstance(quantization_config, Int4QuantizationConfig)
        _reject_lora_and_quantization("Embedding", lora_rank, lora_alpha,
                                      None if int4 else quantization_config)
        self.quantization_config = quantization_config if int4 else None
        for name, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                                 f"positive integer, got {v}.")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self.supports_masking = self.mask_zero
        if input_length is not None and self._batch_input_shape is None:
            if config.keras_version() == 2:
                # Keras 2: the first layer's input_length declared the model's input (Keras 3
                # ignores it; see nnfast.config.set_keras_version).
                length = tuple(input_length) if isinstance(input_length, (list, tuple)) \
                    else (input_length,)
                self._batch_input_shape = (None,) + length

    def build(self, input_shape=None):
        if self.dtype_policy.quantization_mode == "int8":  # loading a quantized model
            quantization.add_embedding_int8_variables(self, (self.input_dim, self.output_dim))
            self.built = True
            return
        if self.dtype_policy.quantization_mode == "int4":
            quantization_int4.add_embedding_int4_variables(self, self.quantization_config)
            self.built = True
            return
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
            name="embeddings")
        self.built = True

    def call(self, inputs):
        if self.dtype_policy.quantization_mode == "int8":
            # Keras's int8 lookup: int8 rows cast to float32, divided by their row's scale.
            ids = ops.cast(inputs, "int32")
            out = ops.divide(ops.cast(ops.take(self.embeddings, ids, axis=0), "float32"),
                             ops.expand_dims(ops.take(self.embeddings_scale, ids, axis=0), -1))
        elif self.dtype_policy.quantization_mode == "int4":
            out = ops.embedding(inputs, quantization_int4.int4_embedding_table(self))
        else:
            out = ops.embedding(inputs, self.embeddings)
        if self.mask_zero:
            out._keras_mask = self.compute_mask(inputs)
        return out

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the table in place as Keras does: ``"int8"`` stores int8 rows with one
        float32 scale per row (``embeddings_scale``, abs-max over ``output_dim``); lookups
        return ``rows / scale``. ``"int4"`` packs int4 rows two per byte with one scale per
        row or per block of ``block_size`` columns (with zero points), as Keras (see
        ``nnfast.layers.quantization_int4``). Other Keras modes raise ``NotImplementedError``.

        Args:
            mode: ``"int8"`` or ``"int4"``.
            type_check: only ``Embedding`` itself is quantized (not subclasses), as Keras.
            config: ``Int8QuantizationConfig()`` (Keras's default quantizers) or None.

        Example:
            >>> layer = Embedding(100, 8)
            >>> layer.build()
            >>> layer.quantize("int8")
            >>> layer.embeddings.value.dtype, layer.embeddings_scale.shape
            (dtype('int8'), (100,))
        """
        if type_check and type(self) is not Embedding:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a "
                                      "`quantize` method implemented.")
        config = quantization.resolve_config(mode, config, "Embedding", modes=("int8", "int4"))
        if config.mode == "int4":
            quantization_int4.quantize_embedding_int4(self, config)
        else:
            quantization.quantize_embedding_int8(self)

    def _saved_variables(self):
        if self.dtype_policy.quantization_mode == "int8":
            return quantization.embedding_saved_variables(self)
        if self.dtype_policy.quantization_mode == "int4":
            return quantization_int4.embedding_int4_saved_variables(self)
        return None

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        if isinstance(inputs, KerasTensor):
            return ops.not_equal(inputs, 0)  # records Keras's NotEqual node
        ids = inputs.value if isinstance(inputs, Tensor) else np.asarray(inputs)
        return ids != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": _serialize(self.embeddings_regularizer),
            "activity_regularizer": _serialize(self.activity_regularizer),
            "embeddings_constraint": _serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        })
        if self.quantization_config is not None:  # Keras reads int4 options from here

            config["quantization_config"] = quantizers.serialize(self.quantization_config)
        return config


def _serialize(obj):
    if obj is None:
        return None
    return {"module": "keras." + type(obj).__module__.split(".")[-1],
            "class_name": type(obj).__name__, "config": obj.get_config(), "registered_name": None}
