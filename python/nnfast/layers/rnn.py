"""``RNN``: the generic recurrent layer, looping a cell over the time axis.

Any cell works (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, ``StackedRNNCells`` or a
user's layer with ``state_size`` and ``call(inputs, states)``): each step is ordinary ops,
so gradients come from the tape. A lone built-in cell without a mask or training-time
dropout runs as the fused whole-sequence op of ``LSTM``/``GRU``/``SimpleRNN`` instead (the
same math).
"""
import numpy as np

from nnfast import activations, ops
from nnfast.backend.tensor import Tensor
from nnfast.layers.layer import Layer, _takes_training
from nnfast.layers.rnn_cells import (DropoutRNNCell, GRUCell, LSTMCell, SimpleRNNCell,
                                     StackedRNNCells)
from nnfast.ops.rnn import KERNEL_ACTIVATIONS
from nnfast.saving.serialization import deserialize_layer_entry, serialize_layer


def _nested(x):
    return isinstance(x, (list, tuple))


def _map(fn, *structs):
    """``fn`` over the leaves of equally nested lists."""
    first = structs[0]
    if _nested(first):
        return [_map(fn, *parts) for parts in zip(*structs)]
    return fn(*structs)


def _leaves(x):
    if _nested(x):
        return [leaf for item in x for leaf in _leaves(item)]
    return [x]


