"""The kernel registry (cpp/src/runtime/dispatch.h): which implementation every kernel family
selects under each ISA cap, that an AVX2 cap leaves no scalar kernel on a hot path, the
verbose log, and the AVX2 kernels that filled the former scalar holes against float64."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nnfast
from nnfast import _core, ops
from nnfast.ops import fused
from conv_reference import conv2d as conv2d_reference

ISAS = nnfast.config.available_isas()


@pytest.fixture
def cap():
    """Sets the ISA cap for one test and restores the cap it found (NNFAST_MAX_ISA's) after."""
    previous = nnfast.config.active_isa()
    yield nnfast.config.set_max_isa
    nnfast.config.set_max_isa(previous)


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv_fwd(x, k, strides=(1, 1), pads=(0, 0), activation=0, bias=None):
    kh, kw = k.shape[:2]
    oh = (x.shape[1] + 2 * pads[0] - kh) // strides[0] + 1
    ow = (x.shape[2] + 2 * pads[1] - kw) // strides[1] + 1
    y = np.empty((x.shape[0], oh, ow, k.shape[3]), np.float32)
    _core.conv2d_forward(x, k, bias, y, strides, pads, (1, 1), 1, activation)
    return y


def conv_bwd_data(dy, k, x_shape, strides=(1, 1), pads=(0, 0)):
    dx = np.empty(x_shape, np.float32)
    _core.conv2d_backward_data(dy, k, dx, strides, pads, (1, 1), 1)
    return dx


def conv_bwd_data_reference(dy, k, x_shape, strides, pads):
    """The adjoint of the cross-correlation, in float64: each tap scatters dy @ k[tap]^T."""
    b, h, w, c = x_shape
    kh, kw = k.shape[:2]
    (sh, sw), (ph, pw) = strides, pads
    _, oh, ow, _ = dy.shape
    dxp = np.zeros((b, h + 2 * ph + sh * kh, w + 2 * pw + sw * kw, c))
    dy64, k64 = dy.astype(np.float64), k.astype(np.float64)
    for i in range(kh):
        for j in range(kw):
            dxp[:, i: i + (oh - 1) * sh + 1: sh, j: j + (ow - 1) * sw + 1: sw] += dy64 @ k64[i, j].T
    return dxp[:, ph: ph + h, pw: pw + w]


def separable(x, dw_kernel, pw_kernel):
    return np.asarray(fused.separable_inference(x, dw_kernel, None, None, pw_kernel, None, None,
                                              padding="same"))


def exercise_families():
    """Runs one small call of every kernel family (shapes chosen so each conv registry takes
    its register-tile route where the ISA has one)."""
    rng = np.random.default_rng(0)
    x = f32(rng, 6, 10)
    c = np.empty((6, 6), np.float32)
    _core.gemm(x, f32(rng, 10, 6), c)                                   # gemm
    _core.gemm(x, f32(rng, 10, 6), c, bias=f32(rng, 6), activation=13)  # epilogue (relu6)
    _core.gemm(x, f32(rng, 10, 6), c, precision="bfloat16")             # gemm_bf16
    ops.matmul(f32(rng, 2, 1, 30, 40), f32(rng, 3, 40, 30))             # gemm_small
    _core.gemm_int8(np.ones((3, 8), np.int8), _core.int8_pack_kernel(np.ones((8, 5), np.int8)),
                    np.empty((3, 5), np.int32))                         # gemm_int8
    y = np.empty_like(x)
    _core.layer_norm_forward(x, None, None, 1e-3, y, np.empty(6, np.float32),
                             np.empty(6, np.float32))                   # norm
    _core.softmax_forward(x, y)                                         # softmax
    _core.dropout_apply(x, y, 0.5, 1, 0)                                # dropout
    _core.dropout_forward_mask(x, y, np.empty(8, np.uint8), 0.5, 1, 0)  # dropout_mask
    _core.activation_forward(2, x, y)                                   # activation
    _core.activation_backward(2, None, y, x, np.empty_like(x))          # activation_backward
    _core.relu_backward_from_output(x, x, y)                            # relu_backward
    _core.softmax_cross_entropy_forward(x, None, np.zeros(6, np.int64), y,
                                        np.empty(6, np.float32))        # loss
    _core.sgd_update(x.copy(), x, None, 0.1, 0.0, False)                # optimizer
    img = f32(rng, 2, 9, 7, 16)
    _core.max_pool2d_forward(img, np.empty((2, 4, 3, 16), np.float32), None, (2, 2), (2, 2),
                             (0, 0))                                    # pool
    _core.resize_bilinear_forward(img, np.empty((2, 13, 11, 16), np.float32))  # resize
    indptr, indices, values = _core.csr_from_dense(np.eye(4, 12, dtype=np.float32), 100)
    _core.csr_matmul(indptr, indices, values, f32(rng, 12, 5), np.empty((4, 5), np.float32))
    _core.embedding_forward(f32(rng, 10, 4), np.array([1, 2, 3]), np.empty((3, 4), np.float32))
    _core.take(x, np.array([4, 0]), 0, np.empty((2, 10), np.float32))  # gather
    _core.extract_patches_2d(img, [2, 2], [2, 2], [1, 1], [0, 0],
                             np.empty((2, 4, 3, 64), np.float32))       # extract_patches
    # (These run 2-D convolutions of their own: before the conv2d calls checked below.)
    separable(img, f32(rng, 3, 3, 16, 1), f32(rng, 1, 1, 16, 20))       # depthwise_pointwise
    fused.conv2d_relu_max_pool(f32(rng, 2, 8, 8, 1), f32(rng, 3, 3, 1, 8), None)  # fused pool
    _core.conv3d_forward(f32(rng, 1, 4, 4, 4, 2), f32(rng, 2, 2, 2, 2, 3), None,
                         np.empty((1, 3, 3, 3, 3), np.float32), (1, 1, 1), (0, 0, 0), (1, 1, 1))
    # conv2d: a 3x3 layer with 16 -> 24 channels on a 7-wide output (the AVX2 GEMM's 6-row
    # panels would run 5/12 idle, so AVX2 takes the tile), stride 1, 'same'.
    k = f32(rng, 3, 3, 16, 24)
    dy = conv_fwd(img, k, pads=(1, 1))                                  # conv2d_forward
    conv_bwd_data(dy, k, img.shape, pads=(1, 1))                        # conv2d_backward_data
    _core.conv2d_backward_weights(img, dy, np.empty_like(k), None, (1, 1), (1, 1), (1, 1))
    ops.depthwise_conv(img, f32(rng, 3, 3, 16, 1), 1, "valid")         # depthwise_conv2d
    _core.int8_depthwise_conv2d_forward(img, np.ones((3, 3, 16, 1), np.int8),
                                        np.ones(16, np.float32), None,
                                        np.empty((2, 7, 5, 16), np.float32), (1, 1), (0, 0),
                                        (1, 1))                        # depthwise_int8
    _core.conv_lstm_gates_forward(f32(rng, 3, 8), np.zeros((3, 2), np.float32),
                                  np.empty((3, 2), np.float32), 3, 2)  # conv_lstm_gates
    nnfast.layers.LSTM(3)(f32(rng, 2, 4, 5))                            # rnn
    return _core.selected_kernels()


# What each family selects under each cap (families whose choice depends on optional CPU
# features, gemm_bf16 and gemm_int8, are checked below).
EXPECTED = {
    "gemm": ("f32_gemm_4x8_ref", "f32_gemm_6x16_avx2", "f32_gemm_14x32_avx512"),
    "gemm_small": ("f32_gemm_small_ref", "f32_gemm_small_avx2", "f32_gemm_small_avx512"),
    "epilogue": ("f32_scale_shift_clamp_rows_ref", "f32_scale_shift_clamp_rows_avx2",
                 "f32_scale_shift_clamp_rows_avx512"),
    "norm": ("f32_norm_ref", "f32_norm_avx2", "f32_norm_avx512"),
    "softmax": ("f32_softmax_ref", "f32_softmax_avx2", "f32_softmax_avx512"),
    "dropout": ("f32_dropout_ref", "f32_dropout_avx2", "f32_dropout_avx512"),
    "dropout_mask": ("f32_dropout_mask_ref", "f32_dropout_mask_avx2", "f32_dropout_mask_avx512"),
    "relu_backward": ("f32_relu_bwd_ref", "f32_relu_bwd_avx2", "f32_relu_bwd_avx512"),
    "optimizer": ("f32_optimizer_ref", "f32_optimizer_avx2", "f32_optimizer_avx512"),
    "pool": ("f32_pool_ref", "f32_pool_avx2", "f32_pool_avx512"),
    "resize": ("f32_resize_ref", "f32_resize_avx2", "f32_resize_avx512"),
    "sparse_dense": ("f32_csr_ref", "f32_csr_avx2", "f32_csr_avx512"),
    "conv2d_forward": ("implicit_gemm", "f32_conv_tile_avx2", "f32_conv_tile_avx512"),
    "conv2d_backward_data": ("gather_tiles_gemm", "f32_conv_tile_avx2", "f32_conv_tile_avx512"),
    "conv2d_backward_weights": ("im2col_tiles_gemm",) * 3,
    "depthwise_conv2d": ("f32_depthwise_ref", "f32_depthwise_avx2", "f32_depthwise_avx512"),
    "depthwise_int8": ("s8_depthwise_ref", "s8_depthwise_avx2", "s8_depthwise_avx512"),
    "conv2d_relu_maxpool": ("f32_conv_relu_maxpool_ref", "f32_conv_relu_maxpool_avx2",
                            "f32_conv_relu_maxpool_avx512"),
    "conv3d": ("f32_conv3d_ref", "f32_conv3d_depth2col_conv2d", "f32_conv3d_depth2col_conv2d"),
    "conv_lstm_gates": ("f32_rnn_ref", "f32_rnn_avx2", "f32_rnn_avx512"),
    "rnn": ("f32_rnn_ref", "f32_rnn_avx2", "f32_rnn_avx512"),
    "depthwise_pointwise_forward": ("depthwise_then_pointwise", "f32_conv_tile_avx2",
                                    "f32_conv_tile_avx512"),
    "activation": ("f32_activation_forward_ref", "f32_activation_forward_avx2",
                   "f32_activation_forward_avx512"),
    "activation_backward": ("f32_activation_backward_ref", "f32_activation_backward_avx2",
                            "f32_activation_backward_avx512"),
    "loss": ("f32_loss_ref", "f32_loss_avx2", "f32_loss_avx512"),
    "embedding": ("f32_embedding_ref", "f32_embedding_avx2", "f32_embedding_avx512"),
    "gather": ("gather_rows_ref", "gather_rows_avx2", "gather_rows_avx512"),
    "extract_patches": ("patches_2d_ref", "patches_2d_avx2", "patches_2d_avx512"),
}


@pytest.mark.parametrize("isa", ISAS)
def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].split() for line in f
                         if line.startswith("flags")), [])
    except OSError:
        return []


