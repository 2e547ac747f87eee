"""Keras 2 / tf.keras programs on nnfast: legacy optimizers, ``keras.backend`` functions,
Keras 2 module paths. Numbers come from tf_keras 2.21 (fixtures in tests/fixtures/keras2/)
or float64 NumPy."""
import json
import os
import warnings

import numpy as np
import pytest

import nnfast as keras
from nnfast.optimizers import legacy

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "keras2")


# --- 1. legacy optimizers: lr=, decay= ------------------------------------------------------
def _legacy_cases():
    with open(os.path.join(FIX, "legacy_optimizers.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("case", sorted(_legacy_cases()))
def test_legacy_optimizer_trajectory_matches_tf_keras(case):
    fx = np.load(os.path.join(FIX, "legacy_optimizers.npz"))
    spec = _legacy_cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = getattr(legacy, spec["class"])(**spec["kwargs"])
    v = keras.Variable(fx["w0"].copy())
    for g, ref in zip(fx["grads"], fx[case]):
        opt.apply_gradients([(g, v)])
        np.testing.assert_allclose(np.asarray(v.numpy()), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["sgd", "sgd_nesterov", "adam", "adam_amsgrad", "adagrad",
                                  "adamax", "adadelta"])
def test_keras3_optimizer_with_keras2_decay_matches_tf_keras(case):
    # `keras.optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9)`, the Keras 2 idiom: Keras 3
    # rejects `decay`; nnfast applies it as Keras 2 did, warning with the Keras 3 spelling.
    fx = np.load(os.path.join(FIX, "legacy_optimizers.npz"))
    spec = _legacy_cases()[case]
    with pytest.warns(DeprecationWarning, match="InverseTimeDecay") as rec:
        opt = getattr(keras.optimizers, spec["class"])(**spec["kwargs"])
    assert rec[0].filename == __file__
    v = keras.Variable(fx["w0"].copy())
    for g, ref in zip(fx["grads"], fx[case]):
        opt.apply_gradients([(g, v)])
        np.testing.assert_allclose(np.asarray(v.numpy()), ref, rtol=1e-5, atol=1e-6)
    assert opt.get_config()["decay"] == spec["kwargs"]["decay"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no decay: no warning, Keras 3's config
        assert "decay" not in keras.optimizers.SGD(0.1).get_config()


def _sparse_cases():
    with open(os.path.join(FIX, "legacy_sparse.json")) as f:
        return json.load(f)


def _row_sliced(ids, rows, shape):
    """An embedding table's gradient as nnfast's Embedding produces it (per-token rows)."""
    from nnfast.ops.embedding import TokenRowsGradient

    g = np.zeros(shape, np.float32)
    np.add.at(g, ids, rows)
    g = g.view(TokenRowsGradient)
    g.ids, g.rows = ids, rows
    return g


@pytest.mark.parametrize("case", sorted(_sparse_cases()))
def test_legacy_optimizer_on_embedding_rows_matches_tf_keras(case):
    # tf_keras sums repeated ids before its rule; SGD/RMSprop with momentum, Adadelta,
    # Adamax, Ftrl and Nadam's weight step touch only the looked-up rows.
    fx = np.load(os.path.join(FIX, "legacy_sparse.npz"))
    spec = _sparse_cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = getattr(legacy, spec["class"])(**spec["kwargs"])
    v = keras.Variable(fx["table0"].copy())
    for step, ref in enumerate(fx[case]):
        opt.apply_gradients([(_row_sliced(fx["ids"][step], fx["rows"][step], v.shape), v)])
        np.testing.assert_allclose(np.asarray(v.numpy()), ref, rtol=1e-5, atol=1e-6,
                                   err_msg=f"step {step}")


def test_legacy_decay_keeps_base_rate_and_config():
    opt = legacy.SGD(lr=0.1, decay=0.5)
    v = keras.Variable(np.ones(3, np.float32))
    for _ in range(3):
        opt.apply_gradients([(np.ones(3, np.float32), v)])
    # steps use 0.1, 0.1/1.5, 0.1/2: w = 1 - (0.1 + 0.0666.. + 0.05)
    np.testing.assert_allclose(np.asarray(v.numpy()), 1 - (0.1 + 0.1 / 1.5 + 0.05), rtol=1e-6)
    assert opt.lr == pytest.approx(0.1) and opt.learning_rate == pytest.approx(0.1)
    config = opt.get_config()
    assert config["decay"] == 0.5
    assert type(legacy.SGD.from_config(config)).__name__ == "SGD"


def test_legacy_bad_arguments():
    with pytest.raises(ValueError, match="decay"):
        legacy.Adam(decay=-1.0)
    with pytest.raises(ValueError, match="lr"):
        legacy.Adam(lr=0.1, learning_rate=0.2)
    assert legacy.Adam(epsilon=None).epsilon == 1e-7
    with pytest.warns(UserWarning, match="schedule_decay"):
        legacy.Nadam(decay=0.1)


# --- 2. keras.backend as K ----------------------------------------------------------------------
from nnfast import backend as K  # noqa: E402
from conftest import check_grads  # noqa: E402

_R = np.random.default_rng(3)
A = _R.normal(size=(3, 4)).astype(np.float32)
B = _R.normal(size=(3, 4)).astype(np.float32)
P = np.abs(A) + 0.1
A64 = A.astype(np.float64)

K_CASES = [  # (name, nnfast call, float64 NumPy reference)
    ("sum", lambda: K.sum(A), A64.sum()),
    ("sum_axis", lambda: K.sum(A, axis=1, keepdims=True), A64.sum(1, keepdims=True)),
    ("mean", lambda: K.mean(A, axis=0), A64.mean(0)),
    ("mean_bool", lambda: K.mean(K.greater(A, 0.0)), (A64 > 0).mean()),
    ("max", lambda: K.max(A, axis=-1), A64.max(-1)),
    ("min", lambda: K.min(A), A64.min()),
    ("prod", lambda: K.prod(P, axis=1), P.astype(np.float64).prod(1)),
    ("std", lambda: K.std(A, axis=1), A64.std(1)),
    ("var", lambda: K.var(A), A64.var()),
    ("cumsum", lambda: K.cumsum(A), A64.cumsum(0)),
    ("square", lambda: K.square(A), A64 ** 2),
    ("sqrt_clips", lambda: K.sqrt(A), np.sqrt(np.maximum(A64, 0))),
    ("abs", lambda: K.abs(A), np.abs(A64)),
    ("exp", lambda: K.exp(A), np.exp(A64)),
    ("log", lambda: K.log(P), np.log(P.astype(np.float64))),
    ("pow", lambda: K.pow(P, 3), P.astype(np.float64) ** 3),
    ("clip", lambda: K.clip(A, -0.5, 0.5), np.clip(A64, -0.5, 0.5)),
    ("clip_max_below_min", lambda: K.clip(A, 0.5, 0.1), np.full_like(A64, 0.5)),
    ("clip_none", lambda: K.clip(A, None, 0.0), np.minimum(A64, 0.0)),
    ("maximum", lambda: K.maximum(A, B), np.maximum(A64, B)),
    ("minimum", lambda: K.minimum(A, B), np.minimum(A64, B)),
    ("round", lambda: K.round(A * 3), np.round(A64 * 3)),
    ("argmax", lambda: K.argmax(A), A64.argmax(-1)),
    ("equal", lambda: K.equal(K.argmax(A), K.argmax(B)), A64.argmax(-1) == B.argmax(-1)),
    ("less", lambda: K.less(A, B), A64 < B),
    ("switch", lambda: K.switch(K.greater(A, 0.0), A, B), np.where(A64 > 0, A64, B)),
    ("transpose", lambda: K.transpose(A), A64.T),
    ("reshape", lambda: K.reshape(A, (2, -1)), A64.reshape(2, -1)),
    ("expand_dims", lambda: K.expand_dims(A), A64[..., None]),
    ("squeeze", lambda: K.squeeze(A[:, :1], 1), A64[:, 0]),
    ("concatenate", lambda: K.concatenate([A, B]), np.concatenate([A64, B], -1)),
    ("stack", lambda: K.stack([A, B], axis=1), np.stack([A64, B], 1)),
    ("flatten", lambda: K.flatten(A), A64.ravel()),
    ("batch_flatten", lambda: K.batch_flatten(np.stack([A, B])), np.stack([A64, B]).reshape(2, -1)),
    ("dot", lambda: K.dot(A, B.T), A64 @ B.T),
    ("dot_nd", lambda: K.dot(np.stack([A, B]), np.stack([B.T, A.T])),
     np.dot(np.stack([A64, B]), np.stack([B.T, A.T]))),
    ("batch_dot_2d", lambda: K.batch_dot(A, B, axes=1), (A64 * B).sum(1, keepdims=True)),
    ("batch_dot_3d", lambda: K.batch_dot(np.stack([A, B]), np.stack([B.T, A.T])),
     np.matmul(np.stack([A64, B]), np.stack([B.T, A.T]))),
    ("batch_dot_axes", lambda: K.batch_dot(np.stack([A, B]), np.stack([A, B]), axes=(1, 1)),
     np.einsum("bij,bik->bjk", np.stack([A64, B]), np.stack([A64, B]))),
    ("sigmoid", lambda: K.sigmoid(A), 1 / (1 + np.exp(-A64))),
    ("softmax", lambda: K.softmax(A), np.exp(A64) / np.exp(A64).sum(-1, keepdims=True)),
    ("relu", lambda: K.relu(A, alpha=0.1, max_value=0.5), np.minimum(np.where(A64 > 0, A64, 0.1 * A64), 0.5)),
    ("tanh", lambda: K.tanh(A), np.tanh(A64)),
    ("l2_normalize", lambda: K.l2_normalize(A, axis=1), A64 / np.linalg.norm(A64, axis=1, keepdims=True)),
    ("ones_like", lambda: K.ones_like(A), np.ones_like(A64)),
    ("zeros_like", lambda: K.zeros_like(A), np.zeros_like(A64)),
    ("cast", lambda: K.cast(K.greater(A, 0), "float32"), (A64 > 0).astype(np.float64)),
    ("binary_crossentropy", lambda: K.binary_crossentropy((B > 0).astype(np.float32), 1 / (1 + np.exp(-A))),
     -((B > 0) * np.log(1 / (1 + np.exp(-A64)) + 1e-7)
       + (B <= 0) * np.log(1 - 1 / (1 + np.exp(-A64)) + 1e-7))),
    ("categorical_crossentropy", lambda: K.categorical_crossentropy(np.eye(4, dtype=np.float32)[[0, 2, 3]], P),
     -np.log((P / P.sum(-1, keepdims=True))[[0, 1, 2], [0, 2, 3]].astype(np.float64))),
    ("any", lambda: K.any(K.greater(A, 1.0), axis=1), (A64 > 1.0).any(1)),
    ("all", lambda: K.all(K.greater(A, -2.0)), (A64 > -2.0).all()),
    ("logsumexp", lambda: K.logsumexp(A, axis=1, keepdims=True),
     np.log(np.exp(A64).sum(1, keepdims=True))),
    ("sin", lambda: K.sin(A), np.sin(A64)),
    ("cos", lambda: K.cos(A), np.cos(A64)),
    ("identity", lambda: K.identity(A), A64),
    ("arange", lambda: K.arange(2, 11, 3), np.arange(2, 11, 3)),
    ("gather", lambda: K.gather(A, [2, 0, 2]), A64[[2, 0, 2]]),
    ("reverse", lambda: K.reverse(A, axes=[0, 1]), A64[::-1, ::-1]),
    ("bias_add", lambda: K.bias_add(A, B[0]), A64 + B[0]),
    ("bias_add_channels_first", lambda: K.bias_add(np.stack([A, B]), B[:3, 0], "channels_first"),
     np.stack([A64, B]) + B[:3, 0].reshape(3, 1)),
    ("temporal_padding", lambda: K.temporal_padding(np.stack([A, B]), (1, 2)),
     np.pad(np.stack([A64, B]), [(0, 0), (1, 2), (0, 0)])),
    ("spatial_2d_padding", lambda: K.spatial_2d_padding(A[None, :, :, None], ((0, 1), (2, 0))),
     np.pad(A64[None, :, :, None], [(0, 0), (0, 1), (2, 0), (0, 0)])),
    ("map_fn", lambda: K.map_fn(lambda r: K.sum(r * r), A), (A64 ** 2).sum(1)),
    ("categorical_crossentropy_logits", lambda: K.categorical_crossentropy(np.eye(4, dtype=np.float32)[[0, 2, 3]], A, from_logits=True),
     -(A64 - np.log(np.exp(A64).sum(-1, keepdims=True)))[[0, 1, 2], [0, 2, 3]]),
]


@pytest.mark.parametrize("name,call,ref", K_CASES, ids=[c[0] for c in K_CASES])
def test_backend_function_matches_numpy(name, call, ref):
    out = np.asarray(K.get_value(call()))
    assert out.shape == np.shape(ref), (out.shape, np.shape(ref))
    np.testing.assert_allclose(out.astype(np.float64), ref, rtol=1e-5, atol=1e-6)


def test_backend_gradients_match_finite_differences():
    check_grads(lambda x: K.sqrt(K.mean(K.square(x), axis=-1)), P)
    check_grads(lambda x, y: K.batch_dot(x, y, axes=1), A, B)
    check_grads(lambda x, y: K.dot(x, y), A, B.T)
    check_grads(lambda x: K.l2_normalize(x, axis=-1), A)
    check_grads(lambda x: K.binary_crossentropy(np.float32(B > 0), K.sigmoid(x)), A)
    check_grads(lambda x: K.categorical_crossentropy(np.eye(4, dtype=np.float32)[[0, 2, 3]],
                                                     K.softmax(x)), A)
    check_grads(lambda x: K.std(x, axis=0), A)
    check_grads(lambda x: K.clip(x, -0.5, 0.5) * K.switch(K.greater(x, 0), x, -x), A)


def test_backend_variables_shapes_and_config():
    v = K.variable(np.ones((2, 3)))
    assert isinstance(v, keras.Variable) and K.int_shape(v) == (2, 3) and K.ndim(v) == 2
    K.set_value(v, np.full((2, 3), 4.0))
    np.testing.assert_array_equal(K.get_value(v), np.full((2, 3), 4.0, np.float32))
    assert K.floatx() == "float32" and K.epsilon() == 1e-7
    assert K.image_data_format() == "channels_last" and K.learning_phase() == 0
    K.set_image_data_format("channels_last")
    with pytest.raises(NotImplementedError, match="channels_first"):
        K.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="Received"):
        K.set_image_data_format("nchw")
    inp = keras.Input((5,))
    assert K.int_shape(inp) == (None, 5) and K.is_keras_tensor(inp)
    np.testing.assert_array_equal(K.get_value(K.shape(np.zeros((2, 7)))), [2, 7])
    np.testing.assert_array_equal(K.get_value(K.constant(2.0, shape=(2,))), [2.0, 2.0])
    assert K.int_shape(K.random_normal((3, 2), seed=1)) == (3, 2)
    u = K.get_value(K.random_uniform((1000,), 2.0, 3.0, seed=1))
    assert u.min() >= 2.0 and u.max() < 3.0
    with pytest.raises(RuntimeError, match="GradientTape"):
        K.gradients(v, [v])
    with pytest.raises(TypeError, match="Variable"):
        K.set_value(np.zeros(2), 1.0)
    keras.layers.Dense(2)
    K.clear_session()  # Keras 2 programs call it between models: layer names restart
    assert keras.layers.Dense(2).name == "dense"


def test_backend_keras2_era_functions():
    check_grads(lambda x: K.logsumexp(x, axis=-1) + K.sum(K.gather(x, [1, 1]) * K.cos(x[:2])), A)
    check_grads(lambda x: K.bias_add(K.temporal_padding(x[None], (1, 0)), K.sin(x[0])), A)
    v = K.variable(np.ones(3))
    K.update_add(v, np.arange(3.0))
    K.update_sub(v, np.ones(3))
    np.testing.assert_array_equal(K.get_value(v), [0.0, 1.0, 2.0])
    K.update(v, np.full(3, 7.0))
    np.testing.assert_array_equal(K.get_value(v), [7.0, 7.0, 7.0])
    with pytest.raises(TypeError, match="Variable"):
        K.update_add(np.ones(3), 1.0)
    assert K.get_variable_shape(v) == (3,)
    assert K.in_train_phase(lambda: "train", "test") == "test"  # learning phase 0
    assert K.in_train_phase("train", "test", training=1) == "train"
    assert K.in_test_phase("test", "train") == "test"
    K.set_learning_phase(0)
    with pytest.raises(NotImplementedError, match="training=True"):
        K.set_learning_phase(1)
    K.set_image_dim_ordering("tf")
    assert K.image_dim_ordering() == "tf"
    with pytest.raises(NotImplementedError):
        K.set_image_dim_ordering("th")
    with pytest.raises(ValueError, match="dim_ordering"):
        K.set_image_dim_ordering("nhwc")
    K.reset_uids()
    assert [K.get_uid("conv"), K.get_uid("conv"), K.get_uid("dense")] == [1, 2, 1]
    bits = K.get_value(K.random_binomial((4000,), p=0.25, seed=3))
    assert set(np.unique(bits)) <= {0.0, 1.0} and abs(bits.mean() - 0.25) < 0.03
    t = K.get_value(K.truncated_normal((4000,), stddev=2.0, seed=3))
    assert np.abs(t).max() <= 4.0 and 1.5 < t.std() < 1.9
    kept = K.get_value(K.dropout(np.ones((100, 100), np.float32), 0.5, seed=1))
    assert set(np.unique(kept)) == {0.0, 2.0}


def test_backend_ctc_matches_tf_keras():
    # Keras 2's OCR examples: ctc_batch_cost for training, ctc_decode for reading (blank =
    # last class); tf_keras's values (make_keras2_backend.py).
    fx = np.load(os.path.join(FIX, "keras2_backend.npz"))
    cost = K.ctc_batch_cost(fx["labels"], fx["y_pred"], fx["input_length"], fx["label_length"])
    np.testing.assert_allclose(K.get_value(cost), fx["ctc_cost"], rtol=1e-5)
    decoded, log_prob = K.ctc_decode(fx["y_pred"], fx["input_length"][:, 0], greedy=True)
    np.testing.assert_array_equal(decoded[0], fx["greedy"])
    np.testing.assert_allclose(K.get_value(log_prob), fx["greedy_log_prob"], rtol=1e-5)
    decoded, log_prob = K.ctc_decode(fx["y_pred"], fx["input_length"][:, 0], greedy=False,
                                     beam_width=4, top_paths=2)
    np.testing.assert_array_equal(decoded[0], fx["beam0"])
    np.testing.assert_array_equal(decoded[1], fx["beam1"])
    np.testing.assert_allclose(K.get_value(log_prob)[:, 0], fx["beam_log_prob"][:, 0], rtol=1e-5)
    # the loss trains: its gradient against finite differences (through the softmax)
    logits = np.log(fx["y_pred"][:1])
    check_grads(lambda z: K.ctc_batch_cost(fx["labels"][:1], K.softmax(z), fx["input_length"][:1],
                                           fx["label_length"][:1]), logits)


def test_backend_set_value_on_optimizer_lr_and_function():
    opt = keras.optimizers.Adam(0.01)
    assert K.get_value(opt.lr) == pytest.approx(0.01)
    K.set_value(opt.lr, 0.5)
    assert opt.learning_rate == 0.5
    inp = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(hidden))
    get_hidden = K.function([model.input], [hidden])
    x = _R.normal(size=(5, 3)).astype(np.float32)
    w, b = model.layers[1].get_weights()
    np.testing.assert_allclose(get_hidden([x])[0], np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)


def test_custom_loss_written_with_K_trains():
    def rmse(y_true, y_pred):
        return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))

    x = _R.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=legacy.Adam(lr=0.05), loss=rmse)
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]


