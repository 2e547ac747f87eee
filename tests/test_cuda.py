"""CUDA kernels (nnfast._core.cuda) against float64 NumPy references on odd shapes, the
DeviceArray round trip and the caching allocator.

Skipped as a whole, with the reason, unless nnfast was built with NNFAST_CUDA=ON and a GPU is
visible (see nnfast.backend.cuda.unavailable_reason). Device-independent checks of the CUDA
build switches live in test_devices.py and run everywhere.
"""
import gc
import math

import numpy as np
import pytest

from nnfast import _core
from nnfast.backend import cuda as nc

if not nc.is_available():
    pytest.skip(nc.unavailable_reason(), allow_module_level=True)

from conv_reference import conv2d as conv2d_ref  # noqa: E402
from conv_reference import pool2d as pool2d_ref  # noqa: E402
from conv_reference import same_pads  # noqa: E402
from test_kernels import REFERENCES  # noqa: E402
from nnfast.ops.nn import ACTIVATION_IDS  # noqa: E402

C = _core.cuda


def dev(x):
    return C.DeviceArray.from_numpy(np.require(x, requirements="C"))  # keeps 0-d arrays 0-d


def rand(rng, *shape, scale=1.0):
    return np.asarray(rng.standard_normal(shape) * scale, dtype=np.float32)


# ---- DeviceArray and the allocator -------------------------------------------------------------


def test_device_info():
    assert C.compiled and C.device_count() >= 1 and C.unavailable_reason() == ""
    name = C.device_name(0)
    assert isinstance(name, str) and name
    info = C.device_info(0)
    assert info["name"] == name and info["total_memory"] > 0 and info["multiprocessors"] > 0
    free, total = C.memory_info()
    assert 0 < free <= total
    with pytest.raises(ValueError, match="outside"):
        C.device_name(C.device_count())


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("shape", [(1,), (7, 33), (3, 1, 5), (0, 4), ()])
def test_device_array_round_trip(dtype, shape):
    rng = np.random.default_rng(1)
    x = np.asarray(rng.standard_normal(shape) * 100).astype(dtype)
    d = dev(x)
    assert d.shape == x.shape and d.dtype == x.dtype and d.size == x.size
    assert d.nbytes == x.nbytes and d.ndim == x.ndim
    back = d.numpy()
    assert back.dtype == x.dtype
    np.testing.assert_array_equal(back, x)


def test_device_array_views_copies_and_errors():
    rng = np.random.default_rng(2)
    x = rand(rng, 6, 10)
    d = C.DeviceArray.from_numpy(x[:, ::2])  # not C-contiguous: copied in order
    np.testing.assert_array_equal(d.numpy(), x[:, ::2])
    r = d.reshape((5, -1))
    assert r.shape == (5, 6)
    np.testing.assert_array_equal(r.numpy(), x[:, ::2].reshape(5, 6))
    z = C.DeviceArray.zeros((3, 4), "int64")
    np.testing.assert_array_equal(z.numpy(), np.zeros((3, 4), np.int64))
    e = C.DeviceArray.empty(7)
    assert e.shape == (7,) and e.dtype == np.float32
    e.copy_from_numpy(np.arange(7, dtype=np.float32))
    np.testing.assert_array_equal(e.numpy(), np.arange(7, dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        e.copy_from_numpy(np.zeros(8, np.float32))
    with pytest.raises(TypeError, match="float32, int32 or int64"):
        C.DeviceArray.from_numpy(np.zeros(3, np.float64))
    with pytest.raises(ValueError, match="cannot reshape"):
        d.reshape((7, 7))
    assert "DeviceArray(shape=(6, 5), dtype=float32)" == repr(d)
    np.testing.assert_array_equal(nc.to_numpy(nc.to_device([[1.0, 2.0]])),
                                  np.array([[1, 2]], np.float32))


def test_allocator_round_size():
    sizes = [1, 511, 512, 513, 1000, 4096, 5000, 123457, 1 << 20, (1 << 20) + 1]
    rounded = [C.allocator_round_size(n) for n in sizes]
    for n, r in zip(sizes, rounded):
        assert r >= n and r % 512 == 0 and r <= max(512, 1.25 * n + 512)
    assert rounded == sorted(rounded)


def test_allocator_reuses_cached_blocks():
    gc.collect()
    C.empty_cache()
    s0 = C.allocator_stats()
    assert s0["bytes_cached"] == 0
    block = C.allocator_round_size(1001 * 4)
    a = C.DeviceArray.empty((1001,))
    s1 = C.allocator_stats()
    assert s1["bytes_in_use"] == s0["bytes_in_use"] + block
    assert s1["device_allocs"] == s0["device_allocs"] + 1
    del a
    s2 = C.allocator_stats()
    assert s2["bytes_in_use"] == s0["bytes_in_use"]
    assert s2["bytes_cached"] == block
    b = C.DeviceArray.empty((1001,))  # same bucket: served from the cache, no cudaMalloc
    s3 = C.allocator_stats()
    assert s3["device_allocs"] == s1["device_allocs"]
    assert s3["cache_hits"] == s2["cache_hits"] + 1
    assert s3["bytes_cached"] == 0 and s3["bytes_in_use"] == s1["bytes_in_use"]
    v = b.reshape((7, 143))  # a view shares the block
    del b
    assert C.allocator_stats()["bytes_in_use"] == s1["bytes_in_use"]
    del v
    C.empty_cache()
    s4 = C.allocator_stats()
    assert s4["bytes_cached"] == 0 and s4["bytes_in_use"] == s0["bytes_in_use"]
    assert s4["device_frees"] == s3["device_frees"] + 1


# ---- GEMM --------------------------------------------------------------------------------------

GEMM_SHAPES = [(1, 1, 1), (1, 7, 33), (7, 1, 129), (33, 129, 7), (129, 257, 33),
               (257, 33, 129), (130, 131, 257), (3, 5, 0)]


@pytest.fixture(params=["nnfast"] + (["cublas"] if C.cublas_available() else []))
def gemm_backend(request):
    C.set_gemm_backend(request.param)
    yield request.param
    C.set_gemm_backend("nnfast")


def _op(x, trans):
    x = x.astype(np.float64)
    return x.T if trans else x


@pytest.mark.parametrize("m,n,k", GEMM_SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False),
                                             (True, True)])
