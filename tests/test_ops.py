"""nnfast.ops: values against NumPy, gradients against finite differences."""
import numpy as np
import pytest

import nnfast
from nnfast import ops
from conftest import check_grads

rng = np.random.default_rng(0)


def r(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("fn,ref", [
    (ops.add, np.add), (ops.subtract, np.subtract), (ops.multiply, np.multiply),
    (ops.maximum, np.maximum), (ops.minimum, np.minimum),
])
def test_binary_broadcasting_values_and_grads(fn, ref):
    a, b = r(3, 5), r(1, 5)
    np.testing.assert_allclose(np.asarray(fn(a, b)), ref(a, b), rtol=1e-6)
    check_grads(fn, a, b)


def test_divide_and_power():
    a, b = r(4, 3), np.abs(r(4, 3)) + 0.5
    check_grads(ops.divide, a, b)
    check_grads(lambda x: ops.power(x, 3.0), np.abs(a) + 0.2)


@pytest.mark.parametrize("fn", [ops.square, ops.exp, ops.negative, ops.abs, ops.sin, ops.cos])
def test_unary_grads(fn):
    check_grads(fn, r(2, 7) + 0.01)


def test_sqrt_log_grads():
    x = np.abs(r(3, 4)) + 0.5
    check_grads(ops.sqrt, x)
    check_grads(ops.log, x)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False)])
def test_reductions(axis, keepdims):
    x = r(3, 4, 5)
    np.testing.assert_allclose(np.asarray(ops.sum(x, axis, keepdims)), x.sum(axis, keepdims=keepdims), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ops.mean(x, axis, keepdims)), x.mean(axis, keepdims=keepdims), rtol=1e-5)
    check_grads(lambda t: ops.sum(t, axis, keepdims), x)
    check_grads(lambda t: ops.mean(t, axis, keepdims), x)
    check_grads(lambda t: ops.max(t, axis, keepdims), x)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 7), (17, 33, 9)])
def test_matmul(m, k, n):
    a, b = r(m, k), r(k, n)
    np.testing.assert_allclose(np.asarray(ops.matmul(a, b)), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-5)
    check_grads(ops.matmul, a, b)


def test_batched_matmul_grads():
    check_grads(ops.matmul, r(2, 3, 4), r(4, 5))          # leading axes as GEMM rows
    check_grads(ops.matmul, r(2, 3, 4), r(2, 4, 5))       # same-batch stacks: batched SGEMM
    check_grads(ops.matmul, r(2, 3, 4), r(1, 4, 5))       # broadcasting: NumPy
    a, b = r(3, 2, 7, 5), r(3, 2, 5, 9)
    np.testing.assert_allclose(np.asarray(ops.matmul(a, b)), a.astype(np.float64) @ b,
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="incompatible shapes"):
        ops.matmul(r(2, 3, 4), r(2, 5, 6))
    a, b = r(2, 3, 5, 4), r(4, 6)
    np.testing.assert_allclose(np.asarray(ops.matmul(a, b)), a.astype(np.float64) @ b,
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="incompatible shapes"):
        ops.matmul(r(2, 3, 4), r(5, 6))


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax", "gelu", "selu", "softplus"])
def test_dense_op_values_and_grads(activation):
    x, w, b = r(5, 7), r(7, 3, scale=0.5), r(3)
    z = x.astype(np.float64) @ w + b
    got = np.asarray(ops.dense(x, w, b, activation))
    act = nnfast.activations.get(activation)
    np.testing.assert_allclose(got, np.asarray(act(z.astype(np.float32))), rtol=1e-4, atol=1e-5)
    check_grads(lambda *a: ops.dense(*a, activation=activation), x, w, b)


def test_dense_on_3d_input():
    x, w, b = r(2, 3, 4), r(4, 5), r(5)
    np.testing.assert_allclose(np.asarray(ops.dense(x, w, b)), x @ w + b, rtol=1e-5, atol=1e-5)
    check_grads(ops.dense, x, w, b)


def test_dense_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(2, 3\)"):
        ops.dense(r(2, 3), r(4, 5), r(5))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign",
                                  "silu", "gelu", "leaky_relu", "mish", "hard_silu", "relu6"])
def test_activation_op_grads(name):
    x = r(4, 6, scale=2.0)
    # Keep finite differences off the kinks (relu at 0, hard_silu at +-3, relu6 at 6).
    for kink in (0.0, 3.0, -3.0, 6.0):
        x[np.abs(x - kink) < 0.05] = kink + 0.3
    check_grads(getattr(ops, name), x)


def test_softmax_any_axis():
    x = r(3, 4, 5)
    for axis in (-1, 1, 0):
        e = np.exp(x - x.max(axis, keepdims=True))
        np.testing.assert_allclose(np.asarray(ops.softmax(x, axis)), e / e.sum(axis, keepdims=True), rtol=1e-5, atol=1e-7)
        check_grads(lambda t: ops.softmax(t, axis), x)
    check_grads(ops.log_softmax, r(3, 6))


def test_dropout_gradient_uses_the_same_mask():
    x = r(8, 9)
    out = np.asarray(ops.dropout(x, 0.5, seed=3))
    kept = out != 0
    check_grads(lambda t: ops.dropout(t, 0.5, seed=3), x)
    np.testing.assert_allclose(out[kept], 2 * x[kept], rtol=1e-6)


