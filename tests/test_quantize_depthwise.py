"""DepthwiseConv2D.quantize("int8") (nnfast beyond Keras): int8 kernels with one scale per
output channel, each sample's input quantized per channel, exact int32 sums on every ISA
variant of the int8 depthwise kernel (against a float64 NumPy reference of the scheme), the
folded inference chain, the straight-through input gradient, saving and loading."""
import numpy as np
import pytest

import nnfast
from int8_depthwise_variants import VARIANTS, depthwise_kernel
from nnfast import _core
from nnfast.ops import quantized_depthwise as qd

L = nnfast.layers
ISAS = nnfast.config.available_isas()


@pytest.fixture
def cap():
    """Sets the ISA cap for one test and restores the cap it found after."""
    previous = nnfast.config.active_isa()
    yield nnfast.config.set_max_isa
    nnfast.config.set_max_isa(previous)


def reference(x, kq, ks, bias, strides, pads, dilation, out_hw, scale=None, relu6=False):
    """float64 of the scheme: per (sample, channel) x_scale = 127 / (max|x| + 1e-7) in float32,
    q = round(x * x_scale), acc = depthwise(q, kq), y = acc * scale / (x_scale * ks) + bias."""
    b, h, w, c = x.shape
    kh, kw, _, dm = kq.shape
    (sh, sw), (ph, pw), (dh, dw), (oh, ow) = strides, pads, dilation, out_hw
    xs = np.float32(127.0) / (np.abs(x).max(axis=(1, 2), keepdims=True) + np.float32(1e-7))
    q = np.repeat(np.round(x * xs).astype(np.float64), dm, axis=-1)
    big = np.zeros((b, ph + h + dh * kh + sh * oh, pw + w + dw * kw + sw * ow, c * dm))
    big[:, ph:ph + h, pw:pw + w] = q
    acc = np.zeros((b, oh, ow, c * dm))
    for i in range(kh):
        for j in range(kw):
            acc += big[:, i * dh: i * dh + sh * oh: sh, j * dw: j * dw + sw * ow: sw][
                :, :oh, :ow] * kq[i, j].reshape(-1).astype(np.float64)
    mult = (1.0 if scale is None else scale.astype(np.float64)) / (
        np.repeat(xs.astype(np.float64), dm, axis=-1) * ks.astype(np.float64))
    y = acc * mult + bias
    return np.clip(y, 0.0, 6.0) if relu6 else y


def run_kernel(x, kq, ks, bias, strides, pads, dilation, out_hw, scale=None, act=0):
    y = np.empty((x.shape[0],) + out_hw + (kq.shape[2] * kq.shape[3],), np.float32)
    _core.int8_depthwise_conv2d_forward(x, kq, ks, bias, y, strides, pads, dilation, act,
                                        scale=scale)
    return y


