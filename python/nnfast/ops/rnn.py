"""Recurrent ops over whole sequences: ``lstm``, ``gru``, ``simple_rnn``.

Each is one fused C++ call forward (an input-projection GEMM, then per step a recurrent GEMM
and a fused gate kernel) and one backward through time, so a recurrent layer records a
single tape node per call. Under ``mixed_bfloat16`` (a layer computing in bfloat16,
``ops.precision``) every matrix product of the call -- the input projection, each step's
recurrent product with the recurrent kernel packed to bf16 once, and the backward products --
runs on the bf16 GEMM units (AMX / AVX512_BF16, else rounded copies through the fp32 kernels)
with fp32 sums, while the gates, states and gradients stay fp32. Weight layouts are Keras's: ``kernel (features, G*units)``,
``recurrent_kernel (units, G*units)``, gates in Keras order (LSTM i, f, c, o; GRU z, r, h).
"""

import numpy as np

from nnfast import _core
from nnfast.backend import memory
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops import float64 as _f64
from nnfast.ops import precision as _precision
from nnfast.ops._util import f32
from nnfast.ops.embedding import _ids as embedding_ids
from nnfast.ops.embedding import dense_rows_gradient, embedding

# Cell and activation ids as the C++ side exports them (nnfast._core.RnnCell / .Activation);
# RNN_ACTIVATION_IDS holds the activations the fused gate kernels implement.
_CELL_IDS = {name: int(value) for name, value in _core.RnnCell.__members__.items()}
RNN_ACTIVATION_IDS = {name: int(value) for name, value in _core.Activation.__members__.items()
                      if _core.rnn_activation_supported(int(value))}
# The activation names those kernels apply (what layers ask before choosing the fused path).
KERNEL_ACTIVATIONS = tuple(sorted(RNN_ACTIVATION_IDS))


# NOTE: the workspace and the big per-call arrays (megabytes each) come from the buffer cache
# (backend/memory): a fresh allocation of that size is page-faulted in on every training
# step, which costs as much as the recurrence itself; a cached block returns to the cache
# when its last reference (a tape node, an output tensor, a user) goes.
def _pooled(shape):
    return memory.empty(shape, np.float32)


def _mask_u8(mask, batch, steps):
    if mask is None:
        return None
    m = mask.value if isinstance(mask, Tensor) else np.asarray(mask)
    if m.shape != (batch, steps):
        raise ValueError(f"The mask must have shape (batch, steps) = {(batch, steps)}, "
                         f"received {m.shape}")
    if m.dtype == np.uint8:
        return np.ascontiguousarray(m)
    return np.ascontiguousarray(m != 0, dtype=np.uint8)


def dropout_mask(shape, rate, seed, offset=0):
    """A float32 mask of ``shape``: 0 with probability ``rate``, else ``1 / (1 - rate)``.

    Drawn by the counter-based dropout kernel, so it is a pure function of
    ``(seed, offset, index)``; recurrent layers draw one per sequence and reuse it each step.
    """
    ones = np.ones(shape, np.float32)
    out = np.empty_like(ones)
    _core.dropout_apply(ones, out, float(rate), int(seed) & (2**64 - 1), int(offset))
    return out


def _opt(x):
    return None if x is None else f32(x)


