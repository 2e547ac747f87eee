"""The vectorised elementwise activations (cpp/src/kernels/activation/activation_simd_body.h
over the shared vector vocabulary kernels/simd_<isa>.h): every activation on every ISA variant
against float64 NumPy/SciPy over wide ranges and odd lengths (vector tails), the three backward
modes, special values as the scalar reference gives them, and the registry's choice."""
import math

import numpy as np
import pytest
from scipy import special

import nnfast
from nnfast import _core
from nnfast.ops.nn import ACTIVATION_IDS

ISAS = nnfast.config.available_isas()
SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
C = math.sqrt(2 / math.pi)


def _gelu_tanh_grad(x):
    s = special.expit(2 * C * (x + 0.044715 * x ** 3))
    return s + 2 * x * s * (1 - s) * C * (1 + 3 * 0.044715 * x ** 2)


def _mish_grad(x):
    t = np.tanh(np.logaddexp(0, x))
    return t + x * (1 - t * t) * special.expit(x)


# name: (forward, gradient) in float64, alpha = 0.7 where the activation takes one.
REFERENCES = {
    "linear": (lambda x: x, lambda x: np.ones_like(x)),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "sigmoid": (special.expit, lambda x: special.expit(x) * special.expit(-x)),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "elu": (lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
            lambda x: np.where(x > 0, 1, 0.7 * np.exp(x))),
    "selu": (lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)),
             lambda x: SELU_S * np.where(x > 0, 1, SELU_A * np.exp(x))),
    "softplus": (lambda x: np.logaddexp(0, x), special.expit),
    "softsign": (lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "swish": (lambda x: x * special.expit(x),
              lambda x: special.expit(x) * (1 + x * special.expit(-x))),
    "gelu": (lambda x: 0.5 * x * special.erfc(-x / math.sqrt(2)),
             lambda x: 0.5 * special.erfc(-x / math.sqrt(2))
             + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    "gelu_tanh": (lambda x: x * special.expit(2 * C * (x + 0.044715 * x ** 3)), _gelu_tanh_grad),
    "exponential": (np.exp, np.exp),
    "hard_sigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1), lambda x: ((x > -3) & (x < 3)) / 6),
    "relu6": (lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)) * 1.0),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.7 * x), lambda x: np.where(x > 0, 1, 0.7)),
    "hard_silu": (lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
                  lambda x: np.where(x <= -3, 0, np.where(x >= 3, 1, x / 3 + 0.5))),
    "mish": (lambda x: x * np.tanh(np.logaddexp(0, x)), _mish_grad),
}
ALPHA = {"elu": 0.7, "leaky_relu": 0.7}
# Where the gradient follows from the output alone (activation_needs_input is false).
FROM_OUTPUT = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "exponential", "relu6")


@pytest.fixture
def cap():
    """Sets the ISA cap for one test and restores the cap it found (NNFAST_MAX_ISA's) after."""
    previous = nnfast.config.active_isa()
    yield nnfast.config.set_max_isa
    nnfast.config.set_max_isa(previous)


def _inputs(n, seed):
    """Values over the range each function changes in, tiny ones, and the overflow edges;
    kinks moved off so finite-precision inputs do not straddle them."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal(n) * 6, rng.standard_normal(n // 4 + 1) * 1e-3,
                        rng.uniform(-95, 95, n // 4 + 1)])[:n].astype(np.float32)
    for kink in (0.0, 3.0, -3.0, 6.0):
        x[np.abs(x - kink) < 1e-3] += 0.01
    return x


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n", [1, 7, 15, 17, 1037])
def test_every_activation_against_float64(isa, n, cap):
    cap(isa)
    x = _inputs(n, n)
    x64 = x.astype(np.float64)
    dy = np.random.default_rng(n + 1).standard_normal(n).astype(np.float32)
    for name, (fwd, grad) in REFERENCES.items():
        act, alpha = ACTIVATION_IDS[name], ALPHA.get(name, 0.0)
        with np.errstate(over="ignore"):
            want = fwd(x64)
            want_d = dy * grad(x64)
        y = np.empty_like(x)
        _core.activation_forward(act, x, y, alpha)
        finite = np.isfinite(want.astype(np.float32))
        np.testing.assert_allclose(y[finite], want[finite], rtol=2e-5, atol=1e-30, err_msg=name)
        assert np.array_equal(np.isinf(y), ~finite), name
        dx = np.empty_like(x)
        _core.activation_backward(act, x, y, dy, dx, alpha)
        ok = np.isfinite(want_d.astype(np.float32))
        # Gradients through the output (1 - y^2, y (1 - y)) cancel where y nears 1: a few ulp
        # of 1 in y (tanh is Eigen's rational form, as TensorFlow's) times |dy| <= 4.
        np.testing.assert_allclose(dx[ok], want_d[ok], rtol=1e-4, atol=5e-6, err_msg=name)
        dx2 = np.empty_like(x)  # no stored output: the kernel recomputes it
        _core.activation_backward(act, x, None, dy, dx2, alpha)
        np.testing.assert_array_equal(dx2, dx, err_msg=name)
        if name in FROM_OUTPUT:
            dx3 = np.empty_like(x)
            _core.activation_backward(act, None, y, dy, dx3, alpha)
            np.testing.assert_allclose(dx3[ok], want_d[ok], rtol=1e-4, atol=5e-6, err_msg=name)
    selected = _core.selected_kernels()
    assert selected["activation"] == f"f32_activation_forward_{isa}"
    assert selected["activation_backward"] == f"f32_activation_backward_{isa}"


@pytest.mark.parametrize("isa", ISAS)
def test_special_values_as_the_reference(isa, cap):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-38, -1e-38, 88.8, -88.8, 100, -100],
                 np.float32)
    results = {}
    for level in ("ref", isa):
        cap(level)
        for name in REFERENCES:
            y = np.empty_like(x)
            _core.activation_forward(ACTIVATION_IDS[name], x, y, ALPHA.get(name, 0.0))
            results[level, name] = y
    for name in REFERENCES:
        ref, got = results["ref", name], results[isa, name]
        assert np.array_equal(np.isnan(got), np.isnan(ref)), (name, got, ref)
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("isa", ISAS)
def test_relu_parameters_and_in_place(isa, cap):
    cap(isa)
    x = _inputs(101, 3)
    x64 = x.astype(np.float64)
    y = x.copy()
    _core.activation_forward(ACTIVATION_IDS["relu"], y, y, 0.1, 6.0, 1.0)  # in place
    want = np.where(x64 > 1.0, np.clip(x64, 0, 6), 0) - 0.1 * np.maximum(1.0 - x64, 0)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    g = np.ones_like(x)
    _core.activation_backward(ACTIVATION_IDS["relu"], x, y, g, g, 0.1, 6.0, 1.0)  # dsrc = ddst
    want_d = np.where(x64 > 1.0, (x64 > 0) & (x64 < 6), 0) + np.where(x64 < 1.0, 0.1, 0)
    np.testing.assert_allclose(g, want_d, rtol=1e-6)
