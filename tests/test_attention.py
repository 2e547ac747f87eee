"""MultiHeadAttention against Keras 3.15 (TensorFlow) numbers.

tests/fixtures/attention/*.npz come from tests/fixtures/make_attention_fixtures.py: inputs,
random weights (biases too), the output, the attention scores and the gradients of
``sum(output * probe)`` w.r.t. query/value(/key) and every weight, for self-attention,
cross-attention with separate key and every mask kind (query's own mask, value mask,
attention mask, causal), no biases, a fully masked row, and gate + sliding window.
"""
import os

import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "attention")

CASES = {
    "self_basic": dict(num_heads=2, key_dim=3),
    "cross_masked": dict(num_heads=3, key_dim=2, value_dim=5, output_shape=7),
    "causal_nobias": dict(num_heads=2, key_dim=4, use_bias=False),
    "all_masked_row": dict(num_heads=1, key_dim=2),
    "gated_window": dict(num_heads=2, key_dim=3, use_gate=True, sliding_window=2),
}


def _load(tag):
    return np.load(os.path.join(HERE, tag + ".npz"))


def _n_weights(d):
    return len([k for k in d.files if k.startswith("w") and k[1:].isdigit()])


@pytest.mark.parametrize("tag", sorted(CASES))
def test_matches_keras(tag):
    d = _load(tag)
    layer = layers.MultiHeadAttention(**CASES[tag])
    q, v = nnfast.Variable(d["query"]), nnfast.Variable(d["value"])
    k = nnfast.Variable(d["key"]) if "key" in d.files else None
    layer.build(q.shape, v.shape, None if k is None else k.shape)
    # Keras's weight names, order and shapes.
    paths = [str(p).split("/", 1)[1] for p in d["weight_paths"]]
    assert [w.path.split("/", 1)[1] for w in layer.weights] == paths
    layer.set_weights([d[f"w{i}"] for i in range(_n_weights(d))])
    if "query_mask" in d.files:
        q._keras_mask = d["query_mask"]
    kwargs = {}
    if "value_mask" in d.files:
        kwargs["value_mask"] = d["value_mask"]
    if "attention_mask" in d.files:
        kwargs["attention_mask"] = d["attention_mask"]
    inputs = [q, v] + ([k] if k is not None else [])
    with nnfast.GradientTape() as tape:
        tape.watch(layer.trainable_weights)
        out, scores = layer(q, v, key=k, use_causal_mask=bool(d["causal"]),
                            return_attention_scores=True, **kwargs)
        loss = ops.sum(ops.multiply(out, d["probe"]))
    grads = tape.gradient(loss, inputs + layer.trainable_weights)
    np.testing.assert_allclose(np.asarray(out), d["output"], rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(np.asarray(scores), d["scores"], rtol=1e-5, atol=1e-6)
    names = ["query", "value", "key"]
    for i, g in enumerate(grads[:len(inputs)]):
        np.testing.assert_allclose(np.asarray(g), d["grad_" + names[i]], rtol=1e-4, atol=5e-5,
                                   err_msg=f"gradient of {names[i]}")
    for i, g in enumerate(grads[len(inputs):]):
        np.testing.assert_allclose(np.asarray(g), d[f"gw{i}"], rtol=1e-4, atol=5e-5,
                                   err_msg=f"gradient of {paths[i]}")
    assert tuple(out.shape) == tuple(layer.compute_output_shape(q.shape, v.shape))
    if "query_mask" in d.files:  # the output carries the query's mask, as in Keras
        np.testing.assert_array_equal(out._keras_mask, d["query_mask"])


def test_fully_masked_row_gives_zero_probabilities():
    d = _load("all_masked_row")
    assert np.all(d["scores"][1] == 0)  # what Keras does; the fixture test checks nnfast


def test_causal_mask_blocks_the_future():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 4)).astype(np.float32)
    mha = layers.MultiHeadAttention(2, 3)
    _, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    s = np.asarray(scores)
    assert np.all(s[..., np.triu_indices(6, 1)[0], np.triu_indices(6, 1)[1]] == 0)
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-5)
    # Changing a later step leaves earlier outputs unchanged.
    x2 = x.copy()
    x2[:, 4:] += 1.0
    a, b = np.asarray(mha(x, x, use_causal_mask=True)), np.asarray(mha(x2, x2,
                                                                       use_causal_mask=True))
    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_dropout_only_in_training():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 8, 4)).astype(np.float32)
    mha = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=3)
    ref = layers.MultiHeadAttention(2, 4)
    ref.build(x.shape, x.shape)
    mha.build(x.shape, x.shape)
    ref.set_weights(mha.get_weights())
    np.testing.assert_allclose(np.asarray(mha(x, x)), np.asarray(ref(x, x)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(mha(x, x, training=False)), np.asarray(ref(x, x)),
                               rtol=1e-6)
    _, s_eval = mha(x, x, return_attention_scores=True)
    t1 = np.asarray(mha(x, x, training=True))
    t2 = np.asarray(mha(x, x, training=True))
    assert not np.allclose(t1, np.asarray(ref(x, x)))
    assert not np.allclose(t1, t2)  # a fresh mask per call
    # The returned scores are the probabilities before dropout (as Keras).
    _, s_train = mha(x, x, training=True, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(s_train), np.asarray(s_eval), rtol=1e-6)


def test_config_roundtrip_and_weights():
    mha = layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=2, dropout=0.1,
                                    output_shape=(5,), kernel_regularizer="l2", seed=7,
                                    name="att")
    mha.build((None, 6, 8), (None, 9, 10))
    shapes = [w.shape for w in mha.get_weights()]
    assert shapes == [(8, 3, 4), (3, 4), (10, 3, 4), (3, 4), (10, 3, 2), (3, 2), (3, 2, 5),
                      (5,)]
    config = mha.get_config()
    assert config["attention_axes"] == (1,) and config["value_dim"] == 2
    again = layers.MultiHeadAttention.from_config(config)
    again.build((None, 6, 8), (None, 9, 10))
    assert again.get_config() == config
    again.set_weights(mha.get_weights())
    x, y = np.ones((2, 6, 8), np.float32), np.ones((2, 9, 10), np.float32)
    np.testing.assert_allclose(np.asarray(again(x, y)), np.asarray(mha(x, y)), rtol=1e-6)
    assert len(mha.losses) == 4  # an l2 penalty per kernel


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 4, attention_axes=(1, 2))
    mha = layers.MultiHeadAttention(2, 4)
    with pytest.raises(ValueError, match="3-D"):
        mha(np.ones((2, 3, 4, 5), np.float32), np.ones((2, 3, 4, 5), np.float32))
    with pytest.raises(ValueError, match="except the last one"):
        layers.MultiHeadAttention(2, 4).build((None, 3, 4), (None, 5, 4), (None, 6, 4))


