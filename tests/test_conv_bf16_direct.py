"""The AMX direct bf16 convolution (`bf16_conv_direct_amx`: stride 1, one group, channels in
multiples of 16, no im2col matrix): each pass against float64 NumPy on bf16-rounded operands
on odd shapes ('valid', 'same', dilated, 16/32/48/64 channels), with every input and output
array ending at an unreadable page (a read or write past any of them faults); the route under
every ISA cap (other routes where AMX cannot run), and the same bits at 1 and 2 threads."""
import ctypes
import mmap

import nnfast
import numpy as np
import pytest
from nnfast import _core
from test_conv_bf16 import _close, _conv64
from test_gemm_bf16 import bf16

HAS_AMX = "amx" in _core.gemm_bf16_variants()
DIRECT = "bf16_conv_direct_amx"
PASSES = ("conv2d_forward_bf16", "conv2d_backward_data_bf16", "conv2d_backward_weights_bf16")

# (batch, h, w, in_c, kh, kw, out_c, pads, dilation, (oh, ow))
CASES = [
    (3, 13, 13, 32, 3, 3, 64, (0, 0), (1, 1), (11, 11)),   # the tutorial CNN's second conv
    (2, 9, 11, 16, 3, 3, 48, (1, 1), (1, 1), (9, 11)),     # 'same', depth chunks of 16
    (1, 12, 13, 64, 3, 3, 16, (2, 2), (2, 2), (12, 13)),   # dilated 'same'
    (2, 7, 5, 32, 2, 3, 32, (0, 1), (1, 1), (6, 5)),       # even kernel height, 'same' width
    (5, 6, 6, 48, 5, 5, 32, (2, 2), (1, 1), (6, 6)),       # 5x5 'same', 3 depth chunks
    (1, 3, 17, 16, 1, 3, 16, (0, 0), (1, 1), (3, 15)),     # one output row per image
    (1, 8, 8, 256, 3, 3, 272, (1, 1), (1, 1), (8, 8)),     # a 1.25 MB kernel: column slices
]

_libc = ctypes.CDLL(None, use_errno=True)


