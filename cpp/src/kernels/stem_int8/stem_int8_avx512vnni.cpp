// AVX512_VNNI int8 stem kernels (see stem_int8_kernels.h): four output pixels at a time, up to
// four blocks of 16 output channels per pass; each window dword is one broadcast from the
// padded image and one vpdpbusd per block against its 64 weight bytes. The epilogue runs in
// registers: offset removed, one fused multiply-add, the clamp, the store, the maxima.
#include <immintrin.h>
#include <string.h>

#include "kernels/stem_int8/stem_int8_kernels.h"

namespace nnfast::kernels {
namespace {

inline __m512i broadcast_dword(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// P pixels (windows at row + i * step) x B blocks of 16 channels starting at block j0.
template <int P, int B>
void pixels_blocks(const Int8StemArgs& a, const uint8_t* row, int64_t j0, float* dst,
                   __m512i* maxima) {
  const int64_t blocks = a.np / 16;
  __m512i acc[P][B];
  for (int b = 0; b < B; ++b) {
    const __m512i off = _mm512_loadu_si512(a.offset_sum + (j0 + b) * 16);
    for (int i = 0; i < P; ++i) acc[i][b] = _mm512_sub_epi32(_mm512_setzero_si512(), off);
  }
  for (int64_t d = 0; d < a.dwords; ++d) {
    const int8_t* w = a.weights + (d * blocks + j0) * 64;
    __m512i wv[B];
    for (int b = 0; b < B; ++b) wv[b] = _mm512_loadu_si512(w + b * 64);
    const uint8_t* x = row + a.dword_offset[d];
    for (int i = 0; i < P; ++i) {
      const __m512i xv = broadcast_dword(x + i * a.pixel_step);
      for (int b = 0; b < B; ++b) acc[i][b] = _mm512_dpbusd_epi32(acc[i][b], xv, wv[b]);
    }
  }
  const __m512 lo = _mm512_set1_ps(a.lo), hi = _mm512_set1_ps(a.hi);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
  for (int b = 0; b < B; ++b) {
    const int64_t j = (j0 + b) * 16;
    const __m512 mult = _mm512_loadu_ps(a.mult + j), bias = _mm512_loadu_ps(a.bias + j);
    const int64_t cols = a.n - j < 16 ? a.n - j : 16;
    const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1u);
    for (int i = 0; i < P; ++i) {
      __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][b]), mult, bias);
      v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
      _mm512_mask_storeu_ps(dst + i * a.n + j, mask, v);
      const __m512i bits = _mm512_and_si512(_mm512_castps_si512(v), abs_mask);
      maxima[j0 + b] = _mm512_mask_max_epu32(maxima[j0 + b], mask, maxima[j0 + b], bits);
    }
  }
}

template <int P>
void pixels(const Int8StemArgs& a, const uint8_t* row, float* dst, __m512i* maxima) {
  const int64_t blocks = a.np / 16;
  for (int64_t j0 = 0; j0 < blocks;) {
    switch (blocks - j0) {
      case 1: pixels_blocks<P, 1>(a, row, j0, dst, maxima); j0 += 1; break;
      case 2: pixels_blocks<P, 2>(a, row, j0, dst, maxima); j0 += 2; break;
      case 3: pixels_blocks<P, 3>(a, row, j0, dst, maxima); j0 += 3; break;
      default: pixels_blocks<P, 4>(a, row, j0, dst, maxima); j0 += 4; break;
    }
  }
}

}  // namespace

void s8_stem_row_avx512vnni(const Int8StemArgs& a, const uint8_t* row, int64_t out_w,
                            float* dst, uint32_t* max_bits) {
  const int64_t blocks = a.np / 16;
  __m512i maxima[64];  // (the driver keeps np <= 1024)
  for (int64_t b = 0; b < blocks; ++b) maxima[b] = _mm512_setzero_si512();
  int64_t ow = 0;
  for (; ow + 4 <= out_w; ow += 4)
    pixels<4>(a, row + ow * a.pixel_step, dst + ow * a.n, maxima);
  for (; ow < out_w; ++ow) pixels<1>(a, row + ow * a.pixel_step, dst + ow * a.n, maxima);
  for (int64_t b = 0; b < blocks; ++b) {
    alignas(64) uint32_t m[16];
    _mm512_store_si512(m, maxima[b]);
    for (int64_t j = b * 16; j < a.n && j < b * 16 + 16; ++j)
      if (m[j - b * 16] > max_bits[j]) max_bits[j] = m[j - b * 16];
  }
}

uint32_t s8_stem_absmax_avx512vnni(const float* x, int64_t n) {
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
  __m512i mx = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    mx = _mm512_max_epu32(mx, _mm512_and_si512(_mm512_loadu_si512(x + i), abs_mask));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    mx = _mm512_max_epu32(mx, _mm512_and_si512(_mm512_maskz_loadu_epi32(m, x + i), abs_mask));
  }
  return static_cast<uint32_t>(_mm512_reduce_max_epu32(mx));
}

void s8_stem_quantize_avx512vnni(const float* x, int64_t n, float scale, uint8_t* dst) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127),
                off = _mm512_set1_epi32(128);
  for (int64_t i = 0; i < n; i += 16) {
    const int64_t left = n - i < 16 ? n - i : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << left) - 1u);
    // cvtps rounds half to even under the default MXCSR, as nearbyintf does.
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), s));
    q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, lo), hi), off);
    _mm_mask_storeu_epi8(dst + i, m, _mm512_cvtepi32_epi8(q));
  }
}

}  // namespace nnfast::kernels