# --- 3-6. a Keras 2 program end to end; module paths; layer names; model methods ----------------
def test_keras2_training_run_matches_tf_keras():
    fx = np.load(os.path.join(FIX, "keras2_fit.npz"))
    with open(os.path.join(FIX, "keras2_fit.json")) as f:
        ref = json.load(f)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.set_weights([fx[f"w0_{i}"] for i in range(4)])
    model.compile(optimizer=legacy.SGD(lr=0.2, momentum=0.5, decay=0.05),
                  loss="categorical_crossentropy", metrics=["acc", "mae", "mean_absolute_error"])
    hist = model.fit(fx["x"], fx["y"], batch_size=8, epochs=3, shuffle=False,
                     validation_split=0.25, verbose=0)
    # Keras 2 and Keras 3 agree on the History keys: each metric under the name it was asked by
    assert sorted(hist.history) == sorted(ref["history"])
    for key, values in ref["history"].items():
        np.testing.assert_allclose(hist.history[key], values, rtol=1e-4, atol=1e-5, err_msg=key)
    tob = model.train_on_batch(fx["x"][:8], fx["y"][:8])
    assert isinstance(tob, list) and len(tob) == len(ref["train_on_batch"])
    np.testing.assert_allclose(tob, ref["train_on_batch"], rtol=1e-4, atol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, fx[f"w1_{i}"], rtol=1e-4, atol=1e-5)


