"""Custom layers in functional models as Keras runs them: masks reach ``call(mask=...)`` and
``compute_mask`` (also while the model is built), several positional tensors and keyword
tensors reach ``call``/``build``, output shapes come from ``compute_output_shape`` or a
trace with the real arguments; such models train, save and load with Keras's numbers."""
import os
import sys

import nnfast
import numpy as np
import pytest
from nnfast import layers, ops
from nnfast.backend.keras_tensor import KerasTensor

SYM_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "symbolic")
sys.path.insert(0, SYM_DIR)
import custom_layers

C = custom_layers.define(nnfast)


def _padded_ids(n=6, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 9, (n, steps)).astype("int32")
    for i, length in enumerate(rng.integers(1, steps + 1, n)):
        ids[i, length:] = 0
    return ids


def _masked_mean_ref(x, mask):
    m = mask[..., None].astype(np.float64)
    return (x * m).sum(1) / np.maximum(m.sum(1), 1.0)


# --- masks ----------------------------------------------------------------------------------
def test_mask_propagates_to_symbolic_tensors_and_into_call():
    ids = nnfast.Input((5,), dtype="int32")
    e = layers.Embedding(9, 3, mask_zero=True)(ids)
    assert isinstance(e._keras_mask, KerasTensor)
    assert (e._keras_mask.shape, e._keras_mask.dtype) == ((None, 5), "bool")
    d = layers.Dense(4)(e)
    assert d._keras_mask is e._keras_mask  # Dense supports masking: the mask passes through
    pooled = C["MaskedMean"]()(d)
    assert pooled._keras_mask is None and pooled.shape == (None, 4)
    node = pooled._keras_history[0]._inbound_nodes[-1]
    assert node.kwargs["mask"] is e._keras_mask  # recorded as Keras records it
    model = nnfast.Model(ids, pooled)
    x = _padded_ids()
    emb = model.layers[1].get_weights()[0]
    k, b = model.layers[2].get_weights()
    ref = _masked_mean_ref(emb[x] @ k + b, x != 0)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, rtol=1e-5, atol=1e-6)


def test_mask_reaches_call_and_compute_mask_while_building():
    seen = []

    class Spy(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x, mask=None):
            seen.append(("call", type(x).__name__, None if mask is None else mask.shape))
            return x

        def compute_mask(self, x, mask=None):
            seen.append(("compute_mask", type(x).__name__, type(mask).__name__))
            return mask

    ids = nnfast.Input((5,), dtype="int32")
    out = Spy()(layers.Embedding(9, 3, mask_zero=True)(ids))
    # While building: call traced with a stand-in mask of the batch's shape, compute_mask
    # given the symbolic tensors.
    assert seen[0][0] == "call" and seen[0][2] is not None and seen[0][2][1:] == (5,)
    assert ("compute_mask", "KerasTensor", "KerasTensor") in seen
    assert out._keras_mask is not None
    seen.clear()
    nnfast.Model(ids, out).predict(_padded_ids(), verbose=0)
    assert seen[0][0] == "call" and seen[0][2] == (6, 5)


def test_compute_mask_layer_feeds_lstm_and_masked_pooling():
    seq = nnfast.Input((5, 3))
    masked = C["NonZeroMask"]()(seq)
    assert masked._keras_mask.shape == (None, 5)
    lstm = layers.LSTM(4, return_sequences=True)
    h = lstm(masked)
    assert h._keras_mask is not None  # return_sequences keeps the mask
    out = C["MaskedMean"]()(h)
    model = nnfast.Model(seq, out)
    x = np.random.default_rng(0).normal(size=(4, 5, 3)).astype("float32")
    x[0, 2:, 0] = 0.0
    x[1, 4:, 0] = 0.0
    got = model.predict(x, verbose=0)
    # The same numbers as running the layers eagerly with explicit masks.
    mask = x[..., 0] != 0
    hv = np.asarray(lstm(2.0 * x, mask=mask))
    np.testing.assert_allclose(got, _masked_mean_ref(hv, mask), rtol=1e-5, atol=1e-6)


def test_eager_calls_propagate_masks_like_keras():
    ids = _padded_ids()
    e = layers.Embedding(9, 3, mask_zero=True)(ids)
    d = layers.Dense(2)(e)
    np.testing.assert_array_equal(np.asarray(d._keras_mask), ids != 0)
    pooled = C["MaskedMean"]()(d)
    np.testing.assert_allclose(np.asarray(pooled), _masked_mean_ref(np.asarray(d), ids != 0),
                               rtol=1e-5, atol=1e-6)


def test_named_masks_of_several_tensor_arguments():
    class Pair(layers.Layer):
        def call(self, a, b, a_mask=None, b_mask=None):
            m = ops.cast(ops.expand_dims(a_mask, -1), "float32")
            return a * m + b

    ids = nnfast.Input((5,), dtype="int32")
    e = layers.Embedding(9, 3, mask_zero=True)(ids)
    other = nnfast.Input((5, 3))
    out = Pair()(e, other)
    assert out._keras_history[0]._inbound_nodes[-1].kwargs["a_mask"] is e._keras_mask
    model = nnfast.Model([ids, other], out)
    x, y = _padded_ids(), np.ones((6, 5, 3), np.float32)
    emb = model.get_layer(e._keras_history[0].name).get_weights()[0]
    ref = emb[x] * (x != 0)[..., None] + y
    np.testing.assert_allclose(model.predict([x, y], verbose=0), ref, rtol=1e-6)


