// AVX-512 fused conv + relu + max-pool (nnfast::ConvPoolShape), on the vector vocabulary
// (simd_avx512.h). The forward keeps each pooled window's conv outputs in registers and
// stores only the pooled values and a byte per element naming the window's argmax; the weight
// gradient sends each pooled gradient straight to its argmax's taps.
// Two routes each. The general one: any kh*kw*in_c <= 32 taps, channels in blocks of 64
// (forward) or 32 (backward). The first-layer one, for 3x3 kernels on one input channel and
// at most 32 filters (the tutorial CNN's first layer), keeps the 9 x 32 weights (forward) or
// weight-gradient sums (backward) in registers for a whole range of pooled pixels; windows at
// the borders fall back to the general code. Both do the conv arithmetic in conv_at's order
// (conv_pixel_avx512.h, shared with the direct convolution), so fused and unfused outputs
// agree bit for bit.
#include "kernels/simd_avx512.h"

#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/conv_pixel_avx512.h"

namespace nnfast::kernels {
namespace {

// Flattened tap offsets: tap k = (kh*kernel_w + kw)*in_c + ci (the kernel's row order) reads
// src at window-start + off[k]. Returns K.
inline int64_t tap_offsets(const Conv2DShape& s, int64_t* off) {
  int64_t k = 0;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh)
    for (int64_t kw = 0; kw < s.kernel_w; ++kw)
      for (int64_t ci = 0; ci < s.in_c; ++ci)
        off[k++] = (kh * s.dilation_h * s.in_w + kw * s.dilation_w) * s.in_c + ci;
  return k;
}

// True when every tap of conv output (oh, ow) lies inside the input.
inline bool interior(const Conv2DShape& s, int64_t oh, int64_t ow) {
  const int64_t ih = oh * s.stride_h - s.pad_top, iw = ow * s.stride_w - s.pad_left;
  return ih >= 0 && ih + (s.kernel_h - 1) * s.dilation_h < s.in_h && iw >= 0 &&
         iw + (s.kernel_w - 1) * s.dilation_w < s.in_w;
}


// Four interior positions (window starts x[0..3]): each weight vector loaded once feeds four
// FMAs.
template <int NV>
inline void conv_at4(const float* kernel, const float* bias, int64_t K, const int64_t* off,
                     int64_t OC, const float* const* x, int64_t o0, const VM* m,
                     VF (*acc)[NV]) {
  for (int v = 0; v < NV; ++v) {
    const VF b0 = bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
    acc[0][v] = acc[1][v] = acc[2][v] = acc[3][v] = b0;
  }
  const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  for (int64_t k = 0; k < K; ++k) {
    const int64_t o = off[k];
    const VF a0 = vset1(x0[o]), a1 = vset1(x1[o]);
    const VF a2 = vset1(x2[o]), a3 = vset1(x3[o]);
    const float* w = kernel + k * OC + o0;
    for (int v = 0; v < NV; ++v) {
      const VF wv = vload_m(w + W * v, m[v]);
      acc[0][v] = vfmadd(a0, wv, acc[0][v]);
      acc[1][v] = vfmadd(a1, wv, acc[1][v]);
      acc[2][v] = vfmadd(a2, wv, acc[2][v]);
      acc[3][v] = vfmadd(a3, wv, acc[3][v]);
    }
  }
}

// Running max with the first-maximum index (strict '>' in ascending window order).
template <int NV>
inline void take_max(const VF* acc, int32_t j, VF* best, VI* idx) {
  const VI jv = vi_set1(j);
  for (int v = 0; v < NV; ++v) {
    // A greater value, or a NaN (which then stays: NaN propagates as relu and max pooling
    // propagate it).
    const VM t = vm_or(vgt(acc[v], best[v]), visnan(acc[v]));
    best[v] = vselect(t, acc[v], best[v]);
    idx[v] = vi_select(t, jv, idx[v]);
  }
}

struct WindowPos {
  int64_t oh, ow;
  int32_t j;
  bool inside;
};

template <int NV>
void pool_window_fwd(const ConvPoolShape& ps, const float* src, const float* kernel,
                     const float* bias, int64_t K, const int64_t* off, int64_t b,
                     const WindowPos* pos, int64_t npos, int64_t o0, const VM* m,
                     float* pooled, uint8_t* argidx) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c;
  VF best[NV];
  VI idx[NV];
  for (int v = 0; v < NV; ++v) {
    best[v] = vset1(-__builtin_inff());
    idx[v] = vi_set1(0);
  }
  int64_t i = 0;
  while (i < npos) {
    if (i + 4 <= npos && pos[i].inside && pos[i + 1].inside && pos[i + 2].inside &&
        pos[i + 3].inside) {
      const float* x[4];
      for (int j = 0; j < 4; ++j)
        x[j] = src + ((b * s.in_h + pos[i + j].oh * s.stride_h - s.pad_top) * s.in_w +
                      pos[i + j].ow * s.stride_w - s.pad_left) * s.in_c;
      VF acc[4][NV];
      conv_at4<NV>(kernel, bias, K, off, OC, x, o0, m, acc);
      for (int j = 0; j < 4; ++j) take_max<NV>(acc[j], pos[i + j].j, best, idx);
      i += 4;
    } else {
      VF acc[NV];
      conv_at<NV>(s, src, kernel, bias, b, pos[i].oh, pos[i].ow, o0, m, acc);
      take_max<NV>(acc, pos[i].j, best, idx);
      i += 1;
    }
  }
  for (int v = 0; v < NV; ++v) {
    // maskz_ forms: GCC 12 warns on the plain forms' undefined pass-through operand. maxps
    // returns its second operand when either is NaN: best second keeps a NaN.
    vstore_m(pooled + o0 + W * v, vmax(vzero(), best[v]), m[v]);
    if (argidx) vstore_u8_m(argidx + o0 + W * v, idx[v], m[v]);
  }
}

