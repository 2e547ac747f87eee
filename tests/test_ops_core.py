"""Core ops (control flow, custom_gradient, slicing/scatter, segment ops, top-k, special
functions, FFT/STFT): values against float64 NumPy/SciPy or Keras 3.15 fixtures
(fixtures/ops_core/make_core_ops.py), gradients against finite differences."""
import os

import nnfast
import numpy as np
import pytest
import scipy.special
from conftest import check_grads
from nnfast import ops

rng = np.random.default_rng(0)
FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "ops_core", "core_ops.npz"))


def r(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def fixture(name):
    if name in FIX:
        return FIX[name]
    return tuple(FIX[f"{name}__{i}"] for i in range(2))


def assert_matches(got, name, rtol=1e-4, atol=1e-5):
    expected = fixture(name)
    got = got if isinstance(expected, tuple) else (got,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for g, e in zip(got, expected):
        g = np.asarray(g)
        assert g.dtype == e.dtype, f"{name}: dtype {g.dtype}, Keras {e.dtype}"
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=name)


def cat(pair):
    """(real, imag) -> one tensor, so check_grads sees both parts."""
    return ops.concatenate([pair[0], pair[1]], axis=-1)


# --- against Keras 3.15 -----------------------------------------------------------------------

STFT_CASES = {
    "hann_center": dict(sequence_length=8, sequence_stride=4, fft_length=16),
    "hamming_nocenter": dict(sequence_length=10, sequence_stride=3, fft_length=10,
                             window="hamming", center=False),
    "none_center": dict(sequence_length=6, sequence_stride=2, fft_length=9, window=None),
    "array_window": dict(sequence_length=5, sequence_stride=5, fft_length=8,
                         window=np.linspace(0.5, 1.0, 5).astype("float32")),
}


@pytest.mark.parametrize("case", sorted(STFT_CASES))
def test_stft_istft_match_keras(case):
    kw = STFT_CASES[case]
    assert_matches(ops.stft(FIX["signal"], **kw), f"stft_{case}")
    assert_matches(ops.istft(fixture(f"stft_{case}"), **kw), f"istft_{case}")


def test_istft_length_and_extract_sequences_match_keras():
    assert_matches(ops.istft(ops.stft(FIX["signal"], 8, 4, 16), 8, 4, 16, length=30),
                   "istft_length")
    assert_matches(ops.extract_sequences(FIX["signal"], 7, 3), "extract_sequences")


@pytest.mark.parametrize("kind", ["sum", "max", "min", "prod"])
def test_segment_ops_match_keras(kind):
    fn = getattr(ops, f"segment_{kind}")
    data, ids = FIX["seg_data"], FIX["seg_ids"]
    assert_matches(fn(data, ids), f"segment_{kind}")             # -1 ids dropped
    assert_matches(fn(data, ids, num_segments=6), f"segment_{kind}_n6")  # empty segments


def test_segment_sorted_and_int():
    assert_matches(ops.segment_sum(FIX["seg_data"], FIX["seg_sorted_ids"], sorted=True),
                   "segment_sum_sorted")
    assert_matches(ops.segment_max(np.arange(7, dtype="int32"), FIX["seg_ids"], num_segments=5),
                   "segment_max_int")
    with pytest.raises(ValueError, match="sorted"):
        ops.segment_sum(FIX["seg_data"], FIX["seg_ids"], sorted=True)
    with pytest.raises(ValueError, match="segment_ids"):
        ops.segment_sum(FIX["seg_data"], np.array([0, 1]))


def test_scatter_and_scatter_update_match_keras():
    assert_matches(ops.scatter(np.array([[0, 1], [2, 2], [0, 1]]),
                               np.array([1.0, 2.0, 3.0], "float32"), (3, 4)), "scatter_dup")
    assert_matches(ops.scatter(np.array([[1], [1]]), np.ones((2, 4), "float32"), (3, 4)),
                   "scatter_rows")
    base, idx = FIX["su_base"], np.array([[0, 1], [3, 2], [0, 1]])
    assert_matches(ops.scatter_update(base, idx, np.array([5.0, 6.0, 7.0], "float32")),
                   "su_none")  # the last duplicate wins
    for red in ("add", "max", "min", "mul"):
        assert_matches(ops.scatter_update(base, idx, np.array([5.0, -6.0, 0.5], "float32"),
                                          reduction=red), f"su_{red}")
    assert_matches(ops.scatter_update(base, np.array([[2]]), np.ones((1, 3), "float32")),
                   "su_rows")
    with pytest.raises(ValueError, match="out of range"):
        ops.scatter_update(base, np.array([[4, 0]]), np.ones(1, "float32"))
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(base, idx, np.ones(3, "float32"), reduction="avg")


def test_top_k_and_in_top_k_match_keras():
    assert_matches(ops.top_k(FIX["topk_in"], 3), "topk")   # ties: lower index first
    assert_matches(ops.in_top_k(np.array([4, 3]), FIX["topk_in"], 2), "in_top_k")
    assert_matches(ops.in_top_k(np.array([0, 1]), np.array([[np.nan, 1.0], [0.0, np.inf]],
                                                           "float32"), 1), "in_top_k_nan")


def test_top_k_selection_path_keeps_tf_tie_order():
    x = rng.integers(0, 20, size=(4, 500)).astype(np.float32)   # many ties
    values, indices = ops.top_k(x, 7)
    ref = np.argsort(-x, axis=-1, kind="stable")[:, :7]
    np.testing.assert_array_equal(np.asarray(indices), ref)
    np.testing.assert_array_equal(np.asarray(values), np.take_along_axis(x, ref, axis=-1))
    x[0, 3] = np.nan   # NaN rows take the sorting path
    assert ops.top_k(x, 2)[0].shape == (4, 2)


def test_saturate_cast():
    assert_matches(ops.saturate_cast(np.array([-1.0, 256.0, 3.7, 254.9], "float32"), "uint8"),
                   "saturate_uint8")
    assert_matches(ops.saturate_cast(np.array([-3e9, 3e9, 7.5], "float32"), "int16"),
                   "saturate_int16")
    assert_matches(ops.saturate_cast(np.array([-300, 5, 300], "int32"), "int8"),
                   "saturate_int8_from_int32")
    # float32 -> int32 saturates at the largest float32 below 2**31 (Keras 3.15 wraps here).
    got = np.asarray(ops.saturate_cast(np.array([-3e9, 3e9, 7.5], "float32"), "int32"))
    np.testing.assert_array_equal(got, [-2**31, 2**31 - 128, 7])


def test_rearrange_assoc_scan_erf_match_keras():
    assert_matches(ops.rearrange(np.arange(48).reshape(2, 4, 6),
                                 "b (h1 h) (w w1) -> (b h1) w (h w1)", h1=2, w1=3), "rearrange")
    x = FIX["erf_in"]
    assert_matches(ops.erf(x), "erf", rtol=1e-6)
    assert_matches(ops.erfc(x), "erfc", rtol=1e-5)
    assert_matches(ops.erfinv(np.array([-0.999, -0.5, 0.0, 0.2, 0.99999], "float32")), "erfinv")


# --- values against NumPy / SciPy -------------------------------------------------------------


def test_special_functions_against_scipy():
    x = np.linspace(-7, 7, 2001)
    np.testing.assert_allclose(np.asarray(ops.erf(x)), scipy.special.erf(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(ops.erfc(x)), scipy.special.erfc(x), rtol=1e-5,
                               atol=1e-30)
    y = np.concatenate([np.linspace(-0.9999, 0.9999, 2001), [-1.0, 1.0, 1.5, np.nan]])
    got = np.asarray(ops.erfinv(y.astype(np.float32)))
    np.testing.assert_allclose(got, scipy.special.erfinv(y.astype(np.float32).astype(np.float64)),
                               rtol=1e-5, atol=1e-6)
    assert ops.erf(np.array([1, 2])).dtype == np.float32             # ints become floats
    np.testing.assert_allclose(np.asarray(ops.rsqrt(np.array([4, 16]))), [0.5, 0.25])
    a = r(3, 4, 4) + 4 * np.eye(4, dtype=np.float32)
    np.testing.assert_allclose(np.asarray(ops.logdet(a)),
                               np.linalg.slogdet(a.astype(np.float64))[1], rtol=1e-5)
    xs, ys = r(2, 5, 3), r(2, 4, 3)
    ref = np.sqrt(((xs[:, :, None].astype(np.float64) - ys[:, None]) ** 2).sum(-1))
    np.testing.assert_allclose(np.asarray(ops.cdist(xs, ys)), ref, rtol=1e-5)
    x = r(3, 7)
    np.testing.assert_allclose(np.asarray(ops.logsumexp(x, axis=1)),
                               scipy.special.logsumexp(x.astype(np.float64), axis=1), rtol=1e-6)


def test_fft_family_against_numpy():
    re, im = r(3, 6, 5), r(3, 6, 5)
    c = re.astype(np.float64) + 1j * im
    for fn, ref in ((ops.fft, np.fft.fft(c)), (ops.fft2, np.fft.fft2(c)),
                    (ops.ifft2, np.fft.ifft2(c))):
        got_re, got_im = fn((re, im))
        np.testing.assert_allclose(np.asarray(got_re), ref.real, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(got_im), ref.imag, rtol=1e-4, atol=1e-5)
    x = r(4, 9)
    for n in (None, 6, 12):
        got = ops.rfft(x, n)
        ref = np.fft.rfft(x.astype(np.float64), n)
        np.testing.assert_allclose(np.asarray(got[0]), ref.real, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(got[1]), ref.imag, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(ops.irfft(got, n)),
                                   np.fft.irfft(ref, n), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="real and imaginary"):
        ops.fft((re, im[:, :2]))
    with pytest.raises(ValueError, match="tuple of two"):
        ops.fft(re)


def test_stft_round_trip():
    x = r(2, 64)
    y = ops.istft(ops.stft(x, 16, 4, 16), 16, 4, 16, length=64)
    # Exact where all fft_length / stride windows overlap (TF's inverse window assumes so).
    np.testing.assert_allclose(np.asarray(y)[:, 8:-8], x[:, 8:-8], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="fft_length"):
        ops.stft(x, 16, 4, 8)
    with pytest.raises(ValueError, match="hann"):
        ops.stft(x, 16, 4, 16, window="kaiser")
    with pytest.raises(TypeError, match="float32"):
        ops.stft(np.arange(64), 16, 4, 16)


def test_conversion_and_dtype_helpers():
    t = ops.convert_to_tensor([1.0, 2.0])
    assert ops.is_tensor(t) and not ops.is_tensor(np.ones(2))
    assert ops.dtype(t) == "float32" and ops.dtype(np.arange(3, dtype="int64")) == "int64"
    assert ops.convert_to_tensor([1, 2], dtype="int32").dtype == np.int32
    assert ops.shape(np.zeros((2, 3))) == (2, 3)
    assert isinstance(ops.convert_to_numpy(t), np.ndarray)
    with pytest.raises(NotImplementedError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)
    z = ops.view_as_complex(np.array([[1.0, 2.0], [3.0, 4.0]], "float32"))
    np.testing.assert_array_equal(np.asarray(z), [1 + 2j, 3 + 4j])
    np.testing.assert_array_equal(np.asarray(ops.view_as_real(z)), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="size 2"):
        ops.view_as_complex(np.zeros((2, 3)))


def test_slicing_and_unstack_values():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(ops.slice(x, (1, 0, 1), (1, -1, 2))),
                                  x[1:2, :, 1:3])
    with pytest.raises(ValueError, match="does not fit"):
        ops.slice(x, (1, 0, 3), (1, 1, 2))
    out = ops.slice_update(x, (0, 1, 2), np.ones((2, 2, 2), "float32"))
    ref = x.copy()
    ref[:, 1:3, 2:4] = 1
    np.testing.assert_array_equal(np.asarray(out), ref)
    parts = ops.unstack(x, axis=-1)
    assert len(parts) == 4 and all(np.array_equal(np.asarray(p), x[..., i])
                                   for i, p in enumerate(parts))
    with pytest.raises(ValueError, match="num"):
        ops.unstack(x, num=3, axis=0)


def test_rearrange_shapes_and_errors():
    images = np.zeros((4, 6, 8, 3), "float32")
    assert ops.rearrange(images, "b h w c -> b c h w").shape == (4, 3, 6, 8)
    assert ops.rearrange(images, "b h w c -> h (b w) c").shape == (6, 32, 3)
    assert ops.rearrange(images, "b (h1 h) (w1 w) c -> (b h1 w1) h w c",
                         h1=2, w1=2).shape == (16, 3, 4, 3)
    with pytest.raises(ValueError, match="axes"):
        ops.rearrange(images, "b h w -> b w h")
    with pytest.raises(ValueError, match="divisible"):
        ops.rearrange(images, "b (h1 h) w c -> b h1 h w c", h1=4)


# --- control flow: values and gradients through the recorded ops ---------------------------------


def test_control_flow_values():
    assert float(ops.cond(True, lambda: 1.0, lambda: 2.0)) == 1.0
    assert ops.switch(5, [lambda v: v + 1, lambda v: v - 1], 1.0) == 0.0   # index clipped
    i, s = ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * 2), (0, 1.0))
    assert int(i) == 3 and float(s) == 8.0
    assert int(ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0, maximum_iterations=4)) == 4
    assert float(ops.fori_loop(0, 4, lambda i, v: v + i, 0.0)) == 6.0
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(4.0))
    assert float(carry) == 6.0
    np.testing.assert_array_equal(np.asarray(ys), [0, 0, 2, 9])
    carry, ys = ops.scan(lambda c, x: (c + 1, None), 0.0, length=3)
    assert float(carry) == 3.0 and ys.shape == (3,)
    _, ys = ops.scan(lambda c, x: (c + x, c), 0.0, np.arange(4.0), reverse=True)
    np.testing.assert_array_equal(np.asarray(ys), [6, 5, 3, 0])  # carries seen from the end
    out = ops.map(lambda v: {"a": v * 2}, np.arange(3.0))
    np.testing.assert_array_equal(np.asarray(out["a"]), [0, 2, 4])
    out = ops.vectorized_map(lambda xs: xs[0] + xs[1], [np.arange(3.0), np.ones(3)])
    np.testing.assert_array_equal(np.asarray(out), [1, 2, 3])
    x = r(3, 9)
    for n in (1, 2, 7, 8, 9):
        got = ops.associative_scan(lambda a, b: a + b, x[:, :n], axis=1)
        np.testing.assert_allclose(np.asarray(got), np.cumsum(x[:, :n], axis=1), rtol=1e-5,
                                   atol=1e-6)
    got = ops.associative_scan(lambda a, b: a * b, x[:, :7], reverse=True, axis=1)
    ref = np.cumprod(x[:, :7][:, ::-1], axis=1)[:, ::-1]
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-5, atol=1e-6)
    assert_matches(ops.associative_scan(ops.maximum, FIX["assoc_max_in"], axis=1), "assoc_max")


