"""Lookup, text and categorical preprocessing layers against Keras 3.15 fixtures
(tests/fixtures/preproc/make_lookup_fixtures.py)."""
import json
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast.layers import (CategoryEncoding, Discretization, HashedCrossing, Hashing,
                           IntegerLookup, StringLookup, TextVectorization)
from nnfast.preprocessing import _lookup_fast

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "preproc")
with open(os.path.join(HERE, "lookup_cases.json"), encoding="utf-8") as _f:
    CASES = json.load(_f)
BIG = 2 ** 62 + 7


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _strings(flat, shape):
    return np.array(flat, dtype=object).reshape(shape).astype(str)


# --- hashes ---------------------------------------------------------------------------------

def test_fingerprint64_matches_tf_to_hash_bucket_fast_over_all_lengths():
    got = [_lookup_fast.fingerprint64(s.encode()) % BIG for s in CASES["hash_strings"]]
    assert got == CASES["hash_fast"]


def test_siphash_matches_tf_to_hash_bucket_strong_over_all_lengths():
    got = [_lookup_fast.siphash(s.encode(), 123, 456) % BIG for s in CASES["hash_strings"]]
    assert got == CASES["hash_strong"]


@pytest.mark.parametrize("case", CASES["hashing"], ids=lambda c: str(c["kwargs"]))
def test_hashing_matches_keras(case):
    data = np.array(case["input"]).reshape(case["shape"])
    layer = Hashing(**case["kwargs"])
    out = _np(layer(data))
    np.testing.assert_array_equal(out, np.array(case["output"]))
    assert out.dtype == (np.int64 if layer.output_mode == "int" else np.float32)
    again = Hashing.from_config(layer.get_config())
    np.testing.assert_array_equal(_np(again(data)), out)
    for key in ("num_bins", "salt", "mask_value", "output_mode", "sparse"):
        assert layer.get_config()[key] == case["config"][key]


@pytest.mark.parametrize("case", CASES["hashed_crossing"], ids=lambda c: str(c["kwargs"]))
def test_hashed_crossing_matches_keras(case):
    inputs = tuple(np.array(x).reshape(s) for x, s in zip(case["inputs"], case["shapes"]))
    layer = HashedCrossing(**case["kwargs"])
    np.testing.assert_array_equal(_np(layer(inputs)), np.array(case["output"]))


def test_hashed_crossing_rejects_bad_inputs():
    layer = HashedCrossing(num_bins=4)
    with pytest.raises(ValueError, match="at least two"):
        layer((np.array([1, 2]),))
    with pytest.raises(ValueError, match="equal shape"):
        layer((np.array([1, 2]), np.array([1, 2, 3])))


# --- CategoryEncoding -----------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES["category_encoding"], ids=lambda c: str(c["kwargs"]))
def test_category_encoding_matches_keras(case):
    layer = CategoryEncoding(**case["kwargs"])
    weights = None if case["weights"] is None else np.array(case["weights"])
    out = _np(layer(np.array(case["input"]), count_weights=weights))
    np.testing.assert_allclose(out, np.array(case["output"]), rtol=1e-6)
    assert CategoryEncoding.from_config(layer.get_config()).get_config() == layer.get_config()


def test_category_encoding_in_a_model_trains():
    inp = keras.Input(shape=(2,), dtype="int64")
    out = keras.layers.Dense(1)(CategoryEncoding(num_tokens=5, output_mode="count")(inp))
    model = keras.Model(inp, out)
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).integers(0, 5, size=(32, 2))
    hist = model.fit(x, x.sum(1, keepdims=True).astype("float32"), epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


# --- StringLookup / IntegerLookup -----------------------------------------------------------

@pytest.mark.parametrize("case", CASES["string_lookup"], ids=lambda c: str(c["kwargs"]))
def test_string_lookup_adapt_and_call_match_keras(case):
    layer = StringLookup(**case["kwargs"])
    layer.adapt(np.array(CASES["string_corpus"]))
    assert layer.get_vocabulary() == case["vocabulary"]
    query = _strings(case["query"], case["query_shape"])
    np.testing.assert_allclose(_np(layer(query)), np.array(case["output"]), rtol=1e-6)
    config = layer.get_config()
    for key, value in case["config"].items():
        if key not in ("dtype", "name"):
            assert config[key] == value, key


def test_string_lookup_invert_and_fixed_tfidf_match_keras():
    inv = StringLookup(vocabulary=["a", "b", "c"], invert=True, mask_token="[M]")
    out = _np(inv(np.array([[0, 1, 2], [3, 4, 9]])))
    assert out.reshape(-1).tolist() == CASES["string_lookup_invert"]["output"]
    fixed = StringLookup(vocabulary=["x", "y"], output_mode="tf_idf", idf_weights=[0.5, 1.5])
    np.testing.assert_allclose(_np(fixed(np.array([["x", "x", "z"], ["y", "q", "x"]]))),
                               CASES["string_lookup_fixed_tfidf"], rtol=1e-6)


def test_string_lookup_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="repeated"):
        StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["b"]))
    with pytest.raises(RuntimeError, match="vocabulary before calling"):
        StringLookup(output_mode="multi_hot")(np.array(["b"]))
    with pytest.raises(ValueError, match="invert"):
        StringLookup(invert=True, output_mode="count")
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\n", encoding="utf-8")
    layer = StringLookup(vocabulary=str(path))
    np.testing.assert_array_equal(_np(layer(np.array(["z", "x", "w"]))), [3, 1, 0])


