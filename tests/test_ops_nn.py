"""keras.ops.nn on nnfast: values against float64 NumPy formulas and Keras 3.15 (TF backend)
fixtures, gradients against finite differences, and the module layout (every name of the
Keras list under ``nnfast.ops.nn`` and at ``nnfast.ops`` top level, Keras's parameters)."""
import inspect
import os

import numpy as np
import pytest

import nnfast
from nnfast import ops
from conftest import check_grads

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "ops_nn", "keras_ops_nn.npz"))
# The Keras 3.15 name list lives in the shared folder beside the checkout.
API = next((p for p in (os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * up,
                                     "shared", "KERAS3_API.tsv") for up in (2, 3))
            if os.path.exists(p)), "KERAS3_API.tsv")
rng = np.random.default_rng(0)


def r(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def close(got, ref, tol=2e-5):
    got = np.asarray(got)
    assert got.shape == np.shape(ref)
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=tol, atol=tol)


def keras_names(module):
    rows = [line.rstrip("\n").split("\t") for line in open(API)]
    prefix = f"keras.ops.{module}."
    return {n[len(prefix):]: sig for n, kind, sig in rows if n.startswith(prefix)}


@pytest.mark.skipif(not os.path.exists(API), reason="needs ../shared/KERAS3_API.tsv")
@pytest.mark.parametrize("module", ["nn", "linalg", "image"])
def test_every_keras_name_with_keras_parameters(module):
    sub = getattr(ops, module)
    for name, sig in keras_names(module).items():
        fn = getattr(sub, name)
        if module != "image":  # Keras has the nn and linalg names at top level too
            assert getattr(ops, name) is fn, name
        scope = {}
        exec(f"def keras_signature{sig}: pass", scope)  # the list's signatures are Python
        want = list(inspect.signature(scope["keras_signature"]).parameters)
        params = list(inspect.signature(fn).parameters.values())
        got = [p.name for p in params]
        # Keras's parameters first, in order; nnfast's own extras (relu's) must have defaults.
        assert got[:len(want)] == want, (name, got, want)
        assert all(p.default is not p.empty or p.kind == p.VAR_KEYWORD for p in params[len(want):])


def test_submodule_imports_keep_working():
    from nnfast.ops import image, linalg, nn  # noqa: F401
    from nnfast.ops.nn import ACTIVATION_IDS, Dense, softmax  # noqa: F401
    import nnfast.ops.nn as nn_module

    assert nn_module.one_hot is ops.one_hot and image.resize is ops.image.resize
    assert ops.norm is linalg.norm and callable(ops.norm)
    from nnfast.ops.norm import batch_norm_train  # the module stays importable  # noqa: F401


# --- activations: float64 formula and gradient, one line each ---------------------------------
x64 = np.linspace(-3.1, 3.3, 23)
ACTIVATIONS = [
    (ops.log_sigmoid, lambda x: -np.log1p(np.exp(-x))),
    (ops.sparse_plus, lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4))),
    (ops.sparse_sigmoid, lambda x: np.clip((x + 1) / 2, 0, 1)),
    (lambda x: ops.squareplus(x, 3), lambda x: (x + np.sqrt(x * x + 3)) / 2),
    (lambda x: ops.celu(x, 0.7), lambda x: np.maximum(x, 0) + 0.7 * np.expm1(np.minimum(x, 0) / 0.7)),
    (ops.hard_tanh, lambda x: np.clip(x, -1, 1)),
    (ops.soft_shrink, lambda x: np.where(x > .5, x - .5, np.where(x < -.5, x + .5, 0))),
    (lambda x: ops.hard_shrink(x, 0.7), lambda x: np.where(np.abs(x) > .7, x, 0)),
    (ops.tanh_shrink, lambda x: x - np.tanh(x)),
    (lambda x: ops.threshold(x, 0.2, -1.5), lambda x: np.where(x > .2, x, -1.5)),
    (ops.glu, lambda x: x[:11] / (1 + np.exp(-x[11:22]))),
]


@pytest.mark.parametrize("fn,ref", ACTIVATIONS)
def test_activation_values_and_grads(fn, ref):
    x = x64.astype(np.float32)
    if fn is ops.glu:
        x = x[:22]
    close(fn(x), ref(x.astype(np.float64)), 1e-5)
    check_grads(fn, x[None, :] if fn is ops.glu else x)


def test_activation_edge_cases():
    big = np.array([-1000.0, 0.0, 1000.0], np.float32)
    close(ops.log_sigmoid(big), [-1000.0, -np.log(2), 0.0])
    assert ops.celu(np.zeros((0, 3), np.float32)).shape == (0, 3)
    assert ops.hard_tanh(np.float32(2.0)).shape == ()
    assert np.isnan(np.asarray(ops.hard_tanh(np.array([np.nan], np.float32)))).all()
    with pytest.raises(ValueError, match="even"):
        ops.glu(np.ones((2, 3), np.float32))


