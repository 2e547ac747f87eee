// AVX-512 clamped epilogue (see activation_kernels.h): 16 columns per step, masked tail.
#include <immintrin.h>

#include "kernels/activation/activation_kernels.h"

namespace nnfast::kernels {

void f32_scale_shift_clamp_rows_avx512(float* c, int64_t ld, int64_t rows, int64_t cols,
                                       const float* scale, const float* shift,
                                       const float* residual, int64_t ldr, float lo, float hi) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  // (An infinite bound is skipped: max(NaN, -inf) would turn a linear NaN into -inf.)
  const bool clamp_lo = lo > -__builtin_inff(), clamp_hi = hi < __builtin_inff();
  for (int64_t i = 0; i < rows; ++i) {
    float* r = c + i * ld;
    const float* q = residual ? residual + i * ldr : nullptr;
    for (int64_t j = 0; j < cols; j += 16) {
      const int64_t left = cols - j;
      const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      __m512 v = _mm512_maskz_loadu_ps(m, r + j);
      if (scale) {
        const __m512 s = _mm512_maskz_loadu_ps(m, scale + j);
        v = shift ? _mm512_fmadd_ps(v, s, _mm512_maskz_loadu_ps(m, shift + j))
                  : _mm512_mul_ps(v, s);
      } else if (shift) {
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, shift + j));
      }
      if (q) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, q + j));
      if (clamp_lo) v = _mm512_maskz_max_ps((__mmask16)0xFFFF, v, vlo);
      if (clamp_hi) v = _mm512_maskz_min_ps((__mmask16)0xFFFF, v, vhi);
      _mm512_mask_storeu_ps(r + j, m, v);
    }
  }
}

}  // namespace nnfast::kernels