// Window positions of pooled pixel (py, px) in row-major order; returns their count.
inline int64_t window_positions(const ConvPoolShape& ps, int64_t py, int64_t px, WindowPos* pos) {
  const int64_t oh0 = py * ps.pool_h - ps.pad_top, ow0 = px * ps.pool_w - ps.pad_left;
  int64_t n = 0;
  for (int64_t dh = 0; dh < ps.pool_h; ++dh) {
    const int64_t oh = oh0 + dh;
    if (oh < 0 || oh >= ps.conv.out_h) continue;
    for (int64_t dw = 0; dw < ps.pool_w; ++dw) {
      const int64_t ow = ow0 + dw;
      if (ow < 0 || ow >= ps.conv.out_w) continue;
      pos[n].oh = oh;
      pos[n].ow = ow;
      pos[n].j = (int32_t)(dh * ps.pool_w + dw);
      pos[n].inside = interior(ps.conv, oh, ow);
      ++n;
    }
  }
  return n;
}

// Weight gradient of a block of kc <= KC flattened taps [k0, k0 + kc) and 16*NV channels,
// accumulated in registers over pooled pixels [q0, q1) and added to dkernel once.
template <int NV, int KC>
void pool_bwd_weights_block(const ConvPoolShape& ps, const float* src, const float* dpooled,
                            const float* pooled, const uint8_t* argidx, const int64_t* off,
                            int64_t k0, int64_t kc, int64_t o0, const VM* m,
                            float* dkernel, float* dbias, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t C = s.in_c, OC = s.out_c, phw = ps.pooled_h * ps.pooled_w;
  VF acc[KC][NV], db[NV];
  for (int k = 0; k < KC; ++k)
    for (int v = 0; v < NV; ++v) acc[k][v] = vzero();
  for (int v = 0; v < NV; ++v) db[v] = vzero();
  WindowPos pos[256];
  float patch[32];  // border positions: taps gathered with zeros outside the input
  // NOTE: the tap loops below always run KC steps (fully unrolled, constant indices: a
  // data-dependent exit made GCC keep acc in memory); taps kc..KC-1 read offset 0 and their
  // accumulators are never stored.
  int64_t patch_off[KC], xoff[KC];
  for (int k = 0; k < KC; ++k) {
    patch_off[k] = k < kc ? k : 0;
    xoff[k] = k < kc ? off[k0 + k] : 0;
  }
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t b = q / phw, py = (q % phw) / ps.pooled_w, px = q % ps.pooled_w;
    VF g[NV];
    VM on[NV];
    VI idx[NV];
    VM any = vfirst(0);
    for (int v = 0; v < NV; ++v) {
      const int64_t e = q * OC + o0 + W * v;
      g[v] = vload_m(dpooled + e, m[v]);
      on[v] = vm_and(m[v], vgt(vload_m(pooled + e, m[v]), vzero()));
      idx[v] = vi_load_u8_m(argidx + e, m[v]);
      db[v] = vadd(db[v], vkeep(on[v], g[v]));
      any = vm_or(any, on[v]);
    }
    if (!vmovemask(any)) continue;
    const int64_t npos = window_positions(ps, py, px, pos);
    for (int64_t i = 0; i < npos; ++i) {
      const VI jv = vi_set1(pos[i].j);
      VF gj[NV];
      VM hit = vfirst(0);
      for (int v = 0; v < NV; ++v) {
        const VM mj = vm_and(on[v], vi_eq(idx[v], jv));
        gj[v] = vkeep(mj, g[v]);
        hit = vm_or(hit, mj);
      }
      if (!vmovemask(hit)) continue;
      const float* x;
      const int64_t* xo;
      if (pos[i].inside) {
        x = src + ((b * s.in_h + pos[i].oh * s.stride_h - s.pad_top) * s.in_w +
                   pos[i].ow * s.stride_w - s.pad_left) * C;
        xo = xoff;
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          const int64_t t = k0 + k, ci = t % C, kw = (t / C) % s.kernel_w, kh = t / C / s.kernel_w;
          const int64_t ih = pos[i].oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          const int64_t iw = pos[i].ow * s.stride_w - s.pad_left + kw * s.dilation_w;
          patch[k] = (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w)
                         ? 0.0f : src[((b * s.in_h + ih) * s.in_w + iw) * C + ci];
        }
        x = patch;
        xo = patch_off;
      }
#pragma GCC unroll 24
      for (int k = 0; k < KC; ++k) {
        const VF xv = vset1(x[xo[k]]);
        for (int v = 0; v < NV; ++v) acc[k][v] = vfmadd(xv, gj[v], acc[k][v]);
      }
    }
  }
