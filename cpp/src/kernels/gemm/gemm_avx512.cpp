// AVX-512 micro-kernel: 14 x 32 tile = 28 zmm accumulators; per k step two 16-float loads of
// B and 14 broadcasts of A (folded into the FMAs as {1to16} memory operands).
#include <immintrin.h>

#include "kernels/gemm/gemm_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 14;
constexpr int kNr = 32;

// NOTE: the accumulators live in a fully unrolled array indexed by constants so that GCC keeps
// all 28 of them in registers; `kFullB` removes the column masks from the hot loop.
template <bool kFullB>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, const float* b,
                                                int64_t ldb, float* c, int64_t ldc, int64_t mr,
                                                int64_t nr, float beta, const float* bias) {
  const __mmask16 m0 = nr >= 16 ? static_cast<__mmask16>(0xFFFF)
                                : static_cast<__mmask16>((1u << nr) - 1u);
  const __mmask16 m1 = nr >= 32 ? static_cast<__mmask16>(0xFFFF)
                       : nr <= 16 ? static_cast<__mmask16>(0)
                                  : static_cast<__mmask16>((1u << (nr - 16)) - 1u);
  __m512 acc0[kMr], acc1[kMr];
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    __m512 b0, b1;
    if (kFullB) {
      b0 = _mm512_loadu_ps(b);
      b1 = _mm512_loadu_ps(b + 16);
    } else {
      b0 = _mm512_maskz_loadu_ps(m0, b);
      b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    }
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += kMr;
    b += ldb;
  }
  __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
  if (bias) {
    bias0 = _mm512_maskz_loadu_ps(m0, bias);
    bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
  }
  const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) {
    if (i < mr) {
      float* ci = c + i * ldc;
      __m512 r0 = acc0[i], r1 = acc1[i];
      if (beta != 0.0f) {
        r0 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, ci), r0);
        r1 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
      }
      if (bias) {
        r0 = _mm512_add_ps(r0, bias0);
        r1 = _mm512_add_ps(r1, bias1);
      }
      _mm512_mask_storeu_ps(ci, m0, r0);
      _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
  }
}

}  // namespace

void f32_gemm_14x32_avx512(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                           int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  if (nr == kNr)
    tile<true>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else
    tile<false>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
}

const GemmKernelInfo f32_gemm_avx512_info = {"f32_gemm_14x32_avx512", f32_gemm_14x32_avx512,
                                             kMr, kNr, 384, 168, 4096};

}  // namespace nnfast::kernels
