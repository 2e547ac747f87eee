"""keras.ops.numpy on nnfast: names and signatures, Keras's result dtypes (fixture written
by tests/fixtures/ops_numpy/make_dtypes.py with Keras 3.15), values against float64 NumPy
on odd shapes and edge cases, gradients against finite differences, eager tensor operators."""

import inspect
import json
import os

import numpy as np
import pytest

import nnfast
from nnfast import ops
from nnfast.backend import result_type

HERE = os.path.dirname(__file__)
FIXTURE = os.path.join(HERE, "fixtures", "ops_numpy", "dtypes.json")
rng = np.random.default_rng(0)
with open(FIXTURE) as f:
    KERAS = json.load(f)
DTYPES = KERAS["dtypes"]


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def val(t):
    assert isinstance(t, nnfast.Tensor), type(t)
    return np.asarray(t)


# --- names and signatures ----------------------------------------------------------------------


def test_every_keras_ops_numpy_name_with_keras_signature():
    sigs = KERAS["signatures"]
    assert len(sigs) == 220
    for name, sig in sigs.items():
        fn = getattr(ops.numpy, name)
        assert getattr(ops, name) is fn, name
        assert str(inspect.signature(fn)) == sig, name
        assert fn.__doc__, name


# --- dtypes against Keras ----------------------------------------------------------------------


def _weak(name):
    return {"int": int, "float": float}.get(name, name)


def test_result_type_matches_keras():
    for pair, expected in KERAS["result_type"].items():
        a, b = (_weak(n) for n in pair.split(","))
        try:
            got = result_type(a, b)
        except ValueError:
            got = "error"
        assert got == expected, pair
    assert result_type() == "float32" and result_type("int8", int) == "int8"
    assert ops.dtype(np.ones(2, "int8")) == "int8" and ops.dtype(3) == "int32"


def _out_dtype(fn):
    out = fn()
    out = out[0] if isinstance(out, (tuple, list)) else out
    return str(np.asarray(out).dtype)


UNARY_CALLS = {"relu_like": lambda x: ops.where(x > 0, x, 0)}
BINARY_CALLS = {
    "where_xy": lambda a, b: ops.where(np.ones((2, 2), bool), a, b),
    "copysign_like": lambda a, b: ops.multiply(ops.sign(b), a),
}


@pytest.mark.parametrize("name", sorted(KERAS["unary"]))
def test_unary_result_dtypes_match_keras(name):
    fn = UNARY_CALLS.get(name, getattr(ops.numpy, name, None))
    for dt, expected in KERAS["unary"][name].items():
        if expected == "error":
            continue
        assert _out_dtype(lambda: fn(np.ones((2, 2), dt))) == expected, (name, dt)


@pytest.mark.parametrize("name", sorted(KERAS["binary"]))
def test_binary_result_dtypes_match_keras(name):
    fn = BINARY_CALLS.get(name, getattr(ops.numpy, name, None))
    pairs = [(a, b) for a in DTYPES for b in DTYPES]
    for (a, b), expected in zip(pairs, KERAS["binary"][name]):
        pair = f"{a},{b}"
        if expected == "error":
            continue
        got = _out_dtype(lambda: fn(np.ones((2, 2), a), np.ones((2, 2), b)))
        assert got == expected, (name, pair)


@pytest.mark.parametrize("name", sorted(KERAS["scalar"]))
def test_python_scalars_are_weak_as_in_keras(name):
    fn = getattr(ops, name)
    scalars = {"int": 2, "float": 2.0, "pybool": True}
    for pair, expected in KERAS["scalar"][name].items():
        a, b = pair.split(",")
        if expected == "error":
            continue
        x = scalars[a] if a in scalars else np.ones((2, 2), a)
        y = scalars[b] if b in scalars else np.ones((2, 2), b)
        assert _out_dtype(lambda: fn(x, y)) == expected, (name, pair)


def test_creation_dtypes_match_keras():
    calls = {
        "arange_int": lambda: ops.arange(3),
        "arange_float": lambda: ops.arange(0.5, 3),
        "linspace": lambda: ops.linspace(0, 1, 5),
        "zeros": lambda: ops.zeros((2,)),
        "full_int": lambda: ops.full((2,), 3),
        "full_float": lambda: ops.full((2,), 3.0),
        "eye": lambda: ops.eye(3),
        "tri": lambda: ops.tri(3),
        "identity": lambda: ops.identity(3),
        "array_list_int": lambda: ops.array([1, 2]),
        "array_list_float": lambda: ops.array([1.0, 2.0]),
        "convert_float64": lambda: ops.convert_to_tensor(np.ones(2)),
        "hamming": lambda: ops.hamming(4),
        "kaiser": lambda: ops.kaiser(4, 1.0),
        "logspace": lambda: ops.logspace(0, 1, 5),
        "geomspace": lambda: ops.geomspace(1, 2, 5),
        "bincount": lambda: ops.bincount(np.array([0, 1, 1])),
        "nonzero": lambda: ops.nonzero(np.array([0, 1, 1])),
        "searchsorted": lambda: ops.searchsorted(np.array([0.0, 1.0]), np.array([0.5])),
        "digitize": lambda: ops.digitize(np.array([0.5]), np.array([0.0, 1.0])),
        "argpartition": lambda: ops.argpartition(np.array([3.0, 1.0]), 1),
        "histogram": lambda: ops.histogram(np.array([0.5, 0.2])),
    }
    mismatches = {
        k: (_out_dtype(c), KERAS["creation"][k])
        for k, c in calls.items()
        if _out_dtype(c) != KERAS["creation"][k]
    }
    # NOTE: nnfast keeps float64 arrays given to convert_to_tensor as float32 (its floatx
    # storage); Keras on TensorFlow keeps them float64. Every op keeps float64 inputs.
    assert mismatches == {"convert_float64": ("float32", "float64")}


