"""int4 quantization and the rest of keras.quantizers / keras.dtype_policies as Keras 3.15
does them: the int4/float8/fake-quant helpers, the quantization configs and the int4, float8,
GPTQ and AWQ policies, and `Dense.quantize("int4")` with Keras's numbers and files, against
tests/fixtures/quantize/make_int4.py."""
import json
import os
import zipfile

import h5py
import nnfast
import numpy as np
import pytest
from nnfast import dtype_policies, quantizers

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "quantize")
CONFIGS = {
    "per_channel": lambda: quantizers.Int4QuantizationConfig(block_size=None),
    "block8": lambda: quantizers.Int4QuantizationConfig(block_size=8),
    "act": lambda: quantizers.Int4QuantizationConfig(
        activation_quantizer=quantizers.AbsMaxQuantizer(), block_size=None),
}


@pytest.fixture(scope="module")
def data():
    return dict(np.load(os.path.join(HERE, "int4.npz")))


def arr(t):
    return np.asarray(t.value if hasattr(t, "value") else t)


# --- int4 helpers ---------------------------------------------------------------------------

def test_pack_unpack_int4_match_keras_on_every_axis(data):
    a = data["int4_values"]
    for axis in (0, 1, -1):
        packed, shape, n = quantizers.pack_int4(a, axis=axis)
        np.testing.assert_array_equal(arr(packed), data[f"packed_axis{axis}"])
        assert shape == data[f"packed_axis{axis}"].shape and n == a.shape[axis]
        np.testing.assert_array_equal(arr(quantizers.unpack_int4(packed, n, axis=axis)), a)
        np.testing.assert_array_equal(
            arr(quantizers.unpack_int4(packed, n, axis=axis, dtype="uint8")),
            data[f"unpacked_u8_axis{axis}"])
    a3 = data["int4_values3"]
    packed, _, n = quantizers.pack_int4(a3, axis=1)
    np.testing.assert_array_equal(arr(packed), data["packed3_axis1"])
    np.testing.assert_array_equal(arr(quantizers.unpack_int4(packed, n, axis=1)), a3)


def test_pack_unpack_int4_reject_bad_input():
    with pytest.raises(TypeError, match="Expected int8 tensor"):
        quantizers.pack_int4(np.zeros(4, np.int32))
    with pytest.raises(ValueError, match="'int8' or 'uint8'"):
        quantizers.pack_int4(np.zeros(4, np.int8), dtype="int16")
    with pytest.raises(ValueError, match="out of range"):
        quantizers.pack_int4(np.zeros((2, 2), np.int8), axis=2)
    with pytest.raises(ValueError, match="orig_len"):
        quantizers.unpack_int4(np.zeros(2, np.int8), 5)
    with pytest.raises(TypeError, match="int8 or uint8"):
        quantizers.unpack_int4(np.zeros(2, np.float32), 4)


def test_grouped_quantization_with_zero_point_matches_keras(data):
    w = data["grouped_w"]
    q, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(w, block_size=8)
    np.testing.assert_array_equal(arr(q), data["grouped_q"])
    np.testing.assert_allclose(arr(scale), data["grouped_scale"], rtol=1e-6)
    np.testing.assert_array_equal(arr(zero), data["grouped_zero"])
    assert arr(zero).dtype == np.int8 and arr(scale).shape == (3, 6)
    # float64 reference of the definition: the dequantized blocks approximate w
    groups = np.arange(19) // 8
    back = (arr(q).astype(np.float64) - arr(zero)[groups]) * arr(scale)[groups]
    assert np.abs(back - w).max() <= arr(scale).max() * 0.5 + 1e-6
    with pytest.raises(ValueError, match="2D"):
        quantizers.abs_max_quantize_grouped_with_zero_point(np.zeros(3), 2)
    with pytest.raises(ValueError, match="block_size"):
        quantizers.abs_max_quantize_grouped_with_zero_point(w, 0)


# --- fake quantization and float8 scaling ---------------------------------------------------

@pytest.mark.parametrize("tag,kwargs", [("tensor", {}),
                                        ("narrow4", {"num_bits": 4, "narrow_range": True}),
                                        ("channel", {"axis": -1})])
