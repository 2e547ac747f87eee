"""Dtype policies and mixed precision (`nnfast.dtype_policies`, `nnfast.mixed_precision`):
Keras's names and errors, layers that compute in bfloat16/float16 with float32 weights, the
bfloat16 GEMM actually used in fit/predict, and a Keras-written mixed_bfloat16 model
(tests/fixtures/mixed_precision/make_mixed_bfloat16.py) giving Keras's outputs."""
import os

import numpy as np
import pytest

import nnfast
from nnfast import dtype_policies, mixed_precision
from nnfast.ops import precision

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "mixed_precision")
BF16_EPS = 2.0 ** -8  # bfloat16 keeps 8 significant bits


@pytest.fixture(autouse=True)
def float32_policy_after():
    yield
    mixed_precision.set_global_policy(None)


def test_policy_names_as_keras():
    p = dtype_policies.DTypePolicy("mixed_bfloat16")
    assert (p.name, p.compute_dtype, p.variable_dtype, p.quantization_mode) == \
        ("mixed_bfloat16", "bfloat16", "float32", None)
    assert repr(p) == '<DTypePolicy "mixed_bfloat16">'
    assert dtype_policies.DTypePolicy("mixed_float16").compute_dtype == "float16"
    assert dtype_policies.DTypePolicy("int64").variable_dtype == "int64"
    assert dtype_policies.serialize(p) == {"module": "keras", "class_name": "DTypePolicy",
                                           "config": {"name": "mixed_bfloat16"},
                                           "registered_name": None}
    assert dtype_policies.get(dtype_policies.serialize(p)) == p
    assert mixed_precision.Policy is dtype_policies.DTypePolicy
    with pytest.raises(ValueError, match="Cannot convert 'bogus' to a mixed precision"):
        dtype_policies.DTypePolicy("bogus")


def test_global_policy_reaches_new_layers():
    assert nnfast.config.dtype_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert mixed_precision.global_policy().name == "mixed_bfloat16"
    layer = nnfast.layers.Dense(3)
    assert (layer.dtype, layer.compute_dtype, layer.variable_dtype) == \
        ("float32", "bfloat16", "float32")
    assert nnfast.layers.Dense(3, dtype="float32").compute_dtype == "float32"
    mixed_precision.set_global_policy("float32")
    assert nnfast.layers.Dense(3).compute_dtype == "float32"


def test_unsupported_float_variables_raise():
    for name in ("bfloat16", "float16"):  # float64 weights: tests/test_float64.py
        with pytest.raises(NotImplementedError, match="keeps float weights in float32 or float64"):
            nnfast.layers.Dense(2, dtype=name)
        with pytest.raises(NotImplementedError):
            mixed_precision.set_global_policy(name)


@pytest.mark.parametrize("policy,dtype", [("mixed_bfloat16", "bfloat16"),
                                          ("mixed_float16", "float16")])
def test_dense_computes_in_the_policy_dtype(policy, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 40)).astype(np.float32)
    layer = nnfast.layers.Dense(24, activation="relu", dtype=policy)
    y = layer(x).numpy()
    k, b = (w.numpy() for w in layer.weights)
    r = lambda a: precision.round_array(a, dtype)  # noqa: E731
    want = r(np.maximum(r(x).astype(np.float64) @ r(k).astype(np.float64) + b, 0))
    np.testing.assert_allclose(y, want, rtol=2 * BF16_EPS, atol=1e-6)
    assert np.array_equal(y, r(y))  # outputs hold compute-dtype values
    y32 = nnfast.layers.Dense(24, activation="relu")
    y32.build((None, 40))
    y32.set_weights([k, b])
    assert not np.array_equal(y, y32(x).numpy())  # the policy changed the numbers


