// AVX2 bfloat16 rounding: the reference's integer rule on 8 lanes (the same bits).
#include <immintrin.h>
#include <string.h>

#include "kernels/convert/convert_kernels.h"

namespace nnfast::kernels {

void f32_round_bf16_avx2(const float* x, float* out, int64_t n) {
  const __m256i bias = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1);
  const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  const __m256i quiet_bit = _mm256_set1_epi32(0x00400000);
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
    const __m256i rounded =
        _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(bits, bias), lsb), high);
    // |bits| > inf as signed compares: both sides are below 2^31.
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, abs_mask), inf);
    const __m256i quiet = _mm256_and_si256(_mm256_or_si256(bits, quiet_bit), high);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_blendv_epi8(rounded, quiet, nan));
  }
  f32_round_bf16_ref(x + i, out + i, n - i);
}

}  // namespace nnfast::kernels
