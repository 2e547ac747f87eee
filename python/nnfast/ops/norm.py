"""Normalization ops with gradients: fused batch normalization (training and inference) and
layer normalization, on ``_core`` kernels.

The normalized axis is moved last (a transpose) when it is not already; channels_last inputs
need no copy.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops import float64 as _f64
from nnfast.ops._util import f32, value
from nnfast.ops.array import reshape, transpose


def _opt(v):
    return None if v is None else f32(v)


class BatchNormTrain(Function):
    """Training-mode batch norm of x viewed as (rows, channels).

    Returns (y, batch_mean, batch_var); only y carries a gradient (mean/var feed the moving
    statistics, which are not differentiated)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon):
        x = f32(x)
        C = x.shape[-1]
        y = np.empty_like(x)
        mean = np.empty(C, dtype=np.float32)
        var = np.empty(C, dtype=np.float32)
        _core.batch_norm_forward_training(x, _opt(gamma), _opt(beta), epsilon, y, mean, var)
        if ctx.recording:
            ctx.save_for_backward(x, _opt(gamma), mean, var)
            ctx.params = (epsilon, gamma is not None, beta is not None)
        return y, mean, var

    @staticmethod
    def backward(ctx, gy, gmean=None, gvar=None):
        x, gamma, mean, var = ctx.saved
        epsilon, has_gamma, has_beta = ctx.params
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        if gy is None:
            return None, None, None, None
        C = x.shape[-1]
        dx = np.empty_like(x) if need_x else None
        dg = np.empty(C, np.float32) if need_g and has_gamma else None
        db = np.empty(C, np.float32) if need_b and has_beta else None
        _core.batch_norm_backward(x, f32(gy), gamma, mean, var, epsilon, True, dx, dg, db)
        return dx, dg, db, None


class BatchNormInference(Function):
    """Inference-mode batch norm with given (moving) statistics, differentiable in x, gamma
    and beta (the statistics are constants)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, mean, var, epsilon):
        x = f32(x)
        y = np.empty_like(x)
        _core.batch_norm_forward_inference(x, _opt(gamma), _opt(beta), f32(mean), f32(var),
                                           epsilon, y)
        if ctx.recording:
            ctx.save_for_backward(x, _opt(gamma), f32(mean).copy(), f32(var).copy())
            ctx.params = (epsilon, gamma is not None, beta is not None)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, gamma, mean, var = ctx.saved
        epsilon, has_gamma, has_beta = ctx.params
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        C = x.shape[-1]
        dx = np.empty_like(x) if need_x else None
        dg = np.empty(C, np.float32) if need_g and has_gamma else None
        db = np.empty(C, np.float32) if need_b and has_beta else None
        _core.batch_norm_backward(x, f32(gy), gamma, mean, var, epsilon, False, dx, dg, db)
        return dx, dg, db, None, None


def _move_last(x, axis):
    nd = np.ndim(value(x))
    axis = axis % nd
    if axis == nd - 1:
        return x, None
    perm = [i for i in range(nd) if i != axis] + [axis]
    return transpose(x, perm), tuple(int(i) for i in np.argsort(perm))


def batch_norm_train(x, gamma, beta, epsilon=1e-3, axis=-1):
    """Training-mode batch normalization over every axis but ``axis``.

    Returns:
        ``(y, batch_mean, batch_variance)``: y a Tensor shaped like x, the statistics NumPy
        float32 vectors (biased variance), which the caller folds into its moving averages.

    Args:
        x: input tensor.
        gamma: ``(channels,)`` scale, or None.
        beta: ``(channels,)`` offset, or None.
        epsilon: added to the variance (default 1e-3).
        axis: the channel axis kept (default -1).
    """
    xt, inv = _move_last(x, axis)
    # the parameters' dtype decides (a float32 layer narrows float64 inputs, as Keras)
    route = _f64.BatchNormTrain if _f64.is_float64(x if gamma is None else gamma) \
        else BatchNormTrain
    y, mean, var = route.apply(xt, gamma, beta, float(epsilon))
    if inv is not None:
        y = transpose(y, inv)
    return y, mean.value, var.value


def batch_normalization(x, mean, variance, axis=-1, offset=None, scale=None, epsilon=1e-3):
    """``keras.ops.batch_normalization``: ``(x - mean) / sqrt(variance + epsilon) * scale +
    offset`` with per-channel vectors along ``axis`` (the statistics are not differentiated)."""
    xt, inv = _move_last(x, axis)
    if _f64.is_float64(mean if hasattr(mean, "dtype") else x):  # the statistics' dtype decides
        y = _f64.BatchNormInference.apply(xt, scale, offset, _f64.arr64(mean),
                                          _f64.arr64(variance), float(epsilon))
        return y if inv is None else transpose(y, inv)
    y = BatchNormInference.apply(xt, scale, offset, value(mean), value(variance), float(epsilon))
    return y if inv is None else transpose(y, inv)


class LayerNorm(Function):
    """Normalizes each row of x viewed as (rows, features); gamma/beta are (features,)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon):
        x = f32(x)
        D = x.shape[-1]
        x2 = x.reshape(-1, D)
        y = np.empty_like(x2)
        mean = np.empty(x2.shape[0], np.float32)
        rstd = np.empty(x2.shape[0], np.float32)
        _core.layer_norm_forward(x2, _opt(gamma), _opt(beta), epsilon, y, mean, rstd)
        if ctx.recording:
            ctx.save_for_backward(x2, _opt(gamma), mean, rstd)
            ctx.params = (x.shape, gamma is not None, beta is not None)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x2, gamma, mean, rstd = ctx.saved
        shape, has_gamma, has_beta = ctx.params
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        D = x2.shape[1]
        dx = np.empty_like(x2) if need_x else None
        dg = np.empty(D, np.float32) if need_g and has_gamma else None
        db = np.empty(D, np.float32) if need_b and has_beta else None
        _core.layer_norm_backward(x2, f32(gy).reshape(x2.shape), gamma, mean, rstd, dx, dg, db)
        return (None if dx is None else dx.reshape(shape)), dg, db, None


