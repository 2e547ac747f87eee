"""Recurrent cells: one time step of a recurrence, for the generic ``RNN`` layer.

``SimpleRNNCell``, ``LSTMCell`` and ``GRUCell`` have Keras 3's weights (names, shapes,
gate order, initializers) and math; ``StackedRNNCells`` chains cells. A user cell is any
layer with ``state_size`` (an int or a list of ints), ``call(inputs, states)`` returning
``(output, new_states)`` and optionally ``output_size`` and ``get_initial_state``.
"""
import numpy as np

from nnfast import activations, constraints, initializers, ops, regularizers
from nnfast.backend import random as nnrandom
from nnfast.distribution.shard import mask_offsets
from nnfast.layers.layer import Layer
from nnfast.ops.rnn import dropout_mask
from nnfast.layers.layer import _takes_training
from nnfast.saving.serialization import deserialize_layer_entry, serialize_layer


def _nested(x):
    return isinstance(x, (list, tuple))


class DropoutRNNCell:
    """Mixin: Keras's per-sequence dropout masks of a cell (the same mask at every step).
    ``RNN`` asks for the masks before the loop and clears them after."""

    _dropout_mask = None
    _recurrent_dropout_mask = None

    def _make_mask(self, like, rate):
        # Inverted dropout, as Keras: keep with probability 1 - rate, scale by 1/(1 - rate);
        # masks come from the counter-based kernel, a new stretch of the stream each time.
        shape = tuple(np.shape(like))
        draw_at, self._seed_offset = mask_offsets(self._seed_offset, shape)
        return dropout_mask(shape, rate, self._seed_stream, draw_at)

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._make_mask(step_input, self.dropout)
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._make_mask(step_state, self.recurrent_dropout)
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


class _CellBase(DropoutRNNCell, Layer):
    """Arguments shared by the built-in cells (Keras's names and defaults)."""

    _gates = 1

    def __init__(self, units, activation, use_bias, kernel_initializer, recurrent_initializer,
                 bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                 kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                 recurrent_dropout, seed, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self._seed_stream = nnrandom.draw_seed() if seed is None else int(seed)
        self._seed_offset = 0

    def _build_kernels(self, input_dim):
        n = self._gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, n), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, n), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")

    def _add_bias(self, shape, initializer=None):
        self.bias = self.add_weight(shape=shape, initializer=initializer or self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, name="bias")

    def _masked(self, inputs, h_tm1, training):
        if training:
            dp = self.get_dropout_mask(inputs)
            rdp = self.get_recurrent_dropout_mask(h_tm1)
            if dp is not None:
                inputs = inputs * dp
            if rdp is not None:
                h_tm1 = h_tm1 * rdp
        return inputs, h_tm1

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if _nested(self.state_size) else [self.state_size]
        return [ops.zeros((batch_size, d)) for d in sizes]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed})
        return config


