"""Conv1D/Conv2D.quantize("int8") (nnfast beyond Keras): int8 kernels with per-output-channel
scales, each output pixel's input window quantized per row, on the int8 units and on the
float32 route, against a float64 NumPy reference of the same scheme; saving and loading;
model.quantize on a CNN (inference fusion and the conv+pool fusion leave int8 convs alone)."""
import numpy as np
import pytest

import nnfast
from nnfast.ops import quantized

from test_conv_bf16 import _gather_index

L = nnfast.layers


def _reference(layer, x, kq, ks, bias):
    """float64 of the scheme: (round(cols * xs) @ kq) / (xs * ks) + bias, cols = im2col."""
    kh, kw = layer.kernel_size if len(layer.kernel_size) == 2 else (1,) + layer.kernel_size
    xx = x if x.ndim == 4 else x[:, None]
    k4 = kq.reshape((kh, kw) + kq.shape[-2:])
    y4 = layer.compute_output_shape(x.shape)
    out_hw = (y4[1], y4[2]) if x.ndim == 4 else (1, y4[1])
    strides = tuple(layer.strides) if x.ndim == 4 else (1,) + tuple(layer.strides)
    dil = tuple(layer.dilation_rate) if x.ndim == 4 else (1,) + tuple(layer.dilation_rate)
    pads = []
    for n, k, s, d, o in zip(xx.shape[1:3], (kh, kw), strides, dil, out_hw):
        total = max((o - 1) * s + d * (k - 1) + 1 - n, 0)
        pads.append(total // 2 if layer.padding == "same" else 0)
    idx = _gather_index(xx.shape, k4.shape, strides, pads, dil, 1, out_hw)[0]
    cols = np.append(xx.astype(np.float64).ravel(), 0.0)[idx]
    xs = 127.0 / (np.abs(cols.astype(np.float32)).max(axis=1, keepdims=True) + 1e-7)
    xs = xs.astype(np.float32).astype(np.float64)
    y = (np.round(cols * xs) @ k4.reshape(-1, k4.shape[-1]).astype(np.float64)) / (
        xs * ks.astype(np.float64)) + bias
    return y.reshape(y4)


CASES = [
    lambda: (L.Conv2D(8, 3, padding="same", strides=2), (2, 9, 10, 5)),
    lambda: (L.Conv2D(6, 1), (2, 5, 4, 7)),
    lambda: (L.Conv2D(5, (2, 3), dilation_rate=2), (1, 8, 9, 3)),
    lambda: (L.Conv1D(4, 3, padding="same"), (3, 11, 5)),
]


@pytest.mark.parametrize("units", ["int8", "float32_route"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_reference_scheme(case, units, monkeypatch):
    if units == "float32_route":
        monkeypatch.setattr(quantized, "int8_units_available", lambda: False)
    layer, shape = CASES[case]()
    rng = np.random.default_rng(case)
    x = rng.normal(size=shape).astype(np.float32)
    y_float = np.asarray(layer(x))
    layer.bias.assign(rng.normal(size=layer.bias.shape).astype(np.float32))
    layer.quantize("int8")
    assert layer.dtype_policy.name == "int8_from_float32"
    kq, ks = np.asarray(layer.kernel.value), np.asarray(layer.kernel_scale.value)
    assert kq.dtype == np.int8 and ks.shape == (layer.filters,)
    y = np.asarray(layer(x))
    want = _reference(layer, x, kq, ks, np.asarray(layer.bias.value))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    # and close to the float layer: int8 keeps ~2 significant digits
    assert np.max(np.abs(y - np.asarray(layer.bias.value) - y_float)) < \
        0.03 * np.abs(y_float).max()


def test_bias_trains_and_inputs_get_gradients():
    layer = L.Conv2D(4, 3, padding="same")
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 3)).astype(np.float32)
    layer(x)
    layer.quantize("int8")
    assert [w.name for w in layer.trainable_weights] == ["bias"]
    xt = nnfast.ops.convert_to_tensor(x)
    with nnfast.GradientTape() as tape:
        tape.watch(xt)
        loss = nnfast.ops.sum(layer(xt))
    gx, gb = tape.gradient(loss, [xt, layer.bias])
    np.testing.assert_allclose(np.asarray(gb), np.full(4, 72.0))  # 2 images x 36 pixels
    # the input gradient is that of a float conv with the dequantized kernel
    ref = L.Conv2D(4, 3, padding="same", use_bias=False)
    ref.build(x.shape)
    ref.set_weights([np.asarray(layer.kernel.value) / np.asarray(layer.kernel_scale.value)])
    with nnfast.GradientTape() as tape:
        tape.watch(xt)
        loss = nnfast.ops.sum(ref(xt))
    np.testing.assert_allclose(np.asarray(gx), np.asarray(tape.gradient(loss, xt)), rtol=1e-5,
                               atol=1e-5)


def test_quantized_cnn_saves_loads_and_skips_fusions(tmp_path):
    rng = np.random.default_rng(4)
    model = nnfast.Sequential([
        nnfast.Input((12, 12, 3)), L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(8, 1), L.BatchNormalization(), L.ReLU(), L.Flatten(), L.Dense(3)])
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 + (1.0 if "variance"
                       in w.path else 0.0) for w in model.weights])
    x = rng.normal(size=(4, 12, 12, 3)).astype(np.float32)
    y_float = model.predict(x, verbose=0)
    with pytest.warns(UserWarning, match="does not have a `quantize`"):
        model.quantize("int8", filters=".*")  # every conv, whatever its shape
    y = model.predict(x, verbose=0)
    layer_by_layer = x
    for layer in model.layers:
        layer_by_layer = layer(layer_by_layer)
    np.testing.assert_allclose(y, np.asarray(layer_by_layer), rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(y - y_float)) < 0.05 * np.abs(y_float).max()
    path = str(tmp_path / "q.keras")
    model.save(path)
    again = nnfast.models.load_model(path)
    assert again.layers[0].kernel.dtype == "int8"
    np.testing.assert_array_equal(again.predict(x, verbose=0), y)
    functional = nnfast.Model(model.inputs[0], model.outputs[0])  # the inference-fusion plan
    np.testing.assert_allclose(functional.predict(x, verbose=0), y, rtol=1e-5, atol=1e-5)