def test_keras2_module_paths():
    from nnfast.layers.merge import Concatenate, add, concatenate
    from nnfast.utils import generic_utils, np_utils

    np.testing.assert_array_equal(np_utils.to_categorical([0, 2], 3), np.eye(3)[[0, 2]])
    np.testing.assert_allclose(np_utils.normalize(np.array([[3.0, 4.0]])), [[0.6, 0.8]])
    assert keras.utils.np_utils is np_utils and keras.layers.merge.add is add
    a, b = keras.Input((2,)), keras.Input((3,))
    assert concatenate([a, b]).shape == (None, 5)
    assert isinstance(Concatenate(), keras.layers.Concatenate)
    assert add([a, a]).shape == (None, 2)

    def swish2(x):
        return x * keras.ops.sigmoid(x)

    with generic_utils.CustomObjectScope({"swish2": swish2}):
        assert generic_utils.get_registered_object("swish2") is swish2
    assert generic_utils.get_registered_object("swish2") is None
    config = generic_utils.serialize_keras_object(keras.layers.Dense(2))
    assert isinstance(generic_utils.deserialize_keras_object(config), keras.layers.Dense)
    assert generic_utils.to_list((1, 2)) == [1, 2] and generic_utils.to_list(3) == [3]
    assert generic_utils.Progbar is keras.utils.Progbar


