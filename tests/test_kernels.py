"""C++ kernels against float64 NumPy references on odd shapes, for every ISA variant."""
import math

import numpy as np
import pytest
from scipy import special

from nnfast import _core
from nnfast.ops.nn import ACTIVATION_IDS

SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805


def _sigmoid(x):
    return special.expit(x)


REFERENCES = {
    "linear": (lambda x: x, lambda x: np.ones_like(x)),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "elu": (lambda x: np.where(x > 0, x, np.expm1(x)), lambda x: np.where(x > 0, 1, np.exp(x))),
    "selu": (lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)),
             lambda x: SELU_S * np.where(x > 0, 1, SELU_A * np.exp(x))),
    "softplus": (lambda x: np.logaddexp(0, x), _sigmoid),
    "softsign": (lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2),
    "swish": (lambda x: x * _sigmoid(x), lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "gelu": (lambda x: 0.5 * x * (1 + special.erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + special.erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    "exponential": (np.exp, np.exp),
    "hard_sigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1), lambda x: ((x > -3) & (x < 3)) / 6.0),
    "relu6": (lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)).astype(float)),
    "hard_silu": (lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
                  lambda x: np.where(x <= -3, 0, np.where(x >= 3, 1, x / 3 + 0.5))),
    "mish": (lambda x: x * np.tanh(np.logaddexp(0, x)), None),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("n", [1, 7, 33, 1031])
def test_activation_forward_backward(isa, name, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(np.float32)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from kinks
    if name in ("relu6", "hard_sigmoid", "hard_silu"):
        x[np.abs(np.abs(x) - 6) < 1e-3] += 0.1
        x[np.abs(np.abs(x) - 3) < 1e-3] += 0.1
    act = ACTIVATION_IDS[name]
    alpha = 1.0 if name == "elu" else 0.0  # Keras's elu default
    y = np.empty_like(x)
    _core.activation_forward(act, x, y, alpha)
    fwd, grad = REFERENCES[name]
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, fwd(x64), rtol=2e-6 * 10, atol=1e-6)
    dy = rng.standard_normal(n).astype(np.float32)
    dx = np.empty_like(x)
    _core.activation_backward(act, x, y, dy, dx, alpha)
    if grad is None:  # mish: central differences of the float64 forward
        h = 1e-5
        expected = dy * (fwd(x64 + h) - fwd(x64 - h)) / (2 * h)
    else:
        expected = dy * grad(x64)
    np.testing.assert_allclose(dx, expected, rtol=1e-4, atol=1e-5)


def test_relu_parameters_match_keras(isa):
    x = np.linspace(-5, 9, 57).astype(np.float32)
    y = np.empty_like(x)
    _core.activation_forward(ACTIVATION_IDS["relu"], x, y, 0.1, 6.0, 1.0)
    pos = np.where(x > 1.0, x, 0.0)
    expected = np.clip(pos, 0, 6.0) - 0.1 * np.maximum(1.0 - x, 0)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_activation_backward_from_output_only():
    x = np.linspace(-3, 3, 11).astype(np.float32)
    y = np.empty_like(x)
    _core.activation_forward(ACTIVATION_IDS["tanh"], x, y)
    dx = np.empty_like(x)
    _core.activation_backward(ACTIVATION_IDS["tanh"], None, y, np.ones_like(x), dx)
    np.testing.assert_allclose(dx, 1 - np.tanh(x.astype(np.float64)) ** 2, rtol=1e-5)
    with pytest.raises(ValueError, match="needs its input"):
        _core.activation_backward(ACTIVATION_IDS["gelu"], None, y, np.ones_like(x), dx)


def _softmax64(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (17, 10), (5, 2, 129)])
def test_softmax_and_log_softmax(isa, shape):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 5).astype(np.float32)
    y = np.empty_like(x)
    _core.softmax_forward(x, y)
    p = _softmax64(x.astype(np.float64))
    np.testing.assert_allclose(y, p, rtol=1e-5, atol=1e-7)
    _core.softmax_forward(x, y, True)
    np.testing.assert_allclose(y, np.log(p), rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(shape).astype(np.float32)
    dx = np.empty_like(x)
    _core.softmax_forward(x, y)
    _core.softmax_backward(y, dy, dx)
    expected = p * (dy - (dy * p).sum(-1, keepdims=True))
    np.testing.assert_allclose(dx, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 3), (33, 129), (1000, 17)])
