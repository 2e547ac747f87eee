"""``model.summary()``: Keras 3's table (layer, output shape, parameter count and, for graph
models that are not a plain chain, "Connected to") and footer.

Widths follow Keras: 88 characters with positions [.45, .80, 1] for sequential-like models,
108 with [.3, .56, .74, 1] otherwise. Cell text wraps at spaces; a word longer than its cell
ends with an ellipsis, as Keras's table renderer does.
"""
import numpy as np


def _format_size(n_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024.0


def _count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def _shape_str(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_str(s) for s in shape) + "]"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_str(v)}" for k, v in shape.items()) + "}"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _is_graph(model):
    return hasattr(model, "_graph_nodes")


def _sequential_like(model):
    """Keras's rule: one node per depth, each with at most one input, and no shared layer."""
    if not _is_graph(model):
        return True
    nodes = [n for n in model._graph_nodes]
    depths = {}
    for n in nodes:
        depths.setdefault(_node_depth(model, n), []).append(n)
    for group in depths.values():
        if len(group) > 1 or (len(group) == 1 and len(group[0].input_tensors) > 1):
            return False
    own = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(1 for n in layer._inbound_nodes if id(n) in own) > 1:
            return False
    return True


def _node_depth(model, node):
    cache = getattr(model, "_summary_depths", None)
    if cache is None:
        cache = {}
        producers = {}
        for n in model._graph_nodes:
            for t in n.output_tensors:
                producers[id(t)] = n
        for n in reversed(model._graph_nodes):
            d = cache.setdefault(id(n), 0)
            for t in n.input_tensors:
                p = producers.get(id(t))
                if p is not None and p is not n:
                    cache[id(p)] = max(cache.get(id(p), 0), d + 1)
        model._summary_depths = cache
    return cache[id(node)]


def _output_shape(model, layer, index, shapes):
    if _is_graph(model):
        own = {id(n) for n in model._graph_nodes}
        outs = [n.outputs for n in layer._inbound_nodes if id(n) in own]
        if not outs:
            return None
        out = outs[0]
        if isinstance(out, (list, tuple)):
            return [tuple(t.shape) for t in out]
        if isinstance(out, dict):
            return {k: tuple(t.shape) for k, t in out.items()}
        return tuple(out.shape)
    if index < len(shapes):
        return shapes[index]
    # A subclassed model's layers: what the layer knows of its own output (a built nested
    # model), as Keras shows it.
    try:
        return tuple(layer.output_shape)
    except (AttributeError, TypeError, ValueError):
        return None


def _connections(model, layer):
    own = {id(n) for n in model._graph_nodes}
    lines = []
    for node in layer._inbound_nodes:
        if id(node) not in own:
            continue
        for t in node.input_tensors:
            src, node_index, tensor_index = t._keras_history
            lines.append(f"{src.name}[{node_index}][{tensor_index}]")
    if not lines:
        return ["-"]
    return [s + ("," if i < len(lines) - 1 else "") for i, s in enumerate(lines)]


def _wrap(text, width):
    """Lines of at most ``width`` characters, breaking at spaces; long words get an ellipsis."""
    out = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if len(word) > width:
                word = word[: width - 1] + "\u2026"
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                out.append(line)
                line = word
        out.append(line)
    return out


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False,
                  expand_nested=False, layer_range=None):
    print_fn = print_fn or print
    sequential_like = _sequential_like(model)
    connected = not sequential_like
    if sequential_like:
        width = line_length or 88
        positions = positions or [0.45, 0.80, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #"]
    else:
        width = line_length or 108
        positions = positions or [0.30, 0.56, 0.74, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(width * p) for p in positions]
    widths = [positions[0]] + [positions[i] - positions[i - 1] for i in range(1, len(positions))]
    if show_trainable:
        widths.append(11)
        headers.append("Trainable")
    param_col = 2

    def rule(left, mid, right, fill):
        return left + mid.join(fill * (w - 1) for w in widths) + right

    def emit(cells, box="\u2502"):
        wrapped = [_wrap(str(c), w - 3) for c, w in zip(cells, widths)]
        height = max(len(c) for c in wrapped)
        for r in range(height):
            parts = []
            for j, (lines, w) in enumerate(zip(wrapped, widths)):
                text = lines[r] if r < len(lines) else ""
                if j == param_col:
                    text = text.rjust(w - 3)
                elif show_trainable and j == len(widths) - 1:
                    text = text.center(w - 3)
                else:
                    text = text.ljust(w - 3)
                parts.append(" " + text + " ")
            print_fn(box + box.join(parts) + box)

    layers = list(model.layers)
    if layer_range is not None:
        names = [l.name for l in layers]
        start, end = names.index(layer_range[0]), names.index(layer_range[1])
        layers = layers[start:end + 1]
    shapes = getattr(model, "_output_shapes", None) or []
    print_fn(f'Model: "{model.name}"')
    print_fn(rule("\u250f", "\u2533", "\u2513", "\u2501"))
    emit(headers, box="\u2503")
    print_fn(rule("\u2521", "\u2547", "\u2529", "\u2501"))
    all_layers = list(model.layers)
    for i, layer in enumerate(layers):
        index = all_layers.index(layer)
        built = layer.built
        params = _count(layer.weights) if built else 0
        cells = [f"{layer.name} ({type(layer).__name__})",
                 _shape_str(_output_shape(model, layer, index, shapes)),
                 f"{params:,}" if built else "0 (unbuilt)"]
        if connected:
            cells.append("\n".join(_connections(model, layer)))
        if show_trainable:
            cells.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        emit(cells)
        if i < len(layers) - 1:
            print_fn(rule("\u251c", "\u253c", "\u2524", "\u2500"))
    print_fn(rule("\u2514", "\u2534", "\u2518", "\u2500"))
    # As Keras: the weights that exist, built or not (a subclassed model holding built
    # sub-models is itself never built).
    trainable = _count(model.trainable_weights)
    total = _count(model.weights)
    non_trainable = total - trainable
    opt_count = opt_bytes = 0
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        opt_count = sum(int(np.size(v)) for v in optimizer.variables)
        # As Keras: each variable by its own dtype (the int64 iteration counter is 8 bytes).
        opt_bytes = sum(int(np.size(v)) * np.asarray(v).dtype.itemsize
                        for v in optimizer.variables)
    grand = total + opt_count
    print_fn(f" Total params: {grand:,} ({_format_size(total * 4 + opt_bytes)})")
    print_fn(f" Trainable params: {trainable:,} ({_format_size(trainable * 4)})")
    print_fn(f" Non-trainable params: {non_trainable:,} ({_format_size(non_trainable * 4)})")
    if opt_count:
        print_fn(f" Optimizer params: {opt_count:,} ({_format_size(opt_bytes)})")
