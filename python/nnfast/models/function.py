"""``keras.Function``: a callable graph from symbolic inputs to symbolic outputs."""
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.input_layer import InputLayer
from nnfast.models.functional import Functional


def _structure(x):
    """The nesting of ``x`` with every leaf replaced by None (to compare structures)."""
    if isinstance(x, (list, tuple)):
        return [_structure(v) for v in x]
    if isinstance(x, dict):
        return {k: _structure(v) for k, v in sorted(x.items())}
    return None


class Function:
    """A function from symbolic ``inputs`` to symbolic ``outputs`` (``Input`` tensors and
    layer calls on them), callable on arrays; unlike a ``Model`` it has no weights of its own
    to train or save, it only runs the graph.

    Args:
        inputs: a KerasTensor, or a list/dict of them.
        outputs: KerasTensors computed from ``inputs``, in any nesting.
        name: optional name.

    Call it with arrays in the same structure as ``inputs``; it returns Tensors in the
    structure of ``outputs``.

    Example:
        >>> x = Input((3,))
        >>> f = Function([x], [layers.Dense(2)(x)])
        >>> (y,) = f([np.ones((4, 3), "float32")])
    """

    def __init__(self, inputs, outputs, name=None):
        self.name = name or "function"
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._graph = Functional(inputs, outputs, name=self.name)

    @property
    def inputs(self):
        return self._graph.inputs

    @property
    def outputs(self):
        return self._graph.outputs

    def __call__(self, inputs):
        if _structure(inputs) != _structure(self._inputs_struct):
            raise ValueError(f"Function was called with an invalid input structure. Expected "
                             f"input structure: {self._inputs_struct} Received input structure: "
                             f"{type(inputs).__name__} of shape "
                             f"{getattr(inputs, 'shape', None)}")
        if isinstance(self._inputs_struct, KerasTensor) or isinstance(inputs, dict):
            return self._graph(inputs)
        return self._graph(list(inputs) if len(inputs) > 1 else inputs[0])


def _leaf_tensors(x):
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _leaf_tensors(v)]
    if isinstance(x, dict):
        return [t for k in sorted(x) for t in _leaf_tensors(x[k])]
    return [x]


def is_keras_tensor(x):
    """True when ``x`` is a symbolic tensor (from ``Input`` or a layer call on one).

    Example:
        >>> is_keras_tensor(Input((3,))), is_keras_tensor(np.ones(3))
        (True, False)
    """
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """The ``Input`` tensors a symbolic tensor is computed from, in discovery order.

    Example:
        >>> a, b = Input((2,)), Input((3,))
        >>> get_source_inputs(layers.concatenate([a, b])) == [a, b]
        True
    """
    if not isinstance(tensor, KerasTensor):
        raise ValueError(f"`get_source_inputs` expects a KerasTensor. Received: tensor={tensor} "
                         f"of type {type(tensor)}")
    out, seen = [], set()

    def visit(t):
        history = t._keras_history
        if history is None:
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
            return
        layer, node_index, _ = history
        if isinstance(layer, InputLayer):
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
            return
        for parent in _leaf_tensors(layer._inbound_nodes[node_index].input_tensors):
            if isinstance(parent, KerasTensor):
                visit(parent)

    visit(tensor)
    return out


__all__ = ["Function", "get_source_inputs", "is_keras_tensor"]