class _Recurrent(Function):
    """Whole-sequence recurrence. Positional (differentiable): x, kernel, recurrent_kernel,
    bias, h0, c0. Returns (h_seq, h_last) or (h_seq, h_last, c_last) for the LSTM; h_seq is
    empty (batch, 0, units) when not requested and nothing will be differentiated."""

    @staticmethod
    def forward(ctx, x, kernel, recurrent_kernel, bias, h0, c0, cell=0, mask=None,
                recurrent_mask=None, activation=3, recurrent_activation=2, go_backwards=False,
                reset_after=True, return_sequences=True, input_ids=None, token_squares=False):
        x = f32(x)
        kernel, recurrent_kernel = f32(kernel), f32(recurrent_kernel)
        bias, h0, c0 = _opt(bias), _opt(h0), _opt(c0)
        units = recurrent_kernel.shape[0]
        training = ctx.recording
        # bf16 products under mixed_bfloat16; anything else (float16 too) on the fp32 kernels
        precision = "bfloat16" if _precision.current() == "bfloat16" else "float32"
        ids = None
        if input_ids is not None:
            if x.ndim != 2:
                raise ValueError(f"With input_ids, the inputs must be an embedding table of "
                                 f"shape (vocab, features), received {x.shape}")
            ids = embedding_ids(input_ids)
            if ids.ndim != 2:
                raise ValueError(f"input_ids must have shape (batch, steps), received "
                                 f"{ids.shape}")
            batch, steps = ids.shape
            ws_size = _core.rnn_embedded_workspace_size(cell, x, ids, units, reset_after,
                                                        training)
        else:
            if x.ndim != 3:
                raise ValueError(f"Recurrent layers expect inputs of shape (batch, steps, "
                                 f"features), received {x.shape}")
            batch, steps, _ = x.shape
            ws_size = _core.rnn_workspace_size(cell, x, units, reset_after, training)
        mask = _mask_u8(mask, batch, steps)
        ws = _pooled((ws_size,))
        keep_seq = training or return_sequences
        h_seq = _pooled((batch, steps if keep_seq else 0, units))
        h_last = np.empty((batch, units), np.float32)
        c_last = np.empty((batch, units), np.float32) if cell == 0 else None
        _core.rnn_forward(cell, x, kernel, recurrent_kernel, bias, h0, c0, mask, recurrent_mask,
                          h_seq if keep_seq else None, h_last, c_last, ws, training, activation,
                          recurrent_activation, go_backwards, reset_after, ids=ids,
                          precision=precision)
        if training:
            ctx.save_for_backward(x, kernel, recurrent_kernel, h0, c0, mask, recurrent_mask,
                                  h_seq, ws, ids)
            ctx.params = (cell, activation, recurrent_activation, go_backwards, reset_after,
                          bias is not None, ids is not None and token_squares, precision)
        if cell == 0:
            return h_seq, h_last, c_last
        return h_seq, h_last

    @staticmethod
    def backward(ctx, g_seq, g_last, g_c=None):
        x, kernel, recurrent_kernel, h0, c0, mask, recurrent_mask, h_seq, ws, ids = ctx.saved
        cell, act, ract, go_backwards, reset_after, has_bias, token_squares, precision = \
            ctx.params
        need = ctx.needs_input_grad
        batch, steps, units = h_seq.shape
        dx = _pooled(x.shape) if need[0] and ids is None else None
        dk = np.empty_like(kernel) if need[1] else None
        drk = np.empty_like(recurrent_kernel) if need[2] else None
        bias_shape = ((2, recurrent_kernel.shape[1]) if cell == 1 and reset_after
                      else (recurrent_kernel.shape[1],))
        db = np.empty(bias_shape, np.float32) if has_bias and need[3] else None
        dh0 = np.empty((batch, units), np.float32) if need[4] else None
        dc0 = np.empty((batch, units), np.float32) if cell == 0 and need[5] else None
        distinct = d_rows = d_rows_sq = None
        if ids is not None:
            cap = min(x.shape[0], batch * steps)
            distinct = np.empty(cap, np.int64)
            # (a pooled buffer stays taken while the gradient handed on holds a view of it)
            d_rows = _pooled((cap, x.shape[1]))
            if token_squares:
                d_rows_sq = _pooled((cap, x.shape[1]))
        n = _core.rnn_backward(cell, x, kernel, recurrent_kernel, h0, c0, mask, recurrent_mask,
                               h_seq, ws, _opt(g_seq), _opt(g_last), _opt(g_c), dx, dk, drk, db,
                               dh0, dc0, act, ract, go_backwards, reset_after, ids=ids,
                               distinct_ids=distinct, d_rows=d_rows, d_rows_sq=d_rows_sq,
                               precision=precision)
        if ids is not None and need[0]:
            if token_squares:
                # rows summed per distinct id, with their per-token sums of squares
                dx = dense_rows_gradient(x, distinct[:n], d_rows[:n], squares=d_rows_sq[:n],
                                         distinct=True)
            else:
                # rows summed per distinct id: no per-token rows to hand the optimizer
                dx = dense_rows_gradient(x, distinct[:n], d_rows[:n], token_rows=False)
        return dx, dk, drk, db, dh0, dc0