class SimpleRNNCell(_CellBase):
    """One step of ``SimpleRNN``: ``h = activation(x @ kernel + bias + h_prev @
    recurrent_kernel)``; weights ``kernel (features, units)``, ``recurrent_kernel (units,
    units)``, ``bias (units,)``; ``state_size = units``.

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
        kernel_constraint: constraint applied to the input kernel after each update.
        recurrent_constraint: constraint applied to the recurrent kernel after each update.
        bias_constraint: constraint applied to the bias after each update.
        dropout: fraction in [0, 1) of the inputs dropped while training. Defaults to ``0.0``.
        recurrent_dropout: fraction in [0, 1) of the recurrent state dropped while training.
            Defaults to ``0.0``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.

    Example:
        >>> rnn = keras.layers.RNN(SimpleRNNCell(8), return_sequences=True)
        >>> rnn(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self._build_kernels(input_shape[-1])
        self.bias = None
        if self.use_bias:
            self._add_bias((self.units,))
        self.built = True

    def call(self, inputs, states, training=False):
        prev = states[0] if _nested(states) else states
        inputs, prev = self._masked(inputs, prev, training)
        h = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            h = h + self.bias
        output = h + ops.matmul(prev, self.recurrent_kernel)
        if self.activation is not None:
            output = self.activation(output)
        return output, ([output] if _nested(states) else output)


class LSTMCell(_CellBase):
    """One step of ``LSTM`` (gates i, f, c, o): weights ``kernel (features, 4 * units)``,
    ``recurrent_kernel (units, 4 * units)``, ``bias (4 * units,)`` (forget part 1 with
    ``unit_forget_bias``); ``state_size = [units, units]`` (h, c).

    Args:
        units: dimensionality of the output (and of the recurrent state).
        activation: activation applied to the candidate state and output (a name or callable; None:
            linear). Defaults to ``"tanh"``.
        recurrent_activation: activation of the gates (a name or callable). Defaults to
            ``"sigmoid"``.
        use_bias: whether the layer adds bias vectors. Defaults to ``True``.
        kernel_initializer: initializer of the input kernel (name, object or callable). Defaults to
            ``"glorot_uniform"``.
        recurrent_initializer: initializer of the recurrent kernel. Defaults to ``"orthogonal"``.
        bias_initializer: initializer of the bias. Defaults to ``"zeros"``.
        unit_forget_bias: add 1 to the forget gate's bias at initialization (and use zeros for the
            rest of the bias). Defaults to ``True``.
        kernel_regularizer: regularizer on the input kernel (None: none).
        recurrent_regularizer: regularizer on the recurrent kernel (None: none).
        bias_regularizer: regularizer on the bias (None: none).
        kernel_constraint: constraint applied to the input kernel after each update.
        recurrent_constraint: constraint applied to the recurrent kernel after each update.
        bias_constraint: constraint applied to the bias after each update.
        dropout: fraction in [0, 1) of the inputs dropped while training. Defaults to ``0.0``.
        recurrent_dropout: fraction in [0, 1) of the recurrent state dropped while training.
            Defaults to ``0.0``.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.

    Example:
        >>> keras.layers.RNN(LSTMCell(16))(np.zeros((2, 5, 3), "float32")).shape
        (2, 16)
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)  # tf.keras's choice of the same math
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        self._build_kernels(input_shape[-1])
        self.bias = None
        if self.use_bias:
            init = self.bias_initializer
            if self.unit_forget_bias:
                base, units = self.bias_initializer, self.units

                def init(shape, dtype="float32"):
                    b = np.asarray(base((4 * units,), dtype=dtype)).copy()
                    b[units:2 * units] = 1.0
                    return b
            self._add_bias((4 * self.units,), init)
        self.built = True

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        inputs, h_tm1 = self._masked(inputs, h_tm1, training)
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        c = f * c_tm1 + i * self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRUCell(_CellBase):
    """One step of ``GRU`` (gates z, r, h): weights ``kernel (features, 3 * units)``,
    ``recurrent_kernel (units, 3 * units)``, ``bias`` ``(2, 3 * units)`` with
    ``reset_after=True`` (Keras's default) else ``(3 * units,)``; ``state_size = units``.

    Args:
        units: dimensionality of the output (and of the recurrent state).
        activation: activation applied to the candidate state and output (a name or callable; None:
            linear). Defaults to ``"tanh"``.
        recurrent_activation: activation of the gates (a name or callable). Defaults to
            ``"sigmoid"``.
        use_bias: whether the layer adds bias vectors. Defaults to ``True``.
        kernel_initializer: initializer of the input kernel (name, object or callable). Defaults to
            ``"glorot_uniform"``.
        recurrent_initializer: initializer of the recurrent kernel. Defaults to ``"orthogonal"``.
        bias_initializer: initializer of the bias. Defaults to ``"zeros"``.
        kernel_regularizer: regularizer on the input kernel (None: none).
        recurrent_regularizer: regularizer on the recurrent kernel (None: none).
        bias_regularizer: regularizer on the bias (None: none).
        kernel_constraint: constraint applied to the input kernel after each update.
        recurrent_constraint: constraint applied to the recurrent kernel after each update.
        bias_constraint: constraint applied to the bias after each update.
        dropout: fraction in [0, 1) of the inputs dropped while training. Defaults to ``0.0``.
        recurrent_dropout: fraction in [0, 1) of the recurrent state dropped while training.
            Defaults to ``0.0``.
        reset_after: apply the reset gate after the recurrent matrix product (Keras's and cuDNN's
            default) rather than before.
        seed: seed of the layer's random draws (an int, or a ``keras.random.SeedGenerator``); None
            draws from the global seed generator.

    Example:
        >>> rnn = keras.layers.RNN(GRUCell(16), return_sequences=True)
        >>> rnn(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 16)
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint,
                         bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self._build_kernels(input_shape[-1])
        self.bias = None
        if self.use_bias:
            n = 3 * self.units
            self._add_bias((2, n) if self.reset_after else (n,))
        self.built = True

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if _nested(states) else states
        inputs, h_rec = self._masked(inputs, h_tm1, training)
        u = self.units
        x = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            x = x + (self.bias[0] if self.reset_after else self.bias)
        if self.reset_after:
            inner = ops.matmul(h_rec, self.recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias[1]
            z = self.recurrent_activation(x[:, :u] + inner[:, :u])
            r = self.recurrent_activation(x[:, u:2 * u] + inner[:, u:2 * u])
            hh = self.activation(x[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            inner = ops.matmul(h_rec, self.recurrent_kernel[:, :2 * u])
            z = self.recurrent_activation(x[:, :u] + inner[:, :u])
            r = self.recurrent_activation(x[:, u:2 * u] + inner[:, u:])
            hh = self.activation(x[:, 2 * u:] +
                                 ops.matmul(r * h_rec, self.recurrent_kernel[:, 2 * u:]))
        h = z * h_tm1 + (1.0 - z) * hh
        return h, ([h] if _nested(states) else h)

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config


class StackedRNNCells(Layer):
    """Cells run one after the other at each step (the output of one is the input of the
    next); ``state_size`` lists each cell's. ``RNN([cell1, cell2])`` builds one.

    Args:
        cells: a list of RNN cells, applied in order at each step.

    Example:
        >>> rnn = keras.layers.RNN(StackedRNNCells([LSTMCell(16), GRUCell(8)]),
        ...                        return_sequences=True)
        >>> rnn(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell) or "state_size" not in dir(cell):
                raise ValueError("All cells must have a `call` method and a `state_size` "
                                 f"attribute. Received cells={cells}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        return last.state_size[0] if _nested(last.state_size) else last.state_size

    def get_initial_state(self, batch_size=None):
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            else:
                sizes = cell.state_size if _nested(cell.state_size) else [cell.state_size]
                out.append([ops.zeros((batch_size, d)) for d in sizes])
        return out

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._build_shapes = shape
                cell.build(shape)
                cell.built = True
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if _nested(cell.state_size) else cell.state_size
            shape = shape[:-1] + (size,)
        self.built = True

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = _nested(cell_states)
            cell_states = list(cell_states) if was_list else [cell_states]
            kwargs = {"training": training} if _takes_training(type(cell)) else {}
            inputs, cell_states = cell(inputs, cell_states, **kwargs)
            if not _nested(cell_states):
                cell_states = [cell_states]
            if len(cell_states) == 1 and not was_list:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states

    def get_config(self):
        config = super().get_config()
        config["cells"] = [serialize_layer(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [deserialize_layer_entry(c, custom_objects) for c in config["cells"]]
        return cls(**config)
