"""``Sequential``: a plain stack of layers, each feeding the next."""
import numpy as np
import weakref

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor
from nnfast.backend.tape import recording
from nnfast.layers.input_layer import InputLayer
from nnfast.layers.layer import Layer, _takes_training
from nnfast.models.keras2_methods import Keras2SequentialMethods
from nnfast.models.model import Model


def _takes_mask(cls):
    import inspect

    return "mask" in inspect.signature(cls.call).parameters


def _fuse_calls(calls):
    """The call plan with qualifying layer pairs replaced by one fused call:
    Conv2D(relu) -> MaxPooling2D (see layers.convolutional.fused_conv_pool_call; the fused
    entry keeps the conv layer's mask handling: neither layer supports masking, so the mask
    ends there either way), and any pair whose second layer offers ``_fused_with_previous``
    (Embedding -> LSTM/GRU/SimpleRNN runs straight from the table): that entry is an object
    with the pair's call / compute_mask / supports_masking, deferring to the two layers
    when it does not fuse."""
    from nnfast.layers.convolutional import fused_conv_pool_call

    out, i = [], 0
    while i < len(calls):
        if i + 1 < len(calls):
            first, second = calls[i][3], calls[i + 1][3]
            fused = fused_conv_pool_call(first, second)
            if fused is not None:
                out.append((fused, False, False, first))
                i += 2
                continue
            offer = getattr(second, "_fused_with_previous", None)
            pair = offer(first) if offer is not None else None
            if pair is not None:
                out.append((pair.call, True, True, pair))
                i += 2
                continue
        out.append(calls[i])
        i += 1
    return out


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
        self._calls = [(layer._plan_call() if isinstance(layer, Layer) else layer.call,
                        _takes_training(type(layer)),
                        _takes_mask(type(layer)), layer)
                       for layer in self._stack]
        self._calls = _fuse_calls(self._calls)
        for entry in self._calls:  # fused pairs read the model's optimizer (embedding rule)
            if hasattr(entry[3], "owner"):
                entry[3].owner = weakref.ref(self)
        self._inference = None  # the inference calls, made at the first inference call
        self._build_shapes = self._input_batch_shape
        self._symbolic = None  # (inputs, outputs), made when first asked for
        self.built = True

    def _maybe_build(self, inputs):
        if not self.built:
            shape = getattr(inputs, "shape", None)
            self.build(tuple(shape))

    def _inference_calls(self):
        """``_calls`` with conv [-> BatchNormalization] [-> activation] runs merged (see
        models.inference_fusion); used when nothing records and ``training`` is off."""
        if getattr(self, "_inference", None) is None:
            from nnfast.models.inference_fusion import inference_plan

            plan = [(layer, call, tt, True, i, (), {}, False, i + 1)
                    for i, (call, tt, _, layer) in enumerate(self._calls)]
            original = {id(entry): i for i, entry in enumerate(plan)}
            self._inference = [self._calls[original[id(e)]] if id(e) in original
                               else (e[1], False, False, e[0])
                               for e in inference_plan(plan, [len(plan)])]
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
            from nnfast import ops

            return self._check_input(ops.expand_dims(x, -1))
        elif len(shape) == len(expected) + 1 and shape[-1] == 1:
            from nnfast import ops

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
        calls = self._calls
        if not training and mask is None and not recording():
            calls = self._inference_calls()
        # NOTE: call layers directly (they are built) to keep per-step overhead low. A
        # Keras mask (Embedding(mask_zero=True), Masking) rides along: it is passed to layers
        # whose call takes `mask`, kept through layers that support masking, and replaced by
        # what a layer's compute_mask (or its output's _keras_mask) says.
        for call, takes_training, takes_mask, layer in calls:
            kwargs = {}
            if takes_training:
                kwargs["training"] = training
            if takes_mask and mask is not None:
                kwargs["mask"] = mask
            inp, x = x, call(x, **kwargs)
            out_mask = getattr(x, "_keras_mask", None)
            if out_mask is not None:
                mask = out_mask
            elif hasattr(layer, "compute_mask"):
                mask = layer.compute_mask(inp, mask)
            elif not layer.supports_masking:
                mask = None
        # As Keras: the mask that reaches the output rides on it, so the loss is masked.
        if mask is not None and isinstance(x, Tensor) and x._keras_mask is None:
            x._keras_mask = mask
        return x

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
            from nnfast.layers.input_layer import Input

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

    def get_config(self):
        """Keras 3's config: ``{name, trainable, dtype, layers: [InputLayer, ...],
        build_input_shape}``."""
        from nnfast.saving.serialization import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from nnfast.saving.serialization import sequential_from_config

        return sequential_from_config(cls, config, custom_objects)
