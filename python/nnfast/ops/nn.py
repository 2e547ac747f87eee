"""``nnfast.ops.nn`` (``keras.ops.nn``): every Keras nn op. The ones defined here run on
``_core`` kernels (activations, softmax, the fused dense layer, dropout, the fused losses),
each with its gradient beside its forward; the rest live in their own files and are
gathered at the end of this module."""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function, _tape_stack
from nnfast.backend.tensor import Tensor
from nnfast.ops import precision
from nnfast.ops import float64 as _f64
from nnfast.ops._util import f32, value
from nnfast.ops.sparse_dense import SparseDense, sparse_rows

# Keras activation name -> kernel id, from the one definition the C++ side exports
# (nnfast._core.Activation, i.e. nnfast::Activation), plus Keras's aliases of two of them.
ACTIVATION_IDS = {name: int(value) for name, value in _core.Activation.__members__.items()}
ACTIVATION_IDS.update(silu=ACTIVATION_IDS["swish"], hard_swish=ACTIVATION_IDS["hard_silu"])
_INF = float("inf")
_F32 = np.dtype(np.float32)

# The parameter Keras's activation function of that name uses by default (elu's alpha,
# leaky_relu's negative slope); fused epilogues must be given it, the kernels' 0 is relu.
DEFAULT_ALPHA = {"elu": 1.0, "leaky_relu": 0.2}


