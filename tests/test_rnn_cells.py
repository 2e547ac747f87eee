"""Generic RNN(cell) with SimpleRNNCell/LSTMCell/GRUCell/StackedRNNCells and a user cell:
outputs, states and weight gradients against Keras 3.15 (fixtures/rnn_cells), written by
the same code (fixtures/rnn_cells/cases.py)."""
import importlib.util
import os

import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "rnn_cells")
_spec = importlib.util.spec_from_file_location("rnn_cell_cases", os.path.join(HERE, "cases.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)
EXPECTED = np.load(os.path.join(HERE, "rnn_cells.npz"))
CASES = C.cases(nnfast)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_rnn_cell_outputs_states_and_gradients_match_keras(name, fuse):
    x, mask = C.inputs()
    layer = CASES[name]()
    layer._fuse = fuse  # a lone built-in cell runs fused unless told to loop
    m = mask if name.startswith("masked") else None
    layer(x, mask=m)
    n_weights = len([k for k in EXPECTED.files if k.startswith(name + "/w")])
    assert len(layer.weights) == n_weights
    layer.set_weights([EXPECTED[f"{name}/w{j}"] for j in range(n_weights)])
    with nnfast.GradientTape() as tape:
        leaves = _leaves(layer(x, mask=m))
        loss = None
        for k, t in enumerate(leaves):
            term = ops.sum(ops.sin(t * float(k + 1)))
            loss = term if loss is None else loss + term
    grads = tape.gradient(loss, layer.trainable_weights)
    n_out = len([k for k in EXPECTED.files if k.startswith(name + "/out")])
    assert len(leaves) == n_out
    for j, t in enumerate(leaves):
        np.testing.assert_allclose(np.asarray(t), EXPECTED[f"{name}/out{j}"], rtol=1e-5,
                                   atol=1e-5, err_msg=f"{name} output {j}")
    for j, g in enumerate(grads):
        np.testing.assert_allclose(np.asarray(g), EXPECTED[f"{name}/g{j}"], rtol=1e-4,
                                   atol=1e-5, err_msg=f"{name} gradient {j}")


def _leaves(out):
    if isinstance(out, (list, tuple)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def test_rnn_lstm_cell_equals_fused_lstm_layer():
    x, _ = C.inputs()
    fused = layers.LSTM(4, return_sequences=True)
    generic = layers.RNN(layers.LSTMCell(4), return_sequences=True)
    generic._fuse = False  # the step loop of ops against the fused kernel
    fused(x)
    generic(x)
    generic.set_weights(fused.get_weights())
    np.testing.assert_allclose(np.asarray(generic(x)), np.asarray(fused(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "loop"])
def test_stateful_rnn_carries_states_and_resets(fuse):
    x, _ = C.inputs()
    layer = layers.RNN(layers.GRUCell(3), stateful=True)
    layer._fuse = fuse
    first = np.asarray(layer(x))
    second = np.asarray(layer(x))
    assert not np.allclose(first, second)
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x)), first, rtol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        layer(x[:2])


def test_rnn_in_a_model_trains_saves_and_loads(tmp_path):
    x, _ = C.inputs()
    user_cell = C.user_cell_class(nnfast)
    model = nnfast.Sequential([nnfast.Input((5, 2)),
                               layers.RNN([layers.LSTMCell(4, dropout=0.2,
                                                           recurrent_dropout=0.1),
                                           layers.GRUCell(3)]),
                               layers.Dense(1)])
    model.compile("adam", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.ones((3, 1), "float32"), epochs=2, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    path = str(tmp_path / "rnn.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    layer = layers.RNN(user_cell(3))
    assert layer(x).shape == (3, 3)
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(2))


def test_keras_file_with_rnn_cells_loads():
    data = np.load(os.path.join(HERE, "rnn_cells_model.npz"))
    model = nnfast.models.load_model(os.path.join(HERE, "rnn_cells_model.keras"))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-6)