def _tiny_model():
    inp = layers.Input((10,), dtype="int32")
    x = layers.Embedding(30, 16)(inp)
    x = layers.MultiHeadAttention(2, 8)(x, x)
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(2, activation="softmax")(x)
    return nnfast.Model(inp, out)


def test_tiny_model_trains():
    nnfast.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 30, size=(256, 10)).astype(np.int32)
    labels = (np.sum(ids < 15, axis=1) > 5).astype(np.int32)  # needs the whole sequence
    model = _tiny_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(ids, labels, epochs=15, batch_size=32, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.8 * loss[0] and all(b < a for a, b in zip(loss, loss[1:])), loss


def test_cross_attention_in_functional_model_and_save(tmp_path):
    q_in, v_in = layers.Input((4, 3)), layers.Input((6, 5))
    out, scores = layers.MultiHeadAttention(2, 3, name="mha")(q_in, v_in,
                                                             return_attention_scores=True)
    assert tuple(scores.shape) == (None, 2, 4, 6)
    model = nnfast.Model([q_in, v_in], [out, scores])
    rng = np.random.default_rng(2)
    q = rng.standard_normal((2, 4, 3)).astype(np.float32)
    v = rng.standard_normal((2, 6, 5)).astype(np.float32)
    y, s = model.predict([q, v], verbose=0)
    assert y.shape == (2, 4, 3) and s.shape == (2, 2, 4, 6)
    model.save(tmp_path / "m.keras")
    again = nnfast.models.load_model(tmp_path / "m.keras")
    y2, s2 = again.predict([q, v], verbose=0)
    np.testing.assert_allclose(y2, y, rtol=1e-6)
    np.testing.assert_allclose(s2, s, rtol=1e-6)


def test_keras_saved_model_loads_and_predicts(tmp_path):
    """Embedding -> MHA (causal) -> GAP1D -> Dense, saved by Keras 3.15."""
    io = np.load(os.path.join(HERE, "mha_model_io.npz"))
    model = nnfast.models.load_model(os.path.join(HERE, "mha_model.keras"))
    np.testing.assert_allclose(model.predict(io["ids"], verbose=0), io["output"], rtol=1e-5,
                               atol=1e-5)
    model.save(tmp_path / "again.keras")
    again = nnfast.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(io["ids"], verbose=0), io["output"], rtol=1e-5,
                               atol=1e-5)