@pytest.mark.parametrize("name,op,args", [
    ("cond", lambda x: ops.cond(ops.sum(x) > -100, lambda: ops.sin(x) * x, lambda: x), [r(3, 2)]),
    ("switch", lambda x: ops.switch(1, [ops.exp, lambda v: ops.square(v) * 3], x), [r(4)]),
    ("while_loop", lambda x: ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, ops.sin(v) * v),
                                            (0, x))[1], [r(5)]),
    ("fori_loop", lambda x, w: ops.fori_loop(0, 3, lambda i, v: ops.tanh(ops.matmul(v, w)), x),
     [r(2, 3), r(3, 3, scale=0.5)]),
    ("scan", lambda x, h: ops.scan(lambda c, xi: (ops.tanh(c * xi + c), c * 2.0), h, x)[1],
     [r(4, 3), r(3)]),
    ("scan_carry", lambda x, h: ops.scan(lambda c, xi: (ops.tanh(c * xi + c), None), h, x)[0],
     [r(4, 3), r(3)]),
    ("map", lambda x: ops.map(lambda v: ops.sum(ops.square(v)) * v, x), [r(3, 4)]),
    ("vectorized_map", lambda x, y: ops.vectorized_map(lambda p: p[0] * ops.sin(p[1]), [x, y]),
     [r(3, 2), r(3, 2)]),
    ("associative_scan", lambda x: ops.associative_scan(lambda a, b: a * b + b, x, axis=0),
     [r(7, 2)]),
    ("unstack", lambda x: ops.unstack(x, axis=1)[1] * ops.unstack(x, axis=1)[2], [r(3, 4)]),
])
def test_control_flow_grads(name, op, args):
    check_grads(op, *args)


