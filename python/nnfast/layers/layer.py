"""The ``Layer`` base class: weights, build-on-first-call, config, and the call protocol.

A layer's ``__init__`` validates and stores its arguments and creates no weights;
``build(input_shape)`` creates them with ``add_weight``; ``call(inputs, training=None)``
computes with ``nnfast.ops``; ``get_config`` returns the constructor arguments.
"""
import inspect

import numpy as np

from nnfast import initializers, regularizers, constraints
from nnfast.backend import global_state
from nnfast.backend.keras_tensor import KerasTensor, any_symbolic
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor, Variable

_CALL_TAKES_TRAINING = {}


def _takes_training(cls):
    takes = _CALL_TAKES_TRAINING.get(cls)
    if takes is None:
        params = inspect.signature(cls.call).parameters
        takes = "training" in params or any(
            p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
        _CALL_TAKES_TRAINING[cls] = takes
    return takes


def _shape_of(x):
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


def standardize_shape(shape):
    """A tuple of ints/None from an int, list or tuple."""
    if shape is None:
        return None
    if isinstance(shape, int):
        return (shape,)
    return tuple(None if d is None else int(d) for d in shape)


class Layer:
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; defaults to the snake_case class name with a counter.
        dtype: only ``"float32"`` is supported for computation.
        input_shape / input_dim / batch_input_shape / batch_size: legacy spellings that
            declare the input of the first layer of a ``Sequential`` model.
    """

    def __init__(self, *, trainable=True, name=None, dtype=None, autocast=True,
                 input_shape=None, input_dim=None, batch_input_shape=None, batch_size=None,
                 weights=None, activity_regularizer=None, **kwargs):
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        object.__setattr__(self, "_layers", [])
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._trainable = bool(trainable)
        self.name = name or global_state.unique_name(global_state.to_snake_case(type(self).__name__))
        self.dtype = "float32" if dtype in (None, "float32") or isinstance(dtype, dict) else dtype
        self.built = False
        self.supports_masking = False
        self._build_shapes = None
        self._inbound_nodes = []
        self._initial_weights = weights
        # Keras: every layer accepts an activity regularizer; its penalty on the outputs of
        # the latest call joins `losses`.
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._activity_losses = []
        if batch_input_shape is not None:
            self._batch_input_shape = standardize_shape(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + standardize_shape(input_shape)
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, int(input_dim))
        else:
            self._batch_input_shape = None

    # --- attribute tracking: layers assigned as attributes become sublayers --------------------
    def __setattr__(self, name, value):
        if not isinstance(value, (Layer, list, tuple)):  # fast path: counters, flags, arrays
            object.__setattr__(self, name, value)
            return
        layers = self.__dict__.get("_layers")
        if layers is not None and name not in ("_layers",):
            if isinstance(value, Layer) and value is not self and all(value is not l for l in layers):
                layers.append(value)
            elif isinstance(value, (list, tuple)) and not name.startswith("_"):
                for v in value:
                    if isinstance(v, Layer) and all(v is not l for l in layers):
                        layers.append(v)
        object.__setattr__(self, name, value)

    # --- weights --------------------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   name=None):
        """Creates a Variable owned by this layer and returns it.

        ``initializer`` defaults to ``glorot_uniform`` (``zeros`` for non-float dtypes).
        """
        shape = standardize_shape(shape) or ()
        dtype = dtype or "float32"
        if initializer is None:
            initializer = "glorot_uniform" if np.issubdtype(np.dtype(dtype), np.floating) else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=dtype)
        var = Variable(value, trainable=trainable, name=name or "variable", dtype=dtype,
                       regularizer=regularizers.get(regularizer),
                       constraint=constraints.get(constraint))
        var.path = f"{self.name}/{var.name}"
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        # As Keras 3: the flag reaches the variables, so tapes stop watching a frozen layer's
        # weights and no gradient is computed through a frozen base.
        for w in self._trainable_weights:
            w.trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        out = [w for w in self._trainable_weights if w.trainable]
        for layer in self._layers:
            out.extend(layer.trainable_weights)
        return _dedupe(out)

    @property
    def non_trainable_weights(self):
        if not self._trainable:
            return self.weights
        out = [w for w in self._trainable_weights if not w.trainable]
        out += list(self._non_trainable_weights)
        for layer in self._layers:
            out.extend(layer.non_trainable_weights)
        return _dedupe(out)

    @property
    def weights(self):
        """Every weight: this layer's (trainable then non-trainable), then its sublayers'."""
        out = list(self._trainable_weights) + list(self._non_trainable_weights)
        for layer in self._layers:
            out.extend(layer.weights)
        return _dedupe(out)

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """The weights as NumPy arrays, in ``weights`` order (Keras's order)."""
        return [np.array(w.value) for w in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of arrays in ``weights`` order."""
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of "
                f"length {len(weights)}, but the layer was expecting {len(params)} weights.")
        for var, value in zip(params, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {var.shape} is not compatible with provided "
                    f"weight shape {value.shape}.")
        for var, value in zip(params, weights):
            var.assign(value)

    def count_params(self):
        """Total number of scalars in the layer's weights."""
        if not self.built and not self.weights:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(batch_input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    @property
    def losses(self):
        """Regularization penalties: this layer's (and sublayers') trainable weights, then
        the activity penalties of their latest calls."""
        out = []
        for w in self.trainable_weights:
            if w.regularizer is not None:
                out.append(w.regularizer(w))
        return out + self._all_activity_losses()

    def _all_activity_losses(self):
        out = list(self.__dict__.get("_activity_losses", ()))
        for layer in self._layers:
            out.extend(layer._all_activity_losses())
        return out

    def _any_activity_regularizer(self):
        return self.__dict__.get("activity_regularizer") is not None or any(
            layer._any_activity_regularizer() for layer in self._layers)

    def _call_and_regularize(self, *args, **kwargs):
        """``call`` plus Keras's activity penalty ``activity_regularizer(output)``, divided
        by the output's batch size as Keras 3.15 does (0 for an empty batch)."""
        outputs = self.call(*args, **kwargs)
        flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        losses = []
        for o in flat:
            if isinstance(o, Tensor):
                loss = self.activity_regularizer(o)
                if o.ndim > 0:
                    batch = o.shape[0]
                    loss = loss / float(batch) if batch else loss * 0.0
                losses.append(loss)
        self._activity_losses = losses
        return outputs

    # --- build / call ----------------------------------------------------------------------
    def build(self, input_shape):
        """Creates the weights for inputs of ``input_shape`` (batch axis included)."""
        self.built = True

    def _maybe_build(self, inputs):
        if self.built:
            return
        shapes = _shape_of(inputs)
        self._build_shapes = shapes
        self.build(shapes)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        if any_symbolic(inputs):
            return self._symbolic_call(inputs, *args, **kwargs)
        if not self.built:
            self._maybe_build(inputs)
        if "training" in kwargs and not _takes_training(type(self)):
            kwargs.pop("training")
        if self.__dict__.get("activity_regularizer") is not None:
            return self._call_and_regularize(inputs, *args, **kwargs)
        return self.call(inputs, *args, **kwargs)

    def _symbolic_call(self, inputs, *args, **kwargs):
        """Calling a layer on KerasTensors: build for their shapes and infer the output."""
        shapes = _shape_of(inputs)
        if not self.built:
            self._build_shapes = shapes
            self.build(shapes)
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None
        out_shape = self.compute_output_shape(shapes)
        from nnfast.layers.node import record_node

        return record_node(self, inputs, out_shape, args, kwargs)

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (None for the batch axis).

        The default runs ``call`` once on zeros with unknown axes set to 1, without
        recording gradients; layers with a cheap closed form override it.
        """
        def zeros(shape):
            if isinstance(shape, list):
                return [zeros(s) for s in shape]
            if isinstance(shape, dict):
                return {k: zeros(s) for k, s in shape.items()}
            return np.zeros(tuple(1 if d is None else d for d in shape), dtype=np.float32)

        with _NoTape():
            kwargs = {"training": False} if _takes_training(type(self)) else {}
            out = self.call(zeros(input_shape), **kwargs)

        def symbolic(shape_in, out):
            if isinstance(out, (list, tuple)):
                return [symbolic(shape_in, o) for o in out]
            s = tuple(np.shape(out.value if isinstance(out, Tensor) else out))
            batch_known = isinstance(shape_in, tuple) and shape_in and shape_in[0] is not None
            return s if batch_known or not s else (None,) + s[1:]

        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return symbolic(first, out)

    # --- config ----------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments (Keras's base fields: name, trainable, dtype)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def input_shape(self):
        if self._build_shapes is None:
            raise AttributeError(f"Layer {self.name} has not been called yet; it has no input shape.")
        return self._build_shapes

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no "
                                 f"defined {what}.")
        return self._inbound_nodes[0]

    @property
    def input(self):
        """The symbolic input of this layer's first call on symbolic tensors (as Keras's
        ``layer.input``); e.g. ``Model(base.input, base.get_layer("block_13").output)``."""
        return self._first_node("input").inputs

    @property
    def output(self):
        """The symbolic output of this layer's first call on symbolic tensors (as Keras's
        ``layer.output``)."""
        return self._first_node("output").outputs

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class _NoTape:
    """Runs a block with no tape recording (for shape inference)."""

    def __enter__(self):
        from nnfast.backend import tape

        self._saved = list(tape._tape_stack)
        tape._tape_stack.clear()

    def __exit__(self, *exc):
        from nnfast.backend import tape

        tape._tape_stack.extend(self._saved)
        return False


def _dedupe(weights):
    seen = set()
    out = []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


__all__ = ["Layer", "KerasTensor", "GradientTape"]
