"""bfloat16 convolution (`_core.conv2d_*_bf16`, mixed_bfloat16's Conv layers): each route this
CPU runs (im2col/gather tiles on the AMX or AVX512_BF16 GEMM, rounded copies through the fp32
kernels) against float64 NumPy on the bf16-rounded operands, on odd shapes, strides,
dilations, paddings and groups; the rounding route also under every ISA cap."""
import numpy as np
import pytest

import nnfast
from nnfast import _core

from test_gemm_bf16 import bf16

VARIANTS = _core.gemm_bf16_variants()

# (batch, h, w, in_c, kh, kw, out_c, strides, pads, dilation, groups, (oh, ow))
CASES = [
    (2, 9, 11, 8, 3, 3, 24, (1, 1), (1, 1), (1, 1), 1, (9, 11)),      # 'same' 3x3
    (3, 7, 6, 33, 1, 1, 19, (1, 1), (0, 0), (1, 1), 1, (7, 6)),       # pointwise
    (2, 10, 9, 5, 3, 2, 17, (2, 3), (0, 1), (1, 1), 1, (4, 3)),       # strided, odd
    (1, 12, 13, 6, 3, 3, 20, (1, 1), (2, 2), (2, 2), 1, (12, 13)),    # dilated
    (2, 8, 7, 8, 3, 3, 32, (1, 1), (0, 0), (1, 1), 2, (6, 5)),        # 2 groups, 16 out each
    (1, 5, 5, 40, 1, 1, 21, (2, 2), (0, 0), (1, 1), 1, (3, 3)),       # strided 1x1
    (2, 12, 13, 64, 3, 3, 16, (1, 1), (1, 1), (1, 1), 1, (12, 13)),   # 2 im2col tiles (256 rows)
]


def _gather_index(x_shape, k_shape, strides, pads, dilation, groups, out_hw):
    """For each group, (pixels, kh*kw*cin_g) indices into x.ravel() with one extra zero
    element at the end for taps outside the input: the im2col matrix is x_ext[index]."""
    b, h, w, c = x_shape
    kh, kw, cin_g, _ = k_shape
    oh, ow = out_hw
    bi, ohi, owi, ti, tj, ci = np.meshgrid(np.arange(b), np.arange(oh), np.arange(ow),
                                           np.arange(kh), np.arange(kw), np.arange(cin_g),
                                           indexing="ij")
    ih = ohi * strides[0] - pads[0] + ti * dilation[0]
    iw = owi * strides[1] - pads[1] + tj * dilation[1]
    inside = (ih >= 0) & (ih < h) & (iw >= 0) & (iw < w)
    out = []
    for g in range(groups):
        flat = ((bi * h + ih) * w + iw) * c + g * cin_g + ci
        out.append(np.where(inside, flat, b * h * w * c).reshape(b * oh * ow, -1))
    return out


def _conv64(x, k, geom, g=None):
    """float64 forward conv2d (NHWC cross-correlation) of x and k, and with an output
    gradient g also (dx, dk) of sum(conv * g)."""
    strides, pads, dil, groups, out_hw = geom
    x, k = x.astype(np.float64), k.astype(np.float64)
    oc = k.shape[3]
    cout_g = oc // groups
    x_ext = np.append(x.ravel(), 0.0)
    y = np.zeros((x.shape[0] * out_hw[0] * out_hw[1], oc))
    dx_ext, dk = np.zeros_like(x_ext), np.zeros_like(k)
    for gi, idx in enumerate(_gather_index(x.shape, k.shape, *geom)):
        kg = k[..., gi * cout_g:(gi + 1) * cout_g].reshape(-1, cout_g)
        cols = x_ext[idx]
        y[:, gi * cout_g:(gi + 1) * cout_g] = cols @ kg
        if g is not None:
            gg = g.reshape(-1, oc)[:, gi * cout_g:(gi + 1) * cout_g].astype(np.float64)
            dk[..., gi * cout_g:(gi + 1) * cout_g] = (cols.T @ gg).reshape(k.shape[:3] + (cout_g,))
            np.add.at(dx_ext, idx, gg @ kg.T)
    y = y.reshape((x.shape[0],) + tuple(out_hw) + (oc,))
    if g is None:
        return y
    return y, dx_ext[:-1].reshape(x.shape), dk


