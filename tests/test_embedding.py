"""Embedding: gather/scatter-add against NumPy, masks reaching recurrent layers, config."""
import numpy as np
import pytest

import nnfast
from nnfast import GradientTape, layers, ops
from nnfast.backend.tensor import Variable


def test_forward_and_backward_match_numpy():
    rng = np.random.default_rng(0)
    table = Variable(rng.normal(size=(37, 5)).astype(np.float32))
    ids = rng.integers(0, 37, size=(4, 9))
    ids[0, :3] = 7  # repeated rows accumulate
    g = rng.normal(size=(4, 9, 5)).astype(np.float32)
    with GradientTape() as tape:
        out = ops.embedding(ids, table)
        loss = ops.sum(out * g)
    np.testing.assert_array_equal(out.numpy(), table.numpy()[ids])
    (dt,) = tape.gradient(loss, [table])
    ref = np.zeros((37, 5), np.float64)
    np.add.at(ref, ids.ravel(), g.reshape(-1, 5))
    np.testing.assert_allclose(dt, ref, rtol=1e-6, atol=1e-6)


def test_reused_gradient_buffer_holds_only_this_steps_rows():
    table = Variable(np.ones((50, 3), np.float32))
    for ids in (np.array([[1, 2, 3]]), np.array([[4, 4]])):
        with GradientTape() as tape:
            loss = ops.sum(ops.embedding(ids, table))
        (dt,) = tape.gradient(loss, [table])
        expected = np.zeros((50, 3), np.float32)
        np.add.at(expected, ids.ravel(), 1.0)
        np.testing.assert_array_equal(dt, expected)
        del dt


@pytest.mark.parametrize("threads", [1, 2])
def test_reused_wide_buffer_clears_last_steps_rows_in_the_kernel(threads):
    # dim 37: several 16-column blocks, split across threads; rows overlap between steps
    before = nnfast.config.get_num_threads()
    nnfast.config.set_num_threads(threads)
    rng = np.random.default_rng(1)
    table = Variable(rng.normal(size=(300, 37)).astype(np.float32))
    try:
        for step in range(4):
            ids = rng.integers(0, 300 if step < 3 else 20, size=(64, 5))
            g = rng.normal(size=(64, 5, 37)).astype(np.float32)
            with GradientTape() as tape:
                loss = ops.sum(ops.embedding(ids, table) * g)
            (dt,) = tape.gradient(loss, [table])
            expected = np.zeros((300, 37), np.float64)
            np.add.at(expected, ids.ravel(), g.reshape(-1, 37))
            np.testing.assert_allclose(dt, expected, rtol=1e-5, atol=1e-5)
            del dt
    finally:
        nnfast.config.set_num_threads(before)


def test_held_gradient_is_not_overwritten():
    table = Variable(np.ones((10, 2), np.float32))
    grads = []
    for ids in ([[1]], [[2]]):
        with GradientTape() as tape:
            loss = ops.sum(ops.embedding(np.array(ids), table))
        grads.append(tape.gradient(loss, [table])[0])
    assert grads[0][1, 0] == 1 and grads[0][2, 0] == 0
    assert grads[1][2, 0] == 1 and grads[1][1, 0] == 0


def test_out_of_range_and_bad_dtype_raise():
    table = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match="out of range"):
        ops.embedding(np.array([[1, 5]]), table)
    with pytest.raises(ValueError, match="out of range"):
        ops.embedding(np.array([-1]), table)
    with pytest.raises(TypeError):
        ops.embedding(np.array(["a"]), table)


def test_layer_defaults_config_and_float_ids():
    layer = layers.Embedding(100, 8, input_length=20)
    out = layer(np.array([[1.0, 2.0, 99.0]]))
    assert out.shape == (1, 3, 8)
    w = layer.get_weights()[0]
    assert w.shape == (100, 8) and np.abs(w).max() <= 0.05
    config = layer.get_config()
    assert config["input_dim"] == 100 and config["output_dim"] == 8
    assert config["mask_zero"] is False
    assert config["embeddings_initializer"]["class_name"] == "RandomUniform"
    clone = layers.Embedding.from_config(config)
    assert clone.output_dim == 8
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)


@pytest.mark.parametrize("rnn", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_mask_zero_makes_padding_invisible_to_rnns(rnn):
    nnfast.utils.set_random_seed(3)
    model = nnfast.Sequential([layers.Embedding(20, 6, mask_zero=True), layers.Dropout(0.5),
                               rnn(5), layers.Dense(2)])
    model.build((None, 7))
    ids = np.array([[0, 0, 0, 4, 9, 2, 11]])
    short = np.array([[4, 9, 2, 11]])
    # the padded steps keep the initial state, so the result equals the unpadded sequence
    np.testing.assert_allclose(model.predict(ids, verbose=0), model.predict(short, verbose=0),
                               rtol=1e-5, atol=1e-6)
    unmasked = nnfast.Sequential([layers.Embedding(20, 6), rnn(5)])
    unmasked.build((None, 7))
    unmasked.layers[0].set_weights(model.layers[0].get_weights())
    unmasked.layers[1].set_weights(model.layers[2].get_weights())
    assert not np.allclose(unmasked.predict(ids, verbose=0), unmasked.predict(short, verbose=0))


def test_table_gradient_block_reused_only_when_no_array_holds_it():
    from nnfast.ops.embedding import dense_rows_gradient

    table = np.zeros((6, 3), np.float32)
    first = dense_rows_gradient(table, np.array([1, 4]), np.ones((2, 3), np.float32))
    kept = first[1:].T  # a view of a view: it alone keeps the block taken
    address = first.ctypes.data
    del first
    second = dense_rows_gradient(table, np.array([2]), np.full((1, 3), 2.0, np.float32))
    assert second.ctypes.data != address  # not reused: `kept` still reads it
    np.testing.assert_array_equal(kept[:, 0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(kept[:, 3], [1.0, 1.0, 1.0])
    address = second.ctypes.data
    del kept, second
    third = dense_rows_gradient(table, np.array([5]), np.full((1, 3), 3.0, np.float32))
    assert third.ctypes.data == address  # reused, the last step's row cleared
    want = np.zeros((6, 3), np.float32)
    want[5] = 3.0
    np.testing.assert_array_equal(third, want)