def embedded_input_pays(batch, steps, vocab):
    """True when running a recurrence straight from an embedding table (``input_ids=``) is
    worth it. Its projection takes one GEMM row per distinct id (never more than the
    ``batch * steps`` rows of the unfused path) and no embeddings are written, but numbering
    the distinct ids costs a pass over a ``vocab``-sized map: skip tables far larger than
    the lookups."""
    return vocab <= 64 * batch * steps


def _act_id(name, what):
    name = "linear" if name is None else name
    if name not in RNN_ACTIVATION_IDS:
        raise ValueError(f"nnfast's fused recurrent kernels support {what} in "
                         f"{sorted(RNN_ACTIVATION_IDS)}, received {name!r}")
    return RNN_ACTIVATION_IDS[name]


def _run(cell, inputs, kernel, recurrent_kernel, bias, initial_state, mask, recurrent_mask,
         activation, recurrent_activation, go_backwards, reset_after, return_sequences,
         input_ids=None, token_squares=False):
    if _f64.is_float64(kernel, recurrent_kernel):
        if input_ids is not None:
            inputs = embedding(input_ids, inputs)
        sequence, last, states = _f64.recurrent(
            cell, inputs, kernel, recurrent_kernel, bias, initial_state, mask, recurrent_mask,
            activation, recurrent_activation, go_backwards, reset_after)
        return sequence, last, states
    states = list(initial_state) if initial_state is not None else []
    h0 = states[0] if states else None
    c0 = states[1] if len(states) > 1 else None
    rmask = None if recurrent_mask is None else f32(recurrent_mask)
    out = _Recurrent.apply(
        inputs, kernel, recurrent_kernel, bias, h0, c0, cell=_CELL_IDS[cell], mask=mask,
        recurrent_mask=rmask, activation=_act_id(activation, "activation"),
        recurrent_activation=_act_id(recurrent_activation, "recurrent_activation"),
        go_backwards=bool(go_backwards), reset_after=bool(reset_after),
        return_sequences=bool(return_sequences), input_ids=input_ids,
        token_squares=bool(token_squares))
    return out[0], out[1], list(out[2:]) if cell == "lstm" else []


def lstm(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
         recurrent_mask=None, activation="tanh", recurrent_activation="sigmoid",
         go_backwards=False, return_sequences=True, input_ids=None, token_squares=False):
    """Runs an LSTM over ``inputs`` (batch, steps, features) in one fused call.

    Args:
        inputs: ``(batch, steps, features)`` (or the embedding table, see ``input_ids``).
        kernel: ``(features, 4*units)``, gate order i, f, c, o (Keras).
        recurrent_kernel: ``(units, 4*units)``.
        bias: ``(4*units,)`` or None.
        initial_state: ``[h0, c0]`` of shape (batch, units) each, or None for zeros.
        mask: (batch, steps) booleans; a False step keeps the previous state and output.
        recurrent_mask: (batch, units) multiplier of h before the recurrent matmul (recurrent
            dropout, already scaled by 1/(1-rate)), or None.
        activation: the cell activation's name (default ``"tanh"``).
        recurrent_activation: the gates' activation's name (default ``"sigmoid"``).
        go_backwards: process the steps last to first (outputs come in processing order).
        return_sequences: build the whole output sequence (default True).
        input_ids: (batch, steps) integers, or None. When given, ``inputs`` is an embedding
            table (vocab, features) and step t of sample b reads row ``input_ids[b, t]``:
            the same result as ``lstm(ops.embedding(input_ids, inputs), ...)`` up to float32
            rounding, with each distinct row projected once instead of every step of every
            sample (see :func:`embedded_input_pays`). Differentiable: the table's gradient
            is dense (vocab, features) with only the looked-up rows nonzero, as
            ``ops.embedding`` gives.
        token_squares: with ``input_ids``, also keep each table row's per-token sum of
            squared gradients (an :class:`~nnfast.ops.embedding.TokenRowsGradient` with
            ``squares``), so optimizers that square an embedding's gradient per token, as
            Keras's Adam/RMSprop/... do, apply Keras's rule. Costs each token's d(input) row.

    Returns:
        ``(sequence, last_h, [h, c])``: sequence (batch, steps, units), or an empty
        (batch, 0, units) array when ``return_sequences=False`` outside a GradientTape.

    Example:
        >>> x = np.ones((2, 5, 3), "float32")
        >>> k, rk = np.zeros((3, 16), "float32"), np.zeros((4, 16), "float32")
        >>> seq, last, (h, c) = ops.lstm(x, k, rk, np.zeros(16, "float32"))
        >>> seq.shape, last.shape, h.shape, c.shape
        ((2, 5, 4), (2, 4), (2, 4), (2, 4))
    """
    seq, last, states = _run("lstm", inputs, kernel, recurrent_kernel, bias, initial_state, mask,
                             recurrent_mask, activation, recurrent_activation, go_backwards, True,
                             return_sequences, input_ids, token_squares)
    return seq, last, [last] + states


