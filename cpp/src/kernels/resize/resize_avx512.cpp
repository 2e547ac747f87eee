// Bilinear resize for AVX-512: the loops of resize_ref.cpp with the contiguous axis in
// 16-lane vectors (masked tails). channels == 1 (channels_first batches are resized as
// (n*c, h, w, 1)) does 16 output columns at a time (register permutes, or gathers for strong
// downsampling) instead of wasting 15 lanes.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/resize/resize_kernels.h"

namespace nnfast::kernels {
namespace {

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

// dst[k] = wa * a[k] + wc * c[k], k < n.
inline void lerp_line(const float* a, const float* c, float wa, float wc, float* dst,
                      int64_t n) {
  const __m512 va = _mm512_set1_ps(wa), vc = _mm512_set1_ps(wc);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    _mm512_storeu_ps(dst + k, _mm512_fmadd_ps(vc, _mm512_loadu_ps(c + k),
                                              _mm512_mul_ps(va, _mm512_loadu_ps(a + k))));
  if (k < n) {
    const __mmask16 m = tail_mask(n - k);
    _mm512_mask_storeu_ps(dst + k, m,
                          _mm512_fmadd_ps(vc, _mm512_maskz_loadu_ps(m, c + k),
                                          _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, a + k))));
  }
}

// acc[k] += w * g[k], k < n.
inline void axpy_line(float w, const float* g, float* acc, int64_t n) {
  const __m512 vw = _mm512_set1_ps(w);
  int64_t k = 0;
  for (; k + 16 <= n; k += 16)
    _mm512_storeu_ps(acc + k,
                     _mm512_fmadd_ps(vw, _mm512_loadu_ps(g + k), _mm512_loadu_ps(acc + k)));
  if (k < n) {
    const __mmask16 m = tail_mask(n - k);
    _mm512_mask_storeu_ps(acc + k, m,
                          _mm512_fmadd_ps(vw, _mm512_maskz_loadu_ps(m, g + k),
                                          _mm512_maskz_loadu_ps(m, acc + k)));
  }
}

// Width axis of one row: d[ow, :] = w0[ow] * line[lo[ow], :] + w1[ow] * line[hi[ow], :].
void cols_fwd(const ResizeAxis& cols, const float* line, int64_t in_w, int64_t out_w, int64_t C,
              float* d) {
  if (C == 1) {
    for (int64_t ow = 0; ow < out_w; ow += 16) {
      const __mmask16 m = tail_mask(out_w - ow);
      const int64_t last = ow + 15 < out_w ? ow + 15 : out_w - 1;
      const int32_t base = cols.lo[ow];
      __m512i lo = _mm512_maskz_loadu_epi32(m, cols.lo + ow);
      __m512i hi = _mm512_maskz_loadu_epi32(m, cols.hi + ow);
      __m512 p, q;
      if (cols.hi[last] - base < 32) {
        // The block's taps lie within 32 consecutive inputs (any upsampling, downsampling by
        // less than 2): two loads and in-register permutes instead of gathers.
        const int64_t avail = in_w - base;
        const __m512 x0 = _mm512_maskz_loadu_ps(tail_mask(avail), line + base);
        const __m512 x1 = _mm512_maskz_loadu_ps(avail > 16 ? tail_mask(avail - 16) : 0,
                                                line + base + 16);
        const __m512i vb = _mm512_set1_epi32(base);
        lo = _mm512_sub_epi32(lo, vb);
        hi = _mm512_sub_epi32(hi, vb);
        p = _mm512_permutex2var_ps(x0, lo, x1);
        q = _mm512_permutex2var_ps(x0, hi, x1);
      } else {
        p = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, lo, line, 4);
        q = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, hi, line, 4);
      }
      const __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, cols.w1 + ow), q,
                                       _mm512_mul_ps(_mm512_maskz_loadu_ps(m, cols.w0 + ow), p));
      _mm512_mask_storeu_ps(d + ow, m, v);
    }
    return;
  }
  for (int64_t ow = 0; ow < out_w; ++ow)
    lerp_line(line + cols.lo[ow] * C, line + cols.hi[ow] * C, cols.w0[ow], cols.w1[ow],
              d + ow * C, C);
}

void fwd(const Resize2DShape& s, const ResizeAxis& rows, const ResizeAxis& cols,
         const float* src, float* dst, float* scratch, int64_t r0, int64_t r1) {
  const int64_t C = s.channels, n = s.in_w * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / s.out_h, oh = r % s.out_h;
    const float* a = src + (b * s.in_h + rows.lo[oh]) * n;
    const float* c = src + (b * s.in_h + rows.hi[oh]) * n;
    const float wa = rows.w0[oh], wc = rows.w1[oh];
    const float* line = a;
    if (wc != 0.0f || wa != 1.0f) {
      lerp_line(a, c, wa, wc, scratch, n);
      line = scratch;
    }
    cols_fwd(cols, line, s.in_w, s.out_w, C, dst + r * s.out_w * C);
  }
}

void bwd(const Resize2DShape& s, const ResizeAxis& rows, const ResizeAxis& cols,
         const float* ddst, float* dsrc, float* scratch, int64_t r0, int64_t r1) {
  const int64_t C = s.channels, n = s.out_w * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / s.in_h, ih = r % s.in_h;
    float* d = dsrc + r * s.in_w * C;
    const int64_t o0 = rows.first[ih], o1 = rows.last[ih];
    if (o0 >= o1) {
      memset(d, 0, (size_t)(s.in_w * C) * sizeof(float));
      continue;
    }
    memset(scratch, 0, (size_t)n * sizeof(float));
    for (int64_t oh = o0; oh < o1; ++oh)
      axpy_line(tap_weight(rows, oh, ih), ddst + (b * s.out_h + oh) * n, scratch, n);
    if (C == 1) {
      // Few taps per input column: scalar sums beat masked one-lane vectors.
      for (int64_t iw = 0; iw < s.in_w; ++iw) {
        float acc = 0.0f;
        for (int64_t ow = cols.first[iw]; ow < cols.last[iw]; ++ow)
          acc += tap_weight(cols, ow, iw) * scratch[ow];
        d[iw] = acc;
      }
      continue;
    }
    for (int64_t iw = 0; iw < s.in_w; ++iw) {
      float* di = d + iw * C;
      memset(di, 0, (size_t)C * sizeof(float));
      for (int64_t ow = cols.first[iw]; ow < cols.last[iw]; ++ow)
        axpy_line(tap_weight(cols, ow, iw), scratch + ow * C, di, C);
    }
  }
}

}  // namespace

const ResizeKernels f32_resize_avx512 = {fwd, bwd, "f32_resize_avx512"};

}  // namespace nnfast::kernels