def test_gemm_matches_float64(gemm_backend, m, n, k, trans_a, trans_b):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rand(rng, *((k, m) if trans_a else (m, k)))
    b = rand(rng, *((n, k) if trans_b else (k, n)))
    c = rand(rng, m, n)
    out = dev(c)
    C.gemm(dev(a), dev(b), out, trans_a, trans_b, 0.75, -0.5)
    ref = 0.75 * _op(a, trans_a) @ _op(b, trans_b) - 0.5 * c
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-4 * math.sqrt(max(k, 1)))


def test_gemm_many_tiles(gemm_backend):
    rng = np.random.default_rng(3)
    a, b = rand(rng, 513, 67), rand(rng, 67, 1031)
    out = C.DeviceArray.empty((513, 1031))
    C.gemm(dev(a), dev(b), out)
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh", "gelu", "swish"])
def test_gemm_bias_activation_epilogue(gemm_backend, name):
    rng = np.random.default_rng(4)
    m, n, k = 67, 129, 45
    a, b, bias = rand(rng, m, k), rand(rng, n, k), rand(rng, n)
    out = C.DeviceArray.empty((m, n))
    C.gemm(dev(a), dev(b), out, False, True, bias=dev(bias), activation=ACTIVATION_IDS[name])
    z = a.astype(np.float64) @ b.T.astype(np.float64) + bias
    np.testing.assert_allclose(out.numpy(), REFERENCES[name][0](z), rtol=1e-4, atol=1e-3)


def test_gemm_beta_zero_and_alpha_zero_do_not_read(gemm_backend):
    rng = np.random.default_rng(5)
    a, b = rand(rng, 9, 11), rand(rng, 11, 13)
    out = dev(np.full((9, 13), np.nan, np.float32))  # beta == 0: C is not read
    C.gemm(dev(a), dev(b), out)
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    c, bias = rand(rng, 9, 13), rand(rng, 13)
    out = dev(c)  # alpha == 0: A and B are not read
    C.gemm(dev(np.full_like(a, np.nan)), dev(b), out, alpha=0.0, beta=2.0, bias=dev(bias))
    np.testing.assert_allclose(out.numpy(), 2.0 * c.astype(np.float64) + bias, rtol=1e-6,
                               atol=1e-6)


