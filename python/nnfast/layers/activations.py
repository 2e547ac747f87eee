"""Activation layers: ``ReLU``, ``Softmax``, ``LeakyReLU``, ``ELU``, ``PReLU``."""
from nnfast import constraints, initializers, ops, regularizers
from nnfast.layers.core import _serialize
from nnfast.layers.layer import Layer


class ReLU(Layer):
    """``relu`` with Keras's ``max_value``, ``negative_slope`` and ``threshold``.

    Computes ``min(x, max_value)`` where ``x >= threshold`` and
    ``negative_slope * (x - threshold)`` below it.

    Args:
        max_value: upper bound of the output (None: unbounded); must be >= 0.
        negative_slope: slope below the threshold (default 0: plain ReLU); must be >= 0.
        threshold: the value below which the negative slope applies (default 0).

    Raises:
        ValueError: when ``max_value`` or ``negative_slope`` is negative.

    Input of any shape; the output has the same shape.

    Example:
        >>> ReLU(max_value=6.0)(np.array([-2.0, 3.0, 9.0], "float32")).numpy()
        array([0., 3., 6.], dtype=float32)
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"max_value of a ReLU layer cannot be negative, received {max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"negative_slope of a ReLU layer must be >= 0, received {negative_slope}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold
        self.supports_masking = True

    def call(self, inputs):
        return ops.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                        threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(Layer):
    """``x if x > 0 else negative_slope * x`` (layer default slope 0.3, as Keras).

    Args:
        negative_slope: the slope for negative inputs (default 0.3; the Keras 2 name
            ``alpha`` is accepted too).

    Input of any shape; the output has the same shape.

    Example:
        >>> LeakyReLU(0.1)(np.array([-2.0, 3.0], "float32")).numpy()
        array([-0.2,  3. ], dtype=float32)
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the negative branch's scale: it saturates at ``-alpha`` (default 1.0).

    Input of any shape; the output has the same shape.

    Example:
        >>> ELU()(np.array([-1.0, 0.0, 2.0], "float32")).numpy().round(3)
        array([-0.632,  0.   ,  2.   ], dtype=float32)
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class Softmax(Layer):
    """Softmax over ``axis`` (default the last).

    Args:
        axis: the axis (or tuple of axes) normalised to sum to 1 (default -1).

    Input of any shape; the output has the same shape.

    Call arguments: ``inputs``; a ``mask`` argument is accepted but not applied yet (Keras
    gives masked positions probability 0).

    Example:
        >>> Softmax()(np.array([[1.0, 1.0]], "float32")).numpy()
        array([[0.5, 0.5]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        return ops.softmax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0`` and ``alpha * x`` below, with a learned
    ``alpha``.

    The weight ``alpha`` has shape ``input_shape[1:]`` with a 1 on each of ``shared_axes``
    (axes counted with the batch as 0), as in Keras; e.g. ``shared_axes=[1, 2]`` on
    ``(batch, h, w, c)`` gives one slope per channel, ``alpha`` of shape ``(1, 1, c)``.

    Args:
        alpha_initializer: default ``"Zeros"`` (the layer starts as a ReLU).
        alpha_regularizer: regularizer of ``alpha`` (name, instance or None).
        alpha_constraint: constraint applied to ``alpha`` after each update, or None.
        shared_axes: an int or list of ints.

    Example:
        >>> PReLU(shared_axes=[1])(np.ones((2, 5, 3), "float32")).shape
        (2, 5, 3)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif not isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [shared_axes]
        else:
            self.shared_axes = list(shared_axes)

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for i in self.shared_axes or ():
            if not 1 <= i < len(input_shape):
                raise ValueError(f"shared_axes {self.shared_axes} must name axes 1.."
                                 f"{len(input_shape) - 1} of the input shape "
                                 f"{tuple(input_shape)}")
            param_shape[i - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU needs defined sizes on every non-shared axis, received "
                             f"input_shape={tuple(input_shape)}; share the unknown axes with "
                             f"shared_axes")
        self.alpha = self.add_weight(shape=param_shape, name="alpha",
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        # relu(x) - alpha * relu(-x), Keras's formula, from differentiable ops.
        return ops.subtract(ops.relu(inputs),
                            ops.multiply(self.alpha, ops.relu(ops.negative(inputs))))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": _serialize(self.alpha_regularizer),
            "alpha_constraint": _serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
