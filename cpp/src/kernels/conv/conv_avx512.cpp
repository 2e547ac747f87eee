// AVX-512 convolution kernels: the depthwise/relu loops of depthwise_impl.h vectorised by the
// compiler, a register-blocked direct convolution for small kh*kw*in_c layers, and the fused
// conv + relu + max-pool built on it. Written over the vector vocabulary (simd_avx512.h).
#include "kernels/simd_avx512.h"

#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/depthwise_impl.h"

NNFAST_DEFINE_DEPTHWISE(avx512)

namespace nnfast::kernels {
namespace {

// The first min(remaining, W) lanes; remaining > 0.
inline VM lane_mask(int64_t remaining) { return vfirst(remaining >= W ? W : remaining); }

// One output pixel, output channels [o0, o0 + 16*NV) (the last vector masked): accumulators
// stay in registers across every tap and input channel.
template <int NV>
inline void direct_pixel(const Conv2DShape& s, const float* src, const float* kernel,
                         const float* bias, int relu, float* d, int64_t b, int64_t oh,
                         int64_t ow, int64_t o0, const VM* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  VF acc[NV];
  for (int v = 0; v < NV; ++v)
    acc[v] = bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const VF xv = vset1(x[ci]);
        for (int v = 0; v < NV; ++v)
          acc[v] = vfmadd(xv, vload_m(w + ci * OC + W * v, m[v]), acc[v]);
      }
    }
  }
  for (int v = 0; v < NV; ++v) {
    VF r = relu ? vmax(acc[v], vzero()) : acc[v];
    vstore_m(d + o0 + W * v, r, m[v]);
  }
}

// Four horizontally adjacent output pixels whose windows lie inside the input columns: each
// weight vector loaded once feeds four FMAs (one per pixel).
template <int NV>
inline void direct_pixel4(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t o0, const VM* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  const int64_t xstep = s.stride_w * C;  // input distance between adjacent output pixels
  VF acc[4][NV];
  for (int v = 0; v < NV; ++v) {
    const VF b0 = bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
    for (int j = 0; j < 4; ++j) acc[j][v] = b0;
  }
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const VF x0 = vset1(x[ci]), x1 = vset1(x[ci + xstep]);
        const VF x2 = vset1(x[ci + 2 * xstep]), x3 = vset1(x[ci + 3 * xstep]);
        for (int v = 0; v < NV; ++v) {
          const VF wv = vload_m(w + ci * OC + W * v, m[v]);
          acc[0][v] = vfmadd(x0, wv, acc[0][v]);
          acc[1][v] = vfmadd(x1, wv, acc[1][v]);
          acc[2][v] = vfmadd(x2, wv, acc[2][v]);
          acc[3][v] = vfmadd(x3, wv, acc[3][v]);
        }
      }
    }
  }
  for (int j = 0; j < 4; ++j)
    for (int v = 0; v < NV; ++v) {
      VF r = relu ? vmax(acc[j][v], vzero())
                      : acc[j][v];
      vstore_m(d + j * OC + o0 + W * v, r, m[v]);
    }
}

template <int NV>
inline void direct_pixels(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t count, int64_t o0, const VM* m) {
  // 4 pixels at once where the whole block's windows are inside the input columns.
  const int64_t span = (s.kernel_w - 1) * s.dilation_w;
  int64_t j = 0;
  for (; j < count; ++j) {
    const int64_t c = ow + j;
    if (j + 4 <= count && c * s.stride_w - s.pad_left >= 0 &&
        (c + 3) * s.stride_w - s.pad_left + span < s.in_w) {
      direct_pixel4<NV>(s, src, kernel, bias, relu, d + j * s.out_c, b, oh, c, o0, m);
      j += 3;
    } else {
      direct_pixel<NV>(s, src, kernel, bias, relu, d + j * s.out_c, b, oh, c, o0, m);
    }
  }
}

// --- fused conv + relu + max-pool -------------------------------------------------------------

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

// Pre-activation conv output at one position, taps bounds-checked; the same operation order as
// direct_pixel (bias, then taps in kernel row order), so fused and unfused agree bit for bit.
template <int NV>
inline void conv_at(const Conv2DShape& s, const float* src, const float* kernel,
                    const float* bias, int64_t b, int64_t oh, int64_t ow, int64_t o0,
                    const VM* m, VF* acc) {
  const int64_t C = s.in_c, OC = s.out_c;
  for (int v = 0; v < NV; ++v)
    acc[v] = bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const VF xv = vset1(x[ci]);
        for (int v = 0; v < NV; ++v)
          acc[v] = vfmadd(xv, vload_m(w + ci * OC + W * v, m[v]), acc[v]);
      }
    }
  }
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

}  // namespace

