"""Activations with a non-zero default parameter (elu's alpha=1, leaky_relu's slope 0.2)
fused into Dense and the conv layers, and activity regularizers divided by the batch size,
against Keras 3.15 (tests/fixtures/modules/make_fused_activations.py)."""
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast import layers
from nnfast.backend.tape import GradientTape

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "modules",
                           "fused_activations.npz"))

LAYERS = {
    "dense": lambda a: layers.Dense(5, activation=a),
    "conv1d": lambda a: layers.Conv1D(3, 2, activation=a),
    "conv2d": lambda a: layers.Conv2D(3, 2, activation=a),
    "conv3d": lambda a: layers.Conv3D(2, 2, activation=a),
    "separable2d": lambda a: layers.SeparableConv2D(3, 2, activation=a),
    "depthwise2d": lambda a: layers.DepthwiseConv2D(2, activation=a),
    "transpose2d": lambda a: layers.Conv2DTranspose(3, 2, activation=a),
}


@pytest.mark.parametrize("act", ["elu", "leaky_relu"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_fused_activation_matches_keras(name, act):
    if name == "conv3d" and not hasattr(layers, "Conv3D"):
        pytest.skip("Conv3D is another branch's")
    x = FIX[f"{name}/x"]
    layer = LAYERS[name](act)
    layer.build(x.shape)
    n = len([k for k in FIX.files if k.startswith(f"{name}/{act}/w")])
    layer.set_weights([FIX[f"{name}/{act}/w{i}"] for i in range(n)])
    want = FIX[f"{name}/{act}/y"]
    np.testing.assert_allclose(np.asarray(layer(x)), want, rtol=1e-5, atol=1e-5)
    # inference path of a model (fused chains) and training path with its gradient
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    xt = keras.Variable(x)
    with GradientTape() as tape:
        y = layer(xt, training=True)
        loss = keras.ops.sum(y)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
    g = np.asarray(tape.gradient(loss, xt))
    # d(sum)/dx by central differences on a few coordinates (float64 reference of the layer)
    rng = np.random.default_rng(0)
    for flat in rng.choice(x.size, 3, replace=False):
        idx = np.unravel_index(flat, x.shape)
        xp, xm = x.copy(), x.copy()
        xp[idx] += 1e-2
        xm[idx] -= 1e-2
        fd = (np.asarray(layer(xp), np.float64).sum() - np.asarray(layer(xm), np.float64).sum()) / 2e-2
        assert abs(fd - g[idx]) < 2e-2 * max(1.0, abs(fd)), (idx, fd, g[idx])


def test_activity_regularizer_is_divided_by_the_batch_size():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(
        2, activity_regularizer=keras.regularizers.L2(0.1))])
    model.set_weights([FIX["activity/w0"], FIX["activity/w1"]])
    model(FIX["activity/x"])
    np.testing.assert_allclose(float(sum(np.asarray(l) for l in model.losses)),
                               FIX["activity/penalty"], rtol=1e-5)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    hist = model.fit(FIX["activity/x"], FIX["activity/y"], batch_size=3, epochs=2,
                     shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], FIX["activity/loss"], rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], FIX["activity/final0"], rtol=1e-5,
                               atol=1e-6)
