"""3-D convolution/pooling/reshaping and adaptive pooling layers: Keras 3.15 numbers
(tests/fixtures/layers3), the C++ conv3d against a float64 NumPy reference and its scalar
reference (odd shapes, groups, strides, dilation, padding), gradients, config/save round trips
and a training step."""
import numpy as np
import pytest

import nnfast
from nnfast import _core, layers
from nnfast.ops.conv3d import conv3d_variant_name
from layer_contract import run_layer_test
from layers3_fixtures import check_case

# --- C++ conv3d against float64 NumPy ---------------------------------------------------------


def conv3d_reference(x, k, strides, pads, dilation, out_dhw, groups):
    """float64 NDHWC conv3d (cross-correlation, zero padding before by `pads`)."""
    x, k = x.astype(np.float64), k.astype(np.float64)
    b, d, h, w, c = x.shape
    kd, kh, kw, cg, o = k.shape
    og = o // groups
    y = np.zeros((b,) + tuple(out_dhw) + (o,))
    for t in range(kd):
        for u in range(kh):
            for v in range(kw):
                for od in range(out_dhw[0]):
                    i_d = od * strides[0] - pads[0] + t * dilation[0]
                    if not 0 <= i_d < d:
                        continue
                    for oh in range(out_dhw[1]):
                        i_h = oh * strides[1] - pads[1] + u * dilation[1]
                        if not 0 <= i_h < h:
                            continue
                        ows = np.arange(out_dhw[2])
                        i_w = ows * strides[2] - pads[2] + v * dilation[2]
                        ok = (i_w >= 0) & (i_w < w)
                        for g in range(groups):
                            xs = x[:, i_d, i_h, i_w[ok], g * cg:(g + 1) * cg]
                            y[:, od, oh, ows[ok], g * og:(g + 1) * og] += \
                                xs @ k[t, u, v, :, g * og:(g + 1) * og]
    return y


SHAPES = [  # (x shape, kernel shape, strides, pads, dilation, out, groups)
    ((2, 5, 6, 7, 3), (3, 3, 3, 3, 5), (1, 1, 1), (0, 0, 0), (1, 1, 1), (3, 4, 5), 1),
    ((1, 7, 5, 9, 4), (2, 3, 2, 2, 6), (2, 1, 3), (1, 1, 0), (1, 1, 1), (4, 5, 3), 2),
    ((3, 4, 6, 5, 17), (3, 1, 3, 17, 19), (1, 2, 1), (2, 0, 1), (2, 1, 1), (4, 3, 5), 1),
    ((1, 3, 3, 3, 1), (1, 1, 1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), (3, 3, 3), 1),
    ((2, 6, 4, 4, 32), (1, 3, 3, 32, 16), (1, 1, 1), (0, 1, 1), (1, 1, 1), (6, 4, 4), 1),
]


@pytest.fixture(params=["fast", "ref"])
def isa(request):
    if request.param == "ref":
        before = nnfast.config.kernel_info()["active_isa"]
        nnfast.config.set_max_isa("ref")
        assert conv3d_variant_name() == "f32_conv3d_ref"
        yield "ref"
        nnfast.config.set_max_isa(before)
    else:
        assert conv3d_variant_name() in ("f32_conv3d_depth2col_conv2d", "f32_conv3d_ref")
        yield "fast"