def test_cudnn_layers_are_fixed_lstm_gru():
    x = _R.normal(size=(2, 5, 4)).astype(np.float32)
    cudnn = keras.layers.CuDNNGRU(3, return_sequences=True)
    gru = keras.layers.GRU(3, return_sequences=True, reset_after=True)
    cudnn(x), gru(x)
    gru.set_weights(cudnn.get_weights())
    np.testing.assert_allclose(np.asarray(cudnn(x)), np.asarray(gru(x)), rtol=1e-6)
    lstm = keras.layers.CuDNNLSTM(3)
    assert lstm(x).shape == (2, 3)
    clone = keras.layers.CuDNNLSTM.from_config(lstm.get_config())
    assert clone.units == 3 and "activation" not in lstm.get_config()
    with pytest.raises(TypeError, match="activation"):
        keras.layers.CuDNNLSTM(3, activation="relu")


def test_predict_classes_and_proba():
    x = _R.normal(size=(6, 4)).astype(np.float32)
    soft = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    np.testing.assert_array_equal(soft.predict_classes(x), soft.predict(x, verbose=0).argmax(-1))
    sig = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    classes = sig.predict_classes(x)
    assert classes.shape == (6, 1) and classes.dtype == np.int32
    np.testing.assert_array_equal(classes, (sig.predict(x, verbose=0) > 0.5).astype(np.int32))
    np.testing.assert_allclose(sig.predict_proba(x), sig.predict(x, verbose=0))
    linear = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    linear.set_weights([np.full((4, 1), 5.0, np.float32), np.zeros(1, np.float32)])
    with pytest.warns(UserWarning, match="probability"):
        linear.predict_proba(x)