def test_errors():
    layer = L.Conv2D(4, 3, groups=2)
    layer.build((None, 8, 8, 4))
    with pytest.raises(NotImplementedError, match="groups"):
        layer.quantize("int8")
    with pytest.raises(ValueError, match="not built"):
        L.Conv2D(4, 3).quantize("int8")
    with pytest.raises(NotImplementedError, match="does not have a `quantize`"):
        L.Conv3D(2, 1).quantize("int8")


def test_int8_chain_with_residual_in_the_inference_plan(monkeypatch):
    from nnfast.ops import quantized_conv

    chains = []
    real = quantized_conv.Int8ConvInference.__call__  # (the plan's bound int8_conv_inference)
    monkeypatch.setattr(quantized_conv.Int8ConvInference, "__call__",
                        lambda *a, **k: chains.append(1) or real(*a, **k))
    rng = np.random.default_rng(5)
    inp = nnfast.Input((7, 7, 8))
    a = L.Conv2D(8, 3, padding="same", use_bias=False)(inp)
    a = L.BatchNormalization()(a)
    out = L.ReLU(max_value=6.0)(L.Add()([a, inp]))
    model = nnfast.Model(inp, out)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 + (1.0 if "variance"
                       in w.path else 0.0) for w in model.weights])
    x = rng.normal(size=(3, 7, 7, 8)).astype(np.float32)
    model.predict(x, verbose=0)  # plans made before quantize are replaced
    model.quantize("int8", filters=".*")  # every conv, whatever its shape
    y = model.predict(x, verbose=0)
    ref = x
    conv, bn, add, relu = (l for l in model.layers if not isinstance(l, L.InputLayer))
    assert chains == [1]  # conv, normalization, sum and relu6 ran as one int8 call
    ref = relu(add([bn(conv(x), training=False), x]))
    np.testing.assert_allclose(y, np.asarray(ref), rtol=1e-5, atol=1e-5)


