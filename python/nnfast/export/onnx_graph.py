"""The ONNX graph builder: walks a Sequential or Functional model's layer graph and asks the
per-layer converters (``export.onnx_layers``) for the ONNX nodes of each layer call.

Layout: ONNX's convolution and pooling operators take channels-first tensors, Keras's
default is channels-last; the converters wrap those operators in ``Transpose`` nodes and
leave the rest of the graph in the model's own layout (ONNX Runtime's transpose optimizer
cancels the back-to-back pairs between consecutive convolutions).

Inference folding, as nnfast's inference plan runs the model
(``models.fusion``): a ``BatchNormalization`` over the channels whose only input
is a convolution (or ``Dense``) read by nothing else becomes part of that operator's kernel
and bias instead of a separate multiply-add.
"""
import numpy as np

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.input_layer import Input, InputLayer
from nnfast.models.functional import Functional, build_graph, flatten_struct
from nnfast.models.sequential import Sequential

OPSET = 17  # the default target; 17 through MAX_OPSET are written
MAX_OPSET = 21
_AXES_INPUT_FROM_18 = ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd")


def onnx_module():
    """The ``onnx`` package, or an ImportError saying how to install it."""
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError("Exporting to ONNX needs the `onnx` package: "
                          "`pip install onnx` (or `pip install nnfast[onnx]`).") from e
    return onnx


class ExportError(NotImplementedError):
    """A layer or op of the model has no ONNX conversion."""


class OnnxGraph:
    """Nodes, initializers and value names of one ONNX graph under construction.

    Converters call :meth:`op` to append a node and :meth:`const` to add a constant
    (initializer); names are made unique here.

    Example:
        >>> g = OnnxGraph()
        >>> y = g.op("Relu", ["x"], "relu")
    """

    def __init__(self, opset=OPSET):
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._used = set()

    def fresh(self, hint):
        """A value name not used yet in this graph, built from ``hint``."""
        base = "".join(c if c.isalnum() or c in "_./:" else "_" for c in str(hint)) or "v"
        name, i = base, 1
        while name in self._used:
            name = f"{base}_{i}"
            i += 1
        self._used.add(name)
        return name

    def reserve(self, name):
        """Marks a graph input name as taken."""
        self._used.add(name)

    def const(self, value, hint="const", dtype=np.float32):
        """An initializer holding ``value`` (cast to ``dtype``); returns its name."""
        onnx = onnx_module()
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        name = self.fresh(hint)
        self.initializers.append(onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values, hint="shape"):
        """An int64 1-D initializer (shapes, axes, pads)."""
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), hint, np.int64)

    def op(self, op_type, inputs, hint=None, outputs=1, out_name=None, **attrs):
        """Appends ``op_type(inputs)`` and returns its output name (a list when
        ``outputs > 1``). ``None`` inputs become ONNX's empty optional input ``""``;
        ``out_name`` names the single output exactly (a graph output)."""
        onnx = onnx_module()
        hint = hint or op_type.lower()
        if op_type in _AXES_INPUT_FROM_18 and self.opset >= 18 and "axes" in attrs:
            # Opset 18 moved these reductions' axes from an attribute to an input.
            inputs = list(inputs) + [self.ints(attrs.pop("axes"), f"{hint}/axes")]
        if out_name is not None:
            outs = [out_name]
        else:
            outs = [self.fresh(hint if outputs == 1 else f"{hint}_{i}") for i in range(outputs)]
        self.nodes.append(onnx.helper.make_node(
            op_type, ["" if i is None else i for i in inputs], outs,
            name=self.fresh(f"{hint}/{op_type}"),
            **{k: v for k, v in attrs.items() if v is not None}))
        return outs[0] if outputs == 1 else outs


# --- walking models -------------------------------------------------------------------------
def model_graph(model, input_shapes=None):
    """``(inputs, outputs, nodes)`` of a model: its symbolic input and output KerasTensors
    and its layer-call nodes in topological order. A subclassed model's ``call`` is traced
    on symbolic inputs of ``input_shapes`` (default: the shapes it was built with), which
    works when it computes with nnfast layers and ops."""
    if isinstance(model, Functional):
        return list(model.inputs), list(model.outputs), model._graph_nodes
    if isinstance(model, Sequential):
        if not model.built:
            raise ValueError(f"Sequential model '{model.name}' is not built: give it an input "
                             "shape (an `Input` first, or call it on data) before exporting.")
        inputs, outputs = model._symbolic_graph()
        return list(inputs), list(outputs), build_graph(list(inputs), list(outputs))[0]
    return _trace_subclassed(model, input_shapes)


def _trace_subclassed(model, input_shapes):
    shapes = input_shapes
    if shapes is None:
        built = getattr(model, "_build_shapes", None)
        if built is None or isinstance(built, dict):
            raise ExportError(
                f"Model '{model.name}' ({type(model).__name__}) is a subclassed model that has "
                "not been called yet: call it on data or pass `input_signature` to export it.")
        single = all(d is None or isinstance(d, int) for d in built)
        shapes = [built] if single else list(built)
        shapes = [(None,) + tuple(s[1:]) for s in shapes]
    inputs = [Input(batch_shape=tuple(s)) for s in shapes]
    try:
        outputs = model.call(inputs[0] if len(inputs) == 1 else inputs)
    except Exception as e:
        raise ExportError(
            f"Model '{model.name}' ({type(model).__name__}) is a subclassed model whose `call` "
            f"could not be traced on symbolic inputs ({type(e).__name__}: {e}); the ONNX "
            "export follows calls of nnfast layers and ops only.") from e
    flat = flatten_struct(outputs)
    if not flat or not all(isinstance(t, KerasTensor) and t._keras_history for t in flat):
        raise ExportError(f"Model '{model.name}' ({type(model).__name__}): its `call` did not "
                          "return tensors computed by nnfast layers and ops.")
    return inputs, flat, build_graph(inputs, flat)[0]