def test_gemm_rejects_bad_operands():
    rng = np.random.default_rng(6)
    a, b = dev(rand(rng, 4, 5)), dev(rand(rng, 6, 3))
    with pytest.raises(ValueError, match="inner dimensions"):
        C.gemm(a, b, C.DeviceArray.empty((4, 3)))
    b = dev(rand(rng, 5, 3))
    with pytest.raises(ValueError, match=r"gemm c: expected shape \(4, 3\)"):
        C.gemm(a, b, C.DeviceArray.empty((3, 4)))
    with pytest.raises(ValueError, match="gemm bias"):
        C.gemm(a, b, C.DeviceArray.empty((4, 3)), bias=dev(rand(rng, 4)))
    with pytest.raises(TypeError, match="float32"):
        C.gemm(a, C.DeviceArray.zeros((5, 3), "int32"), C.DeviceArray.empty((4, 3)))
    with pytest.raises(ValueError, match="activation"):
        C.gemm(a, b, C.DeviceArray.empty((4, 3)), activation=99)
    with pytest.raises(TypeError):
        C.gemm(np.zeros((4, 5), np.float32), b, C.DeviceArray.empty((4, 3)))
    with pytest.raises(ValueError, match="cublas|nnfast"):
        C.set_gemm_backend("magma")
    if not C.cublas_available():
        with pytest.raises(ValueError, match="cuBLAS"):
            C.set_gemm_backend("cublas")


# ---- activations -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("n", [1, 7, 33, 1031, 70001])
def test_activation_forward_backward(name, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 4).astype(np.float32)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from kinks
    if name in ("relu6", "hard_sigmoid", "hard_silu"):
        x[np.abs(np.abs(x) - 6) < 1e-3] += 0.1
        x[np.abs(np.abs(x) - 3) < 1e-3] += 0.1
    act = ACTIVATION_IDS[name]
    alpha = 1.0 if name == "elu" else 0.0  # Keras's elu default
    y = C.DeviceArray.empty((n,))
    x_dev = dev(x)
    C.activation_forward(act, x_dev, y, alpha)
    fwd, grad = REFERENCES[name]
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y.numpy(), fwd(x64), rtol=2e-5, atol=1e-6)
    dy = rng.standard_normal(n).astype(np.float32)
    dx = C.DeviceArray.empty((n,))
    C.activation_backward(act, x_dev, y, dev(dy), dx, alpha)
    if grad is None:  # mish: central differences of the float64 forward
        h = 1e-5
        expected = dy * (fwd(x64 + h) - fwd(x64 - h)) / (2 * h)
    else:
        expected = dy * grad(x64)
    np.testing.assert_allclose(dx.numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,params", [
    ("relu", (0.1, 6.0, 1.0)), ("relu", (0.0, 2.5, 0.0)), ("leaky_relu", (0.2, math.inf, 0.0)),
    ("elu", (0.7, math.inf, 0.0)), ("gelu_tanh", (0.0, math.inf, 0.0)),
    ("softplus", (0.0, math.inf, 0.0)), ("mish", (0.0, math.inf, 0.0))])
def test_activation_parameters_match_the_cpu_kernels(name, params):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(257) * 4).astype(np.float32)
    x[np.abs(x - params[2]) < 1e-3] += 0.01
    x[np.abs(x - params[1]) < 1e-3] += 0.01
    act = ACTIVATION_IDS[name]
    y_cpu, dx_cpu = np.empty_like(x), np.empty_like(x)
    dy = rng.standard_normal(257).astype(np.float32)
    _core.activation_forward(act, x, y_cpu, *params)
    _core.activation_backward(act, x, y_cpu, dy, dx_cpu, *params)
    y, dx = C.DeviceArray.empty((257,)), C.DeviceArray.empty((257,))
    C.activation_forward(act, dev(x), y, *params)
    C.activation_backward(act, dev(x), y, dev(dy), dx, *params)
    np.testing.assert_allclose(y.numpy(), y_cpu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx.numpy(), dx_cpu, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh", "elu", "selu",
                                  "exponential", "relu6"])
def test_activation_backward_from_output_only(name):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal(1001) * 3).astype(np.float32)
    x[np.abs(x) < 1e-3] = 0.5
    x[np.abs(x - 6) < 1e-3] += 0.1
    act = ACTIVATION_IDS[name]
    alpha = 1.0 if name == "elu" else 0.0
    y = C.DeviceArray.empty((1001,))
    C.activation_forward(act, dev(x), y, alpha)
    dy = rng.standard_normal(1001).astype(np.float32)
    dx = C.DeviceArray.empty((1001,))
    C.activation_backward(act, None, y, dev(dy), dx, alpha)
    np.testing.assert_allclose(dx.numpy(), dy * REFERENCES[name][1](x.astype(np.float64)),
                               rtol=1e-4, atol=1e-5)