def test_layer_quantized_inside_a_planned_model():
    """layer.quantize on a conv of a model whose fused plans exist (not model.quantize): the
    fused conv+pool and depthwise+pointwise calls notice and run the int8 layer."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 10, 10, 3)).astype(np.float32)  # 3x3x3: the fused conv+pool
    for functional in (False, True):
        layers = [L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2),
                  L.DepthwiseConv2D(3, padding="same"), L.Conv2D(6, 1)]
        model = nnfast.Sequential([nnfast.Input((10, 10, 3))] + layers)
        if functional:
            model = nnfast.Model(model.inputs[0], model.outputs[0])
        model.predict(x, verbose=0)  # plans made with float layers
        layers[0].quantize("int8")
        layers[3].quantize("int8")
        y = model.predict(x, verbose=0)
        ref = x
        for layer in layers:
            ref = layer(ref)
        np.testing.assert_allclose(y, np.asarray(ref), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,kernel,strides,pads,dilation", [
    ((2, 9, 10, 5), (3, 3), (2, 2), (1, 1), (1, 1)),   # stride 2, 'same'-like pads
    ((1, 7, 6, 13), (1, 1), (1, 1), (0, 0), (1, 1)),   # pointwise: rows are the pixels
    ((2, 8, 9, 3), (2, 3), (1, 2), (0, 1), (2, 1)),    # dilation, asymmetric kernel
])
def test_int8_conv2d_forward_equals_int8_dense_on_im2col(shape, kernel, strides, pads,
                                                         dilation):
    """The C++ conv (windows quantized straight from the input, residual and relu6 in the
    epilogue) gives int8_dense's numbers on the float im2col matrix, on every int8 variant
    (within the two roundings of its reciprocal multiplies)."""
    from nnfast import _core
    from nnfast.ops import quantized_conv

    rng = np.random.default_rng(11)
    x = rng.normal(size=shape).astype(np.float32)
    out_c = 37  # a column tail past the 32-column tiles
    kq = rng.integers(-127, 128, kernel + (shape[3], out_c)).astype(np.int8)
    ks = rng.uniform(50, 100, out_c).astype(np.float32)
    bias = rng.normal(size=out_c).astype(np.float32)
    oh = (shape[1] + 2 * pads[0] - dilation[0] * (kernel[0] - 1) - 1) // strides[0] + 1
    ow = (shape[2] + 2 * pads[1] - dilation[1] * (kernel[1] - 1) - 1) // strides[1] + 1
    residual = rng.normal(size=(shape[0], oh, ow, out_c)).astype(np.float32)
    xp = np.pad(x, ((0, 0), (pads[0], pads[0]), (pads[1], pads[1]), (0, 0)))
    cols = np.asarray(quantized_conv.int8_conv_patches(xp, kernel, strides, "valid", dilation))
    packed = quantized.pack_int8_kernel(kq.reshape(-1, out_c))
    for variant in _core.gemm_int8_variants():
        want = np.empty((cols.shape[0] * oh * ow, out_c), np.float32)
        _core.int8_dense(np.ascontiguousarray(cols.reshape(-1, cols.shape[-1])), packed, ks,
                         bias, want, 1e-7, variant)
        want = np.clip(want.reshape(residual.shape) + residual, 0.0, 6.0)
        got = np.empty_like(residual)
        _core.int8_conv2d_forward(x, packed, ks, bias, got, kernel, strides, pads, dilation,
                                  13, residual=residual, variant=variant)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="packed kernel"):
        _core.int8_conv2d_forward(x, packed, ks, bias, got, (5, 5), strides, pads, dilation)
    with pytest.raises(ValueError, match="residual"):
        _core.int8_conv2d_forward(x, packed, ks, bias, got, kernel, strides, pads, dilation,
                                  residual=residual[..., :5])


@pytest.mark.parametrize("units", [True, False], ids=["int8-units", "float32-route"])
def test_bound_int8_conv_is_the_function_on_every_shape_it_sees(units, monkeypatch):
    """``Int8ConvInference`` (what a plan keeps per quantized conv chain), bound once and
    called on several shapes (each twice: geometry remembered per shape), with and without a
    residual and the channel maxima: the bits of the C++ call given ``kernel_scale / scale``
    (int8 units), or of the float32 route computed by hand."""
    from nnfast import _core
    from nnfast.ops import quantized_conv

    if not units:
        monkeypatch.setattr(quantized, "int8_units_available", lambda: False)
    rng = np.random.default_rng(8)
    kq, ks = quantized_conv.quantize_conv_kernel(rng.normal(size=(3, 3, 5, 7)))
    bias = rng.normal(size=7).astype(np.float32)
    scale = rng.uniform(0.5, 2, 7).astype(np.float32)
    packed = quantized.pack_int8_kernel(kq.reshape(-1, 7))
    for absmax in (False, True):
        conv = quantized_conv.Int8ConvInference(
            kq, ks, packed, bias, scale, (2, 2), "same", (1, 1), "relu", 0.0, 6.0, 0.0,
            ((1, 0), (0, 1)), absmax)
        for b, h, w in [(1, 9, 8), (2, 6, 11), (1, 9, 8)]:
            x = rng.normal(size=(b, h, w, 5)).astype(np.float32)
            oh, ow = -(-(h + 1) // 2), -(-(w + 1) // 2)
            ph, pw = (max((oh - 1) * 2 + 3 - h - 1, 0) // 2,
                      max((ow - 1) * 2 + 3 - w - 1, 0) // 2)  # ("same" on the padded input)
            for residual in (None, rng.normal(size=(b, oh, ow, 7)).astype(np.float32)):
                if units and quantized.int8_units_available():
                    want = np.empty((b, oh, ow, 7), np.float32)
                    stats = np.zeros((b, 7), np.int32)
                    _core.int8_conv2d_forward(
                        x, packed, ks / scale, bias, want, (3, 3), (2, 2), (ph + 1, pw),
                        (1, 1), nnfast.ops.nn.ACTIVATION_IDS["relu"], 0.0, 6.0, 0.0, residual,
                        nnfast.backend.epsilon(), channel_absmax=stats)
                else:
                    xp = np.pad(x, ((0, 0), (1, 0), (0, 1), (0, 0)))
                    y = np.asarray(quantized_conv.int8_conv(xp, kq, ks / scale, (2, 2), "same"))
                    y = y + bias
                    if residual is not None:
                        y += residual
                    want, stats = np.clip(y, 0, 6).astype(np.float32), None
                for _ in range(2):
                    got = conv(x, residual)
                    assert np.array_equal(np.asarray(got), want), (b, h, w, residual is None)
                    if absmax and stats is not None:
                        assert np.array_equal(got.channel_absmax, stats)
