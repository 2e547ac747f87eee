"""Convolutional LSTM layers: ``ConvLSTM1D``, ``ConvLSTM2D``, ``ConvLSTM3D``.

As Keras computes them (Shi et al., 2015): the LSTM's matrix products become convolutions,
the input one with the layer's strides/padding/dilation and the recurrent one 'same' with
stride 1. The input convolution of every time step runs as one convolution over
``batch * steps`` images; the recurrence runs as one op (``nnfast.ops.conv_lstm``): per step one
recurrent convolution on the C++ kernels and one fused gate pass, and backward through time
the same way. Weights are Keras's: ``kernel`` (*kernel_size, in, 4*filters),
``recurrent_kernel`` (*kernel_size, filters, 4*filters), ``bias`` (4*filters,), gates in the
order i, f, c, o, so ``set_weights`` and Keras's files move them both ways.
"""
import numpy as np

from nnfast import activations, constraints, initializers, ops, regularizers
from nnfast.backend import random as nnrandom
from nnfast.distribution.shard import mask_offsets
from nnfast.layers.convolutional import _positive_int
from nnfast.layers.layer import Layer
from nnfast.layers.recurrent import _serialize
from nnfast.ops.conv import (_check_padding, _standardize_data_format, conv_bias_activation,
                             normalize_tuple, output_size)
from nnfast.ops.conv3d import conv3d_bias_activation
from nnfast.ops.conv_lstm import ACTIVATIONS, conv_lstm
from nnfast.ops.rnn import dropout_mask


def _activation_name(act, what, layer):
    name = activations.serialize(act)
    if name not in ACTIVATIONS or activations.get(name) is not act:
        raise NotImplementedError(f"{layer}: nnfast's ConvLSTM supports {what} in "
                                  f"{ACTIVATIONS}. Received: {what}={name!r}")
    return name


