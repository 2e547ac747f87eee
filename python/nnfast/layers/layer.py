"""The ``Layer`` base class: weights, build-on-first-call, config, and the call protocol.

A layer's ``__init__`` validates and stores its arguments and creates no weights;
``build(input_shape)`` creates them with ``add_weight``; ``call(inputs, training=None)``
computes with ``nnfast.ops``; ``get_config`` returns the constructor arguments.
"""
import inspect
from collections.abc import Mapping

import numpy as np

from nnfast import constraints, dtype_policies, initializers, regularizers
from nnfast.backend import global_state, scopes
from nnfast.backend.keras_tensor import KerasTensor, any_symbolic, compute_output_spec
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor, Variable
from nnfast.dtype_policies import serialize as serialize_dtype_policy
from nnfast.layers.input_spec import assert_input_compatibility
from nnfast.layers.node import record_outputs
from nnfast.metrics import Metric
from nnfast.ops.float64 import cast_floats, float_leaves_not_float64, has_float64
from nnfast.ops.precision import LOWER as LOWER_PRECISIONS
from nnfast.ops.precision import compute_precision, round_floats
from nnfast.ops.precision import current as current_precision
from nnfast.ops.size_limit import check_result_size

# Compute dtypes whose layers run through _plan_call's wrapper (autocast, rounding, checks).
_ROUTED_PRECISIONS = tuple(LOWER_PRECISIONS) + ("float64",)

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


class _CallInfo:
    """What a layer class's ``call``/``build``/``compute_output_shape`` signatures accept
    (cached per class; Keras's CallSpec rules for masks and shape arguments)."""

    def __init__(self, cls):
        params = inspect.signature(cls.call).parameters
        self.call_params = params
        self.takes_mask = "mask" in params
        self.named_masks = tuple(n for n in params if n.endswith("_mask") and n[:-5] in params)
        self.custom_output_shape = cls.compute_output_shape is not Layer.compute_output_shape
        # Keras's override for outputs whose dtype is not the compute dtype (int indices).
        self.custom_output_spec = callable(getattr(cls, "compute_output_spec", None))
        self.custom_compute_mask = cls.compute_mask is not Layer.compute_mask
        self.build_params = _arg_names(cls.build)
        self.shape_params = _arg_names(cls.compute_output_shape)


def _arg_names(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in params if p.name != "self" and p.kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY))


_CALL_INFO = {}


def _call_info(cls):
    info = _CALL_INFO.get(cls)
    if info is None:
        info = _CALL_INFO[cls] = _CallInfo(cls)
    return info


def _is_tensor_like(x):
    return isinstance(x, (Tensor, KerasTensor, np.ndarray))


def _mask_of(x):
    """Keras's ``_keras_mask`` of a tensor or of each tensor of a list (None when none)."""
    if isinstance(x, (list, tuple)):
        masks = [getattr(v, "_keras_mask", None) for v in x]
        return masks if any(m is not None for m in masks) else None
    return getattr(x, "_keras_mask", None)


