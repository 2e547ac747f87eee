"""``Functional``: a model defined as a graph of layer calls on symbolic tensors.

``Model(inputs, outputs)`` returns one. At construction the graph is walked once (the same
depth-first walk and depth ordering as Keras, so ``layers`` and saved files line up with
Keras's), and flattened into a plan (``models.plan``): layer calls reading and writing
integer tensor ids. A forward pass is ``run_plan``, one loop over that list.
"""
import numpy as np

from nnfast import ops
from nnfast.backend.keras_tensor import KerasTensor, any_symbolic
from nnfast.backend.tape import recording
from nnfast.backend.tensor import Tensor
from nnfast.layers.input_layer import InputLayer
from nnfast.layers.layer import _dedupe
from nnfast.layers.operation import OperationLayer
from nnfast.models import fusion
from nnfast.models.model import Model
from nnfast.models.plan import Plan, TensorRef, flatten_struct, layer_step, run_plan
from nnfast.ops.sparse_dense import CSRBatch
from nnfast.saving.object_registration import register_builtin_class
from nnfast.saving.serialization import (deserialize_keras_object, deserialize_layer_entry,
                                         serialize_keras_object)


def pack_struct(template, flat):
    """Inverse of ``flatten_struct``: rebuilds ``template``'s structure from ``flat``."""
    it = iter(flat)

    def pack(t):
        if isinstance(t, (list, tuple)):
            return type(t)(pack(v) for v in t) if isinstance(t, tuple) else [pack(v) for v in t]
        if isinstance(t, dict):
            out = {}
            for k in sorted(t):
                out[k] = pack(t[k])
            return {k: out[k] for k in t}
        return next(it)

    return pack(template)


def _node_of(tensor):
    layer, node_index, _ = tensor._keras_history
    return layer._inbound_nodes[node_index]


