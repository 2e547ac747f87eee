"""Elementwise ``keras.ops.numpy`` math beyond the basic arithmetic of ``math.py``:
trigonometric and hyperbolic functions, exponentials and logarithms in other bases,
rounding, floating-point classification, two-argument math (``arctan2``, ``hypot``,
``logaddexp``, ``mod``...), bitwise and logical ops.

Each differentiable op is a ``Function`` built by ``_unary``/``_binary`` from its NumPy
forward and its derivative; the public wrappers apply Keras's dtype rules first (see
``ops/_dtype.py``). Ops with a zero or undefined derivative (rounding, comparisons,
bitwise) return plain tensors that gradients do not flow through.
"""

import math as _math

import numpy as np

from nnfast.backend.tape import Function
from nnfast.backend.tensor import Tensor
from nnfast.ops._dtype import as_input, promote, strong, unary_input
from nnfast.ops._util import name_factory_ops, unbroadcast
from nnfast.ops._dtype import cast_to
from nnfast.ops.nn import tanh as _kernel_tanh

_LN2 = _math.log(2.0)
_LN10 = _math.log(10.0)


def _unary(name, fwd, deriv):
    """A Function for y = fwd(x) whose gradient is g * deriv(x, y)."""

    def forward(ctx, x):
        y = np.asarray(fwd(x), dtype=x.dtype)
        if ctx.recording:
            ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved
        return (g * deriv(x, y)).astype(x.dtype, copy=False)

    return type(
        name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)}
    )


def _binary(name, fwd, deriv_a, deriv_b):
    """A Function for y = fwd(a, b) (broadcasting) with partials deriv_a/deriv_b(a, b, y)."""

    def forward(ctx, a, b):
        a, b = np.asarray(a), np.asarray(b)
        y = np.asarray(fwd(a, b), dtype=np.result_type(a, b))
        if ctx.recording:
            ctx.save_for_backward(a, b, y)
        return y

    def backward(ctx, g):
        a, b, y = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        ga = (
            unbroadcast(g * deriv_a(a, b, y), a.shape).astype(a.dtype, copy=False)
            if need_a
            else None
        )
        gb = (
            unbroadcast(g * deriv_b(a, b, y), b.shape).astype(b.dtype, copy=False)
            if need_b
            else None
        )
        return ga, gb

    return type(
        name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)}
    )


def _plain(fn, *xs):
    """A non-differentiable result (no tape node)."""
    return Tensor(np.asarray(fn(*[x.value if isinstance(x, Tensor) else x for x in xs])))


def _sinc_grad(x, y):
    px = np.pi * x
    safe = np.where(x == 0, 1, x)
    return np.where(x == 0, 0, (np.cos(px) - y) / safe)


def _i1(x):
    # NOTE: the derivative of i0 is i1, which NumPy lacks; SciPy provides it.
    try:
        from scipy.special import i1
    except ImportError as exc:  # pragma: no cover - scipy is installed with nnfast's tests
        raise NotImplementedError("The gradient of i0 needs scipy (scipy.special.i1).") from exc
    return i1(x)


Tan = _unary("Tan", np.tan, lambda x, y: 1 + y * y)
Sinh = _unary("Sinh", np.sinh, lambda x, y: np.cosh(x))
Cosh = _unary("Cosh", np.cosh, lambda x, y: np.sinh(x))
Tanh = _unary("Tanh", np.tanh, lambda x, y: 1 - y * y)
Arcsin = _unary("Arcsin", np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x))
Arccos = _unary("Arccos", np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x))
Arctan = _unary("Arctan", np.arctan, lambda x, y: 1 / (1 + x * x))
Arcsinh = _unary("Arcsinh", np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1))
Arccosh = _unary("Arccosh", np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1))
Arctanh = _unary("Arctanh", np.arctanh, lambda x, y: 1 / (1 - x * x))
Log2 = _unary("Log2", np.log2, lambda x, y: 1 / (x * _LN2))
Log10 = _unary("Log10", np.log10, lambda x, y: 1 / (x * _LN10))
Expm1 = _unary("Expm1", np.expm1, lambda x, y: y + 1)
Exp2 = _unary("Exp2", np.exp2, lambda x, y: y * _LN2)
Cbrt = _unary("Cbrt", np.cbrt, lambda x, y: 1 / (3 * y * y))
Deg2rad = _unary("Deg2rad", np.deg2rad, lambda x, y: np.pi / 180)
Rad2deg = _unary("Rad2deg", np.rad2deg, lambda x, y: 180 / np.pi)
Sinc = _unary("Sinc", np.sinc, _sinc_grad)
I0 = _unary("I0", np.i0, lambda x, y: _i1(x))
Reciprocal = _unary("Reciprocal", np.reciprocal, lambda x, y: -y * y)
Fabs = _unary("Fabs", np.abs, lambda x, y: np.sign(x))
Identity = _unary("Identity", np.copy, lambda x, y: 1)


