"""ConvLSTM1D/2D/3D against Keras 3.15 numbers (tests/fixtures/layers3: outputs, states and
gradients w.r.t. inputs and weights), finite differences of the sequence op, states,
channels_first, config/save round trips and training."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops
from nnfast.ops.conv_lstm import conv_lstm
from layer_contract import run_layer_test
from layers3_fixtures import check_case


@pytest.mark.parametrize("name", ["convlstm2d_same_seq", "convlstm2d_valid_relu_back",
                                  "convlstm1d_state", "convlstm3d_seq"])
def test_matches_keras(name):
    check_case(name)


def test_sequence_op_gradients_against_finite_differences():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 3, 4, 5, 8)) * 0.5).astype(np.float32)
    rk = (rng.standard_normal((3, 3, 2, 8)) * 0.3).astype(np.float32)
    h0 = (rng.standard_normal((2, 4, 5, 2)) * 0.5).astype(np.float32)
    c0 = (rng.standard_normal((2, 4, 5, 2)) * 0.5).astype(np.float32)
    args = [nnfast.Variable(a) for a in (x, rk, h0, c0)]

    def loss_of(vals):
        seq, h, c = conv_lstm(*vals)
        return ops.add(ops.sum(ops.multiply(seq, np.float32(0.7))),
                       ops.add(ops.sum(ops.square(h)), ops.sum(c)))

    with nnfast.GradientTape() as tape:
        loss = loss_of(args)
    grads = tape.gradient(loss, args)
    f = lambda vals: float(np.asarray(loss_of([v.astype(np.float32) for v in vals])))
    base = [a.astype(np.float64) for a in (x, rk, h0, c0)]
    for which, g in enumerate(grads):
        g = np.asarray(g)
        for flat in rng.integers(0, base[which].size, 4):
            idx = np.unravel_index(flat, base[which].shape)
            plus = [b.copy() for b in base]
            minus = [b.copy() for b in base]
            plus[which][idx] += 1e-2
            minus[which][idx] -= 1e-2
            fd = (f(plus) - f(minus)) / 2e-2
            np.testing.assert_allclose(g[idx], fd, rtol=2e-2, atol=2e-3)


def test_channels_first_matches_channels_last_and_initial_state():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 6, 2)).astype(np.float32)
    last = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True)
    first = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True,
                              data_format="channels_first")
    out_l = last(x)
    first(np.transpose(x, (0, 1, 4, 2, 3)))
    first.set_weights(last.get_weights())
    out_f = first(np.transpose(x, (0, 1, 4, 2, 3)))
    np.testing.assert_allclose(np.asarray(out_f[0]),
                               np.transpose(np.asarray(out_l[0]), (0, 1, 4, 2, 3)), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(out_f[1]),
                               np.transpose(np.asarray(out_l[1]), (0, 3, 1, 2)), rtol=1e-5,
                               atol=1e-6)
    # Running the second half from the first half's states equals running it all at once.
    one = layers.ConvLSTM2D(3, 3, padding="same", return_state=True)
    full = one(x)
    part = one(x[:, :2])
    rest = one(x[:, 2:], initial_state=[part[1], part[2]])
    np.testing.assert_allclose(np.asarray(rest[0]), np.asarray(full[0]), rtol=1e-5, atol=1e-6)


def test_weights_bias_and_config():
    layer = layers.ConvLSTM2D(5, (3, 2), padding="same")
    layer(np.zeros((1, 2, 6, 6, 4), np.float32))
    assert [w.shape for w in layer.weights] == [(3, 2, 4, 20), (3, 2, 5, 20), (20,)]
    np.testing.assert_array_equal(np.asarray(layer.bias.value),
                                  np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    config = layer.get_config()
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"
    with pytest.raises(NotImplementedError, match="activation"):
        layers.ConvLSTM2D(2, 3, activation="gelu")
    with pytest.raises(ValueError, match="ndim=5"):
        layers.ConvLSTM2D(2, 3).build((1, 2, 6, 6))


@pytest.mark.parametrize("cls,kwargs,shape,out", [
    (layers.ConvLSTM2D, dict(filters=3, kernel_size=3, padding="same", return_sequences=True),
     (2, 3, 5, 5, 2), (2, 3, 5, 5, 3)),
    (layers.ConvLSTM1D, dict(filters=4, kernel_size=2, strides=2, dropout=0.2), (2, 4, 7, 3),
     (2, 3, 4)),
    (layers.ConvLSTM3D, dict(filters=2, kernel_size=2), (2, 2, 3, 4, 3, 1), (2, 2, 3, 2, 2)),
])
def test_layer_contract(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, expected_output_shape=out)


def test_next_frame_model_trains_saves_and_loads(tmp_path):
    # The Keras "next-frame video prediction" example's shape of model, small.
    rng = np.random.default_rng(2)
    x = rng.random((6, 4, 8, 8, 1)).astype(np.float32)
    y = rng.random((6, 4, 8, 8, 1)).astype(np.float32)
    inp = nnfast.Input((None, 8, 8, 1))
    h = layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True,
                          activation="relu")(inp)
    h = layers.BatchNormalization()(h)
    h = layers.ConvLSTM2D(4, (1, 1), padding="same", return_sequences=True,
                          activation="relu")(h)
    out = layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(h)
    model = nnfast.Model(inp, out)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=3, batch_size=3, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    path = str(tmp_path / "frames.keras")
    model.save(path)
    loaded = nnfast.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_scalar_reference_kernels_match_keras():
    # The gate kernels' and convolutions' scalar references (NNFAST_MAX_ISA=ref) give
    # Keras's numbers too.
    from nnfast import _core

    before = nnfast.config.kernel_info()["active_isa"]
    nnfast.config.set_max_isa("ref")
    try:
        assert _core.conv_lstm_gates_kernel_name().endswith("ref")
        check_case("convlstm1d_state")
        check_case("convlstm3d_seq")
    finally:
        nnfast.config.set_max_isa(before)


def test_gate_binding_checks_shapes():
    from nnfast import _core

    with pytest.raises(ValueError, match="4 x|x 8"):
        _core.conv_lstm_gates_forward(np.zeros((3, 7), np.float32), np.zeros((3, 2), np.float32),
                                      np.zeros((3, 2), np.float32), 3, 2)
    with pytest.raises(ValueError, match="activation"):
        _core.conv_lstm_gates_forward(np.zeros((3, 8), np.float32), np.zeros((3, 2), np.float32),
                                      np.zeros((3, 2), np.float32), 5, 2)
