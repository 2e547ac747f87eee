"""``model_to_dot`` / ``plot_model``: the layer graph as a pydot graph (Graphviz), as
Keras draws it. pydot (and the Graphviz ``dot`` program, for ``plot_model``) are optional
dependencies: without them these functions raise ``ImportError`` naming what to install."""
import os
import shutil

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.input_layer import InputLayer


def _pydot():
    try:
        import pydot
    except ImportError:
        return None
    return pydot


def check_graphviz():
    """True when pydot is installed and the Graphviz ``dot`` program is on the PATH."""
    return _pydot() is not None and shutil.which("dot") is not None


def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        return ", ".join(f"{k}: {v}" for k, v in shape.items())
    return f"{shape}"


def _shapes(structure):
    if isinstance(structure, KerasTensor):
        return tuple(structure.shape)
    if isinstance(structure, (list, tuple)):
        return [_shapes(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _shapes(v) for k, v in structure.items()}
    return None


def _layer_io_shapes(layer):
    if not getattr(layer, "_inbound_nodes", None):
        # a layer built inside a Sequential model: its build shape and computed output
        try:
            shape_in = layer.input_shape
            shape_in = tuple(shape_in) if isinstance(shape_in, (list, tuple)) and all(
                d is None or isinstance(d, int) for d in shape_in) else shape_in
            return shape_in, tuple(layer.compute_output_shape(shape_in))
        except Exception:  # not built, or no static shape rule: Keras shows "?"
            return None, None
    node = layer._inbound_nodes[0]
    return _shapes(node.inputs), _shapes(node.outputs)


def _label(layer, show_layer_names, show_layer_activations, show_dtype, show_shapes,
           show_trainable):
    """An HTML-like Graphviz table: the layer's name and class, then the optional rows."""
    kind = type(layer).__name__
    span = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({kind})" if show_layer_names else f"<b>{kind}</b>"
    rows = [f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">'
            f"{title}</font></td></tr>"]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "__name__", str(activation))
        rows.append(f'<tr><td bgcolor="white" colspan="{span}"><font point-size="14">'
                    f"Activation: <b>{name}</b></font></td></tr>")
    cells = []
    if show_shapes:
        shape_in, shape_out = _layer_io_shapes(layer)
        if kind != "InputLayer":
            cells.append(f'<td bgcolor="white"><font point-size="14">Input shape: '
                         f"<b>{_shape_text(shape_in)}</b></font></td>")
        cells.append(f'<td bgcolor="white"><font point-size="14">Output shape: '
                     f"<b>{_shape_text(shape_out)}</b></font></td>")
    if show_dtype:
        dtype = getattr(getattr(layer, "_inbound_nodes", [None])[0], "outputs", None) \
            if getattr(layer, "_inbound_nodes", None) else None
        dtype = getattr(dtype, "dtype", None)
        cells.append(f'<td bgcolor="white"><font point-size="14">Output dtype: '
                     f"<b>{dtype or '?'}</b></font></td>")
    if show_trainable and getattr(layer, "weights", None):
        color, text = ("forestgreen", "Trainable") if layer.trainable else \
            ("firebrick", "Non-trainable")
        cells.append(f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}'
                     "</b></font></td>")
    if cells:
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
            + "".join(rows) + "</table>>")


def _is_graph_model(layer):
    from nnfast.models.functional import Functional
    from nnfast.models.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def _node(pydot, layer, options):
    return pydot.Node(str(id(layer)), label=_label(layer, **options))