# --- values against float64 NumPy ---------------------------------------------------------------

SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.5, 0.5])


def close(got, want, **kw):
    got = val(got) if isinstance(got, nnfast.Tensor) else np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "fc":
        tight = 1e-12 if got.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(
            got, want, rtol=kw.get("rtol", tight), atol=kw.get("atol", tight)
        )
    else:
        np.testing.assert_array_equal(got, want)


# (domain low, high) of each unary op whose NumPy twin has the same name
UNARY = {
    "abs": None,
    "absolute": None,
    "negative": None,
    "square": None,
    "exp": None,
    "sin": None,
    "cos": None,
    "tan": None,
    "sinh": None,
    "cosh": None,
    "tanh": None,
    "arctan": None,
    "arcsinh": None,
    "expm1": None,
    "exp2": None,
    "cbrt": None,
    "deg2rad": None,
    "rad2deg": None,
    "sinc": None,
    "i0": None,
    "fabs": None,
    "sign": None,
    "floor": None,
    "ceil": None,
    "round": None,
    "trunc": None,
    "isnan": None,
    "isinf": None,
    "isfinite": None,
    "isneginf": None,
    "isposinf": None,
    "signbit": None,
    "logical_not": None,
    "real": None,
    "imag": None,
    "conj": None,
    "conjugate": None,
    "copy": None,
    "nan_to_num": None,
    "ravel": None,
    "angle": None,
    "isreal": None,
    "sqrt": (0.1, 3),
    "log": (0.1, 3),
    "log1p": (-0.5, 3),
    "log2": (0.1, 3),
    "log10": (0.1, 3),
    "reciprocal": (0.5, 3),
    "arccosh": (1.1, 3),
    "arcsin": (-0.9, 0.9),
    "arccos": (-0.9, 0.9),
    "arctanh": (-0.9, 0.9),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_numpy_float64(name):
    lo, hi = UNARY[name] or (-2, 2)
    fn, ref = getattr(ops, name), getattr(np, name)
    with np.errstate(all="ignore"):
        for x in (r(3, 5, lo=lo, hi=hi), SPECIALS, np.zeros((0, 3)), np.array(0.7)):
            out = fn(x)
            close(out, ref(x))
            if ref(x).dtype == np.float64:
                assert val(out).dtype == np.float64, name  # float64 inputs stay float64


BINARY = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "maximum",
    "minimum",
    "arctan2",
    "hypot",
    "logaddexp",
    "logaddexp2",
    "mod",
    "fmod",
    "floor_divide",
    "fmax",
    "fmin",
    "heaviside",
    "nextafter",
    "equal",
    "not_equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
]


@pytest.mark.parametrize("name", BINARY)
def test_binary_values_broadcast_and_specials(name):
    fn, ref = getattr(ops, name), getattr(np, name)
    a, b = r(3, 1, 5), r(4, 1)
    with np.errstate(all="ignore"):
        close(fn(a, b), ref(a, b))
        sa, sb = SPECIALS[:, None], SPECIALS[None, :]
        close(fn(sa, sb), ref(sa, sb))
        close(fn(np.zeros((0, 2)), np.ones(2)), ref(np.zeros((0, 2)), np.ones(2)))
        close(fn(np.array(1.5), np.array(-0.5)), ref(np.array(1.5), np.array(-0.5)))


def test_integer_and_bitwise_ops_match_numpy():
    a, b = rng.integers(-20, 20, (3, 4)), rng.integers(1, 7, (4,))
    for name in [
        "add",
        "multiply",
        "floor_divide",
        "mod",
        "fmod",
        "gcd",
        "lcm",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "left_shift",
        "right_shift",
        "maximum",
    ]:
        ref = {"left_shift": np.left_shift, "right_shift": np.right_shift}.get(
            name, getattr(np, name, None)
        )
        close(getattr(ops, name)(a, b), ref(a, b))
    close(ops.bitwise_left_shift(a, b), np.left_shift(a, b))
    close(ops.bitwise_right_shift(a, b), np.right_shift(a, b))
    close(ops.bitwise_invert(a), np.invert(a))
    close(ops.bitwise_not(np.array([True, False])), [False, True])
    close(ops.power(a, 2), a**2)
    close(ops.ldexp(np.array([1.5, -2.0]), np.array([3, -1])), np.ldexp([1.5, -2.0], [3, -1]))
    close(ops.divide_no_nan(np.array([1.0, 2.0, 0.0]), np.array([0.0, 4.0, 0.0])), [0.0, 0.5, 0.0])
    close(ops.divide(np.array([1, 2]), np.array([2, 4])), np.array([0.5, 0.5], np.float32))
    with pytest.raises(TypeError, match="integer"):
        ops.bitwise_and(np.ones(2), np.ones(2))


REDUCTIONS = [
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "std",
    "var",
    "ptp",
    "median",
    "all",
    "any",
    "count_nonzero",
    "argmax",
    "argmin",
]
NAN_REDUCTIONS = [
    "nansum",
    "nanmean",
    "nanprod",
    "nanmax",
    "nanmin",
    "nanstd",
    "nanvar",
    "nanmedian",
    "nanargmax",
    "nanargmin",
]


@pytest.mark.parametrize("name", REDUCTIONS + NAN_REDUCTIONS)
def test_reductions_over_axes(name):
    fn, ref = getattr(ops, name), getattr(np, name)
    x = r(3, 4, 5)
    if name.startswith("nan"):
        x[0, 1, :2] = np.nan
        x[2, 3, 4] = np.nan
    kw = {} if name in ("count_nonzero", "argmax", "argmin", "nanargmax", "nanargmin") else None
    for axis in (None, 0, -1, (0, 2)):
        if kw is not None and isinstance(axis, tuple) and name != "count_nonzero":
            continue
        close(fn(x, axis=axis), ref(x, axis=axis), rtol=1e-10)
        if kw is None:
            close(fn(x, axis=axis, keepdims=True), ref(x, axis=axis, keepdims=True), rtol=1e-10)
    close(fn(np.array(2.5)), ref(np.array(2.5)))


