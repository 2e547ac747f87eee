"""Sparsemax as Keras 3.15 computes it, as one differentiable function."""
import numpy as np

from nnfast.backend.tape import Function


class Sparsemax(Function):
    """Keras 3.15's sparsemax on every backend: with ``zs`` the values sorted in descending
    order, ``cs`` their cumulative sums and the support ``S = {r : zs_r > (cs_r - 1) / r}``
    of size ``k``, ``tau = (sum_{r in S} cs_r - 1) / k`` and ``p = max(x - tau, 0)``.

    NOTE: Martins & Astudillo's sparsemax takes ``tau = (cs_k - 1) / k``; Keras sums the
    cumulative sums over the support instead, so its outputs need not sum to 1. nnfast
    follows Keras so that Keras models give the same numbers.
    """

    @staticmethod
    def forward(ctx, x, axis=-1):
        x = np.asarray(x, np.float32)
        z = np.moveaxis(x, axis, -1)
        order = np.argsort(-z, axis=-1, kind="stable")
        zs = np.take_along_axis(z, order, axis=-1)
        r = np.arange(1, z.shape[-1] + 1, dtype=np.float32)
        cs = np.cumsum(zs, axis=-1)
        support = zs - (cs - 1.0) / r > 0
        k = np.sum(support, axis=-1, keepdims=True).astype(np.float32)
        tau = (np.sum(np.where(support, cs, 0.0), axis=-1, keepdims=True) - 1.0) / k
        p = np.maximum(z - tau, 0.0).astype(np.float32)
        if ctx.recording:
            # d tau / d zs_r = (number of support positions j >= r) / k on the support
            after = np.cumsum(support[..., ::-1], axis=-1)[..., ::-1]
            coef_sorted = np.where(support, after / k, 0.0)
            coef = np.empty_like(coef_sorted)
            np.put_along_axis(coef, order, coef_sorted, axis=-1)
            ctx.save_for_backward((p > 0).astype(np.float32), coef.astype(np.float32))
        ctx.params = (axis,)
        return np.moveaxis(p, -1, axis)

    @staticmethod
    def backward(ctx, g):
        active, coef = ctx.saved
        (axis,) = ctx.params
        g = np.moveaxis(np.asarray(g, np.float32), axis, -1)
        total = np.sum(g * active, axis=-1, keepdims=True)
        return np.moveaxis(g * active - total * coef, -1, axis), None
