"""The precision a layer computes in (its dtype policy's compute dtype), for the ops that
have a lower-precision path: matrix products run on the bfloat16 GEMM under "bfloat16"
(AMX / AVX512_BF16 where present), on float16-rounded operands under "float16"; anything
else is float32. Layers enter ``compute_precision``; ops read ``current()`` when they run
forward and keep it for their backward pass."""
import contextlib
import threading
import weakref

import numpy as np

from nnfast import _core, tree
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


# Arrays RoundTo produced, per dtype (weakly: they go when their tensors do). A layer's
# rounded output reaching the next layer (directly or as a view: Flatten, Reshape) is not
# rounded again; each pass allocated and wrote an activation-sized array (~20% of a
# mixed_bfloat16 MLP step).
_rounded = {dtype: weakref.WeakValueDictionary() for dtype in LOWER}


def _known_rounded(array, dtype):
    """Whether ``array`` (or the array it is a view of) came out of RoundTo for ``dtype``."""
    seen = _rounded[dtype]
    base = array.base if isinstance(array.base, np.ndarray) else None
    return seen.get(id(array)) is array or (base is not None and seen.get(id(base)) is base)


class RoundTo(Function):
    """Values rounded to bfloat16/float16, kept in float32; the gradient passes through as
    a cast's does."""

    @staticmethod
    def forward(ctx, x, dtype="bfloat16"):
        out = round_array(x, dtype)
        _rounded[dtype][id(out)] = out
        return out

    @staticmethod
    def backward(ctx, g):
        return (g,)


def round_floats(x, dtype):
    """``x`` (a tensor, an array or a nest of them) with its float32 values rounded to
    ``dtype`` when that is bfloat16/float16 (Keras's autocast to the compute dtype)."""
    if dtype not in LOWER:
        return x
    if isinstance(x, (Tensor, np.ndarray)):  # the common case, without the nest walk
        return _round_one(x, dtype)

    return tree.map_structure(lambda t: _round_one(t, dtype), x)


def _round_one(t, dtype):
    if isinstance(t, (Tensor, np.ndarray)) and t.dtype == np.float32:
        if _known_rounded(t.value if isinstance(t, Tensor) else t, dtype):
            return t  # already holds dtype values (rounding again would change nothing)
        return RoundTo.apply(t, dtype=dtype)
    return t


def gemm(a, b, c, precision=None, trans_a=False, trans_b=False, bias=None, activation=0,
         act_alpha=0.0, act_max=float("inf"), act_threshold=0.0):
    """``_core.gemm`` in ``precision`` (default: ``current()``), ``c = act(op(a) @ op(b) +
    bias)``. NOTE: ``_core.gemm`` gets its arguments by position: pybind11's keyword
    matching cost ~1 us a call (a Dense layer's whole Python overhead is a few us)."""
    precision = precision or current()
    if precision == "float16":
        a, b = round_array(a, "float16"), round_array(b, "float16")
    _core.gemm(a, b, c, trans_a, trans_b, 1.0, 0.0, bias, activation, act_alpha, act_max,
               act_threshold, "bfloat16" if precision == "bfloat16" else "float32")