# (batch, h, w, c, dm, kernel, strides, pads, dilation): channel tails (19, 37, 3 -> 6, and 80:
# the VNNI kernel's 64-channel block then a 16-channel rest), depth multipliers, even and odd
# tap counts (49: more than the VNNI kernel groups), strides, dilation, asymmetric kernels.
SHAPES = [
    (2, 7, 9, 19, 1, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 6, 5, 80, 1, (3, 3), (2, 2), (1, 1), (1, 1)),
    (1, 9, 8, 20, 1, (7, 7), (1, 1), (3, 3), (1, 1)),
    (1, 5, 6, 3, 2, (3, 3), (2, 2), (1, 1), (1, 1)),
    (3, 11, 4, 37, 1, (5, 2), (2, 1), (2, 0), (1, 1)),
    (1, 8, 8, 16, 3, (3, 3), (1, 1), (2, 2), (2, 2)),
    (2, 1, 1, 1, 1, (1, 1), (1, 1), (0, 0), (1, 1)),
]


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_kernel_against_float64_on_every_isa(case, cap):
    b, h, w, c, dm, (kh, kw), strides, pads, dil = SHAPES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal((b, h, w, c)).astype(np.float32)
    kq = rng.integers(-127, 128, (kh, kw, c, dm)).astype(np.int8)
    ks = rng.uniform(0.5, 2.0, c * dm).astype(np.float32)
    bias = rng.standard_normal(c * dm).astype(np.float32)
    bn = rng.uniform(0.5, 1.5, c * dm).astype(np.float32)
    out_hw = (out_size(h, kh, strides[0], pads[0], dil[0]),
              out_size(w, kw, strides[1], pads[1], dil[1]))
    want = reference(x, kq, ks, bias, strides, pads, dil, out_hw, bn, relu6=True)
    results = {}
    for isa, vnni, name in VARIANTS:
        with depthwise_kernel(isa, vnni):
            results[name] = run_kernel(x, kq, ks, bias, strides, pads, dil, out_hw, bn, act=13)
            assert _core.selected_kernels()["depthwise_int8"] == name
        np.testing.assert_allclose(results[name], want, rtol=1e-5, atol=1e-5)
    for got in results.values():  # exact sums; the epilogue's fused multiply-add may round
        np.testing.assert_allclose(got, results["s8_depthwise_ref"], rtol=3e-7, atol=1e-6)
    if "s8_depthwise_avx512vnni" in results:  # the same sums and the same epilogue
        np.testing.assert_array_equal(results["s8_depthwise_avx512vnni"],
                                      results["s8_depthwise_avx512"])


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_kernel_sums_are_exact_integers_on_every_isa(case, cap):
    """Integer inputs whose per-(sample, channel) max is 127 quantize to themselves (x_scale
    rounds to 1 in float32), so with unit kernel scales the outputs are the int32 sums."""
    b, h, w, c, dm, (kh, kw), strides, pads, dil = SHAPES[case]
    rng = np.random.default_rng(10 + case)
    x = rng.integers(-127, 128, (b, h, w, c)).astype(np.float32)
    x[:, 0, 0, :] = 127.0
    kq = rng.integers(-127, 128, (kh, kw, c, dm)).astype(np.int8)
    out_hw = (out_size(h, kh, strides[0], pads[0], dil[0]),
              out_size(w, kw, strides[1], pads[1], dil[1]))
    want = reference(x, kq, np.ones(c * dm, np.float32), 0.0, strides, pads, dil, out_hw)
    for isa, vnni, name in VARIANTS:
        with depthwise_kernel(isa, vnni):
            got = run_kernel(x, kq, np.ones(c * dm, np.float32), None, strides, pads, dil,
                             out_hw)
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_kernel_nan_sample_and_errors():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 5, 4)).astype(np.float32)
    x[1, 2, 3, 0] = np.nan
    kq = rng.integers(-127, 128, (3, 3, 4, 1)).astype(np.int8)
    ks = np.ones(4, np.float32)
    y = run_kernel(x, kq, ks, None, (1, 1), (1, 1), (1, 1), (5, 5))
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()
    with pytest.raises(TypeError, match="int8"):
        run_kernel(x, kq.astype(np.float32), ks, None, (1, 1), (1, 1), (1, 1), (5, 5))
    with pytest.raises(ValueError, match="kernel_scale"):
        run_kernel(x, kq, np.ones(3, np.float32), None, (1, 1), (1, 1), (1, 1), (5, 5))
    with pytest.raises(ValueError, match="kernel"):
        run_kernel(x, kq[:, :, :3], ks[:3], None, (1, 1), (1, 1), (1, 1), (5, 5))
    with pytest.raises(ValueError, match="int8"):
        qd.int8_depthwise_conv(x, kq.astype(np.int16), ks)