def test_each_family_selects_the_expected_implementation(isa, cap):
    cap(isa)
    selected = exercise_families()
    level = ["ref", "avx2", "avx512"].index(isa)
    for family, names in EXPECTED.items():
        want = names[level]
        if family == "depthwise_int8" and isa == "avx512" and "avx512_vnni" in _cpu_flags():
            want = "s8_depthwise_avx512vnni"  # vpdpbusd where the CPU has AVX512_VNNI
        assert selected[family] == want, (family, isa, selected[family])
    if isa != "avx512":  # the bf16 units and AVX512_VNNI/AMX need AVX-512
        assert selected["gemm_bf16"] == "bf16_via_f32_gemm"
        # AVX-VNNI (256-bit) runs under an AVX2 cap where the CPU has it
        avx_vnni = isa == "avx2" and "avx_vnni" in _cpu_flags()
        assert selected["gemm_int8"] == ("int8_gemm_3x32_avxvnni" if avx_vnni
                                         else "int8_gemm_ref")


@pytest.mark.skipif("avx2" not in ISAS, reason="CPU without AVX2")
def test_avx2_cap_leaves_no_scalar_kernel_on_a_hot_path(cap):
    cap("avx2")
    selected = exercise_families()
    # (int8 needs VNNI/AMX, AVX-512 units, by design.)
    scalar = {f: n for f, n in selected.items()
              if n is not None and n.endswith("_ref") and f != "gemm_int8"}
    assert scalar == {}


