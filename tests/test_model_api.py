"""Keras 3's model API around the layers: Input checks, Sequential.inputs/outputs,
keras.Function, get_source_inputs, is_keras_tensor, clear_session, InputSpec, scalar weights,
wrapper files written by Keras 3.15, progress output."""
import json
import os

import h5py
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

WRAPPERS = os.path.join(os.path.dirname(__file__), "fixtures", "wrappers")


def test_input_shape_errors_name_both_shapes_and_missing_unit_axis_is_fixed():
    i = nnfast.Input((28, 28))
    model = nnfast.Model(i, layers.Dense(3)(layers.Flatten()(i)))
    with pytest.raises(ValueError, match=r"expected shape=\(None, 28, 28\), found shape=\(5, 784\)"):
        model.predict(np.zeros((5, 784), "float32"), verbose=0)
    seq = nnfast.Sequential([nnfast.Input((28, 28)), layers.Flatten(), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"\(None, 28, 28\).*\(5, 784\)"):
        seq.predict(np.zeros((5, 784), "float32"), verbose=0)
    # rank one lower with a trailing 1 expected, or one higher with a trailing 1: fixed
    for make in (lambda: nnfast.Sequential([nnfast.Input((3, 1)), layers.Flatten()]),
                 lambda: nnfast.Model(i3 := nnfast.Input((3, 1)), layers.Flatten()(i3))):
        out = make().predict(np.arange(6, dtype="float32").reshape(2, 3), verbose=0)
        np.testing.assert_array_equal(out, np.arange(6, dtype="float32").reshape(2, 3))
    i = nnfast.Input((3,))
    model = nnfast.Model(i, layers.Dense(2)(i))
    assert model.predict(np.zeros((5, 3, 1), "float32"), verbose=0).shape == (5, 2)


def test_sequential_inputs_outputs_and_graph_utilities():
    seq = nnfast.Sequential([nnfast.Input((4,)), layers.Dense(3, name="d1"), layers.Dense(2)])
    assert [t.shape for t in seq.inputs] == [(None, 4)]
    assert [t.shape for t in seq.outputs] == [(None, 2)]
    assert nnfast.utils.is_keras_tensor(seq.outputs[0])
    assert not nnfast.utils.is_keras_tensor(np.zeros(3))
    assert nnfast.utils.get_source_inputs(seq.outputs[0]) == seq.inputs
    a, b = nnfast.Input((2,)), nnfast.Input((3,))
    joined = layers.Concatenate()([layers.Dense(2)(a), b])
    assert nnfast.utils.get_source_inputs(joined) == [a, b]
    f = nnfast.Function([a, b], [joined])
    xa, xb = np.ones((4, 2), "float32"), np.ones((4, 3), "float32")
    (out,) = f([xa, xb])
    assert out.shape == (4, 5)
    np.testing.assert_allclose(np.asarray(out)[:, 2:], xb)
    with pytest.raises(ValueError, match="input structure"):
        f(xa)
    assert seq.get_layer("d1") is seq.layers[0] and seq.get_layer(index=1) is seq.layers[1]


def test_clear_session_resets_layer_names():
    nnfast.utils.clear_session()
    assert layers.Dense(1).name == "dense"
    assert layers.Dense(1).name == "dense_1"
    nnfast.utils.clear_session()
    assert layers.Dense(1).name == "dense"


def test_input_spec_is_checked_on_call():
    class Pairs(nnfast.Layer):
        def __init__(self):
            super().__init__()
            self.input_spec = nnfast.InputSpec(ndim=3, axes={-1: 2})

        def call(self, x):
            return x

    layer = Pairs()
    assert layer(np.zeros((1, 4, 2), "float32")).shape == (1, 4, 2)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(np.zeros((4, 2), "float32"))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 2"):
        layer(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1"):
        layer(nnfast.Input((4, 3)))
    spec = layers.InputSpec(shape=(None, 3, 1), allow_last_axis_squeeze=True)
    from nnfast.layers.input_spec import assert_input_compatibility

    assert_input_compatibility(spec, np.zeros((2, 3)), "x")
    with pytest.raises(ValueError, match=r"expected shape=\(None, 3, 1\)"):
        assert_input_compatibility(spec, np.zeros((2, 4)), "x")


def test_attention_use_scale_scalar_weight_trains():
    q = nnfast.Input((3, 4))
    out = layers.GlobalAveragePooling1D()(layers.Attention(use_scale=True)([q, q]))
    model = nnfast.Model(q, layers.Dense(1)(out))
    model.compile("adam", "mse")
    scale = model.layers[1].weights[0]
    assert scale.shape == ()
    before = float(scale.numpy())
    x = np.random.default_rng(0).normal(size=(16, 3, 4)).astype("float32")
    model.fit(x, x[:, 0, :1], epochs=2, verbose=0)
    assert scale.numpy().shape == () and float(scale.numpy()) != before


def test_wrapper_files_written_by_keras_load_and_legacy_h5_keeps_inner_module(tmp_path):
    data = np.load(os.path.join(WRAPPERS, "wrappers.npz"))
    for name in ("wrappers.keras", "wrappers.h5"):
        model = nnfast.models.load_model(os.path.join(WRAPPERS, name))
        np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                                   atol=1e-6)
    path = str(tmp_path / "again.h5")
    with pytest.warns(UserWarning):
        model.save(path)
    with h5py.File(path) as f:
        config = json.loads(f.attrs["model_config"])
    wrappers = [entry for entry in config["config"]["layers"]
                if entry["class_name"] in ("Bidirectional", "TimeDistributed")]
    assert len(wrappers) == 3
    # Keras 3 finds the wrapped built-in class through its module (checked with Keras 3.15
    # and tf_keras 2.21: both load this file).
    assert all(w["config"]["layer"]["module"] == "keras.layers" for w in wrappers)
    again = nnfast.models.load_model(path)
    np.testing.assert_allclose(again.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-6)


def test_verbose_2_evaluate_and_predict_print_steps_done(capsys):
    model = nnfast.Sequential([nnfast.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((40, 3), "float32"), np.ones((40, 1), "float32")
    model.evaluate(x, y, batch_size=16, verbose=2)
    model.predict(x, batch_size=16, verbose=2)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.strip()]
    assert lines[0].startswith("3/3 - ") and "loss:" in lines[0]
    assert lines[1].startswith("3/3 - ")


def test_progress_bar_is_live_under_ipykernel(monkeypatch):
    import sys
    import types

    from nnfast.utils.progbar import Progbar

    class Out:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return False

    out = Out()
    Progbar(4, file=out).update(1, {"loss": 1.0}, finalize=False)
    assert out.text == ""  # a pipe: one line at the end only
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    out = Out()
    bar = Progbar(4, file=out, interval=0)
    bar.update(1, {"loss": 1.0}, finalize=False)
    assert out.text.startswith("\r1/4") and "loss: 1.0000" in out.text


def test_wrapper_subclass_builds_calls_and_round_trips_config():
    class Doubled(layers.Wrapper):
        def call(self, x):
            return 2.0 * self.layer(x)

    inner = layers.Dense(3, kernel_initializer="ones")
    layer = Doubled(inner)
    out = layer(np.ones((2, 4), "float32"))
    np.testing.assert_allclose(np.asarray(out), np.full((2, 3), 8.0))
    assert layer.weights == inner.weights
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Dense"
    again = Doubled.from_config(config)
    assert isinstance(again.layer, layers.Dense) and again.layer.units == 3
    with pytest.raises(ValueError, match="isn't a supported layer type"):
        Doubled("dense")
    with pytest.raises(NotImplementedError):
        layers.Wrapper(layers.Dense(1))(np.ones((1, 2), "float32"))


def test_summary_of_a_model_holding_built_submodels_counts_them():
    class Holder(nnfast.Model):
        def __init__(self, d, g):
            super().__init__()
            self.d, self.g = d, g

    d = nnfast.Sequential([nnfast.Input((4,)), layers.Dense(1)], name="disc")
    g = nnfast.Sequential([nnfast.Input((2,)), layers.Dense(4)], name="gen")
    lines = []
    Holder(d, g).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert " Total params: 17 (68.00 B)" in lines  # Keras 3.15's numbers
    assert "(None, 1)" in text and "(None, 4)" in text
