"""Recurrent layers: ``LSTM``, ``GRU``, ``SimpleRNN``.

Each call runs the whole sequence in one fused op (``nnfast.ops.lstm`` / ``gru`` /
``simple_rnn``): an input-projection GEMM, then per step a recurrent GEMM and a fused gate
kernel, with the batch split across threads. Weights are Keras's (``kernel``,
``recurrent_kernel``, ``bias``, gates in Keras order), so ``set_weights`` moves them between
Keras and nnfast.
"""
import numpy as np

from nnfast import activations, constraints, initializers, ops, regularizers
from nnfast.backend import random as nnrandom
from nnfast.backend.tensor import Tensor
from nnfast.distribution.shard import mask_offsets
from nnfast.layers.layer import Layer
from nnfast.ops.rnn import KERNEL_ACTIVATIONS, dropout_mask


def _serialize(obj):
    if obj is None:
        return None
    return {"module": "keras." + type(obj).__module__.split(".")[-1],
            "class_name": type(obj).__name__, "config": obj.get_config(), "registered_name": None}


def _kernel_activation(act, what, layer):
    name = activations.serialize(act) if act is not None else "linear"
    if name not in KERNEL_ACTIVATIONS or activations.get(name) is not act:
        raise ValueError(
            f"{layer}: nnfast's fused recurrent kernels support {what} in "
            f"{list(KERNEL_ACTIVATIONS)}, received {name!r}")
    return name


