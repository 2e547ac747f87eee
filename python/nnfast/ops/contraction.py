"""Two-operand einsum with gradients (what ``EinsumDense`` contracts with).

NOTE: ``keras.ops.einsum`` (any number of operands) belongs to the ops set; this is the
two-operand case the layers need, with its gradient: for ``z = einsum("X,Y->Z", a, b)``,
``da = einsum("Z,Y->X", g, b)`` and ``db = einsum("X,Z->Y", a, g)``; labels a gradient's
operand has that appear in neither other term (summed away in the forward pass) are
broadcast back.
"""
import re

import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import f32


def _parse(equation):
    eq = equation.replace(" ", "")
    m = re.fullmatch(r"([a-zA-Z.]*),([a-zA-Z.]*)->([a-zA-Z.]*)", eq)
    if m is None:
        raise ValueError(f"einsum_pair expects an equation 'X,Y->Z' with two operands. "
                         f"Received: equation={equation!r}")
    return m.group(1), m.group(2), m.group(3)


def _label_sizes(spec, shape):
    """Size of each label of ``spec`` in an operand of ``shape`` (``...`` allowed)."""
    if "..." not in spec:
        return dict(zip(spec, shape))
    head, tail = spec.split("...")
    sizes = dict(zip(head, shape[:len(head)]))
    sizes.update(zip(tail, shape[len(shape) - len(tail):]))
    return sizes


def _grad(out_spec, g, other_spec, other, want_spec, want_shape):
    """The gradient of the operand with labels ``want_spec`` (shape ``want_shape``)."""
    known = set(out_spec) | set(other_spec)
    missing = "".join(c for c in want_spec.replace("...", "") if c not in known)
    if missing:
        # Labels summed away in the forward pass: every element got the same gradient, so
        # contract with ones of those sizes.
        sizes = _label_sizes(want_spec, want_shape)
        ones = np.ones([sizes[c] for c in missing], np.float32)
        d = np.einsum(f"{out_spec},{other_spec},{missing}->{want_spec}", g, other, ones,
                      optimize=True)
    else:
        d = np.einsum(f"{out_spec},{other_spec}->{want_spec}", g, other, optimize=True)
    return np.ascontiguousarray(np.broadcast_to(d, want_shape), dtype=np.float32)


class EinsumPair(Function):
    @staticmethod
    def forward(ctx, a, b, equation):
        a, b = f32(a), f32(b)
        specs = _parse(equation)
        if ctx.recording:
            ctx.save_for_backward(a, b)
            ctx.specs = specs
        return np.ascontiguousarray(np.einsum(equation, a, b, optimize=True), dtype=np.float32)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        sa, sb, sz = ctx.specs
        g = f32(g)
        need_a, need_b = ctx.needs_input_grad[:2]
        da = _grad(sz, g, sb, b, sa, a.shape) if need_a else None
        db = _grad(sa, a, sz, g, sb, b.shape) if need_b else None
        return da, db


def einsum_pair(equation, a, b):
    """``einsum(equation, a, b)`` for two operands (``"X,Y->Z"``, ``...`` allowed), float32,
    differentiable in both.

    Example:
        >>> einsum_pair("bqm,muh->bquh", np.ones((2, 3, 4), "float32"),
        ...             np.ones((4, 5, 6), "float32")).shape
        (2, 3, 5, 6)
    """
    _parse(equation)
    return EinsumPair.apply(a, b, equation)
