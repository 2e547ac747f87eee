"""BatchNormalization / LayerNormalization kernels, ops and layers against float64 NumPy
references of Keras's definitions, for every ISA; gradients against finite differences."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(2)


def rand(*shape, scale=1.0, loc=0.0):
    return (RNG.standard_normal(shape) * scale + loc).astype(np.float32)


def bn_train_ref(x, gamma, beta, eps=1e-3, axis=-1):
    x = np.asarray(x, np.float64)
    axes = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * np.reshape(gamma, shape) + np.reshape(beta, shape), mean, var


def ln_ref(x, gamma, beta, eps=1e-3):
    x = np.asarray(x, np.float64)
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


@pytest.mark.parametrize("shape", [(7, 5), (3, 5, 4, 13), (2, 3, 3, 70)])
def test_batch_norm_training_forward_and_gradients(shape, isa):
    x = rand(*shape, scale=3.0, loc=20.0)  # a large mean checks the variance's stability
    c = shape[-1]
    gamma, beta = rand(c), rand(c)
    y, mean, var = ops.batch_norm_train(x, gamma, beta, 1e-3)
    want, wmean, wvar = bn_train_ref(x, gamma, beta)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=2e-4)
    np.testing.assert_allclose(mean, wmean, rtol=1e-5)
    np.testing.assert_allclose(var, wvar, rtol=1e-4)
    if np.prod(shape) < 2000:
        ref.check_grads(lambda a, g, b: ops.batch_norm_train(a, g, b, 1e-3)[0],
                        lambda a, g, b: bn_train_ref(a, g, b)[0], [x, gamma, beta],
                        eps=1e-3, rtol=2e-2, atol=2e-3)


def test_batch_norm_inference_and_axis(isa):
    x = rand(4, 3, 5, 6)
    mm, mv, gamma, beta = rand(3), np.abs(rand(3)) + 0.5, rand(3), rand(3)
    got = ops.batch_normalization(x, mm, mv, axis=1, offset=beta, scale=gamma, epsilon=1e-3)
    s = (1, 3, 1, 1)
    want = (x - mm.reshape(s)) / np.sqrt(mv.reshape(s) + 1e-3) * gamma.reshape(s) + beta.reshape(s)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    ref.check_grads(
        lambda a, g, b: ops.batch_normalization(a, mm, mv, 1, b, g, 1e-3),
        lambda a, g, b: (a - mm.reshape(s)) / np.sqrt(mv.reshape(s) + 1e-3) * g.reshape(s)
        + b.reshape(s), [x[:2, :, :2, :3], gamma, beta], eps=1e-3)


def test_batch_normalization_layer_updates_moving_stats_like_keras():
    layer = layers.BatchNormalization()
    x = rand(16, 4, 4, 3, scale=2.0, loc=1.0)
    y = layer(x, training=True)
    want, mean, var = bn_train_ref(x, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-4)
    names = [w.name for w in layer.weights]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    mm, mv = layer.get_weights()[2:]
    np.testing.assert_allclose(mm, 0.99 * 0 + 0.01 * mean, rtol=1e-5)
    np.testing.assert_allclose(mv, 0.99 * 1 + 0.01 * var, rtol=1e-5)
    # Inference uses the moving statistics; trainable=False forces inference even in training.
    inf = layer(x, training=False)
    np.testing.assert_allclose(np.asarray(inf), (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-4,
                               atol=1e-4)
    layer.trainable = False
    frozen = layer(x, training=True)
    np.testing.assert_allclose(np.asarray(frozen), np.asarray(inf), rtol=1e-6)
    np.testing.assert_array_equal(layer.get_weights()[2], mm)
    config = layer.get_config()
    assert config["momentum"] == 0.99 and config["epsilon"] == 1e-3
    assert layers.BatchNormalization.from_config(config).get_config() == config


def test_batch_norm_moving_stats_update_inside_fit():
    model = nnfast.Sequential([nnfast.Input((4,)), layers.BatchNormalization()])
    model.compile("sgd", "mse")
    x = rand(32, 4, loc=3.0)
    model.fit(x, x, batch_size=32, epochs=1, verbose=0, shuffle=False)
    mm = model.layers[0].get_weights()[2]
    np.testing.assert_allclose(mm, 0.01 * x.astype(np.float64).mean(0), rtol=1e-4)


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 33)])
def test_layer_norm_forward_and_gradients(shape, isa):
    x = rand(*shape, scale=2.0, loc=5.0)
    d = shape[-1]
    gamma, beta = rand(d), rand(d)
    got = ops.layer_normalization(x, gamma, beta, epsilon=1e-3)  # Keras's default is 1e-7
    np.testing.assert_allclose(np.asarray(got), ln_ref(x, gamma, beta), rtol=1e-4, atol=2e-4)
    ref.check_grads(lambda a, g, b: ops.layer_normalization(a, g, b, epsilon=1e-3),
                    lambda a, g, b: ln_ref(a, g, b), [x, gamma, beta], eps=1e-3, rtol=2e-2,
                    atol=2e-3)


def test_layer_normalization_layer():
    layer = layers.LayerNormalization()
    x = rand(3, 4, 6)
    y = layer(x)
    np.testing.assert_allclose(np.asarray(y), ln_ref(x, 1.0, 0.0), rtol=1e-4, atol=1e-4)
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    multi = layers.LayerNormalization(axis=(1, 2))
    y2 = multi(x)
    flat = x.reshape(3, -1)
    np.testing.assert_allclose(np.asarray(y2).reshape(3, -1), ln_ref(flat, 1.0, 0.0), rtol=1e-4,
                               atol=1e-4)
    assert multi.weights[0].shape == (4, 6)
    assert layers.LayerNormalization.from_config(layer.get_config()).get_config() == \
        layer.get_config()


def test_norm_bad_inputs():
    from nnfast import _core

    with pytest.raises(ValueError, match="gamma"):
        _core.batch_norm_forward_training(rand(4, 3), rand(2), None, 1e-3, rand(4, 3), rand(3),
                                          rand(3))
    with pytest.raises(ValueError, match="non-empty"):
        _core.batch_norm_forward_training(np.zeros((0, 3), np.float32), None, None, 1e-3,
                                          np.zeros((0, 3), np.float32), rand(3), rand(3))
