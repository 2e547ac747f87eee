"""Keras activations, by name or function (``nnfast.activations.get("relu")``)."""
from nnfast import ops


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras's optional slope, cap and threshold.

    Args:
        x: input tensor (any shape).
        negative_slope: slope below ``threshold`` (default 0).
        max_value: upper bound of the output, or None (default) for none.
        threshold: inputs below it use the negative slope, ``negative_slope * (x - threshold)``
            (default 0).

    Example:
        >>> activations.relu(np.array([-1.0, 0.0, 1.0]))  # [0.0, 0.0, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([0., 0., 1.], dtype=float32)>
    """
    return ops.relu(x, negative_slope=negative_slope, max_value=max_value, threshold=threshold)


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: ``x`` for ``x >= 0``, ``negative_slope * x`` below.

    Args:
        x: input tensor (any shape).
        negative_slope: the slope for negative inputs (default 0.2).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.leaky_relu(np.array([-1.0, 2.0]))  # [-0.2, 2.0]
        <Tensor shape=(2,) dtype=float32
        array([-0.2,  2. ], dtype=float32)>
    """
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """``min(max(x, 0), 6)``: ReLU capped at 6 (MobileNet's activation).

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.relu6(np.array([-1.0, 0.0, 1.0]))  # [0.0, 0.0, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([0., 0., 1.], dtype=float32)>
    """
    return ops.relu6(x)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, in (0, 1).

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.sigmoid(np.array([0.0]))  # [0.5]
        <Tensor shape=(1,) dtype=float32
        array([0.5], dtype=float32)>
    """
    return ops.sigmoid(x)


def tanh(x):
    """Hyperbolic tangent, in (-1, 1).

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.tanh(np.array([-1.0, 0.0, 1.0]))  # [-0.7616, 0.0, 0.7616]
        <Tensor shape=(3,) dtype=float64
        array([-0.76159416,  0.        ,  0.76159416])>
    """
    return ops.tanh(x)


def softmax(x, axis=-1):
    """Softmax: ``exp(x) / sum(exp(x))`` along ``axis``; outputs are positive and sum to 1.

    Args:
        x: input tensor (any shape).
        axis: the axis (or tuple of axes) normalised (default -1).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.softmax(np.array([[1.0, 1.0]]))  # [[0.5, 0.5]]
        <Tensor shape=(1, 2) dtype=float32
        array([[0.5, 0.5]], dtype=float32)>
    """
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably (``x - logsumexp(x)``).

    Args:
        x: input tensor (any shape).
        axis: the axis normalised (default -1).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.log_softmax(np.array([-1.0, 0.0, 1.0]))  # [-2.4076, -1.4076, -0.4076]
        <Tensor shape=(3,) dtype=float32
        array([-2.407606 , -1.4076059, -0.4076059], dtype=float32)>
    """
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        x: input tensor (any shape).
        alpha: the scale of the negative branch, which saturates at ``-alpha`` (default 1.0).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.elu(np.array([-1.0, 0.0, 1.0]))  # [-0.6321, 0.0, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([-0.63212055,  0.        ,  1.        ], dtype=float32)>
    """
    return ops.elu(x, alpha=alpha)


def selu(x):
    """Scaled ELU: ``scale * elu(x, alpha)`` with the self-normalising constants
    ``alpha ~= 1.6733`` and ``scale ~= 1.0507`` (use with ``lecun_normal`` initialization).

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.selu(np.array([-1.0, 0.0, 1.0]))  # [-1.1113, 0.0, 1.0507]
        <Tensor shape=(3,) dtype=float32
        array([-1.1113307,  0.       ,  1.050701 ], dtype=float32)>
    """
    return ops.selu(x)


def gelu(x, approximate=False):
    """GELU; the activation defaults to the exact (erf) form, as in Keras.

    Args:
        x: input tensor (any shape).
        approximate: use the tanh approximation instead of the exact erf form (default False).

    Example:
        >>> activations.gelu(np.array([-1.0, 0.0, 1.0]))  # [-0.1587, 0.0, 0.8413]
        <Tensor shape=(3,) dtype=float32
        array([-0.15865526,  0.        ,  0.8413447 ], dtype=float32)>
    """
    return ops.gelu(x, approximate=approximate)


def silu(x):
    """SiLU (swish): ``x * sigmoid(x)``.

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.silu(np.array([-1.0, 0.0, 1.0]))  # [-0.2689, 0.0, 0.7311]
        <Tensor shape=(3,) dtype=float32
        array([-0.26894143,  0.        ,  0.7310586 ], dtype=float32)>
    """
    return ops.silu(x)


swish = silu


def softplus(x):
    """Softplus ``log(1 + exp(x))``, a smooth ReLU, computed stably.

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.softplus(np.array([-1.0, 0.0, 1.0]))  # [0.3133, 0.6931, 1.3133]
        <Tensor shape=(3,) dtype=float32
        array([0.3132617, 0.6931472, 1.3132617], dtype=float32)>
    """
    return ops.softplus(x)


def softsign(x):
    """Softsign ``x / (1 + |x|)``, in (-1, 1).

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.softsign(np.array([-1.0, 0.0, 1.0]))  # [-0.5, 0.0, 0.5]
        <Tensor shape=(3,) dtype=float32
        array([-0.5,  0. ,  0.5], dtype=float32)>
    """
    return ops.softsign(x)


def exponential(x):
    """``exp(x)``.

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.exponential(np.array([-1.0, 0.0, 1.0]))  # [0.3679, 1.0, 2.7183]
        <Tensor shape=(3,) dtype=float32
        array([0.36787945, 1.        , 2.7182817 ], dtype=float32)>
    """
    return ops.exponential(x)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid: ``relu6(x + 3) / 6`` (0 below -3, 1 above 3).

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.hard_sigmoid(np.array([-1.0, 0.0, 1.0]))  # [0.3333, 0.5, 0.6667]
        <Tensor shape=(3,) dtype=float32
        array([0.3333333, 0.5      , 0.6666667], dtype=float32)>
    """
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """Hard SiLU (hard swish): ``x * hard_sigmoid(x)``.

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> activations.hard_silu(np.array([-1.0, 0.0, 1.0]))  # [-0.3333, 0.0, 0.6667]
        <Tensor shape=(3,) dtype=float32
        array([-0.3333333,  0.       ,  0.6666667], dtype=float32)>
    """
    return ops.hard_silu(x)