def _guarded(shape, fill):
    """A float32 array (filled with `fill`) whose last byte is followed by a PROT_NONE page."""
    page = mmap.PAGESIZE
    nbytes = int(np.prod(shape)) * 4
    total = ((nbytes + page - 1) // page + 1) * page
    buf = mmap.mmap(-1, total, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    assert _libc.mprotect(ctypes.c_void_p(addr + total - page), ctypes.c_size_t(page), 0) == 0
    arr = np.frombuffer(buf, np.float32, int(np.prod(shape)), total - page - nbytes)
    arr = arr.reshape(shape)
    arr[...] = fill
    return arr


def _arrays(case, seed):
    b, h, w, c, kh, kw, oc, _, _, out_hw = case
    rng = np.random.default_rng(seed)
    x = _guarded((b, h, w, c), rng.standard_normal((b, h, w, c)))
    k = _guarded((kh, kw, c, oc), rng.standard_normal((kh, kw, c, oc)) / np.sqrt(kh * kw * c))
    bias = _guarded((oc,), rng.standard_normal(oc))
    g = _guarded((b,) + out_hw + (oc,), rng.standard_normal((b,) + out_hw + (oc,)))
    return x, k, bias, g


def _geom(case):
    return (1, 1), case[7], case[8], 1


def _run_passes(case, seed, activation=0):
    x, k, bias, g = _arrays(case, seed)
    geom = _geom(case)
    y = _guarded(g.shape, np.nan)
    _core.conv2d_forward_bf16(x, k, bias, y, *geom, activation)
    dx = _guarded(x.shape, np.nan)
    _core.conv2d_backward_data_bf16(g, k, dx, *geom)
    dk = _guarded(k.shape, np.nan)
    db = _guarded(bias.shape, np.nan)
    _core.conv2d_backward_weights_bf16(x, g, dk, db, *geom)
    return (x, k, bias, g), (np.array(y), np.array(dx), np.array(dk), np.array(db))


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_passes_match_rounded_reference(isa, case):
    (x, k, bias, g), (y, dx, dk, db) = _run_passes(case, seed=5)
    chosen = _core.selected_kernels()
    on_direct = HAS_AMX and isa == "avx512"
    for name in PASSES:
        assert (chosen[name] == DIRECT) == on_direct, (name, chosen[name])
    geom = ((1, 1), case[7], case[8], 1, case[9])
    want_y, want_dx, want_dk = _conv64(bf16(x), bf16(k), geom, bf16(g))
    scale_y, scale_dx, scale_dk = _conv64(np.abs(x), np.abs(k), geom, np.abs(g))
    _close(y, want_y + bias, scale_y)
    _close(dx, want_dx, scale_dx)
    _close(dk, want_dk, scale_dk)
    np.testing.assert_allclose(db, bf16(g).astype(np.float64).sum(axis=(0, 1, 2)), rtol=1e-5,
                               atol=1e-4)
    # Rounded operands, not float32 ones (3 significant digits).
    assert np.max(np.abs(y - (_conv64(x, k, geom) + bias))) > 1e-5


def test_relu_epilogue_and_unrounded_inputs():
    """relu fused in the output rows; the frame copy rounds as round_to_bfloat16 does, so
    rounding the inputs first gives the same bits."""
    case = CASES[1]
    (x, k, bias, _), (y, _, _, _) = _run_passes(case, seed=2, activation=1)
    want = np.maximum(_conv64(bf16(x), bf16(k), ((1, 1),) + case[7:9] + (1, case[9])) + bias, 0)
    np.testing.assert_allclose(y, want, atol=2e-5)
    assert (y == 0).any() and (y > 0).any()
    y_rounded = np.empty_like(y)
    _core.conv2d_forward_bf16(bf16(x), bf16(k), bias, y_rounded, *_geom(case), 1)
    np.testing.assert_array_equal(y, y_rounded)


@pytest.mark.skipif(not HAS_AMX, reason="the CPU has no usable AMX-BF16 unit")
@pytest.mark.parametrize("case", [CASES[0], CASES[6]], ids=["whole_kernel", "kernel_slices"])
def test_same_bits_at_one_and_two_threads(case):
    previous = nnfast.config.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            nnfast.config.set_num_threads(threads)
            results.append(_run_passes(case, seed=9)[1])
    finally:
        nnfast.config.set_num_threads(previous)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.skipif(not HAS_AMX, reason="the CPU has no usable AMX-BF16 unit")
@pytest.mark.parametrize("variant", ["avx512bf16", "via_f32"])
def test_other_units_keep_their_routes(variant):
    """Strided, grouped and pointwise convolutions, and any unit but AMX, take other routes."""
    x, k, bias, g = _arrays(CASES[0], seed=1)
    y = np.empty(g.shape, np.float32)
    _core.conv2d_forward_bf16(x, k, bias, y, *_geom(CASES[0]), bf16_variant=variant)
    assert _core.selected_kernels()["conv2d_forward_bf16"] != DIRECT
    y2 = np.empty((3, 6, 6, 64), np.float32)
    _core.conv2d_forward_bf16(x, k, bias, y2, (2, 2), (0, 0), (1, 1), 1)
    assert _core.selected_kernels()["conv2d_forward_bf16"] != DIRECT


@pytest.mark.skipif(not HAS_AMX, reason="the CPU has no usable AMX-BF16 unit")
def test_measured_rule_keeps_im2col_where_direct_was_slower():
    """The kernel gradient of 4x4 'same' maps (16 of 32 chunk positions real) at 256x256
    channels, and the forward of 2x2 'same' maps (4 of 16 tile rows real), stay on im2col
    tiles; the other passes of those shapes, 128 channels and 8x8 maps run direct."""
    def routes(c, oc, hw):
        x = np.zeros((1, hw, hw, c), np.float32)
        k = np.zeros((3, 3, c, oc), np.float32)
        y = np.zeros((1, hw, hw, oc), np.float32)
        geom = ((1, 1), (1, 1), (1, 1), 1)
        _core.conv2d_forward_bf16(x, k, None, y, *geom)
        _core.conv2d_backward_data_bf16(y, k, np.empty_like(x), *geom)
        _core.conv2d_backward_weights_bf16(x, y, np.empty_like(k), None, *geom)
        return [_core.selected_kernels()[name] == DIRECT for name in PASSES]

    assert routes(256, 256, 4) == [True, True, False]
    assert routes(128, 128, 4) == [True, True, True]
    assert routes(256, 256, 8) == [True, True, True]  # 64 of 96 positions real
    assert routes(512, 256, 2) == [False, True, False]
    assert routes(256, 256, 3) == [True, True, False]  # 9 of 16 rows, 9 of 32 positions


@pytest.mark.parametrize("name, fn", [
    ("relu6", lambda v: np.clip(v, 0, 6)),  # a clamp: in the tile epilogue
    ("tanh", np.tanh),  # not a clamp: on the image's rows after the tiles
])
def test_activation_epilogues(name, fn):
    case = CASES[4]
    x, k, bias, _ = _arrays(case, seed=4)
    x *= 4  # past relu6's cap
    y = _guarded((case[0],) + case[9] + (case[6],), np.nan)
    _core.conv2d_forward_bf16(x, k, bias, y, *_geom(case), int(getattr(_core.Activation, name)))
    want = fn(_conv64(bf16(x), bf16(k), ((1, 1),) + case[7:9] + (1, case[9])) + bias)
    np.testing.assert_allclose(y, want, atol=5e-5)
    if name == "relu6":
        assert (y == 6).any() and (y == 0).any()
