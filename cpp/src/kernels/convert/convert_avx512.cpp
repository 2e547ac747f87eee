// AVX-512 bfloat16 rounding: the reference's integer rule on 16 lanes (the same bits; not
// vcvtneps2bf16, which flushes denormals).
// gcc 12 flags its own _mm512_srli_epi32 (an undefined pass-through operand) as
// maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <string.h>

#include "kernels/convert/convert_kernels.h"

namespace nnfast::kernels {

void f32_round_bf16_avx512(const float* x, float* out, int64_t n) {
  const __m512i bias = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1);
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  const __m512i quiet_bit = _mm512_set1_epi32(0x00400000);
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF)
                                    : static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512i bits = _mm512_maskz_loadu_epi32(m, x + i);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), one);
    const __m512i rounded =
        _mm512_and_si512(_mm512_add_epi32(_mm512_add_epi32(bits, bias), lsb), high);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, abs_mask), inf);
    const __m512i quiet = _mm512_and_si512(_mm512_or_si512(bits, quiet_bit), high);
    _mm512_mask_storeu_epi32(out + i, m, _mm512_mask_mov_epi32(rounded, nan, quiet));
  }
}

}  // namespace nnfast::kernels
