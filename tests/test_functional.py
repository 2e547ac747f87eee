"""Functional API: graphs of layer calls, shared layers, nested models, merge layers, Lambda,
Permute, RepeatVector, summary with "Connected to"."""
import numpy as np
import pytest

import nnfast
from nnfast import Input, Model, layers, ops


def test_single_io_and_layers_order():
    inp = Input((4,), name="x")
    h = layers.Dense(8, activation="relu", name="h")(inp)
    out = layers.Dense(2, name="out")(h)
    model = Model(inp, out, name="m")
    assert type(model).__name__ == "Functional" and isinstance(model, Model)
    assert [l.name for l in model.layers] == ["x", "h", "out"]
    assert model.get_layer("h") is model.layers[1] and model.get_layer(index=2).name == "out"
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    expect = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(model.predict(x, verbose=0), expect, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x)), expect, rtol=1e-5, atol=1e-6)
    assert model.count_params() == 4 * 8 + 8 + 8 * 2 + 2


def test_layer_order_matches_keras_depth_rule():
    # Same graph as the Keras-written multi_io fixture: Keras lists these layers in this order.
    a, b = Input((4,), name="a"), Input((3,), name="b")
    merged = layers.concatenate([layers.Dense(5, name="dense_a")(a), b], name="merge")
    score = layers.Dense(1, name="score")(merged)
    cls = layers.Dense(2, name="cls")(layers.Dense(4, name="mid")(merged))
    model = Model([a, b], [score, cls])
    assert [l.name for l in model.layers] == ["a", "dense_a", "b", "merge", "mid", "score", "cls"]


def test_multiple_inputs_and_outputs_as_lists_and_dicts():
    a, b = Input((3,), name="a"), Input((2,), name="b")
    h = layers.concatenate([a, b])
    o1, o2 = layers.Dense(1, name="o1")(h), layers.Dense(2, name="o2")(h)
    xa, xb = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    listed = Model([a, b], [o1, o2])
    p1, p2 = listed.predict([xa, xb], verbose=0)
    assert p1.shape == (4, 1) and p2.shape == (4, 2)
    q1, q2 = listed.predict({"a": xa, "b": xb}, verbose=0)
    np.testing.assert_array_equal(p1, q1)
    keyed = Model({"a": a, "b": b}, {"first": o1, "second": o2})
    out = keyed.predict({"b": xb, "a": xa}, verbose=0)
    assert set(out) == {"first", "second"}
    np.testing.assert_array_equal(out["first"], p1)
    assert keyed.output_names == ["first", "second"]
    with pytest.raises(ValueError, match="expects 2 input"):
        listed.predict(xa, verbose=0)
    with pytest.raises(ValueError, match="Missing data"):
        listed.predict({"a": xa}, verbose=0)


def test_shared_layer_has_one_set_of_weights_and_several_nodes():
    a, b = Input((3,)), Input((3,))
    shared = layers.Dense(2, name="shared")
    out = layers.add([shared(a), shared(b)])
    model = Model([a, b], out)
    assert len(shared._inbound_nodes) == 2
    assert model.count_params() == 3 * 2 + 2
    xa = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    xb = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    k, bias = shared.get_weights()
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0),
                               xa @ k + xb @ k + 2 * bias, rtol=1e-5, atol=1e-6)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "shared[0][0]" in text and "shared[1][0]" in text


def test_nested_models_symbolic_and_eager():
    inner_in = Input((4,))
    inner = Model(inner_in, layers.Dense(3, activation="tanh")(inner_in), name="inner")
    outer_in = Input((4,))
    model = Model(outer_in, layers.Dense(1)(inner(outer_in)))
    x = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    direct = np.asarray(inner(x))
    k, b = model.layers[-1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), direct @ k + b, rtol=1e-5, atol=1e-6)
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4
    # A Sequential of Sequentials trains and counts its nested weights.
    seq = nnfast.Sequential([nnfast.Input((4,)),
                             nnfast.Sequential([layers.Dense(5, activation="relu")]),
                             nnfast.Sequential([layers.Dense(2)])])
    assert seq.count_params() == 4 * 5 + 5 + 5 * 2 + 2
    seq.compile("adam", "mse")
    y = np.zeros((6, 2), np.float32)
    before = seq.evaluate(x, y, verbose=0)
    seq.fit(x, y, epochs=20, verbose=0)
    assert seq.evaluate(x, y, verbose=0) < before


@pytest.mark.parametrize("layer,fn", [
    (layers.Add(), lambda a, b: a + b), (layers.Subtract(), lambda a, b: a - b),
    (layers.Multiply(), lambda a, b: a * b), (layers.Average(), lambda a, b: (a + b) / 2),
    (layers.Maximum(), np.maximum), (layers.Minimum(), np.minimum),
    (layers.Concatenate(), lambda a, b: np.concatenate([a, b], -1)),
    (layers.Concatenate(axis=1), lambda a, b: np.concatenate([a, b], 1)),
])
def test_merge_layers_values_and_gradients(layer, fn):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 2, 4)).astype("float32")
    b = rng.normal(size=(3, 2, 4)).astype("float32")
    ia, ib = Input((2, 4)), Input((2, 4))
    out = layer([ia, ib])
    model = Model([ia, ib], out)
    np.testing.assert_allclose(model.predict([a, b], verbose=0), fn(a, b), rtol=1e-6)
    assert model.output_shape == (None,) + fn(a, b).shape[1:]
    ta, tb = nnfast.Variable(a), nnfast.Variable(b)
    with nnfast.GradientTape() as tape:
        loss = ops.sum(layer([ta, tb]))
    ga, gb = tape.gradient(loss, [ta, tb])
    assert ga.shape == a.shape and gb.shape == b.shape


