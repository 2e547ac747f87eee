"""float64 models: ``set_floatx("float64")`` and ``dtype="float64"`` layers compute, train and
save in float64. Trainings replayed against Keras 3.15 records (fixtures written by
tests/fixtures/float64/make_float64.py), float64 ops against finite differences and against
the float32 kernels' semantics."""
import os

import nnfast
import numpy as np
import pytest
from nnfast import layers as L
from nnfast import ops
from nnfast.ops import fused
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor, Variable

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "float64")


@pytest.fixture
def float64():
    nnfast.config.set_floatx("float64")
    try:
        yield
    finally:
        nnfast.config.set_floatx("float32")


# --- replaying Keras's float64 trainings -------------------------------------------------------

def _mlp():
    return nnfast.Sequential([nnfast.Input((7,)), L.Dense(9, activation="relu"),
                              L.Dense(6, activation="tanh"), L.Dense(4, activation="softmax")])


def _cnn():
    return nnfast.Sequential([nnfast.Input((9, 8, 2)), L.Conv2D(4, 3, activation="relu"),
                              L.MaxPooling2D(2), L.Conv2D(3, (2, 2), padding="same",
                                                           activation="sigmoid"),
                              L.AveragePooling2D(2), L.Flatten(), L.Dense(3)])


def _rnn():
    return nnfast.Sequential([nnfast.Input((5,), dtype="int32"), L.Embedding(11, 4),
                              L.LSTM(6, return_sequences=True), L.GRU(5), L.Dense(1)])


def _norm():
    return nnfast.Sequential([nnfast.Input((6, 3)), L.Conv1D(5, 3, activation="elu"),
                              L.BatchNormalization(), L.SimpleRNN(4, return_sequences=True),
                              L.LayerNormalization(), L.GlobalAveragePooling1D(),
                              L.Dense(2, activation="sigmoid")])


def _embed():
    return nnfast.Sequential([nnfast.Input((6,), dtype="int32"), L.Embedding(7, 3),
                              L.GlobalAveragePooling1D(), L.Dropout(0.0), L.Dense(2)])