hard_swish = hard_silu


def mish(x):
    """Mish: ``x * tanh(softplus(x))``.

    Args:
        x: input tensor (any shape).

    Returns:
        A tensor of the same shape as ``x``.

    Example:
        >>> np.asarray(activations.mish(np.array([-1.0, 0.0, 1.0]))).round(6)
        array([-0.303401,  0.      ,  0.865098], dtype=float32)
    """
    return ops.mish(x)


def linear(x):
    """The identity activation (``activation=None`` means this): returns ``x`` unchanged.

    Args:
        x: input tensor.

    Returns:
        ``x`` itself.

    Example:
        >>> activations.linear(np.array([-1.0, 0.0, 1.0]))  # [-1.0, 0.0, 1.0]
        array([-1.,  0.,  1.])
    """
    return x


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: ``x`` for ``x > 0``, else
    ``alpha * (exp(x / alpha) - 1)``.

    Args:
        x: input tensor (any shape).
        alpha: the scale of the negative branch (default 1.0).

    Example:
        >>> activations.celu(np.array([-1.0, 2.0]), alpha=2.0)  # [-0.787, 2.0]
        <Tensor shape=(2,) dtype=float32
        array([-0.78693867,  2.        ], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    neg = ops.multiply(alpha, ops.subtract(ops.exp(ops.divide(ops.minimum(x, 0.0), alpha)), 1.0))
    return ops.where(ops.greater(x, 0.0), x, neg)


def glu(x, axis=-1):
    """Gated linear unit: splits ``x`` in two halves ``a, b`` along ``axis`` (its size must
    be even) and returns ``a * sigmoid(b)``.

    Args:
        x: input tensor whose ``axis`` has even size.
        axis: the axis split in two (default -1).

    Example:
        >>> activations.glu(np.ones((2, 4))).shape
        (2, 2)
    """
    x = ops.convert_to_tensor(x)
    if x.shape[axis] % 2:
        raise ValueError("axis size must be divisible by 2. "
                         f"Received: x.shape={x.shape} with axis={axis}")
    a, b = ops.split(x, 2, axis=axis)
    return ops.multiply(a, ops.sigmoid(b))


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0.

    Args:
        x: input tensor.
        threshold: the half-width of the zeroed band (default 0.5).

    Example:
        >>> activations.hard_shrink(np.array([-1.0, 0.0, 1.0]))  # [-1.0, 0.0, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([-1.,  0.,  1.], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    return ops.where(ops.greater(ops.abs(x), threshold), x, ops.zeros_like(x))


def hard_tanh(x):
    """``clip(x, -1, 1)``.

    Args:
        x: input tensor.

    Example:
        >>> activations.hard_tanh(np.array([-1.0, 0.0, 1.0]))  # [-1.0, 0.0, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([-1.,  0.,  1.], dtype=float32)>
    """
    return ops.clip(ops.convert_to_tensor(x), -1.0, 1.0)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably.

    Args:
        x: input tensor.

    Example:
        >>> activations.log_sigmoid(np.array([-1.0, 0.0, 1.0]))  # [-1.3133, -0.6931, -0.3133]
        <Tensor shape=(3,) dtype=float32
        array([-1.3132617, -0.6931472, -0.3132617], dtype=float32)>
    """
    return ops.negative(ops.softplus(ops.negative(ops.convert_to_tensor(x))))


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0.

    Args:
        x: input tensor.
        threshold: the half-width of the zeroed band (default 0.5).

    Example:
        >>> activations.soft_shrink(np.array([-1.0, 0.0, 1.0]))  # [-0.5, 0.0, 0.5]
        <Tensor shape=(3,) dtype=float32
        array([-0.5,  0. ,  0.5], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    zero = ops.zeros_like(x)
    return ops.where(ops.greater(x, threshold), ops.subtract(x, threshold),
                     ops.where(ops.less(x, -threshold), ops.add(x, threshold), zero))


def sparse_plus(x):
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)**2 / 4`` in between.

    Args:
        x: input tensor.

    Example:
        >>> activations.sparse_plus(np.array([-1.0, 0.0, 1.0]))  # [0.0, 0.25, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([0.  , 0.25, 1.  ], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    mid = ops.multiply(ops.square(ops.add(ops.clip(x, -1.0, 1.0), 1.0)), 0.25)
    return ops.where(ops.greater_equal(x, 1.0), x, mid)


def sparse_sigmoid(x):
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` in between.

    Args:
        x: input tensor.

    Example:
        >>> activations.sparse_sigmoid(np.array([-1.0, 0.0, 1.0]))  # [0.0, 0.5, 1.0]
        <Tensor shape=(3,) dtype=float32
        array([0. , 0.5, 1. ], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    return ops.multiply(ops.add(ops.clip(x, -1.0, 1.0), 1.0), 0.5)


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU (``b >= 0``).

    Args:
        x: input tensor.
        b: the smoothness at 0, >= 0 (default 4; 0 gives ReLU).

    Example:
        >>> activations.squareplus(np.array([-1.0, 0.0, 1.0]))  # [0.618, 1.0, 1.618]
        <Tensor shape=(3,) dtype=float32
        array([0.618034, 1.      , 1.618034], dtype=float32)>
    """
    if b < 0:
        raise ValueError(f"`b` must be non-negative. Received: b={b}")
    x = ops.convert_to_tensor(x)
    return ops.multiply(ops.add(x, ops.sqrt(ops.add(ops.square(x), float(b)))), 0.5)


def tanh_shrink(x):
    """``x - tanh(x)``.

    Args:
        x: input tensor.

    Example:
        >>> activations.tanh_shrink(np.array([-1.0, 0.0, 1.0]))  # [-0.2384, 0.0, 0.2384]
        <Tensor shape=(3,) dtype=float32
        array([-0.23840582,  0.        ,  0.23840582], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    return ops.subtract(x, ops.tanh(x))


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``.

    Args:
        x: input tensor.
        threshold: values at or below it are replaced.
        default_value: the value they are replaced with.

    Returns:
        A tensor of the shape of ``x``.

    Example:
        >>> activations.threshold(np.array([-1.0, 0.5]), 0.0, -5.0)  # [-5.0, 0.5]
        <Tensor shape=(2,) dtype=float32
        array([-5. ,  0.5], dtype=float32)>
    """
    x = ops.convert_to_tensor(x)
    return ops.where(ops.greater(x, threshold), x,
                     ops.add(ops.zeros_like(x), float(default_value)))


def sparsemax(x, axis=-1):
    """Sparsemax along ``axis`` as Keras 3.15 computes it: a sparse softmax-like map,
    ``max(x - tau, 0)``, whose threshold ``tau`` follows Keras's formula (see
    ``activations_sparsemax.Sparsemax``: it differs from Martins & Astudillo's, so outputs
    need not sum to 1).

    Args:
        x: input tensor.
        axis: the axis normalised (default -1).

    Example:
        >>> activations.sparsemax(np.array([[1.0, 2.0, 3.5]]))  # [[0, 0, 1]]
        <Tensor shape=(1, 3) dtype=float32
        array([[0., 0., 1.]], dtype=float32)>
    """
    from nnfast.activations_sparsemax import Sparsemax

    return Sparsemax.apply(ops.convert_to_tensor(x), axis=axis)


_BY_NAME = {
    f.__name__: f
    for f in (relu, leaky_relu, relu6, sigmoid, tanh, softmax, log_softmax, elu, selu, gelu,
              silu, softplus, softsign, exponential, hard_sigmoid, hard_silu, mish, linear,
              celu, glu, hard_shrink, hard_tanh, log_sigmoid, soft_shrink, sparse_plus,
              sparse_sigmoid, squareplus, tanh_shrink, threshold, sparsemax)
}
_BY_NAME.update({"swish": silu, "hard_swish": hard_silu})

# Activations the fused dense op applies inside the GEMM epilogue (or fuses with the loss).
FUSABLE = {"relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "silu", "swish",
           "exponential", "gelu", "hard_sigmoid", "relu6", "hard_silu", "hard_swish", "mish",
           "softmax", "linear"}


def get(identifier):
    """Resolves None, a name or a callable to an activation function.

    Args:
        identifier: None (``linear``), an activation name such as ``"relu"``, or a callable
            (returned as is).

    Example:
        >>> activations.get("relu") is activations.relu
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(
                f"Unknown activation function '{identifier}'. Expected one of "
                f"{sorted(_BY_NAME)}.")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation identifier: {identifier!r}")


def serialize(activation):
    """The Keras config form of an activation: its name.

    Args:
        activation: an activation function.

    Returns:
        The activation's name (``"relu"``), or its ``__name__`` for a user function.

    Example:
        >>> activations.serialize(activations.relu)
        'relu'
    """
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME:
        return name
    return name or str(activation)


def fused_name(activation):
    """The name the fused dense op understands, or None when it must run separately.

    Args:
        activation: an activation function.

    Returns:
        A name such as ``"swish"``, or None.

    Example:
        >>> activations.fused_name(activations.silu)
        'swish'
    """
    name = getattr(activation, "__name__", None)
    if name in FUSABLE and _BY_NAME.get(name) is activation:
        return "swish" if name == "silu" else ("hard_silu" if name == "hard_swish" else name)
    return None


def deserialize(config, custom_objects=None):
    """The activation a config names: a string (``"relu"``) or Keras's dict form
    (``{"class_name": "function", "config": "relu", ...}``); ``custom_objects`` maps
    names to user functions.

    Args:
        config: a name or a Keras config dict.
        custom_objects: optional dict mapping names to user functions.

    Returns:
        The activation function.

    Example:
        >>> activations.deserialize("gelu") is activations.gelu
        True
    """
    if isinstance(config, dict):
        name = config.get("config", config.get("class_name"))
        if isinstance(name, dict):
            name = name.get("name")
    else:
        name = config
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if not isinstance(name, str):
        raise ValueError(f"Could not interpret serialized activation: {config!r}")
    return get(name)