class _ConvLSTM(Layer):
    """Shared body of ConvLSTM1D/2D/3D (``rank`` spatial axes)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        # Keras's RNN base takes these through **kwargs (its configs carry them); the sequence
        # op never unrolls and masks are not supported, so only their 'off' values pass.
        unroll = bool(kwargs.pop("unroll", False))
        if kwargs.pop("zero_output_for_mask", False) not in (False, None):
            raise NotImplementedError(f"{type(self).__name__}: zero_output_for_mask needs masks,"
                                      " which nnfast's ConvLSTM layers do not support")
        super().__init__(**kwargs)
        r = self.rank
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = normalize_tuple(kernel_size, r, "kernel_size")
        self.strides = normalize_tuple(strides, r, "strides")
        self.padding = _check_padding(padding)
        self.data_format = _standardize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, r, "dilation_rate")
        if min(self.kernel_size) <= 0 or min(self.strides) <= 0 or min(self.dilation_rate) <= 0:
            raise ValueError(f"kernel_size, strides and dilation_rate must be positive. Received: "
                             f"kernel_size={kernel_size}, strides={strides}, "
                             f"dilation_rate={dilation_rate}")
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        name = type(self).__name__
        self._act = _activation_name(self.activation, "activation", name)
        self._ract = _activation_name(self.recurrent_activation, "recurrent_activation", name)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self._stream_seed = nnrandom.draw_seed() if seed is None else int(seed)
        self._offset = 0
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)  # accepted; the sequence op never needs unrolling
        self.states = None

    # --- weights -------------------------------------------------------------------------
    def _in_channels(self, input_shape):
        if len(input_shape) != self.rank + 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim={self.rank + 3}, found ndim={len(input_shape)}. "
                             f"Full shape received: {tuple(input_shape)}")
        c = input_shape[2] if self.data_format == "channels_first" else input_shape[-1]
        if c is None:
            raise ValueError(f"The channel dimension of the inputs to '{self.name}' must be "
                             f"defined. Received input_shape={tuple(input_shape)}")
        return c

    def build(self, input_shape):
        in_c = self._in_channels(input_shape)
        n = 4 * self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (in_c, n),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, n), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                base, f = self.bias_initializer, self.filters

                def init(shape, dtype="float32"):
                    b = np.asarray(base((4 * f,), dtype=dtype)).copy()
                    b[f:2 * f] = 1.0
                    return b

            self.bias = self.add_weight(shape=(n,), initializer=init,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    # --- call ----------------------------------------------------------------------------
    def _conv(self, x, kernel, bias):
        if self.rank == 3:
            return conv3d_bias_activation(x, kernel, bias, self.strides, self.padding,
                                          self.dilation_rate)
        return conv_bias_activation(x, kernel, bias, self.strides, self.padding,
                                    self.dilation_rate)

    def _project(self, x, training):
        """Every step's input convolution as one over batch*steps images (channels_last)."""
        b, t = x.shape[0], x.shape[1]
        flat = ops.reshape(x, (b * t,) + tuple(x.shape[2:]))
        if training and 0.0 < self.dropout < 1.0:
            # Keras masks each gate's input separately (4 masks, the same at every step).
            f = self.filters
            parts = []
            for gate in range(4):
                m_shape = (b, 1) + tuple(x.shape[2:])
                draw_at, self._offset = mask_offsets(self._offset, m_shape)
                m = dropout_mask(m_shape, self.dropout, self._stream_seed, draw_at)
                xg = ops.reshape(ops.multiply(x, m), (b * t,) + tuple(x.shape[2:]))
                kg = ops.get_item(self.kernel, (Ellipsis, slice(gate * f, (gate + 1) * f)))
                bg = (None if self.bias is None else
                      ops.get_item(self.bias, slice(gate * f, (gate + 1) * f)))
                parts.append(self._conv(xg, kg, bg))
            proj = ops.concatenate(parts, axis=-1)
        else:
            proj = self._conv(flat, self.kernel, self.bias)
        return ops.reshape(proj, (b, t) + tuple(proj.shape[1:]))

    def _state_shape(self, batch, spatial):
        out = [output_size(n, k, s, d, self.padding) for n, k, s, d in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate)]
        return (batch,) + tuple(out) + (self.filters,)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if mask is not None:
            raise NotImplementedError(f"{type(self).__name__}: masked sequences are not "
                                      "supported by nnfast's ConvLSTM layers")
        if training and 0.0 < self.recurrent_dropout < 1.0:
            raise NotImplementedError(f"{type(self).__name__}: recurrent_dropout > 0 in "
                                      "training is not implemented in nnfast")
        x = inputs
        if len(x.shape) != self.rank + 3:
            raise ValueError(f"{type(self).__name__} expects inputs of rank {self.rank + 3} "
                             f"(batch, time, *spatial, channels), received shape {x.shape}")
        first = self.data_format == "channels_first"
        if first:  # (b, t, c, *sp) -> (b, t, *sp, c)
            x = ops.transpose(x, (0, 1) + tuple(range(3, self.rank + 3)) + (2,))
        if self.go_backwards:
            x = ops.get_item(x, (slice(None), slice(None, None, -1)))
        batch = x.shape[0]
        proj = self._project(x, training)
        state_shape = (batch,) + tuple(proj.shape[2:-1]) + (self.filters,)
        if initial_state is None and self.stateful and self.states is not None:
            initial_state = self.states
        if initial_state is None:
            h0 = c0 = np.zeros(state_shape, np.float32)
        else:
            h0, c0 = initial_state
            if first:
                perm = (0,) + tuple(range(2, self.rank + 2)) + (1,)
                h0, c0 = ops.transpose(h0, perm), ops.transpose(c0, perm)
        seq, h, c = conv_lstm(proj, self.recurrent_kernel, h0, c0, self._act, self._ract)
        if self.stateful:
            self.states = [np.array(h.value), np.array(c.value)]
        out = seq if self.return_sequences else h
        if first:
            r = self.rank
            out = (ops.transpose(out, (0, 1, r + 2) + tuple(range(2, r + 2)))
                   if self.return_sequences else
                   ops.transpose(out, (0, r + 1) + tuple(range(1, r + 1))))
            perm = (0, r + 1) + tuple(range(1, r + 1))
            h, c = ops.transpose(h, perm), ops.transpose(c, perm)
        if self.return_state:
            return [out, h, c]
        return out

    def reset_states(self, states=None):
        """Stateful layers: sets the carried states to zeros (or to ``states``)."""
        self.states = None if states is None else [np.array(s, np.float32) for s in states]

    reset_state = reset_states

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        spatial = input_shape[3:] if first else input_shape[2:-1]
        state = self._state_shape(input_shape[0], spatial)
        if first:
            state = (state[0], state[-1]) + state[1:-1]
        out = ((input_shape[0], input_shape[1]) + state[1:]) if self.return_sequences else state
        if self.return_state:
            return [out, state, state]
        return out

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": _serialize(self.kernel_regularizer),
            "recurrent_regularizer": _serialize(self.recurrent_regularizer),
            "bias_regularizer": _serialize(self.bias_regularizer),
            "activity_regularizer": _serialize(self.activity_regularizer),
            "kernel_constraint": _serialize(self.kernel_constraint),
            "recurrent_constraint": _serialize(self.recurrent_constraint),
            "bias_constraint": _serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": False,
        })
        return config


