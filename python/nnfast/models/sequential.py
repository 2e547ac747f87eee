"""``Sequential``: a plain stack of layers, each feeding the next."""
from nnfast.backend.keras_tensor import KerasTensor
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

    Example:
        >>> model = Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
        ...                     Dropout(0.2), Dense(10, activation="softmax")])
    """

    def __init__(self, layers=None, trainable=True, name=None):
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
        self._calls = [(layer._call_and_regularize if getattr(layer, "activity_regularizer", None)
                        is not None else layer.call, _takes_training(type(layer)),
                        _takes_mask(type(layer)), layer)
                       for layer in self._stack]
        self._calls = _fuse_calls(self._calls)
        self._inference = None  # the inference calls, made at the first inference call
        self._build_shapes = self._input_batch_shape
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

    def call(self, inputs, training=None, mask=None):
        x = inputs
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
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def input_shape(self):
        return self._input_batch_shape

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
