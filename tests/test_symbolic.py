"""Ops on symbolic tensors: Python operators and every ``nnfast.ops`` call on KerasTensors
record operation nodes (as Keras), with inferred shapes/dtypes; the models predict, train,
save and load; Keras-written op graphs load with Keras's numbers and nnfast's load in Keras."""
import inspect
import json
import os
import subprocess
import sys
import types
import warnings
import zipfile

import nnfast
import numpy as np
import pytest
from nnfast import layers, ops
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.operation import OperationLayer

HERE = os.path.dirname(__file__)
SYM_DIR = os.path.join(HERE, "fixtures", "symbolic")
NNFAST_SYM_DIR = os.path.join(SYM_DIR, "nnfast")
# The live check (Keras loads nnfast's files now) costs ~20 s of TensorFlow start-up, so it
# runs only when NNFAST_KERAS_PYTHON names a Keras environment; the recorded check
# (nnfast/keras_check.json) always runs.
KERAS_PYTHON = os.environ.get("NNFAST_KERAS_PYTHON", "")
sys.path.insert(0, SYM_DIR)
import custom_layers

custom_layers.define(nnfast)


def _op_of(t):
    layer = t._keras_history[0]
    assert isinstance(layer, OperationLayer), layer
    return layer.keras_class


X = nnfast.Input((4, 6), name="x")
Y = nnfast.Input((4, 6), name="y")
I = nnfast.Input((5,), dtype="int32", name="i")


# --- one line per operator / op: (expression, Keras class, shape, dtype) ---------------------
@pytest.mark.parametrize("make, cls, shape, dtype", [
    (lambda: X + Y, "Add", (None, 4, 6), "float32"),
    (lambda: X - 1.0, "Subtract", (None, 4, 6), "float32"),
    (lambda: 2.0 - X, "Subtract", (None, 4, 6), "float32"),
    (lambda: X * 0.5, "Multiply", (None, 4, 6), "float32"),
    (lambda: 0.5 * X, "Multiply", (None, 4, 6), "float32"),
    (lambda: X / 3.0, "TrueDivide", (None, 4, 6), "float32"),
    (lambda: 1.0 / X, "TrueDivide", (None, 4, 6), "float32"),
    (lambda: X ** 2, "Power", (None, 4, 6), "float32"),
    (lambda: -X, "Negative", (None, 4, 6), "float32"),
    (lambda: abs(X), "Absolute", (None, 4, 6), "float32"),
    (lambda: X @ ops.transpose(Y, (0, 2, 1)), "Matmul", (None, 4, 4), "float32"),
    (lambda: X > Y, "Greater", (None, 4, 6), "bool"),
    (lambda: X <= 0.0, "LessEqual", (None, 4, 6), "bool"),
    (lambda: I != 0, "NotEqual", (None, 5), "bool"),
    (lambda: (X > 0) & (Y > 0), "LogicalAnd", (None, 4, 6), "bool"),
    (lambda: X[:, 0], "GetItem", (None, 6), "float32"),
    (lambda: X[..., None, 1:3], "GetItem", (None, 4, 1, 2), "float32"),
    (lambda: X[:, ::2, -1], "GetItem", (None, 2), "float32"),
    (lambda: ops.concatenate([X, Y], axis=1), "Concatenate", (None, 8, 6), "float32"),
    (lambda: ops.mean(X, axis=1), "Mean", (None, 6), "float32"),
    (lambda: ops.sum(X, axis=-1, keepdims=True), "Sum", (None, 4, 1), "float32"),
    (lambda: ops.reshape(X, (-1, 24)), "Reshape", (None, 24), "float32"),
    (lambda: ops.reshape(X, (-1, 2, 3)), "Reshape", (None, 2, 3), "float32"),
    (lambda: ops.transpose(X, (0, 2, 1)), "Transpose", (None, 6, 4), "float32"),
    (lambda: ops.expand_dims(X, 1), "ExpandDims", (None, 1, 4, 6), "float32"),
    (lambda: ops.cast(I, "float32"), "Cast", (None, 5), "float32"),
    (lambda: ops.argmax(X, axis=-1), "Argmax", (None, 4), "int32"),  # Keras 3 on TF: int32
    (lambda: ops.softmax(X), "Softmax", (None, 4, 6), "float32"),
    (lambda: ops.stack([X, Y], axis=1), "Stack", (None, 2, 4, 6), "float32"),
    (lambda: ops.where(X > 0, X, Y), "Where", (None, 4, 6), "float32"),
])
def test_op_on_keras_tensor(make, cls, shape, dtype):
    out = make()
    assert isinstance(out, KerasTensor)
    assert (_op_of(out), out.shape, out.dtype) == (cls, shape, dtype)


