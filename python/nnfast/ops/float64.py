"""Float64 routes of nnfast's fused ops (``nnfast.config.set_floatx("float64")`` and layers
with ``dtype="float64"``).

nnfast's C++ kernels compute in float32. An op family whose inputs are float64 comes here
instead (one check at the top of the family's public op) and runs in NumPy float64, forward
and backward, so float64 models compute in float64 and never silently in float32. These
routes are for precision, not speed: they loop over kernel offsets and time steps in Python.

Covered: the elementwise activations, softmax/log-softmax, dense, dropout, the fused losses
(categorical/sparse/binary crossentropy, mean squared/absolute error), convolution (1-D/2-D,
grouped and depthwise), max/average pooling, global pooling, embedding lookups and the LSTM,
GRU and SimpleRNN sequences (composed of differentiable ops), transposed convolutions. Batch
and layer normalization
compose the generic NumPy ops, which keep float64 as they are.

Example:
    >>> x = np.random.rand(4, 3)  # float64
    >>> ops.dense(x, np.ones((3, 2)), np.zeros(2), "relu").dtype
    dtype('float64')
"""
import math

import numpy as np

from nnfast import _core, ops
from nnfast.backend.global_state import floatx
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import cast_to
from nnfast.ops.embedding import TokenRowsGradient

F64 = np.dtype(np.float64)


def is_float64(*xs):
    """True when any of ``xs`` takes the float64 route: a float64 Tensor (a float64 layer's
    weight or activation), or a float64 NumPy array after ``set_floatx("float64")``. In a
    float32 session nnfast's ops narrow float64 NumPy arrays to float32, as its
    ``convert_to_tensor`` does. None and other values are ignored."""
    for x in xs:
        if isinstance(x, Tensor):
            if x.value.dtype == F64:
                return True
        elif isinstance(x, np.ndarray) and x.dtype == F64 and floatx() == "float64":
            return True
    return False


def has_float64(structure):
    """True when a tensor/array of ``structure`` (nested lists/tuples/dicts) takes the float64
    route (see ``is_float64``)."""
    if isinstance(structure, (Tensor, np.ndarray)):
        return is_float64(structure)
    if isinstance(structure, (list, tuple)):
        return any(has_float64(s) for s in structure)
    if isinstance(structure, dict):
        return any(has_float64(s) for s in structure.values())
    return False


def arr64(x):
    """The values of ``x`` (Tensor or array-like) as a float64 array."""
    return np.asarray(x.value if isinstance(x, Tensor) else x, dtype=F64)