def test_registry_lists_every_family_reference_last():
    registry = _core.kernel_registry()
    assert set(EXPECTED) <= set(registry)
    for family, impls in registry.items():
        names = [n for n, _ in impls]
        assert len(set(names)) == len(names), family
        assert impls[-1][1] == "ref", family
        assert all(isa in ("ref", "avx2", "avx512") for _, isa in impls), family


@pytest.mark.skipif("avx2" not in ISAS, reason="CPU without AVX2")
def test_verbose_log_says_what_ran_and_why_better_ones_were_skipped():
    code = ("import numpy as np; from nnfast import _core; "
            "_core.gemm(np.ones((3, 4), np.float32), np.ones((4, 5), np.float32), "
            "np.empty((3, 5), np.float32))")
    env = dict(os.environ, NNFAST_VERBOSE="1", NNFAST_MAX_ISA="avx2", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(nnfast.__file__)), env.get("PYTHONPATH", "")])
    err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stderr
    assert "nnfast: gemm -> f32_gemm_6x16_avx2 (active ISA avx2" in err
    why = "ISA capped by NNFAST_MAX_ISA" if "avx512" in ISAS else "CPU lacks the ISA"
    assert f"skipped f32_gemm_14x32_avx512: {why}" in err


# --- the AVX2 kernels that replaced scalar code, against float64 ------------------------------