def test_augmented_assignment_and_tuple_outputs():
    x = X
    x += Y
    x *= 2.0
    assert _op_of(x) == "Multiply" and _op_of(x._keras_history[0]._inbound_nodes[0].inputs) \
        == "Add"
    a, b = ops.split(X, 2, axis=-1)
    assert a.shape == b.shape == (None, 4, 3)
    assert a._keras_history[1:] == (0, 0) and b._keras_history[1:] == (0, 1)
    values, indices = ops.top_k(X, 2)
    assert values.shape == indices.shape == (None, 4, 2)
    assert indices.dtype.startswith("int")


def test_unknown_axes_stay_unknown():
    seq = nnfast.Input((None, 8))
    assert ops.reshape(seq, (-1, 8)).shape == (None, 8)
    assert seq[:, 0].shape == (None, 8)
    assert ops.mean(seq, axis=1).shape == (None, 8)
    assert ops.transpose(nnfast.Input((4,))).shape == (4, None)
    assert ops.shape(seq) == (None, None, 8)  # as Keras: the static shape, no node


def test_symbolic_tensor_misuse_is_refused():
    with pytest.raises(TypeError, match="boolean"):
        bool(X > 0)
    with pytest.raises(TypeError, match="NumPy"):
        np.asarray(X)
    with pytest.raises(ValueError, match="concrete"):
        ops.convert_to_numpy(X)


def test_every_public_op_goes_through_the_dispatch():
    for name, fn in vars(ops).items():
        if inspect.isfunction(fn) and not name.startswith("_") and \
                fn.__module__.startswith("nnfast.ops") and name not in ("install",):
            assert hasattr(fn, "_nnfast_raw_op"), f"nnfast.ops.{name} is not dispatched"


def test_new_ops_need_no_per_op_code():
    """An op added to a namespace (or to a Keras-named submodule) before ``install`` works on
    KerasTensors with no code of its own."""
    from nnfast.ops.symbolic import install

    def scaled_cumsum(x, scale=1.0, axis=-1):
        return ops.multiply(ops.cumsum(x, axis=axis), scale)

    def pairwise_sq(x):
        return ops.square(ops.expand_dims(x, -1) - ops.expand_dims(x, -2))

    scaled_cumsum.__module__ = pairwise_sq.__module__ = "nnfast.ops.future"
    sub = types.ModuleType("nnfast.ops.linalg_future")
    sub.pairwise_sq = pairwise_sq
    namespace = {"scaled_cumsum": scaled_cumsum, "linalg": sub}
    install(namespace)
    inp = nnfast.Input((5,))
    y = namespace["scaled_cumsum"](inp, scale=0.5)
    z = sub.pairwise_sq(y)
    assert (y.shape, z.shape) == ((None, 5), (None, 5, 5))
    layer = y._keras_history[0]
    assert layer.keras_module == "nnfast.ops" and layer.op_config["scale"] == 0.5
    model = nnfast.Model(inp, z)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    c = 0.5 * np.cumsum(x, -1)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               (c[:, :, None] - c[:, None, :]) ** 2, rtol=1e-5, atol=1e-6)


