// bfloat16 rounding of 16 float32 lanes, kept as float32 (AVX-512 files only): round half to
// even on the bits, NaN quieted, denormals kept (not vcvtneps2bf16, which flushes them): the
// bits of f32_round_bf16_ref.
#pragma once
#include <immintrin.h>

namespace nnfast::kernels {

inline __m512i bf16_round_bits(__m512i bits) {
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  const __m512i rounded = _mm512_and_si512(
      _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), high);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(
      _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  const __m512i quiet =
      _mm512_and_si512(_mm512_or_si512(bits, _mm512_set1_epi32(0x00400000)), high);
  return _mm512_mask_mov_epi32(rounded, nan, quiet);
}

inline __m512 bf16_round_ps(__m512 v) {
  return _mm512_castsi512_ps(bf16_round_bits(_mm512_castps_si512(v)));
}

}  // namespace nnfast::kernels
