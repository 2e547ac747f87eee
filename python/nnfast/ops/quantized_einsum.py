"""int8 einsum of a quantized ``EinsumDense`` (Keras's ``EinsumDense.quantize("int8")``
numbers): the input quantized with the abs-max scheme over the axes the equation contracts,
the kernel already int8 with one scale per output position, the integer products summed in
float32 (exact while a sum of int8 x int8 products stays below 2**24: contractions up to
1040 deep; deeper ones round like any float32 sum), then
``einsum(xq, kq) / (x_scale * kernel_scale)`` in Keras's operation order."""
import re
import string

import numpy as np

from nnfast.backend.global_state import epsilon
from nnfast.backend.tape import Function
from nnfast.ops._util import f32
from nnfast.quantizers import abs_max_quantize


def einsum_specs(equation, input_ndim):
    """``(input, kernel, output)`` label strings of an EinsumDense equation with any ``...``
    spelled out as fresh labels (on the left or the right, as Keras allows).

    Example:
        >>> einsum_specs("...b,bc->...c", 3)
        ('ABb', 'bc', 'ABc')
    """
    eq = equation.replace(" ", "")
    m = re.fullmatch(r"([a-zA-Z]*)(\.\.\.)?([a-zA-Z]*),([a-zA-Z]+)->([a-zA-Z]*)(\.\.\.)?"
                     r"([a-zA-Z]*)", eq)
    if m is None or (m.group(2) is None) != (m.group(6) is None):
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                         "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    in_l, dots, in_r, w, out_l, _, out_r = m.groups()
    if dots is None:
        return in_l + in_r, w, out_l + out_r
    used = set(in_l + in_r + w + out_l + out_r)
    fresh = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in used]
    elided = "".join(fresh[:input_ndim - len(in_l) - len(in_r)])
    return in_l + elided + in_r, w, out_l + elided + out_r


def kernel_scale_shape(kernel_shape, kernel_spec, output_spec):
    """Keras's stored ``kernel_scale`` shape: aligned with the output, the kernel's size on
    the output axes it has and 1 elsewhere (e.g. ``"abc,cde->abde"``: ``(1, 1, d, e)``)."""
    return tuple(kernel_shape[kernel_spec.index(c)] if c in kernel_spec else 1
                 for c in output_spec)


def quantize_kernel(kernel, kernel_spec, output_spec):
    """``(int8 kernel, kernel_scale)`` of a float kernel: abs-max over the axes the equation
    contracts, the scale laid out as ``kernel_scale_shape``."""
    reduced = tuple(i for i, c in enumerate(kernel_spec) if c not in output_spec)
    q, scale = abs_max_quantize(np.asarray(kernel, np.float32), axis=reduced)
    kept = [c for c in kernel_spec if c in output_spec]
    scale = np.asarray(scale.value).squeeze(axis=reduced) if reduced else np.asarray(scale.value)
    # kernel order of the kept axes -> output order, then 1 for output axes the kernel lacks
    order = [kept.index(c) for c in output_spec if c in kept]
    scale = np.transpose(scale, order).reshape(kernel_scale_shape(kernel.shape, kernel_spec,
                                                                  output_spec))
    return np.asarray(q.value), scale.astype(np.float32)


class Int8Einsum(Function):
    """``einsum(x, dequantize(kernel))`` with ``x`` quantized over its contracted axes; the
    gradient reaches ``x`` through the dequantized kernel (the integer kernel takes none), as
    Keras's custom gradient."""

    @staticmethod
    def forward(ctx, x, kernel_q, kernel_scale, specs=None):
        in_spec, w_spec, out_spec = specs
        x = f32(x)
        if x.ndim != len(in_spec):
            raise ValueError(f"int8 EinsumDense: expected a {len(in_spec)}-D input for "
                             f"'{in_spec},{w_spec}->{out_spec}', received shape {x.shape}")
        reduced = tuple(i for i, c in enumerate(in_spec) if c not in out_spec)
        xq, x_scale = abs_max_quantize(x, axis=reduced, epsilon=epsilon())
        x_scale = np.asarray(x_scale.value)
        if reduced:
            x_scale = x_scale.squeeze(axis=reduced)
        kept = [c for c in in_spec if c in out_spec]
        x_scale = np.transpose(x_scale, [kept.index(c) for c in out_spec if c in kept])
        x_scale = x_scale.reshape([x.shape[in_spec.index(c)] if c in kept else 1
                                   for c in out_spec])
        eq = f"{in_spec},{w_spec}->{out_spec}"
        y = np.einsum(eq, np.asarray(xq.value, np.float32), kernel_q.astype(np.float32),
                      optimize=True).astype(np.float32, copy=False)
        y = y / (x_scale * f32(kernel_scale))  # Keras: x / (inputs_scale * kernel_scale)
        if ctx.needs_input_grad:
            ctx.saved = (kernel_q, kernel_scale, specs)
        return np.ascontiguousarray(y, dtype=np.float32)

    @staticmethod
    def backward(ctx, g):
        kernel_q, kernel_scale, (in_spec, w_spec, out_spec) = ctx.saved
        # kernel_scale (output layout) back to the kernel's axes, 1 on the contracted ones
        scale = np.asarray(kernel_scale, np.float32)
        kept_out = [c for c in out_spec if c in w_spec]
        scale = scale.reshape([scale.shape[out_spec.index(c)] for c in kept_out])
        kept_w = [c for c in w_spec if c in out_spec]
        scale = np.transpose(scale, [kept_out.index(c) for c in kept_w])
        scale = scale.reshape([kernel_q.shape[i] if c in out_spec else 1
                               for i, c in enumerate(w_spec)])
        float_kernel = kernel_q.astype(np.float32) / scale
        dx = np.einsum(f"{out_spec},{w_spec}->{in_spec}", f32(g), float_kernel, optimize=True)
        return np.ascontiguousarray(dx, dtype=np.float32), None, None


def int8_einsum(x, kernel_q, kernel_scale, specs):
    """``einsum(x, kernel_q / kernel_scale)`` with ``x`` quantized to int8 (see module).

    Args:
        x: float input, ``len(specs[0])``-D.
        kernel_q: int8 kernel.
        kernel_scale: float32 scales in ``kernel_scale_shape`` layout.
        specs: ``einsum_specs(equation, x.ndim)``.

    Example:
        >>> k, s = quantize_kernel(np.eye(3, dtype=np.float32), "bc", "ac")
        >>> int8_einsum(np.ones((2, 3), np.float32), k, s, ("ab", "bc", "ac")).shape
        (2, 3)
    """
    return Int8Einsum.apply(x, kernel_q, kernel_scale, specs=specs)