@pytest.mark.skipif("avx2" not in ISAS, reason="CPU without AVX2")
@pytest.mark.parametrize("shape,kernel,pads,act", [
    ((2, 5, 13, 19), (3, 3, 19, 37), (1, 1), 0),   # channel tail (37 = 32 + 5), 13-wide rows
    ((1, 4, 13, 160), (3, 3, 160, 40), (1, 1), 1),  # taps in chunks (accumulate flag), relu
    ((2, 9, 10, 3), (3, 3, 3, 20), (0, 0), 1),      # 3 channels: kernel rows as taps
])
def test_avx2_conv_tiles_forward_against_float64(shape, kernel, pads, act, cap):
    cap("avx2")
    rng = np.random.default_rng(1)
    x, k, b = f32(rng, *shape), f32(rng, *kernel), f32(rng, kernel[3])
    got = conv_fwd(x, k, pads=pads, activation=act, bias=b)
    assert _core.selected_kernels()["conv2d_forward"] in ("f32_conv_tile_avx2",
                                                          "f32_conv_rowmerged_avx2")
    want = conv2d_reference(x, k, padding="same" if pads != (0, 0) else "valid", bias=b)
    if act == 1:
        want = np.maximum(want, 0.0)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4 * np.sqrt(np.prod(kernel[:3])))


@pytest.mark.skipif("avx2" not in ISAS, reason="CPU without AVX2")
@pytest.mark.parametrize("shape,kernel,strides", [
    ((2, 9, 11, 16), (3, 3, 16, 24), (2, 2)),   # phase tiles
    ((1, 6, 8, 17), (3, 3, 17, 33), (1, 1)),    # flipped-kernel forward, channel tails
])
def test_avx2_conv_tiles_backward_data_against_float64(shape, kernel, strides, cap):
    cap("avx2")
    rng = np.random.default_rng(2)
    k = f32(rng, *kernel)
    oh = (shape[1] + 2 - 3) // strides[0] + 1
    ow = (shape[2] + 2 - 3) // strides[1] + 1
    dy = f32(rng, shape[0], oh, ow, kernel[3])
    got = conv_bwd_data(dy, k, shape, strides, (1, 1))
    assert _core.selected_kernels()["conv2d_backward_data"].endswith("_avx2")
    want = conv_bwd_data_reference(dy, k, shape, strides, (1, 1))
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4 * np.sqrt(9 * kernel[3]))


@pytest.mark.skipif("avx2" not in ISAS, reason="CPU without AVX2")
def test_avx2_fused_depthwise_pointwise_against_float64(cap):
    cap("avx2")
    rng = np.random.default_rng(4)
    x, dk, pk = f32(rng, 2, 7, 9, 17), f32(rng, 3, 3, 17, 1), f32(rng, 1, 1, 17, 35)
    got = separable(x, dk, pk)
    assert _core.selected_kernels()["depthwise_pointwise_forward"] == "f32_conv_tile_avx2"
    mid = sum(np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))[:, i:i + 7, j:j + 9]
              * dk[i, j, :, 0] for i in range(3) for j in range(3))
    np.testing.assert_allclose(got, mid @ pk[0, 0], rtol=2e-4, atol=2e-3)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("act,params,clamp", [(13, {}, (0.0, 6.0)), (0, {}, None),
                                              (1, {"act_max": 2.5}, (0.0, 2.5))])
