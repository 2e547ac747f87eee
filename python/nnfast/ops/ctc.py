"""CTC loss (Graves et al., 2006) by the forward-backward algorithm in log space.

NOTE: written for keras.losses.CTC on this branch; the ops_nn work adds
``ops.nn.ctc_loss`` too; one of the two should remain after the merge.
"""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import value

_NEG_INF = -np.inf


def _logaddexp3(a, b, c):
    return np.logaddexp(np.logaddexp(a, b), c)


class CTCLoss(Function):
    """Per-sample ``-log p(target | logits)``; the gradient with respect to the logits is
    ``softmax - posterior occupancy`` of each class at each valid step."""

    @staticmethod
    def forward(ctx, logits, target, target_length, output_length, blank=0):
        x = np.asarray(logits, np.float64)
        batch, steps, classes = x.shape
        shifted = x - x.max(axis=-1, keepdims=True)
        logp = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        lab_len = np.asarray(target_length, np.int64).reshape(batch)
        out_len = np.asarray(output_length, np.int64).reshape(batch)
        if np.any(out_len > steps) or np.any(out_len < 0):
            raise ValueError(f"output_length must be in [0, {steps}]. Received: {out_len}")
        tgt = np.asarray(target, np.int64).reshape(batch, -1)
        if np.any(lab_len > tgt.shape[1]) or np.any(lab_len < 0):
            raise ValueError(f"target_length must be in [0, {tgt.shape[1]}]. Received: {lab_len}")
        S = 2 * tgt.shape[1] + 1
        ext = np.full((batch, S), blank, np.int64)  # blank, l1, blank, l2, ..., blank
        ext[:, 1::2] = tgt
        s_len = 2 * lab_len + 1
        valid_s = np.arange(S)[None, :] < s_len[:, None]
        skip = np.zeros((batch, S), bool)  # s-2 -> s allowed
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        emit = np.take_along_axis(logp, np.broadcast_to(ext[:, None, :], (batch, steps, S)),
                                  axis=2)  # (batch, steps, S)
        alpha = np.full((batch, steps, S), _NEG_INF)
        a = np.full((batch, S), _NEG_INF)
        a[:, 0] = emit[:, 0, 0]
        a[:, 1] = np.where(lab_len > 0, emit[:, 0, 1], _NEG_INF)
        a = np.where(valid_s, a, _NEG_INF)
        alpha[:, 0] = a
        for t in range(1, steps):
            prev = alpha[:, t - 1]
            one = np.concatenate([np.full((batch, 1), _NEG_INF), prev[:, :-1]], axis=1)
            two = np.concatenate([np.full((batch, 2), _NEG_INF), prev[:, :-2]], axis=1)
            two = np.where(skip, two, _NEG_INF)
            with np.errstate(invalid="ignore"):
                alpha[:, t] = np.where(valid_s, _logaddexp3(prev, one, two) + emit[:, t], _NEG_INF)
        rows = np.arange(batch)
        last_t = np.maximum(out_len - 1, 0)
        end = alpha[rows, last_t]
        log_like = np.logaddexp(end[rows, s_len - 1],
                                np.where(s_len >= 2, end[rows, np.maximum(s_len - 2, 0)], _NEG_INF))
        log_like = np.where(out_len > 0, log_like, np.where(lab_len == 0, 0.0, _NEG_INF))
        if ctx.recording:
            ctx.save_for_backward(logp, emit, alpha, ext, skip, valid_s, s_len, out_len, log_like)
            ctx.params = (classes,)
        return (-log_like).astype(np.float32)

    @staticmethod
    def backward(ctx, g):
        logp, emit, alpha, ext, skip, valid_s, s_len, out_len, log_like = ctx.saved
        (classes,) = ctx.params
        batch, steps, S = emit.shape
        rows = np.arange(batch)
        beta = np.full((batch, steps, S), _NEG_INF)
        init = np.full((batch, S), _NEG_INF)
        init[rows, s_len - 1] = 0.0
        init[rows, np.maximum(s_len - 2, 0)] = np.where(s_len >= 2, 0.0, init[rows, np.maximum(s_len - 2, 0)])
        skip_next = np.zeros((batch, S), bool)  # s -> s+2 allowed
        skip_next[:, :-2] = skip[:, 2:]
        for t in range(steps - 1, -1, -1):
            if t == steps - 1:
                nxt = np.full((batch, S), _NEG_INF)
            else:
                nb = beta[:, t + 1] + emit[:, t + 1]
                one = np.concatenate([nb[:, 1:], np.full((batch, 1), _NEG_INF)], axis=1)
                two = np.concatenate([nb[:, 2:], np.full((batch, 2), _NEG_INF)], axis=1)
                two = np.where(skip_next, two, _NEG_INF)
                with np.errstate(invalid="ignore"):
                    nxt = _logaddexp3(nb, one, two)
            here = np.where((t == out_len - 1)[:, None], init,
                            np.where((t < out_len - 1)[:, None], nxt, _NEG_INF))
            beta[:, t] = np.where(valid_s, here, _NEG_INF)
        with np.errstate(invalid="ignore", over="ignore"):
            post = np.exp(alpha + beta - log_like[:, None, None])  # (batch, steps, S)
        post = np.nan_to_num(post, nan=0.0, posinf=0.0)
        occ = np.zeros((batch, steps, classes))
        b_idx = np.broadcast_to(rows[:, None, None], post.shape)
        t_idx = np.broadcast_to(np.arange(steps)[None, :, None], post.shape)
        k_idx = np.broadcast_to(ext[:, None, :], post.shape)
        np.add.at(occ, (b_idx, t_idx, k_idx), post)
        grad = np.exp(logp) - occ
        grad *= (np.arange(steps)[None, :] < out_len[:, None])[:, :, None]
        grad[~np.isfinite(log_like)] = 0.0  # impossible alignments: Keras gives inf loss
        g = np.asarray(g, np.float64).reshape(batch, 1, 1)
        return (grad * g).astype(np.float32), None, None, None


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss per sample.

    Args:
        target: integer labels (batch, max_label_length).
        output: logits (batch, steps, classes); a softmax is applied inside.
        target_length, output_length: (batch,) valid lengths.
        mask_index: the blank class (0).

    Returns:
        (batch,) negative log-likelihoods (``inf`` where no alignment exists).

    Example:
        >>> ctc_loss(np.array([[1, 2]]), logits, np.array([2]), np.array([5])).shape
        (1,)
    """
    return CTCLoss.apply(output, np.asarray(value(target)), np.asarray(value(target_length)),
                         np.asarray(value(output_length)), blank=int(mask_index))