def _readers(nodes, outputs):
    """id(KerasTensor) -> number of reads by nodes, plus one for each model output."""
    count = {}
    for node in nodes:
        for t in node.input_tensors:
            count[id(t)] = count.get(id(t), 0) + 1
    for t in outputs:
        count[id(t)] = count.get(id(t), 0) + 1
    return count


def emit_model(g, model, input_names, input_shapes=None):
    """Appends the nodes of ``model`` to ``g`` with its inputs bound to ``input_names``;
    returns the names of its outputs (in ``model.outputs`` order). ``input_shapes`` are
    the shapes a subclassed model is traced at (a nested model's call shapes).

    Keras masks are explicit in nnfast's graphs (``Embedding(mask_zero=True)`` records a
    ``not_equal`` node whose output reaches the next layer as its ``mask`` argument), so
    the converters see them as inputs."""
    from nnfast.export import onnx_layers

    inputs, outputs, nodes = model_graph(model, input_shapes)
    if len(input_names) != len(inputs):
        raise ValueError(f"Model '{model.name}' takes {len(inputs)} inputs; the export gave "
                         f"{len(input_names)}.")
    env = {id(t): n for t, n in zip(inputs, input_names)}
    readers = _readers(nodes, outputs)
    consumer = {}  # id(tensor) -> the node reading it, for the folding check
    for node in nodes:
        for t in node.input_tensors:
            consumer[id(t)] = node
    folded = set()
    for node in nodes:
        layer = node.layer
        if isinstance(layer, InputLayer) or id(node) in folded:
            continue
        ins = []
        for t in node.input_tensors:
            if id(t) not in env:
                raise ValueError(f"Layer '{layer.name}' reads a tensor that no exported node "
                                 "produces.")
            ins.append(env[id(t)])
        fold = None
        outs_kt = node.output_tensors
        if len(outs_kt) == 1 and readers.get(id(outs_kt[0])) == 1 and \
                onnx_layers.folds_batch_norm(layer):
            nxt = consumer.get(id(outs_kt[0]))
            if nxt is not None and onnx_layers.is_foldable_batch_norm(nxt, outs_kt[0]):
                fold = onnx_layers.batch_norm_scale_shift(nxt.layer)
                folded.add(id(nxt))
        out_names = onnx_layers.convert(g, node, ins, fold)
        if fold is not None:
            outs_kt = nxt.output_tensors
        if len(out_names) != len(outs_kt):
            raise ValueError(f"The ONNX converter of '{layer.name}' made {len(out_names)} "
                             f"outputs; the layer has {len(outs_kt)}.")
        for t, n in zip(outs_kt, out_names):
            env[id(t)] = n
    return [env[id(t)] for t in outputs]


def _value_info(name, shape, elem_type):
    onnx = onnx_module()
    dims = [d if d is not None else ("batch" if i == 0 else f"{name}_dim{i}")
            for i, d in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, elem_type, dims)


def _elem_type(dtype):
    onnx = onnx_module()
    dt = np.dtype(dtype or "float32")
    return onnx.helper.np_dtype_to_tensor_dtype(dt)


def build_onnx_model(model, input_specs=None, graph_name=None, opset=OPSET):
    """The ``onnx.ModelProto`` of ``model`` (Sequential or Functional).

    Args:
        model: a built Sequential or Functional model.
        input_specs: optional list of ``(shape, dtype)`` per model input overriding the
            model's own input shapes (``None`` entries are dynamic dimensions).
        graph_name: the graph's name (default: the model's name).
        opset: the ONNX opset to target (17 or newer).

    Returns:
        ``onnx.ModelProto``, checked by ``onnx.checker``.

    Example:
        >>> proto = build_onnx_model(model)
        >>> onnx.save(proto, "model.onnx")
    """
    onnx = onnx_module()
    inputs, outputs, _ = model_graph(model)
    g = OnnxGraph(opset)
    in_names, in_infos = [], []
    own_dtype = getattr(model, "_input_dtype", None)  # a Sequential's Input(dtype=...)
    specs = input_specs or [(tuple(t.shape), own_dtype or t.dtype) for t in inputs]
    if len(specs) != len(inputs):
        raise ValueError(f"Model '{model.name}' has {len(inputs)} inputs; received "
                         f"{len(specs)} input specs.")
    for t, (shape, dtype) in zip(inputs, specs):
        if dtype == "string":
            raise ExportError(f"Input '{t.name}' of model '{model.name}' holds strings; ONNX "
                              "export covers numeric inputs only.")
        origin = t._keras_history[0].name if t._keras_history else t.name
        name = g.fresh(origin)
        in_names.append(name)
        in_infos.append(_value_info(name, shape, _elem_type(dtype)))
    out_names = emit_model(g, model, in_names)
    out_infos = []
    keras_names = list(getattr(model, "output_names", None) or [])
    for i, (t, n) in enumerate(zip(outputs, out_names)):
        want = keras_names[i] if i < len(keras_names) else f"output_{i}"
        final = g.fresh(want)
        g.op("Identity", [n], hint=final, out_name=final)
        out_infos.append(_value_info(final, tuple(t.shape), _elem_type(t.dtype)))
    graph = onnx.helper.make_graph(g.nodes, graph_name or model.name, in_infos, out_infos,
                                   initializer=g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="nnfast",
                                   opset_imports=[onnx.helper.make_opsetid("", opset)])
    proto.ir_version = min(proto.ir_version, 9)  # readable by ONNX Runtime releases since 1.16
    onnx.checker.check_model(proto)
    return proto
