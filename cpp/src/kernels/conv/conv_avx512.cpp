// AVX-512 convolution kernels: the depthwise/relu loops of depthwise_impl.h vectorised by the
// compiler, a register-blocked direct convolution for small kh*kw*in_c layers, and the fused
// conv + relu + max-pool built on it.
#include <immintrin.h>

#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/depthwise_impl.h"

NNFAST_DEFINE_DEPTHWISE(avx512)

namespace nnfast::kernels {
namespace {

inline __mmask16 lane_mask(int64_t remaining) {
  return remaining >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << remaining) - 1u);
}

// One output pixel, output channels [o0, o0 + 16*NV) (the last vector masked): accumulators
// stay in registers across every tap and input channel.
template <int NV>
inline void direct_pixel(const Conv2DShape& s, const float* src, const float* kernel,
                         const float* bias, int relu, float* d, int64_t b, int64_t oh,
                         int64_t ow, int64_t o0, const __mmask16* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  __m512 acc[NV];
  for (int v = 0; v < NV; ++v)
    acc[v] = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const __m512 xv = _mm512_set1_ps(x[ci]);
        for (int v = 0; v < NV; ++v)
          acc[v] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[v], w + ci * OC + 16 * v), acc[v]);
      }
    }
  }
  for (int v = 0; v < NV; ++v) {
    __m512 r = relu ? _mm512_maskz_max_ps((__mmask16)0xFFFF, acc[v], _mm512_setzero_ps()) : acc[v];
    _mm512_mask_storeu_ps(d + o0 + 16 * v, m[v], r);
  }
}

// Four horizontally adjacent output pixels whose windows lie inside the input columns: each
// weight vector loaded once feeds four FMAs (one per pixel).
template <int NV>
inline void direct_pixel4(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t o0, const __mmask16* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  const int64_t xstep = s.stride_w * C;  // input distance between adjacent output pixels
  __m512 acc[4][NV];
  for (int v = 0; v < NV; ++v) {
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
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
        const __m512 x0 = _mm512_set1_ps(x[ci]), x1 = _mm512_set1_ps(x[ci + xstep]);
        const __m512 x2 = _mm512_set1_ps(x[ci + 2 * xstep]), x3 = _mm512_set1_ps(x[ci + 3 * xstep]);
        for (int v = 0; v < NV; ++v) {
          const __m512 wv = _mm512_maskz_loadu_ps(m[v], w + ci * OC + 16 * v);
          acc[0][v] = _mm512_fmadd_ps(x0, wv, acc[0][v]);
          acc[1][v] = _mm512_fmadd_ps(x1, wv, acc[1][v]);
          acc[2][v] = _mm512_fmadd_ps(x2, wv, acc[2][v]);
          acc[3][v] = _mm512_fmadd_ps(x3, wv, acc[3][v]);
        }
      }
    }
  }
  for (int j = 0; j < 4; ++j)
    for (int v = 0; v < NV; ++v) {
      __m512 r = relu ? _mm512_maskz_max_ps((__mmask16)0xFFFF, acc[j][v], _mm512_setzero_ps())
                      : acc[j][v];
      _mm512_mask_storeu_ps(d + j * OC + o0 + 16 * v, m[v], r);
    }
}

template <int NV>
inline void direct_pixels(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t count, int64_t o0, const __mmask16* m) {
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
                    const __mmask16* m, __m512* acc) {
  const int64_t C = s.in_c, OC = s.out_c;
  for (int v = 0; v < NV; ++v)
    acc[v] = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const __m512 xv = _mm512_set1_ps(x[ci]);
        for (int v = 0; v < NV; ++v)
          acc[v] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[v], w + ci * OC + 16 * v), acc[v]);
      }
    }
  }
}

// Four interior positions (window starts x[0..3]): each weight vector loaded once feeds four
// FMAs.
template <int NV>
inline void conv_at4(const float* kernel, const float* bias, int64_t K, const int64_t* off,
                     int64_t OC, const float* const* x, int64_t o0, const __mmask16* m,
                     __m512 (*acc)[NV]) {
  for (int v = 0; v < NV; ++v) {
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
    acc[0][v] = acc[1][v] = acc[2][v] = acc[3][v] = b0;
  }
  const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
  for (int64_t k = 0; k < K; ++k) {
    const int64_t o = off[k];
    const __m512 a0 = _mm512_set1_ps(x0[o]), a1 = _mm512_set1_ps(x1[o]);
    const __m512 a2 = _mm512_set1_ps(x2[o]), a3 = _mm512_set1_ps(x3[o]);
    const float* w = kernel + k * OC + o0;
    for (int v = 0; v < NV; ++v) {
      const __m512 wv = _mm512_maskz_loadu_ps(m[v], w + 16 * v);
      acc[0][v] = _mm512_fmadd_ps(a0, wv, acc[0][v]);
      acc[1][v] = _mm512_fmadd_ps(a1, wv, acc[1][v]);
      acc[2][v] = _mm512_fmadd_ps(a2, wv, acc[2][v]);
      acc[3][v] = _mm512_fmadd_ps(a3, wv, acc[3][v]);
    }
  }
}

