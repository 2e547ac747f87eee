"""The vectorised loss kernels (cpp/src/kernels/loss/loss_simd_body.h over the shared vector
vocabulary): every loss forward and backward on every ISA variant against float64 NumPy, on
row lengths around the vector widths (tails), with integer labels and dense targets, and the
registry's choice; NaN predictions give NaN losses on every ISA (TerminateOnNaN relies on it)."""
import numpy as np
import pytest
from scipy import special

import nnfast
from nnfast import _core

ISAS = nnfast.config.available_isas()
EPS = 1e-7
SHAPES = [(1, 1), (3, 7), (2, 16), (5, 17), (4, 33), (2, 1000), (5, 131)]  # 131: masked row heads


@pytest.fixture
def cap():
    """Sets the ISA cap for one test and restores the cap it found (NNFAST_MAX_ISA's) after."""
    previous = nnfast.config.active_isa()
    yield nnfast.config.set_max_isa
    nnfast.config.set_max_isa(previous)


def _log_softmax64(z):
    z = z.astype(np.float64)
    return z - special.logsumexp(z, axis=-1, keepdims=True)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_softmax_cross_entropy_every_isa(isa, rows, cols, cap):
    cap(isa)
    rng = np.random.default_rng(cols)
    z = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    labels = rng.integers(0, cols, rows).astype(np.int64)
    soft = rng.uniform(0, 1, (rows, cols)).astype(np.float32)  # soft targets, any sum
    logp = _log_softmax64(z)
    g = rng.standard_normal(rows).astype(np.float32)
    probs, loss = np.empty_like(z), np.empty(rows, np.float32)
    _core.softmax_cross_entropy_forward(z, None, labels, probs, loss)
    np.testing.assert_allclose(loss, -logp[np.arange(rows), labels], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(probs, np.exp(logp), rtol=1e-5, atol=1e-7)
    d = np.empty_like(z)
    _core.softmax_cross_entropy_backward(probs, None, labels, g, d)
    onehot = np.eye(cols)[labels]
    np.testing.assert_allclose(d, g[:, None] * (np.exp(logp) - onehot), rtol=1e-5, atol=1e-6)
    _core.softmax_cross_entropy_forward(z, soft, None, probs, loss)
    np.testing.assert_allclose(loss, -(soft * logp).sum(-1), rtol=1e-5, atol=1e-5)
    _core.softmax_cross_entropy_backward(probs, soft, None, g, d)
    want = g[:, None] * (np.exp(logp) * soft.sum(-1, keepdims=True) - soft)
    np.testing.assert_allclose(d, want, rtol=1e-5, atol=1e-5)
    assert _core.selected_kernels()["loss"] == f"f32_loss_{isa}"


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_categorical_crossentropy_every_isa(isa, rows, cols, cap):
    cap(isa)
    rng = np.random.default_rng(cols + 1)
    p = rng.uniform(0, 1, (rows, cols)).astype(np.float32)
    p[0, -1] = 0.0 if cols > 1 else p[0, -1]  # clipped at eps (a 1-column row stays 1)
    labels = rng.integers(0, cols, rows).astype(np.int64)
    y = rng.uniform(0, 1, (rows, cols)).astype(np.float32) * (rng.uniform(size=(rows, cols)) > .5)
    g = rng.standard_normal(rows).astype(np.float32)
    p64 = p.astype(np.float64)
    s = p64.sum(-1, keepdims=True)
    q = np.clip(p64 / s, EPS, 1 - EPS)
    for target, lab, y64 in ((y, None, y.astype(np.float64)), (None, labels, np.eye(cols)[labels])):
        loss = np.empty(rows, np.float32)
        _core.categorical_crossentropy_forward(p, target, lab, EPS, loss)
        np.testing.assert_allclose(loss, -(y64 * np.log(q)).sum(-1), rtol=1e-5, atol=1e-5)
        d = np.empty_like(p)
        _core.categorical_crossentropy_backward(p, target, lab, g, EPS, d)
        qu = p64 / s
        dq = np.where((y64 != 0) & (qu > EPS) & (qu < 1 - EPS), -y64 / np.where(qu > 0, qu, 1), 0)
        want = g[:, None] / s * (dq - (dq * qu).sum(-1, keepdims=True))
        np.testing.assert_allclose(d, want, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("rows,cols", SHAPES)
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_every_isa(isa, rows, cols, from_logits, cap):
    cap(isa)
    rng = np.random.default_rng(cols + 2)
    if from_logits:
        p = (rng.standard_normal((rows, cols)) * 6).astype(np.float32)
    else:
        p = rng.uniform(0, 1, (rows, cols)).astype(np.float32)
        p.flat[:: 5] = 1.0  # clipped at 1 - eps
    y = rng.uniform(0, 1, (rows, cols)).astype(np.float32)
    g = rng.standard_normal(rows).astype(np.float32)
    p64, y64 = p.astype(np.float64), y.astype(np.float64)
    loss = np.empty(rows, np.float32)
    _core.binary_crossentropy_forward(p, y, from_logits, EPS, loss)
    if from_logits:
        want = (np.logaddexp(0, p64) - y64 * p64).mean(-1)
    else:
        q = np.clip(p64, EPS, 1 - np.float32(EPS))
        want = -(y64 * np.log(q) + (1 - y64) * np.log(1 - q)).mean(-1)
    np.testing.assert_allclose(loss, want, rtol=1e-5, atol=1e-6)
    d = np.empty_like(p)
    _core.binary_crossentropy_backward(p, y, g, from_logits, EPS, d)
    if from_logits:
        want_d = g[:, None] * (special.expit(p64) - y64) / cols
    else:
        inside = (p64 > EPS) & (p64 < 1 - np.float32(EPS))
        with np.errstate(divide="ignore", invalid="ignore"):
            want_d = np.where(inside, g[:, None] * (p64 - y64) / (p64 * (1 - p64)) / cols, 0)
    np.testing.assert_allclose(d, want_d, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("rows,cols", SHAPES)
def test_mse_mae_every_isa(isa, rows, cols, cap):
    cap(isa)
    rng = np.random.default_rng(cols + 3)
    p, y = rng.standard_normal((2, rows, cols)).astype(np.float32)
    y.flat[::4] = p.flat[::4]  # zero errors: MAE's gradient is 0 there
    g = rng.standard_normal(rows).astype(np.float32)
    e = p.astype(np.float64) - y
    for name, fwd, grad in [("mean_squared_error", (e ** 2).mean(-1), 2 * e / cols),
                            ("mean_absolute_error", np.abs(e).mean(-1), np.sign(e) / cols)]:
        loss = np.empty(rows, np.float32)
        getattr(_core, name + "_forward")(p, y, loss)
        np.testing.assert_allclose(loss, fwd, rtol=1e-5, atol=1e-6, err_msg=name)
        d = np.empty_like(p)
        getattr(_core, name + "_backward")(p, y, g, d)
        np.testing.assert_allclose(d, g[:, None] * grad, rtol=1e-5, atol=1e-6, err_msg=name)


def _losses_of_nan_rows():
    z = np.zeros((3, 19), np.float32)
    z[0, 5] = np.nan  # a NaN in a full vector
    z[1, 18] = np.nan  # a NaN in the tail
    y = np.zeros_like(z)
    out = {}
    probs, loss = np.empty_like(z), np.empty(3, np.float32)
    _core.softmax_cross_entropy_forward(z, None, np.zeros(3, np.int64), probs, loss)
    out["softmax_ce"] = loss.copy()
    for from_logits in (False, True):
        _core.binary_crossentropy_forward(z, y, from_logits, EPS, loss)
        out["bce", from_logits] = loss.copy()
    _core.mean_squared_error_forward(z, y, loss)
    out["mse"] = loss.copy()
    _core.mean_absolute_error_forward(z, y, loss)
    out["mae"] = loss.copy()
    return out


@pytest.mark.parametrize("isa", ISAS)
def test_nan_predictions_as_the_reference(isa, cap):
    cap("ref")
    want = _losses_of_nan_rows()
    cap(isa)
    got = _losses_of_nan_rows()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, err_msg=str(key))
    # From logits a NaN prediction is a NaN loss (TerminateOnNaN relies on it); probabilities
    # are clipped first, and the clip takes a NaN to the bound as in the reference.
    for key in ("softmax_ce", ("bce", True), "mse", "mae"):
        assert np.isnan(got[key][:2]).all() and np.isfinite(got[key][2]), key