@pytest.mark.parametrize("case", SHAPES, ids=[str(i) for i in range(len(SHAPES))])
def test_conv3d_passes_match_float64(case, isa):
    xs, ks, strides, pads, dil, out, groups = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    k = rng.standard_normal(ks).astype(np.float32)
    bias = rng.standard_normal(ks[-1]).astype(np.float32)
    g = rng.standard_normal((xs[0],) + out + (ks[-1],)).astype(np.float32)
    y = np.empty((xs[0],) + out + (ks[-1],), np.float32)
    _core.conv3d_forward(x, k, bias, y, strides, pads, dil, groups)
    want = conv3d_reference(x, k, strides, pads, dil, out, groups) + bias
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    # backward-data: <g, conv(x)> is linear in x, so dL/dx = conv^T(g); check it by the
    # adjoint identity <conv(x), g> == <x, conv^T(g)> in float64.
    dx = np.empty_like(x)
    _core.conv3d_backward_data(g, k, dx, strides, pads, dil, groups)
    lhs = np.sum(conv3d_reference(x, k, strides, pads, dil, out, groups) * g)
    np.testing.assert_allclose(np.sum(x.astype(np.float64) * dx), lhs, rtol=1e-4)
    # every element of dx: one-hot probes of the adjoint on a few positions.
    probe = rng.integers(0, x.size, 5)
    for p in probe:
        e = np.zeros(x.size, np.float32)
        e[p] = 1
        ref = np.sum(conv3d_reference(e.reshape(xs), k, strides, pads, dil, out, groups) * g)
        np.testing.assert_allclose(dx.ravel()[p], ref, rtol=1e-4, atol=1e-4)
    dk = np.empty_like(k)
    db = np.empty_like(bias)
    _core.conv3d_backward_weights(x, g, dk, db, strides, pads, dil, groups)
    np.testing.assert_allclose(db, g.astype(np.float64).sum(axis=(0, 1, 2, 3)), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(np.sum(dk.astype(np.float64) * k), lhs, rtol=1e-4)
    for p in rng.integers(0, k.size, 5):
        e = np.zeros(k.size, np.float32)
        e[p] = 1
        ref = np.sum(conv3d_reference(x, e.reshape(ks), strides, pads, dil, out, groups) * g)
        np.testing.assert_allclose(dk.ravel()[p], ref, rtol=1e-4, atol=1e-4)


def test_conv3d_bad_shapes_raise():
    x = np.zeros((1, 4, 4, 4, 3), np.float32)
    y = np.zeros((1, 2, 2, 2, 5), np.float32)
    with pytest.raises(ValueError, match="kernel"):
        _core.conv3d_forward(x, np.zeros((3, 3, 3, 2, 5), np.float32), None, y, (1, 1, 1),
                             (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match="5-D"):
        _core.conv3d_forward(x[0], np.zeros((3, 3, 3, 3, 5), np.float32), None, y, (1, 1, 1),
                             (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match="strides"):
        _core.conv3d_forward(x, np.zeros((3, 3, 3, 3, 5), np.float32), None, y, (0, 1, 1),
                             (0, 0, 0), (1, 1, 1))
    with pytest.raises(ValueError, match="Received"):
        layers.Conv3D(4, (3, 3))
    with pytest.raises(ValueError, match="ndim=5"):
        layers.Conv3D(4, 3)(np.zeros((1, 4, 4, 3), np.float32))


# --- Keras 3.15 numbers -------------------------------------------------------------------------

KERAS_CASES = ["conv3d_relu", "conv3d_same_groups", "conv3d_dilated", "conv3dT_same",
               "conv3dT_valid_op", "maxpool3d_valid", "maxpool3d_same", "avgpool3d_same",
               "avgpool3d_valid", "adaptive_avg1d", "adaptive_max2d", "adaptive_avg3d",
               "adaptive_max3d", "adaptive_avg2d_cf"]


@pytest.mark.parametrize("name", KERAS_CASES)
def test_matches_keras(name):
    check_case(name)


# --- reshaping layers against NumPy ---------------------------------------------------------------


def test_padding_cropping_upsampling_3d():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5, 2)).astype(np.float32)
    pad = ((1, 2), (0, 1), (3, 0))
    np.testing.assert_array_equal(np.asarray(layers.ZeroPadding3D(pad)(x)),
                                  np.pad(x, ((0, 0),) + pad + ((0, 0),)))
    np.testing.assert_array_equal(np.asarray(layers.ZeroPadding3D(1)(x)),
                                  np.pad(x, ((0, 0),) + ((1, 1),) * 3 + ((0, 0),)))
    np.testing.assert_array_equal(
        np.asarray(layers.ZeroPadding3D((1, 0, 2), data_format="channels_first")(x)),
        np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0), (2, 2))))
    np.testing.assert_array_equal(np.asarray(layers.Cropping3D(((1, 0), (1, 2), (0, 3)))(x)),
                                  x[:, 1:, 1:2, 0:2])
    np.testing.assert_array_equal(np.asarray(layers.Cropping3D()(x)), x[:, 1:2, 1:3, 1:4])
    up = layers.UpSampling3D((2, 1, 3))(x)
    np.testing.assert_array_equal(np.asarray(up),
                                  x.repeat(2, axis=1).repeat(1, axis=2).repeat(3, axis=3))
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping3D(((2, 1), (0, 0), (0, 0)))(x)
    # Gradients: cropping scatters back, upsampling sums its copies.
    v = nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        loss = nnfast.ops.sum(layers.UpSampling3D(2)(v))
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, v)), np.full(x.shape, 8.0))


def test_global_pooling_3d():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(layers.GlobalAveragePooling3D()(x)),
                               x.mean(axis=(1, 2, 3)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layers.GlobalMaxPooling3D(keepdims=True)(x)),
                               x.max(axis=(1, 2, 3), keepdims=True))
    np.testing.assert_allclose(
        np.asarray(layers.GlobalMaxPool3D(data_format="channels_first")(x)),
        x.max(axis=(2, 3, 4)))
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D


# --- layer contract: shapes, config round trip, one training step --------------------------------

