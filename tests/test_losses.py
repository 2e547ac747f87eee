"""Losses against float64 NumPy references of Keras's definitions: values, sample weights,
reductions, masks, edge cases, gradients (finite differences), names and configs."""
import numpy as np
import pytest

import nnfast
from nnfast import losses, ops
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Variable
from nnfast.models.compile_loss import resolve_loss

EPS = 1e-7
rng = np.random.default_rng(0)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# float64 references (per sample) of keras/src/losses/losses.py
def r_mse(t, p): return np.mean((t - p) ** 2, -1)
def r_mae(t, p): return np.mean(np.abs(t - p), -1)
def r_mape(t, p): return 100 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPS), -1)
def r_msle(t, p): return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1)


def r_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta ** 2), -1)


def r_logcosh(t, p): return np.mean(np.log(np.cosh(p - t)), -1)
def _hl(t): return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t
def r_hinge(t, p): return np.mean(np.maximum(1 - _hl(t) * p, 0), -1)
def r_sqhinge(t, p): return np.mean(np.maximum(1 - _hl(t) * p, 0) ** 2, -1)
def r_cathinge(t, p): return np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0)


def r_kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(t * np.log(t / p), -1)


def r_poisson(t, p): return np.mean(p - t * np.log(p + EPS), -1)


def r_cos(t, p):
    n = lambda x: x / np.sqrt(np.maximum(np.sum(x * x, -1, keepdims=True), EPS))
    return -np.sum(n(t) * n(p), -1)


def r_cce(t, p, ls=0.0):
    if ls:
        t = t * (1 - ls) + ls / t.shape[-1]
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(t * np.log(p), -1)


def r_bce(t, p, ls=0.0):
    if ls:
        t = t * (1 - ls) + 0.5 * ls
    p = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), -1)


def r_bfocal(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0):
    pc = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(pc) + (1 - t) * np.log(1 - pc))
    pt = t * p + (1 - t) * (1 - p)
    f = (1 - pt) ** gamma * bce
    if apply_class_balancing:
        f = (t * alpha + (1 - t) * (1 - alpha)) * f
    return np.mean(f, -1)


def r_cfocal(t, p, alpha=0.25, gamma=2.0):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return np.sum(alpha * (1 - p) ** gamma * -t * np.log(p), -1)


def _probs(n, c):
    return softmax(rng.standard_normal((n, c)))


def _onehot(n, c):
    return np.eye(c)[rng.integers(0, c, n)]


REG_T = rng.standard_normal((6, 4))
REG_P = rng.standard_normal((6, 4))
POS_T = rng.uniform(0.1, 2, (6, 4))
POS_P = rng.uniform(0.1, 2, (6, 4))

CASES = [
    ("mean_squared_error", losses.MeanSquaredError, r_mse, REG_T, REG_P, {}),
    ("mean_absolute_error", losses.MeanAbsoluteError, r_mae, REG_T, REG_P, {}),
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError, r_mape, REG_T, REG_P, {}),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError, r_msle, POS_T, REG_P, {}),
    ("huber", losses.Huber, r_huber, REG_T, REG_P * 2, {"delta": 0.7}),
    ("log_cosh", losses.LogCosh, r_logcosh, REG_T, REG_P, {}),
    ("hinge", losses.Hinge, r_hinge, (REG_T > 0).astype(float), REG_P, {}),
    ("hinge", losses.Hinge, r_hinge, np.sign(REG_T), REG_P, {}),
    ("squared_hinge", losses.SquaredHinge, r_sqhinge, (REG_T > 0).astype(float), REG_P, {}),
    ("categorical_hinge", losses.CategoricalHinge, r_cathinge, _onehot(6, 4), REG_P, {}),
    ("kl_divergence", losses.KLDivergence, r_kld, _probs(6, 4), _probs(6, 4), {}),
    ("poisson", losses.Poisson, r_poisson, POS_T, POS_P, {}),
    ("cosine_similarity", losses.CosineSimilarity, r_cos, REG_T, REG_P, {}),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, r_cce, _onehot(6, 4), _probs(6, 4), {}),
    ("binary_crossentropy", losses.BinaryCrossentropy, r_bce, (REG_T > 0).astype(float),
     sigmoid(REG_P), {}),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, r_bfocal,
     (REG_T > 0).astype(float), sigmoid(REG_P), {"gamma": 1.5}),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, r_bfocal,
     (REG_T > 0).astype(float), sigmoid(REG_P), {"apply_class_balancing": True, "alpha": 0.4}),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy, r_cfocal,
     _onehot(6, 4), _probs(6, 4), {"alpha": 0.5, "gamma": 1.0}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("name,cls,ref,t,p,kw", CASES, ids=IDS)