# --- gradients of the other ops ------------------------------------------------------------------

SEG_IDS = np.array([2, 0, 2, -1, 0, 1, 3])  # no empty segment (max/min fill those with ±3.4e38)


@pytest.mark.parametrize("name,op,args", [
    ("segment_sum", lambda d: ops.segment_sum(d, SEG_IDS, num_segments=5), [r(7, 3)]),
    ("segment_max", lambda d: ops.segment_max(d, SEG_IDS), [r(7, 3)]),
    ("segment_min", lambda d: ops.segment_min(d, SEG_IDS), [r(7, 3)]),
    ("segment_prod", lambda d: ops.segment_prod(d, SEG_IDS), [r(7, 3)]),
    ("scatter", lambda v: ops.scatter(np.array([[0, 1], [2, 2], [0, 1]]), v, (3, 4)), [r(3)]),
    ("scatter_update", lambda x, u: ops.scatter_update(x, np.array([[1], [0], [1]]), u),
     [r(3, 4), r(3, 4)]),
    ("scatter_update_add", lambda x, u: ops.scatter_update(x, np.array([[1], [0], [1]]), u, "add"),
     [r(3, 4), r(3, 4)]),
    ("scatter_update_max", lambda x, u: ops.scatter_update(x, np.array([[1], [0], [1]]), u, "max"),
     [r(3, 4), r(3, 4)]),
    ("scatter_update_mul", lambda x, u: ops.scatter_update(x, np.array([[1], [0], [1]]), u, "mul"),
     [r(3, 4), r(3, 4)]),
    ("slice", lambda x: ops.slice(x, (1, 0), (2, 3)), [r(4, 5)]),
    ("slice_update", lambda x, u: ops.slice_update(x, (1, 2), u), [r(4, 5), r(2, 3)]),
    ("top_k", lambda x: ops.top_k(x, 3)[0], [r(4, 6)]),
    ("top_k_long_rows", lambda x: ops.top_k(x, 3)[0], [r(2, 40)]),   # the selection path
    ("logsumexp", lambda x: ops.logsumexp(x, axis=-1, keepdims=True), [r(3, 5)]),
    ("erf", ops.erf, [r(10)]),
    ("erfc", ops.erfc, [r(10)]),
    ("erfinv", ops.erfinv, [np.linspace(-0.9, 0.9, 7)]),
    ("rsqrt", ops.rsqrt, [np.abs(r(6)) + 0.5]),
    ("logdet", ops.logdet, [r(2, 3, 3) + 3 * np.eye(3)]),
    ("cdist", ops.cdist, [r(4, 3), r(5, 3)]),
    ("rearrange", lambda x: ops.rearrange(x, "b (h w) c -> b c (w h)", h=2), [r(2, 6, 3)]),
    ("extract_sequences", lambda x: ops.extract_sequences(x, 4, 3), [r(2, 11)]),
    ("fft", lambda a, b: cat(ops.fft((a, b))), [r(3, 5), r(3, 5)]),
    ("fft2", lambda a, b: cat(ops.fft2((a, b))), [r(3, 4), r(3, 4)]),
    ("ifft2", lambda a, b: cat(ops.ifft2((a, b))), [r(2, 3, 4), r(2, 3, 4)]),
    ("rfft", lambda x: cat(ops.rfft(x)), [r(2, 7)]),
    ("rfft_padded", lambda x: cat(ops.rfft(x, 10)), [r(2, 7)]),
    ("rfft_cut", lambda x: cat(ops.rfft(x, 4)), [r(2, 7)]),
    ("irfft_even", lambda a, b: ops.irfft((a, b), 8), [r(2, 5), r(2, 5)]),
    ("irfft_odd", lambda a, b: ops.irfft((a, b), 7), [r(2, 5), r(2, 5)]),
    ("irfft_cut", lambda a, b: ops.irfft((a, b), 4), [r(2, 5), r(2, 5)]),
    ("stft", lambda x: cat(ops.stft(x, 6, 3, 8)), [r(2, 20)]),
    ("istft", lambda a, b: ops.istft((a, b), 6, 3, 8), [r(2, 5, 5), r(2, 5, 5)]),
])
def test_grads(name, op, args):
    check_grads(op, *args)


