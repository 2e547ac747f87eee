"""Keras activations, by name or function (``nnfast.activations.get("relu")``)."""
from nnfast import ops


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras's optional slope, cap and threshold."""
    return ops.relu(x, negative_slope=negative_slope, max_value=max_value, threshold=threshold)


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    return ops.relu6(x)


def sigmoid(x):
    return ops.sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha=alpha)


def selu(x):
    return ops.selu(x)


def gelu(x, approximate=False):
    """GELU; the activation defaults to the exact (erf) form, as in Keras."""
    return ops.gelu(x, approximate=approximate)


def silu(x):
    return ops.silu(x)


swish = silu


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def exponential(x):
    return ops.exponential(x)


def hard_sigmoid(x):
    return ops.hard_sigmoid(x)


def hard_silu(x):
    return ops.hard_silu(x)


hard_swish = hard_silu


def mish(x):
    return ops.mish(x)


def linear(x):
    return x


_BY_NAME = {
    f.__name__: f
    for f in (relu, leaky_relu, relu6, sigmoid, tanh, softmax, log_softmax, elu, selu, gelu,
              silu, softplus, softsign, exponential, hard_sigmoid, hard_silu, mish, linear)
}
_BY_NAME.update({"swish": silu, "hard_swish": hard_silu})

# Activations the fused dense op applies inside the GEMM epilogue (or fuses with the loss).
FUSABLE = {"relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "silu", "swish",
           "exponential", "gelu", "hard_sigmoid", "relu6", "hard_silu", "hard_swish", "mish",
           "softmax", "linear"}


def get(identifier):
    """Resolves None, a name or a callable to an activation function."""
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
    """The Keras config form of an activation: its name."""
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME:
        return name
    return name or str(activation)


def fused_name(activation):
    """The name the fused dense op understands, or None when it must run separately."""
    name = getattr(activation, "__name__", None)
    if name in FUSABLE and _BY_NAME.get(name) is activation:
        return "swish" if name == "silu" else ("hard_silu" if name == "hard_swish" else name)
    return None
