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
from nnfast.metrics import Metric

_CALL_TAKES_TRAINING = {}


class _AddedLossState:
    """``seen`` turns True at the first ``add_loss``: from then on outermost calls clear
    the losses of the previous call (Keras's semantics) and ``fit`` adds them to the loss.
    Models that never call ``add_loss`` pay nothing for it."""

    seen = False
    depth = 0


# The trainer's own trackers are listed by Model.metrics in Keras's places, not as attributes.
_UNTRACKED_METRIC_ATTRS = ("_loss_tracker", "_compile_metrics_container")


def added_losses_seen():
    """True once any layer has called ``add_loss``."""
    return _AddedLossState.seen


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

    A layer may set ``self.input_spec`` (an ``InputSpec``) to have its inputs checked on
    every call.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; defaults to the snake_case class name with a counter.
        dtype: only ``"float32"`` is supported for computation.
        input_shape / input_dim / batch_input_shape / batch_size: legacy spellings that
            declare the input of the first layer of a ``Sequential`` model.
    """

    input_spec = None

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
        if not isinstance(value, (Layer, Variable, list, tuple, dict)):  # fast path
            if isinstance(value, Metric) and name not in _UNTRACKED_METRIC_ATTRS:
                self._track_metric(name, value)
            object.__setattr__(self, name, value)
            return
        layers = self.__dict__.get("_layers")
        if layers is not None and name not in ("_layers",):
            if isinstance(value, Layer):
                self._track_layer(value)
            elif isinstance(value, Variable):
                self._track_variable(value, name)
            elif not name.startswith("_"):
                # As Keras 3: layers and variables held in a list/tuple/dict attribute are
                # tracked too (a block list, `self.heads = {"a": Dense(...)}`).
                for v in (value.values() if isinstance(value, dict) else value):
                    if isinstance(v, Layer):
                        self._track_layer(v)
                    elif isinstance(v, Variable):
                        self._track_variable(v, name)
        object.__setattr__(self, name, value)

    def _track_layer(self, layer):
        layers = self._layers
        if layer is not self and all(layer is not l for l in layers):
            layers.append(layer)

    def _track_variable(self, var, attribute):
        """A Variable assigned as an attribute (``self.w = keras.Variable(...)``) becomes one
        of this layer's weights, as in Keras 3 (it used to be silently left out of training).
        A variable another layer already owns (its path names that layer) is not taken."""
        if "/" in var.path:
            return
        own = self.__dict__.get("_trainable_weights", ()), self.__dict__.get(
            "_non_trainable_weights", ())
        if any(var is w for group in own for w in group):
            return
        if var.name == "variable":
            var.name = attribute
        var.path = f"{self.name}/{var.name}"
        (self._trainable_weights if var.trainable else self._non_trainable_weights).append(var)

    def _track_metric(self, name, metric):
        """Metrics set as attributes join ``metrics`` (Keras's tracking); setting the
        attribute again replaces the tracked one."""
        tracked = self.__dict__.get("_tracked_metric_attrs")
        if tracked is None:
            tracked = {}
            object.__setattr__(self, "_tracked_metric_attrs", tracked)
        tracked[name] = metric

    def _own_metrics(self):
        return list(self.__dict__.get("_tracked_metric_attrs", {}).values())

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

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """Keras 3's other spelling of ``add_weight`` (``initializer`` is required).

        Example:
            >>> self.scale = self.add_variable((), "ones", name="scale")
        """
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype,
                               trainable=trainable, autocast=autocast, regularizer=regularizer,
                               constraint=constraint, name=name)

    def add_loss(self, loss):
        """Adds a loss term (a Tensor, or a list of them) computed in ``call``; ``fit``
        adds its sum to the training loss. The terms of a call replace those of the
        previous call (they are cleared when the outermost layer or model is called).

        Example:
            >>> class ActivityPenalty(Layer):
            ...     def call(self, x):
            ...         self.add_loss(0.01 * ops.sum(ops.square(x)))
            ...         return x
        """
        terms = list(loss) if isinstance(loss, (list, tuple)) else [loss]
        for t in terms:
            if not isinstance(t, Tensor) or isinstance(t, KerasTensor):
                raise ValueError("`add_loss()` can only be called from inside `build()` or "
                                 "`call()`, on a tensor input. Received invalid value: "
                                 f"{t!r}")
        _AddedLossState.seen = True
        added = self.__dict__.get("_added_losses")
        if added is None:
            added = self._added_losses = []
        added.extend(terms)

    def add_metric(self, *args, **kwargs):
        """Removed in Keras 3 (tf.keras 2's ``add_metric``): raises, naming the Keras 3
        idiom."""
        raise NotImplementedError(
            "Layer `add_metric()` method is deprecated. Add your metric in "
            "`Model.compile(metrics=[...])`, or create metric trackers in init() or build() "
            "when subclassing the layer or model, then call `metric.update_state()` whenever "
            "necessary.")

    def _all_added_losses(self):
        out = list(self.__dict__.get("_added_losses", ()))
        for layer in self._layers:
            out.extend(layer._all_added_losses())
        return out

    def _clear_added_losses(self):
        if self.__dict__.get("_added_losses"):
            self._added_losses = []
        for layer in self._layers:
            layer._clear_added_losses()

    @property
    def metrics(self):
        """Metrics set as attributes of this layer and of its sublayers."""
        out = self._own_metrics()
        for layer in self._layers:
            out.extend(layer.metrics)
        return out

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
        the activity penalties and ``add_loss`` terms of their latest calls."""
        out = []
        for w in self.trainable_weights:
            if w.regularizer is not None:
                out.append(w.regularizer(w))
        return out + self._all_activity_losses() + self._all_added_losses()

    def _all_activity_losses(self):
        out = list(self.__dict__.get("_activity_losses", ()))
        for layer in self._layers:
            out.extend(layer._all_activity_losses())
        return out

    def _any_activity_regularizer(self):
        return self.__dict__.get("activity_regularizer") is not None or any(
            layer._any_activity_regularizer() for layer in self._layers)

    def _call_and_regularize(self, *args, **kwargs):
        """``call`` plus Keras's activity penalty ``activity_regularizer(output)`` (Keras 3
        adds it as is, not divided by the batch size)."""
        outputs = self.call(*args, **kwargs)
        flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        self._activity_losses = [self.activity_regularizer(o) for o in flat
                                 if isinstance(o, Tensor)]
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
        if _AddedLossState.seen:
            return self._call_clearing_losses(inputs, args, kwargs)
        return self._call_body(inputs, args, kwargs)

    def _call_clearing_losses(self, inputs, args, kwargs):
        if _AddedLossState.depth == 0:
            self._clear_added_losses()
        _AddedLossState.depth += 1
        try:
            return self._call_body(inputs, args, kwargs)
        finally:
            _AddedLossState.depth -= 1

    def _call_body(self, inputs, args, kwargs):
        if self.input_spec is not None:
            from nnfast.layers.input_spec import assert_input_compatibility

            assert_input_compatibility(self.input_spec, inputs, self.name)
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
