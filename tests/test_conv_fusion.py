"""The fused Conv2D(relu) -> MaxPooling2D op and the model peephole that uses it: fused vs
unfused outputs (bit for bit) and gradients (float32 rounding) on odd shapes for every ISA,
a float64 NumPy reference, which layer pairs fuse, and bad inputs."""
import numpy as np
import pytest

import nnfast
from nnfast import _core, layers, ops
from nnfast.models import fusion
from nnfast.ops import fused as fused_ops

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(3)


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


CASES = [
    # (input, kernel (kh, kw, out), strides, padding, dilation, pool, pool padding)
    ((3, 28, 28, 1), (3, 3, 32), (1, 1), "valid", (1, 1), (2, 2), "valid"),  # the tutorial
    ((2, 13, 11, 3), (3, 3, 37), (1, 1), "same", (1, 1), (2, 2), "same"),     # odd sizes, 'same'
    ((2, 15, 17, 2), (2, 2, 20), (2, 2), "valid", (1, 1), (3, 3), "same"),    # clipped windows
    ((1, 12, 9, 1), (3, 3, 70), (1, 1), "same", (2, 2), (2, 3), "valid"),     # 70 outs, dilation
    ((2, 9, 10, 1), (5, 5, 5), (1, 1), "same", (1, 1), (2, 2), "valid"),      # 25 taps, border
    ((2, 11, 11, 3), (3, 3, 16), (1, 1), "valid", (1, 1), (3, 3), "valid"),   # 27 taps, 3x3 pool
    # One input channel, 3x3, <= 32 filters: the first-layer route (weights in registers),
    # with border windows ('same'), 16-lane remainders, 3x3 pools and strides
    ((2, 13, 11, 1), (3, 3, 20), (1, 1), "same", (1, 1), (2, 2), "same"),
    ((2, 10, 9, 1), (3, 3, 7), (1, 1), "valid", (1, 1), (2, 2), "valid"),
    ((1, 11, 12, 1), (3, 3, 32), (1, 1), "same", (1, 1), (3, 3), "same"),
    ((2, 17, 15, 1), (3, 3, 24), (2, 2), "valid", (1, 1), (2, 2), "same"),
    ((1, 14, 13, 1), (3, 3, 31), (1, 1), "valid", (2, 1), (2, 2), "valid"),
]


def unfused(x, k, b, case):
    _, _, strides, padding, dilation, pool, ppad = case
    z = ops.conv_fused(x, k, b, strides, padding, dilation, activation="relu")
    return ops.max_pool(z, pool, None, ppad)


def fused(x, k, b, case):
    _, _, strides, padding, dilation, pool, ppad = case
    return fused_ops.conv2d_relu_max_pool(x, k, b, strides, padding, dilation, pool, ppad)


def inputs(case):
    xs, (kh, kw, out), *_ = case
    return rand(*xs), rand(kh, kw, xs[3], out, scale=0.5), rand(out, scale=0.2)


@pytest.mark.parametrize("case", CASES)
def test_fused_forward_equals_unfused_bit_for_bit(case, isa):
    x, k, b = inputs(case)
    got = np.asarray(fused(x, k, b, case))
    want = np.asarray(unfused(x, k, b, case))
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    # ... and both follow Keras's definition (float64 reference).
    _, _, strides, padding, dilation, pool, ppad = case
    z = np.maximum(ref.conv2d(x, k, strides, padding, dilation, 1, b), 0)
    np.testing.assert_allclose(got, ref.pool2d(z, pool, pool, ppad, "max"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_fused_gradients_match_unfused(case, isa):
    x, k, b = inputs(case)
    out_shape = np.asarray(unfused(x, k, b, case)).shape
    w = rand(*out_shape)
    got = ref.tape_grads(lambda *a: fused(*a, case), [x, k, b], w)
    want = ref.tape_grads(lambda *a: unfused(*a, case), [x, k, b], w)
    for name, g, h in zip(("x", "kernel", "bias"), got, want):
        scale = max(1.0, float(np.max(np.abs(h))))
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("case", [
    ((1, 6, 7, 2), (3, 3, 3), (1, 1), "same", (1, 1), (2, 2), "same"),
    ((1, 5, 6, 1), (3, 3, 4), (1, 1), "same", (1, 1), (2, 2), "same"),  # first-layer route
])
def test_fused_gradients_against_finite_differences(case, isa):
    # Small shapes, float64 central differences of the reference conv -> relu -> max-pool.
    x, k, b = inputs(case)

    def reference(x_, k_, b_):
        z = np.maximum(ref.conv2d(x_, k_, (1, 1), "same", (1, 1), 1, b_), 0)
        return ref.pool2d(z, (2, 2), (2, 2), "same", "max")

    ref.check_grads(lambda *a: fused(*a, case), reference, [x, k, b], rtol=1e-2, atol=2e-3,
                    eps=1e-3)


def test_weight_gradient_only_path(isa):
    # A first layer: no input gradient requested (the data is not a Variable).
    case = CASES[1]
    x, k, b = inputs(case)
    kv, bv = nnfast.Variable(k), nnfast.Variable(b)
    w = rand(*np.asarray(unfused(x, k, b, case)).shape)
    grads = []
    for fn in (fused, unfused):
        with nnfast.GradientTape() as tape:
            loss = ops.sum(ops.multiply(fn(x, kv, bv, case), w))
        grads.append(tape.gradient(loss, [kv, bv]))
    for g, h in zip(*grads):
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(h).max()))