def build_graph(inputs, outputs):
    """Keras's graph walk: nodes in topological order and layers ordered by depth.

    Returns ``(nodes, layers)``: the nodes (inputs first) and the layers, ordered by
    decreasing depth and, within a depth, by first visit in the depth-first walk.
    """
    input_ids = {id(t) for t in inputs}
    finished, in_progress = set(), set()
    ordered = []  # nodes from inputs to outputs
    layer_index = {}  # id(layer) -> first traversal index
    layers_by_id = {}

    def visit(tensor):
        history = tensor._keras_history
        if history is None:
            raise ValueError(f"Output tensors of a Functional model must be the output of a "
                             f"layer call. Received: {tensor}")
        layer = history[0]
        node = _node_of(tensor)
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"Tensor {tensor} from layer '{layer.name}' is part of a cycle.")
        if id(layer) not in layer_index:
            layer_index[id(layer)] = len(layer_index)
            layers_by_id[id(layer)] = layer
        in_progress.add(id(node))
        if not isinstance(layer, InputLayer) and id(tensor) not in input_ids:
            for t in node.input_tensors:
                visit(t)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for out in outputs:
        visit(out)

    # Depths: a node's depth is one more than the deepest node consuming its outputs.
    node_depth, layer_depth = {}, {}
    producers = {}
    for node in ordered:
        for t in node.output_tensors:
            producers[id(t)] = node
    for node in reversed(ordered):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        if isinstance(node.layer, InputLayer):
            continue
        for t in node.input_tensors:
            if id(t) in input_ids:
                parent = _node_of(t)
            else:
                parent = producers.get(id(t))
            if parent is not None:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        layer = t._keras_history[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layer_index[id(layer)] = -1
            layers_by_id[id(layer)] = layer
    layers = sorted(layers_by_id.values(),
                    key=lambda l: (-layer_depth[id(l)], layer_index[id(l)]))

    # Every tensor a node needs must be computable from the inputs.
    computable = set(input_ids)
    for node in sorted(ordered, key=lambda n: -node_depth[id(n)]):
        if isinstance(node.layer, InputLayer):
            for t in node.output_tensors:
                if id(t) not in input_ids:
                    raise ValueError(
                        f"Graph disconnected: the outputs depend on Input '{node.layer.name}', "
                        "which is not among the model's `inputs`.")
            continue
        for t in node.input_tensors:
            if id(t) not in computable:
                raise ValueError(
                    f"Graph disconnected: cannot find parent for tensor {t} at layer "
                    f"'{node.layer.name}'. Pass every Input the outputs depend on in `inputs`.")
        computable.update(id(t) for t in node.output_tensors)

    names = [l.name for l in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model. '
                             "All layer names should be unique.")
    nodes = sorted(ordered, key=lambda n: -node_depth[id(n)])
    return nodes, layers


class Functional(Model):
    """A model built by calling layers on ``Input`` tensors: ``Model(inputs, outputs)``.

    Args:
        inputs: a KerasTensor from ``Input``, or a list or dict of them.
        outputs: a KerasTensor produced from ``inputs`` by layer calls, or a list or dict.
        name: model name.
        trainable: whether the model's weights are trained. Defaults to ``True``.

    Example:
        >>> a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
        >>> x = keras.layers.concatenate([keras.layers.Dense(8)(a), b])
        >>> model = keras.Model([a, b], keras.layers.Dense(1, name="score")(x))
        >>> model.predict([np.ones((2, 4)), np.ones((2, 3))], verbose=0).shape
        (2, 1)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, trainable=True, name=name, **kwargs)
        flat_inputs = flatten_struct(inputs)
        flat_outputs = flatten_struct(outputs)
        for what, flat in (("inputs", flat_inputs), ("outputs", flat_outputs)):
            for x in flat:
                if not isinstance(x, KerasTensor):
                    raise ValueError(f"All `{what}` values must be KerasTensors. Received: "
                                     f"{what}={flat} including invalid value {x!r} of type "
                                     f"{type(x)}")
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flat_inputs
        self.outputs = flat_outputs
        nodes, layers = build_graph(flat_inputs, flat_outputs)
        self._graph_nodes = nodes
        self._graph_layers = layers
        for layer in layers:
            if all(layer is not l for l in self._layers):
                self._layers.append(layer)
        if isinstance(outputs, dict):
            # Targets, losses and metrics of dict outputs are keyed by the dict keys.
            self.output_names = sorted(outputs)
        else:
            self.output_names = [t._keras_history[0].name for t in flat_outputs]
        self.input_names = [t._keras_history[0].name if t._keras_history else t.name
                            for t in flat_inputs]
        self._compile_plan()
        self._build_shapes = [tuple(t.shape) for t in flat_inputs] if len(flat_inputs) > 1 \
            else tuple(flat_inputs[0].shape)
        self.built = True
        if not trainable:
            self.trainable = False

    # --- the plan ---------------------------------------------------------------------------
    def _compile_plan(self):
        ids = {}

        def tensor_id(t):
            if id(t) not in ids:
                ids[id(t)] = len(ids)
            return ids[id(t)]

        input_ids = [tensor_id(t) for t in self.inputs]
        steps = []
        for node in self._graph_nodes:
            layer = node.layer
            if isinstance(layer, InputLayer):
                continue
            if isinstance(node.inputs, KerasTensor):
                inputs = tensor_id(node.inputs)
            else:
                inputs = _ref_template(node.inputs, tensor_id)
            args = node.args
            kwargs = dict(node.kwargs)
            kwargs.pop("training", None)
            refs_in_args = any_symbolic(args) or any_symbolic(kwargs)
            if refs_in_args:
                args = _ref_template(list(args), tensor_id)
                kwargs = _ref_template(kwargs, tensor_id)
            outs = node.outputs
            if isinstance(outs, KerasTensor):
                outputs = tensor_id(outs)
            else:
                outputs = [tensor_id(t) for t in flatten_struct(outs)]
            steps.append(layer_step(layer, inputs, outputs, args, kwargs, refs_in_args))
        output_ids = [tensor_id(t) for t in self.outputs]
        self._plan = fusion.fuse(Plan(steps, input_ids, output_ids, len(ids)), self,
                                 "training")
        self._inference = None  # the inference plan, made at the first inference call

    def _inference_plan(self):
        if self._inference is None:
            self._inference = fusion.fuse(self._plan, self, "inference")
        return self._inference

    def _standardize_inputs(self, inputs):
        struct = self._inputs_struct
        if isinstance(inputs, dict) and not isinstance(struct, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(f"Missing data for input(s) {missing}. The model expects inputs "
                                 f"named {self.input_names}; received keys {sorted(inputs)}.")
            flat = [inputs[n] for n in self.input_names]
        elif isinstance(struct, dict) and isinstance(inputs, dict):
            missing = [k for k in struct if k not in inputs]
            if missing:
                raise ValueError(f"Missing data for input(s) {missing}; received keys "
                                 f"{sorted(inputs)}.")
            flat = [inputs[k] for k in sorted(struct)]
        elif isinstance(inputs, (list, tuple)):
            flat = list(inputs)
        else:
            flat = [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s) "
                             f"({self.input_names}), but it received {len(flat)} input tensors.")
        out = []
        for index, (x, ref) in enumerate(zip(flat, self.inputs)):
            if ref.dtype == "string":  # raw text for TextVectorization/StringLookup: no casts
                x = np.asarray(x.value if isinstance(x, Tensor) else x)
                out.append(x[..., None] if x.ndim == len(ref.shape) - 1 and ref.shape and
                           ref.shape[-1] == 1 else x)
                continue
            if not isinstance(x, (Tensor, CSRBatch)):  # a CSR batch stays sparse for Dense
                x = np.asarray(x)
                if x.dtype.kind in "USO":
                    raise TypeError(f"Input '{ref.name}' of model '{self.name}' must be numeric "
                                    f"(dtype {ref.dtype}), received strings (dtype {x.dtype}); "
                                    f"text goes to keras.Input(..., dtype='string').")
                want = np.dtype(ref.dtype) if ref.dtype else np.dtype(np.float32)
                if x.dtype != want and (x.dtype.kind == "f" or want.kind != "f"):
                    x = x.astype(want)
                elif x.dtype.kind in "iub" and want.kind == "f":
                    x = x.astype(want)
            nd, ref_nd = len(x.shape), len(ref.shape)
            if nd != ref_nd:
                if nd == ref_nd + 1 and x.shape[-1] == 1:
                    x = ops.squeeze(x, axis=-1)
                elif nd == ref_nd - 1 and ref.shape[-1] == 1:
                    x = ops.expand_dims(x, -1)
                else:
                    raise _incompatible_input(index, ref, self.name, x.shape)
            for d, r in zip(x.shape[1:], ref.shape[1:]):
                if r is not None and d != r:
                    raise _incompatible_input(index, ref, self.name, x.shape)
            out.append(x)
        return out

    def call(self, inputs, training=None, mask=None):
        ref = self.inputs[0]
        if len(self.inputs) == 1 and type(inputs) in (np.ndarray, Tensor) and \
                inputs.dtype == np.float32 and len(inputs.shape) == len(ref.shape) and \
                ref.dtype == "float32" and all(r is None or r == d for r, d in
                                               zip(ref.shape[1:], inputs.shape[1:])):
            flat = [inputs]  # the common case, checked cheaply
        else:
            flat = self._standardize_inputs(inputs)
        plan = self._plan if training or recording() else self._inference_plan()
        outs = run_plan(plan, flat, training)
        if isinstance(self._outputs_struct, KerasTensor):
            return outs[0]
        return pack_struct(self._outputs_struct, outs)

    # --- as a layer ------------------------------------------------------------------------
    def build(self, input_shape=None):
        self.built = True

    def _maybe_build(self, inputs):
        self.built = True

    def compute_output_shape(self, input_shape):
        shapes = [tuple(t.shape) for t in self.outputs]
        if isinstance(self._outputs_struct, KerasTensor):
            return shapes[0]
        return shapes

    def _symbolic_call(self, inputs, *args, **kwargs):
        out = super()._symbolic_call(inputs, *args, **kwargs)
        if isinstance(self._outputs_struct, dict):
            return pack_struct(self._outputs_struct, flatten_struct(out))
        return out

    @property
    def layers(self):
        """Every layer of the graph, InputLayers included, ordered from inputs to outputs.
        Op nodes (``x + y``, ``ops.mean(x)`` on symbolic tensors) are not layers here, as in
        Keras; the saved config lists them."""
        return [l for l in self._graph_layers if not isinstance(l, OperationLayer)]

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [tuple(t.shape) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def weights(self):
        out = []
        for layer in self._graph_layers:
            out.extend(layer.weights)
        for layer in self._layers:
            out.extend(layer.weights)
        return _dedupe(out)

    # --- config (Keras 3's format) ------------------------------------------------------------
    _saving_kind = "container"  # saving groups its variables under its layers

    def _saved_input_shape(self):
        return None  # Keras writes build_config {"input_shape": None} for a Functional

    def get_config(self):
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return functional_from_config(cls, config, custom_objects)


register_builtin_class("Functional", Functional)
register_builtin_class("Model", Functional)


def _incompatible_input(index, ref, model_name, shape):
    """Keras's error for data that does not fit an ``Input``: both shapes named."""
    name = ref._keras_history[0].name if ref._keras_history else ref.name
    return ValueError(f"Input {index} with name '{name}' of layer '{model_name}' is "
                      f"incompatible with the layer: expected shape={ref.shape}, found "
                      f"shape={tuple(shape)}")


def _ref_template(struct, tensor_id):
    """``struct`` with each KerasTensor replaced by the TensorRef of its id."""
    if isinstance(struct, KerasTensor):
        return TensorRef(tensor_id(struct))
    if isinstance(struct, tuple):
        return tuple(_ref_template(v, tensor_id) for v in struct)
    if isinstance(struct, list):
        return [_ref_template(v, tensor_id) for v in struct]
    if isinstance(struct, dict):
        return {k: _ref_template(v, tensor_id) for k, v in struct.items()}
    return struct


def functional_config(model):
    """Keras 3's Functional config: layers with their relevant inbound nodes re-indexed."""
    own = {id(n) for n in model._graph_nodes}

    def node_index_map(layer):
        mapping, kept = {}, 0
        for i, node in enumerate(layer._inbound_nodes):
            if id(node) in own:
                mapping[i] = kept
                kept += 1
        return mapping

    index_maps = {id(l): node_index_map(l) for l in model._graph_layers}

    def tensor_entry(t):
        layer, node_index, tensor_index = t._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype,
                           "keras_history": [layer.name,
                                             index_maps[id(layer)].get(node_index, node_index),
                                             tensor_index]}}

    def ser(x):
        if isinstance(x, KerasTensor):
            return tensor_entry(x)
        if isinstance(x, (np.ndarray, Tensor)):  # a constant operand of an op node
            a = np.asarray(x.value if isinstance(x, Tensor) else x)
            return {"class_name": "__numpy__", "config": {"value": a.tolist(),
                                                          "dtype": str(a.dtype)}}
        if isinstance(x, (list, tuple)):
            return [ser(v) for v in x]
        if isinstance(x, dict):
            return {k: ser(v) for k, v in x.items()}
        return serialize_keras_object(x)

    layer_configs = []
    for layer in model._graph_layers:
        entry = serialize_keras_object(layer)
        nodes = []
        for node in layer._inbound_nodes:
            if id(node) not in own or not node.input_tensors:
                continue
            nodes.append({"args": [ser(node.inputs)] + [ser(a) for a in node.args],
                          "kwargs": ser(dict(node.kwargs))})
        entry["name"] = layer.name
        entry["inbound_nodes"] = nodes
        layer_configs.append(entry)

    def io_entry(t):
        layer, node_index, tensor_index = t._keras_history
        idx = index_maps[id(layer)].get(node_index, node_index)
        if isinstance(layer, Functional):
            idx += 1  # Keras counts a Functional's own construction node here
        return [layer.name, idx, tensor_index]

    def io(struct):
        if isinstance(struct, KerasTensor):
            return io_entry(struct)
        if isinstance(struct, dict):
            return {k: io(v) for k, v in struct.items()}
        return [io(v) for v in struct]

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": io(model._inputs_struct), "output_layers": io(model._outputs_struct)}