def test_sparsemax_matches_keras_and_has_a_gradient():
    close(ops.sparsemax(FIX["nn_x"] * 2), FIX["sparsemax"])
    close(ops.sparsemax(np.array([[3.0, 0.5, -2.0]], np.float32)), [[1.0, 0.0, 0.0]])
    check_grads(ops.sparsemax, r(3, 6))
    check_grads(lambda t: ops.sparsemax(t, axis=0), r(5, 2))


@pytest.mark.parametrize("name,call", [
    ("sparse_plus", lambda: ops.sparse_plus(FIX["nn_x"] * 2)),
    ("sparse_sigmoid", lambda: ops.sparse_sigmoid(FIX["nn_x"] * 2)),
    ("squareplus", lambda: ops.squareplus(FIX["nn_x"], 3)),
    ("celu", lambda: ops.celu(FIX["nn_x"], 0.7)),
    ("glu", lambda: ops.glu(FIX["glu_in"])),
    ("threshold", lambda: ops.threshold(FIX["nn_x"], 0.3, -2.0)),
    ("normalize", lambda: ops.normalize(FIX["nn_x"], axis=0, order=1)),
    ("psnr", lambda: ops.psnr(FIX["psnr_a"], FIX["psnr_b"], 1.0)),
    ("multi_hot", lambda: ops.multi_hot(np.array([[1, 3], [0, 0]]), 5)),
    ("one_hot_axis0", lambda: ops.one_hot(np.array([[1, -1], [2, 4]]), 4, axis=0)),
    ("unfold", lambda: ops.unfold(np.transpose(FIX["fold_in"], (0, 3, 1, 2)), (2, 3), 1, 1, 2)),
    ("adaptive_avg", lambda: ops.adaptive_average_pool(FIX["fold_in"], (4, 3))),
    ("adaptive_max", lambda: ops.adaptive_max_pool(FIX["fold_in"], (4, 5))),
    ("depth_to_space", lambda: ops.depth_to_space(FIX["fold_in"], 2)),
    ("space_to_depth", lambda: ops.space_to_depth(FIX["s2d_in"], 2)),
    ("rms_norm", lambda: ops.rms_normalization(FIX["nn_x"], np.linspace(.5, 2, 7, dtype="float32"))),
    ("layer_norm", lambda: ops.layer_normalization(FIX["nn_x"], np.linspace(.5, 2, 7, dtype="float32"),
                                                   np.ones(7, "float32"))),
])
def test_values_match_keras(name, call):
    close(call(), FIX[name], 3e-5)


def test_moments_normalize_rms_psnr_grads():
    x = r(3, 4, 5)
    mean, var = ops.moments(x, axes=[0, 2])
    close(mean, x.astype(np.float64).mean((0, 2)), 1e-5)
    close(var, x.astype(np.float64).var((0, 2)), 1e-5)
    m, v = ops.moments(FIX["fold_in"], axes=(0, 2), keepdims=True)
    close(m, FIX["moments__0"]), close(v, FIX["moments__1"])
    check_grads(lambda t: ops.moments(t, axes=[1])[1], r(3, 4))
    check_grads(lambda t: ops.moments(t, axes=[0, 1])[0], r(3, 4))
    check_grads(lambda t: ops.normalize(t), r(3, 4))
    check_grads(lambda t: ops.normalize(t, axis=0, order=3), r(3, 4))
    close(ops.normalize(np.zeros((2, 3), np.float32)), np.zeros((2, 3)))
    check_grads(lambda t: ops.rms_normalization(t, axis=(0, 1)), r(3, 4))
    check_grads(lambda a, b: ops.psnr(a, b, 2.0), r(2, 3), r(2, 3))
    with pytest.raises(ValueError, match="order"):
        ops.normalize(r(2, 2), order=0)


def test_polar_one_hot_multi_hot():
    z = ops.polar(np.array([2.0, 1.0], np.float32), np.array([0.0, np.pi / 2], np.float32))
    assert z.dtype == np.complex64
    np.testing.assert_allclose(np.asarray(z), [2, 1j], atol=1e-6)
    close(ops.one_hot(np.array([0, 2]), 3), np.eye(3)[[0, 2]])
    assert ops.one_hot(np.array([1]), 3, dtype="int32").dtype == np.int32
    close(ops.multi_hot(np.array([0, 2, 2]), 4), [1, 0, 1, 0])
    with pytest.raises(ValueError, match="num_classes"):
        ops.multi_hot(np.array([1]))
    with pytest.raises(TypeError, match="integer"):
        ops.one_hot(np.array([0.5]), 3)


# --- CTC -------------------------------------------------------------------------------------