def tutorial_model(fuse):
    previous = fusion.FUSE_CONV_POOL
    fusion.FUSE_CONV_POOL = fuse
    try:
        model = nnfast.Sequential([
            nnfast.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
    finally:
        fusion.FUSE_CONV_POOL = previous
    return model


def test_sequential_fuses_the_pair_and_trains_identically():
    # Seeded: the fused and unfused sums round differently, and with whatever initial weights
    # earlier tests' draws leave, one weight in 86,528 could end 1.5e-5 past the tolerance.
    nnfast.utils.set_random_seed(11)
    a, b = tutorial_model(True), tutorial_model(False)
    assert len(a._plan.steps) == len(b._plan.steps) - 1  # the pair is one entry of the plan
    b.set_weights(a.get_weights())
    x = RNG.random((9, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 9)]
    np.testing.assert_array_equal(np.asarray(a(x)), np.asarray(b(x)))
    for m in (a, b):
        m.compile(optimizer="adam", loss="categorical_crossentropy")
        m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), rtol=1e-4,
                               atol=1e-6)


@pytest.mark.parametrize("conv_kw, pool_kw", [
    ({"activation": "tanh"}, {}),                                   # not relu
    ({"activation": "relu"}, {"strides": 1}),                       # overlapping windows
    ({"activation": "relu", "data_format": "channels_first"}, {"data_format": "channels_first"}),
    ({"activation": "relu", "activity_regularizer": "l2"}, {}),
])
def test_non_qualifying_pairs_are_not_fused(conv_kw, pool_kw):
    conv = layers.Conv2D(4, 3, **conv_kw)
    pool = layers.MaxPooling2D(2, **pool_kw)
    conv.build((None, 8, 8, 8) if conv_kw.get("data_format") is None else (None, 1, 8, 8))
    assert fusion.conv_pool_call(conv, pool) is None


def test_large_kernels_and_average_pooling_are_not_fused():
    conv = layers.Conv2D(8, 3, activation="relu")
    conv.build((None, 10, 10, 16))  # 3*3*16 taps: the GEMM path, not fused
    assert fusion.conv_pool_call(conv, layers.MaxPooling2D(2)) is None
    small = layers.Conv2D(8, 3, activation="relu")
    small.build((None, 10, 10, 1))
    assert fusion.conv_pool_call(small, layers.AveragePooling2D(2)) is None
    assert fusion.conv_pool_call(small, layers.MaxPooling2D(2)) is not None


def test_bad_inputs_raise_clear_errors():
    x, k = rand(2, 8, 8, 1), rand(3, 3, 1, 4)
    with pytest.raises(ValueError, match="no fused kernel"):
        fused_ops.conv2d_relu_max_pool(rand(2, 8, 8, 16), rand(3, 3, 16, 4))
    with pytest.raises(ValueError, match="does not fit"):
        fused_ops.conv2d_relu_max_pool(x, rand(3, 3, 2, 4))
    with pytest.raises(ValueError, match="4-D"):
        fused_ops.conv2d_relu_max_pool(rand(8, 8, 1), k)
    geom = ((1, 1), (0, 0), (1, 1), (6, 6), (2, 2), (0, 0))
    y = np.empty((2, 3, 3, 4), np.float32)
    with pytest.raises(TypeError, match="uint8"):
        _core.conv2d_relu_maxpool_forward(x, k, None, y, np.empty(y.shape, np.int32), *geom)
    with pytest.raises(ValueError, match="kernel"):
        _core.conv2d_relu_maxpool_forward(x, rand(3, 3, 1, 5), None, y, None, *geom)
    with pytest.raises(ValueError, match="outside"):
        _core.conv2d_relu_maxpool_forward(x, k, None, np.empty((2, 4, 3, 4), np.float32), None,
                                          *geom)


def functional_model(fuse, expose_conv=False):
    previous = fusion.FUSE_CONV_POOL
    fusion.FUSE_CONV_POOL = fuse
    try:
        inp = nnfast.Input(shape=(11, 13, 2))
        c = layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
        p = layers.MaxPooling2D(2)(c)
        out = layers.Dense(3)(layers.Flatten()(p))
        model = nnfast.Model(inp, [out, c] if expose_conv else out)
    finally:
        fusion.FUSE_CONV_POOL = previous
    return model


def test_functional_fuses_a_conv_feeding_only_a_pool():
    a, b = functional_model(True), functional_model(False)
    assert len(a._plan.steps) == len(b._plan.steps) - 1
    b.set_weights(a.get_weights())
    x = RNG.standard_normal((4, 11, 13, 2)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(a(x)), np.asarray(b(x)))
    w = rand(4, 3)
    grads = []
    for m in (a, b):
        with nnfast.GradientTape() as tape:
            loss = ops.sum(ops.multiply(m(x, training=True), w))
        grads.append(tape.gradient(loss, m.trainable_variables))
    for g, h in zip(*grads):
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(h).max()))
    # A conv output the model also returns must exist: no fusion there.
    c = functional_model(True, expose_conv=True)
    assert len(c._plan.steps) == len(functional_model(False, expose_conv=True)._plan.steps)
    assert all(step.run == step.layer.call for step in c._plan.steps)