def test_activation_errors():
    x = C.DeviceArray.zeros((5,))
    with pytest.raises(ValueError, match="needs its input"):
        C.activation_backward(ACTIVATION_IDS["gelu"], None, x, x, C.DeviceArray.empty((5,)))
    with pytest.raises(ValueError, match="same size"):
        C.activation_forward(1, x, C.DeviceArray.empty((4,)))
    with pytest.raises(ValueError, match="activation id"):
        C.activation_forward(42, x, C.DeviceArray.empty((5,)))
    with pytest.raises(TypeError, match="DeviceArray"):
        C.activation_backward(1, np.zeros(5, np.float32), x, x, C.DeviceArray.empty((5,)))


# ---- softmax, cross-entropy, reductions --------------------------------------------------------


def _log_softmax64(x):
    x = x.astype(np.float64)
    mx = x.max(axis=-1, keepdims=True)
    return x - mx - np.log(np.exp(x - mx).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (129, 257), (3, 1031), (2, 3, 5)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_forward_backward(shape, log):
    rng = np.random.default_rng(sum(shape))
    x = rand(rng, *shape, scale=3.0)
    y = C.DeviceArray.empty(shape)
    C.softmax_forward(dev(x), y, log)
    ls = _log_softmax64(x)
    y_ref = ls if log else np.exp(ls)
    np.testing.assert_allclose(y.numpy(), y_ref, rtol=1e-5, atol=1e-6)
    dy = rand(rng, *shape)
    dx = C.DeviceArray.empty(shape)
    C.softmax_backward(y, dev(dy), dx, log)
    if log:
        dx_ref = dy - np.exp(ls) * dy.sum(axis=-1, keepdims=True)
    else:
        dx_ref = y_ref * (dy - (dy * y_ref).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(dx.numpy(), dx_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 33), (257, 129), (1031, 3), (0, 5), (5, 1),
                                       (3, 2049)])
def test_sum_over_rows_and_cols(rows, cols):
    rng = np.random.default_rng(rows * 7 + cols)
    x = rand(rng, rows, cols)
    x64 = x.astype(np.float64)
    start = rand(rng, cols)
    out = dev(start)
    C.sum_over_rows(dev(x), out, False)
    np.testing.assert_allclose(out.numpy(), x64.sum(axis=0), rtol=1e-5,
                               atol=1e-5 * math.sqrt(rows + 1))
    out = dev(start)
    C.sum_over_rows(dev(x), out, True)
    np.testing.assert_allclose(out.numpy(), start + x64.sum(axis=0), rtol=1e-5,
                               atol=1e-5 * math.sqrt(rows + 1))
    per_row = C.DeviceArray.empty((rows,))
    C.sum_over_cols(dev(x), per_row)
    np.testing.assert_allclose(per_row.numpy(), x64.sum(axis=1), rtol=1e-5,
                               atol=1e-5 * math.sqrt(cols))
    with pytest.raises(ValueError, match="sum_over_rows output"):
        C.sum_over_rows(dev(x), C.DeviceArray.empty((cols + 1,)))


@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 10), (129, 257), (33, 1031)])
@pytest.mark.parametrize("kind", ["labels", "dense"])
def test_softmax_cross_entropy(rows, cols, kind):
    rng = np.random.default_rng(rows + cols)
    z = rand(rng, rows, cols, scale=3.0)
    labels = rng.integers(0, cols, rows).astype(np.int64)
    y = rng.random((rows, cols)).astype(np.float32)  # soft targets that need not sum to one
    if kind == "labels":
        y64 = np.eye(cols)[labels]
        target, lab = None, dev(labels)
    else:
        y64 = y.astype(np.float64)
        target, lab = dev(y), None
    probs, loss = C.DeviceArray.empty((rows, cols)), C.DeviceArray.empty((rows,))
    C.softmax_cross_entropy_forward(dev(z), target, lab, probs, loss)
    ls = _log_softmax64(z)
    np.testing.assert_allclose(probs.numpy(), np.exp(ls), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.numpy(), -(y64 * ls).sum(axis=1), rtol=1e-5, atol=1e-4)
    drow = rand(rng, rows)
    dz = C.DeviceArray.empty((rows, cols))
    C.softmax_cross_entropy_backward(probs, target, lab, dev(drow), dz)
    p = np.exp(ls)
    dz_ref = drow[:, None] * (p * y64.sum(axis=1, keepdims=True) - y64)
    np.testing.assert_allclose(dz.numpy(), dz_ref, rtol=1e-4, atol=1e-5)


