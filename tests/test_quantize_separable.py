"""int8 depthwise -> pointwise in one call (``_core.int8_depthwise_pointwise_forward``,
``ops.quantized_separable``, the plan's SeparableChainCall on two int8 layers): bit for bit the
two layers' own int8 calls one after the other, on every ISA cap and int8 GEMM variant, odd
shapes, residuals, NaN samples; and a model's inference plan taking it."""
import warnings

import numpy as np
import pytest

import nnfast
from int8_depthwise_variants import VARIANTS, depthwise_kernel
from nnfast import _core
from nnfast.models import fusion
from nnfast.ops import quantized_separable

L = nnfast.layers
ISAS = nnfast.config.available_isas()
INF = float("inf")
RELU6 = nnfast.ops.nn.ACTIVATION_IDS["relu6"]


@pytest.fixture
def cap():
    """Sets the ISA cap for one test and restores the cap it found after."""
    previous = nnfast.config.active_isa()
    yield nnfast.config.set_max_isa
    nnfast.config.set_max_isa(previous)


def operands(rng, b, h, w, c, dm, oc, k, stride):
    x = rng.standard_normal((b, h, w, c)).astype(np.float32)
    dq = rng.integers(-127, 128, (k, k, c, dm), dtype=np.int8)
    dks = rng.uniform(50, 100, c * dm).astype(np.float32)
    dbias = rng.standard_normal(c * dm).astype(np.float32)
    dscale = rng.uniform(0.5, 2, c * dm).astype(np.float32)
    pq = rng.integers(-127, 128, (c * dm, oc), dtype=np.int8)
    pks = rng.uniform(50, 100, oc).astype(np.float32)
    pbias = rng.standard_normal(oc).astype(np.float32)
    pad = (k - 1) // 2
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    return x, dq, dks, dbias, dscale, pq, pks, pbias, (pad, pad), (oh, ow)


def two_calls(x, dq, dks, dbias, dscale, packed, pks, pbias, stride, pads, out_hw, residual,
              pw_act, variant):
    mid = np.empty((x.shape[0],) + out_hw + (dks.shape[0],), np.float32)
    _core.int8_depthwise_conv2d_forward(x, dq, dks, dbias, mid, (stride, stride), pads, (1, 1),
                                        RELU6, 0.0, INF, 0.0, scale=dscale)
    y = np.empty((x.shape[0],) + out_hw + (pks.shape[0],), np.float32)
    _core.int8_conv2d_forward(mid, packed, pks, pbias, y, (1, 1), (1, 1), (0, 0), (1, 1),
                              pw_act, 0.0, INF, 0.0, residual, 1e-7, variant=variant)
    return y


def one_call(x, dq, dks, dbias, dscale, packed, pks, pbias, stride, pads, out_hw, residual,
             pw_act, variant):
    y = np.empty((x.shape[0],) + out_hw + (pks.shape[0],), np.float32)
    _core.int8_depthwise_pointwise_forward(
        x, dq, dks, dbias, dscale, (stride, stride), pads, (1, 1), RELU6, 0.0, INF, 0.0, None,
        packed, pks, pbias, residual, pw_act, 0.0, INF, 0.0, y, 1e-7, variant)
    return y