def test_clamp_epilogue_every_isa_against_float64(isa, act, params, clamp, cap):
    cap(isa)
    rng = np.random.default_rng(3)
    a, b, bias = f32(rng, 7, 19), f32(rng, 19, 23), f32(rng, 23)
    c = np.empty((7, 23), np.float32)
    _core.gemm(a, b, c, bias=bias, activation=act, **params)
    want = a.astype(np.float64) @ b + bias
    if clamp:
        want = np.clip(want, *clamp)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
    if act:
        assert _core.selected_kernels()["epilogue"].endswith("_" + isa)


def test_activation_ids_come_from_core():
    from nnfast.ops.nn import ACTIVATION_IDS
    from nnfast.ops.rnn import RNN_ACTIVATION_IDS

    for name, member in _core.Activation.__members__.items():
        assert ACTIVATION_IDS[name] == int(member)
    assert ACTIVATION_IDS["silu"] == int(_core.Activation.swish)
    assert ACTIVATION_IDS["hard_swish"] == int(_core.Activation.hard_silu)
    assert set(RNN_ACTIVATION_IDS) == {"linear", "relu", "sigmoid", "tanh", "hard_sigmoid"}
    with pytest.raises(ValueError, match="unknown activation id 99"):
        _core.activation_forward(99, np.zeros(2, np.float32), np.zeros(2, np.float32))


# --- routes chosen by shape alone (top_k, bf16 convolution) ---------------

def test_shape_routes_are_registry_families(cap):
    rng = np.random.default_rng(5)
    _core.top_k(f32(rng, 2, 4096), 3)
    assert _core.selected_kernels()["top_k"] == "block_max_prefilter"
    _core.top_k(f32(rng, 2, 100), 5)
    assert _core.selected_kernels()["top_k"] == "heap"
    _core.top_k(f32(rng, 2, 100), 60)
    assert _core.selected_kernels()["top_k"] == "nth_element"
    # bf16 convolution: the float32 fallback when asked for, or under a cap without the units
    img, k = f32(rng, 1, 6, 6, 16), f32(rng, 3, 3, 16, 32)
    y = np.empty((1, 4, 4, 32), np.float32)
    conv = dict(strides=(1, 1), pads=(0, 0), dilation=(1, 1))
    _core.conv2d_forward_bf16(img, k, None, y, **conv, bf16_variant="via_f32")
    assert _core.selected_kernels()["conv2d_forward_bf16"] == "bf16_conv_via_f32"
    units = [v for v in _core.gemm_bf16_variants() if v != "via_f32"]
    if units:  # depth 3*3*16 >= 32, 32 output channels: the tiles on the bf16 unit (stride 1
        # with channels in 16s: the AMX direct convolution where AMX runs)
        _core.conv2d_forward_bf16(img, k, None, y, **conv)
        assert _core.selected_kernels()["conv2d_forward_bf16"] == (
            "bf16_conv_direct_amx" if "amx" in units else "bf16_conv_im2col_gemm")
        _core.conv2d_forward_bf16(img, k, None, np.empty((1, 2, 2, 32), np.float32),
                                  strides=(2, 2), pads=(0, 0), dilation=(1, 1))
        assert _core.selected_kernels()["conv2d_forward_bf16"] == "bf16_conv_im2col_gemm"
        _core.conv2d_forward_bf16(f32(rng, 1, 6, 6, 32), f32(rng, 1, 1, 32, 32), None,
                                  np.empty((1, 6, 6, 32), np.float32), **conv)  # depth 32
        assert _core.selected_kernels()["conv2d_forward_bf16"] == "bf16_conv_gemm_direct"
    cap("avx2")
    _core.conv2d_forward_bf16(img, k, None, y, **conv)
    assert _core.selected_kernels()["conv2d_forward_bf16"] == "bf16_conv_via_f32"


def test_verbose_log_gives_the_shape_rule_of_a_skipped_route():
    code = ("import numpy as np; from nnfast import _core; "
            "_core.top_k(np.ones((2, 100), np.float32), 60)")
    env = dict(os.environ, NNFAST_VERBOSE="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(nnfast.__file__)), env.get("PYTHONPATH", "")])
    err = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stderr
    assert "nnfast: top_k -> nth_element" in err
    assert "heap: shape not accepted (needs k <= 256 and 8k <= n)" in err
