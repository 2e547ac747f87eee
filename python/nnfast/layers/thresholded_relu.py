"""``ThresholdedReLU``: Keras 2's (tf_keras's) layer, dropped by Keras 3."""
from nnfast import ops
from nnfast.layers.layer import Layer


class ThresholdedReLU(Layer):
    """``x if x > theta else 0``, elementwise (tf_keras 2's layer; in Keras 3 write
    ``ReLU(threshold=theta)``, which keeps ``x`` above ``theta`` the same way).

    Args:
        theta: float >= 0, the threshold (default 1.0).

    Input and output: any shape, float32.

    Example:
        >>> ThresholdedReLU(theta=0.5)(np.array([0.2, 0.7], np.float32))  # [0.0, 0.7]
        <Tensor shape=(2,) dtype=float32
        array([0. , 0.7], dtype=float32)>
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None or isinstance(theta, bool) or not float(theta) >= 0:
            raise ValueError(f"`theta` of ThresholdedReLU must be a float >= 0. "
                             f"Received: theta={theta!r}")
        self.theta = float(theta)
        self.supports_masking = True

    def call(self, inputs):
        inputs = ops.convert_to_tensor(inputs, "float32")
        return ops.multiply(inputs, ops.cast(ops.greater(inputs, self.theta), "float32"))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config