// Running max with the first-maximum index (strict '>' in ascending window order).
template <int NV>
inline void take_max(const __m512* acc, int32_t j, __m512* best, __m512i* idx) {
  const __m512i jv = _mm512_set1_epi32(j);
  for (int v = 0; v < NV; ++v) {
    // A greater value, or a NaN (which then stays: NaN propagates as relu and max pooling
    // propagate it).
    const __mmask16 t = _mm512_cmp_ps_mask(acc[v], best[v], _CMP_GT_OQ) |
                        _mm512_cmp_ps_mask(acc[v], acc[v], _CMP_UNORD_Q);
    best[v] = _mm512_mask_mov_ps(best[v], t, acc[v]);
    idx[v] = _mm512_mask_mov_epi32(idx[v], t, jv);
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
                     const WindowPos* pos, int64_t npos, int64_t o0, const __mmask16* m,
                     float* pooled, uint8_t* argidx) {
  const Conv2DShape& s = ps.conv;
  const int64_t OC = s.out_c;
  __m512 best[NV];
  __m512i idx[NV];
  for (int v = 0; v < NV; ++v) {
    best[v] = _mm512_set1_ps(-__builtin_inff());
    idx[v] = _mm512_setzero_si512();
  }
  int64_t i = 0;
  while (i < npos) {
    if (i + 4 <= npos && pos[i].inside && pos[i + 1].inside && pos[i + 2].inside &&
        pos[i + 3].inside) {
      const float* x[4];
      for (int j = 0; j < 4; ++j)
        x[j] = src + ((b * s.in_h + pos[i + j].oh * s.stride_h - s.pad_top) * s.in_w +
                      pos[i + j].ow * s.stride_w - s.pad_left) * s.in_c;
      __m512 acc[4][NV];
      conv_at4<NV>(kernel, bias, K, off, OC, x, o0, m, acc);
      for (int j = 0; j < 4; ++j) take_max<NV>(acc[j], pos[i + j].j, best, idx);
      i += 4;
    } else {
      __m512 acc[NV];
      conv_at<NV>(s, src, kernel, bias, b, pos[i].oh, pos[i].ow, o0, m, acc);
      take_max<NV>(acc, pos[i].j, best, idx);
      i += 1;
    }
  }
  for (int v = 0; v < NV; ++v) {
    // maskz_ forms: GCC 12 warns on the plain forms' undefined pass-through operand. maxps
    // returns its second operand when either is NaN: best second keeps a NaN.
    _mm512_mask_storeu_ps(pooled + o0 + 16 * v, m[v],
                          _mm512_maskz_max_ps((__mmask16)0xFFFF, _mm512_setzero_ps(), best[v]));
    if (argidx) _mm512_mask_cvtepi32_storeu_epi8(argidx + o0 + 16 * v, m[v], idx[v]);
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
                            int64_t k0, int64_t kc, int64_t o0, const __mmask16* m,
                            float* dkernel, float* dbias, int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t C = s.in_c, OC = s.out_c, phw = ps.pooled_h * ps.pooled_w;
  __m512 acc[KC][NV], db[NV];
  for (int k = 0; k < KC; ++k)
    for (int v = 0; v < NV; ++v) acc[k][v] = _mm512_setzero_ps();
  for (int v = 0; v < NV; ++v) db[v] = _mm512_setzero_ps();
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
    __m512 g[NV];
    __mmask16 on[NV];
    __m512i idx[NV];
    __mmask16 any = 0;
    for (int v = 0; v < NV; ++v) {
      const int64_t e = q * OC + o0 + 16 * v;
      g[v] = _mm512_maskz_loadu_ps(m[v], dpooled + e);
      on[v] = _mm512_mask_cmp_ps_mask(m[v], _mm512_maskz_loadu_ps(m[v], pooled + e),
                                      _mm512_setzero_ps(), _CMP_GT_OQ);
      idx[v] = _mm512_maskz_cvtepu8_epi32(m[v], _mm_maskz_loadu_epi8(m[v], argidx + e));
      db[v] = _mm512_add_ps(db[v], _mm512_maskz_mov_ps(on[v], g[v]));
      any |= on[v];
    }
    if (!any) continue;
    const int64_t npos = window_positions(ps, py, px, pos);
    for (int64_t i = 0; i < npos; ++i) {
      const __m512i jv = _mm512_set1_epi32(pos[i].j);
      __m512 gj[NV];
      __mmask16 hit = 0;
      for (int v = 0; v < NV; ++v) {
        const __mmask16 mj = _mm512_mask_cmpeq_epi32_mask(on[v], idx[v], jv);
        gj[v] = _mm512_maskz_mov_ps(mj, g[v]);
        hit |= mj;
      }
      if (!hit) continue;
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
        const __m512 xv = _mm512_set1_ps(x[xo[k]]);
        for (int v = 0; v < NV; ++v) acc[k][v] = _mm512_fmadd_ps(xv, gj[v], acc[k][v]);
      }
    }
  }
#pragma GCC unroll 24
  for (int k = 0; k < KC; ++k) {
    if (k >= kc) continue;
    float* w = dkernel + (k0 + k) * OC + o0;
    for (int v = 0; v < NV; ++v)
      _mm512_mask_storeu_ps(w + 16 * v, m[v],
                            _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], w + 16 * v), acc[k][v]));
  }
  if (dbias && k0 == 0)
    for (int v = 0; v < NV; ++v)
      _mm512_mask_storeu_ps(dbias + o0 + 16 * v, m[v],
                            _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], dbias + o0 + 16 * v), db[v]));
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
      __mmask16 m[4];
      for (int v = 0; v < 4; ++v) m[v] = n > 16 * v ? lane_mask(n - 16 * v) : (__mmask16)0;
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
    __mmask16 m[2];
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
  __mmask16 m[NV];
  for (int v = 0; v < NV; ++v)
    m[v] = nc > 16 * v ? lane_mask(nc - 16 * v) : (__mmask16)0;
  // The output rows are written at the end: ask for their lines now, so the stores do not
  // wait on memory (most feature maps are far larger than the caches).
  for (int i = 0; i < P; ++i)
    for (int v = 0; v < NV; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(dst + i * ldd + 16 * v), _MM_HINT_T0);
  __m512 acc[P][NV];
  if (flags & kConvTileAccumulate) {
#pragma GCC unroll 14
    for (int i = 0; i < P; ++i) {
      const __mmask16 live = i < mr ? (__mmask16)0xFFFF : (__mmask16)0;
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm512_maskz_loadu_ps(m[v] & live, dst + i * ldd + 16 * v);
    }
  } else {
    for (int v = 0; v < NV; ++v) {
      const __m512 b =
          bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
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
      _mm_prefetch(reinterpret_cast<const char*>(w + (ci + 8) * out_c), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w + (ci + 8) * out_c + 16), _MM_HINT_T0);
      __m512 wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = _mm512_maskz_loadu_ps(m[v], w + ci * out_c + 16 * v);
#pragma GCC unroll 14
      for (int i = 0; i < P; ++i) {
        const __m512 a = _mm512_set1_ps(xt[i][ci]);
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a, wv[v], acc[i][v]);
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  // NOTE: every loop over acc is fully unrolled with constant indices; a data-dependent exit
  // here made GCC keep acc in memory and store it on every FMA step.
#pragma GCC unroll 14
  for (int i = 0; i < P; ++i) {
    const __mmask16 live = i < mr ? (__mmask16)0xFFFF : (__mmask16)0;
    for (int v = 0; v < NV; ++v) {
      __m512 r = acc[i][v];
      if (relu) r = _mm512_maskz_max_ps((__mmask16)0xFFFF, r, zero);
      _mm512_mask_storeu_ps(dst + i * ldd + 16 * v, m[v] & live, r);
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
      __mmask16 m[4];
      for (int v = 0; v < 4; ++v) m[v] = n > 16 * v ? lane_mask(n - 16 * v) : (__mmask16)0;
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
      __mmask16 m = lane_mask(OC - o0);
      __mmask16 mg = m;
      if (relu_y)  // a fused relu passes the gradient only where its output is positive
        mg = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, relu_y + p * OC + o0),
                                     _mm512_setzero_ps(), _CMP_GT_OQ);
      const __m512 gv = _mm512_maskz_loadu_ps(mg, g + o0);
      if (dbias)
        _mm512_mask_storeu_ps(dbias + o0, m,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(m, dbias + o0), gv));
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
            _mm512_mask_storeu_ps(
                wr, m, _mm512_fmadd_ps(_mm512_set1_ps(x[ci]), gv, _mm512_maskz_loadu_ps(m, wr)));
          }
        }
      }
    }
  }
}

}  // namespace nnfast::kernels