def test_fake_quant_values_and_gradients_match_tensorflow(data, tag, kwargs):
    x = nnfast.Variable(data["fq_x"])
    lo, hi = nnfast.Variable(data[f"fq_{tag}_min"]), nnfast.Variable(data[f"fq_{tag}_max"])
    weights = np.arange(1, 13, dtype="float32").reshape(4, 3)
    with nnfast.GradientTape() as tape:
        y = quantizers.fake_quant_with_min_max_vars(x, lo, hi, **kwargs)
        loss = nnfast.ops.sum(y * weights)
    gx, glo, ghi = tape.gradient(loss, [x, lo, hi])
    np.testing.assert_allclose(arr(y), data[f"fq_{tag}_y"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(arr(gx), data[f"fq_{tag}_gx"])
    np.testing.assert_allclose(arr(glo), data[f"fq_{tag}_gmin"], rtol=1e-6)
    np.testing.assert_allclose(arr(ghi), data[f"fq_{tag}_gmax"], rtol=1e-6)


def test_fake_quant_rejects_mismatched_ranges():
    with pytest.raises(ValueError, match="one value per channel"):
        quantizers.fake_quant_with_min_max_vars(np.zeros((2, 3)), [0, 0], [1, 1], axis=-1)
    with pytest.raises(ValueError, match="scalar"):
        quantizers.fake_quant_with_min_max_vars(np.zeros((2, 3)), [0, 0], [1, 1])


def test_float8_scale_and_amax_history_match_keras(data):
    np.testing.assert_allclose(
        arr(quantizers.compute_float8_scale(data["f8_amax"], data["f8_scale"], 448.0)),
        data["f8_new_scale"], rtol=1e-6)
    np.testing.assert_allclose(
        arr(quantizers.compute_float8_scale(data["f8_amax"], data["f8_scale"], 57344.0, 2)),
        data["f8_new_scale_m2"], rtol=1e-6)
    np.testing.assert_array_equal(
        arr(quantizers.compute_float8_amax_history(data["fq_x"], data["f8_hist"])),
        data["f8_new_hist"])


# --- configs and policies -------------------------------------------------------------------

def test_quantization_configs_serialize_as_keras():
    c = quantizers.Int4QuantizationConfig(block_size=None, activation_quantizer=None,
                                          weight_quantizer=quantizers.AbsMaxQuantizer(
                                              axis=0, value_range=(-8, 7)))
    d = quantizers.serialize(c)
    assert d["module"] == "keras.quantizers" and d["class_name"] == "Int4QuantizationConfig"
    assert d["config"]["block_size"] is None and d["config"]["activation_quantizer"] is None
    back = quantizers.deserialize(d)
    assert back.mode == "int4" and back.weight_quantizer.value_range == (-8, 7)
    assert quantizers.Int4QuantizationConfig.from_config({}).block_size is None  # old files
    assert quantizers.Int4QuantizationConfig().block_size == 128
    i8 = quantizers.Int8QuantizationConfig()
    assert isinstance(i8.activation_quantizer, quantizers.AbsMaxQuantizer)
    assert quantizers.Float8QuantizationConfig().get_config() == {}
    g = quantizers.GPTQConfig([1], None, weight_bits=3, group_size=-1)
    assert g.get_config()["dataset"] is None and g.dtype_policy_string() == "gptq/3/-1"
    assert quantizers.GPTQConfig.from_config(g.get_config()).weight_bits == 3
    a = quantizers.AWQConfig(None, None, group_size=64)
    assert a.mode == "awq" and a.dtype_policy_string() == "awq/4/64"
    with pytest.raises(ValueError, match="block_size"):
        quantizers.Int4QuantizationConfig(block_size=0)
    with pytest.raises(ValueError, match="custom quantizers"):
        quantizers.Int4QuantizationConfig(activation_quantizer=quantizers.AbsMaxQuantizer())
    with pytest.raises(ValueError, match="value_range"):
        quantizers.Int4QuantizationConfig(block_size=None,
                                          weight_quantizer=quantizers.AbsMaxQuantizer())
    with pytest.raises(ValueError, match="weight_bits"):
        quantizers.GPTQConfig(None, None, weight_bits=5)
    with pytest.raises(ValueError, match="4-bit"):
        quantizers.AWQConfig(None, None, weight_bits=8)
    with pytest.raises(NotImplementedError, match="Subclasses"):
        _ = quantizers.QuantizationConfig().mode


def test_quantized_policies_named_and_serialized_as_keras():
    p = dtype_policies.get("int4/128_from_mixed_bfloat16")
    assert type(p) is dtype_policies.Int4DTypePolicy and p.block_size == 128
    assert p.quantization_mode == "int4" and p.compute_dtype == "bfloat16"
    assert p.get_config() == {"mode": "int4/128", "source_name": "mixed_bfloat16"}
    assert dtype_policies.get({"module": "keras.dtype_policies", "class_name": "Int4DTypePolicy",
                               "config": p.get_config(), "registered_name": None}) == p
    f8 = dtype_policies.get("float8_from_float32")
    assert type(f8) is dtype_policies.QuantizedFloat8DTypePolicy
    assert f8.get_config() == {"mode": "float8", "source_name": "float32",
                               "amax_history_length": 1024}
    g = dtype_policies.GPTQDTypePolicy("gptq/4/-1", "float32")
    assert (g.weight_bits, g.group_size, g.name) == (4, -1, "gptq/4/-1_from_float32")
    a = dtype_policies.get("awq/4/128_from_float32")
    assert type(a) is dtype_policies.AWQDTypePolicy and a.get_config()["mode"] == "awq/4/128"
    assert type(dtype_policies.get("int4_from_float32")) is dtype_policies.QuantizedDTypePolicy
    for bad, match in (("int4/0", "block_size"), ("int4", "format"), ("int4/x", "integer")):
        with pytest.raises(ValueError, match=match):
            dtype_policies.Int4DTypePolicy(bad, "float32")
    with pytest.raises(ValueError, match="weight_bits"):
        dtype_policies.GPTQDTypePolicy("gptq/5/128", "float32")
    with pytest.raises(ValueError, match="4-bit"):
        dtype_policies.AWQDTypePolicy("awq/8/128", "float32")
    with pytest.raises(TypeError, match="amax_history_length"):
        dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", 1.5)
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        dtype_policies.QuantizedDTypePolicy("int2", "float32")


# --- Dense.quantize("int4") ------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
def test_int4_dense_matches_keras_and_files_round_trip(data, name, tmp_path):
    model = nnfast.models.load_model(os.path.join(HERE, "int4_float.keras"))
    model.quantize("int4", config=CONFIGS[name]())
    for lname in ("hidden", "out"):
        layer = model.get_layer(lname)
        np.testing.assert_array_equal(arr(layer.kernel), data[f"{name}_{lname}_kernel"])
        np.testing.assert_allclose(arr(layer.kernel_scale), data[f"{name}_{lname}_scale"],
                                   rtol=1e-6)
        if f"{name}_{lname}_zero" in data:
            np.testing.assert_array_equal(arr(layer.kernel_zero), data[f"{name}_{lname}_zero"])
        assert [w.name for w in layer.trainable_weights] == ["bias"]
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data[f"{name}_y"],
                               rtol=1e-5, atol=1e-6)
    keras_file = os.path.join(HERE, f"int4_{name}.keras")
    loaded = nnfast.models.load_model(keras_file)
    np.testing.assert_allclose(loaded.predict(data["x"], verbose=0), data[f"{name}_y"],
                               rtol=1e-5, atol=1e-6)
    # nnfast's file has Keras's layout: the same layer configs and weight datasets.
    path = str(tmp_path / "m.keras")
    model.save(path)

    def layout(p, where):
        with zipfile.ZipFile(p) as z:
            layers = json.loads(z.read("config.json"))["config"]["layers"][1:]
            z.extract("model.weights.h5", str(tmp_path / where))
        with h5py.File(str(tmp_path / where / "model.weights.h5")) as f:
            sets = []
            f.visititems(lambda n, o: sets.append((n, o.shape, o.dtype.str))
                         if isinstance(o, h5py.Dataset) else None)
        # (Keras marks the config objects the two layers share: shared_object_id)
        def plain(c):
            return {k: plain(v) for k, v in c.items() if k != "shared_object_id"} \
                if isinstance(c, dict) else c

        configs = [plain(l["config"].get("quantization_config")) for l in layers]
        return [(l["config"]["dtype"], c) for l, c in zip(layers, configs)], \
            sorted(sets)

    assert layout(path, "ours") == layout(keras_file, "keras")
    again = nnfast.models.load_model(path)
    np.testing.assert_allclose(again.predict(data["x"], verbose=0), data[f"{name}_y"],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,block", [("emb_per_channel", None), ("emb_block4", 4)])
def test_int4_embedding_matches_keras_and_files_round_trip(data, name, block, tmp_path):
    model = nnfast.models.load_model(os.path.join(HERE, "int4_emb_float.keras"))
    model.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=block))
    layer = model.get_layer("emb")
    assert layer.dtype_policy.name == f"int4/{block or -1}_from_float32"
    np.testing.assert_array_equal(arr(layer.embeddings), data[f"{name}_table"])
    np.testing.assert_allclose(arr(layer.embeddings_scale), data[f"{name}_scale"], rtol=1e-6)
    if block:
        np.testing.assert_array_equal(arr(layer.embeddings_zero), data[f"{name}_zero"])
    ids = data["emb_ids"]
    np.testing.assert_allclose(model.predict(ids, verbose=0), data[f"{name}_y"], rtol=1e-6)
    loaded = nnfast.models.load_model(os.path.join(HERE, f"int4_{name}.keras"))
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), data[f"{name}_y"], rtol=1e-6)
    path = str(tmp_path / "e.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    assert again.get_layer("emb").get_config()["quantization_config"]["config"][
        "block_size"] == block
    np.testing.assert_allclose(again.predict(ids, verbose=0), data[f"{name}_y"], rtol=1e-6)