CASES = {
    "mlp": (_mlp, lambda: nnfast.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
            ["accuracy"]),
    "cnn": (_cnn, lambda: nnfast.optimizers.SGD(0.05, momentum=0.9), "mse", ["mae"]),
    "rnn": (_rnn, lambda: nnfast.optimizers.SGD(0.1, momentum=0.5, nesterov=True), "mae", []),
    "norm": (_norm, lambda: nnfast.optimizers.RMSprop(0.01, momentum=0.3, centered=True),
             "binary_crossentropy", ["binary_accuracy"]),
    # Adam squares the embedding table's gradient per token, as Keras on TensorFlow.
    "embed": (_embed, lambda: nnfast.optimizers.Adam(0.05, clipnorm=0.5), "mse", []),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_replays_keras_float64(name, float64):
    record = np.load(os.path.join(HERE, f"{name}.npz"))
    build, optimizer, loss, metrics = CASES[name]
    model = build()
    count = len(model.get_weights())
    model.set_weights([record[f"w0_{i}"] for i in range(count)])
    assert all(w.dtype == np.float64 for w in model.get_weights())
    model.compile(optimizer=optimizer(), loss=loss, metrics=metrics)
    history = model.fit(record["x"], record["y"], batch_size=4, epochs=3, shuffle=False,
                        verbose=0)
    for key, values in history.history.items():
        np.testing.assert_allclose(values, record["hist_" + key], rtol=1e-10, atol=1e-12)
    for i, w in enumerate(model.get_weights()):
        assert w.dtype == np.float64
        np.testing.assert_allclose(w, record[f"w1_{i}"], rtol=1e-10, atol=1e-12)
    pred = model.predict(record["x"], verbose=0)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred, record["pred"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.evaluate(record["x"], record["y"], batch_size=5, verbose=0),
                               record["eval"], rtol=1e-10, atol=1e-12)


OPTIMIZERS = {
    "adamw": lambda: nnfast.optimizers.AdamW(0.01, weight_decay=0.05),
    "adam_amsgrad": lambda: nnfast.optimizers.Adam(0.02, amsgrad=True, clipvalue=0.3),
    "adagrad": lambda: nnfast.optimizers.Adagrad(0.1, initial_accumulator_value=0.2),
    "rmsprop": lambda: nnfast.optimizers.RMSprop(0.005),
    "sgd_nesterov": lambda: nnfast.optimizers.SGD(0.1, momentum=0.7, nesterov=True,
                                                  clipnorm=0.5),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_rules_replay_keras_float64(name, float64):
    record = np.load(os.path.join(HERE, "optimizers.npz"))
    model = _mlp()
    model.set_weights([record[f"w0_{i}"] for i in range(6)])
    model.compile(optimizer=OPTIMIZERS[name](), loss="sparse_categorical_crossentropy")
    model.fit(record["x"], record["y"], batch_size=6, epochs=1, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, record[f"{name}_{i}"], rtol=1e-10, atol=1e-12)


def test_keras_float64_file_loads_and_saves(tmp_path):
    record = np.load(os.path.join(HERE, "mlp.npz"))
    model = nnfast.saving.load_model(os.path.join(HERE, "mlp_float64.keras"))
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.layers[0].dtype == "float64" and model.layers[0].compute_dtype == "float64"
    # Keras in a float32 session narrows float64 data to float32 too (the same 1.5e-8).
    np.testing.assert_allclose(model.predict(record["x"], verbose=0), record["pred"],
                               rtol=0, atol=1e-7)
    nnfast.config.set_floatx("float64")
    try:
        np.testing.assert_allclose(model.predict(record["x"], verbose=0), record["pred"],
                                   rtol=1e-12, atol=1e-14)
        path = str(tmp_path / "again.keras")
        model.save(path)
        again = nnfast.saving.load_model(path)
    finally:
        nnfast.config.set_floatx("float32")
    assert again.layers[0].get_config()["dtype"] == "float64"
    for a, b in zip(again.get_weights(), model.get_weights()):
        assert a.dtype == np.float64 and np.array_equal(a, b)


def test_float64_layer_in_a_float32_session():
    layer = L.Dense(3, activation="tanh", dtype="float64")
    x = np.random.RandomState(0).rand(4, 5).astype("float32")
    y = layer(x)
    assert layer.kernel.value.dtype == np.float64 and np.asarray(y).dtype == np.float64
    expected = np.tanh(x.astype(np.float64) @ layer.kernel.value + layer.bias.value)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-14)
    assert L.Dense(3).dtype == "float32"


def test_config_and_refusals(float64):
    assert nnfast.config.floatx() == "float64"
    assert nnfast.config.dtype_policy().name == "float64"
    assert L.Dense(2).dtype == "float64"
    with pytest.raises(NotImplementedError, match="mixed_bfloat16"):
        nnfast.config.set_floatx("float16")
    assert nnfast.config.floatx() == "float64"
    # A layer without a float64 route says so instead of computing in float32.
    layer = L.Conv3D(2, 2)
    with pytest.raises(NotImplementedError, match="Conv3D.*no float64 route"):
        layer(np.ones((1, 3, 3, 3, 1)))
    # An optimizer without a float64 rule too.
    model = nnfast.Sequential([nnfast.Input((3,)), L.Dense(1)])
    model.compile(nnfast.optimizers.Nadam(), "mse")
    with pytest.raises(NotImplementedError, match="Nadam has no float64 update"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


def test_float32_models_stay_float32_after_float64_use(float64):
    nnfast.config.set_floatx("float32")
    layer = L.Dense(2)
    assert np.asarray(layer(np.ones((1, 3)))).dtype == np.float32
    assert layer.kernel.value.dtype == np.float32


# --- float64 ops: gradients against finite differences ------------------------------------------
# (under set_floatx("float64"), where float64 NumPy arrays take the float64 route; the float32
# comparisons pass float32 arrays)


def test_float64_route_of_numpy_arrays_follows_floatx():
    x = np.array([-1.0, 2.0])
    assert np.asarray(ops.relu(x).value).dtype == np.float32  # narrowed, as convert_to_tensor
    assert np.asarray(ops.relu(Tensor(x)).value).dtype == np.float64
    nnfast.config.set_floatx("float64")
    try:
        assert np.asarray(ops.relu(x).value).dtype == np.float64
    finally:
        nnfast.config.set_floatx("float32")

def _check_grads(fn, arrays, seed=0, points=6, eps=1e-6, rtol=1e-6):
    """d sum(fn(*arrays) * w)/d arrays from the tape against central differences at a few
    random coordinates of every array."""
    rng = np.random.RandomState(seed)
    variables = [Variable(a, dtype="float64") for a in arrays]
    weights = rng.randn(*np.shape(np.asarray(fn(*variables).value)))

    def scalar(values):
        return float(np.sum(np.asarray(fn(*[Tensor(v) for v in values]).value) * weights))

    with GradientTape() as tape:
        total = ops.sum(ops.multiply(fn(*variables), weights))
    grads = tape.gradient(total, variables)
    for k, (a, g) in enumerate(zip(arrays, grads)):
        assert np.asarray(g).dtype == np.float64
        for _ in range(points):
            idx = tuple(rng.randint(n) for n in a.shape)
            plus, minus = [v.copy() for v in arrays], [v.copy() for v in arrays]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            numeric = (scalar(plus) - scalar(minus)) / (2 * eps)
            assert abs(np.asarray(g)[idx] - numeric) <= rtol * max(1.0, abs(numeric)) + 1e-8, \
                (k, idx, np.asarray(g)[idx], numeric)


ACTIVATIONS = ["relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "silu",
               "gelu", "exponential", "hard_sigmoid", "relu6", "leaky_relu", "hard_silu", "mish"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values_and_gradients(name, float64):
    x = np.random.RandomState(1).randn(5, 7) * 2.5
    fn = getattr(nnfast.activations, name)
    y = fn(Tensor(x))
    assert np.asarray(y.value).dtype == np.float64
    as32 = np.asarray(fn(Tensor(x.astype(np.float32))).value)
    np.testing.assert_allclose(np.asarray(y.value), as32, rtol=2e-5, atol=2e-5)
    _check_grads(lambda v: fn(v), [x + 0.013])  # away from the kinks at 0, +-3, 6


def test_dense_softmax_losses_gradients(float64):
    rng = np.random.RandomState(2)
    x, k, b = rng.randn(6, 5), rng.randn(5, 4), rng.randn(4)
    labels = rng.randint(0, 4, 6)
    onehot = np.eye(4)[labels]
    _check_grads(lambda x, k, b: ops.dense(x, k, b, "tanh"), [x, k, b])
    _check_grads(lambda x: ops.softmax(x, axis=0), [x])
    _check_grads(lambda x: ops.log_softmax(x), [x])
    probs = lambda z: ops.softmax(ops.multiply(z, 1.0))
    _check_grads(lambda z: nnfast.losses.categorical_crossentropy(onehot, probs(z)), [x[:, :4]])
    _check_grads(lambda z: nnfast.losses.sparse_categorical_crossentropy(labels, z,
                                                                         from_logits=True),
                 [x[:, :4]])
    p = 1 / (1 + np.exp(-x[:, :4]))
    _check_grads(lambda q: nnfast.losses.binary_crossentropy(onehot, q), [p])
    _check_grads(lambda q: nnfast.losses.mean_absolute_error(onehot, q), [p + 0.01])
    # values as Keras writes them
    z = x[:, :4]
    expected = -(onehot * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum(1)
    np.testing.assert_allclose(np.asarray(nnfast.losses.categorical_crossentropy(
        onehot, z, from_logits=True).value), expected, rtol=1e-13)


@pytest.mark.parametrize("geometry", [
    {"strides": 1, "padding": "valid", "dilation_rate": 1, "groups": 1},
    {"strides": 2, "padding": "same", "dilation_rate": 1, "groups": 1},
    {"strides": 1, "padding": "same", "dilation_rate": 2, "groups": 1},
    {"strides": (2, 1), "padding": "valid", "dilation_rate": 1, "groups": 2},
])
def test_conv2d_matches_float32_kernel_and_finite_differences(geometry, float64):
    rng = np.random.RandomState(3)
    x = rng.randn(2, 7, 6, 4)
    k = rng.randn(3, 2, 4 // geometry["groups"], 6)
    b = rng.randn(6)

    def conv(x, k, b):
        return ops.conv_fused(x, k, b, geometry["strides"], geometry["padding"],
                              geometry["dilation_rate"], activation="relu")

    y = np.asarray(conv(x, k, b).value)
    y32 = np.asarray(conv(*[a.astype(np.float32) for a in (x, k, b)]).value)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, y32, rtol=1e-4, atol=1e-4)
    _check_grads(conv, [x, k, b])


@pytest.mark.parametrize("strides,padding,rank", [(2, "same", 2), (3, "valid", 2),
                                                  (2, "same", 1)])
def test_conv_transpose_matches_float32_kernel_and_finite_differences(strides, padding, rank,
                                                                     float64):
    rng = np.random.RandomState(11)
    x = rng.randn(2, 4, 3, 5) if rank == 2 else rng.randn(2, 5, 3)
    k = rng.randn(3, 2, 4, 5) if rank == 2 else rng.randn(3, 4, 3)
    b = rng.randn(4)

    def conv_t(x, k, b):
        return ops.conv_transpose_fused(x, k, b, strides, padding, activation="tanh")

    y = np.asarray(conv_t(x, k, b).value)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, np.asarray(conv_t(*[a.astype("f4") for a in (x, k, b)]).value),
                               rtol=1e-4, atol=1e-4)
    _check_grads(conv_t, [x, k, b])


def test_depthwise_conv1d_and_pooling(float64):
    rng = np.random.RandomState(4)
    x = rng.randn(2, 7, 6, 3)
    dk = rng.randn(3, 3, 3, 2)
    depthwise = lambda x, k: ops.conv_fused(x, k, None, 2, "same", depthwise=True)
    np.testing.assert_allclose(np.asarray(depthwise(x, dk).value),
                               np.asarray(depthwise(x.astype("f4"), dk.astype("f4")).value),
                               rtol=1e-4, atol=1e-4)
    _check_grads(depthwise, [x, dk])
    seq, k1 = rng.randn(2, 9, 3), rng.randn(3, 3, 4)
    conv1d = lambda s, k: ops.conv_fused(s, k, None, 1, "causal")
    np.testing.assert_allclose(np.asarray(conv1d(seq, k1).value),
                               np.asarray(conv1d(seq.astype("f4"), k1.astype("f4")).value),
                               rtol=1e-4, atol=1e-4)
    _check_grads(conv1d, [seq, k1])
    for pool in (ops.max_pool, ops.average_pool):
        for args in ((3, 2, "same"), (2, None, "valid")):
            y = np.asarray(pool(Tensor(x), *args).value)
            assert y.dtype == np.float64
            np.testing.assert_allclose(y, np.asarray(pool(x.astype("f4"), *args).value),
                                       rtol=1e-5, atol=1e-6)
            _check_grads(lambda v, pool=pool, args=args: pool(v, *args), [x])
    _check_grads(lambda v: ops.global_pool(v, "max"), [x])


def test_normalization_gradients(float64):
    rng = np.random.RandomState(5)
    x, g, b = rng.randn(5, 3, 4), rng.rand(4) + 0.5, rng.randn(4)
    _check_grads(lambda x, g, b: ops.batch_norm_train(x, g, b, 1e-3)[0], [x, g, b])
    _check_grads(lambda x, g, b: ops.layer_normalization(x, g, b, -1, 1e-3), [x, g, b])
    mean, var = rng.randn(4), rng.rand(4) + 0.1
    _check_grads(lambda x, g, b: ops.batch_normalization(x, mean, var, -1, b, g, 1e-3),
                 [x, g, b])


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
def test_recurrent_matches_float32_kernel_and_finite_differences(cell, float64):
    rng = np.random.RandomState(6)
    gates = {"lstm": 4, "gru": 3, "simple": 1}[cell]
    units = 3
    x = rng.randn(2, 4, 5) * 0.5
    k, rk = rng.randn(5, gates * units) * 0.4, rng.randn(units, gates * units) * 0.4
    bias = rng.randn(2, gates * units) if cell == "gru" else rng.randn(gates * units)
    mask = np.array([[True, True, False, True], [True, False, True, True]])
    fn = {"lstm": ops.lstm, "gru": ops.gru, "simple": ops.simple_rnn}[cell]

    def run(x, k, rk, b, backwards=True):
        return fn(x, k, rk, b, mask=mask, go_backwards=backwards)[0]

    for backwards in (False, True):
        y = np.asarray(run(x, k, rk, bias, backwards).value)
        y32 = np.asarray(run(*[a.astype("f4") for a in (x, k, rk, bias)], backwards).value)
        assert y.dtype == np.float64
        np.testing.assert_allclose(y, y32, rtol=1e-5, atol=1e-5)
    _check_grads(run, [x, k, rk, bias])


def test_dropout_float64_uses_the_float32_mask(float64):
    x = np.random.RandomState(7).rand(4, 50)
    y64 = np.asarray(ops.dropout(x, 0.3, seed=11).value)
    y32 = np.asarray(ops.dropout(x.astype(np.float32), 0.3, seed=11).value)
    assert y64.dtype == np.float64
    np.testing.assert_array_equal(y64 == 0, y32 == 0)
    kept = y64 != 0
    np.testing.assert_allclose(y64[kept], x[kept] / 0.7, rtol=1e-15)
    _check_grads(lambda v: ops.dropout(v, 0.3, seed=11), [x])


def test_fused_inference_ops_in_float64(float64):
    rng = np.random.RandomState(9)
    x, k, dk = rng.randn(2, 7, 6, 3), rng.randn(3, 3, 3, 4), rng.randn(3, 3, 3, 2)
    pk, scale, bias = rng.randn(1, 1, 6, 4), rng.rand(4) + 0.5, rng.randn(4)
    residual = rng.randn(2, 8, 7, 4)  # the zero-padded 'same' output's shape

    def both(fn, *arrays):
        y64 = np.asarray(fn(*arrays).value)
        y32 = np.asarray(fn(*[a.astype(np.float32) for a in arrays]).value)
        assert y64.dtype == np.float64
        np.testing.assert_allclose(y64, y32, rtol=1e-4, atol=1e-4)

    both(lambda x, k, s, b, r: fused.conv2d_inference(
        x, k, b, s, padding="same", activation="relu", zero_padding=((1, 0), (0, 1)),
        residual=r), x, k, scale, bias, residual)
    both(lambda x, dk, pk, s, b: fused.separable_inference(
        x, dk, None, None, pk, b, s, padding="same", pw_activation=("relu", 0.0, None, 0.0)),
        x, dk, pk, scale, bias)
    both(lambda x, k, b: fused.conv2d_relu_max_pool(x, k, b, pool_size=2), x, k, bias)


def test_functional_float64_predict_matches_layer_by_layer(float64):
    rng = np.random.RandomState(8)
    inputs = nnfast.Input((6, 6, 2))
    h = L.ReLU()(L.BatchNormalization()(L.Conv2D(3, 3, padding="same")(inputs)))
    h = L.Activation("relu")(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same")(h)))
    outputs = L.GlobalAveragePooling2D()(L.SeparableConv2D(4, 3)(h))
    model = nnfast.Model(inputs, outputs)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.moving_mean.assign(rng.rand(3))
            layer.moving_variance.assign(rng.rand(3) + 0.5)
    x = rng.rand(2, 6, 6, 2)
    fused = model.predict(x, verbose=0)
    with GradientTape():  # recording: the layer-by-layer plan
        plain = np.asarray(model(x, training=False).value)
    assert fused.dtype == np.float64
    np.testing.assert_allclose(fused, plain, rtol=1e-13, atol=1e-15)


def test_image_reshaping_and_preprocessing_layers_in_float64(float64):
    rng = np.random.RandomState(10)
    x = rng.rand(2, 3, 4, 2)
    checks = [(L.UpSampling2D(2), np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)),
              (L.ZeroPadding2D(((1, 0), (0, 2))), np.pad(x, ((0, 0), (1, 0), (0, 2), (0, 0)))),
              (L.Rescaling(1 / 3.0, offset=0.1), x / 3.0 + 0.1),
              (L.Normalization(mean=0.3, variance=0.7), (x - 0.3) / np.sqrt(0.7))]
    for layer, expected in checks:
        y = np.asarray(layer(x).value)
        assert y.dtype == np.float64, type(layer).__name__
        np.testing.assert_allclose(y, expected, rtol=1e-15, atol=1e-16)
    _check_grads(lambda v: L.UpSampling2D(2)(v), [x])
    _check_grads(lambda v: L.ZeroPadding2D(1)(v), [x])


def test_float64_layer_inside_a_float32_model():
    """A float64 layer computes in float64; the float32 layers after it narrow its output
    (their kernels decide), as Keras's autocast does."""
    rng = np.random.RandomState(12)
    model = nnfast.Sequential([nnfast.Input((4,)), L.Dense(5, activation="tanh", dtype="float64"),
                               L.Dense(3)])
    first, second = model.layers
    assert first.kernel.value.dtype == np.float64 and second.kernel.value.dtype == np.float32
    x = rng.rand(6, 4).astype(np.float32)
    hidden = np.tanh(x.astype(np.float64) @ first.kernel.value + first.bias.value)
    expected = hidden.astype(np.float32) @ second.kernel.value + second.bias.value
    y = model.predict(x, verbose=0)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)
    model.compile(nnfast.optimizers.Adam(0.01), "mse")
    model.fit(x, rng.rand(6, 3), epochs=2, verbose=0)
    assert first.kernel.value.dtype == np.float64 and second.kernel.value.dtype == np.float32


def test_float64_training_resumes_exactly_after_save_and_load(tmp_path, float64):
    rng = np.random.RandomState(13)
    x, y = rng.rand(16, 5), rng.rand(16, 2)
    model = nnfast.Sequential([nnfast.Input((5,)), L.Dense(4, activation="relu"), L.Dense(2)])
    model.compile(nnfast.optimizers.Adam(0.01), "mse")
    model.fit(x, y, epochs=2, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = nnfast.saving.load_model(path)
    # the learning rate is a float64 variable, as Keras's in floatx float64
    assert [np.asarray(v).dtype for v in loaded.optimizer.variables][:3] == \
        [np.int64, np.float64, np.float64]
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