def _ops_io(name="keras_ops_io.npz", folder=SYM_DIR):
    io = np.load(os.path.join(folder, name))
    return io, [io[k] for k in sorted(k for k in io.files if k.startswith("x"))]


def test_model_of_ops_matches_numpy():
    a = nnfast.Input((3,))
    d = layers.Dense(4)
    h = d(a)
    out = ops.concatenate([(h * 0.5 - 1.0)[:, 1:], ops.mean(h, axis=1, keepdims=True)], -1)
    model = nnfast.Model(a, -out)
    x = np.random.default_rng(0).normal(size=(7, 3)).astype("float32")
    k, b = d.get_weights()
    hv = x @ k + b
    ref = -np.concatenate([(hv * 0.5 - 1.0)[:, 1:], hv.mean(1, keepdims=True)], -1)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, rtol=1e-5, atol=1e-6)
    assert [l.name for l in model.layers] == [model.layers[0].name, d.name]  # ops not layers


def test_keras_op_graph_loads_and_trains_with_keras_numbers():
    io, xs = _ops_io()
    model = nnfast.models.load_model(os.path.join(SYM_DIR, "keras_ops.keras"))
    np.testing.assert_allclose(model.predict(xs, verbose=0), io["y"], atol=1e-5, rtol=0)
    model.compile(nnfast.optimizers.SGD(0.05), "mse")
    hist = model.fit(xs, io["y_true"], batch_size=5, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], io["losses"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(xs, verbose=0), io["y_after"], atol=1e-5, rtol=0)


def test_nnfast_writes_the_op_nodes_keras_writes():
    nnfast.clear_session()
    ours = custom_layers.build_ops_model(nnfast).get_config()
    with zipfile.ZipFile(os.path.join(SYM_DIR, "keras_ops.keras")) as z:
        theirs = json.loads(z.read("config.json"))["config"]
    ours_ops = [l for l in ours["layers"] if l["module"].startswith("keras.src.ops")]
    theirs_ops = [l for l in theirs["layers"] if l["module"].startswith("keras.src.ops")]
    assert len(ours_ops) == len(theirs_ops) == 19
    for a, b in zip(ours_ops, theirs_ops):
        assert (a["class_name"], a["name"], a["registered_name"]) == \
            (b["class_name"], b["name"], b["registered_name"])
        assert a["inbound_nodes"] == b["inbound_nodes"], a["name"]
        for key, value in b["config"].items():  # nnfast's defaults may differ (axis)
            assert json.dumps(a["config"].get(key)) == json.dumps(value) or key == "axis"