void f32_conv_relu_maxpool_fwd_avx512(const ConvPoolShape& ps, const float* src,
                                      const float* kernel, const float* bias, float* pooled,
                                      uint8_t* argidx, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c, phw = ps.pooled_h * ps.pooled_w;
  int64_t off[32];
  const int64_t K = tap_offsets(s, off);
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

namespace {

// P pixels x 16*NV channels (P*NV accumulators in registers).
template <int P, int NV>
inline void conv_tile(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                      const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                      int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd) {
  const int relu = flags & kConvTileRelu;
  VM m[NV];
  for (int v = 0; v < NV; ++v)
    m[v] = nc > W * v ? lane_mask(nc - W * v) : vfirst(0);
  // The output rows are written at the end: ask for their lines now, so the stores do not
  // wait on memory (most feature maps are far larger than the caches).
  for (int i = 0; i < P; ++i)
    for (int v = 0; v < NV; ++v)
      vprefetch(dst + i * ldd + W * v);
  VF acc[P][NV];
  if (flags & kConvTileAccumulate) {
#pragma GCC unroll 14
    for (int i = 0; i < P; ++i) {
      const VM live = i < mr ? vfirst(W) : vfirst(0);
      for (int v = 0; v < NV; ++v)
        acc[i][v] = vload_m(dst + i * ldd + W * v, vm_and(m[v], live));
    }
  } else {
    for (int v = 0; v < NV; ++v) {
      const VF b =
          bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
#pragma GCC unroll 14
      for (int i = 0; i < P; ++i) acc[i][v] = b;
    }
  }
  for (int64_t t = 0; t < ntaps; ++t) {
    const float* const* xt = x + t * kConvTilePixels;
    const float* w = kernel + tap[t] * in_c * out_c + o0;
    for (int64_t ci = 0; ci < in_c; ++ci) {
      // The kernel rows are out_c apart: fetch a few ahead (cold weights stream from DRAM
      // at batch 1, where each row feeds only a few tiles).
      vprefetch(w + (ci + 8) * out_c);
      vprefetch(w + (ci + 8) * out_c + 16);
      VF wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = vload_m(w + ci * out_c + W * v, m[v]);
#pragma GCC unroll 14
      for (int i = 0; i < P; ++i) {
        const VF a = vset1(xt[i][ci]);
        for (int v = 0; v < NV; ++v) acc[i][v] = vfmadd(a, wv[v], acc[i][v]);
      }
    }
  }
  const VF zero = vzero();
  // NOTE: every loop over acc is fully unrolled with constant indices; a data-dependent exit
  // here made GCC keep acc in memory and store it on every FMA step.
#pragma GCC unroll 14
  for (int i = 0; i < P; ++i) {
    const VM live = i < mr ? vfirst(W) : vfirst(0);
    for (int v = 0; v < NV; ++v) {
      VF r = acc[i][v];
      if (relu) r = vmax(r, zero);
      vstore_m(dst + i * ldd + W * v, r, vm_and(m[v], live));
    }
  }
}

}  // namespace

void f32_conv_tile_avx512(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                          const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                          int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd) {
  // NOTE: 14 x 32 measured ~10% faster than 7 pixels x 64 channels on the 3x3 56x56x64
  // layer, although the latter loads fewer values per FMA.
  conv_tile<kConvTilePixels, 2>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, nc, mr, flags,
                                dst, ldd);
}

void f32_direct_conv_fwd_avx512(const Conv2DShape& s, const float* src, const float* kernel,
                                const float* bias, int relu, float* dst, int64_t p0,
                                int64_t p1) {
  const int64_t OC = s.out_c, hw = s.out_h * s.out_w;
  // Walk [p0, p1) in runs of pixels that share one output row.
  for (int64_t p = p0; p < p1;) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    const int64_t count = (s.out_w - ow) < (p1 - p) ? (s.out_w - ow) : (p1 - p);
    float* d = dst + p * OC;
    for (int64_t o0 = 0; o0 < OC; o0 += 64) {
      const int64_t n = OC - o0 < 64 ? OC - o0 : 64;
      VM m[4];
      for (int v = 0; v < 4; ++v) m[v] = n > W * v ? lane_mask(n - W * v) : vfirst(0);
      switch ((n + 15) / 16) {
        case 1: direct_pixels<1>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
        case 2: direct_pixels<2>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
        case 3: direct_pixels<3>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
        default: direct_pixels<4>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
      }
    }
    p += count;
  }
}

void f32_direct_conv_bwd_weights_avx512(const Conv2DShape& s, const float* src,
                                        const float* ddst, const float* relu_y, float* dkernel,
                                        float* dbias, int64_t p0, int64_t p1) {
  const int64_t C = s.in_c, OC = s.out_c, hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    const float* g = ddst + p * OC;
    for (int64_t o0 = 0; o0 < OC; o0 += 16) {
      VM m = lane_mask(OC - o0);
      VM mg = m;
      if (relu_y)  // a fused relu passes the gradient only where its output is positive
        mg = vm_and(m, vgt(vload_m(relu_y + p * OC + o0, m), vzero()));
      const VF gv = vload_m(g + o0, mg);
      if (dbias)
        vstore_m(dbias + o0, vadd(vload_m(dbias + o0, m), gv), m);
      for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
        const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        if (ih < 0 || ih >= s.in_h) continue;
        for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
          const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
          if (iw < 0 || iw >= s.in_w) continue;
          const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
          float* w = dkernel + (kh * s.kernel_w + kw) * C * OC + o0;
          for (int64_t ci = 0; ci < C; ++ci) {
            float* wr = w + ci * OC;
            vstore_m(wr, vfmadd(vset1(x[ci]), gv, vload_m(wr, m)), m);
          }
        }
      }
    }
  }
}

}  // namespace nnfast::kernels
