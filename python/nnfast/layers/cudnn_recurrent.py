"""Keras 2's ``CuDNNLSTM`` / ``CuDNNGRU`` (``tf.compat.v1.keras.layers``; Keras 2.0-2.3's
``keras.layers``): the CuDNN-kernel recurrent layers, whose activations are fixed.

nnfast computes them as ``LSTM``/``GRU`` with those fixed settings, which is the same
function: ``activation="tanh"``, ``recurrent_activation="sigmoid"``, no dropout, no
unrolling, and for the GRU CuDNN's ``reset_after=True``. tf_keras 2.21 no longer has these
names; nnfast keeps them so Keras 2 programs construct their models. Their weights use the
``LSTM``/``GRU`` layout (one bias of ``4*units``, a GRU bias of shape ``(2, 3*units)``), not
CuDNN's double-bias vectors, so weight files saved by CuDNN layers do not load directly.

Example:
    >>> model = Sequential([Input((10, 8)), CuDNNLSTM(32), Dense(1)])
"""
from nnfast.layers.recurrent import GRU, LSTM

_FIXED = ("activation", "recurrent_activation", "use_bias", "dropout", "recurrent_dropout",
          "unroll", "reset_after", "use_cudnn", "seed")


def _reject_fixed(name, kwargs):
    given = sorted(k for k in kwargs if k in _FIXED)
    if given:
        raise TypeError(f"{name} has fixed activations (tanh/sigmoid), no dropout and no "
                        f"unrolling; it does not take {given}. Use LSTM/GRU for those. "
                        f"Received: {', '.join(f'{k}={kwargs[k]!r}' for k in given)}")


def _strip_fixed(config):
    return {k: v for k, v in config.items() if k not in _FIXED}


class CuDNNLSTM(LSTM):
    """Keras 2's ``CuDNNLSTM(units, ...)``: an ``LSTM`` with tanh/sigmoid activations,
    ``unit_forget_bias`` and no dropout. Input ``(batch, timesteps, features)``; output
    ``(batch, units)`` or ``(batch, timesteps, units)`` with ``return_sequences``.

    Args:
        units: the size of the hidden state (and of the output's last axis).
        kernel_initializer: initializer of the input kernel (default ``"glorot_uniform"``).
        recurrent_initializer: initializer of the recurrent kernel (default ``"orthogonal"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        unit_forget_bias: start the forget gate's bias at 1.
        kernel_regularizer: penalty on the input kernel, or None.
        recurrent_regularizer: penalty on the recurrent kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint on the input kernel, or None.
        recurrent_constraint: constraint on the recurrent kernel, or None.
        bias_constraint: constraint on the bias, or None.
        return_sequences: return the whole output sequence ``(batch, timesteps, units)``
            instead of the last step ``(batch, units)``.
        return_state: also return the final state(s) after the output.
        go_backwards: process the sequence in reverse (the returned sequence is reversed too).
        stateful: carry the final state of each batch over as the initial state of the next.
        **kwargs: base layer arguments (``name``, ...); ones CuDNN fixes (activations, dropout,
            unroll) raise a TypeError.

    Example:
        >>> y = CuDNNLSTM(16, return_sequences=True)(x)
    """

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        _reject_fixed("CuDNNLSTM", kwargs)
        super().__init__(units, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, **kwargs)

    def get_config(self):
        return _strip_fixed(super().get_config())


class CuDNNGRU(GRU):
    """Keras 2's ``CuDNNGRU(units, ...)``: a ``GRU`` with tanh/sigmoid activations and
    CuDNN's ``reset_after=True`` (the reset gate applied after the recurrent matmul).

    Args:
        units: the size of the hidden state (and of the output's last axis).
        kernel_initializer: initializer of the input kernel (default ``"glorot_uniform"``).
        recurrent_initializer: initializer of the recurrent kernel (default ``"orthogonal"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        kernel_regularizer: penalty on the input kernel, or None.
        recurrent_regularizer: penalty on the recurrent kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint on the input kernel, or None.
        recurrent_constraint: constraint on the recurrent kernel, or None.
        bias_constraint: constraint on the bias, or None.
        return_sequences: return the whole output sequence ``(batch, timesteps, units)``
            instead of the last step ``(batch, units)``.
        return_state: also return the final state(s) after the output.
        go_backwards: process the sequence in reverse (the returned sequence is reversed too).
        stateful: carry the final state of each batch over as the initial state of the next.
        **kwargs: base layer arguments (``name``, ...); ones CuDNN fixes (activations, dropout,
            unroll) raise a TypeError.

    Example:
        >>> y = CuDNNGRU(16)(x)
    """

    def __init__(self, units, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        _reject_fixed("CuDNNGRU", kwargs)
        super().__init__(units, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, reset_after=True, **kwargs)

    def get_config(self):
        return _strip_fixed(super().get_config())
