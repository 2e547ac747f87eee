"""Embedding tables trained as Keras on TensorFlow trains them: the optimizers see the
per-token rows of the table's gradient (tf.IndexedSlices) and square / clip them per token
before repeated rows are summed. Replays trainings recorded with Keras 3.15
(tests/fixtures/modules/make_embedding_training.py)."""
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast.backend.tape import GradientTape
from nnfast.ops.embedding import TokenRowsGradient

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "modules",
                           "embedding_training.npz"))

CASES = {
    "adam": ("LSTM", lambda: keras.optimizers.Adam(0.05), None),
    "adamw": ("LSTM", lambda: keras.optimizers.AdamW(0.05, weight_decay=0.1), None),
    "nadam": ("GRU", lambda: keras.optimizers.Nadam(0.05), None),
    "rmsprop": ("GRU", lambda: keras.optimizers.RMSprop(0.02, momentum=0.5), None),
    "adagrad": ("LSTM", lambda: keras.optimizers.Adagrad(0.3), None),
    "adadelta": ("LSTM", lambda: keras.optimizers.Adadelta(5.0), None),
    "adamax": ("LSTM", lambda: keras.optimizers.Adamax(0.05), None),
    "ftrl": ("LSTM", lambda: keras.optimizers.Ftrl(0.3, l1_regularization_strength=0.001,
                                                  l2_shrinkage_regularization_strength=0.01), None),
    "sgd_clipvalue": ("LSTM", lambda: keras.optimizers.SGD(0.5, clipvalue=0.02), None),
    "sgd_clipnorm": ("LSTM", lambda: keras.optimizers.SGD(0.5, clipnorm=0.05), None),
    "adam_global_clipnorm": ("GRU", lambda: keras.optimizers.Adam(0.05, global_clipnorm=0.1),
                             None),
    "adam_regularized": ("LSTM", lambda: keras.optimizers.Adam(0.05), 0.01),
    "lamb": ("GRU", lambda: keras.optimizers.Lamb(0.05), None),
    "muon": ("LSTM", lambda: keras.optimizers.Muon(0.05), None),
    "schedule_free": ("GRU", lambda: keras.optimizers.ScheduleFreeAdamW(0.05), None),
}


def _weights(name, which):
    n = len([k for k in FIX.files if k.startswith(f"{name}/{which}/")])
    return [FIX[f"{name}/{which}/{i}"] for i in range(n)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_embedding_rnn_training_matches_keras(name):
    rnn, make_opt, l2 = CASES[name]
    reg = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential([keras.Input((7,), dtype="int32"),
                              keras.layers.Embedding(12, 4, embeddings_regularizer=reg),
                              getattr(keras.layers, rnn)(3), keras.layers.Dense(1)])
    model.set_weights(_weights(name, "init"))
    model.compile(optimizer=make_opt(), loss="mse")
    hist = model.fit(FIX["x"], FIX["y"], batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], FIX[f"{name}/loss"], rtol=2e-5, atol=1e-6)
    for got, want in zip(model.get_weights(), _weights(name, "final")):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=5e-5)


def test_gradient_keeps_token_rows_until_mixed_with_a_dense_gradient():
    emb = keras.layers.Embedding(5, 2)
    emb.build((1, 3))
    ids = np.array([[1, 1, 3]])
    with GradientTape() as tape:
        out = emb(ids)
        loss = keras.ops.sum(out * np.arange(6, dtype=np.float32).reshape(1, 3, 2))
    (g,) = tape.gradient(loss, [emb.embeddings])
    assert isinstance(g, TokenRowsGradient)
    np.testing.assert_array_equal(g.ids, [1, 1, 3])
    np.testing.assert_array_equal(np.asarray(g)[1], [0 + 2, 1 + 3])
    assert (g + np.ones_like(g)).ids is None  # a dense part: dense rule
    both = g + g  # a table looked up twice keeps every token
    assert len(both.ids) == 6


def test_adam_squares_each_token_once():
    table = keras.Variable(np.zeros((3, 1), np.float32))
    grad = np.zeros((3, 1), np.float32).view(TokenRowsGradient)
    grad[1] = 1.0 + 3.0
    grad.ids, grad.rows = np.array([1, 1]), np.array([[1.0], [3.0]], np.float32)
    opt = keras.optimizers.Adam(0.1)
    opt.apply([grad], [table])
    v = opt.variables[3]  # iterations, learning_rate, momentum, velocity
    np.testing.assert_allclose(v[1], 0.001 * (1.0 + 9.0), rtol=1e-4)
    np.testing.assert_allclose(opt.variables[2][1], 0.1 * 4.0, rtol=1e-6)


@pytest.mark.parametrize("optimizer, fused", [
    ("sgd", True), ("lion", True), (keras.optimizers.SGD(clipnorm=1.0), False),
    # squaring rules fuse too, keeping the per-token sums of squares (TokenRowsGradient
    # .squares); not with clipping by value or a per-token absolute value (Adamax)
    ("adam", True), ("rmsprop", True), (keras.optimizers.Adam(clipvalue=0.1), False),
    ("adamax", False)])
def test_training_fuses_embedding_rnn_only_for_row_summing_optimizers(optimizer, fused,
                                                                      monkeypatch):
    from nnfast.models import lowered

    # the interpreted step is what this watches (the lowered program runs the same kernels
    # and is compared with it bit for bit in test_lowered.py)
    monkeypatch.setattr(lowered, "ENABLED", False)
    model = keras.Sequential([keras.Input((7,), dtype="int32"), keras.layers.Embedding(12, 4),
                              keras.layers.LSTM(3), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    layer = model.layers[1]
    calls = []
    original = layer._call_on_embedding
    layer._call_on_embedding = lambda *a, **k: calls.append(1) or original(*a, **k)
    model.fit(FIX["x"], FIX["y"], batch_size=8, epochs=1, verbose=0)
    assert bool(calls) == fused