def test_loss_values_weights_and_reductions(name, cls, ref, t, p, kw):
    per = ref(t, p, **kw)
    tf, pf = t.astype(np.float32), p.astype(np.float32)
    sw = rng.uniform(0, 2, len(t))
    tol = dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(float(cls(**kw)(tf, pf).value), per.mean(), **tol)
    np.testing.assert_allclose(float(cls(**kw)(tf, pf, sample_weight=sw).value),
                               np.sum(per * sw) / len(per), **tol)
    np.testing.assert_allclose(float(cls(reduction="sum", **kw)(tf, pf, sw).value),
                               np.sum(per * sw), **tol)
    np.testing.assert_allclose(float(cls(reduction="mean_with_sample_weight", **kw)(tf, pf, sw).value),
                               np.sum(per * sw) / np.sum(sw), **tol)
    np.testing.assert_allclose(cls(reduction=None, **kw)(tf, pf, sw).value, per * sw, **tol)
    if not kw:  # the name resolves to the same function
        np.testing.assert_allclose(float(resolve_loss(name)(tf, pf).value), per.mean(), **tol)


@pytest.mark.parametrize("name,cls,ref,t,p,kw", CASES, ids=IDS)
def test_loss_gradients_match_finite_differences(name, cls, ref, t, p, kw):
    t, p = t[:3], p[:3].copy()
    loss = cls(**kw)
    var = Variable(p.astype(np.float32))
    with GradientTape() as tape:
        out = loss(t.astype(np.float32), var)
    (grad,) = tape.gradient(out, [var])
    num = np.zeros_like(p)
    h = 1e-6
    for idx in np.ndindex(p.shape):
        pp, pm = p.copy(), p.copy()
        pp[idx] += h
        pm[idx] -= h
        num[idx] = (ref(t, pp, **kw).mean() - ref(t, pm, **kw).mean()) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=2e-3, atol=2e-4)


def test_from_logits_and_label_smoothing():
    logits = rng.standard_normal((5, 3))
    t = _onehot(5, 3)
    got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(
        t.astype(np.float32), logits.astype(np.float32))
    np.testing.assert_allclose(float(got.value), r_cce(t, softmax(logits), 0.2).mean(), rtol=1e-5)
    y = (rng.standard_normal((5, 2)) > 0).astype(float)
    got = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(
        y.astype(np.float32), logits[:, :2].astype(np.float32))
    np.testing.assert_allclose(float(got.value), r_bce(y, sigmoid(logits[:, :2]), 0.1).mean(), rtol=1e-5)
    got = losses.BinaryFocalCrossentropy(from_logits=True)(y.astype(np.float32),
                                                            logits[:, :2].astype(np.float32))
    np.testing.assert_allclose(float(got.value), r_bfocal(y, sigmoid(logits[:, :2])).mean(), rtol=1e-5)
    got = losses.CategoricalFocalCrossentropy(from_logits=True)(t.astype(np.float32),
                                                                 logits.astype(np.float32))
    np.testing.assert_allclose(float(got.value), r_cfocal(t, softmax(logits)).mean(), rtol=1e-5)


def test_sparse_categorical_and_ignore_class():
    p = _probs(6, 4)
    y = np.array([0, 3, 1, 2, 2, 0])
    per = -np.log(p[np.arange(6), y])
    np.testing.assert_allclose(float(losses.SparseCategoricalCrossentropy()(y, p.astype(np.float32)).value),
                               per.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(resolve_loss("sparse_categorical_crossentropy")(y[:, None],
                               p.astype(np.float32)).value), per.mean(), rtol=1e-5)
    got = losses.SparseCategoricalCrossentropy(ignore_class=2)(y, p.astype(np.float32))
    valid = y != 2
    np.testing.assert_allclose(float(got.value), per[valid].mean(), rtol=1e-5)


def test_prediction_mask_averages_over_valid_entries():
    t = rng.standard_normal((2, 5, 3)).astype(np.float32)
    p = ops.convert_to_tensor(rng.standard_normal((2, 5, 3)).astype(np.float32))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    p._keras_mask = mask
    per = r_mse(t, p.value)
    np.testing.assert_allclose(float(losses.MeanSquaredError()(t, p).value), per[mask].mean(),
                               rtol=1e-5)