def test_cross_entropy_bad_labels_raise_before_writing():
    rng = np.random.default_rng(9)
    z = dev(rand(rng, 4, 10))
    probs, loss = C.DeviceArray.zeros((4, 10)), C.DeviceArray.zeros((4,))
    with pytest.raises(ValueError, match="label 11 at row 1"):
        C.softmax_cross_entropy_forward(z, None, dev(np.array([0, 11, -3, 12], np.int64)),
                                        probs, loss)
    with pytest.raises(ValueError, match="label -1 at row 0"):
        C.softmax_cross_entropy_backward(probs, None, dev(np.array([-1, 0, 1, 2], np.int64)),
                                         loss, C.DeviceArray.zeros((4, 10)))
    np.testing.assert_array_equal(probs.numpy(), 0)
    np.testing.assert_array_equal(loss.numpy(), 0)
    with pytest.raises(ValueError, match="exactly one"):
        C.softmax_cross_entropy_forward(z, None, None, probs, loss)
    with pytest.raises(ValueError, match="labels"):
        C.softmax_cross_entropy_forward(z, None, dev(np.zeros(3, np.int64)), probs, loss)
    with pytest.raises(TypeError, match="int64"):
        C.softmax_cross_entropy_forward(z, None, dev(np.zeros(4, np.int32)), probs, loss)


# ---- optimizers --------------------------------------------------------------------------------

COMMON = {"grad_scale": 0.5, "clip_lo": -0.3, "clip_hi": 0.4, "decay": 0.01}


def _prep(g, common):
    g = g.astype(np.float64) * common.get("grad_scale", 1.0)
    return np.clip(g, common.get("clip_lo", -np.inf), common.get("clip_hi", np.inf))


def _run_steps(update, reference, slots, n=1001, steps=4, seed=10):
    """Runs `steps` device updates and the float64 reference side by side; compares w and
    every slot."""
    rng = np.random.default_rng(seed)
    w = rand(rng, n)
    w_dev = dev(w)
    slots_dev = {k: dev(np.zeros(n, np.float32)) for k in slots}
    w64, slots64 = w.astype(np.float64), {k: np.zeros(n) for k in slots}
    for t in range(1, steps + 1):
        g = rand(rng, n)
        update(w_dev, dev(g), slots_dev, t)
        w64 = reference(w64, g, slots64, t)
    np.testing.assert_allclose(w_dev.numpy(), w64, rtol=1e-5, atol=2e-6)
    for k in slots:
        np.testing.assert_allclose(slots_dev[k].numpy(), slots64[k], rtol=1e-5, atol=2e-6,
                                   err_msg=f"slot {k}")


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("common", [{}, COMMON])
def test_sgd_update(momentum, nesterov, common):
    lr = 0.1

    def update(w, g, s, t):
        C.sgd_update(w, g, s["m"] if momentum else None, lr, momentum, nesterov, **common)

    def reference(w, g, s, t):
        g = _prep(g, common)
        w = w - w * common.get("decay", 0.0)
        if not momentum:
            return w - lr * g
        s["m"] = momentum * s["m"] - lr * g
        return w + (momentum * s["m"] - lr * g if nesterov else s["m"])

    _run_steps(update, reference, ["m"] if momentum else [])


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("common", [{}, COMMON])
def test_adam_update(amsgrad, common):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7

    def update(w, g, s, t):
        C.adam_update(w, g, s["m"], s["v"], s["vh"] if amsgrad else None, lr, b1, b2, eps, t,
                      **common)

    def reference(w, g, s, t):
        g = _prep(g, common)
        s["m"] += (g - s["m"]) * (1 - b1)
        s["v"] += (g * g - s["v"]) * (1 - b2)
        if amsgrad:
            s["vh"] = np.maximum(s["vh"], s["v"])
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - w * common.get("decay", 0.0)
        return w - alpha * s["m"] / (np.sqrt(s["vh"] if amsgrad else s["v"]) + eps)

    _run_steps(update, reference, ["m", "v", "vh"] if amsgrad else ["m", "v"])


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.9, False), (0.0, True),
                                               (0.5, True)])
@pytest.mark.parametrize("common", [{}, COMMON])
def test_rmsprop_update(momentum, centered, common):
    lr, rho, eps = 0.01, 0.8, 1e-7
    slots = ["v"] + (["mom"] if momentum else []) + (["avg"] if centered else [])

    def update(w, g, s, t):
        C.rmsprop_update(w, g, s["v"], s.get("mom"), s.get("avg"), lr, rho, momentum, eps,
                         **common)

    def reference(w, g, s, t):
        g = _prep(g, common)
        s["v"] = rho * s["v"] + (1 - rho) * g * g
        denom = s["v"] + eps
        if centered:
            s["avg"] = rho * s["avg"] + (1 - rho) * g
            denom = s["v"] - s["avg"] ** 2 + eps
        inc = lr * g / np.sqrt(denom)
        w = w - w * common.get("decay", 0.0)
        if momentum:
            s["mom"] = momentum * s["mom"] + inc
            return w - s["mom"]
        return w - inc

    _run_steps(update, reference, slots)