@pytest.mark.parametrize("case", CASES["integer_lookup"], ids=lambda c: str(c["kwargs"]))
def test_integer_lookup_matches_keras(case):
    layer = IntegerLookup(**case["kwargs"])
    layer.adapt(np.array(CASES["integer_corpus"]))
    assert layer.get_vocabulary() == case["vocabulary"]
    np.testing.assert_allclose(_np(layer(np.array(CASES["integer_queries"]))),
                               np.array(case["output"]))
    again = IntegerLookup.from_config(layer.get_config())
    again.set_vocabulary(layer.get_vocabulary())
    assert again.get_vocabulary() == layer.get_vocabulary()


def test_integer_lookup_invert_round_trip():
    layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    inv = IntegerLookup(vocabulary=[12, 36, 1138, 42], invert=True)
    x = np.array([[12, 1138, 42], [42, 1000, 36]])
    np.testing.assert_array_equal(_np(inv(layer(x))), [[12, 1138, 42], [42, -1, 36]])


# --- TextVectorization ----------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES["text_vectorization"], ids=lambda c: str(c["kwargs"]))
def test_text_vectorization_matches_keras(case):
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    layer = TextVectorization(**kwargs)
    layer.adapt(CASES["tv_texts"])
    assert layer.get_vocabulary() == case["vocabulary"]
    queries = np.array(CASES["tv_queries"])
    if kwargs.get("split", "whitespace") is None:
        queries = queries[:, None]
    out = _np(layer(queries))
    assert list(out.shape) == case["shape"]
    np.testing.assert_allclose(out, np.array(case["output"]).reshape(out.shape), rtol=1e-6)
    config = layer.get_config()
    as_json = json.loads(json.dumps({k: v for k, v in config.items() if k != "dtype"}))
    for key, value in case["config"].items():
        if key != "name":
            assert as_json[key] == value, key
    again = TextVectorization.from_config(config)
    if layer.get_config()["output_mode"] != "tf_idf":
        again.set_vocabulary(layer.get_vocabulary())
        np.testing.assert_allclose(_np(again(queries)), out, rtol=1e-6)


def test_text_vectorization_adapt_on_generator_and_fixed_vocabulary():
    texts = CASES["tv_texts"]
    layer = TextVectorization(max_tokens=6)
    layer.adapt(np.array(texts[i:i + 2]) for i in range(0, len(texts), 2))
    assert layer.get_vocabulary() == CASES["tv_generator_vocabulary"]
    fixed = TextVectorization(vocabulary=["", "[UNK]", "cat", "dog"])
    np.testing.assert_array_equal(_np(fixed(np.array(["cat dog bird", "dog"]))),
                                  CASES["tv_fixed_vocab_output"])
    with pytest.raises(ValueError, match="static vocabulary"):
        fixed.adapt(["a b"])


def test_text_vectorization_callables():
    def standardize(x):  # a NumPy array of str, as Keras's non-TF backends pass it
        return np.char.upper(x)

    def split(x):
        return [s.split("-") for s in x]

    layer = TextVectorization(standardize=standardize, split=split)
    layer.adapt(["a-b-b", "b-c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    np.testing.assert_array_equal(_np(layer(np.array(["b-a", "c-d-b"]))), [[2, 4, 0], [3, 1, 2]])


def test_text_vectorization_rejects_bad_arguments():
    with pytest.raises(ValueError, match="standardize"):
        TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="output_sequence_length"):
        TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))


