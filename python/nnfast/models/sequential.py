"""``Sequential``: a plain stack of layers, each feeding the next."""
import numpy as np

from nnfast import ops
from nnfast.backend import global_state
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tape import recording
from nnfast.layers.input_layer import Input, InputLayer
from nnfast.layers.layer import Layer
from nnfast.models import fusion
from nnfast.models.keras2_methods import Keras2SequentialMethods
from nnfast.models.model import Model
from nnfast.models.plan import Plan, layer_step, run_plan, takes_mask
from nnfast.saving.object_registration import register_builtin_class
from nnfast.saving.serialization import deserialize_layer_entry, serialize_keras_object


class Sequential(Keras2SequentialMethods, Model):
    """A linear stack of layers.

    Args:
        layers: list of layers (an ``Input(shape)`` or ``InputLayer`` may come first, or the
            first layer may take ``input_shape=``). Without a known input shape the model
            builds on its first call or ``fit``.
        trainable: whether the model's weights are trained (default True).
        name: the model's name.

    Example:
        >>> model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
        ...                           keras.layers.Dense(128, activation="relu"),
        ...                           keras.layers.Dense(10, activation="softmax")])
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
        ...               metrics=["accuracy"])
        >>> model.output_shape, model.count_params()
        ((None, 10), 101770)
    """

    def __init__(self, layers=None, trainable=True, name=None, *args, **kwargs):
        # Keras declares Sequential(*args, **kwargs); its __init__ takes the three above.
        if args:
            raise TypeError(f"Sequential.__init__() takes at most 4 positional arguments but "
                            f"{len(args) + 4} were given")
        if kwargs:
            raise TypeError(f"Sequential.__init__() got unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        super().__init__(trainable=trainable, name=name)
        self._stack = []
        self._input_batch_shape = None
        self._output_shapes = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._build_if_shape_known()

    def add(self, layer, rebuild=True):
        """Appends a layer (or an ``Input`` tensor that declares the input shape)."""
        if isinstance(layer, KerasTensor):
            origin = layer._keras_history[0] if layer._keras_history else None
            if not isinstance(origin, InputLayer):
                raise ValueError("Only the output of `Input()` can be added to a Sequential model.")
            layer = origin
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError("An InputLayer can only be the first entry of a Sequential model.")
            self._input_batch_shape = layer.batch_shape
            self._input_layer_name = layer.name
            self._input_dtype = getattr(layer, "dtype", None)  # the ONNX export's input type
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Received: "
                            f"layer={layer} of type {type(layer)}.")
        if any(layer is l for l in self._stack):
            raise ValueError(f"Layer '{layer.name}' is already in this model.")
        if not self._stack and self._input_batch_shape is None and layer._batch_input_shape is not None:
            self._input_batch_shape = layer._batch_input_shape
        names = {l.name for l in self._stack}
        if layer.name in names:
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name '{layer.name}' is already the name of a layer in this model.")
        self._stack.append(layer)
        self._layers.append(layer)
        self.built = False
        if rebuild:
            self._build_if_shape_known()

    def pop(self):
        """Removes the last layer."""
        if not self._stack:
            raise IndexError("There are no layers in the model.")
        layer = self._stack.pop()
        self._layers.remove(layer)
        self.built = False
        self._build_if_shape_known()
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def _build_if_shape_known(self):
        if self._input_batch_shape is not None and self._stack:
            self.build(self._input_batch_shape)

    def build(self, input_shape=None):
        """Builds every layer by propagating ``input_shape`` (batch axis included)."""
        shape = tuple(input_shape) if input_shape is not None else self._input_batch_shape
        if shape is None:
            raise ValueError("Sequential.build needs an input shape.")
        self._input_batch_shape = (None,) + tuple(shape[1:])
        shape = self._input_batch_shape
        self._output_shapes = []
        for layer in self._stack:
            if not layer.built:
                layer._build_shapes = shape
                layer.build(shape)
                layer.built = True
                if layer._initial_weights is not None:
                    layer.set_weights(layer._initial_weights)
                    layer._initial_weights = None
            shape = layer.compute_output_shape(shape)
            self._output_shapes.append(shape)
        # One step per layer: step i reads tensor id i and writes id i + 1.
        steps = [layer_step(layer, i, i + 1, takes_mask=takes_mask(layer))
                 for i, layer in enumerate(self._stack)]
        plan = Plan(steps, [0], [len(steps)], len(steps) + 1, masks_every_step=True)
        self._plan = fusion.fuse(plan, self, "training")
        self._inference = None  # the inference plan, made at the first inference call
        self._build_shapes = self._input_batch_shape
        self._symbolic = None  # (inputs, outputs), made when first asked for
        self.built = True

    def _maybe_build(self, inputs):
        if not self.built:
            shape = getattr(inputs, "shape", None)
            self.build(tuple(shape))

    def _inference_plan(self):
        """The plan with the inference-only fusions (``models.fusion``); used when nothing
        records and ``training`` is off."""
        if self._inference is None:
            self._inference = fusion.fuse(self._plan, self, "inference")
        return self._inference

    def _check_input(self, x):
        """Keras's check of a Sequential model's input: its rank must be the declared one,
        or one lower or higher when the missing/extra axis is a trailing 1 (then fixed as
        Keras fixes it). Sizes of a same-rank input are left to the layers (as Keras)."""
        expected = self._input_batch_shape
        shape = getattr(x, "shape", None)
        if shape is None or expected is None or len(shape) == len(expected):
            return x
        if len(shape) == len(expected) - 1 and expected[-1] == 1:
            return self._check_input(ops.expand_dims(x, -1))
        elif len(shape) == len(expected) + 1 and shape[-1] == 1:
            return self._check_input(ops.squeeze(x, axis=-1))
        raise ValueError(f"Invalid input shape for input of model '{self.name}': expected shape "
                         f"{expected}, but input has incompatible shape {tuple(shape)}.")

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if isinstance(x, np.ndarray) and x.dtype.kind in "USO" and self._stack and \
                not getattr(self._stack[0], "_accepts_strings", False):
            raise TypeError(f"`x` must be numeric for model '{self.name}', received strings "
                            f"(dtype {x.dtype}); text goes to a model that starts with "
                            f"TextVectorization, StringLookup or Hashing.")
        x = self._check_input(x)
        plan = self._plan
        if not training and mask is None and not recording():
            plan = self._inference_plan()
        # A Keras mask (Embedding(mask_zero=True), Masking) rides along (see run_plan).
        return run_plan(plan, [x], training, mask)[0]

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def input_shape(self):
        return self._input_batch_shape

    def _symbolic_graph(self):
        """``(inputs, outputs)``: the stack called once on an ``Input`` of the model's input
        shape, as the functional graph Keras builds for a Sequential model."""
        if not self.built:
            raise AttributeError(f"Sequential model '{self.name}' has no defined inputs or "
                                 "outputs yet: build it (give it an input shape or call it on "
                                 "data) first.")
        if self._symbolic is None:
            x = inputs = Input(batch_shape=self._input_batch_shape,
                               name=getattr(self, "_input_layer_name", None))
            for layer in self._stack:
                x = layer(x)
            self._symbolic = ([inputs], [x])
        return self._symbolic

    @property
    def inputs(self):
        """The model's symbolic inputs (a list with one KerasTensor)."""
        return list(self._symbolic_graph()[0])

    @property
    def outputs(self):
        """The model's symbolic outputs (a list with one KerasTensor)."""
        return list(self._symbolic_graph()[1])

    @property
    def output_shape(self):
        if not self._output_shapes:
            raise AttributeError("The model has not been built yet; it has no output shape.")
        return self._output_shapes[-1]

    # --- config (Keras 3's format) ------------------------------------------------------------
    _saving_kind = "container"  # saving groups its variables under its layers

    def _saved_input_shape(self):
        return self._input_batch_shape

    def get_config(self):
        """Keras 3's config: ``{name, trainable, dtype, layers: [InputLayer, ...],
        build_input_shape}``."""
        layers = []
        if self._input_batch_shape is not None:
            inp = InputLayer(batch_shape=self._input_batch_shape, name=self._input_name())
            layers.append(serialize_keras_object(inp))
        layers += [serialize_keras_object(l) for l in self._stack]
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32",
                  "layers": layers}
        if self._input_batch_shape is not None:
            config["build_input_shape"] = list(self._input_batch_shape)
        return config

    def _input_name(self):
        name = getattr(self, "_input_layer_name", None)
        if name is None:
            name = self._input_layer_name = global_state.unique_name("input_layer")
        return name

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model a ``get_config`` dict (or Keras 2.2's list of layer entries) describes,
        built when it names an input shape."""
        if isinstance(config, list):  # Keras 2.2: the config is the list of layers
            config = {"layers": config}
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config["layers"]:
            if entry.get("class_name") == "InputLayer":
                lc = dict(entry["config"])
                shape = lc.get("batch_shape", lc.get("batch_input_shape"))
                model._input_batch_shape = (None,) + tuple(shape[1:])
                model._input_layer_name = lc.get("name")
                continue
            model.add(deserialize_layer_entry(entry, custom_objects), rebuild=False)
        shape = config.get("build_input_shape")
        if model._input_batch_shape is None and shape is not None:
            model._input_batch_shape = (None,) + tuple(shape[1:])
        if model._input_batch_shape is not None and model._stack:
            model.build(model._input_batch_shape)
        if not config.get("trainable", True):
            model.trainable = False
        return model


register_builtin_class("Sequential", Sequential)
