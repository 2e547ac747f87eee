"""Embedding.quantize("int8") as Keras 3.15 does it (int8 rows, one scale per row), against
files written by Keras (tests/fixtures/quantize/make_embedding_int8.py)."""
import os

import numpy as np
import pytest

import nnfast

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "quantize")


@pytest.fixture
def data():
    return np.load(os.path.join(HERE, "embedding_int8.npz"))


def test_quantizing_keras_float_model_gives_keras_tables_and_outputs(data):
    model = nnfast.models.load_model(os.path.join(HERE, "embedding_float.keras"))
    with pytest.warns(UserWarning, match="GlobalAveragePooling1D does not have"):
        model.quantize("int8")
    emb = model.get_layer("emb")
    assert emb.dtype_policy.name == "int8_from_float32"
    assert emb.embeddings.value.dtype == np.int8 and emb.trainable_weights == []
    assert [w.name for w in emb.weights] == ["embeddings", "embeddings_scale"]
    np.testing.assert_array_equal(emb.embeddings.value, data["table"])
    np.testing.assert_allclose(emb.embeddings_scale.value, data["scale"], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(emb(data["ids"])), data["emb_out"], rtol=1e-6)
    np.testing.assert_allclose(model.predict(data["ids"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-6)


def test_keras_int8_file_loads_and_round_trips(data, tmp_path):
    model = nnfast.models.load_model(os.path.join(HERE, "embedding_int8.keras"))
    emb = model.get_layer("emb")
    np.testing.assert_array_equal(emb.embeddings.value, data["table"])
    np.testing.assert_array_equal(emb.embeddings_scale.value, data["scale"])
    # Keras's numbers: the int8 row over its float32 scale.
    want = data["table"][data["ids"]].astype(np.float32) / data["scale"][data["ids"]][..., None]
    np.testing.assert_array_equal(np.asarray(emb(data["ids"])), want)
    np.testing.assert_allclose(model.predict(data["ids"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-6)
    path = str(tmp_path / "again.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    np.testing.assert_array_equal(again.predict(data["ids"], verbose=0),
                                  model.predict(data["ids"], verbose=0))


def test_errors():
    layer = nnfast.layers.Embedding(10, 4)
    with pytest.raises(ValueError, match="not built"):
        layer.quantize("int8")
    layer.build()
    with pytest.raises(NotImplementedError, match="float8"):
        layer.quantize("float8")
    layer.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