@pytest.mark.parametrize("common", [{}, COMMON])
def test_adagrad_and_lion_updates(common):
    lr, eps = 0.05, 1e-7

    def adagrad(w, g, s, t):
        C.adagrad_update(w, g, s["acc"], lr, eps, **common)

    def adagrad_ref(w, g, s, t):
        g = _prep(g, common)
        s["acc"] = s["acc"] + g * g
        return w - w * common.get("decay", 0.0) - lr * g / np.sqrt(s["acc"] + eps)

    _run_steps(adagrad, adagrad_ref, ["acc"])
    b1, b2 = 0.9, 0.99

    def lion(w, g, s, t):
        C.lion_update(w, g, s["m"], lr, b1, b2, **common)

    def lion_ref(w, g, s, t):
        g = _prep(g, common)
        w = w - w * common.get("decay", 0.0) - lr * np.sign(b1 * s["m"] + (1 - b1) * g)
        s["m"] = b2 * s["m"] + (1 - b2) * g
        return w

    _run_steps(lion, lion_ref, ["m"])


def test_optimizer_errors():
    w, g = C.DeviceArray.zeros((5,)), C.DeviceArray.zeros((5,))
    with pytest.raises(ValueError, match="missing optimizer slot 'momentum'"):
        C.sgd_update(w, g, None, 0.1, 0.9, False)
    with pytest.raises(ValueError, match="same size"):
        C.sgd_update(w, C.DeviceArray.zeros((4,)), None, 0.1, 0.0, False)
    with pytest.raises(ValueError, match="step must be >= 1"):
        C.adam_update(w, g, C.DeviceArray.zeros((5,)), C.DeviceArray.zeros((5,)), None,
                      0.1, 0.9, 0.999, 1e-7, 0)
    with pytest.raises(ValueError, match="clip bounds"):
        C.sgd_update(w, g, None, 0.1, 0.0, False, clip_lo=1.0, clip_hi=-1.0)


