"""Layer wrappers: ``Bidirectional`` (an RNN run both ways) and ``TimeDistributed`` (a
layer applied to every time step)."""
import numpy as np

from nnfast import ops
from nnfast.backend.tensor import Tensor
from nnfast.layers.layer import Layer
from nnfast.layers.layer import _takes_training
from nnfast.saving.serialization import deserialize_layer_entry, serialize_layer

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _layer_from_entry(entry, drop=()):
    """The wrapped layer from its config entry, through the loader's cleaning of Keras-only
    keys (``quantization_config`` and the like). ``drop`` names keys the wrapper implements
    itself (Bidirectional's ``zero_output_for_mask``)."""
    entry = dict(entry)
    config = {k: v for k, v in dict(entry["config"]).items() if k not in drop}
    entry["config"] = config
    entry.pop("build_config", None)  # the wrapper builds it
    return deserialize_layer_entry(entry)


def _layer_entry(layer):
    return serialize_layer(layer)


def _clone(layer, **overrides):
    config = dict(layer.get_config())
    config.update(overrides)
    return type(layer).from_config(config)


class Wrapper(Layer):
    """Base class of layers that wrap another layer (``self.layer``): builds the wrapped
    layer with the wrapper's input shape and saves it inside the wrapper's config. Subclass
    it and define ``call``.

    Args:
        layer: the ``Layer`` instance to wrap.

    Example:
        >>> class Doubled(Wrapper):
        ...     def call(self, x):
        ...         return 2.0 * self.layer(x)
        >>> Doubled(keras.layers.Dense(3))(np.ones((1, 4), "float32")).shape
        (1, 3)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer type. "
                             "Please ensure wrapped layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer._build_shapes = input_shape
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is a Wrapper: define its `call`.")

    def get_config(self):
        config = super().get_config()
        config["layer"] = _layer_entry(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer_entry(config.pop("layer"), custom_objects)
        return cls(layer, **config)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards over the sequence and
    merges the two outputs.

    Args:
        layer: an ``LSTM``/``GRU``/``SimpleRNN`` instance (its config is used to build the
            forward layer, ``forward_<name>``, and the backward one, ``backward_<name>``
            with ``go_backwards`` flipped).
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or None (a list
            ``[forward, backward]``).
        backward_layer: optional explicit backward layer (its ``go_backwards`` must differ).
        weights: optional initial weights (forward layer's, then backward layer's).

    The backward output sequence is flipped back to time order before merging. With
    ``return_sequences`` a mask zeroes the outputs of padded steps (as Keras does).
    ``return_state`` returns ``[output, forward states..., backward states...]``.

    Input ``(batch, steps, features)``; output ``(batch, [steps,] 2 * units)`` with
    ``"concat"``, ``(batch, [steps,] units)`` with the other modes.

    Example:
        >>> layer = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
        >>> layer(np.zeros((2, 5, 3), "float32")).shape
        (2, 5, 8)
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(weights=weights, **kwargs)
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError("Please initialize `Bidirectional` layer with a recurrent layer "
                             f"instance. Received: {layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             "one of {'sum', 'mul', 'ave', 'concat', None}")
        base = layer.name.removeprefix("forward_")
        self.forward_layer = _clone(layer, name="forward_" + base)
        if backward_layer is None:
            self.backward_layer = _clone(layer, name="backward_" + base,
                                         go_backwards=not layer.go_backwards)
        else:
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Forward layer and backward layer should have different "
                                 "`go_backwards` value.")
            self.backward_layer = backward_layer
        self._backward_layer_given = backward_layer is not None
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        self.supports_masking = True
        for rnn in (self.forward_layer, self.backward_layer):
            rnn.zero_output_for_mask = rnn.return_sequences

    def build(self, input_shape):
        self.forward_layer._build_shapes = input_shape
        self.forward_layer.build(input_shape)
        self.backward_layer._build_shapes = input_shape
        self.backward_layer.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None, initial_state=None):
        if mask is None and isinstance(inputs, Tensor):
            mask = inputs._keras_mask
        f_state = b_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            f_state, b_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer.call(inputs, mask=mask, training=training, initial_state=f_state)
        y_rev = self.backward_layer.call(inputs, mask=mask, training=training,
                                         initial_state=b_state)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.get_item(y_rev, (slice(None), slice(None, None, -1)))
        if self.merge_mode == "concat":
            output = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = ops.add(y, y_rev)
        elif self.merge_mode == "ave":
            output = ops.multiply(ops.add(y, y_rev), 0.5)
        elif self.merge_mode == "mul":
            output = ops.multiply(y, y_rev)
        else:
            output = [y, y_rev]
        if self.return_sequences and mask is not None and self.merge_mode is not None:
            output._keras_mask = mask.value if isinstance(mask, Tensor) else mask
        if self.return_state:
            if self.merge_mode is None:
                return output + states
            return [output] + states
        return output

    def reset_states(self, states=None):
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        if self.merge_mode is None:
            out = [out, out]
        if self.return_state:
            n = 2 * self.forward_layer._num_states
            return (out if isinstance(out, list) else [out]) + [None] * n
        return out

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            states = shape[1:] * 2
            shape = shape[0]
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = [shape, shape]
        if self.return_state:
            return (shape if isinstance(shape, list) else [shape]) + states
        return shape

    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = _layer_entry(self.forward_layer)
        if self._backward_layer_given:
            config["backward_layer"] = _layer_entry(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Keras sets zero_output_for_mask on the inner layers; Bidirectional zeroes the
        # masked steps of returned sequences itself.
        config["layer"] = _layer_from_entry(config["layer"], drop=("zero_output_for_mask",))
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _layer_from_entry(config["backward_layer"],
                                                         drop=("zero_output_for_mask",))
        return cls(**config)


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step (axis 1) of a ``(batch, steps, ...)`` input, by
    folding the time axis into the batch: one call of the wrapped layer, not one per step.

    Args:
        layer: the ``Layer`` applied to every time step; it sees inputs of shape
            ``(batch, ...)`` (the time axis removed).

    Input shape ``(batch, steps, ...)``; output ``(batch, steps, ...layer's output shape)``.

    Example:
        >>> layer = keras.layers.TimeDistributed(keras.layers.Dense(8))
        >>> layer(np.zeros((2, 10, 16), "float32")).shape
        (2, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a `Layer` "
                             f"instance. Received: {layer}")
        self.layer = layer
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at "
                             f"least 3 dimensions, received: {input_shape}")
        inner = (None,) + tuple(input_shape[2:])
        if not self.layer.built:
            self.layer._build_shapes = inner
            self.layer.build(inner)
            self.layer.built = True
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x = inputs
        shape = np.shape(x.value if isinstance(x, Tensor) else x)
        batch, steps = shape[0], shape[1]
        flat = ops.reshape(x, (batch * steps,) + tuple(shape[2:]))
        kwargs = {}
        if _takes_training(type(self.layer)):
            kwargs["training"] = training
        y = self.layer(flat, **kwargs)
        y_shape = np.shape(y.value if isinstance(y, Tensor) else y)
        return ops.reshape(y, (batch, steps) + tuple(y_shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def get_config(self):
        config = super().get_config()
        config["layer"] = _layer_entry(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = _layer_from_entry(config["layer"])
        return cls(**config)
