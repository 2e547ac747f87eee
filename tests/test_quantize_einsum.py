"""EinsumDense.quantize("int8") as Keras 3.15 does it: int8 kernels with scales laid out
along the output's axes, inputs quantized over their contracted axes, Keras's file layout;
against files written by Keras (tests/fixtures/quantize/make_einsum_int8.py)."""
import os

import numpy as np
import pytest

import nnfast
from nnfast.ops.quantized_einsum import einsum_specs, quantize_kernel

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "quantize")
LAYERS = ["proj", "heads", "merge", "seq"]


@pytest.fixture
def data():
    return np.load(os.path.join(HERE, "einsum_int8.npz"))


def test_quantizing_keras_float_model_gives_keras_weights_and_outputs(data):
    model = nnfast.models.load_model(os.path.join(HERE, "einsum_float.keras"))
    with pytest.warns(UserWarning, match="does not have a `quantize`"):
        model.quantize("int8")
    for name in LAYERS:
        layer = model.get_layer(name)
        assert layer.dtype_policy.name == "int8_from_float32"
        np.testing.assert_array_equal(np.asarray(layer.kernel.value), data[name + "_kernel"])
        assert layer.kernel_scale.shape == data[name + "_scale"].shape
        np.testing.assert_allclose(np.asarray(layer.kernel_scale.value), data[name + "_scale"],
                                   rtol=1e-6)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-5)


def test_keras_quantized_file_loads_and_round_trips(data, tmp_path):
    model = nnfast.models.load_model(os.path.join(HERE, "einsum_int8.keras"))
    y = model.predict(data["x"], verbose=0)
    np.testing.assert_allclose(y, data["y"], rtol=1e-5, atol=1e-5)
    path = str(tmp_path / "q.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    np.testing.assert_array_equal(again.predict(data["x"], verbose=0), y)


def test_matches_float64_reference_and_passes_input_gradients():
    rng = np.random.default_rng(2)
    layer = nnfast.layers.EinsumDense("...b,bc->...c", 6, bias_axes="c")
    x = rng.normal(size=(3, 4, 9)).astype(np.float32)
    layer(x)
    kernel = np.asarray(layer.kernel.value).copy()
    layer.bias.assign(rng.normal(size=6).astype(np.float32))
    layer.quantize("int8")
    kq, ks = np.asarray(layer.kernel.value).astype(np.float64), np.asarray(layer.kernel_scale.value)
    assert ks.shape == (1, 1, 6)
    np.testing.assert_allclose(kq / ks[0], kernel, atol=np.abs(kernel).max() / 127)
    xs = 127.0 / (np.abs(x).max(axis=-1, keepdims=True) + 1e-7)
    want = (np.round(x * xs) @ kq) / (xs * ks) + np.asarray(layer.bias.value)
    xt = nnfast.ops.convert_to_tensor(x)
    with nnfast.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        loss = nnfast.ops.sum(y * y)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
    gx, gb = tape.gradient(loss, [xt, layer.bias])
    np.testing.assert_allclose(np.asarray(gx), (2 * np.asarray(y)) @ (kq / ks[0]).T,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gb), 2 * np.asarray(y).sum(axis=(0, 1)), rtol=1e-4)
    assert [w.name for w in layer.trainable_weights] == ["bias"]


def test_scale_layout_and_errors():
    assert einsum_specs("abc,cde->abde", 3) == ("abc", "cde", "abde")
    assert einsum_specs("...b,bc->...c", 4) == ("ABCb", "bc", "ABCc")
    assert einsum_specs("ab...,bc->ac...", 3) == ("abA", "bc", "acA")
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        einsum_specs("ab,bc", 2)
    k = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 11
    q, s = quantize_kernel(k, "cde", "abe")  # contracted c, d
    assert s.shape == (1, 1, 4)
    np.testing.assert_allclose(s.ravel(), 127 / (np.abs(k).max(axis=(0, 1)) + 1e-7), rtol=1e-6)
    layer = nnfast.layers.EinsumDense("ab,bc->ac", 3)
    with pytest.raises(ValueError, match="not built"):
        layer.quantize("int8")
    layer.build((None, 4))
    with pytest.raises(NotImplementedError, match="int4"):
        layer.quantize("int4")
    layer.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