def _wide_int_to_float64(x):
    """NOTE: a few Keras ops (cbrt, deg2rad, i0) compute int64 in float64, not floatx."""
    if x.dtype == np.int64:
        return cast_to(x, np.dtype(np.float64))
    return x


def _float_unary(cls, doc, int64_to_float64=False):
    def op(x):
        x = unary_input(x)
        if int64_to_float64:
            x = _wide_int_to_float64(x)
        return cls.apply(unary_input(x, to_float=True))

    wide = " (int64 computes in float64)" if int64_to_float64 else ""
    op.__doc__ = (f"{doc}\n\nArgs:\n    x: input tensor or array-like; integers and bool "
                  f"compute in floatx{wide}.\n\nReturns:\n    A float tensor of the shape of "
                  f"``x``.")
    return op


tan = _float_unary(Tan, "Elementwise tangent; ints and bool compute in floatx.")
sinh = _float_unary(Sinh, "Elementwise hyperbolic sine.")
cosh = _float_unary(Cosh, "Elementwise hyperbolic cosine.")


def tanh(x):
    """Elementwise hyperbolic tangent (float32 runs on nnfast's activation kernel).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.tanh(np.array([-1.5, 0.0, 2.25], "float32")).numpy().round(6)
        array([-0.905148,  0.      ,  0.978026], dtype=float32)
    """
    x = unary_input(x, to_float=True)
    if x.dtype == np.float32:
        return _kernel_tanh(x)
    return Tanh.apply(x)


arcsin = _float_unary(Arcsin, "Elementwise inverse sine (NaN outside [-1, 1]).")
arccos = _float_unary(Arccos, "Elementwise inverse cosine (NaN outside [-1, 1]).")
arctan = _float_unary(Arctan, "Elementwise inverse tangent.")
arcsinh = _float_unary(Arcsinh, "Elementwise inverse hyperbolic sine.")
arccosh = _float_unary(Arccosh, "Elementwise inverse hyperbolic cosine (NaN below 1).")
arctanh = _float_unary(Arctanh, "Elementwise inverse hyperbolic tangent.")
log2 = _float_unary(Log2, "Elementwise base-2 logarithm.")
log10 = _float_unary(Log10, "Elementwise base-10 logarithm.")
expm1 = _float_unary(Expm1, "Elementwise ``exp(x) - 1``, accurate near 0.")
exp2 = _float_unary(Exp2, "Elementwise ``2 ** x``.")
cbrt = _float_unary(Cbrt, "Elementwise cube root.", int64_to_float64=True)
deg2rad = _float_unary(Deg2rad, "Degrees to radians.", int64_to_float64=True)
rad2deg = _float_unary(Rad2deg, "Radians to degrees.")
sinc = _float_unary(Sinc, "Normalized sinc: ``sin(pi x) / (pi x)``, 1 at 0.")


def i0(x):
    """Modified Bessel function of the first kind, order 0 (int64 computes in float64).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.i0(np.array([0.0])).numpy()
        array([1.])
    """
    return I0.apply(unary_input(_wide_int_to_float64(unary_input(x)), to_float=True))


reciprocal = _float_unary(Reciprocal, "Elementwise ``1 / x``.")


def fabs(x):
    """Elementwise absolute value as a float (ints and bool become floatx).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.fabs(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([1.5 , 0.  , 2.25], dtype=float32)
    """
    return Fabs.apply(unary_input(x, to_float=True))