def test_segment_prod_grad_with_zeros():
    d = r(7, 2)
    d[1, 0] = 0.0          # segment 0 has one zero in column 0
    d[0, 1] = d[2, 1] = 0  # and segment 2 two zeros in column 1
    check_grads(lambda x: ops.segment_prod(x, SEG_IDS), d, eps=1e-4)


# --- gradient plumbing: stop_gradient and custom_gradient -----------------------------------------


def test_stop_gradient():
    x = nnfast.Variable(np.array([1.0, 2.0], "float32"))
    with nnfast.GradientTape() as tape:
        y = ops.sum(ops.stop_gradient(x) * x)
    np.testing.assert_allclose(tape.gradient(y, x), [1.0, 2.0])


def test_custom_gradient_replaces_the_gradient():
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(upstream):
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad

    x = np.array([-2.0, 0.0, 3.0], "float32")
    np.testing.assert_allclose(np.asarray(log1pexp(x)), np.log1p(np.exp(x)), rtol=1e-6)
    check_grads(log1pexp, x)

    @ops.custom_gradient
    def clip_grad_identity(x):  # identity forward, halved gradient: proves grad_fn is used
        return x * 1.0, lambda upstream: upstream * 0.5

    v = nnfast.Variable(x)
    with nnfast.GradientTape() as tape:
        y = ops.sum(clip_grad_identity(v) * 3.0)
    np.testing.assert_allclose(tape.gradient(y, v), [1.5, 1.5, 1.5])