def functional_from_config(cls, config, custom_objects=None):
    """Rebuilds a Functional model by replaying its layer calls (Keras's algorithm: layers
    first, then nodes in order, re-queueing a node whose inputs do not exist yet)."""
    created = {}
    pending = {}
    order = []
    for entry in config["layers"]:
        name = entry.get("name") or entry["config"]["name"]
        if entry.get("class_name") == "InputLayer":
            lc = dict(entry["config"])
            shape = lc.pop("batch_shape", None) or lc.pop("batch_input_shape", None)
            lc.pop("batch_input_shape", None)
            layer = InputLayer(batch_shape=shape, dtype=lc.get("dtype"), name=lc.get("name", name))
        else:
            layer = deserialize_layer_entry(entry, custom_objects)
        created[name] = layer
        order.append(name)
        pending[name] = list(entry.get("inbound_nodes") or [])

    def lookup(layer_name, node_index, tensor_index, legacy=False):
        layer = created.get(layer_name)
        if layer is None:
            raise ValueError(f"Unknown layer in config: {layer_name}")
        if len(layer._inbound_nodes) <= node_index:
            raise IndexError(node_index)
        outs = layer._inbound_nodes[node_index].output_tensors
        return outs[tensor_index]

    def revive(x):
        if isinstance(x, KerasTensor) and hasattr(x, "_pre_serialization_keras_history"):
            return lookup(*x._pre_serialization_keras_history)
        if isinstance(x, list):
            return [revive(v) for v in x]
        if isinstance(x, tuple):
            return tuple(revive(v) for v in x)
        if isinstance(x, dict):
            return {k: revive(v) for k, v in x.items()}
        return x

    def call_node(layer, node_data):
        if isinstance(node_data, list):  # legacy [[name, node, tensor, kwargs], ...]
            tensors, kwargs = [], {}
            for item in node_data:
                lname, nidx, tidx = item[0], item[1], item[2]
                if len(item) > 3 and item[3]:
                    kwargs = item[3]
                inbound = created.get(lname)
                if isinstance(inbound, Functional):
                    nidx -= 1  # tf.keras counted the model's own construction node
                tensors.append(lookup(lname, nidx, tidx))
            arg = tensors[0] if len(tensors) == 1 else tensors
            layer(arg, **_legacy_kwargs(kwargs))
            return
        args = deserialize_keras_object(node_data.get("args", []), custom_objects)
        kwargs = deserialize_keras_object(node_data.get("kwargs", {}), custom_objects) or {}
        args = revive(args)
        kwargs = revive(kwargs)
        kwargs = {k: v for k, v in kwargs.items() if not (k == "mask" and v is None)}
        layer(*args, **kwargs)

    progress = True
    while any(pending.values()) and progress:
        progress = False
        for name in order:
            queue = pending[name]
            while queue:
                try:
                    call_node(created[name], queue[0])
                except IndexError:
                    break
                queue.pop(0)
                progress = True
    if any(pending.values()):
        stuck = [n for n, q in pending.items() if q]
        raise ValueError(f"Cannot rebuild the model from its config: the inputs of layer(s) "
                         f"{stuck} are never produced.")

    def io(spec):
        if isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str) and \
                isinstance(spec[1], int):
            lname, nidx, tidx = spec
            if isinstance(created.get(lname), Functional):
                nidx -= 1
            return lookup(lname, nidx, tidx)
        if isinstance(spec, dict):
            return {k: io(v) for k, v in spec.items()}
        return [io(v) for v in spec]

    inputs = io(config["input_layers"])
    outputs = io(config["output_layers"])
    # Keras 2 wrapped a single input/output in a list; unwrap like Keras 3 does.
    if isinstance(inputs, list) and len(inputs) == 1 and not isinstance(inputs[0], list):
        inputs = inputs[0]
    if isinstance(outputs, list) and len(outputs) == 1 and not isinstance(outputs[0], list):
        outputs = outputs[0]
    target = cls if cls is not None and issubclass(cls, Functional) else Functional
    model = target(inputs, outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _legacy_kwargs(kwargs):
    return {k: v for k, v in (kwargs or {}).items() if k not in ("mask",)}