def copy(x):
    """A copy of ``x`` (differentiable; the gradient passes through unchanged).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.copy(np.array([1.0, 2.0])).numpy()
        array([1., 2.])
    """
    return Identity.apply(unary_input(x))


def conj(x):
    """Complex conjugate; real tensors are returned as a copy.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.conj(np.array([1.0, 2.0])).numpy()
        array([1., 2.])
    """
    x = unary_input(x)
    if x.dtype.kind == "c":
        return _plain(np.conj, x)
    return Identity.apply(x)


conjugate = conj


def real(x):
    """Real part (a copy for real tensors).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.real(np.array([1.0, 2.0])).numpy()
        array([1., 2.])
    """
    x = unary_input(x)
    if x.dtype.kind == "c":
        return _plain(np.real, x)
    return Identity.apply(x)


def imag(x):
    """Imaginary part (zeros for real tensors).

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.imag(np.array([1.0, 2.0])).numpy()
        array([0., 0.])
    """
    x = unary_input(x)
    return _plain(lambda a: np.imag(a).astype(a.real.dtype), x)


def angle(x):
    """Angle of complex values; ``0`` or ``pi`` for real ones (ints -> floatx).

    Args:
        x: input tensor or array-like.
    """
    x = unary_input(x, to_float=True)
    return _plain(lambda a: np.angle(a).astype(a.real.dtype), x)


def ceil(x):
    """Smallest integer >= x, as floats (ints and bool -> floatx); zero gradient.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.ceil(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-1.,  0.,  3.], dtype=float32)
    """
    return _plain(np.ceil, unary_input(x, to_float=True))


def trunc(x):
    """Rounds towards zero, keeping the dtype; zero gradient.

    Args:
        x: input tensor or array-like.

    Example:
        >>> keras.ops.trunc(np.array([-1.5, 0.0, 2.25], "float32")).numpy()
        array([-1.,  0.,  2.], dtype=float32)
    """
    return _plain(lambda a: np.trunc(a) if a.dtype.kind == "f" else a.copy(), unary_input(x))


