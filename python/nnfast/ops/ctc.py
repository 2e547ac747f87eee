"""Connectionist temporal classification: ``ctc_loss`` (forward-backward in log space,
vectorized over the batch and the label positions, one NumPy step per time step) with its
gradient, and ``ctc_decode`` (greedy, or prefix beam search), as ``keras.ops.nn`` on the
TensorFlow backend."""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._util import value

_NEG_INF = -np.inf


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _logaddexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe))


class CTCLoss(Function):
    """Per-sample negative log-likelihood of ``target`` under the CTC alignment model.

    ``output`` is ``(batch, time, classes)`` logits (log-softmaxed here);
    ``ext``/``lengths`` describe the blank-interleaved labels (prepared by ``ctc_loss``)."""

    @staticmethod
    def forward(ctx, output, ext=None, skip=None, ext_len=None, out_len=None):
        logits = np.asarray(output, dtype=np.float64)
        b, t_max, _ = logits.shape
        logp = _log_softmax(logits)
        s_max = ext.shape[1]
        rows = np.arange(b)[:, None]
        emit = logp[rows, :, ext].transpose(2, 0, 1)  # (T, B, S): log p of ext label s at t
        s_idx = np.arange(s_max)[None, :]
        inside = s_idx < ext_len[:, None]
        alpha = np.full((t_max, b, s_max), _NEG_INF)
        alpha[0, :, 0] = emit[0, :, 0]
        alpha[0, :, 1:2] = np.where(ext_len[:, None] > 1, emit[0, :, 1:2], _NEG_INF)
        pad = np.full((b, 2), _NEG_INF)
        for t in range(1, t_max):
            prev = np.concatenate([pad, alpha[t - 1]], axis=1)
            a = _logaddexp3(prev[:, 2:], prev[:, 1:-1], np.where(skip, prev[:, :-2], _NEG_INF))
            alpha[t] = np.where(inside, a + emit[t], _NEG_INF)
        beta = np.full((t_max, b, s_max), _NEG_INF)
        last = out_len - 1
        ends = np.stack([ext_len - 1, ext_len - 2], axis=1)
        for bi in range(b):
            for s in ends[bi]:
                if s >= 0:
                    beta[last[bi], bi, s] = emit[last[bi], bi, s]
        skip_next = np.concatenate([skip[:, 2:], np.zeros((b, 2), bool)], axis=1)
        for t in range(t_max - 2, -1, -1):
            nxt = np.concatenate([beta[t + 1], pad], axis=1)
            bt = _logaddexp3(nxt[:, :-2], nxt[:, 1:-1], np.where(skip_next, nxt[:, 2:], _NEG_INF))
            active = (t < last)[:, None]
            beta[t] = np.where(active & inside, bt + emit[t], beta[t])
        tail = alpha[last, np.arange(b)]  # (B, S)
        e1 = np.take_along_axis(tail, np.maximum(ends, 0), axis=1)
        e1 = np.where(ends >= 0, e1, _NEG_INF)
        log_like = np.logaddexp(e1[:, 0], e1[:, 1])
        if ctx.recording:
            ctx.save_for_backward(logp, alpha, beta, emit, ext, log_like, out_len)
        return (-log_like).astype(np.float32)

    @staticmethod
    def backward(ctx, g):
        logp, alpha, beta, emit, ext, log_like, out_len = ctx.saved
        b, t_max, c = logp.shape
        # Occupancy of each class at each step: sum over the label positions holding it.
        occ_log = alpha + beta - emit - log_like[None, :, None]  # (T, B, S)
        occ = np.where(np.isfinite(occ_log), np.exp(np.minimum(occ_log, 0.0)), 0.0)
        gamma = np.zeros((t_max, b, c))
        t_idx, b_idx = np.indices((t_max, b))
        for s in range(ext.shape[1]):
            np.add.at(gamma, (t_idx, b_idx, ext[None, :, s].repeat(t_max, 0)), occ[:, :, s])
        gamma = gamma.transpose(1, 0, 2)
        valid = (np.arange(t_max)[None, :] < out_len[:, None])[..., None]
        grad = np.where(valid, np.exp(logp) - gamma, 0.0)
        grad = np.where(np.isfinite(log_like)[:, None, None], grad, 0.0)
        return (grad * np.asarray(g, np.float64)[:, None, None]).astype(np.float32)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss per sample (``tf.nn.ctc_loss`` with batch-major logits).

    Args:
        target: ``(batch, max_label_length)`` integer labels (entries past
            ``target_length`` are ignored).
        output: ``(batch, max_time, num_classes)`` logits.
        target_length: ``(batch,)`` label lengths.
        output_length: ``(batch,)`` frame counts (the valid steps of ``output``).
        mask_index: the class index of the CTC blank.

    Returns:
        ``(batch,)`` losses (``inf`` where no alignment fits in the frames), differentiable
        in ``output``.

    Example:
        >>> loss = ops.ctc_loss(np.array([[1, 2]]), np.zeros((1, 5, 4), "float32"),
        ...                     np.array([2]), np.array([5]))
    """
    labels = np.asarray(value(target))
    shape = np.shape(value(output))
    if len(shape) != 3 or labels.ndim != 2 or labels.shape[0] != shape[0]:
        raise ValueError(f"ctc_loss expects target (batch, max_label_length) and output "
                         f"(batch, max_time, num_classes); received target.shape="
                         f"{labels.shape}, output.shape={shape}")
    b, t_max, c = shape
    labels = labels.astype(np.int64)
    tlen = np.asarray(value(target_length)).astype(np.int64).reshape(-1)
    olen = np.asarray(value(output_length)).astype(np.int64).reshape(-1)
    if tlen.shape != (b,) or olen.shape != (b,):
        raise ValueError(f"ctc_loss: target_length and output_length must have shape ({b},); "
                         f"received {tlen.shape} and {olen.shape}")
    if np.any(olen < 1) or np.any(olen > t_max) or np.any(tlen < 0) or \
            np.any(tlen > labels.shape[1]):
        raise ValueError(f"ctc_loss: lengths out of range; received target_length={tlen}, "
                         f"output_length={olen} for target {labels.shape}, output {shape}")
    blank = int(mask_index) % c
    s_max = 2 * labels.shape[1] + 1
    ext = np.full((b, s_max), blank, np.int64)
    ext[:, 1::2] = np.where(np.arange(labels.shape[1])[None, :] < tlen[:, None], labels, blank)
    if np.any((ext < 0) | (ext >= c)):
        raise ValueError(f"ctc_loss: labels must be in [0, {c}); received target={labels}")
    prev2 = np.concatenate([np.full((b, 2), -1), ext[:, :-2]], axis=1)
    skip = (ext != blank) & (ext != prev2)
    return CTCLoss.apply(output, ext=ext, skip=skip, ext_len=2 * tlen + 1, out_len=olen)


def _greedy(x, lengths, merge_repeated, blank):
    b, t_max, _ = x.shape
    best = x.argmax(axis=-1)
    scores = -np.where(np.arange(t_max)[None, :] < lengths[:, None], x.max(axis=-1), 0.0).sum(1)
    decoded = np.full((1, b, t_max), -1, np.int32)
    for i in range(b):
        seq = best[i, :lengths[i]]
        keep = seq != blank
        if merge_repeated and seq.size:
            keep &= np.concatenate([[True], seq[1:] != seq[:-1]])
        out = seq[keep]
        decoded[0, i, :out.size] = out
    return decoded, scores[:, None].astype(np.float32)


def _beam_search(logp, blank, beam_width, top_paths):
    """CTC prefix beam search over ``logp`` ``(time, classes)``: each beam keeps the log
    probabilities of its prefix ending in a blank (``pb``) and in a label (``pnb``). One
    step scores every (beam, class) extension at once with NumPy; Python touches only the
    beams kept."""
    c = logp.shape[1]
    prefixes = [()]
    pb = np.array([0.0])
    pnb = np.array([-np.inf])
    for row in logp:
        total = np.logaddexp(pb, pnb)
        last = np.array([p[-1] if p else -1 for p in prefixes])
        # Staying on the same prefix: a blank, or a repeat of its last label.
        stay_b = total + row[blank]
        stay_nb = np.where(last >= 0, pnb + row[np.maximum(last, 0)], -np.inf)
        # Extending by class k: after a blank only when k repeats the last label.
        ext = np.where(np.arange(c)[None, :] == last[:, None], pb[:, None], total[:, None])
        ext = ext + row[None, :]
        ext[:, blank] = -np.inf
        # An extension that equals a kept prefix merges into that prefix's label mass.
        index = {p: i for i, p in enumerate(prefixes)}
        for j, p in enumerate(prefixes):
            i = index.get(p[:-1]) if p else None
            if i is not None and np.isfinite(ext[i, p[-1]]):
                stay_nb[j] = np.logaddexp(stay_nb[j], ext[i, p[-1]])
                ext[i, p[-1]] = -np.inf
        n = len(prefixes)
        scores = np.concatenate([np.logaddexp(stay_b, stay_nb), ext.ravel()])
        keep = min(beam_width, int(np.isfinite(scores).sum()) or 1)
        best = np.argpartition(-scores, keep - 1)[:keep]
        best = best[np.argsort(-scores[best], kind="stable")]
        new_prefixes, new_pb, new_pnb = [], [], []
        for k in best.tolist():
            if k < n:
                new_prefixes.append(prefixes[k])
                new_pb.append(stay_b[k])
                new_pnb.append(stay_nb[k])
            else:
                i, label = divmod(k - n, c)
                new_prefixes.append(prefixes[i] + (label,))
                new_pb.append(-np.inf)
                new_pnb.append(ext[i, label])
        prefixes, pb, pnb = new_prefixes, np.array(new_pb), np.array(new_pnb)
    total = np.logaddexp(pb, pnb)
    order = np.argsort(-total, kind="stable")[:top_paths]
    return [(list(prefixes[k]), float(total[k])) for k in order]


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes CTC outputs (``keras.ops.ctc_decode``).

    Args:
        inputs: ``(batch, max_time, num_classes)`` logits.
        sequence_lengths: ``(batch,)`` number of valid steps of each sample.
        strategy: ``"greedy"`` (best class per step, repeats merged, blanks dropped) or
            ``"beam_search"`` (prefix beam search over log-softmax probabilities).
        beam_width: beam search: prefixes kept per step.
        top_paths: beam search: number of paths returned.
        merge_repeated: greedy only; merge repeated labels.
        mask_index: the blank class.

    Returns:
        ``(decoded, scores)``: decoded ``(top_paths, batch, max_time)`` int32 label sequences
        padded with -1; scores ``(batch, top_paths)``: for greedy minus the sum of the best
        logits (as TensorFlow), for beam search each path's log probability.

    Example:
        >>> decoded, scores = ops.ctc_decode(np.random.rand(2, 6, 4), np.array([6, 4]))
    """
    x = np.asarray(value(inputs), dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"ctc_decode expects (batch, max_time, num_classes) inputs, received "
                         f"inputs.shape={x.shape}")
    b, t_max, c = x.shape
    lengths = np.asarray(value(sequence_lengths)).astype(np.int64).reshape(-1)
    if lengths.shape != (b,) or np.any(lengths < 0) or np.any(lengths > t_max):
        raise ValueError(f"ctc_decode: sequence_lengths must be ({b},) values in [0, {t_max}]; "
                         f"received {np.asarray(value(sequence_lengths))}")
    blank = int(mask_index if mask_index is not None else c - 1) % c
    if strategy == "greedy":
        decoded, scores = _greedy(x, lengths, merge_repeated, blank)
    elif strategy == "beam_search":
        logp = _log_softmax(x.astype(np.float64))
        decoded = np.full((top_paths, b, t_max), -1, np.int32)
        scores = np.full((b, top_paths), -np.inf, np.float32)
        for i in range(b):
            for p, (labels, score) in enumerate(
                    _beam_search(logp[i, :lengths[i]], blank, int(beam_width), int(top_paths))):
                decoded[p, i, :len(labels)] = labels
                scores[i, p] = score
    else:
        raise ValueError(f"Invalid strategy {strategy}. Supported values are 'greedy' and "
                         f"'beam_search'.")
    return Tensor(decoded), Tensor(scores)