def test_crossentropies_and_their_grads():
    logits = r(6, 4)
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4, dtype=np.float32)[labels]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(np.asarray(ops.categorical_crossentropy(onehot, logits, from_logits=True)),
                               -(onehot * logp).sum(-1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)),
                               -(onehot * logp).sum(-1), rtol=1e-5)
    check_grads(lambda z: ops.categorical_crossentropy(onehot, z, from_logits=True), logits)
    check_grads(lambda z: ops.sparse_categorical_crossentropy(labels, z, from_logits=True), logits)
    probs = np.exp(logp).astype(np.float32)
    check_grads(lambda p: ops.categorical_crossentropy(onehot, p), probs, rtol=5e-2)
    # A softmax output remembers its logits: the loss is the fused, unclipped one.
    check_grads(lambda z: ops.categorical_crossentropy(onehot, ops.softmax(z)), logits)
    y = (rng.uniform(size=(6, 4)) > 0.5).astype(np.float32)
    check_grads(lambda z: ops.binary_crossentropy(y, z, from_logits=True), logits)
    check_grads(lambda z: ops.binary_crossentropy(y, ops.sigmoid(z)), logits)
    # keras.ops.binary_crossentropy is elementwise (the loss averages over an axis)
    z64 = logits.astype(np.float64)
    want = np.maximum(z64, 0) - z64 * y + np.log1p(np.exp(-np.abs(z64)))
    got = np.asarray(ops.binary_crossentropy(y, logits, from_logits=True))
    assert got.shape == y.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    p = 1 / (1 + np.exp(-z64))
    np.testing.assert_allclose(np.asarray(ops.binary_crossentropy(y, p.astype(np.float32))),
                               -(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-4, atol=1e-5)
    check_grads(lambda p: ops.mean_squared_error(y, p), logits)


def test_loss_input_errors():
    with pytest.raises(ValueError, match="outside the valid range"):
        ops.sparse_categorical_crossentropy(np.array([0, 4]), r(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        ops.sparse_categorical_crossentropy(np.array([0.0, np.nan]), r(2, 4))
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy(r(2, 3), r(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        ops.mean_squared_error(np.array([[np.nan]], np.float32), r(1, 1))


def test_shape_ops_grads():
    x = r(2, 3, 4)
    check_grads(lambda t: ops.reshape(t, (6, 4)), x)
    check_grads(lambda t: ops.transpose(t, (2, 0, 1)), x)
    check_grads(lambda t: ops.get_item(t, (slice(None), 1)), x)
    check_grads(lambda a, b: ops.concatenate([a, b], axis=1), x, r(2, 5, 4))
    check_grads(lambda t: ops.expand_dims(t, 1), x)
    check_grads(lambda t: ops.clip(t, -0.5, 0.5), x)


def test_tensor_operators_are_differentiable():
    a, b = nnfast.Variable(r(3)), nnfast.Variable(r(3))
    with nnfast.GradientTape() as tape:
        y = ops.sum((a * b + a) / 2.0 - b ** 2)
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_allclose(ga, (b.numpy() + 1) / 2, rtol=1e-6)
    np.testing.assert_allclose(gb, a.numpy() / 2 - 2 * b.numpy(), rtol=1e-5)


def test_tape_reuse_accumulates_and_unconnected_is_none():
    a, c = nnfast.Variable(r(3)), nnfast.Variable(r(3))
    with nnfast.GradientTape() as tape:
        y = ops.sum(ops.multiply(a, a))
    ga, gc = tape.gradient(y, [a, c])
    np.testing.assert_allclose(ga, 2 * a.numpy(), rtol=1e-6)
    assert gc is None


def test_ops_accept_numpy_and_return_tensors():
    out = ops.relu(np.array([-1.0, 2.0]))
    assert isinstance(out, nnfast.Tensor)
    np.testing.assert_array_equal(np.asarray(out), [0.0, 2.0])
    assert out.numpy().dtype == np.float32


def test_more_keras_ops_values_and_grads():
    x = r(3, 4) + 0.1
    np.testing.assert_allclose(np.asarray(ops.var(x, axis=1)), x.var(1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ops.std(x)), x.std(), rtol=1e-5)
    from scipy.special import logsumexp as ref_lse

    np.testing.assert_allclose(np.asarray(ops.logsumexp(x, axis=0)), ref_lse(x, axis=0), rtol=1e-5)
    check_grads(lambda t: ops.var(t, axis=0), x)
    check_grads(lambda t: ops.logsumexp(t, axis=1), x)
    check_grads(lambda t: ops.cumsum(t, axis=1), x)
    check_grads(lambda t: ops.prod(t, axis=1), x)
    check_grads(lambda t: ops.tile(t, (2, 1)), x)
    check_grads(lambda t: ops.repeat(t, 2, axis=1), x)
    check_grads(lambda t: ops.pad(t, ((1, 0), (0, 2))), x)
    check_grads(lambda t: ops.broadcast_to(t[None], (2, 3, 4)), x)
    check_grads(lambda t: ops.concatenate(ops.split(t, 2, axis=1)[::-1], axis=1), x)
    check_grads(lambda t: ops.moveaxis(t, 0, 1), x)
    values, idx = ops.top_k(np.array([[1.0, 5.0, 3.0]]), 2)
    np.testing.assert_array_equal(np.asarray(idx), [[1, 2]])
    np.testing.assert_array_equal(np.asarray(values), [[5.0, 3.0]])
    a = nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        y = ops.sum(ops.multiply(ops.stop_gradient(a), a))
    np.testing.assert_allclose(tape.gradient(y, a), x, rtol=1e-6)
    assert np.asarray(ops.greater(x, 0.5)).dtype == bool