def _arrays(case, seed=0):
    b, h, w, c, kh, kw, oc, strides, pads, dil, groups, out_hw = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, h, w, c)).astype(np.float32)
    k = (rng.standard_normal((kh, kw, c // groups, oc)) / np.sqrt(kh * kw * c)).astype(np.float32)
    bias = rng.standard_normal(oc).astype(np.float32)
    g = rng.standard_normal((b,) + out_hw + (oc,)).astype(np.float32)
    return x, k, bias, g


def _close(got, want, scale):
    # fp32 accumulation of exact bf16 products: error relative to the sum of |products|
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.max(scale) + 1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_forward_matches_rounded_reference(variant, case):
    x, k, bias, _ = _arrays(case)
    strides, pads, dil, groups, out_hw = case[7:]
    y = np.full((x.shape[0],) + out_hw + (k.shape[3],), np.nan, np.float32)
    _core.conv2d_forward_bf16(x, k, bias, y, strides, pads, dil, groups, bf16_variant=variant)
    geom = case[7:]
    want = _conv64(bf16(x), bf16(k), geom) + bias
    scale = _conv64(np.abs(x), np.abs(k), geom)
    _close(y, want, scale)
    # Not the fp32 result: the kernel really is rounded (3 significant digits).
    exact = _conv64(x, k, geom) + bias
    assert np.max(np.abs(y - exact)) > 1e-5


@pytest.mark.parametrize("variant", VARIANTS)
def test_relu_epilogue(variant):
    x, k, bias, _ = _arrays(CASES[0], seed=3)
    strides, pads, dil, groups, out_hw = CASES[0][7:]
    y = np.empty((x.shape[0],) + out_hw + (k.shape[3],), np.float32)
    _core.conv2d_forward_bf16(x, k, bias, y, strides, pads, dil, groups, activation=1,
                              bf16_variant=variant)
    want = np.maximum(_conv64(bf16(x), bf16(k), CASES[0][7:]) + bias, 0)
    np.testing.assert_allclose(y, want, atol=2e-5)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_backward_matches_rounded_reference(variant, case):
    x, k, _, g = _arrays(case, seed=7)
    strides, pads, dil, groups, out_hw = geom = case[7:]
    dx = np.full_like(x, np.nan)
    _core.conv2d_backward_data_bf16(g, k, dx, strides, pads, dil, groups, bf16_variant=variant)
    dk = np.full_like(k, np.nan)
    db = np.full(k.shape[3], np.nan, np.float32)
    _core.conv2d_backward_weights_bf16(x, g, dk, db, strides, pads, dil, groups,
                                       bf16_variant=variant)
    _, want_dx, want_dk = _conv64(bf16(x), bf16(k), geom, bf16(g))
    _, scale_dx, scale_dk = _conv64(np.abs(x), np.abs(k), geom, np.abs(g))
    _close(dx, want_dx, scale_dx)
    _close(dk, want_dk, scale_dk)
    np.testing.assert_allclose(db, bf16(g).astype(np.float64).sum(axis=(0, 1, 2)), rtol=1e-5,
                               atol=1e-4)


def test_rounding_route_under_every_isa_cap(isa):
    """The via_f32 route runs the fp32 convolution kernels of whichever ISA is allowed."""
    case = CASES[2]
    x, k, bias, _ = _arrays(case, seed=11)
    strides, pads, dil, groups, out_hw = case[7:]
    y = np.empty((x.shape[0],) + out_hw + (k.shape[3],), np.float32)
    _core.conv2d_forward_bf16(x, k, bias, y, strides, pads, dil, groups)  # 'best'
    want = _conv64(bf16(x), bf16(k), case[7:]) + bias
    np.testing.assert_allclose(y, want, atol=2e-5)
    if isa != "avx512":
        assert _core.conv2d_bf16_route(x, k, y, strides, pads, dil, groups) == "via_f32"


def test_route_choice_and_bad_variant():
    x, k, _, _ = _arrays(CASES[0])
    strides, pads, dil, groups, out_hw = CASES[0][7:]
    y = np.empty((x.shape[0],) + out_hw + (k.shape[3],), np.float32)
    route = _core.conv2d_bf16_route(x, k, y, strides, pads, dil, groups)
    assert route == (VARIANTS[0] if VARIANTS[0] != "via_f32" else "via_f32")
    # A first layer (kh*kw*in_c < 32) stays on the fp32 direct kernels.
    x1 = np.zeros((1, 8, 8, 1), np.float32)
    k1 = np.zeros((3, 3, 1, 32), np.float32)
    y1 = np.empty((1, 6, 6, 32), np.float32)
    assert _core.conv2d_bf16_route(x1, k1, y1, (1, 1), (0, 0), (1, 1), 1) == "via_f32"
    with pytest.raises(ValueError, match="bf16_variant"):
        _core.conv2d_forward_bf16(x, k, None, y, strides, pads, dil, groups, bf16_variant="x")
    with pytest.raises(ValueError, match="kernel"):
        _core.conv2d_forward_bf16(x, k[:, :, :3], None, y, strides, pads, dil, groups)


@pytest.mark.parametrize("out_c", [32, 64])
def test_narrow_winograd_passes_run_rounded_through_float32_winograd(out_c):
    """Without AMX, 'best' sends a pass whose GEMM is <= 32 columns wide (the forward's out_c,
    the input gradient's in_c) to rounded operands on the float32 Winograd kernels where those
    apply, with bf16 operands and float32 sums kept; a named unit still runs its tiles (with
    AMX the direct convolution takes both passes)."""
    case = (6, 13, 13, 32, 3, 3, out_c, (1, 1), (0, 0), (1, 1), 1, (11, 11))  # 216 2x2 tiles
    x, k, bias, g = _arrays(case, seed=19)
    geom = case[7:]
    y = np.full((6, 11, 11, out_c), np.nan, np.float32)
    _core.conv2d_forward_bf16(x, k, bias, y, *geom[:4])
    forward = _core.selected_kernels()["conv2d_forward_bf16"]
    dx = np.full_like(x, np.nan)
    _core.conv2d_backward_data_bf16(g, k, dx, *geom[:4])
    backward_data = _core.selected_kernels()["conv2d_backward_data_bf16"]
    want_y, want_dx, _ = _conv64(bf16(x), bf16(k), geom, bf16(g))
    scale_y, scale_dx, _ = _conv64(np.abs(x), np.abs(k), geom, np.abs(g))
    # Winograd's transforms add float32 rounding to the sums of exact bf16 products.
    np.testing.assert_allclose(y, want_y + bias, rtol=0, atol=2e-5 * np.max(scale_y))
    np.testing.assert_allclose(dx, want_dx, rtol=0, atol=2e-5 * np.max(scale_dx))
    assert np.max(np.abs(y - (_conv64(x, k, geom) + bias))) > 1e-4  # operands were rounded
    units = [v for v in VARIANTS if v != "via_f32"]
    if not units:
        return
    if "amx" in units:  # stride 1, channels in 16s: the AMX direct convolution beats both
        assert forward == backward_data == "bf16_conv_direct_amx"
        units.remove("amx")
    else:
        assert backward_data == "bf16_conv_rounded_winograd"  # in_c 32
        assert forward == ("bf16_conv_rounded_winograd" if out_c <= 32
                           else "bf16_conv_im2col_gemm")
    for unit in units:
        _core.conv2d_backward_data_bf16(g, k, dx, *geom[:4], bf16_variant=unit)
        assert _core.selected_kernels()["conv2d_backward_data_bf16"] == "bf16_conv_gather_gemm"