def cast_floats(structure, dtype=F64):
    """``structure`` (a tensor/array or nested lists/tuples/dicts of them) with every float
    leaf of another precision cast to ``dtype`` through the differentiable Cast (Keras's
    autocasting of a layer's inputs). Cast to float64, float NumPy arrays become Tensors,
    so the ops take the float64 route in a float32 session too."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(cast_floats(s, dtype) for s in structure)
    if isinstance(structure, dict):
        return {k: cast_floats(v, dtype) for k, v in structure.items()}
    if isinstance(structure, (Tensor, np.ndarray)):
        dt = structure.value.dtype if isinstance(structure, Tensor) else structure.dtype
        if dt.kind == "f" and dt != dtype:
            structure = cast_to(structure, np.dtype(dtype))
        if dt.kind == "f" and np.dtype(dtype) == F64 and isinstance(structure, np.ndarray):
            structure = Tensor(np.ascontiguousarray(structure))
    return structure


def float_leaves_not_float64(structure):
    """The dtypes of float leaves of ``structure`` that are not float64."""
    if isinstance(structure, (list, tuple)):
        return [d for s in structure for d in float_leaves_not_float64(s)]
    if isinstance(structure, dict):
        return [d for s in structure.values() for d in float_leaves_not_float64(s)]
    if isinstance(structure, (Tensor, np.ndarray)):
        dt = structure.value.dtype if isinstance(structure, Tensor) else structure.dtype
        if dt.kind == "f" and dt != F64:
            return [dt.name]
    return []


# --- elementwise activations -----------------------------------------------------------------

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _softplus(x):
    return np.logaddexp(0.0, x)


def _erf(x):
    try:
        from scipy.special import erf
    except ImportError:  # scipy is optional: math.erf element by element
        return np.vectorize(math.erf, otypes=[F64])(x)
    return erf(x)


def activation_forward(name, x, alpha=0.0, max_value=math.inf, threshold=0.0):
    """``f(x)`` in float64 for one of the fused activations (names of ``ops.nn``'s table)."""
    if name == "linear":
        return x.copy()
    if name == "relu":
        if alpha == 0.0 and threshold == 0.0 and max_value == math.inf:
            return np.maximum(x, 0.0)
        y = np.where(x > threshold, x, 0.0) if threshold != 0.0 else np.maximum(x, 0.0)
        if max_value != math.inf:
            y = np.minimum(y, max_value)
        if alpha != 0.0:
            y = y - alpha * np.maximum(threshold - x, 0.0)
        return y
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "elu":
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "softplus":
        return _softplus(x)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    if name in ("swish", "silu"):
        return x * _sigmoid(x)
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "exponential":
        return np.exp(x)
    if name == "hard_sigmoid":
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if name == "relu6":
        return np.clip(x, 0.0, 6.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    if name in ("hard_silu", "hard_swish"):
        return x * np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if name == "mish":
        return x * np.tanh(_softplus(x))
    raise NotImplementedError(f"activation {name!r} has no float64 route in nnfast")


def activation_derivative(name, x, y, alpha=0.0, max_value=math.inf, threshold=0.0):
    """``f'(x)`` in float64 (``y = f(x)``); at kinks the side TensorFlow takes (0 at 0)."""
    if name == "linear":
        return np.ones_like(x)
    if name == "relu":
        if threshold != 0.0:
            d = (x > threshold).astype(F64)
        else:
            d = (x > 0).astype(F64)
        if max_value != math.inf:
            d = d * (x < max_value)
        if alpha != 0.0:
            d = d + alpha * (x < threshold)
        return d
    if name == "sigmoid":
        return y * (1.0 - y)
    if name == "tanh":
        return 1.0 - y * y
    if name == "elu":
        return np.where(x > 0, 1.0, y + alpha)
    if name == "selu":
        return np.where(x > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA)
    if name == "softplus":
        return _sigmoid(x)
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(x)) ** 2
    if name in ("swish", "silu"):
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if name == "gelu":
        return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / \
            math.sqrt(2.0 * math.pi)
    if name == "gelu_tanh":
        c = math.sqrt(2.0 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x ** 3))
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x)
    if name == "exponential":
        return y
    if name == "hard_sigmoid":
        return ((x > -3.0) & (x < 3.0)) / 6.0
    if name == "relu6":
        return ((x > 0.0) & (x < 6.0)).astype(F64)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, alpha)
    if name in ("hard_silu", "hard_swish"):
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0) + x * (((x > -3.0) & (x < 3.0)) / 6.0)
    if name == "mish":
        sp = _softplus(x)
        t = np.tanh(sp)
        return t + x * (1.0 - t * t) * _sigmoid(x)
    raise NotImplementedError(f"activation {name!r} has no float64 route in nnfast")


class Activation(Function):
    """y = f(x) in float64 (f one of the fused activations, by name)."""

    @staticmethod
    def forward(ctx, x, name, alpha=0.0, max_value=math.inf, threshold=0.0):
        x = arr64(x)
        y = activation_forward(name, x, alpha, max_value, threshold)
        ctx.params = (name, alpha, max_value, threshold)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        return arr64(g) * activation_derivative(*((ctx.params[0], x, y) + ctx.params[1:]))


# --- dense and dropout -----------------------------------------------------------------------

