"""ONNX converters of ``nnfast.ops`` calls recorded in functional graphs
(``layers.operation.OperationLayer``: ``x + 1``, ``ops.mean(x, axis=1)``...).

A table maps the op's public name to the ONNX node(s); the call's arguments that are not
symbolic tensors (Python numbers, arrays) become constants. An op without an entry raises
``ExportError`` naming it.
"""
import numpy as np

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.export.onnx_graph import ExportError
from nnfast.export.onnx_layers import activation, register
from nnfast.layers.operation import OperationLayer

_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div",
           "true_divide": "Div", "maximum": "Max", "minimum": "Min", "power": "Pow",
           "matmul": "MatMul", "greater": "Greater", "less": "Less", "equal": "Equal",
           "greater_equal": "GreaterOrEqual", "less_equal": "LessOrEqual",
           "logical_and": "And", "logical_or": "Or"}
_UNARY = {"negative": "Neg", "abs": "Abs", "absolute": "Abs", "exp": "Exp", "log": "Log",
          "sqrt": "Sqrt", "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu",
          "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "sin": "Sin", "cos": "Cos",
          "sign": "Sign", "reciprocal": "Reciprocal", "softplus": "Softplus",
          "softsign": "Softsign"}
_ACTIVATIONS = ("silu", "swish", "relu6", "elu", "selu", "hard_sigmoid", "hard_silu",
                "hard_swish", "mish", "log_sigmoid")
_REDUCE = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin"}


def _operand(g, value, names, h, dtype=np.float32):
    if isinstance(value, KerasTensor):
        return names[id(value)]
    return g.const(np.asarray(value, dtype=dtype), h + "/const", dtype)


def _same_type_operands(g, args, names, h):
    """Both operands' ONNX names, a constant taking the tensor operand's dtype (ONNX's
    binary operators need equal types)."""
    dtype = np.float32
    for a in args:
        if isinstance(a, KerasTensor) and a.dtype:
            dtype = np.dtype(a.dtype)
            break
    return [_operand(g, a, names, h, dtype) for a in args]


def _axes_list(axis, nd):
    if axis is None:
        return list(range(nd))
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    return [int(a) % nd for a in axes]


