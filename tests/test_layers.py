import numpy as np
import pytest

import nnfast
from nnfast import layers
from layer_contract import run_layer_test


def test_dense_contract_and_keras_layout():
    layer = run_layer_test(layers.Dense, {"units": 3, "activation": "relu"}, (4, 5), (4, 3), 2)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (5, 3) and bias.shape == (3,)
    assert [w.path for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    fresh = layers.Dense(3)
    fresh.build((None, 5))
    np.testing.assert_array_equal(fresh.bias.numpy(), 0)  # zeros initializer


def test_dense_glorot_uniform_bounds_and_no_bias():
    layer = layers.Dense(300, use_bias=False)
    layer.build((None, 200))
    limit = np.sqrt(6 / (200 + 300))
    k = layer.kernel.numpy()
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert abs(k.std() - limit / np.sqrt(3)) < 0.01
    assert len(layer.weights) == 1


def test_dense_rejects_bad_units_and_kwargs():
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        layers.Dense(3, unitz=4)


def test_dense_matches_numpy_on_nd_input():
    layer = layers.Dense(4, activation="tanh")
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(np.float32)
    y = np.asarray(layer(x))
    k, b = layer.get_weights()
    np.testing.assert_allclose(y, np.tanh(x.astype(np.float64) @ k + b), rtol=1e-5, atol=1e-6)


def test_flatten_reshape_activation_relu_softmax_contracts():
    run_layer_test(layers.Flatten, {}, (2, 3, 4), (2, 12), 0)
    run_layer_test(layers.Reshape, {"target_shape": (4, -1)}, (2, 3, 4), (2, 4, 3), 0)
    run_layer_test(layers.Activation, {"activation": "sigmoid"}, (2, 5), (2, 5), 0)
    run_layer_test(layers.ReLU, {"max_value": 6.0, "negative_slope": 0.1}, (2, 5), (2, 5), 0)
    run_layer_test(layers.LeakyReLU, {"negative_slope": 0.3}, (2, 5), (2, 5), 0)
    run_layer_test(layers.Softmax, {}, (2, 5), (2, 5), 0)


def test_flatten_is_c_order_channels_last():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(np.asarray(layers.Flatten()(x)), x.reshape(1, -1))


def test_dropout_training_only_and_reproducible():
    x = np.ones((100, 50), np.float32)
    nnfast.utils.set_random_seed(7)
    d = layers.Dropout(0.2)
    np.testing.assert_array_equal(np.asarray(d(x)), x)
    np.testing.assert_array_equal(np.asarray(d(x, training=False)), x)
    y = np.asarray(d(x, training=True))
    assert abs((y == 0).mean() - 0.2) < 0.02
    np.testing.assert_allclose(y[y != 0], 1.25, rtol=1e-6)
    assert not np.array_equal(y, np.asarray(d(x, training=True)))  # a new mask each call
    nnfast.utils.set_random_seed(7)
    np.testing.assert_array_equal(np.asarray(layers.Dropout(0.2)(x, training=True)), y)
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)


def test_reshape_validates_target():
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((5,)).compute_output_shape((None, 2, 3))


def test_set_weights_validates():
    layer = layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expecting 2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 2\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])


def test_custom_layer_with_ops_gets_gradients():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

        def call(self, inputs):
            return nnfast.ops.multiply(inputs, self.scale)

    layer = Scale()
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    layer(x)
    with nnfast.GradientTape() as tape:
        loss = nnfast.ops.sum(layer(x))
    (g,) = tape.gradient(loss, layer.trainable_weights)
    np.testing.assert_allclose(g, x.sum(0), rtol=1e-6)


def test_initializers_by_name():
    for name in ["zeros", "ones", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                 "lecun_normal", "orthogonal", "random_normal", "truncated_normal", "uniform"]:
        init = nnfast.initializers.get(name)
        assert init((4, 3)).shape == (4, 3)
    q = nnfast.initializers.Orthogonal()((5, 3))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-5)