def test_sum_over_rows(rows, cols):
    x = np.random.default_rng(rows).standard_normal((rows, cols)).astype(np.float32)
    out = np.full(cols, 5.0, np.float32)
    _core.sum_over_rows(x, out, False)
    np.testing.assert_allclose(out, x.astype(np.float64).sum(0), rtol=1e-5, atol=1e-4)
    _core.sum_over_rows(x, out, True)
    np.testing.assert_allclose(out, 2 * x.astype(np.float64).sum(0), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("rows,cols", [(1, 2), (9, 10), (31, 7)])
def test_softmax_cross_entropy(rows, cols):
    rng = np.random.default_rng(cols)
    z = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    labels = rng.integers(0, cols, rows).astype(np.int64)
    onehot = np.eye(cols, dtype=np.float32)[labels]
    probs, loss = np.empty_like(z), np.empty(rows, np.float32)
    _core.softmax_cross_entropy_forward(z, None, labels, probs, loss)
    logp = np.log(_softmax64(z.astype(np.float64)))
    np.testing.assert_allclose(loss, -logp[np.arange(rows), labels], rtol=1e-5, atol=1e-6)
    loss2 = np.empty_like(loss)
    _core.softmax_cross_entropy_forward(z, onehot, None, probs, loss2)
    np.testing.assert_allclose(loss2, loss, rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(rows).astype(np.float32)
    d = np.empty_like(z)
    _core.softmax_cross_entropy_backward(probs, None, labels, g, d)
    np.testing.assert_allclose(d, g[:, None] * (np.exp(logp) - onehot), rtol=1e-5, atol=1e-6)


def test_cross_entropy_label_errors():
    z = np.zeros((2, 3), np.float32)
    probs, loss = np.empty_like(z), np.empty(2, np.float32)
    with pytest.raises(ValueError, match="outside"):
        _core.softmax_cross_entropy_forward(z, None, np.array([0, 3], np.int64), probs, loss)
    with pytest.raises(ValueError, match="expected 2 labels"):
        _core.softmax_cross_entropy_forward(z, None, np.array([0], np.int64), probs, loss)
    with pytest.raises(TypeError, match="int64"):
        _core.softmax_cross_entropy_forward(z, None, np.array([0, 1], np.int32), probs, loss)


def test_categorical_crossentropy_on_probabilities_clips_like_keras():
    p = np.array([[0.0, 0.3, 0.7], [0.2, 0.2, 0.6]], np.float32)
    y = np.array([[1, 0, 0], [0, 0, 1]], np.float32)
    loss = np.empty(2, np.float32)
    _core.categorical_crossentropy_forward(p, y, None, 1e-7, loss)
    q = np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(loss, -(y * np.log(q)).sum(-1), rtol=1e-5)


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy(from_logits):
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.99, (13, 3)).astype(np.float32)
    if from_logits:
        p = rng.standard_normal((13, 3)).astype(np.float32) * 3
    y = (rng.uniform(size=(13, 3)) > 0.5).astype(np.float32)
    loss = np.empty(13, np.float32)
    _core.binary_crossentropy_forward(p, y, from_logits, 1e-7, loss)
    q = special.expit(p.astype(np.float64)) if from_logits else np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    expected = -(y * np.log(q) + (1 - y) * np.log(1 - q)).mean(-1)
    np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-6)
    g = np.ones(13, np.float32)
    d = np.empty_like(p)
    _core.binary_crossentropy_backward(p, y, g, from_logits, 1e-7, d)
    expected_d = (q - y) / 3 if from_logits else (q - y) / (q * (1 - q)) / 3
    np.testing.assert_allclose(d, expected_d, rtol=1e-4, atol=1e-6)