class _RNNBase(Layer):
    """Shared argument handling, masks, dropout masks, states and shapes of the recurrent
    layers. Subclasses set ``_cell`` and ``_gates`` and build their weights."""

    _cell = None
    _gates = 1

    def _setup(self, units, activation, recurrent_activation, use_bias, kernel_initializer,
               recurrent_initializer, bias_initializer, kernel_regularizer,
               recurrent_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
               recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
               return_sequences, return_state, go_backwards, stateful, unroll):
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        name = type(self).__name__
        self._act = _kernel_activation(self.activation, "activation", name)
        self._ract = _kernel_activation(self.recurrent_activation, "recurrent_activation", name)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
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
        self.unroll = bool(unroll)  # accepted; the fused kernel never needs unrolling
        self.zero_output_for_mask = False
        self.supports_masking = True
        self.states = None

    # --- weights -------------------------------------------------------------------------
    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None or len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, steps, "
                             f"features) with known features, received {input_shape}")
        n = self._gates * self.units
        self.kernel = self.add_weight(shape=(features, n), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, n), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self._bias_shape(),
                                        initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")
        self.built = True

    # --- states ----------------------------------------------------------------------------
    @property
    def _num_states(self):
        return 2 if self._cell == "lstm" else 1

    def reset_states(self, states=None):
        """Stateful layers: sets the carried states to zeros (or to ``states``)."""
        if states is None:
            self.states = None
        else:
            states = states if isinstance(states, (list, tuple)) else [states]
            self.states = [np.array(s, dtype=np.float32) for s in states]

    reset_state = reset_states

    # --- call ----------------------------------------------------------------------------
    def _dropout_mask(self, shape, rate):
        draw_at, self._offset = mask_offsets(self._offset, shape)  # rows of the global batch
        return dropout_mask(shape, rate, self._stream_seed, draw_at)

    def _run(self, x, initial_state, mask, recurrent_mask, return_sequences, input_ids=None,
             token_squares=False):
        raise NotImplementedError

    def _initial_state(self, batch, initial_state):
        if initial_state is None and self.stateful and self.states is not None:
            if self.states[0].shape[0] != batch:
                raise ValueError(f"Stateful {type(self).__name__} was called with batch size "
                                 f"{batch} but holds states for batch {self.states[0].shape[0]}.")
            initial_state = self.states
        if initial_state is not None and not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        return initial_state

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if mask is None and isinstance(inputs, Tensor):
            mask = inputs._keras_mask
        x = inputs
        shape = np.shape(x.value if isinstance(x, Tensor) else x)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, steps, "
                             f"features), received {shape}")
        batch = shape[0]
        initial_state = self._initial_state(batch, initial_state)
        if training and 0.0 < self.dropout < 1.0:
            x = ops.multiply(x, self._dropout_mask((batch, 1, shape[2]), self.dropout))
        rmask = None
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rmask = self._dropout_mask((batch, self.units), self.recurrent_dropout)
        seq, last, states = self._run(x, initial_state, mask, rmask,
                                      self.return_sequences)
        return self._outputs(seq, last, states, mask)

    def _call_on_embedding(self, ids, table, mask=None, training=None, token_squares=False):
        """``call(embedding(ids, table), mask=mask, training=training)`` with the input
        projection taken once per distinct id (``ops.lstm(..., input_ids=...)``). Input
        dropout cannot apply to rows shared by several steps: callers fall back to the
        unfused layers when it is active (``_fuses_embedding``). ``token_squares``: keep the
        per-token sums of squares the optimizer's rule needs (``ops.lstm``)."""
        batch = ids.shape[0]
        initial_state = self._initial_state(batch, None)
        rmask = None
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rmask = self._dropout_mask((batch, self.units), self.recurrent_dropout)
        seq, last, states = self._run(table, initial_state, mask, rmask, self.return_sequences,
                                      input_ids=ids, token_squares=token_squares)
        return self._outputs(seq, last, states, mask)

    def _fuses_embedding(self, training, optimizer=None):
        # NOTE: the fused backward sums the table's gradient per distinct id, while most of
        # Keras's optimizers square it per token (see ops.embedding's TokenRowsGradient):
        # training fuses for an optimizer whose step is linear in the gradient, or that
        # takes the per-token sums of squares the fused backward can keep.
        if not training:
            return True
        if 0.0 < self.dropout < 1.0 or optimizer is None:
            return False
        return not optimizer._needs_token_rows() or optimizer._accepts_token_squares()

    def _outputs(self, seq, last, states, mask):
        if self.stateful:
            self.states = [np.array(s.value if isinstance(s, Tensor) else s) for s in states]
        if self.return_sequences:
            output = seq
            if mask is not None:
                if self.zero_output_for_mask:
                    m = np.asarray(mask.value if isinstance(mask, Tensor) else mask, bool)
                    m = m[:, ::-1] if self.go_backwards else m
                    output = ops.multiply(output, m[:, :, None].astype(np.float32))
                output._keras_mask = mask.value if isinstance(mask, Tensor) else mask
        else:
            output = last
        if self.return_state:
            return [output] + list(states)
        return output

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * self._num_states
        return out

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self._num_states
        return out

    # --- config ----------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
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
        })
        return config