def test_text_vectorization_model_fits_predicts_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    words = np.array(["good", "great", "bad", "awful", "movie", "plot", "the"])
    texts = np.array([" ".join(rng.choice(words, size=6)) for _ in range(64)])
    labels = np.array([[float(sum(w in ("good", "great") for w in t.split()) >
                              sum(w in ("bad", "awful") for w in t.split()))] for t in texts])
    vectorize = TextVectorization(max_tokens=12, output_mode="int", output_sequence_length=6)
    vectorize.adapt(texts)
    inp = keras.Input(shape=(1,), dtype="string")
    x = keras.layers.Embedding(12, 8)(vectorize(inp))
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inp, out)
    model.compile("adam", "binary_crossentropy")
    hist = model.fit(texts[:, None], labels, epochs=4, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    pred = model.predict(texts[:5], verbose=0)
    path = str(tmp_path / "tv.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(texts[:5], verbose=0), pred, rtol=1e-6)
    assert loaded.layers[1].get_vocabulary() == vectorize.get_vocabulary()
    seq = keras.Sequential([keras.Input(shape=(1,), dtype="string"), vectorize,
                            keras.layers.Embedding(12, 4), keras.layers.Flatten(),
                            keras.layers.Dense(1)])
    seq.compile("sgd", "mse")
    seq.fit(texts[:, None], labels, epochs=1, verbose=0)
    assert seq.predict(texts[:3], verbose=0).shape == (3, 1)


def test_keras_written_text_vectorization_models_load_with_keras_outputs():
    queries = np.array(CASES["tv_queries"])
    model = keras.models.load_model(os.path.join(HERE, "tv_int.keras"))
    np.testing.assert_allclose(model.predict(queries[:, None], verbose=0),
                               np.load(os.path.join(HERE, "tv_int_pred.npy")), rtol=1e-5,
                               atol=1e-6)
    model = keras.models.load_model(os.path.join(HERE, "tv_tfidf.keras"))
    np.testing.assert_allclose(model.predict(queries, verbose=0),
                               np.load(os.path.join(HERE, "tv_tfidf_pred.npy")), rtol=1e-6)
    model = keras.models.load_model(os.path.join(HERE, "string_lookup.keras"))
    np.testing.assert_array_equal(model.predict(np.array(CASES["string_queries"]), verbose=0),
                                  np.load(os.path.join(HERE, "string_lookup_pred.npy")))


def test_tfidf_weights_saved_as_keras_does(tmp_path):
    import h5py
    import zipfile

    layer = TextVectorization(output_mode="tf_idf")
    layer.adapt(CASES["tv_texts"])
    inp = keras.Input(shape=(), dtype="string")
    model = keras.Model(inp, layer(inp))
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert "assets/layers/text_vectorization/vocabulary.txt" in names
        assert "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt" in names
        with z.open("model.weights.h5") as fh, h5py.File(fh, "r") as f:
            np.testing.assert_allclose(
                f["layers/text_vectorization/_lookup_layer/vars/idf_weights"][()],
                layer._lookup_layer.idf_weights)
    loaded = keras.models.load_model(path)
    queries = np.array(CASES["tv_queries"])
    np.testing.assert_allclose(loaded.predict(queries, verbose=0),
                               _np(layer(queries)), rtol=1e-6)


# --- Discretization -------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES["discretization"], ids=lambda c: str(c["kwargs"]))
def test_discretization_adapt_matches_keras_quantiles(case):
    data = np.load(os.path.join(HERE, "discretization_data.npy"))
    adapt_data = data[:, :1] if case["kwargs"].get("epsilon") == 0.001 else data
    layer = Discretization(**case["kwargs"])
    sizes = case["batch_sizes"]
    if len(sizes) > 1:
        step = max(sizes)
        layer.adapt(iter([data[i:i + step] for i in range(0, len(data), step)]))
    else:
        layer.adapt(adapt_data)
    np.testing.assert_allclose(layer.bin_boundaries, case["bin_boundaries"], rtol=1e-6)
    np.testing.assert_array_equal(_np(layer(data[:6])), case["output"])
    again = Discretization.from_config(layer.get_config())
    assert again.bin_boundaries == layer.bin_boundaries


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_discretization_output_modes_match_keras(mode):
    data = np.load(os.path.join(HERE, "discretization_data.npy"))
    layer = Discretization(bin_boundaries=[-0.5, 0.0, 0.7], output_mode=mode)
    x = data[:4, :1] if mode == "one_hot" else data[:4]
    np.testing.assert_array_equal(_np(layer(x)), CASES[f"discretization_{mode}"])


def test_structured_data_model_with_lookups_fits_and_round_trips(tmp_path):
    """keras.io's structured-data pattern: per-feature lookup/encoding layers in a
    multi-input functional model, trained with fit, saved and reloaded."""
    rng = np.random.default_rng(0)
    n = 64
    city = rng.choice(["paris", "rome", "oslo", "lima"], size=(n, 1))
    code = rng.choice([3, 7, 11], size=(n, 1))
    age = rng.uniform(0, 80, size=(n, 1)).astype(np.float32)
    y = ((city[:, 0] == "rome") | (age[:, 0] > 50)).astype(np.float32)[:, None]
    city_lookup = StringLookup(output_mode="one_hot")
    city_lookup.adapt(city)
    code_lookup = IntegerLookup(output_mode="multi_hot")
    code_lookup.adapt(code)
    age_bins = Discretization(num_bins=4, output_mode="one_hot")
    age_bins.adapt(age)
    cross = Hashing(num_bins=8, output_mode="one_hot")
    in_city = keras.Input(shape=(1,), dtype="string", name="city")
    in_code = keras.Input(shape=(1,), dtype="int64", name="code")
    in_age = keras.Input(shape=(1,), name="age")
    features = keras.layers.concatenate([city_lookup(in_city), code_lookup(in_code),
                                         age_bins(in_age), cross(in_city)])
    out = keras.layers.Dense(1, activation="sigmoid")(features)
    model = keras.Model([in_city, in_code, in_age], out)
    model.compile("adam", "binary_crossentropy")
    inputs = {"city": city, "code": code, "age": age}
    hist = model.fit(inputs, y, epochs=5, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    pred = model.predict(inputs, verbose=0)
    path = str(tmp_path / "structured.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), pred, rtol=1e-5)
