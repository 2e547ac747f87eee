"""Nodes of the layer graph: one per call of a layer on symbolic tensors."""
from nnfast.backend.keras_tensor import KerasTensor


class Node:
    """A call ``layer(inputs, *args, **kwargs) -> outputs`` on KerasTensors."""

    def __init__(self, layer, inputs, outputs, args, kwargs):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.args = args
        self.kwargs = kwargs

    @property
    def input_tensors(self):
        # Symbolic tensors passed as extra arguments (e.g. attention's ``value``) are inputs
        # of the node too: the graph walk must reach their producers.
        out = _flatten(self.inputs)
        for t in _flatten([list(self.args), self.kwargs]):
            if all(t is not u for u in out):
                out.append(t)
        return out

    @property
    def output_tensors(self):
        return _flatten_sorted(self.outputs)


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flatten(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flatten(v)]
    return [x] if isinstance(x, KerasTensor) else []


def _flatten_sorted(x):
    # Keras's tree.flatten order (dict keys sorted): the tensor_index of each output.
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flatten_sorted(v)]
    if isinstance(x, dict):
        return [t for k in sorted(x) for t in _flatten_sorted(x[k])]
    return [x] if isinstance(x, KerasTensor) else []


def record_outputs(layer, inputs, outputs, args, kwargs):
    """Records the node ``layer(inputs, *args, **kwargs) -> outputs`` whose output
    KerasTensors (any structure) are new: their ``keras_history`` points at this node."""
    node_index = len(layer._inbound_nodes)
    for i, t in enumerate(_flatten_sorted(outputs)):
        t._keras_history = (layer, node_index, i)
    layer._inbound_nodes.append(Node(layer, inputs, outputs, args, kwargs))
    return outputs


def record_node(layer, inputs, output_shape, args, kwargs):
    """Creates the output KerasTensor(s) of a symbolic call and records the node."""
    node_index = len(layer._inbound_nodes)
    if isinstance(output_shape, list):
        outputs = [KerasTensor(s, keras_history=(layer, node_index, i))
                   for i, s in enumerate(output_shape)]
    else:
        outputs = KerasTensor(output_shape, keras_history=(layer, node_index, 0))
    layer._inbound_nodes.append(Node(layer, inputs, outputs, args, kwargs))
    return outputs