def test_layer_quantize_call_gradient_save_load(tmp_path):
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (2, 9, 7, 5)).astype(np.float32)
    model = nnfast.Sequential([nnfast.Input((9, 7, 5)),
                               L.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                                 activation="relu6")])
    layer = model.layers[0]
    layer.bias.assign(rng.normal(size=10).astype(np.float32) * 0.1)
    y_float = model.predict(x, verbose=0)
    model.quantize("int8", filters=".*")  # every conv, whatever its shape
    assert layer.dtype_policy.name == "int8_from_float32"
    kq, ks = np.asarray(layer.kernel.value), np.asarray(layer.kernel_scale.value)
    assert kq.dtype == np.int8 and kq.shape == (3, 3, 5, 2) and ks.shape == (10,)
    y = model.predict(x, verbose=0)
    want = reference(x, kq, ks, np.asarray(layer.bias.value), (1, 1), (1, 1), (1, 1), (9, 7),
                     relu6=True)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(y - y_float)) < 0.02 * np.abs(y_float).max()
    # straight-through input gradient: a float depthwise conv with the dequantized kernel
    plain = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)
    layer_lin = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=False)
    layer_lin.build(x.shape)
    layer_lin.kernel.assign(rng.normal(size=(3, 3, 5, 2)).astype(np.float32))
    layer_lin.quantize("int8")
    plain.build(x.shape)
    plain.kernel.assign(np.asarray(layer_lin.kernel.value) /
                        np.asarray(layer_lin.kernel_scale.value).reshape(5, 2))
    grads = []
    for lyr in (layer_lin, plain):
        xt = nnfast.ops.convert_to_tensor(x)
        with nnfast.GradientTape() as tape:
            tape.watch(xt)
            loss = nnfast.ops.sum(lyr(xt) * np.arange(10, dtype=np.float32))
        grads.append(np.asarray(tape.gradient(loss, xt)))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-5)
    path = str(tmp_path / "dw.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    assert again.layers[0].kernel.dtype == "int8"
    np.testing.assert_array_equal(again.predict(x, verbose=0), y)
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
    with pytest.raises(NotImplementedError, match="does not have a `quantize`"):
        L.DepthwiseConv1D(3).quantize("int8")


def test_folded_chain_in_the_inference_plan(monkeypatch):
    """ZeroPadding2D -> DepthwiseConv2D(stride 2) -> BatchNormalization -> ReLU(6), as in
    MobileNetV2, runs as one int8 call equal to the layers one by one."""
    calls = []
    real = qd.int8_depthwise_conv_inference
    monkeypatch.setattr(qd, "int8_depthwise_conv_inference",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(9)
    inp = nnfast.Input((10, 11, 6))
    a = L.ZeroPadding2D(((0, 1), (0, 1)))(inp)
    a = L.DepthwiseConv2D(3, strides=2, use_bias=False)(a)
    a = L.BatchNormalization()(a)
    out = L.ReLU(max_value=6.0)(a)
    model = nnfast.Model(inp, out)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 + (1.0 if "variance"
                       in w.path else 0.0) for w in model.weights])
    x = rng.normal(size=(3, 10, 11, 6)).astype(np.float32)
    y_float = model.predict(x, verbose=0)
    model.quantize("int8", filters=".*")  # every conv, whatever its shape
    y = model.predict(x, verbose=0)
    assert calls == [1]
    ref = x
    for layer in model.layers[1:]:
        ref = layer(ref, training=False) if isinstance(layer, L.BatchNormalization) else \
            layer(ref)
    np.testing.assert_allclose(y, np.asarray(ref), rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(y - y_float)) < 0.02 * np.abs(y_float).max()


def test_expand_conv_hands_its_channel_maxima_to_the_depthwise_layer(monkeypatch):
    """MobileNetV2's expand -> depthwise pair: the int8 1x1 conv's epilogue gathers the
    depthwise layer's input statistics, which then skips its own pass; the numbers are those
    of the layers one by one (the maxima are the same)."""
    from nnfast.ops import quantized

    seen = []
    real = qd.int8_depthwise_conv_inference
    monkeypatch.setattr(qd, "int8_depthwise_conv_inference",
                        lambda x, *a, **k: seen.append(getattr(x, "channel_absmax", None)) or
                        real(x, *a, **k))
    rng = np.random.default_rng(12)
    inp = nnfast.Input((9, 8, 5))
    a = L.Conv2D(12, 1, use_bias=False)(inp)
    a = L.BatchNormalization()(a)
    a = L.ReLU(6.0)(a)
    a = L.ZeroPadding2D(((0, 1), (0, 1)))(a)
    a = L.DepthwiseConv2D(3, strides=2, use_bias=False)(a)
    out = L.ReLU(6.0)(L.BatchNormalization()(a))
    model = nnfast.Model(inp, out)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 + (1.0 if "variance"
                       in w.path else 0.0) for w in model.weights])
    x = rng.normal(size=(3, 9, 8, 5)).astype(np.float32)
    model.quantize("int8", filters=".*")  # every conv, whatever its shape
    y = model.predict(x, verbose=0)
    assert len(seen) == 1
    if quantized.int8_units_available():
        assert seen[0] is not None and seen[0].shape == (3, 12)
    ref = x
    for layer in model.layers[1:]:
        ref = layer(ref, training=False) if isinstance(layer, L.BatchNormalization) else \
            layer(ref)
    np.testing.assert_allclose(y, np.asarray(ref), rtol=1e-5, atol=1e-5)