def test_generator_methods_and_K_metric_match_tf_keras():
    # A Keras 2 program: fit_generator / evaluate_generator / predict_generator on Python
    # generators, a metric written with `K`, test_on_batch (make_keras2_generators.py).
    fx = np.load(os.path.join(FIX, "keras2_generators.npz"))
    with open(os.path.join(FIX, "keras2_generators.json")) as f:
        ref = json.load(f)
    x, y = fx["x"], fx["y"]

    def batches(start, size):
        i = start
        while True:
            yield x[i:i + size], y[i:i + size]
            i = (i + size) % 16

    def rmse(y_true, y_pred):
        return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))

    model = keras.Sequential([keras.layers.Dense(6, activation="tanh", input_shape=(4,)),
                              keras.layers.Dense(2)])
    model.set_weights([fx[f"w0_{i}"] for i in range(4)])
    model.compile(optimizer=legacy.Adam(lr=0.02), loss="mse", metrics=["mae", rmse])
    hist = model.fit_generator(batches(0, 4), steps_per_epoch=4, epochs=3,
                               validation_data=(x[16:], y[16:]), verbose=0)
    assert sorted(hist.history) == sorted(ref["history"])
    for key, values in ref["history"].items():
        np.testing.assert_allclose(hist.history[key], values, rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(model.evaluate_generator(batches(0, 8), steps=2, verbose=0),
                               ref["evaluate"], rtol=1e-5)
    # Keras 3 names the metric objects; the documented switch gives Keras 2's names.
    assert model.metrics_names == ["loss", "compile_metrics"]
    keras.config.set_keras_version(2)
    try:
        assert model.metrics_names == ref["metrics_names"]
    finally:
        keras.config.set_keras_version(3)
    preds = model.predict_generator((b[0] for b in batches(4, 4)), steps=3, verbose=0)
    np.testing.assert_allclose(preds, fx["preds"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.test_on_batch(x[16:20], y[16:20]), ref["test_on_batch"],
                               rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, fx[f"w1_{i}"], rtol=1e-5, atol=1e-6)


def test_save_without_extension_raises_as_keras3(tmp_path):
    # Keras 2 wrote a TensorFlow SavedModel directory; nnfast cannot write that format and
    # keeps Keras 3's error (docs/keras2.md: "Not supported").
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(str(tmp_path / "mymodel"))
    assert not (tmp_path / "mymodel").exists()


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5")
def test_keras2_checkpoint_files_hdf5(tmp_path):
    # Keras 2 tutorials: ModelCheckpoint("weights.best.hdf5", monitor="val_acc",
    # save_best_only=True, save_weights_only=True), then load_weights of the best epoch.
    import h5py

    rng = np.random.default_rng(6)
    x = rng.normal(size=(48, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] + 0.8 * rng.normal(size=48) > 0).astype(int)]
    keras.utils.set_random_seed(6)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=legacy.SGD(lr=0.1), loss="categorical_crossentropy",
                  metrics=["acc"])
    per_epoch = []
    keep = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: per_epoch.append(model.get_weights()))
    best = str(tmp_path / "weights.best.hdf5")
    whole = str(tmp_path / "model-{epoch:02d}.hdf5")
    hist = model.fit(x, y, batch_size=8, epochs=6, validation_split=0.25, verbose=0,
                     callbacks=[keras.callbacks.ModelCheckpoint(best, monitor="val_acc",
                                                                save_best_only=True,
                                                                save_weights_only=True),
                                keras.callbacks.ModelCheckpoint(whole), keep])
    with h5py.File(best, "r") as f:
        assert "layer_names" in f.attrs  # tf.keras's legacy weights layout
    best_epoch = int(np.argmax(hist.history["val_acc"]))  # the first best one is kept
    model.load_weights(best)
    for a, b in zip(model.get_weights(), per_epoch[best_epoch]):
        np.testing.assert_array_equal(a, b)
    assert 0 < best_epoch < 5, hist.history["val_acc"]  # a best epoch that is not the last
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-format warning
        last = keras.models.load_model(str(tmp_path / "model-06.hdf5"))
    for a, b in zip(last.get_weights(), per_epoch[-1]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "ckpt"), save_weights_only=True)