def test_reduction_edge_cases():
    close(ops.sum(np.zeros((0, 3)), axis=0), np.zeros(3))
    close(ops.prod(np.zeros((2, 0)), axis=1), np.ones(2))
    close(ops.max(np.zeros((0,)), initial=-1.0), -1.0)
    with pytest.raises(ValueError, match="empty"):
        ops.max(np.zeros((0,)))
    with pytest.raises(ValueError, match="empty"):
        ops.argmax(np.zeros((0,)))
    close(ops.sum(np.array([1.0, np.inf, np.nan])), np.nan)
    close(ops.nanmax(np.array([[np.nan, np.nan], [1.0, np.nan]]), axis=1), [np.nan, 1.0])
    close(ops.nanargmax(np.array([np.nan, np.nan])), -1)
    x = r(3, 4)
    close(ops.max(x, axis=1, initial=1.5), np.max(x, axis=1, initial=1.5))
    close(ops.argmax(np.array([[1, 5], [7, 2]])), 2)
    close(ops.cumsum(np.array([True, True, False])), [1, 2, 2])
    close(
        ops.average(x, axis=1, weights=np.arange(1.0, 5.0)),
        np.average(x, axis=1, weights=np.arange(1.0, 5.0)),
    )
    close(ops.average(x), np.average(x))


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantiles_match_numpy(method):
    x = r(4, 7)
    x2 = x.copy()
    x2[1, 2] = np.nan
    for q in (0.3, np.array([0.0, 0.25, 1.0])):
        for axis in (None, 1, -2):
            # NOTE: NumPy interpolates as b - (b - a) * (1 - t) above t = 0.5: 1-ulp differences
            close(
                ops.quantile(x, q, axis=axis, method=method),
                np.quantile(x, q, axis=axis, method=method),
                rtol=1e-14,
            )
            close(
                ops.nanquantile(x2, q, axis=axis, method=method),
                np.nanquantile(x2, q, axis=axis, method=method),
                rtol=1e-14,
            )
        close(
            ops.percentile(x, q * 100, axis=0, method=method, keepdims=True),
            np.percentile(x, q * 100, axis=0, method=method, keepdims=True),
        )
    close(ops.quantile(x2, 0.5, axis=1), np.quantile(x2, 0.5, axis=1))  # NaN propagates
    close(ops.median(x, axis=0), np.median(x, axis=0))
    close(ops.nanpercentile(x2, 40, axis=1), np.nanpercentile(x2, 40, axis=1))


def test_take_and_take_along_axis():
    x = r(5, 4, 3)
    for axis in (None, 0, 1, -1):
        n = x.size if axis is None else x.shape[axis]
        idx = rng.integers(-n, n, (2, 3))
        close(ops.take(x, idx, axis=axis), np.take(x, idx, axis=axis))
    x32 = x.astype(np.float32)
    close(ops.take(x32, np.array([4, 0, -1]), axis=0), x32[[4, 0, -1]])
    close(
        ops.take(x, np.zeros((0,), np.int32), axis=1), np.take(x, np.zeros((0,), np.int64), axis=1)
    )
    with pytest.raises(IndexError, match="out of bounds"):
        ops.take(x, [5], axis=0)
    with pytest.raises(IndexError, match="indices must lie"):
        ops.take(r(5, 20).astype(np.float32), [-6], axis=0)  # the row-gather kernel path
    idx = np.argsort(x, axis=1)[:, :2]
    close(ops.take_along_axis(x, idx, axis=1), np.take_along_axis(x, idx, axis=1))
    close(
        ops.take_along_axis(x, idx[:, :, :1], axis=1),
        np.take_along_axis(x, np.broadcast_to(idx[:, :, :1], (5, 2, 3)), axis=1),
    )
    close(ops.take_along_axis(x, np.array([1, -1]), axis=None), x.ravel()[[1, -1]])


