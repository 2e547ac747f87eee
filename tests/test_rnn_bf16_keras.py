"""mixed_bfloat16 recurrent layers against Keras 3.15: an IMDB-shaped Embedding -> LSTM ->
GRU -> Dense model written by Keras under "mixed_bfloat16"
(tests/fixtures/mixed_precision/make_mixed_bfloat16_rnn.py) loads in nnfast and gives
Keras's outputs, gradients and Adam step within bfloat16's tolerance. Keras's CPU cells round
every intermediate (gates, c, h) to bfloat16 while nnfast keeps them in float32 around bf16
products, so the two differ by a few bf16 steps; the kernels themselves are checked against
a float64 reference in tests/test_rnn_bf16.py."""
import os

import numpy as np
import pytest

import nnfast
from nnfast import _core, mixed_precision

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "mixed_precision")
LAYERS = ("lstm", "gru")


@pytest.fixture(scope="module")
def data():
    return np.load(os.path.join(HERE, "mixed_bfloat16_rnn.npz"))


def _load():
    return nnfast.models.load_model(os.path.join(HERE, "mixed_bfloat16_rnn.keras"))


def _keras_key(prefix, variable):
    """The fixture's name for an nnfast variable ("lstm/kernel" ->
    "grad_sequential/lstm/lstm_cell/kernel")."""
    layer, name = variable.path.split("/")
    cell = f"{layer}/{layer}_cell" if layer in LAYERS else layer
    return f"{prefix}_sequential/{cell}/{name}"


@pytest.fixture
def precisions(monkeypatch):
    """The precision= of every _core.rnn_forward call, in order."""
    seen = []
    forward = _core.rnn_forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("precision", "float32"))
        return forward(*args, **kwargs)

    monkeypatch.setattr(_core, "rnn_forward", spy)
    return seen


def test_outputs_match_keras(data, precisions):
    model = _load()
    assert model.get_layer("lstm").dtype_policy.name == "mixed_bfloat16"
    outs = nnfast.Model(model.inputs, [model.get_layer(n).output for n in LAYERS] +
                        [model.layers[-1].output])(data["x"])
    assert precisions == ["bfloat16", "bfloat16"]  # the Embedding -> LSTM pair fused too
    for name, out in zip(LAYERS, outs[:2]):
        out, want = np.asarray(out), data["out_" + name]
        assert np.array_equal(out, _round_bf16(out)), name  # outputs in bfloat16, as Keras's
        # 40 steps of Keras's bf16 states (measured: at most 1.0% of the largest output off,
        # 1.4-1.9 bf16 steps on average)
        err = np.abs(out - want)
        assert err.max() <= 0.015 * np.abs(want).max(), name
        assert err.mean() <= 3 * 2.0 ** -8 * np.abs(want).mean(), name
    np.testing.assert_allclose(np.asarray(outs[2]), data["probs"], rtol=1e-4, atol=0)


def _round_bf16(x):
    out = np.empty_like(x)
    _core.round_to_bfloat16(np.ascontiguousarray(x, np.float32), out)
    return out


def test_gradients_and_adam_step_match_keras(data, precisions):
    model = _load()
    x = nnfast.ops.convert_to_tensor(data["x"])
    with nnfast.GradientTape() as tape:
        loss = nnfast.losses.BinaryCrossentropy()(data["y"], model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    assert set(precisions) == {"bfloat16"}
    for variable, grad in zip(model.trainable_variables, grads):
        want = data[_keras_key("grad", variable)]
        # (measured: at most 0.8% of the largest entry off, for bf16 and fp32 products alike:
        # Keras's own bf16 gate arithmetic dominates at these sizes)
        np.testing.assert_allclose(np.asarray(grad), want, rtol=0,
                                   atol=0.015 * np.abs(want).max(), err_msg=variable.path)
    model = _load()
    model.compile(optimizer=nnfast.optimizers.Adam(1e-2), loss="binary_crossentropy")
    model.train_on_batch(data["x"], data["y"])
    for variable in model.trainable_variables:
        want = data[_keras_key("after", variable)]
        moved = np.abs(np.asarray(variable.value) - want)
        # Adam's first step is lr * g / |g|: entries whose gradient is near zero move by a
        # fraction of lr that a 1% gradient difference changes; no entry moved the other way
        assert moved.max() <= 0.75e-2, variable.path
        assert np.mean(moved <= 1e-4) >= 0.8, variable.path


def test_unfused_recurrences_run_bf16_and_float32_layers_stay_float32(precisions):
    """A recurrent layer after a Dense (no embedding to fuse with) takes the bf16 route under
    mixed_bfloat16, and a float32 layer in the same model keeps the fp32 one."""
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = nnfast.Sequential([
            nnfast.Input((6, 5)),
            nnfast.layers.Dense(8),
            nnfast.layers.GRU(7, return_sequences=True),
            nnfast.layers.LSTM(4, dtype="float32"),
        ])
    finally:
        mixed_precision.set_global_policy("float32")
    x = np.random.default_rng(0).normal(size=(3, 6, 5)).astype(np.float32)
    model.predict(x, verbose=0)
    assert precisions == ["bfloat16", "float32"]