class LSTM(_RNNBase):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997), as Keras computes it.

    Weights: ``kernel (features, 4*units)``, ``recurrent_kernel (units, 4*units)``,
    ``bias (4*units,)``, gates in order i, f, c, o. ``unit_forget_bias=True`` initializes
    the forget-gate bias to 1.

    Args:
        units: size of the state.
        activation: for the cell input and output (default tanh). Supported: tanh,
            sigmoid, hard_sigmoid, relu, linear.
        recurrent_activation: for the gates (default sigmoid); the same choices.
        use_bias: whether the gates have a bias.
        kernel_initializer: initializer of the input kernel (default glorot_uniform).
        recurrent_initializer: initializer of the recurrent kernel (default orthogonal).
        bias_initializer: initializer of the bias (default zeros).
        unit_forget_bias: start the forget gate's bias at 1 (default True).
        kernel_regularizer: penalty on the input kernel, or None.
        recurrent_regularizer: penalty on the recurrent kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint on the input kernel, or None.
        recurrent_constraint: constraint on the recurrent kernel, or None.
        bias_constraint: constraint on the bias, or None.
        dropout: fraction of the inputs dropped before the input matmul, one mask per
            sequence (training only).
        recurrent_dropout: fraction of the state dropped before the recurrent matmul, one
            mask per sequence (training only).
        return_sequences: output every step (batch, steps, units) instead of the last.
        return_state: also return the final ``h`` and ``c``.
        go_backwards: process the sequence in reverse (outputs in processing order).
        stateful: carry the final states into the next call (``reset_states()`` clears).
        unroll: accepted for compatibility (no effect).
        seed: seed of the dropout masks (None: drawn from the global generator).
        use_cudnn: Keras's CuDNN switch; accepted, no effect (nnfast runs its CPU kernel).

    Input ``(batch, steps, features)``; a mask from ``Embedding(mask_zero=True)`` or
    ``Masking`` keeps the previous state and output at padded steps.

    Example:
        >>> model = keras.Sequential([keras.Input((None,), dtype="int32"),
        ...                           keras.layers.Embedding(10000, 128), keras.layers.LSTM(64),
        ...                           keras.layers.Dense(1, activation="sigmoid")])
        >>> model.predict(np.ones((2, 7), "int32"), verbose=0).shape
        (2, 1)
        >>> seq = keras.layers.LSTM(4, return_sequences=True, return_state=True)
        >>> [t.shape for t in seq(np.zeros((2, 5, 3), "float32"))]
        [(2, 5, 4), (2, 4), (2, 4)]
    """

    _cell = "lstm"
    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(**kwargs)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer,
                    recurrent_initializer, bias_initializer, kernel_regularizer,
                    recurrent_regularizer, bias_regularizer, activity_regularizer,
                    kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                    recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                    stateful, unroll)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.use_cudnn = use_cudnn

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def init(shape, dtype="float32"):
            b = np.asarray(base((units * 4,), dtype=dtype)).copy()
            b[units:2 * units] = 1.0
            return b

        return init

    def _run(self, x, initial_state, mask, rmask, return_sequences, input_ids=None,
             token_squares=False):
        return ops.lstm(x, self.kernel, self.recurrent_kernel, self.bias, initial_state, mask,
                        rmask, self._act, self._ract, self.go_backwards, return_sequences,
                        input_ids, token_squares)

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRU(_RNNBase):
    """Gated Recurrent Unit (Cho et al., 2014), as Keras computes it.

    Weights: ``kernel (features, 3*units)``, ``recurrent_kernel (units, 3*units)``, gates
    z, r, h. With ``reset_after=True`` (default) the reset gate multiplies ``h @ U_h + b_h``
    and the bias is ``(2, 3*units)`` (row 0 input, row 1 recurrent); with False it
    multiplies ``h`` before the matmul and the bias is ``(3*units,)``.
    ``h = z * h_prev + (1 - z) * hh``.

    Args:
        units: size of the state.
        activation: for the candidate state (default tanh).
        recurrent_activation: for the gates (default sigmoid).
        use_bias: whether the gates have a bias.
        kernel_initializer: initializer of the input kernel (default glorot_uniform).
        recurrent_initializer: initializer of the recurrent kernel (default orthogonal).
        bias_initializer: initializer of the bias (default zeros).
        kernel_regularizer: penalty on the input kernel, or None.
        recurrent_regularizer: penalty on the recurrent kernel, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint on the input kernel, or None.
        recurrent_constraint: constraint on the recurrent kernel, or None.
        bias_constraint: constraint on the bias, or None.
        dropout: fraction of the inputs dropped (one mask per sequence, training only).
        recurrent_dropout: fraction of the state dropped (training only).
        seed: seed of the dropout masks.
        return_sequences: output every step ``(batch, steps, units)`` instead of the last.
        return_state: also return the final ``h``.
        go_backwards: process the sequence in reverse.
        stateful: carry the final state into the next call.
        unroll: accepted for compatibility (no effect).
        reset_after: apply the reset gate after the recurrent matmul (Keras 3's default).
        use_cudnn: Keras's CuDNN switch; accepted, no effect.

    Input ``(batch, steps, features)``; output ``(batch, units)`` or, with
    ``return_sequences``, ``(batch, steps, units)``.

    Example:
        >>> keras.layers.GRU(32, return_sequences=True)(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 32)
        >>> keras.layers.GRU(32)(np.zeros((2, 5, 3), "float32")).shape
        (2, 32)
    """

    _cell = "gru"
    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(**kwargs)
        self._setup(units, activation, recurrent_activation, use_bias, kernel_initializer,
                    recurrent_initializer, bias_initializer, kernel_regularizer,
                    recurrent_regularizer, bias_regularizer, activity_regularizer,
                    kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                    recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                    stateful, unroll)
        self.reset_after = bool(reset_after)
        self.use_cudnn = use_cudnn

    def _bias_shape(self):
        n = 3 * self.units
        return (2, n) if self.reset_after else (n,)

    def _run(self, x, initial_state, mask, rmask, return_sequences, input_ids=None,
             token_squares=False):
        return ops.gru(x, self.kernel, self.recurrent_kernel, self.bias, initial_state, mask,
                       rmask, self._act, self._ract, self.go_backwards, self.reset_after,
                       return_sequences, input_ids, token_squares)

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config


class SimpleRNN(_RNNBase):
    """Fully connected recurrence ``h_t = activation(x_t @ kernel + h_{t-1} @
    recurrent_kernel + bias)``; weights ``(features, units)``, ``(units, units)``,
    ``(units,)``. Arguments as :class:`LSTM` (no gates, no recurrent_activation).

    Args:
        units: dimensionality of the output (and of the recurrent state).
        activation: activation applied to the candidate state and output (a name or callable; None:
            linear). Defaults to ``"tanh"``.
        use_bias: whether the layer adds bias vectors. Defaults to ``True``.
        kernel_initializer: initializer of the input kernel (name, object or callable). Defaults to
            ``"glorot_uniform"``.
        recurrent_initializer: initializer of the recurrent kernel. Defaults to ``"orthogonal"``.
        bias_initializer: initializer of the bias. Defaults to ``"zeros"``.
        kernel_regularizer: regularizer on the input kernel (None: none).
        recurrent_regularizer: regularizer on the recurrent kernel (None: none).
        bias_regularizer: regularizer on the bias (None: none).
        activity_regularizer: regularizer on the layer's output, added to the loss (None: none).
        kernel_constraint: constraint applied to the input kernel after each update.
        recurrent_constraint: constraint applied to the recurrent kernel after each update.
        bias_constraint: constraint applied to the bias after each update.
        dropout: fraction in [0, 1) of the inputs dropped while training. Defaults to ``0.0``.
        recurrent_dropout: fraction in [0, 1) of the recurrent state dropped while training.
            Defaults to ``0.0``.
        return_sequences: return the whole output sequence ``(batch, timesteps, units)`` instead of
            the last output ``(batch, units)``. Defaults to ``False``.
        return_state: also return the last state. Defaults to ``False``.
        go_backwards: process the sequence in reverse and return the reversed outputs. Defaults to
            ``False``.
        stateful: carry the last state of each sample over to the next batch. Defaults to
            ``False``.
        unroll: accepted for compatibility (nnfast's loop is a compiled kernel either way).
            Defaults to ``False``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.

    Example:
        >>> SimpleRNN(16, return_sequences=True)(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)
    """

    _cell = "simple"
    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._setup(units, activation, "sigmoid", use_bias, kernel_initializer,
                    recurrent_initializer, bias_initializer, kernel_regularizer,
                    recurrent_regularizer, bias_regularizer, activity_regularizer,
                    kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                    recurrent_dropout, seed, return_sequences, return_state, go_backwards,
                    stateful, unroll)

    def _run(self, x, initial_state, mask, rmask, return_sequences, input_ids=None,
             token_squares=False):
        return ops.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias, initial_state,
                              mask, rmask, self._act, self.go_backwards, return_sequences,
                              input_ids, token_squares)
