"""layer_normalization(rms_scaling=True) (Keras's variance scaling, ops/norm.py's
VarianceScale) in float32 and float64 against a float64 NumPy reference, and its gradients
against finite differences; the float64 batch/layer normalization routes share one forward."""

import numpy as np
import pytest

import nnfast
from nnfast import ops


def _reference(x, gamma, epsilon):
    return x / np.sqrt(x.var(axis=-1, keepdims=True) + epsilon) * gamma


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-5), ("float64", 1e-12)])
def test_values_against_float64(dtype, tol):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 7))
    gamma = rng.standard_normal(7)
    y = ops.layer_normalization(nnfast.Variable(x, dtype=dtype),
                                nnfast.Variable(gamma, dtype=dtype), epsilon=1e-3,
                                rms_scaling=True)
    assert y.dtype == dtype
    np.testing.assert_allclose(np.asarray(y), _reference(x, gamma, 1e-3), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-3), ("float64", 1e-7)])
def test_gradients_against_finite_differences(dtype, tol):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6))
    gamma = rng.standard_normal(6)
    w = rng.standard_normal((4, 6))
    tx, tg = nnfast.Variable(x, dtype=dtype), nnfast.Variable(gamma, dtype=dtype)
    with nnfast.GradientTape() as tape:
        loss = ops.sum(ops.layer_normalization(tx, tg, epsilon=1e-3, rms_scaling=True)
                       * w.astype(dtype))
    gx, gg = tape.gradient(loss, [tx, tg])

    def f(x_, g_):
        return float(np.sum(_reference(x_, g_, 1e-3) * w))

    eps = 1e-6
    for value, grad, which in ((x, gx, 0), (gamma, gg, 1)):
        num = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[i] += eps
            down[i] -= eps
            args_up = (up, gamma) if which == 0 else (x, up)
            args_down = (down, gamma) if which == 0 else (x, down)
            num[i] = (f(*args_up) - f(*args_down)) / (2 * eps)
        assert np.asarray(grad).dtype == dtype
        np.testing.assert_allclose(np.asarray(grad), num, rtol=tol, atol=tol)


def test_float64_layer_and_batch_normalization_values():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    def f64(v):
        return nnfast.Variable(v, dtype="float64")

    y = ops.layer_normalization(f64(x), f64(gamma), f64(beta), epsilon=1e-3)
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(np.asarray(y), want * gamma + beta, rtol=1e-12, atol=1e-12)
    y, mean, var = ops.batch_norm_train(f64(x), f64(gamma), f64(beta), epsilon=1e-3)
    want = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) * gamma + beta
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(0), rtol=1e-12)
