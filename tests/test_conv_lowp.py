"""Convolution layers under mixed precision (`ops.conv_lowp`): a Keras-written
mixed_bfloat16 CNN (tests/fixtures/mixed_precision/make_mixed_bfloat16_conv.py) gives
Keras's layer outputs and kernel gradients, the fused Conv2D(relu)+MaxPooling2D pair computes
what the unfused layers do, and mixed_float16 convolutions use float16-rounded operands."""
import os

import numpy as np
import pytest

import nnfast
from nnfast import mixed_precision
from nnfast.models import fusion
from nnfast.ops import precision

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "mixed_precision")
LAYERS = ["conv3x3", "depthwise", "strided", "pointwise"]


@pytest.fixture(autouse=True)
def float32_policy_after():
    yield
    mixed_precision.set_global_policy(None)


def test_keras_mixed_bfloat16_cnn_outputs_and_gradients():
    data = np.load(os.path.join(HERE, "mixed_bfloat16_conv.npz"))
    model = nnfast.models.load_model(os.path.join(HERE, "mixed_bfloat16_conv.keras"))
    assert model.get_layer("depthwise").dtype_policy.name == "mixed_bfloat16"
    outs = nnfast.Model(model.inputs, [model.get_layer(n).output for n in LAYERS])(data["x"])
    for name, out in zip(LAYERS, outs):
        out, want = np.asarray(out), data["out_" + name]
        ulp = 2.0 ** -7 * np.abs(want) + 1e-30  # one bfloat16 step at most
        assert np.all(np.abs(out - want) <= ulp), name
        if name != "pointwise":  # (its tanh is computed differently from TensorFlow's)
            assert np.mean(out == want) > 0.97, name  # a float32 kernel matches ~30-70%
    x = nnfast.ops.convert_to_tensor(data["x"])
    with nnfast.GradientTape() as tape:
        loss = nnfast.losses.SparseCategoricalCrossentropy()(data["y"], model(x))
    grads = tape.gradient(loss, [model.get_layer(n).kernel for n in LAYERS])
    for name, grad in zip(LAYERS, grads):
        want = data["grad_" + name]
        # float32 kernels were 0.4-5.6% of the largest entry off; bf16 ones 0.2-0.4%
        np.testing.assert_allclose(np.asarray(grad), want, rtol=0,
                                   atol=0.006 * np.abs(want).max(), err_msg=name)


def _cnn():
    return nnfast.Sequential([
        nnfast.Input((12, 12, 3)),
        nnfast.layers.Conv2D(16, 3, activation="relu"),
        nnfast.layers.MaxPooling2D(2),
        nnfast.layers.Conv2D(32, 3, activation="relu"),
        nnfast.layers.Flatten(),
        nnfast.layers.Dense(4, activation="softmax", dtype="float32"),
    ])


def test_fused_conv_pool_computes_in_the_policy_dtype(monkeypatch):
    mixed_precision.set_global_policy("mixed_bfloat16")
    x = np.random.default_rng(0).normal(size=(5, 12, 12, 3)).astype(np.float32)
    y = np.arange(5) % 4
    fused = _cnn()
    weights = fused.get_weights()
    monkeypatch.setattr(fusion, "FUSE_CONV_POOL", False)
    plain = _cnn()
    plain.set_weights(weights)
    monkeypatch.setattr(fusion, "FUSE_CONV_POOL", True)

    def loss_and_grads(model):
        xt = nnfast.ops.convert_to_tensor(x)
        with nnfast.GradientTape() as tape:
            loss = nnfast.losses.SparseCategoricalCrossentropy()(y, model(xt))
        return np.asarray(model(x)), [np.asarray(g) for g in
                                      tape.gradient(loss, model.trainable_weights)]

    p_fused, g_fused = loss_and_grads(fused)
    p_plain, g_plain = loss_and_grads(plain)
    np.testing.assert_array_equal(p_fused, p_plain)
    for a, b in zip(g_fused[2:], g_plain[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The first conv's gradients differ where a pool window holds values that tie after
    # rounding to bfloat16: the fused op routes the gradient to the largest float32 value, the
    # unfused pool to the first of the tied ones (both are subgradients).
    # (In this 5-image batch a few windows tie; over a real batch the effect averages out.)
    for a, b in zip(g_fused[:2], g_plain[:2]):
        assert np.linalg.norm(a - b) < 0.25 * np.linalg.norm(b)
        assert np.mean(np.isclose(a, b, rtol=1e-5, atol=1e-6)) > 0.8
    pool = nnfast.Model(fused.inputs, fused.layers[1].output)(x)
    assert np.array_equal(np.asarray(pool), precision.round_array(np.asarray(pool), "bfloat16"))


@pytest.mark.parametrize("depthwise", [False, True])
def test_mixed_float16_conv_rounds_operands(depthwise):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 8, 4)).astype(np.float32)
    cls = nnfast.layers.DepthwiseConv2D if depthwise else nnfast.layers.Conv2D
    kwargs = {} if depthwise else {"filters": 6}
    layer = cls(kernel_size=3, dtype="mixed_float16", **kwargs)
    out = np.asarray(layer(x))
    ref = cls(kernel_size=3, **kwargs)
    ref.build(x.shape)
    r = lambda a: precision.round_array(a, "float16")  # noqa: E731
    ref.set_weights([r(w) for w in layer.get_weights()])
    want = r(np.asarray(ref(r(x))))
    np.testing.assert_allclose(out, want, rtol=2.0 ** -10, atol=1e-6)
    assert np.array_equal(out, r(out))
