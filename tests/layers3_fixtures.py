"""Reads tests/fixtures/layers3 (Keras 3.15 numbers written by make_layers3.py) and checks a
layer against one case: weight paths and shapes, outputs, and the gradients of
``sum(r * y)`` with respect to the float inputs and every trainable weight."""
import json
import os

import numpy as np

import nnfast
from nnfast import ops
from nnfast.saving.serialization import deserialize_keras_object

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "layers3")
_FLAT = dict(np.load(os.path.join(HERE, "layers3.npz")))
with open(os.path.join(HERE, "layers3.json")) as _f:
    _JSON = json.load(_f)
META = _JSON["cases"]
_INDEX = _JSON["arrays"]  # key -> [dtype, offset into that dtype's flat array, shape]


def coefficients(shape):
    """The fixture's loss coefficients (make_layers3.coefficients)."""
    n = int(np.prod(shape))
    return np.cos(np.arange(n, dtype=np.float64) * 0.37 + 0.1).reshape(shape).astype("float32")


def array(name, key):
    kind, offset, shape = _INDEX[f"{name}/{key}"]
    size = int(np.prod(shape))
    return _FLAT[kind][offset:offset + size].reshape(shape)


def has(name, key):
    return f"{name}/{key}" in _INDEX


def layer_from_keras(name):
    """The nnfast layer rebuilt from the Keras config of case ``name``."""
    meta = META[name]
    return deserialize_keras_object({"module": "keras.layers", "class_name": meta["class_name"],
                                     "config": meta["config"], "registered_name": None})


def check_case(name, rtol=1e-4, atol=1e-5, grad_rtol=1e-3, grad_atol=1e-4, layer=None):
    """Runs case ``name`` on nnfast and compares with Keras; returns the layer."""
    meta = META[name]
    layer = layer or layer_from_keras(name)
    inputs = [array(name, f"x{i}") for i in range(meta["n_inputs"])]
    tensors = [nnfast.Variable(x) if x.dtype.kind == "f" else x for x in inputs]
    kwargs = dict(meta["call_kwargs"])
    n_w = len(meta["paths"])
    if n_w and has(name, "w0"):
        if not layer.built:
            shapes = [np.shape(x) for x in inputs]
            if len(shapes) > 1:
                layer.build(*shapes)
            else:
                layer.build(shapes[0])
        # Keras's weight names (after the layer's own name), order and shapes. nnfast keeps
        # a recurrent layer's weights on the layer, Keras on its cell (files map the two).
        keras_paths = [p.split("/", 1)[-1].replace("conv_lstm_cell/", "")
                       for p in meta["paths"]]
        assert [w.path.split("/", 1)[-1] for w in layer.weights] == keras_paths, name
        layer.set_weights([array(name, f"w{i}") for i in range(n_w)])
    with nnfast.GradientTape() as tape:
        tape.watch(layer.trainable_weights)
        out = layer(*tensors, **kwargs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        loss = None
        for o in outs:
            term = ops.sum(ops.multiply(o, coefficients(tuple(o.shape))))
            loss = term if loss is None else ops.add(loss, term)
    assert len(outs) == meta["n_outputs"], name
    for i, o in enumerate(outs):
        np.testing.assert_allclose(np.asarray(o), array(name, f"y{i}"), rtol=rtol, atol=atol,
                                   err_msg=f"{name} output {i}")
    float_in = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"]
    want = [(f"gx{i}", tensors[i]) for i in float_in if has(name, f"gx{i}")]
    index = {id(w): i for i, w in enumerate(layer.weights)}
    want += [(f"gw{index[id(w)]}", w) for w in layer.trainable_weights
             if has(name, f"gw{index[id(w)]}")]
    if want:
        grads = tape.gradient(loss, [t for _, t in want])
        for (key, _), g in zip(want, grads):
            np.testing.assert_allclose(np.asarray(g), array(name, key), rtol=grad_rtol,
                                       atol=grad_atol, err_msg=f"{name} gradient {key}")
    for i, w in enumerate(layer.weights):
        if has(name, f"after{i}"):
            np.testing.assert_allclose(np.asarray(w.value), array(name, f"after{i}"), rtol=1e-4,
                                       atol=1e-6, err_msg=f"{name} weight {i} after the call")
    return layer
