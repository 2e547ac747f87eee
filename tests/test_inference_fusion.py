"""Inference plan of Functional models: [ZeroPadding2D ->] conv [-> BatchNormalization]
[-> activation] chains as one conv2d_inference call, checked against the layer-by-layer plan
(which runs whenever a GradientTape records) and against float64 NumPy; the scale epilogue of
every conv kernel path against NumPy for every ISA."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops
from nnfast.backend.tape import GradientTape
from nnfast.models.functional import Functional
from nnfast.ops import fused as fused_ops

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def randomize_batch_norms(model):
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(RNG.normal(0, 0.5, n))
            layer.moving_variance.assign(RNG.uniform(0.3, 2.0, n))
            if layer.gamma is not None:
                layer.gamma.assign(RNG.uniform(0.5, 1.5, n))
            if layer.beta is not None:
                layer.beta.assign(RNG.normal(0, 0.5, n))


def chain_model():
    x_in = layers.Input((13, 11, 5))
    x = layers.ZeroPadding2D(((0, 1), (2, 1)))(x_in)
    x = layers.Conv2D(24, 3, strides=2, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)                                          # pad + conv + bn + relu6
    y = layers.DepthwiseConv2D(3, padding="same")(x)
    y = layers.BatchNormalization(center=False)(y)
    y = layers.Activation("relu")(y)                                 # depthwise + bn + relu
    y = layers.Conv2D(24, 1)(y)
    y = layers.BatchNormalization(scale=False)(y)
    z = layers.Add()([x, y])                                         # pointwise + bn + sum
    z = layers.Conv2D(20, 3, padding="same", activation="relu")(z)
    z = layers.BatchNormalization()(z)                               # conv(relu) then bn: kept
    w = layers.Conv2D(20, 3, padding="same")(z)
    w2 = layers.BatchNormalization()(w)                              # w read twice: kept
    w = layers.Add()([w, w2])
    w = layers.Activation("tanh")(w)
    v = layers.Conv2D(20, 1)(w)
    v = layers.Activation("swish")(v)                                # conv + activation
    a = layers.BatchNormalization()(layers.Conv2D(16, 1)(v))
    b = layers.BatchNormalization()(layers.Conv2D(16, 3, padding="same")(v))
    c = layers.ReLU()(layers.Add()([b, a]))     # conv + bn + sum(conv + bn) + relu, as ResNet
    out = layers.GlobalAveragePooling2D()(c)
    return Functional(x_in, [out, z])


def test_chains_merge_and_match_the_layer_by_layer_plan():
    model = chain_model()
    randomize_batch_norms(model)
    fused = model._inference_plan().steps
    # 6 chains merged: 4+3+3+2+2+4 layers became 6 calls, and the depthwise chain and the
    # pointwise one it feeds one separable call.
    assert len(fused) == len(model._plan.steps) - 13
    names = [type(e.layer).__name__ for e in fused if getattr(e.run, "__self__", None) is not e.layer]
    assert names == ["ReLU", "Add", "Activation", "BatchNormalization", "ReLU"]
    assert type(fused[1].run).__name__ == "SeparableChainCall"
    x = rand(3, 13, 11, 5)
    got = [np.asarray(t) for t in model(x, training=False)]
    with GradientTape():
        want = [t.numpy() for t in model(x, training=False)]   # the unfused plan
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0)[0], want[0], rtol=1e-5, atol=1e-5)


def test_first_chain_against_float64_numpy():
    model = chain_model()
    randomize_batch_norms(model)
    x = rand(2, 13, 11, 5)
    sub = Functional(model.inputs, model.layers[4].output)   # pad, conv, bn, relu6
    assert len(sub._inference_plan().steps) == 1
    conv, bn = model.layers[2], model.layers[3]
    xp = np.pad(x, ((0, 0), (0, 1), (2, 1), (0, 0)))
    z = ref.conv2d(xp, conv.kernel.value, (2, 2))
    z = (z - bn.moving_mean.value) / np.sqrt(bn.moving_variance.value.astype(np.float64) + 1e-3)
    z = z * bn.gamma.value + bn.beta.value
    np.testing.assert_allclose(np.asarray(sub(x)), np.clip(z, 0, 6), rtol=1e-4, atol=1e-4)


def test_weights_changed_by_training_are_used_at_the_next_prediction():
    both = chain_model()
    model = Functional(both.inputs, both.outputs[0])
    model.compile(optimizer="adam", loss="mse")
    x = rand(8, 13, 11, 5)
    before = model.predict(x, verbose=0)
    model.fit(x, rand(8, 16), epochs=1, batch_size=4, verbose=0)   # moves kernels and stats
    after = model.predict(x, verbose=0)
    with GradientTape():
        want = model(x, training=False).numpy()
    assert np.abs(after - before).max() > 1e-4
    np.testing.assert_allclose(after, want, rtol=1e-5, atol=1e-5)


def test_training_calls_and_tapes_use_the_unfused_layers():
    model = chain_model()
    x = rand(2, 13, 11, 5)
    with GradientTape() as tape:
        out = ops.sum(model(x, training=False)[0])
    grads = tape.gradient(out, model.trainable_variables)
    assert all(g is not None for g in grads[:2])


def test_conv2d_inference_rejects_tapes_and_bad_shapes():
    x, k = rand(1, 5, 5, 3), rand(3, 3, 3, 4)
    with GradientTape():
        with pytest.raises(RuntimeError, match="inference-only"):
            fused_ops.conv2d_inference(x, k)
    with pytest.raises(ValueError, match="4-D"):
        fused_ops.conv2d_inference(x[0], k)
    with pytest.raises(ValueError, match="larger than the padded input"):
        fused_ops.conv2d_inference(rand(1, 2, 2, 3), k)
    with pytest.raises(ValueError, match="scale"):
        fused_ops.conv2d_inference(x, k, scale=np.ones(5, np.float32))
    with pytest.raises(ValueError, match="residual"):
        fused_ops.conv2d_inference(x, k, residual=np.ones((1, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="residual"):
        fused_ops.conv2d_inference(x, rand(3, 3, 3, 1), depthwise=True,
                             residual=np.ones((1, 3, 3, 3), np.float32))


# (input, kernel, strides, padding): one case per forward path of the C++ conv.
SCALE_CASES = [
    ((2, 6, 7, 16), (1, 1, 16, 37), (1, 1), "valid"),    # pointwise: GEMM epilogue
    ((2, 9, 8, 3), (3, 3, 3, 20), (2, 2), "same"),       # RGB: kernel rows as taps
    ((2, 9, 8, 1), (3, 3, 1, 20), (1, 1), "same"),       # direct (K <= 32)
    ((2, 7, 6, 40), (3, 3, 40, 33), (1, 1), "same"),     # AVX-512 tiles / implicit GEMM
    ((1, 5, 4, 300), (3, 3, 300, 18), (1, 1), "same"),   # tiles in tap chunks
    ((2, 9, 9, 5), (5, 5, 5, 7), (2, 2), "valid"),       # im2col tiles + GEMM
]


@pytest.mark.parametrize("case", SCALE_CASES)
@pytest.mark.parametrize("activation", [None, "relu", "sigmoid"])
def test_scale_epilogue_on_every_conv_path(case, activation, isa):
    xs, ks, strides, padding = case
    x, k, b, s = rand(*xs), rand(*ks), rand(ks[-1]), rand(ks[-1])
    want = ref.conv2d(x, k, strides, padding) * s + b
    r = rand(*want.shape) if activation != "sigmoid" else None   # with and without a residual
    got = fused_ops.conv2d_inference(x, k, b, s, strides, padding, activation=activation, residual=r)
    if r is not None:
        want = want + r
    if activation == "relu":
        want = np.maximum(want, 0)
    elif activation == "sigmoid":
        want = 1 / (1 + np.exp(-want))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("multiplier", [1, 2])
def test_scale_epilogue_depthwise(multiplier, isa):
    x, k = rand(2, 7, 9, 6), rand(3, 3, 6, multiplier)
    b, s = rand(6 * multiplier), rand(6 * multiplier)
    got = fused_ops.conv2d_inference(x, k, b, s, (2, 1), "same", depthwise=True, activation="relu",
                               act_max=6.0)
    dense = np.zeros((3, 3, 6, 6 * multiplier), np.float32)
    for c in range(6):
        dense[:, :, c, c * multiplier:(c + 1) * multiplier] = k[:, :, c, :]
    want = np.clip(ref.conv2d(x, dense, (2, 1), "same") * s + b, 0, 6)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def test_a_broadcasting_residual_sum_still_matches():
    i, j = layers.Input((5, 5, 3)), layers.Input((1, 1, 4))
    a = layers.BatchNormalization()(layers.Conv2D(4, 1)(i))
    model = Functional([i, j], layers.ReLU()(layers.Add()([a, j])))
    randomize_batch_norms(model)
    assert len(model._inference_plan().steps) == 1
    x, y = rand(2, 5, 5, 3), rand(2, 1, 1, 4)
    got = np.asarray(model([x, y]))
    with GradientTape():
        want = model([x, y]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_sequential_merges_chains_but_not_its_earlier_fusions():
    from nnfast.models.sequential import Sequential

    model = Sequential([
        layers.Input((12, 12, 3)),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),   # fused conv+pool
        layers.BatchNormalization(),
        layers.Conv2D(16, 3, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.Flatten(), layers.Dense(5),
    ])
    randomize_batch_norms(model)
    calls = model._inference_plan().steps
    assert len(calls) == len(model._plan.steps) - 2
    x = rand(4, 12, 12, 3)
    got = np.asarray(model(x))
    with GradientTape():
        want = model(x, training=False).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("multiplier, strides, zero_padding, with_residual", [
    (1, (1, 1), ((0, 0), (0, 0)), True),
    (2, (2, 2), ((0, 1), (0, 1)), False),
    (1, (2, 1), ((1, 0), (2, 1)), False),
])
def test_separable_inference_equals_two_convs(multiplier, strides, zero_padding, with_residual,
                                              isa):
    x = rand(2, 11, 9, 24)
    dk, pk = rand(3, 3, 24, multiplier), rand(1, 1, 24 * multiplier, 37)
    db, ds = rand(24 * multiplier), rand(24 * multiplier)
    pb, ps = rand(37), rand(37)
    mid = fused_ops.conv2d_inference(x, dk, db, ds, strides, "same", depthwise=True,
                               activation="relu", act_max=6.0, zero_padding=zero_padding)
    r = rand(*(mid.shape[:3] + (37,))) if with_residual else None
    want = fused_ops.conv2d_inference(mid, pk, pb, ps, activation="relu", residual=r)
    got = fused_ops.separable_inference(x, dk, db, ds, pk, pb, ps, strides, "same",
                                  dw_activation=("relu", 0.0, 6.0, 0.0),
                                  pw_activation=("relu", 0.0, None, 0.0),
                                  zero_padding=zero_padding, residual=r)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, out_c, same_bits", [
    ((2, 8, 8, 48), 16, True),     # the 1x1 conv takes the register tile the fused block runs
    ((4, 2, 2, 336), 112, False),  # MobileNetV2(alpha=0.35)'s last projection on few pixels:
])                                 # a GEMM whose cache blocks split K = 336 on AVX2
def test_separable_inference_same_bits_as_two_convs(shape, out_c, same_bits, isa):
    """A frozen MobileNet gives the same numbers fused and layer by layer (training=True on a
    frozen base runs the layers): where the 1x1 conv alone takes the fused block's register
    tile (every ISA with one, AVX2 included) the same bits; where it takes the GEMM, whose
    cache blocks of K sum in another order, float32 rounding apart."""
    x, dk, pk = rand(*shape), rand(3, 3, shape[3], 1), rand(1, 1, shape[3], out_c)
    db, ds, pb, ps = rand(shape[3]), rand(shape[3]), rand(out_c), rand(out_c)
    mid = fused_ops.conv2d_inference(x, dk, db, ds, 1, "same", depthwise=True,
                                     activation="relu", act_max=6.0)
    want = fused_ops.conv2d_inference(mid, pk, pb, ps)
    got = fused_ops.separable_inference(x, dk, db, ds, pk, pb, ps, 1, "same",
                                        dw_activation=("relu", 0.0, 6.0, 0.0))
    if same_bits:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    else:
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_separable_inference_rejects_bad_shapes():
    x, dk = rand(1, 6, 6, 16), rand(3, 3, 16, 1)
    with pytest.raises(ValueError, match="pointwise kernel"):
        fused_ops.separable_inference(x, dk, None, None, rand(1, 1, 15, 8), None, None)
    with pytest.raises(ValueError, match="residual"):
        fused_ops.separable_inference(x, dk, None, None, rand(1, 1, 16, 8), None, None,
                                residual=rand(1, 6, 6, 9))
    with pytest.raises(ValueError, match="depthwise scale"):
        fused_ops.separable_inference(x, dk, None, rand(3), rand(1, 1, 16, 8), None, None)
    with GradientTape():
        with pytest.raises(RuntimeError, match="inference-only"):
            fused_ops.separable_inference(x, dk, None, None, rand(1, 1, 16, 8), None, None)