def test_edge_cases():
    # All-zero probability predictions: clipped, finite, equal to -log(eps)-based values.
    t = _onehot(4, 3).astype(np.float32)
    zero = np.zeros((4, 3), np.float32)
    assert np.isfinite(float(losses.KLDivergence()(t, zero).value))
    np.testing.assert_allclose(float(losses.BinaryCrossentropy()(t, zero).value),
                               r_bce(t, np.zeros((4, 3))).mean(), rtol=1e-4)
    np.testing.assert_allclose(float(losses.CosineSimilarity()(t, zero).value), 0.0, atol=1e-7)
    # A single class / single sample.
    np.testing.assert_allclose(float(losses.CategoricalCrossentropy()(np.ones((1, 1), np.float32),
                                                                        np.ones((1, 1), np.float32)).value),
                               -np.log(1 - EPS), rtol=1e-3, atol=1e-6)
    # Empty batch: Keras returns 0 for the mean of nothing.
    empty = losses.MeanSquaredError()(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32))
    assert np.size(empty.value) == 0 or float(empty.value) == 0.0
    # Zero sample weights with mean_with_sample_weight: 0, not NaN.
    out = losses.MeanSquaredError(reduction="mean_with_sample_weight")(
        np.ones((2, 1), np.float32), np.zeros((2, 1), np.float32), sample_weight=np.zeros(2))
    assert float(out.value) == 0.0


def test_rank_alignment_targets_n_against_outputs_n1():
    t = rng.standard_normal(5).astype(np.float32)
    p = rng.standard_normal((5, 1)).astype(np.float32)
    np.testing.assert_allclose(float(resolve_loss("mse")(t, p).value), np.mean((t - p[:, 0]) ** 2),
                               rtol=1e-5)
    np.testing.assert_allclose(float(losses.Huber()(t, p).value),
                               r_huber(t[:, None], p).mean(), rtol=1e-5)


def test_crossentropy_alias_resolves_by_shape():
    p = _probs(4, 3).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    np.testing.assert_allclose(float(resolve_loss("ce")(y, p).value),
                               float(losses.SparseCategoricalCrossentropy()(y, p).value))
    oh = np.eye(3, dtype=np.float32)[y]
    np.testing.assert_allclose(float(resolve_loss("crossentropy")(oh, p).value),
                               float(losses.CategoricalCrossentropy()(oh, p).value))
    pb = sigmoid(rng.standard_normal((4, 1))).astype(np.float32)
    np.testing.assert_allclose(float(resolve_loss("ce")(y[:, None] % 2, pb).value),
                               float(losses.BinaryCrossentropy()(y[:, None] % 2, pb).value))


def test_names_aliases_and_configs():
    for alias, fn in [("mse", "mean_squared_error"), ("MAE", "mean_absolute_error"),
                      ("mape", "mean_absolute_percentage_error"), ("msle", "mean_squared_logarithmic_error"),
                      ("kld", "kl_divergence"), ("bce", "binary_crossentropy"), ("logcosh", "log_cosh")]:
        # Keras 3.15: a function name gives the function itself; compile wraps it.
        assert losses.get(alias) is getattr(losses, fn)
        assert resolve_loss(alias).fn is getattr(losses, fn)
    assert losses.Huber().name == "huber_loss"
    for cls in losses._CLASS_LIST:
        obj = cls()
        again = losses.deserialize(losses.serialize(obj))
        assert type(again) is cls and again.get_config() == obj.get_config()
        assert isinstance(losses.get(cls.__name__), cls)
    cfg = losses.BinaryFocalCrossentropy(alpha=0.3, gamma=1.0).get_config()
    assert cfg["alpha"] == 0.3 and cfg["gamma"] == 1.0 and cfg["apply_class_balancing"] is False
    assert losses.MeanSquaredError("sum").reduction == "sum"


def test_custom_loss_subclass_and_function():
    class Sq(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(ops.subtract(y_pred, y_true)), axis=-1)

    t, p = REG_T.astype(np.float32), REG_P.astype(np.float32)
    np.testing.assert_allclose(float(Sq()(t, p).value), r_mse(REG_T, REG_P).mean(), rtol=1e-5)
    fn = lambda yt, yp: ops.mean(ops.abs(ops.subtract(yp, yt)), axis=-1)
    assert losses.get(fn) is fn
    np.testing.assert_allclose(float(resolve_loss(fn)(t, p).value), r_mae(REG_T, REG_P).mean(), rtol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="bogus")
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get("nope")
    with pytest.raises(ValueError, match="cannot be broadcast"):
        losses.MeanSquaredError()(np.ones((3, 2), np.float32), np.ones((3, 2), np.float32),
                                  sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="outside the valid range"):
        losses.SparseCategoricalCrossentropy()(np.array([5]), np.ones((1, 3), np.float32) / 3)
    with pytest.raises(TypeError):
        losses.Huber(foo=1)