#pragma GCC unroll 24
  for (int k = 0; k < KC; ++k) {
    if (k >= kc) continue;
    float* w = dkernel + (k0 + k) * OC + o0;
    for (int v = 0; v < NV; ++v)
      vstore_m(w + W * v, vadd(vload_m(w + W * v, m[v]), acc[k][v]), m[v]);
  }
  if (dbias && k0 == 0)
    for (int v = 0; v < NV; ++v)
      vstore_m(dbias + o0 + W * v, vadd(vload_m(dbias + o0 + W * v, m[v]), db[v]), m[v]);
}

// --- the first-layer route: 3x3 taps on one input channel, <= 32 filters --------------------

constexpr int kFirstTaps = 9;

// Pooled pixels visited in order without a division per pixel.
struct PooledCursor {
  int64_t b, py, px;
  PooledCursor(const ConvPoolShape& ps, int64_t q)
      : b(q / (ps.pooled_h * ps.pooled_w)),
        py(q / ps.pooled_w % ps.pooled_h),
        px(q % ps.pooled_w) {}
  void next(const ConvPoolShape& ps) {
    if (++px == ps.pooled_w) {
      px = 0;
      if (++py == ps.pooled_h) {
        py = 0;
        ++b;
      }
    }
  }
};

// True when every position of pooled row py's windows lies in the conv output rows and reads
// only input rows (no clipping, no zero taps); cols_inside: the same for pooled column px.
inline bool rows_inside(const ConvPoolShape& ps, int64_t py) {
  const Conv2DShape& s = ps.conv;
  const int64_t oh0 = py * ps.pool_h - ps.pad_top, oh1 = oh0 + ps.pool_h - 1;
  return oh0 >= 0 && oh1 < s.out_h && oh0 * s.stride_h - s.pad_top >= 0 &&
         oh1 * s.stride_h - s.pad_top + (s.kernel_h - 1) * s.dilation_h < s.in_h;
}
inline bool cols_inside(const ConvPoolShape& ps, int64_t px) {
  const Conv2DShape& s = ps.conv;
  const int64_t ow0 = px * ps.pool_w - ps.pad_left, ow1 = ow0 + ps.pool_w - 1;
  return ow0 >= 0 && ow1 < s.out_w && ow0 * s.stride_w - s.pad_left >= 0 &&
         ow1 * s.stride_w - s.pad_left + (s.kernel_w - 1) * s.dilation_w < s.in_w;
}
// The fast loops' case: the whole window inside (see rows_inside).
inline bool window_inside(const ConvPoolShape& ps, int64_t py, int64_t px) {
  return rows_inside(ps, py) && cols_inside(ps, px);
}