@register(OperationLayer)
def _operation(g, node, ins):
    layer = node.layer
    op = layer.key.rsplit(".", 1)[-1]
    h = layer.name
    names = {id(t): n for t, n in zip(node.input_tensors, ins)}
    args = [node.inputs] + list(node.args)
    cfg = layer.op_config
    if node.kwargs:
        raise ExportError(f"Operation '{h}' (ops.{layer.key}) with keyword tensor arguments "
                          "has no ONNX conversion.")
    first = args[0]
    nd = len(first.shape) if isinstance(first, KerasTensor) else None
    if op in _BINARY and len(args) == 2:
        return g.op(_BINARY[op], _same_type_operands(g, args, names, h), h)
    if op == "not_equal" and len(args) == 2:  # the mask of Embedding(mask_zero=True)
        return g.op("Not", [g.op("Equal", _same_type_operands(g, args, names, h), h)], h)
    if op in _UNARY and len(args) == 1:
        return g.op(_UNARY[op], [names[id(first)]], h)
    if op in _ACTIVATIONS and len(args) == 1 and not cfg:
        return activation(g, names[id(first)], op, h)
    if op == "square":
        x = names[id(first)]
        return g.op("Mul", [x, x], h)
    if op in ("softmax", "log_softmax"):
        return activation(g, names[id(first)], op, h, axis=int(cfg.get("axis", -1)))
    if op == "gelu":
        if cfg.get("approximate", True):
            x = names[id(first)]
            # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as ops.gelu(approximate=True)
            cube = g.op("Mul", [g.op("Mul", [x, x], h), x], h)
            inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, h + "/c")], h)], h)
            t = g.op("Tanh", [g.op("Mul", [inner, g.const(np.sqrt(2 / np.pi), h + "/c")], h)],
                     h)
            return g.op("Mul", [g.op("Mul", [x, g.const(0.5, h + "/half")], h),
                                g.op("Add", [t, g.const(1.0, h + "/one")], h)], h)
        return activation(g, names[id(first)], "gelu", h)
    if op in _REDUCE:
        if cfg.get("initial") is not None:
            raise ExportError(f"Operation '{h}' (ops.{op} with initial=) has no ONNX "
                              "conversion.")
        axes = _axes_list(cfg.get("axis"), nd)
        keep = int(bool(cfg.get("keepdims", False)))
        if op == "sum":
            return g.op("ReduceSum", [names[id(first)], g.ints(axes, h + "/axes")], h,
                        keepdims=keep)
        return g.op(_REDUCE[op], [names[id(first)]], h, axes=axes, keepdims=keep)
    if op == "reshape":
        shape = [-1 if d is None else int(d) for d in cfg["newshape"]]
        return g.op("Reshape", [names[id(first)], g.ints(shape, h + "/shape")], h)
    if op == "transpose":
        perm = cfg.get("axes")
        perm = list(range(nd))[::-1] if perm is None else [int(a) % nd for a in perm]
        return g.op("Transpose", [names[id(first)]], h, perm=perm)
    if op == "expand_dims":
        axes = _axes_list(cfg["axis"], nd + 1)
        return g.op("Unsqueeze", [names[id(first)], g.ints(axes, h + "/axes")], h)
    if op == "squeeze":
        shape = first.shape
        axes = [i for i, d in enumerate(shape) if d == 1] if cfg.get("axis") is None else \
            _axes_list(cfg["axis"], nd)
        return g.op("Squeeze", [names[id(first)], g.ints(axes, h + "/axes")], h)
    if op in ("concatenate", "stack"):
        parts = [_operand(g, a, names, h) for a in first]
        axis = int(cfg.get("axis", 0))
        if op == "stack":
            rank = len(first[0].shape) + 1
            ax = g.ints([axis % rank], h + "/axes")
            parts = [g.op("Unsqueeze", [p, ax], h) for p in parts]
        return g.op("Concat", parts, h, axis=axis)
    if op == "get_item" and len(args) == 2 and not isinstance(args[1], KerasTensor):
        return _get_item(g, names[id(first)], nd, args[1], h)
    if op == "clip":
        return g.op("Clip", [names[id(first)], g.const(cfg["x_min"], h + "/min"),
                             g.const(cfg["x_max"], h + "/max")], h)
    if op == "cast":
        import onnx

        dtype = np.dtype(str(cfg["dtype"]))
        return g.op("Cast", [names[id(first)]], h,
                    to=onnx.helper.np_dtype_to_tensor_dtype(dtype))
    raise ExportError(f"Operation '{h}' (nnfast.ops.{layer.key}) has no ONNX conversion.")


def _get_item(g, x, nd, key, h):
    """``x[key]`` for a static key of ints, slices, ``None`` and ``...``: one ``Slice``, then
    ``Squeeze`` for the integer axes and ``Unsqueeze`` for the new ones."""
    key = key if isinstance(key, tuple) else (key,)
    if any(not isinstance(k, (int, slice, type(None), type(Ellipsis))) or isinstance(k, bool)
           for k in key):
        raise ExportError(f"Operation '{h}' (x[{key!r}]): only ints, slices, None and ... "
                          "index tensors in the ONNX export.")
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1 or n_real > nd:
        raise ExportError(f"Operation '{h}': invalid index {key!r} for a rank-{nd} tensor.")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (nd - n_real))
        else:
            expanded.append(k)
    expanded.extend([slice(None)] * (nd - sum(1 for k in expanded if k is not None)))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis, out_axis = 0, 0
    for k in expanded:
        if k is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(k, int):
            starts.append(k)
            ends.append(k + 1 if k != -1 else _INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif k != slice(None):
            step = 1 if k.step is None else int(k.step)
            if step > 0:
                lo = 0 if k.start is None else int(k.start)
                hi = _INT64_MAX if k.stop is None else int(k.stop)
            else:
                lo = -1 if k.start is None else int(k.start)
                hi = _INT64_MIN if k.stop is None else int(k.stop)
            starts.append(lo)
            ends.append(hi)
            axes.append(axis)
            steps.append(step)
            out_axis += 1
        else:
            out_axis += 1
        axis += 1
    y = x
    if axes:
        y = g.op("Slice", [y, g.ints(starts, h + "/starts"), g.ints(ends, h + "/ends"),
                           g.ints(axes, h + "/axes"), g.ints(steps, h + "/steps")], h)
    if squeeze:
        y = g.op("Squeeze", [y, g.ints(squeeze, h + "/axes")], h)
    if unsqueeze:
        y = g.op("Unsqueeze", [y, g.ints(unsqueeze, h + "/axes")], h)
    return y if y is not x else g.op("Identity", [x], h)


_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min