def gru(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
        recurrent_mask=None, activation="tanh", recurrent_activation="sigmoid",
        go_backwards=False, reset_after=True, return_sequences=True, input_ids=None,
        token_squares=False):
    """Runs a GRU over ``inputs`` (batch, steps, features); gate order z, r, h (Keras).

    ``bias`` is (2, 3*units) with ``reset_after=True`` (row 0 input, row 1 recurrent bias),
    else (3*units,). Other arguments (``input_ids`` included) as :func:`lstm`.
    Returns ``(sequence, last_h, [h])``.

    Args:
        inputs: ``(batch, steps, features)`` (or an embedding table with ``input_ids``, as
            :func:`lstm`).
        kernel: ``(features, 3*units)``.
        recurrent_kernel: ``(units, 3*units)``.
        bias: ``(2, 3*units)`` with ``reset_after``, else ``(3*units,)``; or None.
        initial_state: ``[h0]`` of shape ``(batch, units)``, or None for zeros.
        mask: ``(batch, steps)`` booleans; a False step keeps the previous state and output.
        recurrent_mask: ``(batch, units)`` multiplier of ``h`` before the recurrent matmul
            (recurrent dropout), or None.
        activation: the activation's name (default ``"tanh"``).
        recurrent_activation: the gates' activation's name (default ``"sigmoid"``).
        go_backwards: process the steps last to first.
        reset_after: apply the reset gate after the recurrent matmul (Keras 3's and CuDNN's
            default).
        return_sequences: build the whole output sequence (default True).
        input_ids: ``(batch, steps)`` integer ids into ``inputs`` as an embedding table, or
            None.
        token_squares: with ``input_ids``, keep the per-token sums of squares (see
            :func:`lstm`).
    """
    seq, last, _ = _run("gru", inputs, kernel, recurrent_kernel, bias, initial_state, mask,
                        recurrent_mask, activation, recurrent_activation, go_backwards,
                        reset_after, return_sequences, input_ids, token_squares)
    return seq, last, [last]


def simple_rnn(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
               recurrent_mask=None, activation="tanh", go_backwards=False,
               return_sequences=True, input_ids=None, token_squares=False):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`` over all steps.

    Returns ``(sequence, last_h, [h])``; arguments as :func:`lstm`.

    Args:
        inputs: ``(batch, steps, features)`` (or an embedding table with ``input_ids``, as
            :func:`lstm`).
        kernel: ``(features, 1*units)``.
        recurrent_kernel: ``(units, 1*units)``.
        bias: ``(units,)`` or None.
        initial_state: ``[h0]`` of shape ``(batch, units)``, or None for zeros.
        mask: ``(batch, steps)`` booleans; a False step keeps the previous state and output.
        recurrent_mask: ``(batch, units)`` multiplier of ``h`` before the recurrent matmul
            (recurrent dropout), or None.
        activation: the activation's name (default ``"tanh"``).
        go_backwards: process the steps last to first.
        return_sequences: build the whole output sequence (default True).
        input_ids: ``(batch, steps)`` integer ids into ``inputs`` as an embedding table, or
            None.
        token_squares: with ``input_ids``, keep the per-token sums of squares (see
            :func:`lstm`).
    """
    seq, last, _ = _run("simple", inputs, kernel, recurrent_kernel, bias, initial_state, mask,
                        recurrent_mask, activation, "sigmoid", go_backwards, True,
                        return_sequences, input_ids, token_squares)
    return seq, last, [last]