// Window positions j .. j+3 of the first-layer route: four conv outputs (8 independent FMA
// chains at NV = 2) from broadcast taps times the register-held weights, then the running max
// with its first-maximum index. kFirst: positions 0..3, where from -inf the first position
// always wins (or leaves -inf, which it equals), so it starts the max instead of a compare.
template <int NV, bool kFirst>
inline void first_layer_four(const float* x0, const int64_t* pos_off, const int64_t* off,
                             const VF (*w)[NV], const VF* b0, int64_t j, VF* best, VI* idx) {
  const float* x[4] = {x0 + pos_off[j], x0 + pos_off[j + 1], x0 + pos_off[j + 2],
                       x0 + pos_off[j + 3]};
  VF acc[4][NV];
  for (int i = 0; i < 4; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = b0[v];
#pragma GCC unroll 9
  for (int k = 0; k < kFirstTaps; ++k) {
    const int64_t o = off[k];
    for (int i = 0; i < 4; ++i) {
      const VF xv = vset1(x[i][o]);
      for (int v = 0; v < NV; ++v) acc[i][v] = vfmadd(xv, w[k][v], acc[i][v]);
    }
  }
  if (kFirst)
    for (int v = 0; v < NV; ++v) {
      best[v] = acc[0][v];
      idx[v] = vi_set1(static_cast<int32_t>(j));
    }
  for (int i = kFirst ? 1 : 0; i < 4; ++i)
    take_max<NV>(acc[i], static_cast<int32_t>(j + i), best, idx);
}

// The fast loops' walk over pooled pixels: whether each window is inside (rows_inside once per
// pooled row; the columns that are inside form one range [px_lo, px_hi), found once) and its
// first tap's input element, advanced by a constant step along a row -- no products or bounds
// tests per pixel (they cost ~20% of the weight gradient's time).
struct InsideWalk {
  int64_t b, py, px, px_lo, px_hi, step, x0;  // x0: offset of the window's first tap in src
  bool row_ok;
  InsideWalk(const ConvPoolShape& ps, int64_t q) : b(0), py(0), px(0), px_lo(0), px_hi(0) {
    const PooledCursor at(ps, q);
    b = at.b;
    py = at.py;
    px = at.px;
    while (px_lo < ps.pooled_w && !cols_inside(ps, px_lo)) ++px_lo;
    px_hi = px_lo;
    while (px_hi < ps.pooled_w && cols_inside(ps, px_hi)) ++px_hi;
    step = ps.pool_w * ps.conv.stride_w * ps.conv.in_c;
    start_row(ps);
  }
  bool inside() const { return row_ok && px >= px_lo && px < px_hi; }
  void start_row(const ConvPoolShape& ps) {
    const Conv2DShape& s = ps.conv;
    row_ok = rows_inside(ps, py);
    const int64_t ih = (py * ps.pool_h - ps.pad_top) * s.stride_h - s.pad_top;
    const int64_t iw = (px * ps.pool_w - ps.pad_left) * s.stride_w - s.pad_left;
    x0 = ((b * s.in_h + ih) * s.in_w + iw) * s.in_c;
  }
  void next(const ConvPoolShape& ps) {
    x0 += step;
    if (++px == ps.pooled_w) {
      px = 0;
      if (++py == ps.pooled_h) {
        py = 0;
        ++b;
      }
      start_row(ps);
    }
  }
};

// Forward of pooled pixels [q0, q1) with the 9 x 16*NV weights held in registers: four window
// positions at a time (8 independent FMA chains at NV = 2), each a broadcast tap times the
// weight rows, then the running max with its first-maximum index as take_max keeps it.
template <int NV>
void first_layer_fwd(const ConvPoolShape& ps, const float* src, const float* kernel,
                     const float* bias, const int64_t* off, const VM* m, float* pooled,
                     uint8_t* argidx, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c, npos = ps.pool_h * ps.pool_w;
  VF w[kFirstTaps][NV], b0[NV];
#pragma GCC unroll 9
  for (int k = 0; k < kFirstTaps; ++k)
    for (int v = 0; v < NV; ++v) w[k][v] = vload_m(kernel + k * OC + W * v, m[v]);
  for (int v = 0; v < NV; ++v) b0[v] = bias ? vload_m(bias + W * v, m[v]) : vzero();
  // Input offset of window position j's first tap from position 0's.
  int64_t pos_off[256];
  for (int64_t j = 0; j < npos; ++j)
    pos_off[j] = ((j / ps.pool_w) * s.stride_h * s.in_w + (j % ps.pool_w) * s.stride_w) * s.in_c;
  // NOTE: border windows in a second pass, as in first_layer_bwd_weights.
  InsideWalk at(ps, q0);
  for (int64_t q = q0; q < q1; ++q, at.next(ps)) {
    if (!at.inside()) continue;
    float* d = pooled + q * OC;
    uint8_t* a = argidx ? argidx + q * OC : (uint8_t*)0;
    const float* x0 = src + at.x0;
    VF best[NV];
    VI idx[NV];
    for (int v = 0; v < NV; ++v) {
      best[v] = vset1(-__builtin_inff());
      idx[v] = vi_set1(0);
    }
    int64_t j = 0;
    if (npos >= 4) {
      first_layer_four<NV, true>(x0, pos_off, off, w, b0, 0, best, idx);
      j = 4;
    }
    for (; j + 4 <= npos; j += 4)
      first_layer_four<NV, false>(x0, pos_off, off, w, b0, j, best, idx);
    for (; j < npos; ++j) {
      const float* x = x0 + pos_off[j];
      VF acc[NV];
      for (int v = 0; v < NV; ++v) acc[v] = b0[v];
#pragma GCC unroll 9
      for (int k = 0; k < kFirstTaps; ++k) {
        const VF xv = vset1(x[off[k]]);
        for (int v = 0; v < NV; ++v) acc[v] = vfmadd(xv, w[k][v], acc[v]);
      }
      take_max<NV>(acc, static_cast<int32_t>(j), best, idx);
    }
    for (int v = 0; v < NV; ++v) {
      vstore_m(d + W * v, vmax(vzero(), best[v]), m[v]);  // best second: a NaN stays
      if (a) vstore_u8_m(a + W * v, idx[v], m[v]);
    }
  }
  WindowPos pos[256];
  PooledCursor border(ps, q0);
  for (int64_t q = q0; q < q1; ++q, border.next(ps)) {
    if (window_inside(ps, border.py, border.px)) continue;
    const int64_t n = window_positions(ps, border.py, border.px, pos);
    pool_window_fwd<NV>(ps, src, kernel, bias, kFirstTaps, off, border.b, pos, n, 0, m,
                        pooled + q * OC, argidx ? argidx + q * OC : (uint8_t*)0);
  }
}

// Whether a window's input patch fits 4 rows of 4 lanes (first_layer_bwd_weights' layout).
inline bool patch_fits(const ConvPoolShape& ps) {
  const Conv2DShape& s = ps.conv;
  return (ps.pool_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h < 4 &&
         (ps.pool_w - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w < 4;
}

// Weight gradient of pooled pixels [q0, q1), the 9 x 16*NV sums in registers. With one input
// channel a window's whole input patch (<= 4 x 4 values) fits one vector: lane r*4 + c holds
// patch row r, column c. Each channel's tap value at its argmax position is then one
// in-register permute of the patch (lane = base[argidx] + tap offset), so each pooled pixel
// costs one FMA per tap and vector, not one per tap, vector and window position.
template <int NV>
void first_layer_bwd_weights(const ConvPoolShape& ps, const float* src, const float* dpooled,
                             const float* pooled, const uint8_t* argidx, const int64_t* off,
                             const VM* m, float* dkernel, float* dbias, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c, npos = ps.pool_h * ps.pool_w;
  const int64_t rows = (ps.pool_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h + 1;
  const int64_t cols = (ps.pool_w - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1;
  int32_t base[W], tap[kFirstTaps], join01[W], join_all[W];
  for (int i = 0; i < W; ++i) {  // npos <= 16: the patch is at most 4 x 4
    base[i] = i < npos ? static_cast<int32_t>((i / ps.pool_w) * s.stride_h * 4 +
                                              (i % ps.pool_w) * s.stride_w) : 0;
    join01[i] = i < 4 ? i : (i < 8 ? W + i - 4 : 0);  // rows r, r+1 -> lanes 0-3, 4-7
    join_all[i] = i < 8 ? i : W + i - 8;               // rows 0-1, 2-3 -> lanes 0-7, 8-15
  }
  for (int k = 0; k < kFirstTaps; ++k)
    tap[k] = static_cast<int32_t>((k / s.kernel_w) * s.dilation_h * 4 +
                                  (k % s.kernel_w) * s.dilation_w);
  const VF base_v = vfrom_bits(vi_load_m(base, vfirst(W)));
  const VI join01_v = vi_load_m(join01, vfirst(W)), join_all_v = vi_load_m(join_all, vfirst(W));
  const VI npos_v = vi_set1(static_cast<int32_t>(npos));
  const VM row_m = vfirst(cols);
  // NOTE: every loop over acc is fully unrolled (constant indices keep it in registers).
  VF acc[kFirstTaps][NV], db[NV];
#pragma GCC unroll 9
  for (int k = 0; k < kFirstTaps; ++k)
    for (int v = 0; v < NV; ++v) acc[k][v] = vzero();
  for (int v = 0; v < NV; ++v) db[v] = vzero();
  // NOTE: border windows go to the general code in a second pass: a call inside this loop
  // would make GCC keep the accumulators in memory (no vector register survives a call).
  InsideWalk at(ps, q0);
  for (int64_t q = q0; q < q1; ++q, at.next(ps)) {
    if (!at.inside()) continue;
    VF g[NV], x_base[NV];
    VM any = vfirst(0);
    for (int v = 0; v < NV; ++v) {
      const int64_t e = q * OC + W * v;
      const VI idx = vi_load_u8_m(argidx + e, m[v]);
      // Passed the relu, and an argidx inside the window (one from elsewhere adds nothing,
      // as in the general code).
      const VM on = vm_and(vm_and(m[v], vgt(vload_m(pooled + e, m[v]), vzero())),
                           vi_gt(npos_v, idx));
      g[v] = vkeep(on, vload_m(dpooled + e, m[v]));
      db[v] = vadd(db[v], g[v]);
      x_base[v] = vpermute2(base_v, idx, base_v);
      any = vm_or(any, on);
    }
    if (!vmovemask(any)) continue;
    const float* x0 = src + at.x0;
    VF r[4];
    for (int i = 0; i < 4; ++i) r[i] = i < rows ? vload_m(x0 + i * s.in_w, row_m) : vzero();
    const VF patch =
        vpermute2(vpermute2(r[0], join01_v, r[1]), join_all_v, vpermute2(r[2], join01_v, r[3]));
#pragma GCC unroll 9
    for (int k = 0; k < kFirstTaps; ++k)
      for (int v = 0; v < NV; ++v) {
        const VI lane = vi_add(vbits(x_base[v]), vi_set1(tap[k]));
        acc[k][v] = vfmadd(vpermute2(patch, lane, patch), g[v], acc[k][v]);
      }
  }
#pragma GCC unroll 9
  for (int k = 0; k < kFirstTaps; ++k)
    for (int v = 0; v < NV; ++v) {
      float* wk = dkernel + k * OC + W * v;
      vstore_m(wk, vadd(vload_m(wk, m[v]), acc[k][v]), m[v]);
    }
  if (dbias)
    for (int v = 0; v < NV; ++v)
      vstore_m(dbias + W * v, vadd(vload_m(dbias + W * v, m[v]), db[v]), m[v]);
  PooledCursor border(ps, q0);
  for (int64_t q = q0; q < q1; ++q, border.next(ps))
    if (!window_inside(ps, border.py, border.px))
      pool_bwd_weights_block<NV, kFirstTaps>(ps, src, dpooled, pooled, argidx, off, 0,
                                             kFirstTaps, 0, m, dkernel, dbias, q, q + 1);
}

// The first-layer route's shapes: 3x3 taps on one channel, 1 to 32 filters.
inline bool first_layer(const Conv2DShape& s) {
  return s.in_c == 1 && s.kernel_h * s.kernel_w == kFirstTaps && s.kernel_h == 3 &&
         s.out_c <= 2 * W;
}

}  // namespace

void f32_conv_relu_maxpool_fwd_avx512(const ConvPoolShape& ps, const float* src,
                                      const float* kernel, const float* bias, float* pooled,
                                      uint8_t* argidx, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c, phw = ps.pooled_h * ps.pooled_w;
  int64_t off[32];
  const int64_t K = tap_offsets(s, off);
  if (first_layer(s)) {
    const VM m[2] = {lane_mask(OC), OC > W ? lane_mask(OC - W) : vfirst(0)};
    if (OC > W)
      first_layer_fwd<2>(ps, src, kernel, bias, off, m, pooled, argidx, q0, q1);
    else
      first_layer_fwd<1>(ps, src, kernel, bias, off, m, pooled, argidx, q0, q1);
    return;
  }
  WindowPos pos[256];
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t b = q / phw, py = (q % phw) / ps.pooled_w, px = q % ps.pooled_w;
    const int64_t npos = window_positions(ps, py, px, pos);
    float* d = pooled + q * OC;
    uint8_t* a = argidx ? argidx + q * OC : (uint8_t*)0;
    for (int64_t o0 = 0; o0 < OC; o0 += 64) {
      const int64_t n = OC - o0 < 64 ? OC - o0 : 64;
      VM m[4];
      for (int v = 0; v < 4; ++v) m[v] = n > W * v ? lane_mask(n - W * v) : vfirst(0);
      const int nv = static_cast<int>((n + 15) / 16);
      if (nv == 1)
        pool_window_fwd<1>(ps, src, kernel, bias, K, off, b, pos, npos, o0, m, d, a);
      else if (nv == 2)
        pool_window_fwd<2>(ps, src, kernel, bias, K, off, b, pos, npos, o0, m, d, a);
      else if (nv == 3)
        pool_window_fwd<3>(ps, src, kernel, bias, K, off, b, pos, npos, o0, m, d, a);
      else
        pool_window_fwd<4>(ps, src, kernel, bias, K, off, b, pos, npos, o0, m, d, a);
    }
  }
}

void f32_conv_relu_maxpool_bwd_weights_avx512(const ConvPoolShape& ps, const float* src,
                                              const float* dpooled, const float* pooled,
                                              const uint8_t* argidx, float* dkernel,
                                              float* dbias, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c;
  int64_t off[32];
  const int64_t K = tap_offsets(s, off);
  if (first_layer(s) && patch_fits(ps)) {
    const VM m[2] = {lane_mask(OC), OC > W ? lane_mask(OC - W) : vfirst(0)};
    if (OC > W)
      first_layer_bwd_weights<2>(ps, src, dpooled, pooled, argidx, off, m, dkernel, dbias, q0,
                                 q1);
    else
      first_layer_bwd_weights<1>(ps, src, dpooled, pooled, argidx, off, m, dkernel, dbias, q0,
                                 q1);
    return;
  }
  // 32 channels x 12 taps (24 accumulators) per pass over the pixels; narrower channel
  // remainders take 16 channels x 24 taps.
  for (int64_t o0 = 0; o0 < OC;) {
    VM m[2];
    if (OC - o0 > 16) {
      m[0] = lane_mask(OC - o0);
      m[1] = lane_mask(OC - o0 - 16);
      if (K == 9)  // 3x3 kernels on one channel (the tutorial CNN): no idle taps
        pool_bwd_weights_block<2, 9>(ps, src, dpooled, pooled, argidx, off, 0, 9, o0, m,
                                     dkernel, dbias, q0, q1);
      else
        for (int64_t k0 = 0; k0 < K; k0 += 12)
          pool_bwd_weights_block<2, 12>(ps, src, dpooled, pooled, argidx, off, k0,
                                        K - k0 < 12 ? K - k0 : 12, o0, m, dkernel, dbias, q0, q1);
      o0 += 32;
    } else {
      m[0] = lane_mask(OC - o0);
      for (int64_t k0 = 0; k0 < K; k0 += 24)
        pool_bwd_weights_block<1, 24>(ps, src, dpooled, pooled, argidx, off, k0,
                                      K - k0 < 24 ? K - k0 : 24, o0, m, dkernel, dbias, q0, q1);
      o0 += 16;
    }
  }
}

}  // namespace nnfast::kernels
