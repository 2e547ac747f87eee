"""``model.summary()``: Keras 3's table (layer, output shape, parameter count) and footer."""
import shutil

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
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _rows(model):
    shapes = getattr(model, "_output_shapes", None) or []
    rows = []
    for i, layer in enumerate(model.layers):
        shape = shapes[i] if i < len(shapes) else None
        params = _count(layer.weights) if layer.built else 0
        rows.append([f"{layer.name} ({type(layer).__name__})", _shape_str(shape),
                     f"{params:,}" if layer.built else "0 (unbuilt)", layer])
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False):
    print_fn = print_fn or print
    width = line_length or min(88, shutil.get_terminal_size((88, 20)).columns - 4 if False else 88)
    positions = positions or [0.45, 0.80, 1.0]
    edges = [int(width * p) for p in positions]
    widths = [edges[0]] + [edges[i] - edges[i - 1] for i in range(1, len(edges))]
    headers = ["Layer (type)", "Output Shape", "Param #"]
    if show_trainable:
        widths.append(11)
        headers.append("Trainable")

    def line(left, mid, right, fill):
        return left + mid.join(fill * (w - 1) for w in widths) + right

    def row(cells, box="\u2502", align_right_last=True):
        parts = []
        for j, (cell, w) in enumerate(zip(cells, widths)):
            text = str(cell)[: w - 3]
            parts.append(" " + (text.rjust(w - 3) if j == 2 and align_right_last else text.ljust(w - 3)) + " ")
        return box + box.join(parts) + box

    print_fn(f'Model: "{model.name}"')
    print_fn(line("\u250f", "\u2533", "\u2513", "\u2501"))
    print_fn(row(headers, box="\u2503"))
    print_fn(line("\u2521", "\u2547", "\u2529", "\u2501"))
    rows = _rows(model)
    for i, (name, shape, params, layer) in enumerate(rows):
        cells = [name, shape, params] + (["Y" if layer.trainable else "N"] if show_trainable else [])
        print_fn(row(cells))
        if i < len(rows) - 1:
            print_fn(line("\u251c", "\u253c", "\u2524", "\u2500"))
    print_fn(line("\u2514", "\u2534", "\u2518", "\u2500"))
    trainable = _count(model.trainable_weights) if model.built else 0
    total = _count(model.weights) if model.built else 0
    non_trainable = total - trainable
    opt_count = 0
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        opt_count = sum(int(np.size(v)) for v in optimizer.variables)
    grand = total + opt_count
    print_fn(f" Total params: {grand:,} ({_format_size(grand * 4)})")
    print_fn(f" Trainable params: {trainable:,} ({_format_size(trainable * 4)})")
    print_fn(f" Non-trainable params: {non_trainable:,} ({_format_size(non_trainable * 4)})")
    if opt_count:
        print_fn(f" Optimizer params: {opt_count:,} ({_format_size(opt_count * 4)})")