def _rows(x):
    """(rows, cols) of ``x`` viewed as a 2-D matrix over its last axis."""
    cols = x.shape[-1] if x.ndim else 1
    return (x.size // cols if cols else 0), cols


# --- elementwise activations ---------------------------------------------------------------


class ElementwiseActivation(Function):
    """y = f(x) for one of the C++ activations; params are Keras's relu/elu arguments."""

    @staticmethod
    def forward(ctx, x, act_id, alpha=0.0, max_value=_INF, threshold=0.0):
        x = f32(x)
        y = np.empty_like(x)
        _core.activation_forward(act_id, x, y, alpha, max_value, threshold)
        ctx.params = (act_id, alpha, max_value, threshold)
        if ctx.recording:
            needs_x = _core.activation_needs_input(act_id, alpha, threshold)
            ctx.save_for_backward(x if needs_x else None, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        act_id, alpha, max_value, threshold = ctx.params
        dx = np.empty_like(y)
        _core.activation_backward(act_id, x, y, f32(g), dx, alpha, max_value, threshold)
        return dx, None


def _activation(x, name, alpha=0.0, max_value=None, threshold=0.0):
    if _f64.is_float64(x):
        return _f64.Activation.apply(x, name, float(alpha),
                                     _INF if max_value is None else float(max_value),
                                     float(threshold))
    return ElementwiseActivation.apply(
        x, ACTIVATION_IDS[name], float(alpha), _INF if max_value is None else float(max_value),
        float(threshold))


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras relu: ``max(x, 0)``, with optional negative slope, cap and threshold.

    Args:
        x: input tensor or array-like.
        negative_slope: slope below ``threshold`` (default 0).
        max_value: upper bound, or None.
        threshold: where the negative slope starts (default 0).

    Example:
        >>> keras.ops.relu(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([0.  , 0.  , 2.25], dtype=float32)
    """
    return _activation(x, "relu", negative_slope, max_value, threshold)


def relu6(x):
    """``min(max(x, 0), 6)``, elementwise.

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.relu6([-1.0, 3.0, 8.0]).numpy()
        array([0., 3., 6.], dtype=float32)
    """
    return _activation(x, "relu6")


def sigmoid(x):
    """``1 / (1 + exp(-x))``. The result remembers ``x`` so binary crossentropy can use
    the stable from-logits form (as Keras does on TensorFlow).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.sigmoid(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([0.18242551, 0.5       , 0.9046505 ], dtype=float32)
    """
    out = _activation(x, "sigmoid")
    out._keras_logits = x if isinstance(x, Tensor) else Tensor(
        _f64.arr64(x) if _f64.is_float64(x) else f32(x))
    return out


def tanh(x):
    return _activation(x, "tanh")


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        x: input tensor or array-like.
        alpha: the negative saturation value. Defaults to ``1.0``.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.elu([-1.0, 0.0, 2.0]).numpy()
        array([-0.63212055,  0.        ,  2.        ], dtype=float32)
    """
    return _activation(x, "elu", alpha)


def selu(x):
    """Scaled exponential linear unit: ``scale * x`` for ``x > 0``,
    ``scale * alpha * (exp(x) - 1)`` otherwise, with Klambauer et al.'s constants
    (``alpha ~ 1.67326``, ``scale ~ 1.05070``).

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.selu([0.0, 1.0]).numpy()
        array([0.      , 1.050701], dtype=float32)
    """
    return _activation(x, "selu")


def softplus(x):
    """``log(1 + exp(x))``, elementwise (computed without overflow).

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.softplus([0.0]).numpy()
        array([0.6931472], dtype=float32)
    """
    return _activation(x, "softplus")


def softsign(x):
    """``x / (1 + |x|)``, elementwise.

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.softsign([-1.0, 3.0]).numpy()
        array([-0.5 ,  0.75], dtype=float32)
    """
    return _activation(x, "softsign")


def silu(x):
    """``x * sigmoid(x)`` (also ``swish``).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.silu(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-0.27363828,  0.        ,  2.0354636 ], dtype=float32)
    """
    return _activation(x, "swish")


swish = silu


def gelu(x, approximate=True):
    """GELU; ``keras.ops.gelu`` defaults to the tanh approximation.

    Args:
        x: input tensor or array-like.
        approximate: use the tanh approximation (default True, as ``keras.ops.gelu``).

    Example:
        >>> keras.ops.gelu(np.array([-1.5, 0.0, 2.25], "float32")).numpy().round(6)
        array([-0.100428,  0.      ,  2.222798], dtype=float32)
    """
    return _activation(x, "gelu_tanh" if approximate else "gelu")


def exponential(x):
    """``exp(x)``, elementwise (the ``"exponential"`` activation).

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.exponential([0.0, 1.0]).numpy()
        array([1.       , 2.7182817], dtype=float32)
    """
    return _activation(x, "exponential")


def hard_sigmoid(x):
    """Keras 3 hard sigmoid: ``clip(x / 6 + 0.5, 0, 1)``.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.hard_sigmoid(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([0.25 , 0.5  , 0.875], dtype=float32)
    """
    return _activation(x, "hard_sigmoid")


def hard_silu(x):
    """Hard SiLU (hard swish): ``x * relu6(x + 3) / 6``, elementwise.

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.hard_silu([-4.0, 0.0, 1.0, 4.0]).numpy()
        array([-0.       ,  0.       ,  0.6666667,  4.       ], dtype=float32)
    """
    return _activation(x, "hard_silu")


hard_swish = hard_silu


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: ``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    Args:
        x: input tensor or array-like.
        negative_slope: slope for negative inputs. Defaults to ``0.2``.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.leaky_relu([-1.0, 2.0]).numpy()
        array([-0.2,  2. ], dtype=float32)
    """
    return _activation(x, "leaky_relu", negative_slope)


def mish(x):
    """Mish: ``x * tanh(softplus(x))``, elementwise.

    Args:
        x: input tensor or array-like.

    Returns:
        A float32 tensor of the shape of ``x``.

    Example:
        >>> keras.ops.mish([0.0, 1.0]).numpy().round(6)
        array([0.      , 0.865098], dtype=float32)
    """
    return _activation(x, "mish")


def linear(x):
    """The identity activation: returns ``x`` unchanged (the same object).

    Args:
        x: anything.

    Returns:
        ``x``.

    Example:
        >>> keras.ops.linear([1.0, -2.0])
        [1.0, -2.0]
    """
    return x


# --- softmax ---------------------------------------------------------------------------------


class Softmax(Function):
    """Softmax (or log-softmax) over the last axis."""

    @staticmethod
    def forward(ctx, x, log=False):
        x = f32(x)
        y = np.empty_like(x)
        _core.softmax_forward(x, y, log)
        ctx.log = log
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        dx = np.empty_like(y)
        _core.softmax_backward(y, f32(g), dx, ctx.log)
        return dx


def _along_last(fn, x, axis):
    """Applies a last-axis op along ``axis`` by moving that axis last and back."""
    nd = np.ndim(value(x))
    axis = axis % max(nd, 1)
    if axis == nd - 1:
        return fn(x)
    from nnfast.ops.array import transpose

    perm = [i for i in range(nd) if i != axis] + [axis]
    inv = list(np.argsort(perm))
    return transpose(fn(transpose(x, perm)), inv)


class SoftmaxAlongAxis(Function):
    """Softmax (or log-softmax) over an axis that is not the last one: the C++ strided
    kernel (cheaper than moving the axis last and back); the gradient in NumPy. With
    ``float64`` (a float64 model) the NumPy form computes it in float64, along any axis."""

    @staticmethod
    def forward(ctx, x, axis=0, log=False, float64=False):
        x = _f64.arr64(x) if float64 else f32(x)
        ctx.params = (axis, log, float64)
        if x.size and not float64:
            # The C++ kernel: the axes after ``axis`` are the vector lanes, no transposes.
            y = np.empty_like(x, order="C")
            _core.softmax_along_axis(np.ascontiguousarray(x), axis, y, log)
            ctx.save_for_backward(y)
            return y
        y = x - x.max(axis=axis, keepdims=True)
        # One buffer, updated in place (NumPy's usual expression allocates three).
        if log:
            y -= np.log(np.exp(y).sum(axis=axis, keepdims=True))
        else:
            np.exp(y, out=y)
            y /= y.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        axis, log, float64 = ctx.params
        g = _f64.arr64(g) if float64 else f32(g)
        if log:
            return g - np.exp(y) * g.sum(axis=axis, keepdims=True)
        return y * (g - (g * y).sum(axis=axis, keepdims=True))


def _softmax_along(x, axis, log):
    nd = value(x).ndim
    if nd == 0:
        raise ValueError(f"softmax needs at least one axis, received a scalar x={value(x)}")
    if _f64.is_float64(x):
        return SoftmaxAlongAxis.apply(x, axis=axis % nd, log=log, float64=True)
    if axis % nd == nd - 1:
        return Softmax.apply(x, log=log)
    return SoftmaxAlongAxis.apply(x, axis=axis % nd, log=log)


def softmax(x, axis=-1):
    """Softmax along ``axis`` (the last axis runs the C++ kernel). The result remembers its
    logits so categorical crossentropy can use the fused, stable form (as Keras does on
    TensorFlow).

    Args:
        x: input tensor or array-like.
        axis: the axis normalised (default -1).

    Example:
        >>> ops.softmax(np.array([[1.0, 2.0, 3.0]], "float32"))
        <Tensor shape=(1, 3) dtype=float32
        array([[0.09003057, 0.24472848, 0.66524094]], dtype=float32)>
    """
    if not _tape_stack:
        xv = x.value if isinstance(x, Tensor) else x
        if (type(xv) is np.ndarray and xv.dtype is _F32 and xv.ndim
                and (axis == -1 or axis == xv.ndim - 1) and xv.flags.c_contiguous):
            # Softmax.forward's kernel call without the Function machinery (nothing records)
            y = np.empty_like(xv)
            _core.softmax_forward(xv, y, False)
            out = Tensor(y)
            out._keras_logits = x if isinstance(x, Tensor) else Tensor(xv)
            return out
    out = _softmax_along(x, axis, False)
    if axis == -1 or axis == value(x).ndim - 1:
        out._keras_logits = x if isinstance(x, Tensor) else Tensor(
            _f64.arr64(x) if _f64.is_float64(x) else f32(x))
    return out


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably.

    Args:
        x: input tensor or array-like.
        axis: the axis normalised (default -1).

    Example:
        >>> ops.log_softmax(np.array([0.0, 0.0], "float32"))  # [-0.693, -0.693]
        <Tensor shape=(2,) dtype=float32
        array([-0.6931472, -0.6931472], dtype=float32)>
    """
    return _softmax_along(x, axis, True)


# --- dense -----------------------------------------------------------------------------------


class Dense(Function):
    """y = act(x @ kernel + bias) in one GEMM call with a fused epilogue.

    ``x`` may have any rank >= 2; the kernel applies to its last axis.
    """

    @staticmethod
    def forward(ctx, x, kernel, bias, act_id=0, alpha=0.0, max_value=_INF, threshold=0.0):
        x = f32(x)
        in_dim, units = kernel.shape
        if x.shape[-1] != in_dim:
            raise ValueError(
                f"Dense: input's last dimension must be {in_dim} (the kernel is "
                f"{tuple(kernel.shape)}), received input of shape {x.shape}")
        lead = x.shape[:-1]
        x2 = x if x.ndim == 2 else x.reshape(-1, in_dim)
        y = np.empty((x2.shape[0], units), dtype=np.float32)
        # (the pre-activation is kept only for a backward pass that needs it)
        needs_z = ctx.recording and act_id != 0 and _core.activation_needs_input(
            act_id, alpha, threshold)
        prec = precision.current()  # a mixed-policy layer's products run in its dtype
        if needs_z:
            z = np.empty_like(y)
            precision.gemm(x2, kernel, z, prec, bias=bias)
            _core.activation_forward(act_id, z, y, alpha, max_value, threshold)
        else:
            z = None
            precision.gemm(x2, kernel, y, prec, bias=bias, activation=act_id, act_alpha=alpha,
                           act_max=max_value, act_threshold=threshold)
        if ctx.recording:
            ctx.save_for_backward(x2, kernel, z, y)
            ctx.params = (act_id, alpha, max_value, threshold, x.shape, prec)
        return y if x2 is x else y.reshape(lead + (units,))

    @staticmethod
    def backward(ctx, g):
        x2, kernel, z, y = ctx.saved
        act_id, alpha, max_value, threshold, x_shape, prec = ctx.params
        dz = f32(g).reshape(y.shape)
        if act_id != 0:
            d = np.empty_like(y)
            _core.activation_backward(act_id, z, y, dz, d, alpha, max_value, threshold)
            dz = d
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        dx = dk = db = None
        if need_x:
            dx = np.empty(x2.shape, dtype=np.float32)
            precision.gemm(dz, kernel, dx, prec, trans_b=True)
            dx = dx.reshape(x_shape)
        if need_k:
            dk = np.empty(kernel.shape, dtype=np.float32)
            precision.gemm(x2, dz, dk, prec, trans_a=True)
        if need_b:
            db = np.empty(kernel.shape[1], dtype=np.float32)
            _core.sum_over_rows(dz, db)
        return dx, dk, db


def _dense_eager(x, kernel, bias, act_id=0, alpha=0.0):
    """``Dense.forward`` of a 2-D float32 batch when nothing records (a model call, predict):
    the same GEMM call without the Function machinery (~2 us a layer), or None when the
    input needs another route (other dtypes or ranks, mixed precision, a sparse batch)."""
    xv = x.value if isinstance(x, Tensor) else x
    kv = kernel.value if isinstance(kernel, Tensor) else kernel
    bv = bias.value if isinstance(bias, Tensor) else bias
    if (type(xv) is not np.ndarray or xv.ndim != 2 or xv.dtype is not _F32
            or not xv.flags.c_contiguous or type(kv) is not np.ndarray or kv.dtype is not _F32
            or (bv is not None and (type(bv) is not np.ndarray or bv.dtype is not _F32))
            or xv.shape[1] != kv.shape[0] or precision.current() != "float32"
            or sparse_rows(xv, kv.shape[0]) is not None):
        return None
    y = np.empty((xv.shape[0], kv.shape[1]), np.float32)
    precision.gemm(xv, kv, y, "float32", bias=bv, activation=act_id, act_alpha=alpha)
    return Tensor(y)


def _dense_apply(x, kernel, bias, *act):
    """Dense.apply, or SparseDense.apply when ``x`` is a CSR batch or mostly zeros (the
    float64 route when the kernel is float64: a float32 layer's kernel narrows float64 inputs
    as Keras's autocast does)."""
    if not _tape_stack:
        y = _dense_eager(x, kernel, bias, *act)
        if y is not None:
            return y
    if _f64.is_float64(kernel):
        names = {v: k for k, v in ACTIVATION_IDS.items()}
        name = names[act[0]] if act else "linear"
        return _f64.Dense.apply(x, kernel, bias, name, *[float(a) for a in act[1:]])
    csr = sparse_rows(x, kernel.shape[0])
    if csr is None:
        return Dense.apply(x, kernel, bias, *act)
    return SparseDense.apply(x, kernel, bias, csr, *act)


def dense(x, kernel, bias=None, activation=None):
    """Fused ``activation(x @ kernel + bias)``.

    A 2-D input that is mostly zeros (multi-hot rows) or a ``CSRBatch`` runs as a gather-sum
    of kernel rows (see ``nnfast.ops.sparse_dense``): the same numbers to float32 rounding.

    Args:
        x: input of shape ``(..., in)``.
        kernel: ``(in, units)``; bias: ``(units,)`` or None.
        activation: an activation name (``"relu"``...) or None. ``"softmax"`` and
            ``"sigmoid"`` keep the logits for the fused crossentropy losses.
        bias: ``(units,)`` or None.
    """
    if activation in (None, "linear"):
        return _dense_apply(x, kernel, bias)
    if activation == "softmax":
        return softmax(_dense_apply(x, kernel, bias))
    if activation == "sigmoid":
        logits = _dense_apply(x, kernel, bias)
        return sigmoid(logits)
    return _dense_apply(x, kernel, bias, ACTIVATION_IDS[activation],
                        DEFAULT_ALPHA.get(activation, 0.0))


# --- dropout ---------------------------------------------------------------------------------


class Dropout(Function):
    """Inverted dropout; the mask comes from (seed, offset). The forward keeps it as bits
    (one byte per 8 elements) for the backward, which so skips hashing every counter again
    (the lowered program runs the same two kernels)."""

    @staticmethod
    def forward(ctx, x, rate, seed, offset=0):
        x = f32(x)
        y = np.empty_like(x)
        if not ctx.recording:  # no backward will run: no mask to keep
            _core.dropout_apply(x, y, rate, seed, offset)
            return y
        mask = np.empty((x.size + 7) // 8, np.uint8)
        _core.dropout_forward_mask(x, y, mask, rate, seed, offset)
        ctx.params = (rate, mask)
        return y

    @staticmethod
    def backward(ctx, g):
        rate, mask = ctx.params
        g = f32(g)
        dx = np.empty_like(g)
        _core.dropout_backward_mask(g, mask, dx, rate)
        return dx


def dropout(x, rate, seed, offset=0):
    """Zeroes each element with probability ``rate`` and scales the rest by 1/(1-rate).

    The mask is a pure function of ``(seed, offset, element index)``.

    Args:
        x: input tensor or array-like.
        rate: the fraction of elements zeroed (the rest are scaled by ``1 / (1 - rate)``).
        seed: an int (the mask's seed).
        offset: a stream offset (distinct masks for one seed).

    Example:
        >>> x = np.ones((2, 4), "float32")
        >>> y = keras.ops.dropout(x, 0.5, seed=1).numpy()
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), received rate={rate}")
    if rate == 0.0:
        return x
    if _f64.is_float64(x):
        return _f64.Dropout.apply(x, float(rate), int(seed) & (2**64 - 1), int(offset))
    return Dropout.apply(x, float(rate), int(seed) & (2**64 - 1), int(offset))


# --- losses (per sample: one value per row over the last axis) --------------------------------

from nnfast.backend.global_state import epsilon as _epsilon  # noqa: E402  (keras.config.epsilon)


def _labels(target, num_classes):
    """Sparse class ids as int64, checked for range and NaN, one per row."""
    t = np.asarray(value(target))
    if t.ndim and t.shape[-1] == 1 and t.ndim > 1:
        t = t[..., 0]
    if np.issubdtype(t.dtype, np.floating):
        if not np.isfinite(t).all():  # method form: no Python-level dispatch
            raise ValueError("Labels contain NaN or infinity.")
        if np.any(t != np.round(t)):
            raise ValueError("Sparse labels must be integers, received non-integer values.")
    t = np.ascontiguousarray(t, dtype=np.int64)
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(
            f"Received a label value of {int(t.max() if t.max() >= num_classes else t.min())} "
            f"which is outside the valid range of [0, {num_classes}).")
    return t


class SoftmaxCrossEntropy(Function):
    """Per-row ``-sum(y * log_softmax(logits))`` from logits; gradient ``p - y``."""

    @staticmethod
    def forward(ctx, logits, target=None, labels=None):
        logits = f32(logits)
        rows, cols = _rows(logits)
        probs = np.empty_like(logits)
        loss = np.empty(logits.shape[:-1], dtype=np.float32)
        _core.softmax_cross_entropy_forward(logits, target, labels, probs, loss)
        ctx.save_for_backward(probs, target, labels)
        return loss

    @staticmethod
    def backward(ctx, g):
        probs, target, labels = ctx.saved
        d = np.empty_like(probs)
        _core.softmax_cross_entropy_backward(probs, target, labels, f32(g), d)
        return d, None, None


class CategoricalCrossentropyProbs(Function):
    """Per-row crossentropy of probabilities, normalized and clipped as Keras does."""

    @staticmethod
    def forward(ctx, probs, target=None, labels=None):
        probs = f32(probs)
        loss = np.empty(probs.shape[:-1], dtype=np.float32)
        _core.categorical_crossentropy_forward(probs, target, labels, _epsilon(), loss)
        ctx.save_for_backward(probs, target, labels)
        return loss

    @staticmethod
    def backward(ctx, g):
        probs, target, labels = ctx.saved
        d = np.empty_like(probs)
        _core.categorical_crossentropy_backward(probs, target, labels, f32(g), _epsilon(), d)
        return d, None, None


def _check_same_shape(target, output, what):
    ts, os_ = np.shape(value(target)), np.shape(value(output))
    if ts != os_:
        raise ValueError(
            f"{what}: `target` and `output` must have the same shape, received "
            f"target.shape={ts}, output.shape={os_}")


def _finite_target(target):
    t = f32(target)
    if not np.isfinite(t).all():  # method form: no Python-level dispatch
        raise ValueError("Targets contain NaN or infinity.")
    return t


def _finite_target64(target):
    t = _f64.arr64(target)
    if not np.isfinite(t).all():
        raise ValueError("Targets contain NaN or infinity.")
    return t


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample categorical crossentropy of one-hot (or soft) ``target``.

    Args:
        target: one-hot targets.
        output: probabilities (or logits with ``from_logits``).
        from_logits: ``output`` holds logits.
        axis: the class axis (default -1).
    """
    _check_same_shape(target, output, "categorical_crossentropy")
    if _f64.is_float64(output):
        t = _finite_target64(target)
        logits = output._keras_logits if isinstance(output, Tensor) else None
        if from_logits or logits is not None:
            return _f64.CrossentropyFromLogits.apply(output if from_logits else logits, t)
        return _f64.CrossentropyFromProbs.apply(output, t, None, _epsilon())
    t = _finite_target(target)
    if from_logits:
        return SoftmaxCrossEntropy.apply(output, t, None)
    if isinstance(output, Tensor) and output._keras_logits is not None:
        return SoftmaxCrossEntropy.apply(output._keras_logits, t, None)
    return CategoricalCrossentropyProbs.apply(output, t, None)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample crossentropy of integer class ids ``target`` (shape ``(N,)`` or ``(N, 1)``).

    Args:
        target: integer class ids.
        output: probabilities (or logits with ``from_logits``).
        from_logits: ``output`` holds logits.
        axis: the class axis (default -1).
    """
    out_shape = np.shape(value(output))
    labels = _labels(target, out_shape[-1])
    if labels.shape != out_shape[:-1]:
        raise ValueError(
            f"sparse_categorical_crossentropy: expected labels of shape {out_shape[:-1]} "
            f"for output of shape {out_shape}, received {np.shape(value(target))}")
    if _f64.is_float64(output):
        logits = output._keras_logits if isinstance(output, Tensor) else None
        if from_logits or logits is not None:
            return _f64.CrossentropyFromLogits.apply(output if from_logits else logits, None,
                                                     labels)
        return _f64.CrossentropyFromProbs.apply(output, None, labels, _epsilon())
    if from_logits:
        return SoftmaxCrossEntropy.apply(output, None, labels)
    if isinstance(output, Tensor) and output._keras_logits is not None:
        return SoftmaxCrossEntropy.apply(output._keras_logits, None, labels)
    return CategoricalCrossentropyProbs.apply(output, None, labels)


class BinaryCrossentropy(Function):
    @staticmethod
    def forward(ctx, output, target, from_logits=False):
        output = f32(output)
        loss = np.empty(output.shape[:-1], dtype=np.float32)
        _core.binary_crossentropy_forward(output, target, from_logits, _epsilon(), loss)
        ctx.save_for_backward(output, target)
        ctx.from_logits = from_logits
        return loss

    @staticmethod
    def backward(ctx, g):
        output, target = ctx.saved
        d = np.empty_like(output)
        _core.binary_crossentropy_backward(output, target, f32(g), ctx.from_logits, _epsilon(), d)
        return d, None


def binary_crossentropy_mean(target, output, from_logits=False):
    """Per-sample binary crossentropy, the mean over the last axis, in one fused kernel (what
    ``losses.binary_crossentropy`` computes with its default ``axis=-1``).

    Args:
        target: the 0/1 targets.
        output: probabilities, or logits with ``from_logits=True``, the same shape.
        from_logits: whether ``output`` holds logits. Defaults to ``False``.
    """
    _check_same_shape(target, output, "binary_crossentropy")
    if _f64.is_float64(output):
        t = _finite_target64(target)
        if not from_logits and isinstance(output, Tensor) and output._keras_logits is not None:
            return _f64.BinaryCrossentropyMean.apply(output._keras_logits, t, True, _epsilon())
        return _f64.BinaryCrossentropyMean.apply(output, t, bool(from_logits), _epsilon())
    t = _finite_target(target)
    if not from_logits and isinstance(output, Tensor) and output._keras_logits is not None:
        return BinaryCrossentropy.apply(output._keras_logits, t, from_logits=True)
    return BinaryCrossentropy.apply(output, t, from_logits=from_logits)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy (``keras.ops.binary_crossentropy``: no reduction).

    Args:
        target: labels in [0, 1], the shape of ``output``.
        output: probabilities (clipped to ``[eps, 1 - eps]``), or logits with
            ``from_logits=True`` (computed stably as ``max(x, 0) - x * t + log1p(exp(-|x|))``).
        from_logits: whether ``output`` holds logits.

    Returns:
        A tensor of ``output``'s shape.

    Example:
        >>> ops.binary_crossentropy(np.array([1.0, 0.0]), np.array([0.9, 0.2]))  # [0.105, 0.223]
        <Tensor shape=(2,) dtype=float64
        array([0.10536052, 0.22314355])>
    """
    from nnfast.ops.math import (abs as _abs, add, clip, exp, log, log1p, maximum, multiply,
                                 negative, subtract)

    _check_same_shape(target, output, "binary_crossentropy")
    t = _finite_target(target)
    if not from_logits and isinstance(output, Tensor) and output._keras_logits is not None:
        output, from_logits = output._keras_logits, True  # a sigmoid's output: use its logits
    if from_logits:
        return add(subtract(maximum(output, 0.0), multiply(output, t)),
                   log1p(exp(negative(_abs(output)))))
    eps = _epsilon()
    p = clip(output, eps, 1.0 - eps)
    return negative(add(multiply(t, log(p)), multiply(subtract(1.0, t), log(subtract(1.0, p)))))


def _pointwise_loss(name):
    fwd, bwd = getattr(_core, name + "_forward"), getattr(_core, name + "_backward")

    def forward(ctx, output, target):
        output = f32(output)
        loss = np.empty(output.shape[:-1], dtype=np.float32)
        fwd(output, target, loss)
        ctx.save_for_backward(output, target)
        return loss

    def backward(ctx, g):
        output, target = ctx.saved
        d = np.empty_like(output)
        bwd(output, target, f32(g), d)
        return d, None

    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


MeanSquaredError = _pointwise_loss("mean_squared_error")
MeanAbsoluteError = _pointwise_loss("mean_absolute_error")


def mean_squared_error(target, output):
    """Per-sample mean of squared errors over the last axis.

    Args:
        target: the targets.
        output: the predictions.
    """
    _check_same_shape(target, output, "mean_squared_error")
    if _f64.is_float64(output):
        return _f64.PointwiseLoss.apply(output, _finite_target64(target), "mse")
    return MeanSquaredError.apply(output, _finite_target(target))


def mean_absolute_error(target, output):
    """Per-sample mean of absolute errors over the last axis.

    Args:
        target: the targets.
        output: the predictions.
    """
    _check_same_shape(target, output, "mean_absolute_error")
    if _f64.is_float64(output):
        return _f64.PointwiseLoss.apply(output, _finite_target64(target), "mae")
    return MeanAbsoluteError.apply(output, _finite_target(target))




# --- the rest of keras.ops.nn ------------------------------------------------------------------
# ``nnfast.ops.nn`` is the public module with every ``keras.ops.nn`` name; the ops above run on
# nnfast's kernels, those below live in their own files and are gathered here.
from nnfast.ops.nn_activations import (  # noqa: E402
    celu, glu, hard_shrink, hard_tanh, log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid,
    sparsemax, squareplus, tanh_shrink, threshold,
)
from nnfast.ops.encoding import multi_hot, one_hot  # noqa: E402
from nnfast.ops.stats import moments, normalize, polar, psnr, rms_normalization  # noqa: E402
from nnfast.ops.space import depth_to_space, fold, space_to_depth, unfold  # noqa: E402
from nnfast.ops.adaptive_pool import adaptive_average_pool, adaptive_max_pool  # noqa: E402
from nnfast.ops.ctc import ctc_decode, ctc_loss  # noqa: E402
from nnfast.ops.attention import dot_product_attention  # noqa: E402
from nnfast.ops.conv import (  # noqa: E402
    conv, conv_transpose, depthwise_conv, separable_conv,
)
from nnfast.ops.pool import average_pool, max_pool  # noqa: E402
from nnfast.ops.norm import batch_normalization as _batch_normalization  # noqa: E402
from nnfast.ops.norm import layer_normalization as _layer_normalization  # noqa: E402


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with per-channel vectors
    along ``axis`` (differentiable in x, offset and scale; the statistics are constants).

    Args:
        x: input tensor or array-like.
        mean: the mean, broadcast along ``axis``.
        variance: the variance.
        axis: the channel axis.
        offset: ``beta``, or None.
        scale: ``gamma``, or None.
        epsilon: added to the variance (default 1e-3).

    Example:
        >>> ops.batch_normalization(np.ones((2, 3), "float32"), np.zeros(3), np.ones(3), axis=-1)
        <Tensor shape=(2, 3) dtype=float32
        array([[0.9995004, 0.9995004, 0.9995004],
               [0.9995004, 0.9995004, 0.9995004]], dtype=float32)>
    """
    return _batch_normalization(x, mean, variance, axis, offset, scale, epsilon)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Layer normalization over ``axis`` (an int or a tuple): ``(x - mean) / sqrt(var +
    epsilon) * gamma + beta`` per sample; ``epsilon`` defaults to ``keras.config.epsilon()``.
    ``rms_scaling=True`` (Keras's deprecated keyword) scales by ``rsqrt(var + epsilon)``
    without centring.

    Args:
        x: input tensor or array-like.
        gamma: scale, or None.
        beta: offset, or None.
        axis: the normalized axis or axes (default -1).
        epsilon: added to the variance (None: the backend's epsilon).

    Example:
        >>> y = ops.layer_normalization(np.random.rand(4, 10).astype("float32"))
    """
    from nnfast.backend.global_state import epsilon as _epsilon

    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}")
    return _layer_normalization(x, gamma, beta, axis, _epsilon() if epsilon is None
                                else epsilon, rms_scaling=rms_scaling)