class Dense(Function):
    """y = act(x @ kernel + bias) in float64; ``x`` of any rank >= 1 (kernel on its last axis)."""

    @staticmethod
    def forward(ctx, x, kernel, bias, name="linear", alpha=0.0, max_value=math.inf,
                threshold=0.0):
        x, kernel = arr64(x), arr64(kernel)
        if x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"Dense: input's last dimension must be {kernel.shape[0]} (the "
                             f"kernel is {kernel.shape}), received input of shape {x.shape}")
        z = np.matmul(x, kernel)
        if bias is not None:
            z = z + arr64(bias)
        y = activation_forward(name, z, alpha, max_value, threshold)
        ctx.params = (name, alpha, max_value, threshold)
        ctx.save_for_backward(x, kernel, z, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, kernel, z, y = ctx.saved
        name, alpha, max_value, threshold = ctx.params
        dz = arr64(g)
        if name != "linear":
            dz = dz * activation_derivative(name, z, y, alpha, max_value, threshold)
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        x2 = x.reshape(-1, x.shape[-1])
        dz2 = dz.reshape(-1, dz.shape[-1])
        dx = np.matmul(dz, kernel.T) if need_x else None
        dk = x2.T @ dz2 if need_k else None
        db = dz2.sum(axis=0) if need_b else None
        return dx, dk, db


class Dropout(Function):
    """Inverted dropout in float64; the keep mask is the float32 kernel's for (seed, offset)
    (so a float64 and a float32 run drop the same elements)."""

    @staticmethod
    def forward(ctx, x, rate, seed, offset=0):
        x = arr64(x)
        ones = np.ones(x.shape, dtype=np.float32)
        kept = np.empty_like(ones)
        _core.dropout_apply(ones, kept, rate, seed, offset)
        scale = np.where(kept != 0, 1.0 / (1.0 - rate), 0.0)
        ctx.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(ctx, g):
        (scale,) = ctx.saved
        return arr64(g) * scale


# --- losses (one value per sample over the last axis) ----------------------------------------

class CrossentropyFromLogits(Function):
    """-sum(target * log_softmax(logits)) over the last axis; ``labels`` (ints) instead of
    ``target`` for the sparse form."""

    @staticmethod
    def forward(ctx, logits, target=None, labels=None):
        z = arr64(logits)
        log_p = z - z.max(axis=-1, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
        t = _one_hot(labels, z.shape) if target is None else arr64(target)
        ctx.save_for_backward(np.exp(log_p), t)
        return -(t * log_p).sum(axis=-1)

    @staticmethod
    def backward(ctx, g):
        p, t = ctx.saved
        return arr64(g)[..., None] * (p * t.sum(axis=-1, keepdims=True) - t), None, None


class CrossentropyFromProbs(Function):
    """Keras's crossentropy of probabilities: rows renormalized to sum 1, clipped to
    [eps, 1 - eps], then -sum(target * log p)."""

    @staticmethod
    def forward(ctx, probs, target=None, labels=None, eps=1e-7):
        p = arr64(probs)
        total = p.sum(axis=-1, keepdims=True)
        q = p / total
        clipped = np.clip(q, eps, 1.0 - eps)
        t = _one_hot(labels, p.shape) if target is None else arr64(target)
        ctx.save_for_backward(total, q, clipped, t, (q >= eps) & (q <= 1.0 - eps))
        return -(t * np.log(clipped)).sum(axis=-1)

    @staticmethod
    def backward(ctx, g):
        total, q, clipped, t, inside = ctx.saved
        dq = -arr64(g)[..., None] * t / clipped * inside
        # q = p / sum(p): dp = (dq - sum(dq * q)) / sum(p)
        dp = (dq - (dq * q).sum(axis=-1, keepdims=True)) / total
        return dp, None, None


class BinaryCrossentropyMean(Function):
    """mean over the last axis of Keras's binary crossentropy (probabilities clipped to
    [eps, 1 - eps], or the stable from-logits form)."""

    @staticmethod
    def forward(ctx, output, target, from_logits=False, eps=1e-7):
        x, t = arr64(output), arr64(target)
        if from_logits:
            per = np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x)))
        else:
            p = np.clip(x, eps, 1.0 - eps)
            per = -(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))
        ctx.save_for_backward(x, t)
        ctx.params = (from_logits, eps)
        return per.mean(axis=-1)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved
        from_logits, eps = ctx.params
        if from_logits:
            d = _sigmoid(x) - t
        else:
            p = np.clip(x, eps, 1.0 - eps)
            d = ((1.0 - t) / (1.0 - p) - t / p) * ((x >= eps) & (x <= 1.0 - eps))
        return arr64(g)[..., None] * d / x.shape[-1], None