# ---- embedding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vocab,dim", [(37, 33), (11, 1), (5, 1031)])
def test_embedding_gather_and_scatter_add(vocab, dim):
    rng = np.random.default_rng(vocab * dim)
    ids = rng.integers(0, vocab, (5, 13)).astype(np.int64)
    ids[0, :4] = 3  # repeated rows must accumulate
    table = rand(rng, vocab, dim)
    out = C.DeviceArray.empty((5, 13, dim))
    C.embedding_forward(dev(table), dev(ids), out)
    np.testing.assert_array_equal(out.numpy(), table[ids])
    grad = rand(rng, 5, 13, dim)
    dtable = C.DeviceArray.zeros((vocab, dim))
    C.embedding_backward(dev(grad), dev(ids), dtable)
    ref = np.zeros((vocab, dim))
    np.add.at(ref, ids.ravel(), grad.reshape(-1, dim).astype(np.float64))
    np.testing.assert_allclose(dtable.numpy(), ref, rtol=1e-5, atol=1e-5)
    # clear_ids: those rows are zeroed first, every other row keeps its old value.
    old = rand(rng, vocab, dim)
    clear = np.array([3, 0, vocab - 1], np.int64)
    dtable = dev(old)
    C.embedding_backward(dev(grad), dev(ids), dtable, dev(clear))
    ref = old.astype(np.float64)
    ref[clear] = 0.0
    np.add.at(ref, ids.ravel(), grad.reshape(-1, dim).astype(np.float64))
    np.testing.assert_allclose(dtable.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_embedding_bad_ids_raise_before_writing():
    rng = np.random.default_rng(11)
    table = dev(rand(rng, 37, 4))
    out = C.DeviceArray.zeros((4, 4))
    with pytest.raises(ValueError, match="index 37 at position 1"):
        C.embedding_forward(table, dev(np.array([1, 37, 2, -1], np.int64)), out)
    np.testing.assert_array_equal(out.numpy(), 0)
    dtable = C.DeviceArray.zeros((37, 4))
    ones = dev(np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="index -1 at position 3"):
        C.embedding_backward(ones, dev(np.array([1, 2, 3, -1], np.int64)), dtable)
    with pytest.raises(ValueError, match="index 40 at position 0"):
        C.embedding_backward(ones, dev(np.array([1, 2, 3, 4], np.int64)), dtable,
                             dev(np.array([40], np.int64)))
    np.testing.assert_array_equal(dtable.numpy(), 0)
    with pytest.raises(ValueError, match="embedding output"):
        C.embedding_forward(table, dev(np.zeros(3, np.int64)), out)
    with pytest.raises(TypeError, match="int64"):
        C.embedding_forward(table, dev(np.zeros(4, np.int32)), out)


# ---- convolution and pooling -------------------------------------------------------------------

CONV_CASES = [
    # batch, in_h, in_w, in_c, kernel_h, kernel_w, out_c, strides, padding, dilation, groups
    (2, 9, 7, 3, 3, 3, 5, (1, 1), "valid", (1, 1), 1),
    (1, 8, 11, 4, 3, 2, 6, (2, 2), "same", (1, 1), 2),
    (3, 7, 7, 5, 3, 3, 7, (1, 2), "same", (2, 2), 1),
    (2, 5, 6, 17, 1, 1, 33, (1, 1), "valid", (1, 1), 1),
    (1, 28, 28, 1, 3, 3, 32, (1, 1), "valid", (1, 1), 1),  # the MNIST CNN's first layer
    (2, 13, 13, 32, 3, 3, 64, (1, 1), "valid", (1, 1), 1),  # and its second (K = 288)
    (1, 6, 6, 6, 5, 5, 3, (1, 1), "same", (1, 1), 3),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_conv2d_forward(case, activation):
    b, h, w, cin, kh, kw, cout, strides, padding, dilation, groups = case
    rng = np.random.default_rng(h * w + cout)
    x = rand(rng, b, h, w, cin)
    k = rand(rng, kh, kw, cin // groups, cout)
    bias = rand(rng, cout)
    ref = conv2d_ref(x, k, strides, padding, dilation, groups, bias)
    if activation == "relu":
        ref = np.maximum(ref, 0.0)
    if padding == "same":
        pads = (same_pads(h, kh, strides[0], dilation[0])[0],
                same_pads(w, kw, strides[1], dilation[1])[0])
    else:
        pads = (0, 0)
    out = C.DeviceArray.empty(ref.shape)
    C.conv2d_forward(dev(x), dev(k), dev(bias), out, strides, pads, dilation, groups,
                     ACTIVATION_IDS[activation])
    depth = kh * kw * cin // groups
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-4 * math.sqrt(depth))


def test_conv2d_scale_and_residual_epilogue():
    # Inference form with a batch normalization folded in and a residual branch:
    # relu(scale * conv + bias + residual), as the CPU kernel.
    rng = np.random.default_rng(13)
    x, k = rand(rng, 2, 9, 8, 6), rand(rng, 3, 3, 6, 10)
    bias, scale = rand(rng, 10), rand(rng, 10)
    pads = (same_pads(9, 3, 1)[0], same_pads(8, 3, 1)[0])
    conv = conv2d_ref(x, k, (1, 1), "same")
    residual = rand(rng, *conv.shape)
    ref = np.maximum(scale * conv + bias + residual, 0.0)
    out = C.DeviceArray.empty(conv.shape)
    C.conv2d_forward(dev(x), dev(k), dev(bias), out, (1, 1), pads, (1, 1), 1,
                     ACTIVATION_IDS["relu"], scale=dev(scale), residual=dev(residual))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="conv residual"):
        C.conv2d_forward(dev(x), dev(k), None, out, (1, 1), pads, (1, 1),
                         residual=dev(rand(rng, 2, 9, 8, 9)))
    with pytest.raises(ValueError, match="must not be dst"):
        C.conv2d_forward(dev(x), dev(k), None, out, (1, 1), pads, (1, 1), residual=out)


def test_conv2d_rejects_bad_shapes():
    rng = np.random.default_rng(12)
    x = dev(rand(rng, 1, 5, 5, 3))
    out = C.DeviceArray.empty((1, 3, 3, 4))
    with pytest.raises(ValueError, match="kernel"):
        C.conv2d_forward(x, dev(rand(rng, 3, 3, 2, 4)), None, out, (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="conv bias"):
        C.conv2d_forward(x, dev(rand(rng, 3, 3, 3, 4)), dev(rand(rng, 3)), out, (1, 1), (0, 0),
                         (1, 1))
    with pytest.raises(ValueError, match="batch"):
        C.conv2d_forward(x, dev(rand(rng, 3, 3, 3, 4)), None, C.DeviceArray.empty((2, 3, 3, 4)),
                         (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="4-D"):
        C.conv2d_forward(C.DeviceArray.empty((5, 5, 3)), dev(rand(rng, 3, 3, 3, 4)), None, out,
                         (1, 1), (0, 0), (1, 1))


def _pool_reference_grads(x, g, pool, strides, pads, out_hw):
    """Float64 argmax (first maximum, row-major window order), and the max / avg input
    gradients, by loops over the output positions (vectorised over batch and channels)."""
    b, h, w, c = x.shape
    oh, ow = out_hw
    argmax = np.zeros((b, oh, ow, c), np.int64)
    dmax, davg = np.zeros(x.shape), np.zeros(x.shape)
    bi, ci = np.meshgrid(np.arange(b), np.arange(c), indexing="ij")
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * strides[0] - pads[0], j * strides[1] - pads[1]
            h0c, h1c = max(h0, 0), min(h0 + pool[0], h)
            w0c, w1c = max(w0, 0), min(w0 + pool[1], w)
            win = x[:, h0c:h1c, w0c:w1c, :].reshape(b, -1, c)
            first = win.argmax(axis=1)  # first occurrence
            ih, iw = h0c + first // (w1c - w0c), w0c + first % (w1c - w0c)
            argmax[:, i, j, :] = ih * w + iw
            np.add.at(dmax, (bi, ih, iw, ci), g[:, i, j, :])
            davg[:, h0c:h1c, w0c:w1c, :] += g[:, i, j, None, None, :] / ((h1c - h0c) * (w1c - w0c))
    return argmax, dmax, davg


POOL_CASES = [((2, 7, 9, 3), (2, 2), (2, 2), "valid"), ((1, 7, 9, 5), (3, 3), (2, 2), "same"),
              ((2, 6, 5, 4), (3, 2), (1, 2), "same"), ((1, 5, 5, 1), (2, 2), (1, 1), "valid"),
              ((3, 28, 28, 33), (2, 2), (2, 2), "valid")]


@pytest.mark.parametrize("shape,pool,strides,padding", POOL_CASES)
def test_max_and_avg_pool(shape, pool, strides, padding):
    rng = np.random.default_rng(sum(shape))
    x = rand(rng, *shape)
    if padding == "same":
        pads = (same_pads(shape[1], pool[0], strides[0])[0],
                same_pads(shape[2], pool[1], strides[1])[0])
    else:
        pads = (0, 0)
    ref_max = pool2d_ref(x, pool, strides, padding, "max")
    ref_avg = pool2d_ref(x, pool, strides, padding, "avg")
    g = rand(rng, *ref_max.shape)
    argmax_ref, dmax_ref, davg_ref = _pool_reference_grads(x.astype(np.float64), g, pool,
                                                           strides, pads, ref_max.shape[1:3])
    xd = dev(x)
    y, am = C.DeviceArray.empty(ref_max.shape), C.DeviceArray.empty(ref_max.shape, "int32")
    C.max_pool2d_forward(xd, y, am, pool, strides, pads)
    np.testing.assert_array_equal(y.numpy(), ref_max.astype(np.float32))
    np.testing.assert_array_equal(am.numpy(), argmax_ref)
    dx = dev(np.full(shape, 7.0, np.float32))  # overwritten, not accumulated into
    C.max_pool2d_backward(dev(g), am, dx, pool, strides, pads)
    np.testing.assert_allclose(dx.numpy(), dmax_ref, rtol=1e-5, atol=1e-6)
    y = C.DeviceArray.empty(ref_avg.shape)
    C.avg_pool2d_forward(xd, y, pool, strides, pads)
    np.testing.assert_allclose(y.numpy(), ref_avg, rtol=1e-5, atol=1e-6)
    dx = dev(np.full(shape, 7.0, np.float32))
    C.avg_pool2d_backward(dev(g), dx, pool, strides, pads)
    np.testing.assert_allclose(dx.numpy(), davg_ref, rtol=1e-5, atol=1e-6)


def test_pool_rejects_bad_shapes():
    x = C.DeviceArray.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="batch and channels"):
        C.max_pool2d_forward(x, C.DeviceArray.empty((1, 2, 2, 3)), None, (2, 2), (2, 2), (0, 0))
    with pytest.raises(TypeError, match="int32"):
        C.max_pool2d_forward(x, C.DeviceArray.empty((1, 2, 2, 2)),
                             C.DeviceArray.empty((1, 2, 2, 2)), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="pool"):
        C.avg_pool2d_forward(x, C.DeviceArray.empty((1, 2, 2, 2)), (0, 2), (2, 2), (0, 0))
