"""int8 quantization as Keras 3.15 does it (`model.quantize("int8")`, `nnfast.quantizers`,
`QuantizedDTypePolicy`), against files written by Keras
(tests/fixtures/quantize/make_int8.py)."""
import os

import numpy as np
import pytest

import nnfast
from nnfast import dtype_policies, quantizers

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "quantize")


@pytest.fixture
def data():
    return np.load(os.path.join(HERE, "int8.npz"))


def test_abs_max_quantize_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 9)).astype(np.float32)
    q, scale = quantizers.abs_max_quantize(x, axis=0)
    want_scale = np.float32(127) / (np.abs(x).max(axis=0, keepdims=True) + np.float32(1e-7))
    np.testing.assert_allclose(np.asarray(scale), want_scale, rtol=1e-7)
    np.testing.assert_array_equal(np.asarray(q), np.clip(np.round(x * want_scale), -127, 127))
    assert np.asarray(q).dtype == np.int8 and np.abs(np.asarray(q)).max() == 127
    q2, s2 = quantizers.AbsMaxQuantizer(axis=0)(x)
    np.testing.assert_array_equal(np.asarray(q2), np.asarray(q))
    assert quantizers.AbsMaxQuantizer().get_config() == {
        "value_range": (-127, 127), "epsilon": 1e-07, "output_dtype": "int8"}
    with pytest.raises(ValueError, match="within the interval"):
        quantizers.AbsMaxQuantizer(value_range=(-200, 127))
    back = quantizers.quantize_and_dequantize(x, np.float32(0.05), "int8", "float32")
    np.testing.assert_allclose(np.asarray(back), np.trunc(np.clip(x / 0.05, -127, 127)) * 0.05,
                               rtol=1e-6)


def test_quantizing_keras_float_model_gives_keras_int8_weights_and_outputs(data):
    model = nnfast.models.load_model(os.path.join(HERE, "float.keras"))
    with pytest.warns(UserWarning, match="Dropout does not have a `quantize`"):
        model.quantize("int8")
    for name in ("hidden", "out"):
        layer = model.get_layer(name)
        assert layer.dtype_policy.name == "int8_from_float32"
        np.testing.assert_array_equal(np.asarray(layer.kernel.value), data[f"{name}_kernel"])
        np.testing.assert_allclose(np.asarray(layer.kernel_scale.value), data[f"{name}_scale"],
                                   rtol=1e-6)
        assert [w.name for w in layer.trainable_weights] == ["bias"]
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-6)


def test_keras_quantized_file_loads_and_round_trips(data, tmp_path):
    model = nnfast.models.load_model(os.path.join(HERE, "int8.keras"))
    assert model.get_layer("hidden").dtype_policy == dtype_policies.QuantizedDTypePolicy(
        "int8", "float32")
    y = model.predict(data["x"], verbose=0)
    np.testing.assert_allclose(y, data["y"], rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "q.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    np.testing.assert_array_equal(again.predict(data["x"], verbose=0), y)
    assert model.get_layer("hidden").get_config()["dtype"] == {
        "module": "keras.dtype_policies", "class_name": "QuantizedDTypePolicy",
        "config": {"mode": "int8", "source_name": "float32"}, "registered_name": None}


def test_quantized_dense_trains_its_bias_and_passes_input_gradients():
    layer = nnfast.layers.Dense(3)
    x = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    layer(x)
    layer.quantize("int8")
    xt = nnfast.ops.convert_to_tensor(x)
    with nnfast.GradientTape() as tape:
        tape.watch(xt)
        y = nnfast.ops.sum(layer(xt))
    gx, gb = tape.gradient(y, [xt, layer.bias])
    float_kernel = np.asarray(layer.kernel.value, np.float32) / np.asarray(layer.kernel_scale.value)
    np.testing.assert_allclose(np.asarray(gx), np.tile(float_kernel.sum(1), (4, 1)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gb), [4, 4, 4])


def test_modes_and_errors():
    model = nnfast.Sequential([nnfast.Input((4,)), nnfast.layers.Dense(2, name="a"),
                               nnfast.layers.Dense(2, name="b")])
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        model.quantize("int3")
    with pytest.raises(NotImplementedError, match="'float8' mode is not implemented"):
        model.quantize("float8")
    with pytest.raises(ValueError, match="GPTQConfig"):  # as Keras: GPTQ needs its config
        model.quantize("gptq")
    model.quantize("int8", filters="^b$")
    assert model.get_layer("a").dtype_policy.quantization_mode is None
    assert model.get_layer("b").dtype_policy.quantization_mode == "int8"
    with pytest.raises(ValueError, match="already quantized"):
        model.get_layer("b").quantize("int8")
    with pytest.raises(NotImplementedError, match="does not have a `quantize"):
        nnfast.layers.Flatten().quantize("int8")


def test_quantized_dense_refuses_onnx_export(tmp_path):
    pytest.importorskip("onnx")
    model = nnfast.Sequential([nnfast.Input((4,)), nnfast.layers.Dense(2, name="d")])
    model.quantize("int8")
    with pytest.raises(NotImplementedError, match="Dense 'd' is quantized"):
        model.export(str(tmp_path / "m.onnx"), format="onnx")