class PointwiseLoss(Function):
    """mean over the last axis of (output - target)^2 (``"mse"``) or |output - target|
    (``"mae"``)."""

    @staticmethod
    def forward(ctx, output, target, kind):
        diff = arr64(output) - arr64(target)
        ctx.save_for_backward(diff)
        ctx.params = kind
        return (diff * diff if kind == "mse" else np.abs(diff)).mean(axis=-1)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved
        d = 2.0 * diff if ctx.params == "mse" else np.sign(diff)
        return arr64(g)[..., None] * d / diff.shape[-1], None


def _one_hot(labels, shape):
    t = np.zeros(shape, dtype=F64)
    np.put_along_axis(t, np.asarray(labels, np.int64)[..., None], 1.0, axis=-1)
    return t


# --- convolution and pooling (NHWC; a 1-D op is a 2-D one of height 1) ------------------------

def _padded(x, pads, out_hw, kernel_hw, strides, dilation, fill=0.0):
    """``x`` (N, H, W, C) padded before by ``pads`` and after by what the output needs."""
    widths = [(0, 0)]
    for n, before, out, k, s, d in zip(x.shape[1:3], pads, out_hw, kernel_hw, strides, dilation):
        after = max(0, (out - 1) * s + (k - 1) * d + 1 - n - before)
        widths.append((before, after))
    widths.append((0, 0))
    return np.pad(x, widths, constant_values=fill), widths


def _window(xp, a, b, out_hw, strides, dilation):
    """The (N, OH, OW, C) view of padded ``xp`` at kernel offset (a, b)."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilation
    return xp[:, a * dh: a * dh + (oh - 1) * sh + 1: sh, b * dw: b * dw + (ow - 1) * sw + 1: sw]


def _grouped(kernel, groups):
    """(kh, kw, cin/groups, cout) -> (kh, kw, groups, cin/groups, cout/groups)."""
    kh, kw, cin_g, cout = kernel.shape
    return kernel.reshape(kh, kw, cin_g, groups, cout // groups).transpose(0, 1, 3, 2, 4)


def conv_forward(x, kernel, geom):
    """NHWC convolution in float64 (no bias): x (N, H, W, Cin), kernel (kh, kw, Cin/groups,
    Cout), geom (strides, pads before, dilation, groups, out_hw)."""
    strides, pads, dilation, groups, out_hw = geom
    kg = _grouped(kernel, groups)
    kh, kw, _, cin_g, cout_g = kg.shape
    xp, _ = _padded(x, pads, out_hw, (kh, kw), strides, dilation)
    z = np.zeros((x.shape[0],) + tuple(out_hw) + (groups, cout_g), dtype=F64)
    for a in range(kh):
        for b in range(kw):
            win = _window(xp, a, b, out_hw, strides, dilation)
            win = win.reshape(win.shape[:3] + (groups, cin_g))
            z += np.einsum("nhwgc,gcd->nhwgd", win, kg[a, b], optimize=True)
    return z.reshape((x.shape[0],) + tuple(out_hw) + (groups * cout_g,))


def conv_backward_data(g, kernel, x_shape, geom):
    """The gradient with respect to the input of ``conv_forward`` given the output's ``g``."""
    strides, pads, dilation, groups, out_hw = geom
    kg = _grouped(kernel, groups)
    kh, kw, _, _, cout_g = kg.shape
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilation
    _, widths = _padded(np.empty((1,) + tuple(x_shape[1:3]) + (0,)), pads, out_hw, (kh, kw),
                        strides, dilation)
    padded = (x_shape[0], x_shape[1] + sum(widths[1]), x_shape[2] + sum(widths[2]), x_shape[3])
    dxp = np.zeros(padded)
    gg = g.reshape(g.shape[:3] + (groups, cout_g))
    for a in range(kh):
        for b in range(kw):
            part = np.einsum("nhwgd,gcd->nhwgc", gg, kg[a, b], optimize=True)
            dxp[:, a * dh: a * dh + (oh - 1) * sh + 1: sh,
                b * dw: b * dw + (ow - 1) * sw + 1: sw] += part.reshape(part.shape[:3] + (-1,))
    top, left = widths[1][0], widths[2][0]
    return dxp[:, top: top + x_shape[1], left: left + x_shape[2]]