_DOC = """Convolutional LSTM over sequences of {what} (Keras's ``ConvLSTM{r}D``).

    Args:
        filters: output channels.
        kernel_size: int or tuple: the window of the input convolution (the recurrent one
            uses the same window, 'same' padding and stride 1).
        strides: int or tuple: the input convolution's step (default 1).
        padding: ``"valid"`` or ``"same"`` (of the input convolution).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple: the input convolution's tap spacing (default 1).
        activation: the cell activation (default tanh; tanh, sigmoid, hard_sigmoid, relu or
            linear).
        recurrent_activation: the gates' activation (default sigmoid; same choices).
        use_bias: whether the gates have biases.
        kernel_initializer: initializer of the input kernel.
        recurrent_initializer: initializer of the recurrent kernel (default orthogonal).
        bias_initializer: initializer of the bias.
        unit_forget_bias: start the forget gate's bias at 1.
        kernel_regularizer: penalty on the input kernel, or None.
        recurrent_regularizer: penalty on the recurrent kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the output, or None.
        kernel_constraint: constraint on the input kernel, or None.
        recurrent_constraint: constraint on the recurrent kernel, or None.
        bias_constraint: constraint on the bias, or None.
        dropout: fraction of the input dropped (per-gate masks, as Keras; training only).
        recurrent_dropout: fraction of the state dropped (training only).
        seed: seed of the dropout masks.
        return_sequences: output every step instead of the last.
        return_state: also return the final states.
        go_backwards: process the sequence in reverse.
        stateful: carry the final state of a batch over to the next.

    Input ``(batch, time, {shape}, channels)``; output ``(batch, [time,] {oshape}, filters)``.

    Example:
        >>> layer = ConvLSTM{r}D(4, 3, padding="same", return_sequences=True)
        >>> layer(np.zeros({example}, "float32")).shape
        {result}
"""


class ConvLSTM1D(_ConvLSTM):
    rank = 1
    __doc__ = _DOC.format(what="1-D signals", r=1, shape="steps", oshape="out_steps",
                          example="(2, 5, 10, 3)", result="(2, 5, 10, 4)")


class ConvLSTM2D(_ConvLSTM):
    rank = 2
    __doc__ = _DOC.format(what="images (e.g. video frames)", r=2, shape="h, w",
                          oshape="oh, ow", example="(2, 5, 8, 8, 3)", result="(2, 5, 8, 8, 4)")


class ConvLSTM3D(_ConvLSTM):
    rank = 3
    __doc__ = _DOC.format(what="volumes", r=3, shape="d, h, w", oshape="od, oh, ow",
                          example="(2, 5, 4, 6, 6, 3)", result="(2, 5, 4, 6, 6, 4)")
