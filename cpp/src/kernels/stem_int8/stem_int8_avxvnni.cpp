// AVX-VNNI int8 stem kernels (256-bit vpdpbusd, for CPUs without AVX-512; see
// stem_int8_kernels.h): as the AVX512_VNNI kernels, each 64-byte block of 16 channels as two
// ymm halves of 8. Compiled with target attributes, so the file needs no special flags.
#include <immintrin.h>
#include <string.h>

#include "kernels/stem_int8/stem_int8_kernels.h"

#define NNFAST_AVXVNNI __attribute__((target("avxvnni,avx2,fma")))

namespace nnfast::kernels {
namespace {

// P pixels x H halves (8 channels each) starting at half h0.
template <int P, int H>
NNFAST_AVXVNNI void pixels_halves(const Int8StemArgs& a, const uint8_t* row, int64_t h0,
                                  float* dst, __m256i* maxima) {
  const int64_t blocks = a.np / 16;
  __m256i acc[P][H];
  for (int h = 0; h < H; ++h) {
    const __m256i off = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(a.offset_sum + (h0 + h) * 8));
    for (int i = 0; i < P; ++i) acc[i][h] = _mm256_sub_epi32(_mm256_setzero_si256(), off);
  }
  for (int64_t d = 0; d < a.dwords; ++d) {
    const int8_t* w = a.weights + d * blocks * 64 + h0 * 32;
    __m256i wv[H];
    for (int h = 0; h < H; ++h)
      wv[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + h * 32));
    const uint8_t* x = row + a.dword_offset[d];
    for (int i = 0; i < P; ++i) {
      int32_t v;
      memcpy(&v, x + i * a.pixel_step, sizeof(v));
      const __m256i xv = _mm256_set1_epi32(v);
      for (int h = 0; h < H; ++h) acc[i][h] = _mm256_dpbusd_avx_epi32(acc[i][h], xv, wv[h]);
    }
  }
  const __m256 lo = _mm256_set1_ps(a.lo), hi = _mm256_set1_ps(a.hi);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
  for (int h = 0; h < H; ++h) {
    const int64_t j = (h0 + h) * 8;
    const __m256 mult = _mm256_loadu_ps(a.mult + j), bias = _mm256_loadu_ps(a.bias + j);
    const int64_t cols = a.n - j < 8 ? a.n - j : 8;
    if (cols <= 0) continue;  // a half of padding channels
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols)), lane);
    for (int i = 0; i < P; ++i) {
      __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i][h]), mult, bias);
      v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
      _mm256_maskstore_ps(dst + i * a.n + j, mask, v);
      const __m256i bits = _mm256_and_si256(_mm256_and_si256(_mm256_castps_si256(v), abs_mask),
                                            mask);
      maxima[h0 + h] = _mm256_max_epu32(maxima[h0 + h], bits);
    }
  }
}

template <int P>
NNFAST_AVXVNNI void pixels(const Int8StemArgs& a, const uint8_t* row, float* dst,
                           __m256i* maxima) {
  const int64_t halves = a.np / 8;
  for (int64_t h0 = 0; h0 < halves;) {
    if (halves - h0 >= 4) {
      pixels_halves<P, 4>(a, row, h0, dst, maxima);
      h0 += 4;
    } else {  // (halves is even)
      pixels_halves<P, 2>(a, row, h0, dst, maxima);
      h0 += 2;
    }
  }
}

}  // namespace

NNFAST_AVXVNNI void s8_stem_row_avxvnni(const Int8StemArgs& a, const uint8_t* row,
                                        int64_t out_w, float* dst, uint32_t* max_bits) {
  const int64_t halves = a.np / 8;
  __m256i maxima[128];  // (the driver keeps np <= 1024)
  for (int64_t h = 0; h < halves; ++h) maxima[h] = _mm256_setzero_si256();
  int64_t ow = 0;
  for (; ow + 4 <= out_w; ow += 4)
    pixels<4>(a, row + ow * a.pixel_step, dst + ow * a.n, maxima);
  for (; ow < out_w; ++ow) pixels<1>(a, row + ow * a.pixel_step, dst + ow * a.n, maxima);
  for (int64_t h = 0; h < halves; ++h) {
    alignas(32) uint32_t m[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(m), maxima[h]);
    for (int64_t j = h * 8; j < a.n && j < h * 8 + 8; ++j)
      if (m[j - h * 8] > max_bits[j]) max_bits[j] = m[j - h * 8];
  }
}

NNFAST_AVXVNNI uint32_t s8_stem_absmax_avxvnni(const float* x, int64_t n) {
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
  __m256i mx = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    mx = _mm256_max_epu32(
        mx, _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)),
                             abs_mask));
  alignas(32) uint32_t m[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(m), mx);
  uint32_t best = 0;
  for (int k = 0; k < 8; ++k) best = m[k] > best ? m[k] : best;
  for (; i < n; ++i) {
    uint32_t bits;
    memcpy(&bits, &x[i], sizeof(bits));
    bits &= 0x7fffffffu;
    best = bits > best ? bits : best;
  }
  return best;
}

NNFAST_AVXVNNI void s8_stem_quantize_avxvnni(const float* x, int64_t n, float scale,
                                             uint8_t* dst) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127),
                off = _mm256_set1_epi32(128);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // cvtps rounds half to even under the default MXCSR, as nearbyintf does.
    __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), s));
    q = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(q, lo), hi), off);
    alignas(32) int32_t t[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), q);
    for (int k = 0; k < 8; ++k) dst[i + k] = static_cast<uint8_t>(t[k]);
  }
  s8_stem_quantize_ref(x + i, n - i, scale, dst + i);
}

}  // namespace nnfast::kernels