def conv_backward_weights(x, g, kernel_shape, geom):
    """The gradient with respect to the kernel (kh, kw, Cin/groups, Cout) of
    ``conv_forward``."""
    strides, pads, dilation, groups, out_hw = geom
    kh, kw, cin_g, cout = kernel_shape
    cout_g = cout // groups
    xp, _ = _padded(x, pads, out_hw, (kh, kw), strides, dilation)
    gg = g.reshape(g.shape[:3] + (groups, cout_g))
    dkg = np.zeros((kh, kw, groups, cin_g, cout_g))
    for a in range(kh):
        for b in range(kw):
            win = _window(xp, a, b, out_hw, strides, dilation)
            win = win.reshape(win.shape[:3] + (groups, cin_g))
            dkg[a, b] = np.einsum("nhwgc,nhwgd->gcd", win, gg, optimize=True)
    return dkg.transpose(0, 1, 3, 2, 4).reshape(kernel_shape)


class Conv2D(Function):
    """NHWC convolution + bias + activation in float64, one product per kernel offset.
    Geometry as ``ops.conv``'s float32 kernel: (strides, pads, dilation, groups, out_hw)."""

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, name="linear", depthwise=False):
        x, k = arr64(x), arr64(kernel)
        if depthwise:  # (kh, kw, in, mult) -> grouped (kh, kw, 1, in * mult), groups = in
            k = k.reshape(k.shape[0], k.shape[1], 1, k.shape[2] * k.shape[3])
        z = conv_forward(x, k, geom)
        if bias is not None:
            z = z + arr64(bias)
        y = activation_forward(name, z)
        ctx.save_for_backward(x, k, z, y)
        ctx.params = (geom, name, tuple(np.shape(kernel)))
        return y

    @staticmethod
    def backward(ctx, g):
        x, k, z, y = ctx.saved
        geom, name, kshape = ctx.params
        dz = arr64(g) * activation_derivative(name, z, y)
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        dx = conv_backward_data(dz, k, x.shape, geom) if need_x else None
        dk = conv_backward_weights(x, dz, k.shape, geom).reshape(kshape) if need_k else None
        db = dz.reshape(-1, dz.shape[-1]).sum(axis=0) if need_b else None
        return dx, dk, db


class ConvTranspose2D(Function):
    """NHWC transposed convolution + bias + activation in float64: the input gradient of
    the convolution it transposes (kernel (kh, kw, out, in), geometry as ``ops``'s float32
    kernel: (strides, pads, dilation, out_hw))."""

    @staticmethod
    def forward(ctx, x, kernel, bias, geom, name="linear"):
        x, k = arr64(x), arr64(kernel)
        strides, pads, dilation, out_hw = geom
        conv_geom = (strides, pads, dilation, 1, x.shape[1:3])
        y_shape = (x.shape[0],) + tuple(out_hw) + (k.shape[2],)
        z = conv_backward_data(x, k, y_shape, conv_geom)
        if bias is not None:
            z = z + arr64(bias)
        y = activation_forward(name, z)
        ctx.save_for_backward(x, k, z, y)
        ctx.params = (conv_geom, name)
        return y

    @staticmethod
    def backward(ctx, g):
        x, k, z, y = ctx.saved
        conv_geom, name = ctx.params
        dz = arr64(g) * activation_derivative(name, z, y)
        need_x, need_k, need_b = ctx.needs_input_grad[:3]
        dx = conv_forward(dz, k, conv_geom) if need_x else None
        dk = conv_backward_weights(dz, x, k.shape, conv_geom) if need_k else None
        db = dz.reshape(-1, dz.shape[-1]).sum(axis=0) if need_b else None
        return dx, dk, db