# (batch, h, w, in, depth_multiplier, out, kernel, stride): channel and pixel tails around
# the GEMM's 32-column tiles and row blocks, depth multipliers, 5x5 kernels, stride 2.
SHAPES = [(2, 7, 9, 5, 1, 11, 3, 1), (1, 14, 13, 96, 1, 24, 3, 2), (3, 5, 6, 4, 2, 33, 3, 1),
          (2, 13, 11, 40, 1, 70, 5, 2), (1, 1, 1, 1, 1, 1, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_one_call_is_the_two_calls_on_every_isa_and_variant(shape):
    rng = np.random.default_rng(sum(shape))
    x, dq, dks, dbias, dscale, pq, pks, pbias, pads, out_hw = operands(rng, *shape)
    stride = shape[-1]
    packed = _core.int8_pack_kernel(pq)
    residual = rng.standard_normal((shape[0],) + out_hw + (pq.shape[1],)).astype(np.float32)
    x[-1, 0, 0, 0] = np.nan if shape[0] > 1 else x[-1, 0, 0, 0]  # a NaN sample: all NaN
    for isa, vnni, kernel in VARIANTS:
        with depthwise_kernel(isa, vnni):
            for variant in _core.gemm_int8_variants():
                for res, act in ((None, RELU6), (residual, 0)):
                    args = (x, dq, dks, dbias, dscale, packed, pks, pbias, stride, pads, out_hw,
                            res, act, variant)
                    want = two_calls(*args)
                    got = one_call(*args)
                    assert np.array_equal(got, want, equal_nan=True), (kernel, variant,
                                                                       res is None)
                    if shape[0] > 1:
                        assert np.isnan(got[-1]).all() and np.isfinite(got[0]).all()


def test_bad_shapes_are_refused():
    rng = np.random.default_rng(0)
    x, dq, dks, _, _, pq, pks, _, pads, out_hw = operands(rng, 1, 6, 6, 4, 1, 8, 3, 1)
    packed = _core.int8_pack_kernel(pq)
    y = np.empty((1,) + out_hw + (9,), np.float32)
    with pytest.raises(ValueError, match="packed pointwise kernel is \\(4, 8\\)"):
        _core.int8_depthwise_pointwise_forward(
            x, dq, dks, None, None, (1, 1), pads, (1, 1), 0, 0.0, INF, 0.0, None, packed, pks,
            None, None, 0, 0.0, INF, 0.0, y)
    y = np.empty((1,) + out_hw + (8,), np.float32)
    with pytest.raises(ValueError, match="residual"):
        _core.int8_depthwise_pointwise_forward(
            x, dq, dks, None, None, (1, 1), pads, (1, 1), 0, 0.0, INF, 0.0, None, packed, pks,
            None, np.zeros((1, 2, 2, 8), np.float32), 0, 0.0, INF, 0.0, y)
    with pytest.raises(ValueError, match="kernel_scale"):
        _core.int8_depthwise_pointwise_forward(
            x, dq, dks[:3], None, None, (1, 1), pads, (1, 1), 0, 0.0, INF, 0.0, None, packed,
            pks, None, None, 0, 0.0, INF, 0.0, y)


def block_model(stride, expand=True):
    """A MobileNetV2-like inverted residual block (expand, depthwise, project, residual; without
    the expand conv, a depthwise -> pointwise pair)."""
    inputs = x = nnfast.Input((9, 11, 8))
    if expand:
        x = L.Conv2D(48, 1, use_bias=False)(inputs)
        x = L.BatchNormalization()(x)
        x = L.ReLU(6.0)(x)
    if stride == 2:
        x = L.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = L.DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid",
                          use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(8, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    if stride == 1:
        x = L.Add()([inputs, x])
    return nnfast.Model(inputs, L.GlobalAveragePooling2D()(x) if stride == 2 else x)


@pytest.mark.parametrize("stride", [1, 2])
def test_inference_plan_runs_the_pair_in_one_call(stride, monkeypatch):
    nnfast.utils.set_random_seed(stride)
    model = block_model(stride, expand=False)
    rng = np.random.default_rng(stride)
    for layer in model.layers:  # normalizations with statistics of their own
        if isinstance(layer, L.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.standard_normal(n).astype(np.float32) * 0.1)
            layer.moving_variance.assign(rng.uniform(0.5, 2, n).astype(np.float32))
    x = rng.standard_normal((3, 9, 11, 8)).astype(np.float32)
    want_float = model.predict_on_batch(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize("int8", filters=lambda layer: hasattr(layer, "quantize"))
    calls = []
    real = quantized_separable.int8_separable_inference
    monkeypatch.setattr(quantized_separable, "int8_separable_inference",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    got = model.predict_on_batch(x)
    if not quantized_separable.int8_separable_available(x):
        return  # no int8 units under this cap: the layers' own calls ran
    assert calls and any(isinstance(s.run, fusion.SeparableChainCall)
                         for s in model._inference_plan().steps)
    monkeypatch.setattr(fusion.SeparableChainCall, "_int8", lambda self, inputs, other: self.pw(
        self.dw(inputs) if other is None else [self.dw(inputs), other]))
    assert np.array_equal(got, model.predict_on_batch(x))  # the two layers' own calls
    scale = np.abs(want_float).max()
    assert np.abs(got - want_float).max() < 0.05 * scale  # int8 noise, not a wrong answer


# --- the whole inverted residual block: expand 1x1 -> depthwise -> project 1x1 ---------------

def block_operands(rng, b, h, w, c_in, hidden, dm, out, k, stride, pad):
    x = rng.standard_normal((b, h, w, c_in)).astype(np.float32)
    eq = rng.integers(-127, 128, (c_in, hidden), dtype=np.int8)
    eks = rng.uniform(50, 100, hidden).astype(np.float32)
    ebias = rng.standard_normal(hidden).astype(np.float32)
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    rest = operands(rng, b, h, w, hidden, dm, out, k, stride)[1:8]
    return (x, _core.int8_pack_kernel(eq), eks, ebias) + rest + ((oh, ow),)


def block_one_call(x, expand, eks, ebias, dq, dks, dbias, dscale, pq, pks, pbias, stride, pad,
                   out_hw, residual, variant):
    y = np.empty((x.shape[0],) + out_hw + (pks.shape[0],), np.float32)
    _core.int8_inverted_residual_forward(
        x, expand, eks, ebias, RELU6, 0.0, INF, 0.0, dq, dks, dbias, dscale, (stride, stride),
        (pad, pad), (1, 1), RELU6, 0.0, INF, 0.0, _core.int8_pack_kernel(pq), pks, pbias,
        residual, 0, 0.0, INF, 0.0, y, 1e-7, variant)
    return y


def block_by_bands(x, expand, eks, ebias, dq, dks, dbias, dscale, pq, pks, pbias, stride, pad,
                   out_hw, residual, variant):
    """The three layers' own calls, the depthwise one on each band of rows as its own image
    (what the one call's per-band depthwise scales mean)."""
    b, h, w, _ = x.shape
    hidden = np.empty((b, h, w, eks.shape[0]), np.float32)
    _core.int8_conv2d_forward(x, expand, eks, ebias, hidden, (1, 1), (1, 1), (0, 0), (1, 1),
                              RELU6, 0.0, INF, 0.0, None, 1e-7, variant=variant)
    k = dq.shape[0]
    band = _core.int8_inverted_residual_band_rows((h, w), eks.shape[0], (k, k),
                                                  (stride, stride), (1, 1), out_hw[0])
    y = np.empty((b,) + out_hw + (pks.shape[0],), np.float32)
    for oh0 in range(0, out_hw[0], band):
        oh1 = min(out_hw[0], oh0 + band)
        lo, hi = max(0, oh0 * stride - pad), min(h, (oh1 - 1) * stride - pad + k)
        y[:, oh0:oh1] = two_calls(
            np.ascontiguousarray(hidden[:, lo:hi]), dq, dks, dbias, dscale,
            _core.int8_pack_kernel(pq), pks, pbias, stride, (lo - oh0 * stride + pad, pad),
            (oh1 - oh0, out_hw[1]),
            None if residual is None else np.ascontiguousarray(residual[:, oh0:oh1]), 0,
            variant)
    return y, band


# (batch, h, w, in, hidden, depth_multiplier, out, kernel, stride, pad): one band (small maps),
# several bands of 2-3 rows (1,600 hidden channels of 20 pixels are 125 KB a row), stride 2,
# channel tails around the GEMM tiles and the depthwise kernel's 16 lanes.
BLOCKS = [(2, 9, 11, 8, 48, 1, 8, 3, 1, 1), (1, 8, 7, 5, 37, 1, 13, 3, 2, 1),
          (2, 7, 20, 8, 1600, 1, 24, 3, 1, 1), (1, 9, 20, 6, 1600, 1, 40, 3, 2, 0),
          (1, 5, 4, 3, 10, 2, 7, 3, 1, 1)]


@pytest.mark.parametrize("shape", BLOCKS)
def test_block_is_the_layers_by_bands_on_every_isa_and_variant(shape):
    rng = np.random.default_rng(sum(shape))
    args = block_operands(rng, *shape)
    out_hw, stride, pad = args[-1], shape[-2], shape[-1]
    residual = rng.standard_normal((shape[0],) + out_hw + (shape[6],)).astype(np.float32)
    for isa, vnni, kernel in VARIANTS:
        with depthwise_kernel(isa, vnni):
            for variant in _core.gemm_int8_variants():
                for res in (None, residual):
                    full = args[:-1] + (stride, pad, out_hw, res, variant)
                    want, band = block_by_bands(*full)
                    got = block_one_call(*full)
                    assert np.array_equal(got, want), (kernel, variant, res is None, band)
    if shape[4] == 1600:
        assert band < out_hw[0]  # several bands were compared


def test_block_nan_stays_in_its_band():
    rng = np.random.default_rng(3)
    args = block_operands(rng, *BLOCKS[2])
    x, out_hw = args[0], args[-1]
    x[1, 0, 0, 0] = np.nan
    got = block_one_call(*args[:-1], 1, 1, out_hw, None, "best")
    band = _core.int8_inverted_residual_band_rows((7, 20), 1600, (3, 3), (1, 1), (1, 1), 7)
    assert np.isfinite(got[0]).all() and np.isnan(got[1, :band]).all()
    assert np.isfinite(got[1, band + 1:]).all()  # bands not reading row 0


def test_block_bad_shapes_are_refused():
    rng = np.random.default_rng(0)
    args = block_operands(rng, *BLOCKS[0])
    x = args[0]
    with pytest.raises(ValueError, match="expand kernel takes 8 channels"):
        block_one_call(x[..., :5], *args[1:-1], 1, 1, args[-1], None, "best")
    with pytest.raises(ValueError, match="residual"):
        block_one_call(*args[:-1], 1, 1, args[-1], np.zeros((1, 2, 2, 8), np.float32), "best")
    with pytest.raises(ValueError, match="project kernel is \\(5, 8\\)"):
        _core.int8_inverted_residual_forward(
            x, args[1], args[2], None, 0, 0.0, INF, 0.0, args[4], args[5], None, None, (1, 1),
            (1, 1), (1, 1), 0, 0.0, INF, 0.0, _core.int8_pack_kernel(args[8][:5]), args[9],
            None, None, 0, 0.0, INF, 0.0, np.empty((2, 9, 11, 8), np.float32))


@pytest.mark.parametrize("stride", [1, 2])
def test_inference_plan_runs_the_block_in_one_call(stride, monkeypatch):
    nnfast.utils.set_random_seed(stride)
    model = block_model(stride)
    rng = np.random.default_rng(stride)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.standard_normal(n).astype(np.float32) * 0.1)
            layer.moving_variance.assign(rng.uniform(0.5, 2, n).astype(np.float32))
    x = rng.standard_normal((3, 9, 11, 8)).astype(np.float32)
    want_float = model.predict_on_batch(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize("int8", filters=lambda layer: hasattr(layer, "quantize"))
    got = model.predict_on_batch(x)
    if not quantized_separable.int8_separable_available(x):
        return
    steps = model._inference_plan().steps
    assert any(isinstance(s.run, fusion.InvertedResidualCall) for s in steps)

    def layer_by_layer(self, inputs):
        other = None
        if self.separable.pw.residual:
            inputs, other = inputs
        hidden = self.expand(inputs)
        return self.separable(hidden if other is None else [hidden, other])

    monkeypatch.setattr(fusion.InvertedResidualCall, "__call__", layer_by_layer)
    # One band here (a small map): the layers' own calls give the same bits.
    assert np.array_equal(got, model.predict_on_batch(x))
    assert np.abs(got - want_float).max() < 0.05 * np.abs(want_float).max()


@pytest.mark.parametrize("shape", [BLOCKS[0], BLOCKS[2]])
def test_block_bits_do_not_depend_on_the_thread_count(shape):
    rng = np.random.default_rng(7)
    args = block_operands(rng, *shape)
    full = args[:-1] + (shape[-2], shape[-1], args[-1], None, "best")
    previous = nnfast.config.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            nnfast.config.set_num_threads(threads)
            results.append(block_one_call(*full))
    finally:
        nnfast.config.set_num_threads(previous)
    assert all(np.array_equal(results[0], r) for r in results[1:])


# --- the bound block a plan keeps (quantized_separable.InvertedResidualBlock) ------------------

def test_bound_block_gives_the_one_call_bits_on_every_shape_it_sees():
    """Bound once, called on several input shapes (each twice: the geometry remembered per
    shape), with and without a residual: the bits of the C++ call given the folded kernel
    scales (kernel scale / normalization scale) directly; bad inputs refused on every call."""
    rng = np.random.default_rng(21)
    c_in, hidden, out = 8, 37, 8
    eq = rng.integers(-127, 128, (c_in, hidden), dtype=np.int8)
    eks, escale = rng.uniform(50, 100, hidden).astype(np.float32), \
        rng.uniform(0.5, 2, hidden).astype(np.float32)
    ebias = rng.standard_normal(hidden).astype(np.float32)
    dq = rng.integers(-127, 128, (3, 3, hidden, 1), dtype=np.int8)
    dks, dbias, dscale = (rng.uniform(0.5, 100, hidden).astype(np.float32) for _ in range(3))
    pq = rng.integers(-127, 128, (hidden, out), dtype=np.int8)
    pks, pscale = rng.uniform(50, 100, out).astype(np.float32), \
        rng.uniform(0.5, 2, out).astype(np.float32)
    pbias = rng.standard_normal(out).astype(np.float32)
    expand, project = _core.int8_pack_kernel(eq), _core.int8_pack_kernel(pq)
    relu6 = ("relu", 0.0, 6.0, 0.0)
    block = quantized_separable.InvertedResidualBlock(
        expand, eks, dq, dks, project, pks, ebias, escale, dbias, dscale, pbias, pscale,
        strides=(2, 2), padding="same", dilation_rate=(1, 1), expand_activation=relu6,
        dw_activation=relu6)
    for b, h, w in [(1, 9, 11), (3, 6, 5), (1, 9, 11)]:
        x = rng.standard_normal((b, h, w, c_in)).astype(np.float32)
        out_hw = (-(-h // 2), -(-w // 2))
        pad_h, pad_w = (max((out_hw[0] - 1) * 2 + 3 - h, 0) // 2,
                        max((out_hw[1] - 1) * 2 + 3 - w, 0) // 2)
        for residual in (None, rng.standard_normal((b,) + out_hw + (out,)).astype(np.float32)):
            want = np.empty((b,) + out_hw + (out,), np.float32)
            _core.int8_inverted_residual_forward(
                x, expand, eks / escale, ebias, RELU6, 0.0, INF, 0.0, dq, dks, dbias, dscale,
                (2, 2), (pad_h, pad_w), (1, 1), RELU6, 0.0, INF, 0.0, project, pks / pscale,
                pbias, residual, 0, 0.0, INF, 0.0, want, nnfast.backend.epsilon())
            for _ in range(2):
                got = np.asarray(block(x, residual))
                assert np.array_equal(got, want), (b, h, w, residual is None)
    for _ in range(2):  # (an error is never remembered as a shape's geometry)
        with pytest.raises(ValueError, match="expected a \\(batch, h, w, in\\) input"):
            block(np.zeros((9, 11, c_in), np.float32))
        with pytest.raises(ValueError, match="expand kernel takes 8 channels"):
            block(np.zeros((1, 9, 11, 5), np.float32))
    with nnfast.GradientTape() as tape:
        tape.watch(nnfast.ops.convert_to_tensor(np.zeros((1, 9, 11, c_in), np.float32)))
        with pytest.raises(RuntimeError, match="inference-only"):
            block(np.zeros((1, 9, 11, c_in), np.float32))
    with pytest.raises(ValueError, match="must be int8"):
        quantized_separable.InvertedResidualBlock(expand, eks, dq.astype(np.int16), dks,
                                                  project, pks)