def test_fit_and_predict_run_products_in_bfloat16(monkeypatch):
    seen = []
    real = precision.gemm

    def spy(a, b, c, prec=None, **kwargs):
        seen.append(prec or precision.current())
        return real(a, b, c, prec, **kwargs)

    monkeypatch.setattr(precision, "gemm", spy)
    # The tape's products (the lowered program runs the same kernels: test_lowered_bf16.py).
    monkeypatch.setattr(nnfast.models.lowered, "ENABLED", False)
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = nnfast.Sequential([nnfast.Input((8,)), nnfast.layers.Dense(16, activation="relu"),
                               nnfast.layers.Dense(3, activation="softmax", dtype="float32")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(1).random((64, 8), dtype=np.float32)
    y = (x.sum(1) > 4).astype(int)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    # per batch: 2 forward products, the hidden layer's kernel gradient and the output
    # layer's kernel and input gradients; only the hidden layer's run in bfloat16
    assert seen.count("bfloat16") == 2 * 2 and seen.count("float32") == 2 * 3
    seen.clear()
    model.predict(x, batch_size=64, verbose=0)
    assert seen == ["bfloat16", "float32"]


def test_gradients_pass_the_rounding_like_a_cast():
    layer = nnfast.layers.Dense(1, use_bias=False, dtype="mixed_bfloat16",
                                kernel_initializer="ones")
    x = nnfast.ops.convert_to_tensor(np.array([[1.0, 2.0, 3.0]], np.float32))
    with nnfast.GradientTape() as tape:
        tape.watch(x)
        y = nnfast.ops.sum(layer(x))
    gk, gx = tape.gradient(y, [layer.kernel, x])
    np.testing.assert_allclose(np.asarray(gk).ravel(), [1, 2, 3])
    np.testing.assert_allclose(np.asarray(gx).ravel(), [1, 1, 1])


def test_keras_written_mixed_bfloat16_model_loads_with_keras_outputs(tmp_path):
    data = np.load(os.path.join(HERE, "mixed_bfloat16.npz"))
    model = nnfast.models.load_model(os.path.join(HERE, "mixed_bfloat16.keras"))
    assert model.get_layer("hidden").dtype_policy.name == "mixed_bfloat16"
    assert model.get_layer("probs").dtype_policy.name == "float32"
    probs = model.predict(data["x"], verbose=0)
    np.testing.assert_allclose(probs, data["probs"], atol=4 * BF16_EPS)
    hidden = nnfast.Model(model.inputs, model.get_layer("hidden").output)
    np.testing.assert_allclose(hidden.predict(data["x"], verbose=0), data["hidden"],
                               rtol=4 * BF16_EPS, atol=4 * BF16_EPS * np.abs(data["hidden"]).max())
    # and back: the policy survives nnfast's own save
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    assert again.get_layer("hidden").get_config()["dtype"] == {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"},
        "registered_name": None}
    np.testing.assert_array_equal(again.predict(data["x"], verbose=0), probs)


def _tiny_regression():
    x = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    return x, x.sum(1, keepdims=True)


def _train(optimizer, epochs=2):
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([nnfast.Input((4,)), nnfast.layers.Dense(1)])
    model.compile(optimizer, "mse")
    x, y = _tiny_regression()
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model


def test_loss_scale_factor_and_loss_scale_optimizer_leave_training_unchanged():
    """fit differentiates the scaled loss and the optimizer divides the scale back out (a
    loss_scale_factor used to shrink every step by that factor)."""
    plain = _train(nnfast.optimizers.SGD(0.1)).get_weights()
    factor = _train(nnfast.optimizers.SGD(0.1, loss_scale_factor=128.0)).get_weights()
    lso = mixed_precision.LossScaleOptimizer(nnfast.optimizers.SGD(0.1), initial_scale=1024.0)
    scaled = _train(lso).get_weights()
    for a, b, c in zip(plain, factor, scaled):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(c, a, rtol=1e-6, atol=1e-7)
    assert lso.iterations == 8 and lso.dynamic_scale == 1024.0 and lso.step_counter == 8


def test_loss_scale_optimizer_dynamics_as_keras():
    lso = mixed_precision.LossScaleOptimizer(nnfast.optimizers.SGD(1.0), initial_scale=8.0,
                                             dynamic_growth_steps=2)
    w = nnfast.Variable(np.ones(3, np.float32))
    lso.apply([np.full(3, 8.0, np.float32)], [w])  # unscaled gradient 1
    np.testing.assert_allclose(w.numpy(), 0.0)
    assert (lso.dynamic_scale, lso.step_counter) == (8.0, 1)
    lso.apply([np.full(3, 8.0, np.float32)], [w])  # second finite step: the scale doubles
    assert (lso.dynamic_scale, lso.step_counter) == (16.0, 0)
    lso.apply([np.array([np.inf, 1, 1], np.float32)], [w])  # skipped, scale halves
    np.testing.assert_allclose(w.numpy(), -1.0)
    assert (lso.dynamic_scale, lso.step_counter, lso.iterations) == (8.0, 0, 2)
    config = lso.get_config()
    assert config["initial_scale"] == 8.0 and config["dynamic_growth_steps"] == 2
    assert config["inner_optimizer"]["class_name"] == "SGD"
    again = nnfast.optimizers.deserialize(nnfast.optimizers.serialize(lso))
    assert isinstance(again, mixed_precision.LossScaleOptimizer)
    assert isinstance(again.inner_optimizer, nnfast.optimizers.SGD)


def test_mixed_float16_compile_wraps_the_optimizer():
    mixed_precision.set_global_policy("mixed_float16")
    model = nnfast.Sequential([nnfast.Input((4,)), nnfast.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert not isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