class VarianceScale(Function):
    """Keras's ``rms_scaling`` layer norm of x viewed as (rows, features):
    ``y = x * rsqrt(var(x) + epsilon) * gamma`` with the biased variance of each row and no
    centering (Keras 3 scales by the variance, not the mean square, despite the name).
    One implementation for float32 and float64 (``float64=True``: a float64 model); only
    the float32 statistics come from the layer-norm kernel."""

    @staticmethod
    def forward(ctx, x, gamma, epsilon, float64=False):
        x = _f64.arr64(x) if float64 else f32(x)
        D = x.shape[-1]
        x2 = x.reshape(-1, D)
        if float64:
            mean = x2.mean(axis=1)
            rstd = 1.0 / np.sqrt(((x2 - mean[:, None]) ** 2).mean(axis=1) + epsilon)
        else:
            # The layer-norm kernel gives each row's mean and rsqrt(var + eps) in one pass.
            z = np.empty_like(x2)
            mean = np.empty(x2.shape[0], np.float32)
            rstd = np.empty(x2.shape[0], np.float32)
            _core.layer_norm_forward(x2, None, None, epsilon, z, mean, rstd)
        g = None if gamma is None else (_f64.arr64(gamma) if float64 else f32(gamma))
        y = x2 * rstd[:, None]
        if g is not None:
            y *= g
        if ctx.recording:
            ctx.save_for_backward(x2, g, mean, rstd)
            ctx.params = x.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x2, gamma, mean, rstd = ctx.saved
        need_x, need_g = ctx.needs_input_grad[:2]
        dtype = x2.dtype
        gy = np.ascontiguousarray(gy, dtype=dtype).reshape(x2.shape)
        r = rstd[:, None]
        dg = None
        if need_g and gamma is not None:
            dg = np.einsum("nd,nd->d", gy, x2 * r, dtype=dtype)
        dx = None
        if need_x:
            # y_i = x_i r g_i with r = (var + eps)^-1/2 and dvar/dx_j = 2 (x_j - mean) / D:
            # dx = r u - r^3 (x - mean) / D * sum(u * x), where u = gy * gamma.
            u = gy * gamma if gamma is not None else gy
            dot = np.einsum("nd,nd->n", u, x2, dtype=dtype)[:, None]
            dx = r * u - (r * r * r * dot / dtype.type(x2.shape[1])) * (x2 - mean[:, None])
            dx = dx.reshape(ctx.params)
        return dx, dg, None


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=1e-3, rms_scaling=False):
    """Layer normalization over ``axis`` (an int or a tuple of axes): mean and biased
    variance per sample, then ``* gamma + beta`` (each shaped like the normalized axes).

    With ``rms_scaling=True`` (Keras's deprecated option, kept for compatibility):
    ``x * rsqrt(var(x) + epsilon) * gamma``, no centering, ``beta`` ignored, as
    ``keras.ops.layer_normalization`` computes it.

    Example:
        >>> y = ops.layer_normalization(np.random.rand(4, 10).astype("float32"))
    """
    xv = value(x)
    nd = xv.ndim
    axes = sorted({a % nd for a in (axis if isinstance(axis, (list, tuple)) else (axis,))})
    rest = [i for i in range(nd) if i not in axes]
    perm = rest + axes
    moved = perm != list(range(nd))
    xt = transpose(x, perm) if moved else x
    tshape = tuple(value(xt).shape)
    D = int(np.prod([xv.shape[a] for a in axes]))
    flat = reshape(xt, (-1, D))
    g = None if gamma is None else reshape(gamma, (D,))
    b = None if beta is None else reshape(beta, (D,))
    float64 = _f64.is_float64(x if gamma is None else gamma)
    if rms_scaling:
        y = reshape(VarianceScale.apply(flat, g, float(epsilon), float64=float64), tshape)
    elif float64:
        y = reshape(_f64.LayerNorm.apply(flat, g, b, float(epsilon)), tshape)
    else:
        y = reshape(LayerNorm.apply(flat, g, b, float(epsilon)), tshape)
    return transpose(y, tuple(int(i) for i in np.argsort(perm))) if moved else y