def test_dot_layer():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    out = layers.Dot(axes=1)([a, b])
    np.testing.assert_allclose(np.asarray(out), np.sum(a * b, 1, keepdims=True), rtol=1e-5)
    cos = layers.dot([a, b], axes=1, normalize=True)
    ref = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(np.asarray(cos)[:, 0], ref, rtol=1e-5)
    x, y = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(layers.Dot(axes=(2, 2))([x, y])),
                               np.einsum("bik,bjk->bij", x, y), rtol=1e-5, atol=1e-6)
    ix, iy = Input((3, 4)), Input((5, 4))
    assert layers.Dot(axes=2)([ix, iy]).shape == (None, 3, 5)
    with pytest.raises(ValueError, match="Incompatible"):
        layers.Dot(axes=1)([Input((3,)), Input((4,))])


def test_merge_errors():
    with pytest.raises(ValueError, match="list"):
        layers.Add()(Input((3,)))
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([Input((3,)), Input((4,))])
    with pytest.raises(ValueError, match="exactly 2"):
        layers.Subtract()([Input((3,))] * 3)
    with pytest.raises(ValueError, match="matching shapes"):
        layers.Concatenate()([Input((3, 2)), Input((4, 2))])


def test_lambda_permute_repeat_vector():
    inp = Input((3,))
    rep = layers.RepeatVector(4)(inp)
    assert rep.shape == (None, 4, 3)
    per = layers.Permute((2, 1))(rep)
    assert per.shape == (None, 3, 4)
    out = layers.Lambda(lambda t: ops.multiply(t, 3.0), name="triple")(per)
    model = Model(inp, out)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expect = 3 * np.repeat(x[:, None, :], 4, axis=1).transpose(0, 2, 1)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expect)
    assert layers.Lambda(lambda t: t[:, :2], output_shape=(2,))(inp).shape == (None, 2)
    with pytest.raises(ValueError, match="dims"):
        layers.Permute((1, 3))
    cfg = layers.RepeatVector(4).get_config()
    assert cfg["n"] == 4 and layers.RepeatVector.from_config(cfg).n == 4


def test_graph_errors():
    a, b = Input((3,)), Input((3,))
    out = layers.add([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        Model(a, out)
    with pytest.raises(ValueError, match="KerasTensors"):
        Model(a, np.zeros(3))
    x = Input((3,), name="same")
    d1 = layers.Dense(2, name="dup")(x)
    d2 = layers.Dense(2, name="dup")(d1)
    with pytest.raises(ValueError, match="unique"):
        Model(x, d2)


def test_functional_trains_and_freezing_is_honoured():
    rng = np.random.default_rng(0)
    inp = Input((4,))
    base = layers.Dense(8, activation="relu", name="base")
    out = layers.Dense(1, name="head")(base(inp))
    model = Model(inp, out)
    base.trainable = False
    model.compile(nnfast.optimizers.SGD(0.1), "mse")
    frozen = [w.copy() for w in base.get_weights()]
    head = [w.copy() for w in model.get_layer("head").get_weights()]
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    model.fit(x, y, epochs=2, verbose=0)
    for w, f in zip(base.get_weights(), frozen):
        np.testing.assert_array_equal(w, f)
    assert not np.array_equal(model.get_layer("head").get_weights()[0], head[0])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    base.trainable = True
    with pytest.warns(UserWarning, match="trainable"):
        model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(base.get_weights()[0], frozen[0])


def test_functional_summary_lists_inputs_and_connections():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    x = layers.concatenate([layers.Dense(5, name="dense")(a), b], name="concatenate")
    model = Model([a, b], layers.Dense(2, name="out")(x), name="functional")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "functional"'
    assert "a (InputLayer)" in text and "Connected to" in text
    assert "dense[0][0]," in text and "b[0][0]" in text and "concatenate[0][0]" in text
    assert " Total params: 43 (172.00 B)" in lines
    # A plain chain prints like a Sequential model (no "Connected to"), inputs included.
    i = Input((8,))
    chain = Model(i, layers.Dense(2)(layers.Dense(4)(i)))
    lines = []
    chain.summary(print_fn=lines.append)
    assert "Connected to" not in "\n".join(lines) and "(InputLayer)" in "\n".join(lines)
    assert " Total params: 46 (184.00 B)" in lines


def test_layer_input_and_output_attributes_cut_a_model_as_keras():
    from nnfast import layers as L
    from nnfast.models.functional import Functional

    x_in = L.Input((6,))
    hidden = L.Dense(4, name="hidden")
    h = hidden(x_in)
    out = L.Dense(2)(h)
    model = Functional(x_in, out)
    assert hidden.output is h and hidden.input is x_in
    assert model.layers[0].input is x_in and model.layers[0].output is x_in
    features = Functional(model.input, model.get_layer("hidden").output)
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(features(x)),
                               x @ hidden.kernel.value + hidden.bias.value,
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(AttributeError, match="never been called"):
        _ = L.Dense(3).output