def _flat_tensors(x):
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flat_tensors(v)]
    if isinstance(x, dict):
        return [t for k in sorted(x) for t in _flat_tensors(x[k])]
    return [x]


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
        dtype: the layer's dtype policy: ``"float32"`` (default: the global policy,
            ``nnfast.mixed_precision.set_global_policy``), ``"mixed_bfloat16"`` or
            ``"mixed_float16"`` (float32 weights, computation in the lower precision: see
            ``nnfast.dtype_policies``), a ``DTypePolicy``, or a non-float dtype for
            preprocessing layers.
        autocast: round float inputs to the compute dtype before ``call`` (Keras's
            autocast; only matters under a mixed policy).
        input_shape: legacy: the input shape (no batch axis) of the first layer of a
            ``Sequential`` model.
        input_dim: legacy: ``input_shape=(input_dim,)``.
        batch_input_shape: legacy: the input shape with the batch axis.
        batch_size: legacy: the batch axis of ``input_shape``.
        weights: initial weight values, a list of arrays set with ``set_weights`` once the layer is
            built (None: the initializers' values).
        activity_regularizer: regularizer on the layer's output, added to the loss (None: none).

    Example:
        >>> class Scale(keras.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return keras.ops.multiply(x, self.w)
        >>> layer = Scale()
        >>> layer(np.array([[1.0, 2.0]], "float32")).numpy()
        array([[1., 2.]], dtype=float32)
        >>> [w.shape for w in layer.trainable_weights]
        [(2,)]
    """

    input_spec = None
    # Models leave precision to their layers (a model's own policy only reaches new layers).
    _applies_dtype_policy = True

    def __init__(self, *args, trainable=True, name=None, dtype=None, autocast=True,
                 input_shape=None, input_dim=None, batch_input_shape=None, batch_size=None,
                 weights=None, activity_regularizer=None, **kwargs):
        # Keras declares Layer(*args, **kwargs) (its __new__ captures them) but its
        # __init__ takes keywords only: positional arguments are an error there too.
        if args:
            raise TypeError(f"Layer.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        object.__setattr__(self, "_layers", [])
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._trainable = bool(trainable)
        self.name = name or global_state.unique_name(global_state.to_snake_case(type(self).__name__))
        self.dtype_policy = dtype
        self._autocast = bool(autocast)
        self.built = False
        # As Keras: a layer that defines compute_mask supports masking.
        self.supports_masking = type(self).compute_mask is not Layer.compute_mask
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
    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the layer's weights (``"int8"``); layers that support it override this
        (``Dense``). Others raise ``NotImplementedError``, as in Keras."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not have a `quantize` "
                                  "method implemented.")

    # --- dtype policy (Keras 3: dtype is the variables' dtype) --------------------------------
    @property
    def dtype_policy(self):
        """The layer's ``DTypePolicy`` (the ``DTypePolicyMap`` it was given, if any)."""
        policy_map = self.__dict__.get("_dtype_policy_map")
        return self._dtype_policy if policy_map is None else policy_map

    @dtype_policy.setter
    def dtype_policy(self, value):
        policy = dtype_policies.get(value)
        policy_map = self.__dict__.get("_dtype_policy_map")
        if isinstance(policy, dtype_policies.DTypePolicyMap):
            # Keras keeps the map as the layer's policy and looks the layer's path up in it.
            policy_map, policy = policy, policy[self.name]
        elif policy_map is not None:
            if self.name in policy_map:
                del policy_map[self.name]
            policy_map[self.name] = policy
        object.__setattr__(self, "_dtype_policy_map", policy_map)
        mode = policy.quantization_mode
        if mode is not None and mode not in getattr(self, "_quantization_modes", ("int8",)):
            raise NotImplementedError(
                f"{type(self).__name__}(dtype={policy.name!r}): the {mode!r} quantization "
                "mode is not implemented in nnfast for this layer ('int8' is; 'int4' for "
                "Dense).")
        if policy.variable_dtype in ("float16", "bfloat16"):
            raise NotImplementedError(
                f"{type(self).__name__}(dtype={policy.name!r}): nnfast keeps float weights in "
                "float32 or float64 and computes in float32, float64, bfloat16 or float16; use "
                "'float32', 'float64', 'mixed_bfloat16' or 'mixed_float16'.")
        object.__setattr__(self, "_dtype_policy", policy)

    @property
    def dtype(self):
        """The dtype of the layer's variables (Keras 3's ``layer.dtype``)."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value):
        self.dtype_policy = value

    @property
    def compute_dtype(self):
        """The dtype the layer computes in (``"bfloat16"`` under ``"mixed_bfloat16"``)."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's variables."""
        return self._dtype_policy.variable_dtype

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   name=None):
        """Creates a Variable owned by this layer and returns it.

        ``initializer`` defaults to ``glorot_uniform`` (``zeros`` for non-float dtypes).
        """
        shape = standardize_shape(shape) or ()
        # As Keras: a layer's variables take its policy's variable dtype (float64 layers).
        dtype = dtype or ("float64" if self._dtype_policy.variable_dtype == "float64"
                          else "float32")
        if initializer is None:
            initializer = "glorot_uniform" if np.issubdtype(np.dtype(dtype), np.floating) else "zeros"
        init = initializers.get(initializer)
        check_result_size(f"{self.name}.add_weight({name!r})", shape, dtype, shape=shape)
        value = init(shape, dtype=dtype)
        var = Variable(value, trainable=trainable, name=name or "variable", dtype=dtype,
                       regularizer=regularizers.get(regularizer),
                       constraint=constraints.get(constraint))
        var.path = scopes.scoped_path(f"{self.name}/{var.name}")
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
        stateless = scopes.get_stateless_scope()
        if stateless is not None:  # Keras: collected by the scope or dropped
            if stateless.collect_losses:
                stateless.losses.extend(terms)
            return
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

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of the outputs: the input's mask for a layer that supports masking
        (Keras's default), None otherwise. Override to make or change masks."""
        return previous_mask if self.supports_masking else None

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
            assert_input_compatibility(self.input_spec, inputs, self.name)
        if any_symbolic(inputs) or ((args or kwargs) and any_symbolic((args, kwargs))):
            return self._symbolic_call(inputs, *args, **kwargs)
        info = _call_info(type(self))
        if not self.built:
            if len(info.build_params) > 1:
                self._build_for_call(inputs, args, kwargs)
            else:
                self._maybe_build(inputs)
        if "training" in kwargs and not _takes_training(type(self)):
            kwargs.pop("training")
        previous_mask = self._populate_masks(info, inputs, args, kwargs)
        if self._autocast and self._dtype_policy.compute_dtype == "float32" and \
                self._applies_dtype_policy and has_float64(inputs):
            inputs = cast_floats(inputs, np.float32)  # Keras's autocast of float64 inputs
        if self._dtype_policy.compute_dtype in _ROUTED_PRECISIONS and self._applies_dtype_policy:
            outputs = self._call_in_lower_precision(inputs, args, kwargs)
        elif current_precision() in LOWER_PRECISIONS:  # a float32 layer inside a mixed model
            with compute_precision("float32"):
                return self._call_body(inputs, args, kwargs)
        elif self.__dict__.get("activity_regularizer") is not None:
            outputs = self._call_and_regularize(inputs, *args, **kwargs)
        else:
            outputs = self.call(inputs, *args, **kwargs)
        if (previous_mask is not None or info.custom_compute_mask) and self.supports_masking:
            self._set_mask_metadata(inputs, outputs, previous_mask)
        return outputs

    def _call_in_lower_precision(self, inputs, args, kwargs):
        return self._plan_call()(inputs, *args, **kwargs)

    def _plan_call(self):
        """What a model's plan runs for this built layer (models call layers directly, without
        ``__call__``'s checks): ``call``, through the activity regularizer when one is set,
        and under a mixed policy with float inputs rounded to the compute dtype (autocast),
        matrix products in it (``ops.precision``) and float outputs rounded to it."""
        call = self._call_and_regularize if self.__dict__.get("activity_regularizer") \
            is not None else self.call
        dtype = self._dtype_policy.compute_dtype
        if dtype not in _ROUTED_PRECISIONS or not self._applies_dtype_policy:
            return call
        autocast = self._autocast
        if dtype == "float64":
            return self._float64_call(call)

        def lower_precision_call(inputs, *args, **kwargs):
            if autocast:
                inputs = round_floats(inputs, dtype)
            with compute_precision(dtype):
                outputs = call(inputs, *args, **kwargs)
            return round_floats(outputs, dtype)

        return lower_precision_call

    def _float64_call(self, call):
        """``call`` for a float64 layer: float inputs cast to float64 (Keras's autocast), and
        a float output in another precision refused, so no layer computes silently in
        float32 (nnfast's kernels are float32; ``nnfast.ops.float64`` routes the op families
        a float64 layer may use)."""
        autocast = self._autocast
        layer = self

        def float64_call(inputs, *args, **kwargs):
            if autocast:
                inputs = cast_floats(inputs)
            outputs = call(inputs, *args, **kwargs)
            wrong = float_leaves_not_float64(outputs)
            if wrong:
                raise NotImplementedError(
                    f"{type(layer).__name__} (layer '{layer.name}') has no float64 route in "
                    f"nnfast: with dtype 'float64' it returned {wrong[0]} values. Use float32 "
                    "for this layer (dtype='float32').")
            return outputs

        return float64_call

    # --- masks (Keras's Layer.__call__ steps) ------------------------------------------------
    def _populate_masks(self, info, inputs, args, kwargs):
        """Fills ``mask=`` (or ``<arg>_mask=``) from the inputs' ``_keras_mask`` as Keras
        does, in place in ``kwargs``; returns the previous mask for ``compute_mask``."""
        if info.takes_mask and kwargs.get("mask") is None:
            mask = _mask_of(inputs)
            if mask is not None and not any(  # the mask goes with the only tensor argument
                    _is_tensor_like(v) or (isinstance(v, (list, tuple)) and v and
                                           all(_is_tensor_like(t) for t in v))
                    for v in list(args) + [v for k, v in kwargs.items() if k != "mask"]):
                kwargs["mask"] = mask
        elif info.named_masks and any(_mask_of(v) is not None for v in
                                      (inputs,) + tuple(args) + tuple(kwargs.values())):
            bound = self._bound_call_args(inputs, args, kwargs)
            for name in info.named_masks:
                if bound.get(name) is None and bound.get(name[:-5]) is not None:
                    mask = _mask_of(bound[name[:-5]])
                    if mask is not None:
                        kwargs[name] = mask
        if kwargs.get("mask") is not None:
            return kwargs["mask"]
        return _mask_of(inputs)

    def _bound_call_args(self, inputs, args, kwargs):
        try:
            return dict(inspect.signature(self.call).bind_partial(inputs, *args, **kwargs)
                        .arguments)
        except TypeError:
            return {}

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        """Attaches ``compute_mask(inputs, previous_mask)`` to outputs that have no mask."""
        flat_outputs = _flat_tensors(outputs)
        if all(getattr(t, "_keras_mask", None) is not None for t in flat_outputs):
            return
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for t, m in zip(flat_outputs, _flat_tensors(masks)):
            if m is not None and isinstance(t, (Tensor, KerasTensor)) and \
                    getattr(t, "_keras_mask", None) is None:
                t._keras_mask = m

    # --- build and shapes for a call's arguments ----------------------------------------------
    def _shapes_dict(self, inputs, args, kwargs):
        """``{"<arg>_shape": shape}`` for the call's tensor arguments (masks excluded), as
        Keras's ``get_shapes_dict``."""
        bound = self._bound_call_args(inputs, args, kwargs)
        out = {}
        for name, value in bound.items():
            if name == "mask" or name.endswith("_mask") or name in ("args", "kwargs"):
                continue
            if _is_tensor_like(value) or (isinstance(value, (list, tuple)) and value and
                                          all(_is_tensor_like(v) for v in value)):
                out[f"{name}_shape"] = _shape_of(value)
        return out

    def _shape_args(self, params, inputs, args, kwargs):
        """Arguments for ``build``/``compute_output_shape`` with parameters ``params``: the
        first input's shape when it takes one, else the shapes matched by name. Parameters
        after the first that name a non-shape argument of ``call`` (``reverse`` of
        ``compute_output_shape(input_shape, reverse=False)``) are not shapes: see
        ``_call_value_args``."""
        params = self._shape_params(params)
        if len(params) <= 1:
            return (_shape_of(inputs),), {}
        shapes = self._shapes_dict(inputs, args, kwargs)
        return (), {k: v for k, v in shapes.items() if k in params}

    def _shape_params(self, params):
        call_params = _call_info(type(self)).call_params
        return params[:1] + tuple(p for p in params[1:]
                                  if p.endswith("_shape") or p not in call_params)

    def _call_value_args(self, params, inputs, args, kwargs):
        """The call's values of the parameters of ``build``/``compute_output_shape`` that
        are call arguments rather than shapes (the rest keep their defaults)."""
        extra = [p for p in params if p not in self._shape_params(params)]
        if not extra:
            return {}
        bound = self._bound_call_args(inputs, args, kwargs)
        return {p: bound[p] for p in extra if p in bound}

    def _build_for_call(self, inputs, args, kwargs):
        info = _call_info(type(self))
        pos, named = self._shape_args(info.build_params, inputs, args, kwargs)
        if named:
            self._build_shapes = named
            self._build_from_shapes_dict = True
        else:
            self._build_shapes = pos[0]
        self.build(*pos, **named,
                   **self._call_value_args(info.build_params, inputs, args, kwargs))
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _symbolic_call(self, inputs, *args, **kwargs):
        """Calling a layer on KerasTensors: masks as Keras fills them, build for the
        arguments' shapes, infer the outputs (``compute_output_spec`` or else
        ``compute_output_shape`` when the layer defines it, else a trace of ``call`` with the same arguments on stand-ins), record
        the node and attach output masks from ``compute_mask``."""
        info = _call_info(type(self))
        kwargs = dict(kwargs)
        previous_mask = self._populate_masks(info, inputs, args, kwargs)
        if not self.built:
            self._build_for_call(inputs, args, kwargs)
        if info.custom_output_spec:
            outputs = self.compute_output_spec(inputs, *args, **kwargs)
        elif info.custom_output_shape:
            pos, named = self._shape_args(info.shape_params, inputs, args, kwargs)
            out_shape = self.compute_output_shape(
                *pos, **named,
                **self._call_value_args(info.shape_params, inputs, args, kwargs))
            outputs = _tensors_for_shapes(out_shape)
        else:
            outputs = self._trace_outputs(inputs, args, kwargs)
        record_outputs(self, inputs, outputs, args, kwargs)
        if self.supports_masking and (previous_mask is not None or info.custom_compute_mask):
            self._set_mask_metadata(inputs, outputs, previous_mask)
        return outputs

    def _trace_outputs(self, inputs, args, kwargs):
        """Output KerasTensors from running ``call`` on stand-ins of every tensor argument
        (masks included; ``training=False`` unless given)."""
        extra = {}
        if _takes_training(type(self)) and "training" not in kwargs:
            extra["training"] = False

        def run(*a, **kw):
            return self.call(*a, **kw, **extra)

        return compute_output_spec(run, (inputs,) + tuple(args), kwargs)

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (None for the batch axis).

        The default runs ``call`` on stand-ins of the input (see ``compute_output_spec``);
        layers with a cheap closed form override it.
        """
        def spec(shape):
            if isinstance(shape, list):
                return [spec(s) for s in shape]
            if isinstance(shape, dict):
                return {k: spec(s) for k, s in shape.items()}
            return KerasTensor(shape)

        outputs = self._trace_outputs(spec(input_shape), (), {})

        def shapes(out):
            if isinstance(out, (list, tuple)):
                return [shapes(o) for o in out]
            return tuple(out.shape)

        return shapes(outputs)

    # --- config ----------------------------------------------------------------------------
    def get_config(self):
        """The constructor arguments (Keras's base fields: name, trainable, dtype)."""
        policy = self.dtype_policy
        plain = policy.compute_dtype == policy.variable_dtype and not policy.quantization_mode \
            and not isinstance(policy, Mapping)
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": policy.name if plain else serialize_dtype_policy(policy)}
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


def _tensors_for_shapes(shape):
    """KerasTensors for a ``compute_output_shape`` result (a shape or a list of shapes)."""
    if isinstance(shape, dict):
        return {k: _tensors_for_shapes(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(
            isinstance(s, (list, tuple)) or s is None for s in shape) and any(
            isinstance(s, (list, tuple)) for s in shape):
        return [_tensors_for_shapes(s) for s in shape]
    return KerasTensor(shape)


def _dedupe(weights):
    seen = set()
    out = []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


__all__ = ["Layer", "KerasTensor", "GradientTape"]