class Pool2D(Function):
    """NHWC max or average pooling in float64 (average over the valid positions of a
    window). geom = (pool, strides, pads, out_hw), as ``ops.max_pool``'s float32 kernel."""

    @staticmethod
    def forward(ctx, x, geom, kind):
        x = arr64(x)
        pool, strides, pads, out_hw = geom
        ones = (1, 1)
        if kind == "max":
            xp, widths = _padded(x, pads, out_hw, pool, strides, ones, fill=-np.inf)
            best = np.full((x.shape[0],) + tuple(out_hw) + (x.shape[3],), -np.inf)
            where = np.zeros(best.shape, dtype=np.int64)
            for a in range(pool[0]):
                for b in range(pool[1]):
                    win = _window(xp, a, b, out_hw, strides, ones)
                    better = win > best  # the first maximum of a window wins, as TensorFlow
                    best = np.where(better, win, best)
                    where = np.where(better, a * pool[1] + b, where)
            ctx.saved_where = where
            y = best
        else:
            xp, widths = _padded(x, pads, out_hw, pool, strides, ones)
            valid, _ = _padded(np.ones((1,) + x.shape[1:3] + (1,)), pads, out_hw, pool,
                               strides, ones)
            total = np.zeros((x.shape[0],) + tuple(out_hw) + (x.shape[3],))
            count = np.zeros((1,) + tuple(out_hw) + (1,))
            for a in range(pool[0]):
                for b in range(pool[1]):
                    total += _window(xp, a, b, out_hw, strides, ones)
                    count += _window(valid, a, b, out_hw, strides, ones)
            ctx.saved_count = count
            y = total / count
        ctx.params = (geom, kind, x.shape, xp.shape, widths)
        return y

    @staticmethod
    def backward(ctx, g):
        (pool, strides, _, out_hw), kind, x_shape, xp_shape, widths = ctx.params
        g = arr64(g)
        dxp = np.zeros(xp_shape)
        (oh, ow), (sh, sw) = out_hw, strides
        share = g if kind == "max" else g / ctx.saved_count
        for a in range(pool[0]):
            for b in range(pool[1]):
                part = share * (ctx.saved_where == a * pool[1] + b) if kind == "max" else share
                dxp[:, a: a + (oh - 1) * sh + 1: sh, b: b + (ow - 1) * sw + 1: sw] += part
        (_, _), (t, _), (l, _), _ = widths
        return dxp[:, t: t + x_shape[1], l: l + x_shape[2]]


class GlobalPool(Function):
    """Mean or max over axis 1 of (batch, positions, channels) in float64."""

    @staticmethod
    def forward(ctx, x, kind):
        x = arr64(x)
        ctx.params = (kind, x.shape)
        if kind == "max":
            ctx.saved_where = x.argmax(axis=1)
            return x.max(axis=1)
        return x.mean(axis=1)

    @staticmethod
    def backward(ctx, g):
        kind, shape = ctx.params
        g = arr64(g)
        if kind == "max":
            dx = np.zeros(shape)
            np.put_along_axis(dx, ctx.saved_where[:, None, :], g[:, None, :], axis=1)
            return dx
        return np.broadcast_to(g[:, None, :] / shape[1], shape).copy()


# --- embedding ---------------------------------------------------------------------------------

