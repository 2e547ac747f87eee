"""The precision a layer computes in (its dtype policy's compute dtype), for the ops that
have a lower-precision path: matrix products run on the bfloat16 GEMM under "bfloat16"
(AMX / AVX512_BF16 where present), on float16-rounded operands under "float16"; anything
else is float32. Layers enter ``compute_precision``; ops read ``current()`` when they run
forward and keep it for their backward pass."""
import contextlib
import threading

import numpy as np

from nnfast import _core
from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor

class _State(threading.local):
    # NOTE: a class default, so reading it never goes through getattr's AttributeError
    # fallback (ops read it on every call; that fallback cost ~0.5 us).
    dtype = "float32"


_state = _State()
LOWER = ("bfloat16", "float16")


def current():
    """The compute dtype of the innermost layer call: "float32", "bfloat16" or "float16"."""
    return _state.dtype


@contextlib.contextmanager
def compute_precision(dtype):
    """Runs the block's matrix products in ``dtype`` (see the module docstring)."""
    previous = current()
    _state.dtype = dtype if dtype in LOWER else "float32"
    try:
        yield
    finally:
        _state.dtype = previous


def round_array(x, dtype):
    """A float32 array of ``x``'s values rounded to bfloat16 or float16 (ties to even; NaN
    and infinities kept)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if dtype == "float16":
        return x.astype(np.float16).astype(np.float32)
    out = np.empty_like(x)
    _core.round_to_bfloat16(x, out)
    return out


class RoundTo(Function):
    """Values rounded to bfloat16/float16, kept in float32; the gradient passes through as
    a cast's does."""

    @staticmethod
    def forward(ctx, x, dtype="bfloat16"):
        return round_array(x, dtype)

    @staticmethod
    def backward(ctx, g):
        return (g,)


def round_floats(x, dtype):
    """``x`` (a tensor, an array or a nest of them) with its float32 values rounded to
    ``dtype`` when that is bfloat16/float16 (Keras's autocast to the compute dtype)."""
    if dtype not in LOWER:
        return x
    from nnfast import tree

    def one(t):
        if isinstance(t, (Tensor, np.ndarray)) and t.dtype == np.float32:
            return RoundTo.apply(t, dtype=dtype)
        return t

    return tree.map_structure(one, x)


def gemm(a, b, c, precision=None, **kwargs):
    """``_core.gemm`` in ``precision`` (default: ``current()``)."""
    precision = precision or current()
    if precision == "bfloat16":
        _core.gemm(a, b, c, precision="bfloat16", **kwargs)
    elif precision == "float16":
        _core.gemm(round_array(a, "float16"), round_array(b, "float16"), c, **kwargs)
    else:
        _core.gemm(a, b, c, **kwargs)