class RNN(Layer):
    """Runs ``cell`` over the time steps of a ``(batch, steps, features)`` input.

    Args:
        cell: an RNN cell, or a list of cells (stacked with ``StackedRNNCells``). A cell
            has ``state_size`` (int or list of ints), ``call(inputs, states, [training])``
            returning ``(output, new_states)``, and optionally ``output_size`` and
            ``get_initial_state(batch_size)``.
        return_sequences: return every step's output ``(batch, steps, output_size)``
            instead of the last one ``(batch, output_size)``.
        return_state: also return the final states (``[output, *states]``).
        go_backwards: process the sequence in reverse (returned sequences stay reversed).
        stateful: the last states of a batch are the initial states of the next one
            (``reset_states()`` zeroes them).
        unroll: accepted for compatibility (the loop is always a Python loop of ops).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Calls take ``mask`` (a ``(batch, steps)`` boolean array; masked steps keep the states)
    and ``initial_state``.

    Example:
        >>> layer = RNN(LSTMCell(8), return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    # Whether a lone built-in cell may run as the fused whole-sequence op (tests turn it off
    # to check the step loop).
    _fuse = True

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer "
                             f"or list of integers, one integer per RNN state). Received: "
                             f"cell={cell}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True
        self.states = None
        state_size = getattr(cell, "state_size", None)
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one "
                             f"for each state tensor). Received: {state_size}")
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)

    # --- shapes ----------------------------------------------------------------------------
    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        if not isinstance(size, int):
            raise ValueError(f"output_size must be an integer. Received: {size}")
        return size

    def build(self, sequences_shape, initial_state_shape=None):
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._build_shapes = step_shape
            self.cell.build(step_shape)
            self.cell.built = True
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        size = self._output_size()
        out = (batch, steps, size) if self.return_sequences else (batch, size)
        if not self.return_state:
            return out
        states = []
        for s in self.state_size:
            states.append((batch, s) if isinstance(s, int) else [(batch, d) for d in s])
        return [out] + states

    def compute_mask(self, inputs, mask=None):
        if _nested(mask):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    # --- states ----------------------------------------------------------------------------
    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is None:
            return [ops.zeros((batch_size, d)) for d in self.state_size]
        state = fn(batch_size=batch_size)
        return list(state) if _nested(state) else [state]

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        if self.states is not None:
            self.states = _map(lambda s: np.zeros_like(np.asarray(s)), self.states)

    # --- the loop --------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        if mask is None and isinstance(sequences, Tensor):
            mask = sequences._keras_mask
        shape = tuple(np.shape(sequences))
        if len(shape) < 3:
            raise ValueError(f"RNN expects inputs of shape (batch, steps, features), received "
                             f"{shape}")
        batch, steps = shape[0], shape[1]
        if initial_state is None:
            if self.stateful and self.states is not None:
                if len(np.shape(_leaves(self.states)[0])) and \
                        np.shape(_leaves(self.states)[0])[0] != batch:
                    raise ValueError(f"If an RNN is stateful, the batch size of the input "
                                     f"sequences must be the same as the batch size of the "
                                     f"initial state. Expected batch size: "
                                     f"{np.shape(_leaves(self.states)[0])[0]}; received {batch}")
                initial_state = self.states
            else:
                initial_state = self.get_initial_state(batch)
        if not _nested(initial_state):
            initial_state = [initial_state]
        states = list(initial_state)
        if mask is None and self._fusable(training):
            return self._kernel_call(sequences, states)
        self._config_dropout_masks(self.cell, sequences[:, 0], states, training)
        kwargs = {"training": training} if isinstance(self.cell, Layer) and \
            _takes_training(type(self.cell)) else {}
        if mask is not None:
            mask = np.asarray(mask.value if isinstance(mask, Tensor) else mask).astype(bool)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs, last = [], None
        for t in order:
            output, new_states = self.cell(sequences[:, t], states, **kwargs)
            if not _nested(new_states):
                new_states = [new_states]
            if mask is not None:
                keep = mask[:, t][:, None]
                new_states = _map(lambda new, old: ops.where(keep, new, old), new_states, states)
                if last is None:
                    previous = ops.zeros_like(output)
                else:
                    previous = ops.zeros_like(output) if self.zero_output_for_mask else last
                output = ops.where(keep, output, previous)
            states = new_states
            last = output
            if self.return_sequences:
                outputs.append(output)
        self._reset_dropout_masks(self.cell)
        if self.stateful:
            self.states = _map(lambda s: np.array(s.value if isinstance(s, Tensor) else s),
                               states)
        out = ops.stack(outputs, axis=1) if self.return_sequences else last
        if self.return_state:
            return [out] + list(states)
        return out

    def _fusable(self, training):
        cell = self.cell
        if not self._fuse or type(cell) not in (LSTMCell, GRUCell, SimpleRNNCell):
            return False
        if training and (cell.dropout > 0 or cell.recurrent_dropout > 0):
            return False
        acts = [cell.activation] + ([cell.recurrent_activation]
                                    if type(cell) is not SimpleRNNCell else [])
        for act in acts:
            name = activations.serialize(act) if act is not None else "linear"
            if name not in KERNEL_ACTIVATIONS or activations.get(name) is not act:
                return False
        return True

    def _kernel_call(self, sequences, states):
        """The whole sequence in one fused op (LSTM/GRU/SimpleRNN's kernels)."""
        cell = self.cell
        act = activations.serialize(cell.activation) if cell.activation is not None else "linear"
        common = dict(go_backwards=self.go_backwards, return_sequences=self.return_sequences)
        if type(cell) is LSTMCell:
            seq, last, states = ops.lstm(sequences, cell.kernel, cell.recurrent_kernel, cell.bias,
                                         states, None, None, act,
                                         activations.serialize(cell.recurrent_activation),
                                         **common)
        elif type(cell) is GRUCell:
            seq, last, states = ops.gru(sequences, cell.kernel, cell.recurrent_kernel, cell.bias,
                                        states, None, None, act,
                                        activations.serialize(cell.recurrent_activation),
                                        reset_after=cell.reset_after, **common)
        else:
            seq, last, states = ops.simple_rnn(sequences, cell.kernel, cell.recurrent_kernel,
                                               cell.bias, states, None, None, act, **common)
        if self.stateful:
            self.states = [np.array(s.value if isinstance(s, Tensor) else s) for s in states]
        out = seq if self.return_sequences else last
        if self.return_state:
            return [out] + list(states)
        return out

    def _config_dropout_masks(self, cell, step_input, states, training):
        if not training:
            return
        if isinstance(cell, DropoutRNNCell):
            cell.get_dropout_mask(step_input)
            cell.get_recurrent_dropout_mask(_leaves(states)[0])
        if isinstance(cell, StackedRNNCells):
            for c, s in zip(cell.cells, states):
                self._config_dropout_masks(c, step_input, s if _nested(s) else [s], training)
                step_input, _ = c(step_input, list(s) if _nested(s) else [s])

    def _reset_dropout_masks(self, cell):
        if isinstance(cell, DropoutRNNCell):
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()
        if isinstance(cell, StackedRNNCells):
            for c in cell.cells:
                self._reset_dropout_masks(c)

    # --- config ----------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({"return_sequences": self.return_sequences,
                       "return_state": self.return_state, "go_backwards": self.go_backwards,
                       "stateful": self.stateful, "unroll": self.unroll,
                       "zero_output_for_mask": self.zero_output_for_mask,
                       "cell": serialize_layer(self.cell)})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cell"] = deserialize_layer_entry(config["cell"], custom_objects)
        return cls(**config)