def test_mse_mae_kernels():
    rng = np.random.default_rng(4)
    p, y = rng.standard_normal((2, 9, 5)).astype(np.float32)
    for name, fwd, grad in [("mean_squared_error", lambda e: (e ** 2).mean(-1), lambda e: 2 * e / 5),
                            ("mean_absolute_error", lambda e: np.abs(e).mean(-1), lambda e: np.sign(e) / 5)]:
        loss = np.empty(9, np.float32)
        getattr(_core, name + "_forward")(p, y, loss)
        e = p.astype(np.float64) - y
        np.testing.assert_allclose(loss, fwd(e), rtol=1e-5, atol=1e-6)
        d = np.empty_like(p)
        getattr(_core, name + "_backward")(p, y, np.ones(9, np.float32), d)
        np.testing.assert_allclose(d, grad(e), rtol=1e-5, atol=1e-6)


def test_dropout_mask_is_deterministic_thread_independent_and_unbiased():
    x = np.ones(200_003, np.float32)
    outs = []
    for threads in (1, 2):
        _core.set_num_threads(threads)
        y = np.empty_like(x)
        _core.dropout_apply(x, y, 0.3, 1234, 77)
        outs.append(y)
    _core.set_num_threads(2)
    np.testing.assert_array_equal(outs[0], outs[1])
    y = outs[0]
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    other = np.empty_like(x)
    _core.dropout_apply(x, other, 0.3, 1235, 77)
    assert (other != y).mean() > 0.3  # another seed, another mask
    with pytest.raises(ValueError, match="rate"):
        _core.dropout_apply(x, y, 1.0, 1, 0)


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_update_matches_keras_rule(momentum, nesterov):
    rng = np.random.default_rng(5)
    w = rng.standard_normal(1001).astype(np.float32)
    m = np.zeros_like(w)
    w64, m64 = w.astype(np.float64), np.zeros(1001)
    for _ in range(4):
        g = rng.standard_normal(1001).astype(np.float32)
        _core.sgd_update(w, g, m if momentum else None, 0.1, momentum, nesterov)
        if momentum:
            m64 = momentum * m64 - 0.1 * g
            w64 = w64 + (momentum * m64 - 0.1 * g if nesterov else m64)
        else:
            w64 = w64 - 0.1 * g
    np.testing.assert_allclose(w, w64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_update_matches_keras_rule(amsgrad):
    rng = np.random.default_rng(6)
    n, lr, b1, b2, eps = 777, 0.01, 0.9, 0.999, 1e-7
    w = rng.standard_normal(n).astype(np.float32)
    m, v, vh = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    w64, m64, v64, vh64 = w.astype(np.float64), np.zeros(n), np.zeros(n), np.zeros(n)
    for t in range(1, 6):
        g = rng.standard_normal(n).astype(np.float32)
        _core.adam_update(w, g, m, v, vh if amsgrad else None, lr, b1, b2, eps, t)
        m64 += (g - m64) * (1 - b1)
        v64 += (g * g - v64) * (1 - b2)
        vh64 = np.maximum(vh64, v64)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w64 -= alpha * m64 / (np.sqrt(vh64 if amsgrad else v64) + eps)
    np.testing.assert_allclose(w, w64, rtol=1e-5, atol=1e-6)


def test_kernels_reject_bad_buffers():
    x = np.zeros((3, 4), np.float64)
    with pytest.raises(TypeError, match="float32"):
        _core.softmax_forward(x, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="same size"):
        _core.activation_forward(1, np.zeros(3, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        a = np.zeros((4, 4), np.float32)[:, ::2]
        _core.activation_forward(1, a, np.zeros((4, 2), np.float32))
    ro = np.zeros(3, np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        _core.activation_forward(1, np.zeros(3, np.float32), ro)


def test_dropout_mask_identical_across_isas():
    import nnfast

    x = np.random.default_rng(9).standard_normal(1037).astype(np.float32)
    masks = []
    previous = nnfast.config.active_isa()  # NNFAST_MAX_ISA's cap stands for later tests
    for name in nnfast.config.available_isas():
        nnfast.config.set_max_isa(name)
        y = np.empty_like(x)
        _core.dropout_apply(x, y, 0.25, 42, 1000)
        masks.append(y)
    nnfast.config.set_max_isa(previous)
    for y in masks[1:]:
        np.testing.assert_array_equal(y, masks[0])
    expected = np.array([_core.counter_uniform(42, 1000 + i) >= 0.25 for i in range(1037)])
    np.testing.assert_array_equal(masks[0] != 0, expected)
