// fp32 -> bf16 pair conversion for the bf16 packers (AVX512_BF16 files only: include it from
// a *_avx512bf16.cpp or *_amx.cpp source).
//
// NOTE: vcvtne2ps2bf16 rounds to nearest even but treats denormal inputs as zero. Rounding
// first (round_to_bfloat16, what a mixed_bfloat16 layer's autocast does) differs from that
// only where a denormal rounds up to the smallest normal, |x| in [0x007F8000, 0x007FFFFF]
// as bits; those lanes are set to +-2^-126 here, so packing x equals packing its rounded
// copy and a program can hand the GEMM an unrounded input.
#pragma once
#include <immintrin.h>

namespace nnfast::kernels {

inline __m512 bf16_round_up_to_normal(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i sign = _mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  const __m512i magnitude = _mm512_xor_si512(bits, sign);
  const __mmask16 band = _mm512_cmplt_epu32_mask(
      _mm512_sub_epi32(magnitude, _mm512_set1_epi32(0x007F8000)), _mm512_set1_epi32(0x8000));
  return _mm512_castsi512_ps(
      _mm512_mask_or_epi32(bits, band, sign, _mm512_set1_epi32(0x00800000)));
}

// bf16 [lo0..lo15, hi0..hi15], each rounded as round_to_bfloat16 then vcvtne2ps2bf16 would.
inline __m512i bf16_convert_pairs(__m512 hi, __m512 lo) {
  return (__m512i)_mm512_cvtne2ps_pbh(bf16_round_up_to_normal(hi), bf16_round_up_to_normal(lo));
}

}  // namespace nnfast::kernels