def test_float32_kernel_paths_match_and_differentiate():
    from conftest import check_grads

    x = r(6, 3, 20).astype(np.float32)
    idx = np.array([[5, 0], [-1, 2]])
    np.testing.assert_array_equal(val(ops.take(x, idx, axis=0)), np.take(x, idx, axis=0))
    np.testing.assert_array_equal(
        val(ops.take(x, idx[:, :1] % 3, axis=1)), np.take(x, idx[:, :1] % 3, axis=1)
    )
    check_grads(lambda t: ops.take(t, idx, axis=0), x)
    check_grads(lambda t: ops.take(t, np.array([2, 2, 0]), axis=1), x)
    check_grads(lambda a, b: ops.einsum("bqd,bkd->bqk", a, b), r(2, 3, 4), r(2, 5, 4))
    check_grads(lambda a, b: ops.einsum("ij,jk->ki", a, b), r(3, 4), r(4, 2))
    check_grads(ops.matmul, r(2, 1, 3, 4), r(5, 4, 2))
    check_grads(ops.matmul, r(3, 4), r(2, 2, 4, 5))


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bqhd,bkhd->bhqk", [(2, 3, 2, 4), (2, 5, 2, 4)]),
    ("bhqk,bkhd->bqhd", [(2, 2, 3, 5), (2, 5, 2, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("abc,cd->abd", [(2, 3, 4), (4, 5)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("ij,kj", [(3, 4), (5, 4)]),
    ("bij,jk->bik", [(2, 1, 3), (3, 2)]),
    ("abc->ca", [(2, 3, 4)]),
    ("iij->j", [(3, 3, 2)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUMS)
def test_einsum_values_and_grads(spec, shapes):
    xs = [r(*s) for s in shapes]
    close(ops.einsum(spec, *xs), np.einsum(spec, *xs), rtol=1e-10)
    xs32 = [x.astype(np.float32) for x in xs]
    np.testing.assert_allclose(
        val(ops.einsum(spec, *xs32)), np.einsum(spec, *xs), rtol=1e-4, atol=1e-5
    )
    grad_check(lambda *t: ops.einsum(spec, *t), *xs)


def test_matmul_broadcasting_and_products():
    for sa, sb in [
        ((2, 1, 3, 4), (5, 4, 6)),
        ((3, 4), (2, 4, 5)),
        ((2, 3, 4), (1, 4, 5)),
        ((4,), (2, 4, 3)),
        ((2, 3, 4), (4,)),
        ((1, 3, 4), (2, 4, 5)),
    ]:
        a, b = r(*sa), r(*sb)
        close(ops.matmul(a, b), np.matmul(a, b), rtol=1e-10)
        np.testing.assert_allclose(
            val(ops.matmul(a.astype(np.float32), b.astype(np.float32))),
            np.matmul(a, b),
            rtol=1e-4,
            atol=1e-5,
        )
    with pytest.raises(ValueError, match="shape"):
        ops.matmul(np.ones((2, 3, 4), np.float32), np.ones((3, 5, 2), np.float32))
    a, b = r(2, 3, 4), r(3, 4, 2)
    close(ops.tensordot(a, b, axes=2), np.tensordot(a, b, axes=2), rtol=1e-10)
    close(
        ops.tensordot(a, b, axes=([1, 0], [0, 2])),
        np.tensordot(a, b, axes=([1, 0], [0, 2])),
        rtol=1e-10,
    )
    close(ops.dot(a, b), np.dot(a, b), rtol=1e-10)
    close(ops.dot(a[0, 0], b[0, :, 0]), np.dot(a[0, 0], b[0, :, 0]))
    close(ops.dot(2.0, a), 2.0 * a)
    v = r(4)
    close(ops.inner(a, v), np.inner(a, v), rtol=1e-10)
    close(ops.outer(a[0], v), np.outer(a[0], v))
    close(ops.vdot(a, a), np.vdot(a, a), rtol=1e-10)
    close(ops.kron(a[0], a[1, :2]), np.kron(a[0], a[1, :2]))
    c1, c2 = r(4, 3), r(4, 3)
    close(ops.cross(c1, c2), np.cross(c1, c2))
    close(ops.cross(c1[:, :2], c2[:, :2]), c1[:, 0] * c2[:, 1] - c1[:, 1] * c2[:, 0])
    close(ops.cross(c1.T, c2.T, axis=0), np.cross(c1.T, c2.T, axis=0))
    for mode in ("valid", "same", "full"):
        close(
            ops.correlate(v, a[0, 0, :3], mode=mode),
            np.correlate(v, a[0, 0, :3], mode=mode),
            rtol=1e-10,
        )
    m = r(3, 6)
    close(ops.corrcoef(m), np.corrcoef(m), rtol=1e-10)
    s = r(2, 3, 3)
    sign, logdet = ops.slogdet(s)
    ref_sign, ref_logdet = np.linalg.slogdet(s)
    close(sign, ref_sign)
    close(logdet, ref_logdet, rtol=1e-10)


def test_shape_and_creation_ops_match_numpy():
    x = r(3, 4, 5)
    for name, kwargs in [
        ("flip", {}),
        ("flip", {"axis": 1}),
        ("flip", {"axis": (0, -1)}),
        ("roll", {"shift": 2}),
        ("roll", {"shift": (1, -2), "axis": (0, 2)}),
        ("diagonal", {"offset": 1, "axis1": 2, "axis2": 0}),
        ("tril", {"k": -1}),
        ("triu", {"k": 1}),
        ("rot90", {"k": 3, "axes": (1, 2)}),
        ("diff", {"n": 2, "axis": 1}),
        ("trace", {"offset": -1}),
        ("moveaxis", {"source": (0, 1), "destination": (-1, 0)}),
        ("swapaxes", {"axis1": 0, "axis2": 2}),
        ("repeat", {"repeats": 2, "axis": 1}),
        ("repeat", {"repeats": [1, 0, 2], "axis": 0}),
        ("cumsum", {"axis": -2}),
        ("cumprod", {"axis": 1}),
        ("sort", {"axis": 0}),
        ("argsort", {"axis": 1}),
        ("expand_dims", {"axis": (0, -1)}),
        ("squeeze", {"axis": None}),
        ("transpose", {"axes": (2, 0, 1)}),
        ("tile", {"reps": (2, 1, 1)}),
    ]:
        ours = {"repeats": kwargs["reps"]} if name == "tile" else kwargs
        close(getattr(ops, name)(x, **ours), getattr(np, name)(x, **kwargs))
    close(ops.fliplr(x), np.fliplr(x))
    close(ops.flipud(x), np.flipud(x))
    close(ops.diag(x[0]), np.diag(x[0]))
    close(ops.diag(x[0, 0], k=-1), np.diag(x[0, 0], k=-1))
    close(ops.diagflat(x[0, :2], k=1), np.diagflat(x[0, :2], k=1))
    close(ops.append(x, x[:1], axis=0), np.append(x, x[:1], axis=0))
    close(ops.append(x[0], 1.0), np.append(x[0], 1.0))
    close(ops.concatenate([x, x], axis=None), np.concatenate([x, x], axis=None))
    for name in ("hstack", "vstack", "dstack"):
        close(getattr(ops, name)([x[0], x[1]]), getattr(np, name)([x[0], x[1]]))
        close(getattr(ops, name)([x[0, 0], x[1, 0]]), getattr(np, name)([x[0, 0], x[1, 0]]))
    for got, want in zip(ops.array_split(x, 3, axis=2), np.array_split(x, 3, axis=2)):
        close(got, want)
    for name, n in (("hsplit", 2), ("vsplit", 3), ("dsplit", 5)):
        for got, want in zip(getattr(ops, name)(x, n), getattr(np, name)(x, n)):
            close(got, want)
    close(ops.select([x > 0.5, x < -1], [x, -x], 7.0), np.select([x > 0.5, x < -1], [x, -x], 7.0))
    for got, want in zip(
        ops.unravel_index(np.array([3, 17]), (4, 5)), np.unravel_index([3, 17], (4, 5))
    ):
        close(got, want)
    a3, b3, c3 = r(3), r(4), r(2)
    for ind in ("xy", "ij"):
        for got, want in zip(
            ops.meshgrid(a3, b3, c3, indexing=ind), np.meshgrid(a3, b3, c3, indexing=ind)
        ):
            close(got, want)
    close(
        ops.linspace(0, 1, 7, endpoint=False),
        np.linspace(0, 1, 7, endpoint=False).astype(np.float32),
    )
    close(
        ops.linspace(np.zeros(2), np.ones(2), 4, axis=1),
        np.linspace(np.zeros(2), np.ones(2), 4, axis=1),
    )
    close(ops.logspace(0, 2, 5, base=2.0), np.logspace(0, 2, 5, base=2.0).astype(np.float32))
    close(ops.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4).astype(np.float32))
    for name in ("bartlett", "blackman", "hamming", "hanning"):
        np.testing.assert_allclose(
            val(getattr(ops, name)(7)), getattr(np, name)(7), rtol=1e-6, atol=1e-7
        )
    np.testing.assert_allclose(val(ops.kaiser(6, 2.5)), np.kaiser(6, 2.5), rtol=1e-6)
    close(ops.vander(x[0, 0], 3), np.vander(x[0, 0], 3))
    close(ops.vander(x[0, 0], increasing=True), np.vander(x[0, 0], increasing=True))
    close(ops.tri(3, 4, 1), np.tri(3, 4, 1, dtype=np.float32))
    close(ops.eye(3, 4, k=-1), np.eye(3, 4, k=-1, dtype=np.float32))
    close(ops.identity(2, dtype="int32"), np.identity(2, dtype=np.int32))
    close(ops.full_like(x, 3), np.full_like(x, 3))
    close(ops.empty((2, 3)), np.zeros((2, 3), np.float32))
    close(ops.empty_like(x, dtype="int8"), np.zeros(x.shape, np.int8))
    close(ops.array([[1, 2]]), np.array([[1, 2]], np.int32))
    close(ops.arange(1, 10, 3), np.arange(1, 10, 3, dtype=np.int32))
    close(ops.arange(0.5, 2, 0.5), np.arange(0.5, 2, 0.5, dtype=np.float32))
    for got, want in zip(ops.where(x > 0), np.nonzero(x > 0)):
        close(got, want)
    for got, want in zip(ops.nonzero(x > 0.3), np.nonzero(x > 0.3)):
        close(got, want)
    assert ops.ndim(x) == 3 and ops.size(x) == 60
    close(
        ops.view(np.array([1.0], np.float32), "int32"), np.array([1.0], np.float32).view(np.int32)
    )
    close(
        ops.pad(x, ((1, 0), (0, 2), (1, 1)), mode="reflect"),
        np.pad(x, ((1, 0), (0, 2), (1, 1)), mode="reflect"),
    )
    close(ops.pad(x[0], 1, constant_values=2.0), np.pad(x[0], 1, constant_values=2.0))


def test_basic_shape_ops_and_vectorize():
    x = r(3, 4)
    close(ops.broadcast_to(x[0], (2, 3, 4)), np.broadcast_to(x[0], (2, 3, 4)))
    close(ops.reshape(x, (2, -1)), x.reshape(2, -1))
    for got, want in zip(ops.split(x, [1, 3], axis=1), np.split(x, [1, 3], axis=1)):
        close(got, want)
    close(ops.ones((2, 1)), np.ones((2, 1), np.float32))
    close(ops.ones_like(x, dtype="int8"), np.ones_like(x, dtype=np.int8))
    close(ops.zeros_like(np.ones(3, np.int16)), np.zeros(3, np.int16))
    add_if_positive = ops.vectorize(lambda a, b: a + b if a > 0 else b)
    close(add_if_positive(np.array([1.0, -1.0]), 2.0), [3.0, 2.0])
    row_dot = ops.vectorize(lambda a, b: ops.sum(a * b), signature="(n),(n)->()")
    close(row_dot(x, x[0]), x @ x[0])
    grad_check(lambda t: ops.broadcast_to(t, (2, 3, 4)), x)
    grad_check(lambda t: ops.split(t, 2, axis=1)[1], x)


def test_counting_searching_and_sets():
    ints = rng.integers(0, 6, 20)
    close(ops.bincount(ints, minlength=8), np.bincount(ints, minlength=8))
    w = r(20)
    close(ops.bincount(ints, weights=w), np.bincount(ints, weights=w))
    close(
        ops.bincount(ints.reshape(4, 5), minlength=6),
        np.stack([np.bincount(row, minlength=6) for row in ints.reshape(4, 5)]),
    )
    counts, edges = ops.histogram(w, bins=4, range=(-2, 2))
    ref_counts, ref_edges = np.histogram(w, bins=4, range=(-2, 2))
    close(counts, ref_counts.astype(np.float64))
    close(edges, ref_edges)
    bins = np.sort(r(5))
    close(ops.digitize(w, bins), np.digitize(w, bins))
    close(ops.searchsorted(bins, w, side="right"), np.searchsorted(bins, w, side="right"))
    part = val(ops.argpartition(w, 4))
    assert np.all(w[part[:4]] <= w[part[4]]) and np.all(w[part[5:]] >= w[part[4]])
    vals, index, inverse, cnt = ops.unique(
        ints, return_index=True, return_inverse=True, return_counts=True
    )
    for got, want in zip(
        (vals, index, inverse, cnt),
        np.unique(ints, return_index=True, return_inverse=True, return_counts=True),
    ):
        close(got, want)
    close(ops.unique(np.array([3, 1, 1]), size=4, fill_value=-1), [1, 3, -1, -1])
    a, b = r(3, 4), r(3, 4)
    b[0] = a[0] + 1e-9
    close(ops.isclose(a, b), np.isclose(a, b))
    assert bool(ops.allclose(a, a + 1e-10)) and not bool(ops.allclose(a, b))
    close(ops.isin(ints, [1, 3]), np.isin(ints, [1, 3]))
    close(ops.isin(ints, [1, 3], invert=True), np.isin(ints, [1, 3], invert=True))
    y, xs = r(3, 6), np.sort(r(6))
    close(ops.trapezoid(y, xs), np.trapezoid(y, xs), rtol=1e-10)
    close(ops.trapezoid(y, dx=0.5, axis=0), np.trapezoid(y, dx=0.5, axis=0), rtol=1e-10)
    close(ops.nancumsum(np.array([1.0, np.nan, 2.0])), [1.0, 1.0, 3.0])
    close(ops.nancumprod(np.array([2.0, np.nan, 3.0])), [2.0, 2.0, 6.0])


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="method"):
        ops.quantile(np.ones(3), 0.5, method="spline")
    with pytest.raises(ValueError, match="q must"):
        ops.quantile(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="einsum"):
        ops.einsum("ij,jk->ik", np.ones((2, 3)))
    with pytest.raises(ValueError, match="side"):
        ops.searchsorted(np.ones(3), 1.0, side="middle")
    with pytest.raises(ValueError, match="mode"):
        ops.pad(np.ones(3), 1, mode="bogus")
    with pytest.raises(ValueError, match="rank"):
        ops.rot90(np.ones(3))
    with pytest.raises(ValueError, match="valid dtype"):
        result_type("int8", "string")


def _keras_value_cases():
    import importlib.util

    path = os.path.join(HERE, "fixtures", "ops_numpy", "make_values.py")
    spec = importlib.util.spec_from_file_location("make_ops_numpy_values", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cases(ops)


KERAS_VALUES = np.load(os.path.join(HERE, "fixtures", "ops_numpy", "values.npz"))
VALUE_CASES = _keras_value_cases()


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_values_and_dtypes_match_keras(case):
    expected = KERAS_VALUES[case]
    got = np.asarray(VALUE_CASES[case]())
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)


# --- gradients against finite differences (float64) ---------------------------------------------


def numeric_grad(f, x, eps):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f(x)
        flat[i] = old - eps
        fm = f(x)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def grad_check(op, *inputs, argnums=None, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Tape gradients of ``sum(op(*inputs) * w)`` against central differences in float64."""
    inputs = [np.asarray(a, np.float64) for a in inputs]
    out = np.asarray(op(*inputs))
    w = np.random.default_rng(1).standard_normal(out.shape)
    variables = [nnfast.Variable(a, dtype="float64") for a in inputs]
    with nnfast.GradientTape() as tape:
        loss = ops.sum(ops.multiply(op(*variables), w))
    grads = tape.gradient(loss, variables)
    for i in range(len(inputs)) if argnums is None else argnums:

        def f(xi, i=i):
            args = list(inputs)
            args[i] = xi
            return float(np.sum(np.asarray(op(*args), np.float64) * w))

        assert grads[i] is not None, f"no gradient for input {i}"
        assert np.asarray(grads[i]).dtype == np.float64
        np.testing.assert_allclose(
            grads[i],
            numeric_grad(f, inputs[i], eps),
            rtol=rtol,
            atol=atol,
            err_msg=f"gradient of input {i}",
        )


X, P, U = r(3, 5), r(3, 5, lo=0.5, hi=2.0), r(3, 5, lo=-0.8, hi=0.8)
X3 = r(2, 3, 4)
GRADS = {
    # elementwise
    "abs": (ops.abs, X),
    "negative": (ops.negative, X),
    "square": (ops.square, X),
    "sqrt": (ops.sqrt, P),
    "exp": (ops.exp, X),
    "log": (ops.log, P),
    "log1p": (ops.log1p, P),
    "sin": (ops.sin, X),
    "cos": (ops.cos, X),
    "tan": (ops.tan, U),
    "sinh": (ops.sinh, X),
    "cosh": (ops.cosh, X),
    "tanh": (ops.tanh, X),
    "arcsin": (ops.arcsin, U),
    "arccos": (ops.arccos, U),
    "arctan": (ops.arctan, X),
    "arcsinh": (ops.arcsinh, X),
    "arccosh": (ops.arccosh, P + 1),
    "arctanh": (ops.arctanh, U),
    "log2": (ops.log2, P),
    "log10": (ops.log10, P),
    "expm1": (ops.expm1, X),
    "exp2": (ops.exp2, X),
    "cbrt": (ops.cbrt, P),
    "deg2rad": (ops.deg2rad, X),
    "rad2deg": (ops.rad2deg, X),
    "sinc": (ops.sinc, X),
    "i0": (ops.i0, X),
    "reciprocal": (ops.reciprocal, P),
    "fabs": (ops.fabs, X),
    "copy": (ops.copy, X),
    "real": (ops.real, X),
    "conj": (ops.conj, X),
    "nan_to_num": (ops.nan_to_num, X),
    "clip": (lambda t: ops.clip(t, -0.5, 0.7), X),
    # binary (broadcasting)
    "add": (ops.add, X, X[0]),
    "subtract": (ops.subtract, X, X[:, :1]),
    "multiply": (ops.multiply, X, P),
    "divide": (ops.divide, X, P),
    "power": (ops.power, P, X),
    "maximum": (ops.maximum, X, U),
    "minimum": (ops.minimum, X, U),
    "arctan2": (ops.arctan2, X, P),
    "hypot": (ops.hypot, X, P),
    "logaddexp": (ops.logaddexp, X, U),
    "logaddexp2": (ops.logaddexp2, X, U),
    "mod": (ops.mod, X, P + 2),
    "fmod": (ops.fmod, X, P + 2),
    "fmax": (ops.fmax, X, U),
    "fmin": (ops.fmin, X, U),
    "divide_no_nan": (ops.divide_no_nan, X, P),
    "where": (lambda a, b: ops.where(X > 0, a, b), X, U),
    # reductions
    "sum": (lambda t: ops.sum(t, axis=(0, -1)), X3),
    "mean": (lambda t: ops.mean(t, axis=1), X3),
    "prod": (lambda t: ops.prod(t, axis=0), X3),
    "max": (lambda t: ops.max(t, axis=-1), X3),
    "min": (lambda t: ops.min(t, axis=None), X3),
    "amax": (lambda t: ops.amax(t, axis=0), X3),
    "amin": (lambda t: ops.amin(t, axis=1), X3),
    "std": (lambda t: ops.std(t, axis=1), X3),
    "var": (lambda t: ops.var(t, axis=-1, keepdims=True), X3),
    "ptp": (lambda t: ops.ptp(t, axis=1), X3),
    "median": (lambda t: ops.median(t, axis=-1), X3),
    "quantile": (lambda t: ops.quantile(t, [0.1, 0.7], axis=1), X3),
    "percentile": (lambda t: ops.percentile(t, 35, axis=0), X3),
    "nanquantile": (lambda t: ops.nanquantile(t, 0.3, axis=-1), X3),
    "nanpercentile": (lambda t: ops.nanpercentile(t, 60), X3),
    "nanmedian": (lambda t: ops.nanmedian(t, axis=0), X3),
    "nansum": (lambda t: ops.nansum(t, axis=1), X3),
    "nanmean": (lambda t: ops.nanmean(t, axis=0), X3),
    "nanprod": (lambda t: ops.nanprod(t, axis=2), X3),
    "nanmax": (lambda t: ops.nanmax(t, axis=2), X3),
    "nanmin": (lambda t: ops.nanmin(t, axis=0), X3),
    "nanstd": (lambda t: ops.nanstd(t, axis=1), X3),
    "nanvar": (lambda t: ops.nanvar(t, axis=2), X3),
    "average": (lambda t, w: ops.average(t, axis=1, weights=w), X3, r(3, lo=0.5, hi=1.5)),
    "cumsum": (lambda t: ops.cumsum(t, axis=1), X3),
    "cumprod": (lambda t: ops.cumprod(t, axis=-1), X3),
    "nancumsum": (lambda t: ops.nancumsum(t), X3),
    "nancumprod": (lambda t: ops.nancumprod(t, axis=0), X3),
    "trapezoid": (lambda t: ops.trapezoid(t, dx=0.3, axis=1), X3),
    "logsumexp": (lambda t: ops.logsumexp(t, axis=1), X3),
    # shapes and gathers
    "take": (lambda t: ops.take(t, np.array([[2, 0], [-1, 2]]), axis=1), X3),
    "take0": (lambda t: ops.take(t, np.array([1, 1, 0]), axis=0), X3),
    "take_along_axis": (
        lambda t: ops.take_along_axis(t, np.argsort(X3, axis=2)[..., :2], axis=2),
        X3,
    ),
    "flip": (lambda t: ops.flip(t, axis=(0, 2)), X3),
    "fliplr": (ops.fliplr, X3),
    "flipud": (ops.flipud, X3),
    "roll": (lambda t: ops.roll(t, 2, axis=-1), X3),
    "rot90": (lambda t: ops.rot90(t, 1, (1, 2)), X3),
    "diagonal": (lambda t: ops.diagonal(t, 1, 1, 2), X3),
    "diag": (lambda t: ops.diag(t, 1), X),
    "diag_vector": (lambda t: ops.diag(t[0], -1), X),
    "diagflat": (lambda t: ops.diagflat(t[:2]), X),
    "trace": (lambda t: ops.trace(t, axis1=1, axis2=2), X3),
    "tril": (lambda t: ops.tril(t, -1), X3),
    "triu": (ops.triu, X3),
    "ravel": (ops.ravel, X3),
    "append": (lambda a, b: ops.append(a, b, axis=1), X, P),
    "diff": (lambda t: ops.diff(t, n=2, axis=1), X),
    "sort": (lambda t: ops.sort(t, axis=0), X3),
    "repeat": (lambda t: ops.repeat(t, [2, 0, 1], axis=0), X),
    "tile": (lambda t: ops.tile(t, (2, 1)), X),
    "array_split": (lambda t: ops.array_split(t, 3, axis=1)[1], X),
    "hsplit": (lambda t: ops.hsplit(t, 5)[2], X),
    "vstack": (lambda a, b: ops.vstack([a, b[0]]), X, P),
    "hstack": (lambda a, b: ops.hstack([a, b]), X, P),
    "dstack": (lambda a, b: ops.dstack([a, b]), X, P),
    "select": (lambda a, b: ops.select([X > 0.5, X < -1], [a, b], 0.0), X, P),
    "moveaxis": (lambda t: ops.moveaxis(t, (0, 1), (2, 0)), X3),
    "swapaxes": (lambda t: ops.swapaxes(t, 0, -1), X3),
    "transpose": (lambda t: ops.transpose(t, (1, 2, 0)), X3),
    "concatenate": (lambda a, b: ops.concatenate([a, b]), X, P),
    "stack": (lambda a, b: ops.stack([a, b], axis=1), X, P),
    "expand_dims": (lambda t: ops.expand_dims(t, (0, 2)), X),
    "get_item": (lambda t: t[1:, ::-2][:, None], X),
    "meshgrid": (lambda a: ops.meshgrid(a[0], a[1])[1], X),
    "vander": (lambda t: ops.vander(t[0], 3), X),
    "pad": (lambda t: ops.pad(t, ((1, 2), (0, 1))), X),
    # contractions
    "matmul_broadcast": (ops.matmul, r(2, 1, 3, 4), r(5, 4, 2)),
    "dot": (ops.dot, X3, r(4, 2)),
    "tensordot": (lambda a, b: ops.tensordot(a, b, axes=([0, 2], [1, 0])), X3, r(4, 2, 3)),
    "inner": (ops.inner, X, P),
    "outer": (ops.outer, X[0], P[1]),
    "vdot": (ops.vdot, X, P),
    "kron": (ops.kron, X[:2, :2], P[:2, :3]),
    "cross": (ops.cross, r(4, 3), r(4, 3)),
    "correlate": (lambda a, b: ops.correlate(a, b, mode="same"), X[0], P[0, :3]),
    "corrcoef": (ops.corrcoef, X),
    "slogdet": (lambda t: ops.slogdet(t)[1], r(2, 3, 3) + 3 * np.eye(3)),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients_against_finite_differences(name):
    op, *inputs = GRADS[name]
    if name.startswith("nan") and name not in ("nan_to_num",):
        inputs = [a.copy() for a in inputs]
        inputs[0].reshape(-1)[[1, 6, 15]] = (
            np.nan
        )  # NaN entries are ignored (and get zero gradient)

        x = inputs[0]
        mask = ~np.isnan(x)
        variables = [nnfast.Variable(x, dtype="float64")]
        w = np.random.default_rng(1).standard_normal(np.shape(op(x)))
        with nnfast.GradientTape() as tape:
            loss = ops.sum(ops.multiply(op(*variables), w))
        (g,) = tape.gradient(loss, variables)

        def f(xv):
            return float(np.sum(np.asarray(op(xv), np.float64) * w))

        numeric = numeric_grad(f, np.where(mask, x, np.nan), 1e-6)
        np.testing.assert_allclose(np.asarray(g)[mask], numeric[mask], rtol=1e-5, atol=1e-7)
        assert np.all(np.asarray(g)[~mask] == 0)
        return
    grad_check(op, *inputs)


# --- eager tensors ---------------------------------------------------------------------


def test_eager_tensor_indexing_conversion_and_iteration():
    model = nnfast.Sequential([nnfast.layers.Input((4,)), nnfast.layers.Dense(3)])
    y = model(np.ones((2, 4), np.float32))
    item = y[0, 0]
    assert isinstance(item, nnfast.Tensor) and item.shape == ()
    assert float(model(np.ones((2, 4), np.float32))[0, 0]) == float(np.asarray(y)[0, 0])
    t = ops.convert_to_tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert isinstance(t.numpy(), np.ndarray) and np.asarray(t).shape == (2, 3)
    assert len(t) == 2 and [r_.shape for r_ in t] == [(3,), (3,)]
    close(list(t)[1], [3.0, 4.0, 5.0])
    close(t.T, np.arange(6.0).reshape(2, 3).T)
    assert int(t[1, 2]) == 5 and [0, 1, 2][ops.convert_to_tensor(np.array(1))] == 1
    with pytest.raises(TypeError, match="0-d"):
        iter(t[0, 0]).__next__()
    # gradients flow through iteration and scalar indexing
    v = nnfast.Variable(np.ones((2, 3)))
    with nnfast.GradientTape() as tape:
        loss = sum(row[1] * 2.0 for row in v)
    close(tape.gradient(loss, v), [[0, 2, 0], [0, 2, 0]])


def test_eager_tensor_operators_are_elementwise_and_hash_by_identity():
    a = ops.convert_to_tensor(np.array([1.0, 2.0, 3.0], np.float32))
    b = ops.convert_to_tensor(np.array([1.0, 0.0, 3.0], np.float32))
    for got, want in [
        (a == b, [True, False, True]),
        (a != b, [False, True, False]),
        (a < 2, [True, False, False]),
        (a <= 2, [True, True, False]),
        (a > b, [False, True, False]),
        (a >= 3, [False, False, True]),
    ]:
        assert isinstance(got, nnfast.Tensor)
        close(got, want)
    assert (a == None) is False and (a != "x") is True  # noqa: E711 - other objects are unequal
    close(a // 2, [0.0, 1.0, 1.0])
    close(7 // a, [7.0, 3.0, 2.0])
    close(a % 2, [1.0, 0.0, 1.0])
    close(7 % a, [0.0, 1.0, 1.0])
    close(2**a, [2.0, 4.0, 8.0])
    close(+a, [1.0, 2.0, 3.0])
    close(round(a / 2), [0.0, 1.0, 2.0])
    i = ops.convert_to_tensor(np.array([6, 3], np.int32))
    close(i & 2, [2, 2])
    close(i | 1, [7, 3])
    close(i ^ 5, [3, 6])
    close(1 & i, [0, 1])
    close(~i, [-7, -4])
    m = a > 1
    close(~m, [True, False, False])
    close(m & (b > 0), [False, False, True])
    # tensors stay usable as dict keys and set members (hash by identity)
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b, a}) == 2
    with nnfast.GradientTape() as tape:
        w = nnfast.Variable(np.array([2.0, 3.0]))
        y = ops.sum(2.0**w + w // 1)
    close(tape.gradient(y, w), np.log(2.0) * 2.0 ** np.array([2.0, 3.0]), rtol=1e-6)
