"""Convolution kernels, ops and layers against float64 NumPy references of Keras's
definitions, for every ISA; gradients against finite differences; layer contracts."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = [
    # (input shape, kernel shape, strides, padding, dilation, groups)
    ((2, 7, 9, 3), (3, 3, 3, 5), (1, 1), "valid", (1, 1), 1),
    ((2, 7, 9, 3), (3, 3, 3, 5), (1, 1), "same", (1, 1), 1),
    ((1, 11, 8, 4), (3, 2, 4, 17), (2, 3), "same", (1, 1), 1),
    ((3, 10, 9, 2), (3, 3, 2, 6), (1, 1), "same", (2, 2), 1),
    ((2, 9, 9, 6), (3, 3, 2, 9), (2, 2), "valid", (1, 1), 3),
    ((2, 8, 8, 16), (1, 1, 16, 7), (1, 1), "valid", (1, 1), 1),   # pointwise fast path
    ((1, 28, 28, 1), (3, 3, 1, 32), (1, 1), "valid", (1, 1), 1),  # the tutorial's first layer
    ((2, 9, 19, 3), (3, 3, 3, 70), (2, 2), "valid", (1, 1), 1),   # direct, 4-pixel blocks, 70 outs
    ((2, 6, 5, 33), (5, 5, 33, 3), (1, 2), "same", (1, 1), 1),
    # stride 1 with >= 16 outputs: backward-data as a flipped-kernel forward conv (AVX-512)
    ((1, 5, 6, 17), (3, 3, 17, 16), (1, 1), "valid", (1, 1), 1),
    ((1, 6, 5, 16), (3, 2, 16, 18), (1, 1), "same", (2, 1), 1),
]

# in_c >= 16 with output rows that fill the GEMM's micro-panels: the implicit-GEMM forward
# (A panels packed per tap from the input, borders zeroed, depth blocks splitting a tap).
IMPLICIT_CASES = [
    ((1, 5, 28, 17), (3, 3, 17, 5), (1, 1), "same", (1, 1), 1),
    ((2, 6, 55, 16), (3, 3, 16, 33), (2, 2), "same", (1, 1), 1),
    ((1, 7, 32, 20), (3, 3, 20, 40), (1, 1), "valid", (2, 2), 1),
    ((1, 4, 28, 50), (3, 3, 50, 40), (1, 1), "same", (1, 1), 1),   # K = 450: split taps
    ((2, 5, 15, 16), (3, 3, 16, 9), (1, 1), "valid", (1, 1), 1),   # 13 wide: partial panels
    ((1, 6, 30, 24), (5, 5, 24, 8), (1, 1), "same", (1, 1), 1),    # 2-pixel borders
]

# AVX-512 register tiles over flattened pixels: tiles straddle output rows and images, and
# kernels with more than ~40K floats per 32 channels run in tap chunks that accumulate in dst.
TILE_CASES = [
    ((2, 3, 5, 150), (3, 3, 150, 37), (1, 1), "same", (1, 1), 1),   # 3-tap chunks
    ((1, 4, 3, 300), (3, 3, 300, 20), (1, 1), "same", (1, 1), 1),   # 1-tap chunks
    ((3, 7, 6, 160), (3, 3, 160, 33), (2, 2), "same", (1, 1), 1),
    ((2, 7, 7, 17), (3, 3, 17, 16), (1, 1), "valid", (1, 1), 1),    # 5-wide rows
]


# 2-15 input channels on AVX-512: each tap row's kernel_w pixels read as one run of
# kernel_w * in_c channels from a width-padded copy (strides, dilation in height, borders).
ROWMERGED_CASES = [
    ((2, 9, 11, 3), (3, 3, 3, 20), (2, 2), "same", (1, 1), 1),
    ((1, 12, 10, 3), (7, 7, 3, 17), (2, 2), "same", (1, 1), 1),
    ((2, 8, 9, 5), (3, 2, 5, 33), (1, 1), "valid", (2, 1), 1),
    ((1, 7, 7, 2), (5, 5, 2, 16), (1, 2), "same", (1, 1), 1),
]

# Input gradients of strided convolutions with >= 16 channels: AVX-512 phase tiles (odd sizes,
# pixels no tap reaches, dilation, unequal strides).
STRIDED_BACKWARD_CASES = [
    ((2, 9, 10, 16), (3, 3, 16, 20), (2, 2), "same", (1, 1), 1),
    ((1, 8, 11, 17), (3, 2, 17, 16), (2, 3), "valid", (1, 1), 1),
    ((1, 11, 7, 16), (1, 1, 16, 33), (2, 2), "valid", (1, 1), 1),
    ((1, 7, 9, 20), (5, 5, 20, 16), (3, 2), "same", (1, 1), 1),
    ((1, 10, 10, 16), (3, 3, 16, 16), (1, 1), "same", (2, 2), 1),
]


@pytest.mark.parametrize("case", CASES + IMPLICIT_CASES + TILE_CASES + ROWMERGED_CASES)
def test_conv2d_forward_matches_reference(case, isa):
    xs, ks, strides, padding, dilation, groups = case
    x, k, b = rand(*xs), rand(*ks), rand(ks[-1])
    got = ops.conv_fused(x, k, b, strides, padding, dilation, activation="relu")
    want = np.maximum(ref.conv2d(x, k, strides, padding, dilation, groups, b), 0)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", TILE_CASES + ROWMERGED_CASES[:2])
@pytest.mark.parametrize("activation", ["tanh", None])
def test_conv2d_tiles_with_other_activations(case, activation, isa):
    xs, ks, strides, padding, dilation, groups = case
    x, k, b = rand(*xs), rand(*ks), rand(ks[-1])
    got = ops.conv_fused(x, k, b, strides, padding, dilation, activation=activation)
    want = ref.conv2d(x, k, strides, padding, dilation, groups, b)
    if activation == "tanh":
        want = np.tanh(want)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES + TILE_CASES[-1:] + STRIDED_BACKWARD_CASES)
def test_conv2d_backward_matches_reference(case, isa):
    xs, ks, strides, padding, dilation, groups = case
    x, k, b = rand(*xs), rand(*ks), rand(ks[-1])
    w = rand(*np.shape(ref.conv2d(x, k, strides, padding, dilation, groups)))
    dx, dk, db = ref.tape_grads(
        lambda x_, k_, b_: ops.conv_fused(x_, k_, b_, strides, padding, dilation), [x, k, b], w)
    # Exact adjoints in float64: dx = conv^T(w), dk = sum over pixels x_patch * w.
    eps_dx = ref.numeric_grad(
        lambda xi: float(np.sum(ref.conv2d(xi, k, strides, padding, dilation, groups) * w)),
        x, 1.0)
    eps_dk = ref.numeric_grad(
        lambda ki: float(np.sum(ref.conv2d(x, ki, strides, padding, dilation, groups) * w)),
        k, 1.0)
    # The reference is linear in x and k, so a unit central difference is exact.
    np.testing.assert_allclose(dx, eps_dx, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dk, eps_dk, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(db, w.reshape(-1, ks[-1]).sum(0), rtol=1e-4, atol=1e-3)


def test_conv2d_gradients_with_activation_finite_differences():
    x, k, b = rand(1, 5, 4, 2), rand(3, 3, 2, 3), rand(3)

    def reference(x_, k_, b_):
        z = ref.conv2d(x_, k_, (1, 1), "same", (1, 1), 1, b_)
        return np.tanh(z)

    ref.check_grads(lambda x_, k_, b_: ops.conv_fused(x_, k_, b_, 1, "same", activation="tanh"),
                    reference, [x, k, b])


@pytest.mark.parametrize("dm,strides,padding", [(1, (1, 1), "same"), (2, (2, 1), "valid"),
                                                (3, (2, 2), "same")])
def test_depthwise_matches_reference(dm, strides, padding, isa):
    x, k, b = rand(2, 9, 7, 5), rand(3, 3, 5, dm), rand(5 * dm)
    got = ops.conv_fused(x, k, b, strides, padding, depthwise=True)
    want = ref.depthwise_conv2d(x, k, strides, padding) + b
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    w = rand(*want.shape)
    dx, dk, db = ref.tape_grads(
        lambda x_, k_, b_: ops.conv_fused(x_, k_, b_, strides, padding, depthwise=True),
        [x, k, b], w)
    lin = lambda xi, ki: float(np.sum(ref.depthwise_conv2d(xi, ki, strides, padding) * w))  # noqa
    np.testing.assert_allclose(dx, ref.numeric_grad(lambda xi: lin(xi, k), x, 1.0), rtol=1e-4,
                               atol=1e-3)
    np.testing.assert_allclose(dk, ref.numeric_grad(lambda ki: lin(x, ki), k, 1.0), rtol=1e-4,
                               atol=1e-3)
    np.testing.assert_allclose(db, w.reshape(-1, 5 * dm).sum(0), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("strides,padding,output_padding", [
    ((1, 1), "valid", None), ((2, 2), "same", None), ((2, 3), "valid", None),
    ((2, 2), "same", (1, 0)), ((3, 2), "valid", (1, 1))])
def test_conv_transpose_matches_reference(strides, padding, output_padding, isa):
    x, k, b = rand(2, 4, 5, 3), rand(3, 3, 6, 3), rand(6)
    got = ops.conv_transpose_fused(x, k, b, strides, padding, output_padding)
    want = ref.conv2d_transpose(x, k, strides, padding, output_padding) + b
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    w = rand(*want.shape)
    dx, dk = ref.tape_grads(
        lambda x_, k_: ops.conv_transpose_fused(x_, k_, None, strides, padding, output_padding),
        [x, k], w)
    lin = lambda xi, ki: float(np.sum(  # noqa: E731
        ref.conv2d_transpose(xi, ki, strides, padding, output_padding) * w))
    np.testing.assert_allclose(dx, ref.numeric_grad(lambda xi: lin(xi, k), x, 1.0), rtol=1e-4,
                               atol=1e-3)
    np.testing.assert_allclose(dk, ref.numeric_grad(lambda ki: lin(x, ki), k, 1.0), rtol=1e-4,
                               atol=1e-3)


def test_conv1d_causal_and_channels_first():
    x, k = rand(2, 11, 3), rand(3, 3, 4)
    got = ops.conv_fused(x, k, None, 1, "causal", 2)
    xp = np.pad(x, ((0, 0), (4, 0), (0, 0)))
    want = ref.conv2d(xp[:, None], k[None], (1, 1), "valid", (1, 2))[:, 0]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    x4, k4 = rand(2, 3, 8, 7), rand(3, 3, 3, 4)
    got = ops.conv(x4, k4, padding="same", data_format="channels_first")
    want = ref.conv2d(x4.transpose(0, 2, 3, 1), k4, padding="same").transpose(0, 3, 1, 2)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def test_conv_same_bits_whatever_isa_tile_split():
    # A batch spanning several tiles gives the same per-image result as one image alone.
    x, k = rand(5, 30, 30, 8), rand(3, 3, 8, 16)
    full = np.asarray(ops.conv(x, k, padding="same"))
    one = np.asarray(ops.conv(x[3:4], k, padding="same"))
    np.testing.assert_array_equal(full[3:4], one)


def test_conv_bad_inputs_raise():
    with pytest.raises(ValueError, match="kernel"):
        ops.conv(rand(1, 5, 5, 3), rand(3, 3, 2, 4))
    with pytest.raises(ValueError, match="padding"):
        ops.conv(rand(1, 5, 5, 3), rand(3, 3, 3, 4), padding="full")
    with pytest.raises(ValueError, match="empty"):
        ops.conv(rand(1, 2, 2, 3), rand(3, 3, 3, 4))
    from nnfast import _core

    with pytest.raises(TypeError, match="float32"):
        _core.conv2d_forward(np.zeros((1, 5, 5, 3)), rand(3, 3, 3, 4), None,
                             np.zeros((1, 3, 3, 4), np.float32), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="kernel"):
        _core.conv2d_forward(rand(1, 5, 5, 3), rand(3, 3, 2, 4), None,
                             np.zeros((1, 3, 3, 4), np.float32), (1, 1), (0, 0), (1, 1))


# --- layers ----------------------------------------------------------------------------------


LAYER_CASES = [
    (layers.Conv2D, {"filters": 4, "kernel_size": 3}, (2, 7, 8, 3), (2, 5, 6, 4), 2),
    (layers.Conv2D, {"filters": 6, "kernel_size": (3, 2), "strides": 2, "padding": "same",
                     "groups": 3, "use_bias": False}, (2, 7, 8, 3), (2, 4, 4, 6), 1),
    (layers.Conv2D, {"filters": 4, "kernel_size": 3, "data_format": "channels_first",
                     "activation": "relu"}, (2, 3, 7, 8), (2, 4, 5, 6), 2),
    (layers.Conv1D, {"filters": 5, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (2, 9, 3), (2, 9, 5), 2),
    (layers.Conv1D, {"filters": 5, "kernel_size": 4, "strides": 2}, (2, 9, 3), (2, 3, 5), 2),
    (layers.Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 4, 5, 3), (2, 8, 10, 4), 2),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (1, 4, 5, 3),
     (1, 9, 11, 2), 2),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
     (2, 6, 5, 3), (2, 6, 5, 6), 2),
    (layers.SeparableConv2D, {"filters": 5, "kernel_size": 3, "activation": "tanh"},
     (2, 6, 5, 3), (2, 4, 3, 5), 3),
]


@pytest.mark.parametrize("cls,kwargs,in_shape,out_shape,n_weights", LAYER_CASES)
def test_conv_layers_contract(cls, kwargs, in_shape, out_shape, n_weights):
    layer = cls(**kwargs)
    x = rand(*in_shape)
    y = layer(x)
    assert y.shape == out_shape
    assert layer.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]
    assert len(layer.trainable_weights) == n_weights
    config = layer.get_config()
    clone = cls.from_config(dict(config, name=config["name"] + "_clone"))
    assert dict(clone.get_config(), name=config["name"]) == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(y), rtol=1e-6, atol=1e-6)
    # One training step moves the weights.
    model = nnfast.Sequential([nnfast.Input(in_shape[1:]), layer])
    model.compile("sgd", "mse")
    before = layer.get_weights()
    model.fit(x, rand(*out_shape), batch_size=len(x), epochs=1, verbose=0)
    assert all(not np.array_equal(b, a) for b, a in zip(before, layer.get_weights()))


def test_conv_layer_defaults_and_weights_match_keras_layout():
    conv = layers.Conv2D(8, 3)
    conv.build((None, 10, 10, 3))
    assert conv.kernel.shape == (3, 3, 3, 8) and conv.bias.shape == (8,)
    assert conv.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert conv.get_config()["strides"] == (1, 1) and conv.get_config()["padding"] == "valid"
    limit = np.sqrt(6 / (27 + 72))
    assert np.abs(conv.get_weights()[0]).max() <= limit
    tr = layers.Conv2DTranspose(5, 3)
    tr.build((None, 4, 4, 2))
    assert tr.kernel.shape == (3, 3, 5, 2)
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2)
    dw.build((None, 6, 6, 4))
    assert dw.kernel.shape == (3, 3, 4, 2) and dw.bias.shape == (8,)
    sep = layers.SeparableConv2D(7, 3)
    sep.build((None, 6, 6, 4))
    assert [w.shape for w in sep.weights] == [(3, 3, 4, 1), (1, 1, 4, 7), (7,)]
    with pytest.raises(ValueError, match="filters"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2D(5, 3, groups=2)


def test_image_reshaping_layers():
    x = rand(2, 5, 6, 3)
    zp = layers.ZeroPadding2D(((1, 2), (0, 1)))
    y = np.asarray(zp(x))
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0), (1, 2), (0, 1), (0, 0))))
    up = layers.UpSampling2D((2, 3))
    np.testing.assert_array_equal(np.asarray(up(x)), x.repeat(2, 1).repeat(3, 2))
    cr = layers.Cropping2D(((1, 0), (2, 1)))
    np.testing.assert_array_equal(np.asarray(cr(x)), x[:, 1:, 2:5])
    for layer in (zp, up, cr):
        assert layer.compute_output_shape((None, 5, 6, 3)) == (None,) + np.asarray(layer(x)).shape[1:]
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    # Gradients: padding/cropping route the gradient back, upsampling sums the copies.
    w = rand(2, 10, 18, 3)
    (g,) = ref.tape_grads(lambda t: up(t), [x], w)
    np.testing.assert_allclose(g, w.reshape(2, 5, 2, 6, 3, 3).sum(axis=(2, 4)), rtol=1e-5)
    w = rand(2, 4, 3, 3)
    (g,) = ref.tape_grads(lambda t: cr(t), [x], w)
    want = np.zeros_like(x)
    want[:, 1:, 2:5] = w
    np.testing.assert_array_equal(g, want)


def test_spatial_dropout_drops_whole_channels():
    layer = layers.SpatialDropout2D(0.5, seed=3)
    x = np.ones((4, 5, 5, 16), np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    y = np.asarray(layer(x, training=True))
    per_map = y.reshape(4, 25, 16)
    assert np.all(per_map.min(axis=1) == per_map.max(axis=1))  # constant over each map
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    assert layer.get_config()["rate"] == 0.5


def test_small_cnn_training_step_matches_numpy_reference():
    """One SGD step of Conv2D(relu, same) -> MaxPooling2D -> Flatten -> Dense(softmax) with
    categorical crossentropy equals a float64 NumPy step (gradients by central differences of
    the float64 forward)."""
    nnfast.utils.set_random_seed(5)
    model = nnfast.Sequential([
        nnfast.Input((6, 6, 2)), layers.Conv2D(3, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(4, activation="softmax")])
    lr = 0.1
    model.compile(nnfast.optimizers.SGD(learning_rate=lr), "categorical_crossentropy")
    x = rand(5, 6, 6, 2)
    y = np.eye(4, dtype=np.float32)[[0, 3, 1, 2, 3]]
    weights = [w.astype(np.float64) for w in model.get_weights()]
    # Non-zero biases so no pre-activation sits exactly on relu's kink.
    weights[1] = rand(3).astype(np.float64) * 0.1
    model.set_weights([w.astype(np.float32) for w in weights])
    shapes = [w.shape for w in weights]
    sizes = [w.size for w in weights]

    def loss_of(flat):
        k, b, dk, db = [p.reshape(s) for p, s in zip(np.split(flat, np.cumsum(sizes)[:-1]), shapes)]
        h = np.maximum(ref.conv2d(x, k, padding="same", bias=b), 0)
        h = ref.pool2d(h, (2, 2), (2, 2), "valid", "max").reshape(len(x), -1)
        z = h @ dk + db
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-(y * logp).sum(axis=1).mean())

    flat = np.concatenate([w.ravel() for w in weights])
    grad = ref.numeric_grad(loss_of, flat, 1e-6)
    expected = flat - lr * grad
    model.fit(x, y, batch_size=5, epochs=1, verbose=0, shuffle=False)
    got = np.concatenate([w.ravel() for w in model.get_weights()])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cin", [2, 8])  # direct kernel (3*3*2 <= 32) and im2col + GEMM
def test_fused_relu_weight_gradient_equals_unfused(cin, isa):
    """When the input needs no gradient, the relu mask is applied inside the weight-gradient
    kernel; the result must equal the route that materialises the relu gradient."""
    x, k, b = rand(3, 9, 8, cin), rand(3, 3, cin, 5), rand(5)
    w = rand(3, 9, 8, 5)
    kv, bv, xv = nnfast.Variable(k), nnfast.Variable(b), nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        loss = ops.sum(ops.multiply(ops.conv_fused(x, kv, bv, 1, "same", activation="relu"), w))
    fused = tape.gradient(loss, [kv, bv])
    with nnfast.GradientTape() as tape:
        loss = ops.sum(ops.multiply(ops.conv_fused(xv, kv, bv, 1, "same", activation="relu"), w))
    unfused = tape.gradient(loss, [kv, bv])
    y = ref.conv2d(x, k, padding="same", bias=b)
    gz = w * (y > 0)
    want_db = gz.reshape(-1, 5).sum(0)
    for f, u in zip(fused, unfused):
        np.testing.assert_allclose(f, u, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused[1], want_db, rtol=1e-4, atol=1e-4)
