"""keras.utils.FeatureSpace against Keras 3.15 (tests/fixtures/preproc/
make_feature_space_fixtures.py), and inside a model."""
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast.utils import FeatureSpace as FS

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "preproc", "feature_space.npz"))
DATA = {k[4:]: F[k] for k in F.files if k.startswith("col_")}


def _space(**kwargs):
    return FS({"age": "float_normalized", "city": "string_categorical",
               "code": "integer_categorical", "tag": FS.string_hashed(num_bins=4),
               "income": FS.float_discretized(num_bins=5), "raw": "float",
               "scaled": FS.float_rescaled(scale=0.5, offset=1.0)},
              crosses=[("city", "code")], crossing_dim=8, **kwargs)


def test_feature_space_encoding_matches_keras():
    fs = _space()
    fs.adapt(DATA)
    np.testing.assert_allclose(fs(DATA).numpy(), F["output"], rtol=1e-5, atol=1e-6)
    one = fs({k: v[0] for k, v in DATA.items()})
    np.testing.assert_allclose(one.numpy(), F["output"][0], rtol=1e-5, atol=1e-6)


def test_feature_space_adapts_from_batches_and_builds_a_model():
    fs = _space()
    batches = [({k: v[i:i + 32] for k, v in DATA.items()}, None) for i in range(0, 100, 32)]
    fs.adapt(batches)
    np.testing.assert_allclose(fs(DATA).numpy(), F["output"], rtol=1e-5, atol=1e-6)
    inputs, encoded = fs.get_inputs(), fs.get_encoded_features()
    assert encoded.shape == (None, F["output"].shape[1])
    model = keras.Model(inputs, keras.layers.Dense(1)(encoded))
    model.compile("adam", "mse")
    y = np.random.default_rng(0).normal(size=(100, 1)).astype("float32")
    hist = model.fit(DATA, y, epochs=3, verbose=0)
    assert np.isfinite(hist.history["loss"][-1])
    np.testing.assert_allclose(model.predict(DATA, verbose=0),
                               model.layers[-1](fs(DATA)).numpy(), rtol=1e-5, atol=1e-6)


def test_feature_space_dict_mode_config_and_errors():
    fs = FS({"a": "string_categorical", "b": FS.integer_categorical(output_mode="int")},
            output_mode="dict")
    with pytest.raises(ValueError, match="adapt"):
        fs({"a": np.array(["u"]), "b": np.array([1])})
    fs.adapt({"a": np.array(["u", "v", "u"]), "b": np.array([1, 2, 2])})
    out = fs({"a": np.array(["u", "w"]), "b": np.array([2, 5])})
    np.testing.assert_array_equal(out["a"].numpy(), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(out["b"].numpy(), [[1], [0]])
    assert FS.from_config(fs.get_config()).get_config() == fs.get_config()
    with pytest.raises(ValueError, match="Invalid feature type"):
        FS({"a": "strange"})
    with pytest.raises(ValueError, match="unknown features"):
        FS({"a": "float"}, crosses=[("a", "b")])
    concat = FS({"b": FS.integer_categorical(output_mode="int")})
    concat.adapt({"b": np.array([1, 2])})
    with pytest.raises(ValueError, match="not been encoded"):
        concat({"b": np.array([1])})
