"""int8 stem (``_core.int8_stem_conv2d_forward``, ``ops.quantized_stem``): each sample quantized
once, against a float64 NumPy model of the scheme and the float32 convolution, bit-identical on
every kernel (AVX512_VNNI, AVX-VNNI, reference) and ISA cap; the stem fused with a depthwise ->
project block (``_core.int8_stem_block_forward``) bit for bit the layers' own calls run band by
band, on every ISA cap, int8 GEMM variant and depthwise kernel; bounds and bad input; and a
model's inference plan taking it."""
import warnings

import numpy as np
import pytest

import nnfast
from int8_depthwise_variants import VARIANTS, depthwise_kernel
from nnfast import _core
from nnfast.models import fusion
from nnfast.ops import quantized_separable
from nnfast.ops.quantized_stem import int8_stem_conv_inference

L = nnfast.layers
INF = float("inf")
RELU6 = nnfast.ops.nn.ACTIVATION_IDS["relu6"]
SWISH = nnfast.ops.nn.ACTIVATION_IDS["swish"]
EPS = 1e-7


def stem_kernels():
    """(isa cap, kernel name) for every stem kernel this CPU runs."""
    out = {}
    for isa in nnfast.config.available_isas():
        with depthwise_kernel(isa, False):
            out.setdefault(_core.int8_stem_kernel_name(), isa)
    return [(isa, name) for name, isa in out.items()]