class Embedding(Function):
    """table[ids] in float64; the table's gradient is dense (rows of unused ids are zero),
    a ``TokenRowsGradient`` keeping the per-token rows for the optimizers' per-token rule."""

    @staticmethod
    def forward(ctx, table, ids):
        table = arr64(table)
        ctx.params = (ids, table.shape)
        return table[ids]

    @staticmethod
    def backward(ctx, g):
        ids, shape = ctx.params
        rows = arr64(g).reshape(-1, shape[1])
        dt = np.zeros(shape)
        np.add.at(dt, ids.reshape(-1), rows)
        dt = dt.view(TokenRowsGradient)
        dt.ids, dt.rows = ids.reshape(-1), rows
        return dt


# --- recurrent sequences (composed of differentiable ops; gradients through the tape) ------

def recurrent(cell, inputs, kernel, recurrent_kernel, bias, initial_state, mask, recurrent_mask,
              activation, recurrent_activation, go_backwards, reset_after):
    """(sequence, last_h, states) of an LSTM (``"lstm"``), GRU (``"gru"``) or SimpleRNN
    (``"simple"``) run step by step in float64 with Keras's cell equations (gates i, f, c, o
    for the LSTM; z, r, h for the GRU, ``reset_after`` as Keras)."""
    x = cast_floats(inputs)
    steps = np.shape(arr64(x))[1]
    units = np.shape(arr64(recurrent_kernel))[0]
    batch = np.shape(arr64(x))[0]
    act = _activation_fn(activation)
    ract = _activation_fn(recurrent_activation)
    states = list(initial_state) if initial_state is not None else []
    h = cast_floats(states[0]) if states else Tensor(np.zeros((batch, units)))
    c = cast_floats(states[1]) if len(states) > 1 else Tensor(np.zeros((batch, units)))
    keep = None if mask is None else np.asarray(mask.value if isinstance(mask, Tensor)
                                                else mask, dtype=bool)
    projected = ops.matmul(x, kernel)  # every step's input projection at once
    if bias is not None and not (cell == "gru" and reset_after):
        projected = ops.add(projected, bias)
    recurrent_bias = None
    if cell == "gru" and reset_after and bias is not None:
        projected = ops.add(projected, bias[0])
        recurrent_bias = bias[1]
    outputs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        xt = projected[:, t]
        hr = h if recurrent_mask is None else ops.multiply(h, recurrent_mask)
        if cell == "lstm":
            gates = ops.add(xt, ops.matmul(hr, recurrent_kernel))
            i = ract(gates[:, :units])
            f = ract(gates[:, units:2 * units])
            g = act(gates[:, 2 * units:3 * units])
            o = ract(gates[:, 3 * units:])
            c_new = ops.add(ops.multiply(f, c), ops.multiply(i, g))
            h_new = ops.multiply(o, act(c_new))
        elif cell == "gru":
            rec = ops.matmul(hr, recurrent_kernel)
            if recurrent_bias is not None:
                rec = ops.add(rec, recurrent_bias)
            z = ract(ops.add(xt[:, :units], rec[:, :units]))
            r = ract(ops.add(xt[:, units:2 * units], rec[:, units:2 * units]))
            if reset_after:
                hh = act(ops.add(xt[:, 2 * units:], ops.multiply(r, rec[:, 2 * units:])))
            else:
                hh = act(ops.add(xt[:, 2 * units:],
                                 ops.matmul(ops.multiply(r, hr), recurrent_kernel[:, 2 * units:])))
            h_new = ops.add(ops.multiply(z, h), ops.multiply(ops.subtract(1.0, z), hh))
            c_new = c
        else:
            h_new = act(ops.add(xt, ops.matmul(hr, recurrent_kernel)))
            c_new = c
        if keep is not None:
            step_keep = keep[:, t:t + 1]
            h_new = ops.where(step_keep, h_new, h)
            if cell == "lstm":
                c_new = ops.where(step_keep, c_new, c)
        h, c = h_new, c_new
        outputs.append(h)
    sequence = ops.stack(outputs, axis=1)
    return sequence, h, ([c] if cell == "lstm" else [])


def _activation_fn(name):
    name = "linear" if name is None else name

    def apply(x):
        return Activation.apply(x, name)

    return apply


