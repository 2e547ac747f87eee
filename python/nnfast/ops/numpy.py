"""``nnfast.ops.numpy``: the 220 functions of ``keras.ops.numpy``, with Keras's argument
names, defaults and dtype promotion (``nnfast.backend.result_type``).

They live in the op modules by kind (``math``: arithmetic and basic reductions;
``array``: shapes; ``elementwise``: other elementwise math; ``reduction``: statistics,
counting and searching; ``indexing``: gathers, flips, diagonals, splits; ``creation``:
new tensors; ``contraction``: einsum and products) and are gathered here. The same
functions are exported at ``nnfast.ops`` top level, as Keras does.

Example:
    >>> from nnfast import ops
    >>> ops.numpy.take(np.arange(6.0).reshape(2, 3), [2, 0], axis=1).shape
    (2, 2)
"""

import numpy as np

from nnfast.backend import dtypes as _dtypes
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import raw, unary_input
from nnfast.ops.array import (  # noqa: F401
    arange,
    argsort,
    broadcast_to,
    concatenate,
    expand_dims,
    eye,
    full,
    get_item,
    moveaxis,
    ones,
    ones_like,
    pad,
    repeat,
    reshape,
    sort,
    split,
    squeeze,
    stack,
    swapaxes,
    tile,
    transpose,
    where,
    zeros,
    zeros_like,
)
from nnfast.ops.contraction import (  # noqa: F401
    corrcoef,
    correlate,
    cross,
    einsum,
    inner,
    kron,
    outer,
    slogdet,
    tensordot,
    vdot,
)
from nnfast.ops.creation import (  # noqa: F401
    array,
    bartlett,
    blackman,
    empty,
    empty_like,
    full_like,
    geomspace,
    hamming,
    hanning,
    identity,
    kaiser,
    linspace,
    logspace,
    meshgrid,
    tri,
    vander,
)
from nnfast.ops.elementwise import (  # noqa: F401
    angle,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    cbrt,
    ceil,
    conj,
    conjugate,
    copy,
    cosh,
    deg2rad,
    divide_no_nan,
    exp2,
    expm1,
    fabs,
    floor_divide,
    fmax,
    fmin,
    fmod,
    gcd,
    heaviside,
    hypot,
    i0,
    imag,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    isreal,
    lcm,
    ldexp,
    left_shift,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_not,
    logical_xor,
    mod,
    nan_to_num,
    nextafter,
    rad2deg,
    real,
    reciprocal,
    right_shift,
    signbit,
    sinc,
    sinh,
    tan,
    tanh,
    trunc,
)
from nnfast.ops.indexing import (  # noqa: F401
    append,
    array_split,
    diag,
    diagflat,
    diagonal,
    diff,
    dsplit,
    dstack,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    ravel,
    roll,
    rot90,
    select,
    take,
    take_along_axis,
    trace,
    tril,
    triu,
    unravel_index,
    vsplit,
    vstack,
)
from nnfast.ops.math import (  # noqa: F401
    abs,
    absolute,
    add,
    amax,
    amin,
    argmax,
    argmin,
    clip,
    cos,
    cumsum,
    divide,
    dot,
    equal,
    exp,
    floor,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_or,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    prod,
    round,
    sign,
    sin,
    sqrt,
    square,
    std,
    subtract,
    sum,
    true_divide,
    var,
)
from nnfast.ops.reduction import (  # noqa: F401
    all,
    allclose,
    any,
    argpartition,
    average,
    bincount,
    count_nonzero,
    cumprod,
    digitize,
    histogram,
    isclose,
    isin,
    median,
    nanargmax,
    nanargmin,
    nancumprod,
    nancumsum,
    nanmax,
    nanmean,
    nanmedian,
    nanmin,
    nanpercentile,
    nanprod,
    nanquantile,
    nanstd,
    nansum,
    nanvar,
    nonzero,
    percentile,
    ptp,
    quantile,
    searchsorted,
    trapezoid,
    unique,
)


def ndim(x):
    """Number of axes of ``x`` (a Python int).

    Args:
        x: a tensor or array-like.

    Example:
        >>> ops.ndim(np.zeros((2, 3)))
        2
    """
    return int(np.ndim(raw(x)))


def size(x):
    """Number of elements of ``x`` (a Python int).

    Args:
        x: a tensor or array-like.

    Example:
        >>> ops.size(np.zeros((2, 3)))
        6
    """
    return int(np.size(raw(x)))


def view(x, dtype=None):
    """The bytes of ``x`` reinterpreted as ``dtype`` (the last axis rescales when the item
    sizes differ); not differentiable.

    Args:
        x: a tensor.
        dtype: the dtype to reinterpret the bytes as (None: unchanged).

    Example:
        >>> ops.view(np.array([1.0], "float32"), "int32")  # [1065353216]: the float's bits
        <Tensor shape=(1,) dtype=int32
        array([1065353216], dtype=int32)>
    """

    a = np.ascontiguousarray(raw(unary_input(x)))
    if dtype is None:
        return Tensor(a.copy())
    return Tensor(a.view(np.dtype(_dtypes.standardize_dtype(dtype))).copy())


def vectorize(pyfunc, *, excluded=None, signature=None):
    """Turns ``pyfunc`` into a function applied to every element of its tensor arguments
    (broadcast together), or to every core block named by ``signature`` (NumPy's gufunc
    notation, e.g. ``"(n),(n)->()"``), returning tensors. ``excluded``: positions or names
    of arguments passed through unchanged.

    Args:
        pyfunc: the Python function to vectorize.
        excluded: positions (ints) or names (strings) of arguments passed through unchanged.
        signature: NumPy generalized-ufunc signature such as ``"(n),(n)->()"``, or None
            (elementwise).

    Example:
        >>> ops.vectorize(lambda a, b: a + b if a > 0 else b)(np.array([1.0, -1.0]), 2.0)
        <Tensor shape=(2,) dtype=float64
        array([3., 2.])>

    NOTE: the function runs once per element (or core block) in Python, as NumPy's
    ``vectorize`` does; use it for convenience, not inside training loops.
    """
    vec = np.vectorize(
        lambda *a, **k: np.asarray(raw(pyfunc(*a, **k))),
        excluded=excluded or set(),
        signature=signature,
    )

    def wrapped(*args, **kwargs):
        out = vec(*[raw(a) for a in args], **kwargs)
        if isinstance(out, tuple):
            return tuple(Tensor(np.asarray(o)) for o in out)
        return Tensor(np.asarray(out))

    return wrapped


__all__ = [
    n for n in dir() if not n.startswith("_") and n not in ("np", "Tensor", "unary_input", "raw")
]
