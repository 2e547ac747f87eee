"""The recurrence of a convolutional LSTM (Keras's ``ConvLSTM1D/2D/3D``), with gradients.

``conv_lstm`` runs a whole sequence as one op: the input projection of every time step is one
convolution over ``batch * steps`` images (done by the caller with
``conv_bias_activation``), then each step runs one recurrent convolution (``padding="same"``,
stride 1) of ``h`` with the recurrent kernel on the C++ conv kernels and one fused gate pass (the LSTM gate kernels of
the rnn family, over batch * pixels rows):

    z = x_proj[t] + conv(h, recurrent_kernel)          (gates i, f, c, o along channels)
    i, f, o = rec_act(z_i), rec_act(z_f), rec_act(z_o);  g = act(z_c)
    c = f * c + i * g;  h = o * act(c)

Backward runs the steps in reverse, each with one backward-data convolution, and takes the
recurrent kernel's gradient in a single backward-weights convolution over all steps at the end.
Supported activations (their derivatives come from their outputs): tanh, sigmoid,
hard_sigmoid, relu, linear.
"""
import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.ops._util import f32
from nnfast.ops.rnn import RNN_ACTIVATION_IDS

ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear")


class _RecurrentConv:
    """'same', stride-1 convolution of the state h (channels_last) with the recurrent kernel
    on the C++ kernels: 1-D runs as a height-1 2-D convolution."""

    def __init__(self, kernel):
        self.rank = kernel.ndim - 2
        ks = kernel.shape[:-2]
        self.kernel = kernel.reshape((1,) + kernel.shape) if self.rank == 1 else kernel
        ks = ((1,) + ks) if self.rank == 1 else ks
        self.pads = tuple((k - 1) // 2 for k in ks)
        self.ones = (1,) * len(ks)

    def _img(self, a):
        return a.reshape((a.shape[0], 1) + a.shape[1:]) if self.rank == 1 else a

    def forward(self, h, out):
        if self.rank == 3:
            _core.conv3d_forward(h, self.kernel, None, out, self.ones, self.pads, self.ones)
        else:
            _core.conv2d_forward(self._img(h), self.kernel, None, self._img(out), self.ones,
                                 self.pads, self.ones)

    def backward_data(self, dz, dh):
        if self.rank == 3:
            _core.conv3d_backward_data(dz, self.kernel, dh, self.ones, self.pads, self.ones)
        else:
            _core.conv2d_backward_data(self._img(dz), self.kernel, self._img(dh), self.ones,
                                       self.pads, self.ones)

    def backward_weights(self, h, dz, dkernel):
        dk = dkernel.reshape(self.kernel.shape)
        if self.rank == 3:
            _core.conv3d_backward_weights(h, dz, dk, None, self.ones, self.pads, self.ones)
        else:
            _core.conv2d_backward_weights(self._img(h), self._img(dz), dk, None, self.ones,
                                          self.pads, self.ones)


class ConvLSTMSequence(Function):
    """x_proj (batch, steps, *spatial, 4F), recurrent_kernel (*k, F, 4F), h0/c0 (batch,
    *spatial, F) -> (h_seq (batch, steps, *spatial, F), h_last, c_last).

    Each step's gates run as one fused C++ pass over batch * pixels rows (the LSTM gate
    kernels: activations, c and h in registers)."""

    @staticmethod
    def forward(ctx, x_proj, recurrent_kernel, h0, c0, activation, recurrent_activation):
        x_proj, rk = f32(x_proj), f32(recurrent_kernel)
        act, ract = RNN_ACTIVATION_IDS[activation], RNN_ACTIVATION_IDS[recurrent_activation]
        h = f32(h0).copy()
        c = f32(c0).copy()
        steps, F = x_proj.shape[1], rk.shape[-2]
        conv = _RecurrentConv(rk)
        h_seq = np.empty(x_proj.shape[:-1] + (F,), dtype=np.float32)
        keep = ctx.recording
        gates, cells = [], []
        for t in range(steps):
            z = np.empty(h.shape[:-1] + (4 * F,), dtype=np.float32)
            conv.forward(h, z)
            z += x_proj[:, t]
            _core.conv_lstm_gates_forward(z, c, h, act, ract)
            h_seq[:, t] = h
            if keep:
                gates.append(z)
                cells.append(c.copy())
        if keep:
            ctx.save_for_backward(rk, f32(h0), f32(c0), h_seq, cells, gates)
            ctx.params = (act, ract)
        return h_seq, h, c

    @staticmethod
    def backward(ctx, g_seq, g_last, g_c):
        rk, h0, c0, h_seq, cells, gates = ctx.saved
        act, ract = ctx.params
        steps = h_seq.shape[1]
        conv = _RecurrentConv(rk)
        dh = np.zeros(h0.shape, np.float32) if g_last is None else f32(g_last).copy()
        dc = np.zeros(c0.shape, np.float32) if g_c is None else f32(g_c).copy()
        dz_seq = np.empty(gates[0].shape[:1] + (steps,) + gates[0].shape[1:], dtype=np.float32)
        need_x, need_rk, need_h0, need_c0 = ctx.needs_input_grad[:4]
        for t in range(steps - 1, -1, -1):
            dh_out = None if g_seq is None else np.ascontiguousarray(g_seq[:, t], np.float32)
            dz = np.empty(gates[t].shape, dtype=np.float32)
            _core.conv_lstm_gates_backward(gates[t], cells[t], cells[t - 1] if t else c0,
                                           dh_out, dh, dc, dz, act, ract)
            dz_seq[:, t] = dz
            if t > 0 or need_h0:
                conv.backward_data(dz, dh)
        drk = None
        if need_rk:
            # One weight-gradient convolution over every step: state h_{t-1} against dz_t.
            h_prev = np.concatenate([h0[:, None], h_seq[:, :-1]], axis=1)
            flat = (-1,) + h_prev.shape[2:]
            drk = np.empty_like(rk)
            conv.backward_weights(np.ascontiguousarray(h_prev.reshape(flat)),
                                  dz_seq.reshape((-1,) + dz_seq.shape[2:]), drk)
        return (dz_seq if need_x else None), drk, (dh if need_h0 else None), \
            (dc if need_c0 else None)


def conv_lstm(x_proj, recurrent_kernel, h0, c0, activation="tanh",
              recurrent_activation="sigmoid"):
    """Runs a convolutional LSTM over projected inputs (channels_last).

    Args:
        x_proj: ``(batch, steps, *spatial, 4 * filters)``: each step's input convolution plus
            bias, gates in Keras's order i, f, c, o.
        recurrent_kernel: ``(*kernel_size, filters, 4 * filters)`` (1-D, 2-D or 3-D).
        h0, c0: ``(batch, *spatial, filters)`` initial states.
        activation, recurrent_activation: names in ``ACTIVATIONS``.

    Returns:
        ``(h_seq, h_last, c_last)``: ``(batch, steps, *spatial, filters)`` and two
        ``(batch, *spatial, filters)`` Tensors.

    Example:
        >>> seq, h, c = conv_lstm(np.zeros((2, 3, 5, 5, 8), "float32"),
        ...                       np.zeros((3, 3, 2, 8), "float32"),
        ...                       np.zeros((2, 5, 5, 2), "float32"), np.zeros((2, 5, 5, 2), "float32"))
        >>> seq.shape
        (2, 3, 5, 5, 2)
    """
    for name, a in (("activation", activation), ("recurrent_activation", recurrent_activation)):
        if a not in ACTIVATIONS:
            raise NotImplementedError(f"conv_lstm supports {name} in {ACTIVATIONS}. "
                                      f"Received: {name}={a!r}")
    return ConvLSTMSequence.apply(x_proj, recurrent_kernel, h0, c0, activation,
                                  recurrent_activation)
