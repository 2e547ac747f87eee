"""Regularizers (kernel, bias, activity; Keras 3 formulas) and constraints (applied after
each update)."""
import numpy as np
import pytest

import nnfast
from nnfast import constraints, layers, regularizers
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Variable

rng = np.random.default_rng(0)
W = rng.standard_normal((5, 4)).astype(np.float32)


def val(t):
    return float(np.asarray(t.value if hasattr(t, "value") else t))


def ref_orthogonal(w, factor, mode):
    n = w / np.sqrt(np.maximum(np.sum(w * w, axis=1 if mode == "rows" else 0, keepdims=True), 1e-7))
    p = n @ n.T if mode == "rows" else n.T @ n
    size = p.shape[0]
    return factor * 0.5 * np.sum(np.abs(p * (1 - np.eye(size)))) / (size * (size - 1) / 2)


def test_penalty_values():
    w = W.astype(np.float64)
    assert val(regularizers.L2(0.1)(W)) == pytest.approx(0.1 * np.sum(w * w), rel=1e-5)
    assert val(regularizers.L1(0.2)(W)) == pytest.approx(0.2 * np.sum(np.abs(w)), rel=1e-5)
    assert val(regularizers.L1L2(0.2, 0.1)(W)) == pytest.approx(
        0.2 * np.sum(np.abs(w)) + 0.1 * np.sum(w * w), rel=1e-5)
    assert val(regularizers.L1L2()(W)) == 0.0
    for mode in ("rows", "columns"):
        assert val(regularizers.OrthogonalRegularizer(0.3, mode)(W)) == pytest.approx(
            ref_orthogonal(w, 0.3, mode), rel=1e-5)
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), np.float32))


def test_orthogonal_regularizer_gradient():
    v = Variable(W[:3, :3].copy())
    reg = regularizers.OrthogonalRegularizer(1.0, "rows")
    with GradientTape() as tape:
        out = reg(v)
    (g,) = tape.gradient(out, [v])
    num = np.zeros((3, 3))
    w0 = W[:3, :3].astype(np.float64)
    for idx in np.ndindex(3, 3):
        wp, wm = w0.copy(), w0.copy()
        wp[idx] += 1e-6
        wm[idx] -= 1e-6
        num[idx] = (ref_orthogonal(wp, 1.0, "rows") - ref_orthogonal(wm, 1.0, "rows")) / 2e-6
    np.testing.assert_allclose(g, num, rtol=1e-3, atol=1e-5)


def test_names_and_configs():
    for name, cls in [("l1", regularizers.L1), ("l2", regularizers.L2), ("l1_l2", regularizers.L1L2),
                      ("orthogonal_regularizer", regularizers.OrthogonalRegularizer),
                      ("L2", regularizers.L2)]:
        obj = regularizers.get(name)
        assert isinstance(obj, cls)
        again = regularizers.get(regularizers.serialize(obj))
        assert type(again) is cls and again.get_config() == obj.get_config()
    assert regularizers.L2().l2 == 0.01 and regularizers.L1L2().l1 == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1.0)
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diag")


def test_kernel_bias_and_activity_penalties_in_training_loss():
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([
        layers.Input((4,)),
        layers.Dense(3, kernel_regularizer=regularizers.L2(0.1), bias_regularizer="l1",
                     activity_regularizer=regularizers.L1(0.05), bias_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    k, b = [w.astype(np.float64) for w in model.get_weights()]
    out = x @ k + b
    # Keras 3.15 divides the activity penalty by the batch size
    penalty = (0.1 * np.sum(k * k) + 0.01 * np.sum(np.abs(b))
               + 0.05 * np.sum(np.abs(out)) / len(x))
    expected = np.mean((out - y) ** 2) + penalty
    assert model.evaluate(x, y, verbose=0, batch_size=6) == pytest.approx(expected, rel=1e-5)
    assert len(model.losses) == 3
    # A layer called directly records its activity penalty too.
    dense = layers.Dense(2, activity_regularizer="l2")
    o = dense(x)
    assert val(dense.losses[-1]) == pytest.approx(
        0.01 * np.sum(np.asarray(o.value, np.float64) ** 2) / len(x), rel=1e-5)


def test_activity_penalty_gradient_flows():
    nnfast.utils.set_random_seed(1)
    model = nnfast.Sequential([layers.Input((2,)),
                               layers.Dense(2, activity_regularizer=regularizers.L2(0.1))])
    model.compile(optimizer=nnfast.optimizers.SGD(0.01), loss="mse")
    x = np.ones((4, 2), np.float32)
    before = float(np.sum(model(x).value ** 2))
    model.fit(x, model.predict(x, verbose=0), epochs=5, verbose=0)  # zero data loss
    assert float(np.sum(model(x).value ** 2)) < before


def test_constraints_formulas():
    w = W.astype(np.float64)
    norms = np.sqrt(np.sum(w * w, axis=0, keepdims=True))
    np.testing.assert_allclose(constraints.MaxNorm(1.5)(W), w * np.clip(norms, 0, 1.5) / (1e-7 + norms),
                               rtol=1e-5)
    np.testing.assert_allclose(constraints.UnitNorm()(W), w / (1e-7 + norms), rtol=1e-5)
    desired = 0.5 * np.clip(norms, 0.5, 1.0) + 0.5 * norms
    np.testing.assert_allclose(constraints.MinMaxNorm(0.5, 1.0, 0.5)(W), w * desired / (1e-7 + norms),
                               rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.maximum(W, 0))
    for name in ("max_norm", "non_neg", "unit_norm", "min_max_norm", "MaxNorm"):
        obj = constraints.get(name)
        again = constraints.get(constraints.serialize(obj))
        assert type(again) is type(obj) and again.get_config() == obj.get_config()


def test_constraint_applied_after_each_update_in_fit():
    nnfast.utils.set_random_seed(2)
    model = nnfast.Sequential([layers.Input((3,)),
                               layers.Dense(4, kernel_constraint=constraints.MaxNorm(0.1),
                                            bias_constraint="non_neg")])
    model.compile(optimizer=nnfast.optimizers.SGD(0.5), loss="mse")
    x = rng.standard_normal((16, 3)).astype(np.float32)
    model.fit(x, rng.standard_normal((16, 4)).astype(np.float32) * 5, epochs=2, verbose=0)
    k, b = model.get_weights()
    assert np.all(np.sqrt(np.sum(k.astype(np.float64) ** 2, axis=0)) <= 0.1 + 1e-6)
    assert np.all(b >= 0)