def test_int4_dense_input_gradient_is_the_dequantized_kernels():
    rng = np.random.default_rng(3)
    for config in (CONFIGS["per_channel"](), CONFIGS["block8"]()):
        layer = nnfast.layers.Dense(7)
        layer.build((None, 11))
        layer.quantize("int4", config=config)
        x = nnfast.Variable(rng.normal(size=(3, 11)).astype("float32"))
        up = rng.normal(size=(3, 7)).astype("float32")
        with nnfast.GradientTape() as tape:
            loss = nnfast.ops.sum(layer(x) * up)
        g = arr(tape.gradient(loss, x))
        # finite differences in float64 of the (linear) layer
        eps, fd = 1e-2, np.zeros((3, 11))
        for i in range(3):
            for j in range(11):
                xp, xm = arr(x).astype(np.float64).copy(), arr(x).astype(np.float64).copy()
                xp[i, j] += eps
                xm[i, j] -= eps
                yp = arr(layer(xp.astype("float32"))).astype(np.float64)
                ym = arr(layer(xm.astype("float32"))).astype(np.float64)
                fd[i, j] = ((yp - ym) * up).sum() / (2 * eps)
        np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-3)


def test_int4_cache_follows_assigned_weights():
    layer = nnfast.layers.Dense(4, use_bias=False)
    layer.build((None, 3))
    layer.quantize("int4", config=CONFIGS["per_channel"]())
    x = np.eye(3, dtype="float32")
    before = arr(layer(x))
    layer.kernel_scale.assign(arr(layer.kernel_scale) * 2)
    np.testing.assert_allclose(arr(layer(x)), before / 2, rtol=1e-6)