CONTRACT = [
    (layers.Conv3D, dict(filters=4, kernel_size=3, padding="same", activation="relu"),
     (2, 4, 5, 6, 3), (2, 4, 5, 6, 4)),
    (layers.Conv3D, dict(filters=4, kernel_size=(2, 3, 1), strides=2, groups=2,
                         data_format="channels_first"), (2, 4, 5, 6, 7), (2, 4, 2, 2, 4)),
    (layers.Conv3DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same"),
     (2, 3, 4, 5, 2), (2, 6, 8, 10, 3)),
    (layers.MaxPooling3D, dict(pool_size=2), (2, 4, 5, 6, 3), (2, 2, 2, 3, 3)),
    (layers.AveragePooling3D, dict(pool_size=2, padding="same", data_format="channels_first"),
     (2, 3, 4, 5, 6), (2, 3, 2, 3, 3)),
    (layers.GlobalAveragePooling3D, dict(), (2, 3, 4, 5, 6), (2, 6)),
    (layers.ZeroPadding3D, dict(padding=(1, 2, 0)), (2, 3, 4, 5, 2), (2, 5, 8, 5, 2)),
    (layers.Cropping3D, dict(cropping=1), (2, 3, 4, 5, 2), (2, 1, 2, 3, 2)),
    (layers.UpSampling3D, dict(size=2), (2, 2, 3, 1, 2), (2, 4, 6, 2, 2)),
    (layers.AdaptiveMaxPooling1D, dict(output_size=3), (2, 7, 4), (2, 3, 4)),
    (layers.AdaptiveAveragePooling3D, dict(output_size=(2, 1, 3)), (2, 5, 4, 7, 2),
     (2, 2, 1, 3, 2)),
]


@pytest.mark.parametrize("cls,kwargs,shape,out", CONTRACT,
                         ids=[c[0].__name__ + str(i) for i, c in enumerate(CONTRACT)])
def test_layer_contract(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, expected_output_shape=out)


def test_conv3d_gradient_against_finite_differences():
    rng = np.random.default_rng(3)
    layer = layers.Conv3D(2, (2, 3, 2), strides=(1, 2, 1), padding="same", activation="tanh")
    x = rng.standard_normal((1, 3, 5, 4, 2)).astype(np.float32)
    layer(x)
    v = nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        loss = nnfast.ops.sum(nnfast.ops.square(layer(v)))
    g = np.asarray(tape.gradient(loss, v))
    f = lambda a: float(np.sum(np.square(np.asarray(layer(a.astype(np.float32)), np.float64))))
    for idx in [(0, 0, 0, 0, 0), (0, 1, 2, 3, 1), (0, 2, 4, 1, 0)]:
        e = np.zeros_like(x, dtype=np.float64)
        e[idx] = 1e-2
        fd = (f(x + e) - f(x - e)) / 2e-2
        np.testing.assert_allclose(g[idx], fd, rtol=2e-2, atol=2e-3)


def test_conv3d_model_saves_and_loads(tmp_path):
    rng = np.random.default_rng(4)
    model = nnfast.Sequential([
        nnfast.Input((4, 8, 8, 1)), layers.Conv3D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling3D(2), layers.Conv3DTranspose(2, 2, strides=2),
        layers.GlobalAveragePooling3D(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((8, 4, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    first = model.fit(x, y, epochs=2, batch_size=4, verbose=0).history["loss"]
    assert np.isfinite(first).all()
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = nnfast.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_conv3d_chunked_depth_columns_match_per_sample_calls():
    # 40 output slices of 48x48x(3*32) depth columns exceed one 32 MB chunk: the driver then
    # gathers, convolves and scatters in pieces; each sample alone fits in one.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 8, 48, 48, 32)).astype(np.float32)
    k = (rng.standard_normal((3, 1, 1, 32, 4)) * 0.1).astype(np.float32)
    g = rng.standard_normal((5, 8, 48, 48, 4)).astype(np.float32)
    geom = ((1, 1, 1), (1, 0, 0), (1, 1, 1))
    y = np.empty(g.shape, np.float32)
    dx = np.empty_like(x)
    dk = np.empty_like(k)
    _core.conv3d_forward(x, k, None, y, *geom)
    _core.conv3d_backward_data(g, k, dx, *geom)
    _core.conv3d_backward_weights(x, g, dk, None, *geom)
    dk_sum = np.zeros(k.shape, np.float64)
    for i in range(5):
        yi, dxi, dki = np.empty(g[i:i + 1].shape, np.float32), np.empty_like(x[i:i + 1]), \
            np.empty_like(k)
        _core.conv3d_forward(x[i:i + 1], k, None, yi, *geom)
        _core.conv3d_backward_data(g[i:i + 1], k, dxi, *geom)
        _core.conv3d_backward_weights(x[i:i + 1], g[i:i + 1], dki, None, *geom)
        np.testing.assert_allclose(y[i:i + 1], yi, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dx[i:i + 1], dxi, rtol=1e-5, atol=1e-5)
        dk_sum += dki
    np.testing.assert_allclose(dk, dk_sum, rtol=1e-4, atol=1e-3)