LAYER_CASES = {
    "att_dot": lambda: layers.Attention(),
    "att_dot_scale_masked": lambda: layers.Attention(use_scale=True),
    "att_concat_causal": lambda: layers.Attention(use_scale=True, score_mode="concat"),
    "add_att": lambda: layers.AdditiveAttention(),
    "add_att_noscale_causal": lambda: layers.AdditiveAttention(use_scale=False),
}


@pytest.mark.parametrize("tag", sorted(LAYER_CASES))
def test_attention_layers_match_keras(tag):
    d = _load(tag)
    layer = LAYER_CASES[tag]()
    inputs = [nnfast.Variable(d[n]) for n in ("query", "value", "key") if n in d.files]
    layer.build([tuple(t.shape) for t in inputs])
    assert [w.name for w in layer.weights] == [str(p).split("/")[-1] for p in d["weight_paths"]]
    layer.set_weights([d[f"w{i}"] for i in range(_n_weights(d))])
    mask = None
    if "query_mask" in d.files or "value_mask" in d.files:
        mask = [d["query_mask"] if "query_mask" in d.files else None,
                d["value_mask"] if "value_mask" in d.files else None]
    with nnfast.GradientTape() as tape:
        tape.watch(layer.trainable_weights)
        out, scores = layer(inputs, mask=mask, use_causal_mask=bool(d["causal"]),
                            return_attention_scores=True)
        loss = ops.sum(ops.multiply(out, d["probe"]))
    grads = tape.gradient(loss, inputs + layer.trainable_weights)
    np.testing.assert_allclose(np.asarray(out), d["output"], rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(np.asarray(scores), d["scores"], rtol=1e-5, atol=1e-6)
    names = ["query", "value", "key"]
    for i, g in enumerate(grads[:len(inputs)]):
        np.testing.assert_allclose(np.asarray(g), d["grad_" + names[i]], rtol=1e-4, atol=5e-5,
                                   err_msg=f"gradient of {names[i]}")
    for i, g in enumerate(grads[len(inputs):]):
        np.testing.assert_allclose(np.asarray(g), d[f"gw{i}"], rtol=1e-4, atol=5e-5,
                                   err_msg=f"gradient of weight {i}")
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_attention_dropout_only_in_training_and_bad_inputs():
    rng = np.random.default_rng(4)
    q = rng.standard_normal((2, 5, 3)).astype(np.float32)
    v = rng.standard_normal((2, 6, 3)).astype(np.float32)
    att = layers.Attention(dropout=0.5, seed=1)
    plain = np.asarray(layers.Attention()([q, v]))
    np.testing.assert_allclose(np.asarray(att([q, v])), plain, rtol=1e-6)
    assert not np.allclose(np.asarray(att([q, v], training=True)), plain)
    with pytest.raises(ValueError, match="list of inputs"):
        att(q)
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="general")


def test_attention_in_functional_model():
    q_in, v_in = layers.Input((4, 3)), layers.Input((6, 3))
    out, w = layers.AdditiveAttention()([q_in, v_in], return_attention_scores=True)
    assert tuple(out.shape) == (None, 4, 3) and tuple(w.shape) == (None, 4, 6)
    model = nnfast.Model([q_in, v_in], [out, w])
    y, s = model.predict([np.ones((2, 4, 3), np.float32), np.ones((2, 6, 3), np.float32)],
                         verbose=0)
    assert y.shape == (2, 4, 3)
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-5)