def test_ctc_loss_matches_keras_and_gradient():
    args = FIX["ctc_target"], FIX["ctc_logits"], FIX["ctc_tlen"], FIX["ctc_olen"]
    close(ops.ctc_loss(*args), FIX["ctc_loss"], 1e-5)
    close(ops.ctc_loss(np.minimum(args[0], 3), *args[1:], mask_index=4), FIX["ctc_loss_mask4"], 1e-5)
    check_grads(lambda lg: ops.ctc_loss(args[0], lg, args[2], args[3]), args[1], atol=3e-3)
    # Too few frames for the labels: no alignment, infinite loss, zero gradient.
    lg = r(1, 2, 4)
    assert np.isinf(np.asarray(ops.ctc_loss(np.array([[1, 1, 1]]), lg, [3], [2]))).all()
    with pytest.raises(ValueError, match="lengths"):
        ops.ctc_loss(np.array([[1]]), lg, [1], [3])


@pytest.mark.parametrize("name,kwargs", [
    ("ctc_greedy", {}), ("ctc_greedy_nomerge", dict(merge_repeated=False, mask_index=2)),
    ("ctc_beam", dict(strategy="beam_search", beam_width=5, top_paths=2)),
])
def test_ctc_decode_matches_keras(name, kwargs):
    decoded, scores = ops.ctc_decode(FIX["ctc_logits"], FIX["ctc_olen"], **kwargs)
    np.testing.assert_array_equal(np.asarray(decoded), FIX[name + "__0"])
    close(scores, FIX[name + "__1"], 1e-5)


# --- attention -------------------------------------------------------------------------------


def _attention_ref(q, k, v, bias=None, mask=None, scale=None, causal=False, cap=None):
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    if k.shape[2] != q.shape[2]:
        k, v = (np.repeat(a, q.shape[2] // a.shape[2], axis=2) for a in (k, v))
    logits = np.einsum("btnh,bsnh->bnts", q, k) * (scale or 1 / np.sqrt(q.shape[-1]))
    logits = logits + (0 if bias is None else bias)
    if cap:
        logits = cap * np.tanh(logits / cap)
    keep = np.ones(logits.shape, bool) if mask is None else np.broadcast_to(mask, logits.shape)
    if causal:
        keep = keep & np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -1e30)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    return np.einsum("bnts,bsnh->btnh", p / p.sum(-1, keepdims=True), v)


def test_dot_product_attention_matches_keras_and_reference():
    q, k, v, bias, mask = (FIX[n] for n in ("attn_q", "attn_k", "attn_v", "attn_bias", "attn_mask"))
    close(ops.dot_product_attention(q, k, v), FIX["attn_plain"], 1e-5)
    close(ops.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=0.3), FIX["attn_bias_mask"], 1e-5)
    close(ops.dot_product_attention(q, k, v, is_causal=True), FIX["attn_causal"], 1e-5)
    close(ops.dot_product_attention(q, k, v, attn_logits_soft_cap=2.0),
          _attention_ref(q, k, v, cap=2.0), 1e-5)
    kg, vg = r(2, 6, 1, 4), r(2, 6, 1, 4)  # grouped-query: one key/value head
    close(ops.dot_product_attention(q, kg, vg, is_causal=True), _attention_ref(q, kg, vg, causal=True), 1e-5)
    with pytest.raises(ValueError, match="4D"):
        ops.dot_product_attention(q[0], k[0], v[0])


def test_dot_product_attention_gradients():
    q, k, v = r(1, 3, 2, 4), r(1, 5, 2, 4), r(1, 5, 2, 4)
    mask = rng.uniform(size=(1, 1, 3, 5)) > 0.3
    mask[..., 0] = True
    check_grads(lambda a, b, c: ops.dot_product_attention(a, b, c, mask=mask, is_causal=True), q, k, v)
    check_grads(lambda a, bias: ops.dot_product_attention(a, k, v, bias=bias), q, r(1, 2, 3, 5))


# --- rearranging, fold/unfold, adaptive pools, pools and convs with Keras's signatures --------