# --- several tensors ------------------------------------------------------------------------
def test_two_positional_tensors_build_and_shape():
    a, b = nnfast.Input((4,)), nnfast.Input((7,))
    gate = C["Gate"]()
    out = gate(a, b)
    assert out.shape == (None, 4) and gate.w.shape == (7, 4)  # build(a_shape, b_shape)

    class Join(layers.Layer):  # no compute_output_shape: traced with both inputs
        def call(self, a, b):
            return ops.concatenate([a, b], axis=-1)

    joined = Join()(a, b)
    assert joined.shape == (None, 11)
    model = nnfast.Model([a, b], [out, joined])
    xa = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    xb = np.random.default_rng(2).normal(size=(3, 7)).astype("float32")
    p_gate, p_join = model.predict([xa, xb], verbose=0)
    w = gate.get_weights()[0]
    np.testing.assert_allclose(p_gate, xa / (1 + np.exp(-(xb @ w))), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(p_join, np.concatenate([xa, xb], -1))


def test_keyword_tensor_and_compute_output_shape_with_names():
    class Cross(layers.Layer):
        def call(self, x, context=None):
            return ops.matmul(x, ops.transpose(context, (0, 2, 1)))

        def compute_output_shape(self, x_shape, context_shape):
            return (x_shape[0], x_shape[1], context_shape[1])

    x, c = nnfast.Input((3, 4)), nnfast.Input((6, 4))
    out = Cross()(x, context=c)
    assert out.shape == (None, 3, 6)
    shifted = C["ContextShift"](0.5)(x, context=c[:, :3])
    model = nnfast.Model([x, c], [out, shifted])
    xv = np.random.default_rng(3).normal(size=(2, 3, 4)).astype("float32")
    cv = np.random.default_rng(4).normal(size=(2, 6, 4)).astype("float32")
    p_out, p_shift = model.predict([xv, cv], verbose=0)
    np.testing.assert_allclose(p_out, xv @ cv.transpose(0, 2, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p_shift, xv + 0.5 * cv[:, :3].mean(-1, keepdims=True),
                               rtol=1e-6)


# --- Keras's numbers, training, save/load ---------------------------------------------------
def test_keras_custom_graph_loads_and_trains_with_keras_numbers():
    io = np.load(os.path.join(SYM_DIR, "keras_custom_io.npz"))
    xs = [io["x0_ids"], io["x1_seq"]]
    model = nnfast.models.load_model(os.path.join(SYM_DIR, "keras_custom.keras"))
    np.testing.assert_allclose(model.predict(xs, verbose=0), io["y"], atol=1e-5, rtol=0)
    model.compile(nnfast.optimizers.SGD(0.1), "mse")
    hist = model.fit(xs, io["y_true"], batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], io["losses"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(xs, verbose=0), io["y_after"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_custom_graph_trains_saves_and_loads(tmp_path, ext):
    model = custom_layers.build_custom_model(nnfast)
    ids, seq, y = custom_layers.custom_inputs(np)
    model.compile(nnfast.optimizers.Adam(0.02), "mse")
    hist = model.fit([ids, seq], y, epochs=12, batch_size=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    path = str(tmp_path / ("m" + ext))
    if ext == ".h5":
        model.save_weights(str(tmp_path / "m.weights.h5"))
        other = custom_layers.build_custom_model(nnfast)
        other.load_weights(str(tmp_path / "m.weights.h5"))
    else:
        model.save(path)
        other = nnfast.models.load_model(path)
    np.testing.assert_array_equal(other.predict([ids, seq], verbose=0),
                                  model.predict([ids, seq], verbose=0))


def test_concatenate_combines_masks_as_keras():
    ids = nnfast.Input((4,), dtype="int32")
    emb = layers.Embedding(9, 2, mask_zero=True)
    a, b = emb(ids), nnfast.Input((4, 3))
    along_time = layers.Concatenate(axis=1)([a, layers.Dense(2)(b)])
    along_features = layers.Concatenate()([a, b])
    assert along_time._keras_mask.shape == (None, 8)
    assert along_features._keras_mask.shape == (None, 4)
    model = nnfast.Model([ids, b], [C["MaskedMean"]()(along_time),
                                    C["MaskedMean"]()(along_features)])
    x = np.array([[1, 2, 0, 0], [3, 0, 0, 0]], np.int32)
    y = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    p_time, p_feat = model.predict([x, y], verbose=0)
    table = emb.get_weights()[0]
    dense = next(l for l in model.layers if isinstance(l, layers.Dense))
    k, bias = dense.get_weights()
    seq = np.concatenate([table[x], y @ k + bias], axis=1)
    mask = np.concatenate([x != 0, np.ones((2, 4), bool)], axis=1)
    np.testing.assert_allclose(p_time, _masked_mean_ref(seq, mask), rtol=1e-5, atol=1e-6)
    # along features an unmasked input makes every step count
    np.testing.assert_allclose(p_feat, np.concatenate([table[x], y], -1).mean(1), rtol=1e-5,
                               atol=1e-6)