def test_custom_gradient_two_inputs_and_two_outputs():
    @ops.custom_gradient
    def f(a, b):
        def grad(g_sum, g_prod):
            return g_sum + g_prod * b, g_sum + g_prod * a
        return (a + b, a * b), grad

    check_grads(lambda a, b: ops.concatenate(list(f(a, b))), r(3), r(3))


def test_custom_gradient_with_variables():
    w = nnfast.Variable(np.array([2.0, -1.0], "float32"), name="w")

    @ops.custom_gradient
    def scaled(x):
        def grad(upstream, variables=None):
            return upstream * w, [ops.sum(upstream * x, axis=0) * 10.0]  # marked by the 10x
        return x * w, grad

    x = nnfast.Variable(np.array([[1.0, 3.0]], "float32"))
    with nnfast.GradientTape() as tape:
        y = ops.sum(scaled(x))
    gx, gw = tape.gradient(y, [x, w])
    np.testing.assert_allclose(gx, [[2.0, -1.0]])
    np.testing.assert_allclose(gw, [10.0, 30.0])


def test_custom_gradient_keras_docstring_form():
    # Keras's backend-agnostic example: grad(*args, upstream=None), called as grad(upstream).
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad

    check_grads(log1pexp, np.array([-1.0, 0.5, 2.0], "float32"))


def test_custom_gradient_reading_variables_needs_the_variables_form():
    w = nnfast.Variable(np.array([2.0], "float32"), name="w")

    @ops.custom_gradient
    def scaled(x):
        return x * w, lambda upstream: upstream * w

    with nnfast.GradientTape(), pytest.raises(TypeError, match="variables"):
        scaled(nnfast.Variable(np.array([1.0], "float32")))


def test_associative_scan_on_pairs_is_a_linear_recurrence():
    # h_t = a_t * h_{t-1} + b_t as a scan over (a, b) pairs: structure in, structure out.
    a, b = np.abs(r(9, 2)), r(9, 2)

    def combine(left, right):
        return (left[0] * right[0], left[1] * right[0] + right[1])

    got_a, got_h = ops.associative_scan(combine, (a, b))
    h, ref = np.zeros(2), []
    for t in range(9):
        h = a[t] * h + b[t]
        ref.append(h)
    np.testing.assert_allclose(np.asarray(got_h), np.array(ref), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_a), np.cumprod(a, axis=0), rtol=1e-4)