def test_depth_space_fold_unfold():
    x = r(2, 3, 4, 8)
    close(ops.space_to_depth(ops.depth_to_space(x, 2), 2), x)
    xc = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    close(ops.depth_to_space(xc, 2, data_format="channels_first"),
          np.transpose(np.asarray(ops.depth_to_space(x, 2)), (0, 3, 1, 2)))
    check_grads(lambda t: ops.depth_to_space(t, 2), r(1, 2, 2, 8))
    img = r(2, 3, 5, 6)
    blocks = ops.unfold(img, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    # fold is unfold's adjoint: <unfold(x), y> == <x, fold(y)>.
    y = r(*blocks.shape)
    lhs = float(np.sum(np.asarray(blocks, np.float64) * y))
    rhs = float(np.sum(img * np.asarray(ops.fold(y, (5, 6), (2, 3), (1, 2), 1, (2, 1)), np.float64)))
    assert abs(lhs - rhs) < 1e-3 * max(1, abs(lhs))
    check_grads(lambda t: ops.unfold(t, 2, padding=1, stride=2), r(1, 2, 3, 4))
    check_grads(lambda t: ops.fold(t, (3, 4), 2, padding=1, stride=2), r(1, 8, 6))
    with pytest.raises(ValueError, match="blocks"):
        ops.fold(r(1, 8, 5), (3, 4), 2)


def test_adaptive_pools():
    x = r(2, 7, 5, 3)
    avg = np.asarray(ops.adaptive_average_pool(x, (3, 2)))
    close(avg[:, 1, 0], x[:, 2:5, 0:3].astype(np.float64).mean((1, 2)))
    close(ops.adaptive_max_pool(x, 3)[:, 2, 1], x[:, 4:7, 1:4].max((1, 2)))
    xc = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    close(ops.adaptive_average_pool(xc, (3, 2), data_format="channels_first"),
          np.transpose(avg, (0, 3, 1, 2)))
    close(ops.adaptive_average_pool(r(2, 9, 3)[:, :, :], 4).shape and
          ops.adaptive_average_pool(np.ones((2, 9, 3), np.float32), 4), np.ones((2, 4, 3)))
    check_grads(lambda t: ops.adaptive_average_pool(t, (2, 3)), r(1, 5, 4, 2))
    check_grads(lambda t: ops.adaptive_max_pool(t, (2, 3)), r(1, 5, 4, 2))


def test_pool_and_conv_keras_signatures():
    x = r(2, 6, 6, 3)
    close(ops.nn.max_pool(x, 2, padding="same"), x.reshape(2, 3, 2, 3, 2, 3).max((2, 4)))
    close(ops.nn.average_pool(x, pool_size=(2, 2), strides=(2, 2)),
          x.astype(np.float64).reshape(2, 3, 2, 3, 2, 3).mean((2, 4)), 1e-5)
    dk, pk = r(3, 3, 3, 2), r(1, 1, 6, 4)
    sep = ops.nn.separable_conv(x, dk, pk, strides=1, padding="same")
    dw = ops.nn.depthwise_conv(x, dk, padding="same")
    close(sep, np.asarray(ops.nn.conv(dw, pk)), 1e-4)
    assert ops.nn.conv_transpose(x, r(3, 3, 4, 3), strides=2, padding="same").shape == (2, 12, 12, 4)
    y = ops.nn.batch_normalization(x, np.zeros(3), np.ones(3), axis=-1, epsilon=0.0)
    close(y, x)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_on_any_axis(axis):
    x = r(3, 4, 5)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis, keepdims=True))
    ref = e / e.sum(axis, keepdims=True)
    close(ops.softmax(x, axis=axis), ref, 1e-6)
    close(ops.log_softmax(x, axis=axis), np.log(ref), 1e-5)
    check_grads(lambda t: ops.softmax(t, axis=axis), x)
    check_grads(lambda t: ops.log_softmax(t, axis=axis), x)


def test_softmax_kernels_of_every_isa_against_float64(isa):
    from nnfast import _core

    for rows, cols in [(1, 1), (3, 15), (2, 16), (5, 17), (4, 1000)]:
        x = r(rows, cols, scale=8.0)
        x[0, : cols // 2] = -np.inf if cols > 1 else x[0, 0]  # masked logits give exact zeros
        x[-1, -1] = -3e38
        x64 = x.astype(np.float64)
        e = np.exp(x64 - x64.max(-1, keepdims=True))
        ref = e / e.sum(-1, keepdims=True)
        y, ly = np.empty_like(x), np.empty_like(x)
        _core.softmax_forward(x, y, False)
        _core.softmax_forward(x, ly, True)
        np.testing.assert_allclose(y, ref, rtol=2e-6, atol=1e-7)
        finite = np.isfinite(x)
        lse = x64.max(-1, keepdims=True) + np.log(e.sum(-1, keepdims=True))
        np.testing.assert_allclose(ly[finite], (x64 - lse)[finite], rtol=1e-6, atol=1e-5)
        assert (y[~finite] == 0).all()
        g = r(rows, cols)
        dx = np.empty_like(x)
        _core.softmax_backward(y, g, dx, False)
        np.testing.assert_allclose(dx, ref * (g - (g * ref).sum(-1, keepdims=True)), rtol=1e-5,
                                   atol=1e-6)
        _core.softmax_backward(ly, g, dx, True)
        np.testing.assert_allclose(dx[finite], (g - ref * g.sum(-1, keepdims=True))[finite],
                                   rtol=1e-5, atol=1e-5)