def conv_geometry(h, w, k, stride, same):
    if same:
        oh, ow = -(-h // stride), -(-w // stride)
        pt = max((oh - 1) * stride + k - h, 0) // 2
        pl = max((ow - 1) * stride + k - w, 0) // 2
        return (oh, ow), (pt, pl)
    return ((h - k) // stride + 1, (w - k) // stride + 1), (0, 0)


def stem_call(x, q, ks, bias, k, stride, same, act=RELU6, stats=False):
    (oh, ow), pads = conv_geometry(x.shape[1], x.shape[2], k, stride, same)
    y = np.empty((x.shape[0], oh, ow, q.shape[3]), np.float32)
    absmax = np.zeros((x.shape[0], q.shape[3]), np.int32) if stats else None
    _core.int8_stem_conv2d_forward(x, q, ks, bias, y, (stride, stride), pads, (1, 1), act, 0.0,
                                   INF, 0.0, EPS, channel_absmax=absmax)
    return (y, absmax) if stats else y


def scheme_reference(x, q, ks, bias, k, stride, same):
    """The scheme in float64 NumPy: per-sample scale, exact integer sums, relu6."""
    (oh, ow), (pt, pl) = conv_geometry(x.shape[1], x.shape[2], k, stride, same)
    amax = np.abs(x).max(axis=(1, 2, 3)).astype(np.float32)
    xs = (np.float32(127) / (amax + np.float32(EPS))).astype(np.float32)
    xq = np.clip(np.rint(x * xs[:, None, None, None]), -127, 127).astype(np.int64)
    b, h, w, c = x.shape
    padded = np.zeros((b, (oh - 1) * stride + k, (ow - 1) * stride + k, c), np.int64)
    hh, ww = min(h, padded.shape[1] - pt), min(w, padded.shape[2] - pl)
    padded[:, pt:pt + hh, pl:pl + ww] = xq[:, :hh, :ww]
    acc = np.zeros((b, oh, ow, q.shape[3]), np.int64)
    for i in range(k):
        for j in range(k):
            win = padded[:, i:i + (oh - 1) * stride + 1:stride, j:j + (ow - 1) * stride + 1:stride]
            acc += np.einsum("bhwc,co->bhwo", win, q[i, j].astype(np.int64))
    mult = (np.float32(1) / xs)[:, None].astype(np.float32) * (np.float32(1) / ks)[None]
    y = acc.astype(np.float64) * mult[:, None, None, :].astype(np.float64) + bias
    return np.clip(y, 0.0, 6.0)


def float_conv(x, kernel, bias, stride, same):
    k = kernel.shape[0]
    (oh, ow), (pt, pl) = conv_geometry(x.shape[1], x.shape[2], k, stride, same)
    b, h, w, c = x.shape
    padded = np.zeros((b, (oh - 1) * stride + k, (ow - 1) * stride + k, c))
    hh, ww = min(h, padded.shape[1] - pt), min(w, padded.shape[2] - pl)
    padded[:, pt:pt + hh, pl:pl + ww] = x[:, :hh, :ww]
    y = np.zeros((b, oh, ow, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            win = padded[:, i:i + (oh - 1) * stride + 1:stride, j:j + (ow - 1) * stride + 1:stride]
            y += np.einsum("bhwc,co->bhwo", win, kernel[i, j].astype(np.float64))
    return np.clip(y + bias, 0.0, 6.0)


# (batch, h, w, in, out, kernel, stride, same): MobileNetV2's stem shape (small), odd sizes,
# channel tails (5, 33: partial 16-lane blocks; 70: a group of four blocks and one more),
# windows of 1-32 values, valid padding with rows/columns left over.
SHAPES = [(2, 23, 19, 3, 32, 3, 2, True), (1, 7, 5, 1, 5, 3, 1, False),
          (3, 9, 11, 2, 33, 2, 2, False), (1, 6, 4, 3, 70, 3, 1, True),
          (2, 5, 8, 8, 16, 2, 1, True), (1, 3, 3, 3, 1, 3, 2, True)]


@pytest.mark.parametrize("shape", SHAPES)
def test_stem_is_the_scheme_on_every_kernel(shape):
    b, h, w, c, o, k, stride, same = shape
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((b, h, w, c)).astype(np.float32) * rng.uniform(0.1, 10, (b, 1, 1, 1))
    x = x.astype(np.float32)
    q = rng.integers(-127, 128, (k, k, c, o), dtype=np.int8)
    ks = rng.uniform(50, 100, o).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    want = scheme_reference(x, q, ks, bias, k, stride, same)
    results = []
    for isa, name in stem_kernels():
        with depthwise_kernel(isa, False):
            assert _core.int8_stem_kernel_name() == name
            y, absmax = stem_call(x, q, ks, bias, k, stride, same, stats=True)
        # fma(acc, mult, bias) rounded once against the float64 value: within float32 rounding
        np.testing.assert_allclose(y, want, rtol=2e-6, atol=2e-6 * np.abs(want).max())
        assert np.array_equal(absmax.view(np.float32), np.abs(y).max(axis=(1, 2)))
        results.append(y)
    for y in results[1:]:
        assert np.array_equal(y, results[0])  # the same bits on every kernel


def test_stem_is_the_float_conv_within_int8_noise():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (2, 33, 31, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 32)).astype(np.float32) * 0.3
    bias = rng.standard_normal(32).astype(np.float32) * 0.1
    from nnfast.ops.quantized_conv import quantize_conv_kernel

    q, ks = quantize_conv_kernel(kernel)
    y = np.asarray(int8_stem_conv_inference(x, q, ks, bias, strides=2, padding="same",
                                            activation="relu6").value)
    want = float_conv(x, kernel, bias, 2, True)
    assert np.abs(y - want).max() < 0.02 * np.abs(want).max()


def test_stem_other_activation_nan_sample_and_threads():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 13, 11, 3)).astype(np.float32)
    x[1, 4, 5, 2] = np.nan
    q = rng.integers(-127, 128, (3, 3, 3, 20), dtype=np.int8)
    ks = rng.uniform(50, 100, 20).astype(np.float32)
    y, absmax = stem_call(x, q, ks, None, 3, 2, True, act=SWISH, stats=True)
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()
    assert (absmax[1] == 0x7fc00000).all()
    assert np.array_equal(absmax[[0, 2]].view(np.float32), np.abs(y[[0, 2]]).max(axis=(1, 2)))
    linear = stem_call(x, q, ks, None, 3, 2, True, act=0)
    np.testing.assert_allclose(y[0], linear[0] / (1 + np.exp(-linear[0].astype(np.float64))),
                               rtol=1e-5, atol=1e-6)
    previous = nnfast.config.get_num_threads() if hasattr(nnfast.config, "get_num_threads") \
        else None
    if previous is not None:
        nnfast.config.set_num_threads(2)
        try:
            assert np.array_equal(stem_call(x, q, ks, None, 3, 2, True, act=SWISH), y,
                                  equal_nan=True)
        finally:
            nnfast.config.set_num_threads(previous)


def test_stem_bad_input_is_refused():
    x = np.zeros((1, 9, 9, 3), np.float32)
    y = np.empty((1, 4, 4, 8), np.float32)
    q = np.zeros((3, 3, 3, 8), np.int8)
    ks = np.ones(8, np.float32)
    with pytest.raises(ValueError, match="kernel must be"):
        _core.int8_stem_conv2d_forward(x, np.zeros((3, 3, 2, 8), np.int8), ks, None, y, (2, 2),
                                       (0, 0), (1, 1))
    with pytest.raises(ValueError, match="kernel_scale"):
        _core.int8_stem_conv2d_forward(x, q, np.ones(7, np.float32), None, y, (2, 2), (0, 0),
                                       (1, 1))
    with pytest.raises(ValueError, match="dilation"):
        _core.int8_stem_conv2d_forward(x, q, ks, None, np.empty((1, 3, 3, 8), np.float32),
                                       (1, 1), (0, 0), (1, 2))
    with pytest.raises(ValueError, match="kh \\* kw \\* in <= 32"):
        int8_stem_conv_inference(np.zeros((1, 9, 9, 4), np.float32),
                                 np.zeros((3, 3, 4, 8), np.int8), ks)
    with pytest.raises(ValueError, match="expected input"):
        int8_stem_conv_inference(np.zeros((1, 9, 9, 2), np.float32), q, ks)


# --- the stem fused with a depthwise -> project block --------------------------------------

def block_operands(rng, b, h, w, c, dm, out):
    x = rng.standard_normal((b, h, w, 3)).astype(np.float32)
    sq = rng.integers(-127, 128, (3, 3, 3, c), dtype=np.int8)
    sks = rng.uniform(50, 100, c).astype(np.float32)
    sbias = rng.standard_normal(c).astype(np.float32)
    dq = rng.integers(-127, 128, (3, 3, c, dm), dtype=np.int8)
    dks = rng.uniform(50, 100, c * dm).astype(np.float32)
    dbias = rng.standard_normal(c * dm).astype(np.float32)
    dscale = rng.uniform(0.5, 2, c * dm).astype(np.float32)
    pq = rng.integers(-127, 128, (c * dm, out), dtype=np.int8)
    pks = rng.uniform(50, 100, out).astype(np.float32)
    pbias = rng.standard_normal(out).astype(np.float32)
    return x, sq, sks, sbias, dq, dks, dbias, dscale, pq, pks, pbias


def block_one_call(x, sq, sks, sbias, dq, dks, dbias, dscale, pq, pks, pbias, variant):
    (sh, sw), spads = conv_geometry(x.shape[1], x.shape[2], 3, 2, True)
    y = np.empty((x.shape[0], sh, sw, pks.shape[0]), np.float32)
    _core.int8_stem_block_forward(
        x, sq, sks, sbias, (2, 2), spads, (sh, sw), RELU6, 0.0, INF, 0.0, dq, dks, dbias,
        dscale, (1, 1), (1, 1), RELU6, 0.0, INF, 0.0, _core.int8_pack_kernel(pq), pks, pbias,
        0, 0.0, INF, 0.0, y, EPS, variant)
    return y


def block_by_bands(x, sq, sks, sbias, dq, dks, dbias, dscale, pq, pks, pbias, variant):
    """The stem's own call, then the depthwise and project calls on each band of its rows as
    their own image (what the one call's per-band depthwise scales mean)."""
    stem = stem_call(x, sq, sks, sbias, 3, 2, True)
    b, h, w, c = stem.shape
    band = _core.int8_inverted_residual_band_rows((h, w), c, (3, 3), (1, 1), (1, 1), h)
    y = np.empty((b, h, w, pks.shape[0]), np.float32)
    packed = _core.int8_pack_kernel(pq)
    for oh0 in range(0, h, band):
        oh1 = min(h, oh0 + band)
        lo, hi = max(0, oh0 - 1), min(h, oh1 + 1)
        mid = np.empty((b, oh1 - oh0, w, dks.shape[0]), np.float32)
        _core.int8_depthwise_conv2d_forward(np.ascontiguousarray(stem[:, lo:hi]), dq, dks, dbias,
                                            mid, (1, 1), (lo - oh0 + 1, 1), (1, 1), RELU6, 0.0,
                                            INF, 0.0, scale=dscale)
        part = np.empty((b, oh1 - oh0, w, pks.shape[0]), np.float32)
        _core.int8_conv2d_forward(mid, packed, pks, pbias, part, (1, 1), (1, 1), (0, 0), (1, 1),
                                  0, 0.0, INF, 0.0, None, EPS, variant=variant)
        y[:, oh0:oh1] = part
    return y, band


# (batch, h, w, stem channels, depth_multiplier, out): one band; several bands of one row
# (400 stem channels at 200 columns are 320 KB a row); channel tails; a depth multiplier.
BLOCKS = [(2, 23, 19, 32, 1, 16), (1, 11, 401, 400, 1, 24), (1, 9, 7, 5, 2, 7)]


@pytest.mark.parametrize("shape", BLOCKS)
def test_stem_block_is_the_layers_by_bands_on_every_isa_and_variant(shape):
    rng = np.random.default_rng(sum(shape))
    args = block_operands(rng, *shape)
    seen = set()
    for isa, vnni, kernel in VARIANTS:
        with depthwise_kernel(isa, vnni):
            seen.add(_core.int8_stem_kernel_name())
            for variant in _core.gemm_int8_variants():
                want, band = block_by_bands(*args, variant)
                got = block_one_call(*args, variant)
                assert np.array_equal(got, want), (kernel, variant, band)
    assert seen == {name for _, name in stem_kernels()}
    if shape[3] == 400:
        assert band < want.shape[1]  # several bands were compared


def test_stem_block_nan_sample_and_bad_shapes():
    rng = np.random.default_rng(4)
    args = list(block_operands(rng, *BLOCKS[0]))
    args[0][1, 3, 3, 1] = np.inf
    got = block_one_call(*args, "best")
    assert np.isfinite(got[0]).all() and np.isnan(got[1]).all()
    with pytest.raises(ValueError, match="depthwise kernel"):
        block_one_call(args[0], *args[1:4], args[4][:, :, :5], *args[5:], "best")
    with pytest.raises(ValueError, match="project kernel is"):
        block_one_call(*args[:8], args[8][:7], *args[9:], "best")
    with pytest.raises(ValueError, match="stem kernel"):
        block_one_call(args[0][..., :2], *args[1:], "best")


def test_stem_block_checks_the_depthwise_step_as_a_convolution():
    """The depthwise step's geometry (over the stem's output grid) is checked as any
    convolution's: a zero stride is refused, not run."""
    rng = np.random.default_rng(5)
    x, sq, sks, sbias, dq, dks, dbias, dscale, pq, pks, pbias = block_operands(rng, *BLOCKS[0])
    (sh, sw), spads = conv_geometry(x.shape[1], x.shape[2], 3, 2, True)
    y = np.empty((x.shape[0], sh, sw, pks.shape[0]), np.float32)
    for strides in [(0, 1), (1, 0)]:
        with pytest.raises(ValueError, match="depthwise step: conv2d: strides must be positive"):
            _core.int8_stem_block_forward(
                x, sq, sks, sbias, (2, 2), spads, (sh, sw), RELU6, 0.0, INF, 0.0, dq, dks,
                dbias, dscale, strides, (1, 1), RELU6, 0.0, INF, 0.0,
                _core.int8_pack_kernel(pq), pks, pbias, 0, 0.0, INF, 0.0, y, EPS, "best")


def stem_block_model():
    inp = nnfast.Input((15, 13, 3))
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    x = L.BatchNormalization()(L.Conv2D(8, 1, use_bias=False)(x))
    return nnfast.Model(inp, x)


def test_inference_plan_runs_the_stem_block_in_one_call(monkeypatch):
    nnfast.utils.set_random_seed(3)
    model = stem_block_model()
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.standard_normal(n).astype(np.float32) * 0.1)
            layer.moving_variance.assign(rng.uniform(0.5, 2, n).astype(np.float32))
    x = rng.uniform(-1, 1, (3, 15, 13, 3)).astype(np.float32)
    want_float = model.predict_on_batch(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize("int8")  # the default rule: the stem block goes int8
    assert {l.dtype_policy.quantization_mode for l in model.layers
            if isinstance(l, (L.Conv2D, L.DepthwiseConv2D))} == {"int8"}
    got = model.predict_on_batch(x)
    assert np.abs(got - want_float).max() < 0.05 * np.abs(want_float).max()
    if not quantized_separable.int8_separable_available(x):
        return
    steps = model._inference_plan().steps
    assert any(isinstance(s.run, fusion.Int8StemBlockCall) for s in steps)

    def layer_by_layer(self, inputs):
        return self.separable(self.stem(inputs))

    monkeypatch.setattr(fusion.Int8StemBlockCall, "__call__", layer_by_layer)
    # One band here (a small map): the layers' own calls give the same bits.
    assert np.array_equal(got, model.predict_on_batch(x))