def test_standalone_keras2_module_paths():
    # `from keras.layers.core import Dense` etc.: the paths of standalone Keras 2 tutorials.
    from nnfast.engine.topology import Input, InputSpec, Layer
    from nnfast.engine.training import Model
    from nnfast.layers.advanced_activations import LeakyReLU, ThresholdedReLU
    from nnfast.layers.convolutional import Convolution2D, MaxPooling2D, ZeroPadding2D
    from nnfast.layers.core import Activation, Dense, Dropout, Flatten
    from nnfast.layers.embeddings import Embedding
    from nnfast.layers.noise import GaussianNoise
    from nnfast.utils.data_utils import Sequence, get_file
    from nnfast.utils.layer_utils import count_params
    from nnfast.utils.vis_utils import plot_model

    L = keras.layers
    pairs = [(Dense, L.Dense), (Dropout, L.Dropout), (Activation, L.Activation),
             (Flatten, L.Flatten), (Convolution2D, L.Conv2D), (MaxPooling2D, L.MaxPooling2D),
             (ZeroPadding2D, L.ZeroPadding2D), (Embedding, L.Embedding),
             (LeakyReLU, L.LeakyReLU), (ThresholdedReLU, L.ThresholdedReLU),
             (GaussianNoise, L.GaussianNoise), (Layer, keras.Layer), (InputSpec, keras.InputSpec),
             (Input, keras.Input), (Model, keras.Model), (get_file, keras.utils.get_file),
             (Sequence, keras.utils.Sequence), (plot_model, keras.utils.plot_model),
             # Keras 2's aliases
             (L.MaxPool2D, L.MaxPooling2D), (L.AvgPool2D, L.AveragePooling2D),
             (L.Convolution1D, L.Conv1D), (L.Convolution3D, L.Conv3D),
             (L.GlobalAvgPool2D, L.GlobalAveragePooling2D)]
    for old, new in pairs:
        assert old is new, old
    import nnfast.layers.embeddings as embeddings_module

    assert embeddings_module.Embedding is L.Embedding and keras.engine.topology.Layer is Layer
    model = keras.Sequential([keras.Input((3,)), L.Dense(4), L.Dense(2, use_bias=False)])
    assert count_params(model.trainable_weights) == 3 * 4 + 4 + 4 * 2 == model.count_params()
    assert count_params(model.weights + model.weights) == 24  # each variable once
    from nnfast.utils.layer_utils import print_summary

    lines = []
    print_summary(model, print_fn=lines.append)
    assert any("Total params: 24" in line for line in lines)


def test_thresholded_relu_keras2_layer():
    x = np.random.default_rng(11).normal(size=(4, 5)).astype(np.float32)
    x[np.abs(x - 0.3) < 0.05] += 0.1  # away from the kink, for finite differences
    layer = keras.layers.ThresholdedReLU(theta=0.3)
    np.testing.assert_array_equal(np.asarray(layer(x)), np.where(x > 0.3, x, 0).astype(np.float32))
    assert np.asarray(keras.layers.ThresholdedReLU()(np.float32([0.9, 1.0, 1.1]))).tolist() == \
        [0.0, 0.0, np.float32(1.1)]
    check_grads(lambda t: keras.layers.ThresholdedReLU(theta=0.3)(t) * t, x)
    clone = keras.layers.ThresholdedReLU.from_config(layer.get_config())
    assert clone.theta == 0.3
    with pytest.raises(ValueError, match="theta"):
        keras.layers.ThresholdedReLU(theta=-1.0)
