"""``SpectralNormalization`` (Miyato et al., 2018), as Keras 3 computes it.

In training, each call runs ``power_iterations`` steps of the power method on the wrapped
layer's kernel (reshaped to ``(-1, last_dim)``) from the stored ``vector_u``, stores the new
``u`` and assigns ``kernel / sigma`` to the kernel before calling the layer (so gradients
reach the normalized kernel, and the optimizer updates it). Outside training the layer is
called as it is.
"""
import numpy as np

from nnfast import initializers
from nnfast.layers.layer import Layer
from nnfast.layers.wrappers import _layer_entry
from nnfast.saving.serialization import deserialize_keras_object

_EPSILON = 1e-7  # keras.ops.normalize's epsilon (backend.epsilon())


def _l2_normalize(x):
    # keras.ops.normalize(order=2): x * min(rsqrt(sum(x^2)), 1/epsilon)
    inv = np.float32(1.0) / np.sqrt(np.sum(np.square(x), dtype=np.float32))
    return x * np.minimum(inv, np.float32(1.0 / _EPSILON))


class SpectralNormalization(Layer):
    """Wraps a layer with a ``kernel`` (or ``embeddings``) and keeps its spectral norm at 1.

    Args:
        layer: the layer to wrap (e.g. ``Dense``, ``Conv2D``, ``Embedding``).
        power_iterations: power-method steps per training call (>= 1).

    Weights (Keras's order): the wrapped layer's kernel, ``vector_u``
    ``(1, kernel.shape[-1])`` (non-trainable, truncated normal with stddev 0.02), then the
    wrapped layer's other weights.

    Example:
        >>> sn = SpectralNormalization(keras.layers.Dense(8))
        >>> sn(np.ones((2, 4), "float32"), training=True).shape
        (2, 8)
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `SpectralNormalization` with a `Layer` "
                             f"instance. Received: layer={layer}")
        if not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.layer = layer
        self.power_iterations = power_iterations

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        if hasattr(self.layer, "kernel"):
            self.kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            self.kernel = self.layer.embeddings
        else:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "nor 'embeddings'")
        # As Keras, the wrapper tracks the kernel as its own variable too: its weights are
        # kernel, vector_u, then the layer's others, and its file entry holds
        # vars/0 = kernel, vars/1 = vector_u beside the layer's own.
        for w in self.layer.weights:
            if not w.path.startswith(self.name + "/"):
                w.path = f"{self.name}/{w.path}"
        if self.kernel.trainable:
            self._trainable_weights.append(self.kernel)
        else:
            self._non_trainable_weights.append(self.kernel)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel.shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
            name="vector_u")
        self.built = True

    def normalized_weights(self):
        """``(new vector_u, kernel / sigma)`` as NumPy arrays (one power-method pass)."""
        kernel = np.asarray(self.kernel.value, np.float32)
        w = kernel.reshape(-1, kernel.shape[-1])
        u = np.asarray(self.vector_u.value, np.float32)
        for _ in range(self.power_iterations):
            v = _l2_normalize(u @ w.T)
            u = _l2_normalize(v @ w)
        sigma = (v @ w) @ u.T
        return u, (kernel / sigma).astype(np.float32)

    def call(self, inputs, training=False):
        if training and np.any(np.asarray(self.kernel.value) != 0):
            u, kernel = self.normalized_weights()
            self.vector_u.assign(u)
            self.kernel.assign(kernel)
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"layer": _layer_entry(self.layer),
                       "power_iterations": self.power_iterations})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["layer"], dict):
            config["layer"] = deserialize_keras_object(config["layer"])
        return cls(**config)