def _edge(pydot, dot, src, dst):
    src_id, dst_id = str(id(src)), str(id(dst))
    if not dot.get_edge(src_id, dst_id):
        edge = pydot.Edge(src_id, dst_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _graph_layers(model):
    """(layers drawn, edges as (source layer, destination layer)) of one model level."""
    from nnfast.layers.input_layer import InputLayer
    from nnfast.models.sequential import Sequential

    if isinstance(model, Sequential):
        layers = [l for l in model.layers if not isinstance(l, InputLayer)]
        return layers, list(zip(layers[:-1], layers[1:]))
    layers = list(model._graph_layers)
    edges = []
    for node in model._graph_nodes:
        if isinstance(node.layer, InputLayer):
            continue
        for t in node.input_tensors:
            edges.append((t._keras_history[0], node.layer))
    return layers, edges


def _exit_layer(model):
    """The innermost layer producing a nested model's (first) output."""
    from nnfast.models.sequential import Sequential

    while _is_graph_model(model):
        if isinstance(model, Sequential):
            model = model.layers[-1]
        else:
            model = model.outputs[0]._keras_history[0]
    return model


def _entry_layers(model):
    """The innermost layers that consume a nested model's inputs."""
    from nnfast.models.sequential import Sequential

    if isinstance(model, Sequential):
        first = [l for l in model.layers if not isinstance(l, InputLayer)][:1]
    else:
        ids = {id(t) for t in model.inputs}
        first = [n.layer for n in model._graph_nodes if not isinstance(n.layer, InputLayer)
                 and any(id(t) in ids for t in n.input_tensors)]
    out = []
    for layer in first:
        out.extend(_entry_layers(layer) if _is_graph_model(layer) else [layer])
    return out


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, splines="ortho", **kwargs):
    """The model's layer graph as a ``pydot.Dot``: one node per layer (id ``str(id(layer))``,
    an HTML-table label with the name, class and the optional shapes/dtype/activation/
    trainable rows), one edge per connection. Sequential models leave out their input
    layer; subclassed models are one node; ``expand_nested`` draws nested models as
    dashed clusters.

    Args:
        model: a built Model.
        show_shapes: show each layer's output shape.
        show_dtype: show each layer's dtype.
        show_layer_names: show the layers' names.
        show_layer_activations: show the activations of layers that have one.
        show_trainable: show whether each layer is trainable.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"``.
        expand_nested: draw the layers of nested models.
        dpi: the image's resolution (Graphviz ``dpi``).
        splines: Graphviz's edge routing (``"ortho"``, ``"spline"``, ...).
        subgraph: return a ``pydot.Cluster`` for nesting inside another graph instead of a
            ``pydot.Dot``. Defaults to ``False``.

    Example:
        >>> dot = keras.utils.model_to_dot(model, show_shapes=True)
        >>> dot.write("model.dot")
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    pydot = _pydot()
    if pydot is None:
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = {"show_layer_names": show_layer_names,
               "show_layer_activations": show_layer_activations, "show_dtype": show_dtype,
               "show_shapes": show_shapes, "show_trainable": show_trainable}
    if not _is_graph_model(model):
        dot.add_node(_node(pydot, model, options))
        return dot
    layers, edges = _graph_layers(model)
    for layer in layers:
        if expand_nested and _is_graph_model(layer):
            dot.add_subgraph(model_to_dot(
                layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                subgraph=True, show_layer_activations=show_layer_activations,
                show_trainable=show_trainable))
        else:
            dot.add_node(_node(pydot, layer, options))
    for src, dst in edges:
        if expand_nested:
            src = _exit_layer(src)
            for d in (_entry_layers(dst) if _is_graph_model(dst) else [dst]):
                _edge(pydot, dot, src, d)
        else:
            _edge(pydot, dot, src, dst)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho",
               **kwargs):
    """Draws ``model_to_dot(model, ...)`` into ``to_file`` (format from the extension,
    ``png`` by default) with Graphviz; returns an ``IPython.display.Image`` when IPython
    is installed and the file is not a PDF.

    Raises ``ImportError`` when pydot or the Graphviz ``dot`` program is missing.

    Args:
        model: the model to draw.
        to_file: the image file written (its extension picks the format). Defaults to
            ``"model.png"``.
        show_shapes: show each layer's output shape. Defaults to ``False``.
        show_dtype: show each layer's dtype. Defaults to ``False``.
        show_layer_names: show layer names. Defaults to ``False``.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right). Defaults to ``"TB"``.
        expand_nested: draw nested models' layers inside them. Defaults to ``False``.
        dpi: resolution of the image. Defaults to ``200``.
        show_layer_activations: show the activation of layers that have one. Defaults to ``False``.
        show_trainable: show whether each layer is trainable. Defaults to ``False``.
        splines: Graphviz's edge style (``"ortho"``, ``"curved"``...). Defaults to ``"ortho"``.

    Example:
        >>> keras.utils.plot_model(model, "model.png", show_shapes=True)
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    if _pydot() is None:
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model` to "
                          "work.")
    if not check_graphviz():
        raise ImportError("You must install graphviz (see instructions at "
                          "https://graphviz.gitlab.io/download/) for `plot_model` to work.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    to_file = str(to_file)
    _, extension = os.path.splitext(to_file)
    extension = extension[1:] if extension else "png"
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display

            return display.Image(filename=to_file)
        except ImportError:
            pass
    return None
