// AVX-512 bfloat16 rounding: the reference's integer rule on 16 lanes (the same bits; not
// vcvtneps2bf16, which flushes denormals).
// gcc 12 flags its own _mm512_srli_epi32 (an undefined pass-through operand) as
// maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <string.h>

#include "kernels/convert/convert_kernels.h"
#include "kernels/convert/round_bf16_avx512.h"

namespace nnfast::kernels {

void f32_round_bf16_avx512(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF)
                                    : static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_epi32(out + i, m, bf16_round_bits(_mm512_maskz_loadu_epi32(m, x + i)));
  }
}

}  // namespace nnfast::kernels
