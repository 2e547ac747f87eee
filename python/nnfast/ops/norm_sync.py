"""Synchronized (cross-replica) batch normalization: the batch moments of the global batch,
reduced across data-parallel ranks, as Keras's ``BatchNormalization(synchronized=True)``
(TensorFlow's SyncBatchNorm) computes them.

Forward: each rank sums its rows ``(count, sum x, sum x^2)`` per channel, one cross-rank
sum gives the global mean and (biased) variance ``E[x^2] - mean^2``, and every rank
normalizes its rows with them. Backward: the global-batch terms of the batch-norm gradient,
``sum dy`` and ``sum dy * xhat``, are summed across ranks in one more collective.

A rank's loss is the mean over its rows, and the data-parallel step weights its gradients
by ``rows / global rows``, so the upstream gradient ``dy`` of rank ``i`` is ``R / R_i`` times
the global batch's. Each rank therefore sends ``R_i / R`` times its sums, and the input
gradient is ``k * (dy - (T1 + xhat * T2) / R_i)`` with ``T1, T2`` the summed terms and
``k = gamma / sqrt(var + epsilon)``: on one rank this is the ordinary batch-norm gradient.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops._util import f32
from nnfast.ops.array import transpose
from nnfast.ops.norm import _move_last


def _opt(v):
    return None if v is None else f32(v)


class SyncBatchNormTrain(Function):
    """Training-mode batch norm of ``x`` (channels last) with moments reduced across ranks.

    Returns ``(y, mean, var)`` of the global batch; only y carries a gradient."""

    @staticmethod
    def forward(ctx, x, gamma, beta, epsilon, allreduce_sum=None, contributes=True):
        x = f32(x)
        C = x.shape[-1]
        rows = x.reshape(-1, C)
        local = np.zeros(1 + 2 * C, np.float32)
        if contributes and rows.shape[0]:
            local[0] = rows.shape[0]
            local[1:1 + C] = np.sum(rows, axis=0, dtype=np.float64)
            local[1 + C:] = np.sum(np.square(rows, dtype=np.float64), axis=0)
        total = allreduce_sum(local).astype(np.float64)
        count = max(total[0], 1.0)
        mean64 = total[1:1 + C] / count
        mean = mean64.astype(np.float32)
        var = np.maximum(total[1 + C:] / count - mean64 * mean64, 0.0).astype(np.float32)
        y = np.empty_like(x)
        _core.batch_norm_forward_inference(x, _opt(gamma), _opt(beta), mean, var, epsilon, y)
        if ctx.recording:
            ctx.save_for_backward(x, _opt(gamma), mean, var)
            share = rows.shape[0] / count if contributes else 0.0
            ctx.params = (epsilon, gamma is not None, beta is not None, allreduce_sum, share,
                          rows.shape[0] if contributes else 0)
        return y, mean, var

    @staticmethod
    def backward(ctx, gy, gmean=None, gvar=None):
        x, gamma, mean, var = ctx.saved
        epsilon, has_gamma, has_beta, allreduce_sum, share, local_rows = ctx.params
        need_x, need_g, need_b = ctx.needs_input_grad[:3]
        C = x.shape[-1]
        if gy is None:
            gy = np.zeros_like(x)  # this rank still takes part in the collective
        # Inference-mode backward: dx = k * dy, dgamma = sum dy * xhat, dbeta = sum dy.
        dx = np.empty_like(x)
        sums = np.empty(2 * C, np.float32)
        _core.batch_norm_backward(x, f32(gy), gamma, mean, var, epsilon, False, dx,
                                  sums[C:], sums[:C])
        dg = sums[C:].copy() if need_g and has_gamma else None
        db = sums[:C].copy() if need_b and has_beta else None
        total = allreduce_sum(sums * np.float32(share)).astype(np.float64)
        if not need_x:
            return None, dg, db, None
        if not local_rows:
            return np.zeros_like(x), dg, db, None
        inv = 1.0 / np.sqrt(var.astype(np.float64) + epsilon)
        k = (gamma.astype(np.float64) if gamma is not None else 1.0) * inv
        # dx = k*dy - k/R_i * (T1 + (x - mean) * inv * T2), as k*dy + b*x + c per channel.
        b = (-k * inv * total[C:] / local_rows).astype(np.float32)
        c = (k * (inv * total[C:] * mean - total[:C]) / local_rows).astype(np.float32)
        dx += x * b
        dx += c
        return dx, dg, db, None


def sync_batch_norm_train(x, gamma, beta, epsilon, axis, allreduce_sum, contributes=True):
    """Training-mode batch normalization over every axis but ``axis`` with the moments of the
    global batch of a data-parallel step.

    Args:
        x: this rank's rows, any shape with channels on ``axis``.
        gamma: ``(channels,)`` scale, or None.
        beta: ``(channels,)`` offset, or None.
        epsilon: added to the variance.
        axis: the channel axis kept.
        allreduce_sum: a 1-D float32 array in, its sum over all ranks out (the same bits on
            every rank); every rank must call this op the same number of times.
        contributes: False on a rank computing a placeholder row (it adds zeros).

    Returns:
        ``(y, mean, variance)``: y a Tensor shaped like x, the global batch's mean and
        biased variance as float32 vectors.

    Example:
        >>> y, mean, var = sync_batch_norm_train(x, gamma, beta, 1e-3, -1, comm_sum)
    """
    xt, inv = _move_last(x, axis)
    y, mean, var = SyncBatchNormTrain.apply(xt, gamma, beta, float(epsilon),
                                            allreduce_sum=allreduce_sum,
                                            contributes=contributes)
    if inv is not None:
        y = transpose(y, inv)
    return y, mean.value, var.value