# --- normalization (the normalized axis last; statistics over the other axes or the row) -----

def _normalize_backward(gy, xhat, inv_std, gamma, axes):
    """dx of y = xhat * gamma (+ beta), xhat = (x - mean(x)) * inv_std, statistics over
    ``axes``."""
    dxhat = gy if gamma is None else gy * gamma
    count = np.prod([xhat.shape[a] for a in axes])
    return inv_std / count * (count * dxhat - dxhat.sum(axis=axes, keepdims=True)
                              - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))


def _normalize(x, gamma, beta, epsilon, axes, keepdims):
    """Batch and layer normalization's forward in float64: statistics of ``x`` over
    ``axes`` (biased variance), ``xhat * gamma + beta``. Returns ``(y, xhat, inv_std,
    gamma as float64 or None, mean, var)``."""
    mean = x.mean(axis=axes, keepdims=keepdims)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=keepdims)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    xhat = (x - mean) * inv_std
    g = None if gamma is None else arr64(gamma)
    y = xhat if g is None else xhat * g
    if beta is not None:
        y = y + arr64(beta)
    return y, xhat, inv_std, g, mean, var


class BatchNormTrain(Function):
    """Training-mode batch normalization over every axis but the last, in float64. Returns
    (y, batch mean, biased batch variance); only y carries a gradient."""

    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon):
        x = arr64(x)
        axes = tuple(range(x.ndim - 1))
        y, xhat, inv_std, g, mean, var = _normalize(x, gamma, beta, epsilon, axes, False)
        ctx.save_for_backward(xhat, inv_std, g)
        return y, mean, var

    @staticmethod
    def backward(ctx, gy, gmean=None, gvar=None):
        xhat, inv_std, gamma = ctx.saved
        if gy is None:
            return None, None, None, None
        gy = arr64(gy)
        axes = tuple(range(xhat.ndim - 1))
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        dx = _normalize_backward(gy, xhat, inv_std, gamma, axes) if need_x else None
        dg = (gy * xhat).sum(axis=axes) if need_g and gamma is not None else None
        db = gy.sum(axis=axes) if need_b else None
        return dx, dg, db, None


class BatchNormInference(Function):
    """(x - mean) / sqrt(var + epsilon) * gamma + beta with given statistics, in float64."""

    @staticmethod
    def forward(ctx, x, gamma, beta, mean, var, epsilon):
        x = arr64(x)
        inv_std = 1.0 / np.sqrt(arr64(var) + epsilon)
        xhat = (x - arr64(mean)) * inv_std
        g = None if gamma is None else arr64(gamma)
        y = xhat if g is None else xhat * g
        if beta is not None:
            y = y + arr64(beta)
        ctx.save_for_backward(xhat, inv_std, g)
        return y

    @staticmethod
    def backward(ctx, gy):
        xhat, inv_std, gamma = ctx.saved
        gy = arr64(gy)
        axes = tuple(range(xhat.ndim - 1))
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        scale = inv_std if gamma is None else inv_std * gamma
        dx = gy * scale if need_x else None
        dg = (gy * xhat).sum(axis=axes) if need_g and gamma is not None else None
        db = gy.sum(axis=axes) if need_b else None
        return dx, dg, db, None, None


class LayerNorm(Function):
    """Normalizes each row of x (rows, features) in float64, then ``* gamma + beta``."""

    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon):
        y, xhat, inv_std, g, _, _ = _normalize(arr64(x), gamma, beta, epsilon, (-1,), True)
        ctx.save_for_backward(xhat, inv_std, g)
        return y

    @staticmethod
    def backward(ctx, gy):
        xhat, inv_std, gamma = ctx.saved
        gy = arr64(gy)
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        dx = _normalize_backward(gy, xhat, inv_std, gamma, (xhat.ndim - 1,)) if need_x else None
        dg = (gy * xhat).sum(axis=0) if need_g and gamma is not None else None
        db = gy.sum(axis=0) if need_b else None
        return dx, dg, db, None
