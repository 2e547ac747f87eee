"""``clone_model``: the same architecture with fresh weights."""
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.input_layer import Input, InputLayer
from nnfast.layers.operation import OperationLayer
from nnfast.models.functional import Functional, flatten_struct, pack_struct
from nnfast.models.sequential import Sequential
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object


def _default_clone(layer):
    entry = serialize_keras_object(layer)
    entry.pop("build_config", None)
    return deserialize_keras_object(entry)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """A new model with the same layers (re-created from their configs, so weights are
    freshly initialised) and the same graph; not compiled.

    Args:
        input_tensors: new ``Input`` tensors to build a Functional/Sequential clone on.
        clone_function: ``layer -> new layer`` (default: re-create from config). Return the
            layer itself to share it.
        call_function: ``(layer, *args, **kwargs) -> outputs`` to change how layers are called.
        recursive: clone nested models layer by layer too.
        model: the ``Sequential`` or functional model to copy.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> clone = keras.models.clone_model(model)
        >>> clone.count_params() == model.count_params()
        True
        >>> clone.layers[0] is model.layers[0]
        False
    """
    clone_function = clone_function or _default_clone
    if recursive:
        inner = clone_function

        def clone_function(layer):
            if isinstance(layer, (Sequential, Functional)):
                return clone_model(layer, clone_function=inner, call_function=call_function,
                                   recursive=True)
            return inner(layer)

    if isinstance(model, Sequential):
        layers = [clone_function(l) for l in model.layers]
        if input_tensors is not None:
            x = flatten_struct(input_tensors)[0]
            for layer in layers:
                x = layer(x) if call_function is None else call_function(layer, x)
            return Functional(flatten_struct(input_tensors)[0], x, name=model.name)
        new = Sequential(name=model.name)
        if model._input_batch_shape is not None:
            new.add(Input(batch_shape=model._input_batch_shape))
        for layer in layers:
            new.add(layer)
        return new
    if isinstance(model, Functional):
        mapping = {}  # id(old layer) -> new layer
        tensors = {}  # id(old tensor) -> new tensor
        new_inputs = flatten_struct(input_tensors) if input_tensors is not None else None
        for i, t in enumerate(model.inputs):
            if new_inputs is not None:
                tensors[id(t)] = new_inputs[i]
            else:
                layer = t._keras_history[0]
                tensors[id(t)] = Input(batch_shape=t.shape, dtype=t.dtype, name=layer.name)

        def swap(x):
            if isinstance(x, KerasTensor):
                return tensors[id(x)]
            if isinstance(x, (list, tuple)):
                return type(x)(swap(v) for v in x)
            if isinstance(x, dict):
                return {k: swap(v) for k, v in x.items()}
            return x


        for node in model._graph_nodes:
            layer = node.layer
            if isinstance(layer, InputLayer):
                continue
            if id(layer) not in mapping:
                # Op nodes (x + y, ops.mean...) hold no state: called again, as Keras does,
                # not passed to clone_function (which sees layers only).
                mapping[id(layer)] = layer if isinstance(layer, OperationLayer) else \
                    clone_function(layer)
            new_layer = mapping[id(layer)]
            args, kwargs_ = swap(list(node.args)), swap(dict(node.kwargs))
            if call_function is not None:
                out = call_function(new_layer, swap(node.inputs), *args, **kwargs_)
            else:
                out = new_layer(swap(node.inputs), *args, **kwargs_)
            for old_t, new_t in zip(flatten_struct(node.outputs), flatten_struct(out)):
                tensors[id(old_t)] = new_t
        inputs = pack_struct(model._inputs_struct, [tensors[id(t)] for t in model.inputs]) \
            if not isinstance(model._inputs_struct, KerasTensor) else tensors[id(model.inputs[0])]
        outputs = pack_struct(model._outputs_struct, [tensors[id(t)] for t in model.outputs]) \
            if not isinstance(model._outputs_struct, KerasTensor) else tensors[id(model.outputs[0])]
        return Functional(inputs, outputs, name=model.name)
    # Subclassed model: it must be re-creatable from its config.
    try:
        return type(model).from_config(model.get_config())
    except TypeError as e:
        raise ValueError(f"Unable to clone model '{model.name}' of class {type(model).__name__}: "
                         "a subclassed model must implement `get_config()` and `from_config()` "
                         f"to be cloned ({e}).") from None
