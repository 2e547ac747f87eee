"""``Masking``: marks time steps whose features all equal ``mask_value`` as padding."""
import numpy as np

from nnfast import ops
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor
from nnfast.layers.layer import Layer


class Masking(Layer):
    """Masks time steps where every feature equals ``mask_value``.

    The output is the input with masked steps set to 0, carrying a ``(batch, steps)`` mask
    that downstream recurrent layers use to skip those steps (they keep the previous state).

    Args:
        mask_value: the value a whole time step must equal to be masked (default 0.0).

    Input ``(batch, steps, features)``; output the same shape.

    Example:
        >>> model = keras.Sequential([keras.Input((10, 3)), Masking(0.0),
        ...                           keras.layers.LSTM(8)])
        >>> model.output_shape
        (None, 8)
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        if isinstance(inputs, KerasTensor):  # Keras's nodes: NotEqual then Any
            kept = ops.not_equal(inputs, self.mask_value)
            if hasattr(ops, "any"):
                return ops.any(kept, axis=-1)
            # NOTE: until nnfast.ops has `any`, the same mask as a max over 0/1 values.
            return ops.greater(ops.max(ops.cast(kept, "float32"), axis=-1), 0.0)
        x = inputs.value if isinstance(inputs, Tensor) else np.asarray(inputs)
        return np.any(x != self.mask_value, axis=-1)

    def call(self, inputs):
        mask = self.compute_mask(inputs)
        out = ops.multiply(inputs, mask[..., None].astype(np.float32))
        out._keras_mask = mask
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