def test_modes_nnfast_does_not_compute_raise():
    model = nnfast.Sequential([nnfast.Input((4,)), nnfast.layers.Dense(3)])
    for mode in ("float8",):
        with pytest.raises(NotImplementedError, match="float8"):
            model.quantize(mode)
    with pytest.raises(NotImplementedError, match="gptq"):
        model.quantize(config=quantizers.GPTQConfig(None, None))
    with pytest.raises(ValueError, match="GPTQConfig"):
        model.quantize("gptq")
    with pytest.raises(ValueError, match="Contradictory"):
        model.quantize("int8", config=quantizers.Int4QuantizationConfig())
    with pytest.raises(NotImplementedError, match="default quantizers"):
        model.quantize("int8", config=quantizers.Int8QuantizationConfig(
            activation_quantizer=None))
    einsum = nnfast.Sequential([nnfast.Input((2,)),
                                nnfast.layers.EinsumDense("ab,bc->ac", (3,))])
    with pytest.raises(NotImplementedError, match="int4"):  # Keras quantizes it; nnfast not
        einsum.quantize("int4")
    with pytest.raises(NotImplementedError, match="float8"):
        nnfast.layers.Dense(3, dtype=dtype_policies.QuantizedFloat8DTypePolicy("float8",
                                                                               "float32"))
    model.quantize("int8", config=quantizers.Int8QuantizationConfig())
    assert model.layers[0].dtype_policy.name == "int8_from_float32"