def test_ops_model_trains_saves_and_loads(tmp_path):
    model = custom_layers.build_ops_model(nnfast)
    io, xs = _ops_io()
    model.compile(nnfast.optimizers.Adam(0.01), "mse")
    hist = model.fit(xs, io["y_true"], epochs=15, batch_size=5, verbose=0)
    assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0]
    for name in ("ops.keras", "ops.h5"):
        path = str(tmp_path / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy-format notice
            model.save(path)
        loaded = nnfast.models.load_model(path)
        np.testing.assert_array_equal(loaded.predict(xs, verbose=0),
                                      model.predict(xs, verbose=0))


def test_recorded_keras_check_of_nnfast_files():
    with open(os.path.join(NNFAST_SYM_DIR, "keras_check.json")) as fh:
        report = json.load(fh)
    assert report["keras_version"].startswith("3.")
    names = {f for f in os.listdir(NNFAST_SYM_DIR) if f.endswith(".keras")}
    assert set(report["results"]) == names == {"ops_graph.keras", "custom_graph.keras"}
    for fname, entry in report["results"].items():
        assert "error" not in entry, (fname, entry)
        assert entry["max_abs_diff"] <= 1e-5, fname


@pytest.mark.parametrize("name", ["ops_graph", "custom_graph"])
def test_nnfast_files_reload_in_nnfast(name):
    io, xs = _ops_io(f"{name}_io.npz", NNFAST_SYM_DIR)
    model = nnfast.models.load_model(os.path.join(NNFAST_SYM_DIR, name + ".keras"))
    np.testing.assert_allclose(model.predict(xs, verbose=0), io["y"], atol=1e-6, rtol=0)


@pytest.mark.skipif(not KERAS_PYTHON or not os.path.exists(KERAS_PYTHON),
                    reason="set NNFAST_KERAS_PYTHON to a Keras environment's python")
def test_nnfast_symbolic_files_load_in_real_keras(tmp_path):
    import make_nnfast_symbolic

    make_nnfast_symbolic.write(nnfast, str(tmp_path))
    proc = subprocess.run([KERAS_PYTHON, os.path.join(SYM_DIR, "verify_symbolic_in_keras.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=600, check=False)
    report = json.loads((tmp_path / "keras_check.json").read_text())
    assert proc.returncode == 0, json.dumps(report, indent=1)
    assert len(report["results"]) == 2


def test_image_submodule_ops_record_keras_op_classes():
    """``ops.image.*`` (and the other Keras-named submodules) go through the same dispatch;
    here with nnfast's resize kernel published as a stand-in ``image`` namespace."""
    from nnfast.ops import image_ops
    from nnfast.ops.symbolic import install

    image = types.SimpleNamespace(resize=lambda images, size, interpolation="bilinear":
                                  image_ops.resize(images, size, interpolation))
    image.resize.__module__ = "nnfast.ops.image"
    install({"image": image})
    inp = nnfast.Input((8, 6, 3))
    out = image.resize(inp, (4, 3))
    layer = out._keras_history[0]
    assert (out.shape, layer.keras_class, layer.keras_module) == \
        ((None, 4, 3, 3), "Resize", "keras.src.ops.image")
    assert layer.get_config()["size"] == (4, 3)
    x = np.random.default_rng(0).uniform(size=(2, 8, 6, 3)).astype("float32")
    np.testing.assert_allclose(nnfast.Model(inp, out).predict(x, verbose=0),
                               np.asarray(image_ops.resize(x, (4, 3), "bilinear")), rtol=1e-6)


def test_incompatible_symbolic_shapes_raise_naming_the_op():
    with pytest.raises(ValueError, match=r"nnfast.ops.add .*\(None, 4, 6\).*\(None, 5\)"):
        X + nnfast.Input((5,))
    with pytest.raises(ValueError, match="nnfast.ops.reshape"):
        ops.reshape(X, (-1, 5))


def test_constant_operands_save_as_keras_numpy_entries(tmp_path):
    a = nnfast.Input((3,))
    offset = ops.convert_to_tensor(np.array([1.0, 2.0, 3.0], "float32"))
    model = nnfast.Model(a, (a + offset) * np.array([2.0, 0.0, -1.0], "float32"))
    add = next(l for l in model.get_config()["layers"] if l["class_name"] == "Add")
    assert add["inbound_nodes"][0]["args"][1] == {
        "class_name": "__numpy__", "config": {"value": [1.0, 2.0, 3.0], "dtype": "float32"}}
    model.save(str(tmp_path / "c.keras"))
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(
        nnfast.models.load_model(str(tmp_path / "c.keras")).predict(x, verbose=0),
        [[4.0, 0.0, -4.0]] * 2)


def test_clone_model_keeps_op_nodes():
    model = custom_layers.build_ops_model(nnfast)
    clone = nnfast.models.clone_model(model)
    clone.set_weights(model.get_weights())
    _, xs = _ops_io()
    np.testing.assert_array_equal(clone.predict(xs, verbose=0), model.predict(xs, verbose=0))
    entry = next(l for l in model.get_config()["layers"] if l["class_name"] == "GetItem")
    from nnfast.saving.serialization import deserialize_keras_object

    assert isinstance(deserialize_keras_object(entry), OperationLayer)