class NanToNum(Function):
    @staticmethod
    def forward(ctx, x, nan=0.0, posinf=None, neginf=None):
        ctx.save_for_backward(x)
        if x.dtype.kind != "f":
            return x.copy()
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * np.isfinite(x) if x.dtype.kind == "f" else None


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN with ``nan`` and infinities with ``posinf``/``neginf`` (the dtype's
    largest/lowest finite values by default); the gradient is zero where replaced.

    Args:
        x: input tensor or array-like.
        nan: the value NaN becomes (default 0.0).
        posinf: the value +inf becomes (None: the dtype's largest finite value).
        neginf: the value -inf becomes (None: the dtype's lowest finite value).

    Example:
        >>> keras.ops.nan_to_num(np.array([np.nan, 1.0]), nan=0.0).numpy()
        array([0., 1.])
    """
    return NanToNum.apply(unary_input(x), nan=nan, posinf=posinf, neginf=neginf)


def _bool_unary(fn, doc):
    def op(x):
        return _plain(lambda a: np.asarray(fn(a), dtype=bool), unary_input(x))

    op.__doc__ = (f"{doc}\n\nArgs:\n    x: input tensor or array-like.\n\nReturns:\n    A bool "
                  f"tensor of the shape of ``x``.")
    return op


isnan = _bool_unary(np.isnan, "True where x is NaN.")
isinf = _bool_unary(np.isinf, "True where x is +inf or -inf.")
isfinite = _bool_unary(np.isfinite, "True where x is neither NaN nor infinite.")
isneginf = _bool_unary(np.isneginf, "True where x is -inf.")
isposinf = _bool_unary(np.isposinf, "True where x is +inf.")
signbit = _bool_unary(np.signbit, "True where the sign bit is set (negative values, -0.0).")
isreal = _bool_unary(np.isreal, "True where the imaginary part is zero (all of a real tensor).")
logical_not = _bool_unary(np.logical_not, "Elementwise logical NOT (nonzero is True).")


# --- two-argument math -------------------------------------------------------------------


def _hyp(a, b, y):
    return np.where(y == 0, 0, a / np.where(y == 0, 1, y))


Arctan2 = _binary(
    "Arctan2", np.arctan2, lambda a, b, y: b / (a * a + b * b), lambda a, b, y: -a / (a * a + b * b)
)
Hypot = _binary("Hypot", np.hypot, _hyp, lambda a, b, y: _hyp(b, a, y))
LogAddExp = _binary(
    "LogAddExp", np.logaddexp, lambda a, b, y: np.exp(a - y), lambda a, b, y: np.exp(b - y)
)
LogAddExp2 = _binary(
    "LogAddExp2", np.logaddexp2, lambda a, b, y: np.exp2(a - y), lambda a, b, y: np.exp2(b - y)
)
Mod = _binary("Mod", np.mod, lambda a, b, y: 1, lambda a, b, y: -np.floor_divide(a, b))
Fmod = _binary("Fmod", np.fmod, lambda a, b, y: 1, lambda a, b, y: -np.trunc(a / b))
Fmax = _binary(
    "Fmax",
    np.fmax,
    lambda a, b, y: (a >= b) | np.isnan(b),
    lambda a, b, y: ~((a >= b) | np.isnan(b)),
)
Fmin = _binary(
    "Fmin",
    np.fmin,
    lambda a, b, y: (a <= b) | np.isnan(b),
    lambda a, b, y: ~((a <= b) | np.isnan(b)),
)
DivideNoNan = _binary(
    "DivideNoNan",
    lambda a, b: np.divide(a, np.where(b == 0, 1, b)) * (b != 0),
    lambda a, b, y: (b != 0) / np.where(b == 0, 1, b),
    lambda a, b, y: -y / np.where(b == 0, 1, b),
)
Ldexp = _binary("Ldexp", lambda a, b: a * np.exp2(b), lambda a, b, y: np.exp2(b), lambda a, b, y: 0)


def arctan2(x1, x2):
    """Elementwise angle of the point (x2, x1), in radians (quadrant-aware).

    Args:
        x1: the y coordinates.
        x2: the x coordinates, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.arctan2(a, b).numpy()
        array([0.46364763, 0.7853981 , 0.9827938 ], dtype=float32)
    """
    return Arctan2.apply(*promote(x1, x2, to_float=True)[0])


def hypot(x1, x2):
    """Elementwise ``sqrt(x1**2 + x2**2)`` without overflow in the squares.

    Args:
        x1: first leg.
        x2: second leg, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.hypot(a, b).numpy()
        array([2.236068 , 5.656854 , 7.2111025], dtype=float32)
    """
    return Hypot.apply(*_promote_int_to_float(x1, x2))


def _promote_int_to_float(x1, x2):
    """Operands promoted, then integers cast to float32 (float64 when the integer type is
    64-bit), as Keras's hypot and heaviside do."""
    (a, b), dtype = promote(x1, x2)
    if dtype.kind != "f":
        wide = dtype.name in ("int64", "uint32", "uint64")
        target = np.dtype(np.float64 if wide else np.float32)
        a, b = cast_to(a, target), cast_to(b, target)
    return a, b


def logaddexp(x1, x2):
    """Elementwise ``log(exp(x1) + exp(x2))``, computed stably.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.logaddexp(a, b).numpy()
        array([2.3132617, 4.693147 , 6.126928 ], dtype=float32)
    """
    return LogAddExp.apply(*promote(x1, x2, to_float=True)[0])


def logaddexp2(x1, x2):
    """Elementwise ``log2(2**x1 + 2**x2)``, computed stably.

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> keras.ops.logaddexp2(np.array([1.0]), np.array([1.0])).numpy()
        array([2.])
    """
    return LogAddExp2.apply(*promote(x1, x2, to_float=True)[0])


def mod(x1, x2):
    """Elementwise remainder with the sign of ``x2`` (Python's ``%``).

    NOTE: as in Keras, Python numbers are not weak here (``int8 % 2`` is int32).

    Args:
        x1: the dividend.
        x2: the divisor, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.mod(a, b).numpy()
        array([1., 0., 2.], dtype=float32)
    """
    (a, b), dtype = promote(strong(as_input(x1)), strong(as_input(x2)))
    if dtype == np.bool_:
        (a, b), dtype = promote(np.asarray(a, np.int32), np.asarray(b, np.int32))
    if dtype.kind != "f":
        return _plain(np.mod, a, b)
    return Mod.apply(a, b)


def fmod(x1, x2):
    """Elementwise remainder with the sign of ``x1`` (C's ``fmod``).

    Args:
        x1: the dividend.
        x2: the divisor, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.fmod(a, b).numpy()
        array([1., 0., 2.], dtype=float32)
    """
    (a, b), dtype = promote(x1, x2)
    if dtype == np.bool_:
        (a, b), dtype = promote(np.asarray(a, np.int32), np.asarray(b, np.int32))
    if dtype.kind != "f":
        return _plain(np.fmod, a, b)
    return Fmod.apply(a, b)


def fmax(x1, x2):
    """Elementwise maximum that ignores NaN (NaN only where both are NaN).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.fmax(a, b).numpy()
        array([2., 4., 6.], dtype=float32)
    """
    (a, b), dtype = promote(x1, x2)
    return Fmax.apply(a, b) if dtype.kind == "f" else _plain(np.fmax, a, b)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaN (NaN only where both are NaN).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.fmin(a, b).numpy()
        array([1., 4., 4.], dtype=float32)
    """
    (a, b), dtype = promote(x1, x2)
    return Fmin.apply(a, b) if dtype.kind == "f" else _plain(np.fmin, a, b)


def floor_divide(x1, x2):
    """Elementwise ``x1 // x2`` (rounds towards -inf); zero gradient.

    Args:
        x1: the dividend.
        x2: the divisor, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.floor_divide(a, b).numpy()
        array([0., 1., 1.], dtype=float32)
    """
    (a, b), dtype = promote(x1, x2)
    return _plain(np.floor_divide, a, b)


def divide_no_nan(x1, x2):
    """Elementwise ``x1 / x2`` that is 0 where ``x2 == 0`` (gradient 0 there too).

    Args:
        x1: the numerator.
        x2: the denominator, broadcastable with ``x1``.

    Example:
        >>> keras.ops.divide_no_nan(np.array([1.0, 2.0]), np.array([2.0, 0.0])).numpy()
        array([0.5, 0. ])
    """
    return DivideNoNan.apply(*promote(x1, x2, to_float=True)[0])


def heaviside(x1, x2):
    """Step function: 0 where x1 < 0, ``x2`` where x1 == 0, 1 where x1 > 0 (NaN stays).

    Args:
        x1: the input values.
        x2: the value taken where ``x1 == 0``, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([1.0, 4.0, 6.0], "float32"), np.array([2.0, 4.0, 4.0], "float32")
        >>> keras.ops.heaviside(a, b).numpy()
        array([1., 1., 1.], dtype=float32)
    """
    return _plain(np.heaviside, *_promote_int_to_float(x1, x2))


def ldexp(x1, x2):
    """Elementwise ``x1 * 2**x2`` for integer ``x2`` (ints in ``x1`` compute in floatx).

    Args:
        x1: the mantissas.
        x2: integer exponents, broadcastable with ``x1`` (a float tensor raises TypeError).

    Example:
        >>> keras.ops.ldexp(np.array([1.0, 3.0]), np.array([2, 1])).numpy()
        array([4., 6.])
    """
    x2 = as_input(x2)
    if np.asarray(x2.value if isinstance(x2, Tensor) else x2).dtype.kind not in "iub":
        raise TypeError(
            f"ldexp: x2 must be an integer tensor. Received: x2.dtype="
            f"{np.asarray(x2.value if isinstance(x2, Tensor) else x2).dtype}"
        )
    a = unary_input(x1, to_float=True)
    b = (x2.value if isinstance(x2, Tensor) else np.asarray(x2)).astype(a.dtype)
    return Ldexp.apply(a, b)


def nextafter(x1, x2):
    """The next representable float after ``x1`` towards ``x2``.

    Args:
        x1: the starting values.
        x2: the direction, broadcastable with ``x1``.
    """
    (a, b), _ = promote(x1, x2, to_float=True)
    return _plain(np.nextafter, a, b)


def _int_binary(fn, doc):
    def op(x, y):
        (a, b), dtype = promote(x, y)
        if dtype.kind not in "iub":
            raise TypeError(
                f"{fn.__name__}: expected integer or bool tensors. Received: dtype={dtype.name}"
            )
        return _plain(fn, a, b)

    op.__doc__ = (f"{doc}\n\nArgs:\n    x: integer or bool tensor.\n    y: integer or bool "
                  f"tensor, broadcastable with ``x``.\n\nReturns:\n    A tensor of the promoted "
                  f"dtype of ``x`` and ``y`` (bool for two bools), of the broadcast shape."
                  f"\n\nRaises:\n    TypeError: for a floating-point operand.")
    return op


_gcd = _int_binary(np.gcd, "")
_lcm = _int_binary(np.lcm, "")


def gcd(x1, x2):
    """Elementwise greatest common divisor of integers.

    Args:
        x1: integer tensor.
        x2: integer tensor, broadcastable with ``x1``.

    Example:
        >>> keras.ops.gcd(np.array([12, 18]), np.array([8, 27])).numpy()
        array([4, 9])
    """
    return _gcd(x1, x2)


def lcm(x1, x2):
    """Elementwise least common multiple of integers.

    Args:
        x1: integer tensor.
        x2: integer tensor, broadcastable with ``x1``.

    Example:
        >>> keras.ops.lcm(np.array([4, 6]), np.array([6, 4])).numpy()
        array([12, 12])
    """
    return _lcm(x1, x2)


bitwise_and = _int_binary(np.bitwise_and, "Elementwise bitwise AND (logical for bool).")
bitwise_or = _int_binary(np.bitwise_or, "Elementwise bitwise OR (logical for bool).")
bitwise_xor = _int_binary(np.bitwise_xor, "Elementwise bitwise XOR (logical for bool).")
bitwise_left_shift = _int_binary(np.left_shift, "Elementwise ``x << y``.")
bitwise_right_shift = _int_binary(np.right_shift, "Elementwise ``x >> y`` (arithmetic).")
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift


def bitwise_invert(x):
    """Elementwise bitwise NOT (logical NOT for bool).

    Args:
        x: integer or bool tensor.
    """
    x = unary_input(x)
    if x.dtype.kind not in "iub":
        raise TypeError(
            f"bitwise_invert: expected an integer or bool tensor. Received: dtype={x.dtype}"
        )
    return _plain(np.invert, x)


bitwise_not = bitwise_invert


def logical_xor(x1, x2):
    """Elementwise logical XOR (nonzero is True).

    Args:
        x1: first operand (tensor, array-like or number).
        x2: second operand, broadcastable with ``x1``.

    Example:
        >>> a, b = np.array([True, True, False]), np.array([True, False, False])
        >>> keras.ops.logical_xor(a, b).numpy()
        array([False,  True, False])
    """
    return _plain(np.logical_xor, as_input(x1), as_input(x2))


# One example per factory-made op (their docstrings are built above, unindented): the
# call and what it prints (float results rounded to 4 decimals).
_EXAMPLES = {
    "tan": ('np.round(ops.tan(np.array([0.0, 1.0], "float32")).numpy(), 4)',
            "array([0.    , 1.5574], dtype=float32)"),
    "sinh": ('np.round(ops.sinh(np.array([0.0, 1.0], "float32")).numpy(), 4)',
             "array([0.    , 1.1752], dtype=float32)"),
    "cosh": ('np.round(ops.cosh(np.array([0.0, 1.0], "float32")).numpy(), 4)',
             "array([1.    , 1.5431], dtype=float32)"),
    "arcsin": ('np.round(ops.arcsin(np.array([0.0, 1.0], "float32")).numpy(), 4)',
               "array([0.    , 1.5708], dtype=float32)"),
    "arccos": ('np.round(ops.arccos(np.array([0.0, 1.0], "float32")).numpy(), 4)',
               "array([1.5708, 0.    ], dtype=float32)"),
    "arctan": ('np.round(ops.arctan(np.array([0.0, 1.0], "float32")).numpy(), 4)',
               "array([0.    , 0.7854], dtype=float32)"),
    "arcsinh": ('np.round(ops.arcsinh(np.array([0.0, 1.0], "float32")).numpy(), 4)',
                "array([0.    , 0.8814], dtype=float32)"),
    "arccosh": ('np.round(ops.arccosh(np.array([1.0, 2.0], "float32")).numpy(), 4)',
                "array([0.   , 1.317], dtype=float32)"),
    "arctanh": ('np.round(ops.arctanh(np.array([0.0, 0.5], "float32")).numpy(), 4)',
                "array([0.    , 0.5493], dtype=float32)"),
    "log2": ('np.round(ops.log2(np.array([1.0, 8.0], "float32")).numpy(), 4)',
             "array([0., 3.], dtype=float32)"),
    "log10": ('np.round(ops.log10(np.array([1.0, 1000.0], "float32")).numpy(), 4)',
              "array([0., 3.], dtype=float32)"),
    "expm1": ('np.round(ops.expm1(np.array([0.0, 1.0], "float32")).numpy(), 4)',
              "array([0.    , 1.7183], dtype=float32)"),
    "exp2": ('np.round(ops.exp2(np.array([0.0, 3.0], "float32")).numpy(), 4)',
             "array([1., 8.], dtype=float32)"),
    "cbrt": ('np.round(ops.cbrt(np.array([8.0, -27.0], "float32")).numpy(), 4)',
             "array([ 2., -3.], dtype=float32)"),
    "deg2rad": ('np.round(ops.deg2rad(np.array([180.0, 90.0], "float32")).numpy(), 4)',
                "array([3.1416, 1.5708], dtype=float32)"),
    "rad2deg": ('np.round(ops.rad2deg(np.array([3.14159265], "float32")).numpy(), 4)',
                "array([180.], dtype=float32)"),
    "sinc": ('np.round(ops.sinc(np.array([0.0, 0.5], "float32")).numpy(), 4)',
             "array([1.    , 0.6366], dtype=float32)"),
    "isnan": ('ops.isnan(np.array([1.0, -np.inf, np.nan], "float32")).numpy()',
              "array([False, False,  True])"),
    "isinf": ('ops.isinf(np.array([1.0, -np.inf, np.nan], "float32")).numpy()',
              "array([False,  True, False])"),
    "isfinite": ('ops.isfinite(np.array([1.0, -np.inf, np.nan], "float32")).numpy()',
                 "array([ True, False, False])"),
    "isneginf": ('ops.isneginf(np.array([1.0, -np.inf, np.nan], "float32")).numpy()',
                 "array([False,  True, False])"),
    "isposinf": ('ops.isposinf(np.array([1.0, -np.inf, np.nan], "float32")).numpy()',
                 "array([False, False, False])"),
    "signbit": ('ops.signbit(np.array([1.0, -np.inf, np.nan], "float32")).numpy()',
                "array([False,  True, False])"),
    "isreal": ('ops.isreal(np.array([1 + 0j, 1 + 2j], "complex64")).numpy()',
               "array([ True, False])"),
    "logical_not": ('ops.logical_not(np.array([0, 3], "int32")).numpy()', "array([ True, False])"),
    "bitwise_and": ('ops.bitwise_and(np.array([12, 5], "int32"), '
                    'np.array([10, 1], "int32")).numpy()',
                    "array([8, 1], dtype=int32)"),
    "bitwise_or": ('ops.bitwise_or(np.array([12, 5], "int32"), np.array([10, 1], "int32")).numpy()',
                   "array([14,  5], dtype=int32)"),
    "bitwise_xor": ('ops.bitwise_xor(np.array([12, 5], "int32"), '
                    'np.array([10, 1], "int32")).numpy()',
                    "array([6, 4], dtype=int32)"),
    "bitwise_left_shift": ('ops.bitwise_left_shift(np.array([12, 5], "int32"), '
                           'np.array([10, 1], "int32")).numpy()',
                           "array([12288,    10], dtype=int32)"),
    "bitwise_right_shift": ('ops.bitwise_right_shift(np.array([12, 5], "int32"), '
                            'np.array([10, 1], "int32")).numpy()',
                            "array([0, 2], dtype=int32)"),
}
for _name, (_code, _shown) in _EXAMPLES.items():
    globals()[_name].__doc__ += f"\n\nExample:\n    >>> {_code}\n    {_shown}"


name_factory_ops(globals(), __name__)
