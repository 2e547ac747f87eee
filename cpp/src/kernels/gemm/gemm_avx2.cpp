// AVX2 + FMA micro-kernel: 6 x 16 tile = 12 ymm accumulators, 2 B loads and 6 broadcasts
// per k step.
#include <immintrin.h>

#include "kernels/gemm/gemm_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

inline __m256i lane_mask(int64_t count) {
  // Lanes [0, count) set; count is clamped to [0, 8].
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int n = count < 0 ? 0 : (count > 8 ? 8 : static_cast<int>(count));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

template <bool kFullB>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, const float* b,
                                                int64_t ldb, float* c, int64_t ldc, int64_t mr,
                                                int64_t nr, float beta, const float* bias) {
  const __m256i m0 = lane_mask(nr);
  const __m256i m1 = lane_mask(nr - 8);
  __m256 acc0[kMr], acc1[kMr];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    acc0[i] = _mm256_setzero_ps();
    acc1[i] = _mm256_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    __m256 b0, b1;
    if (kFullB) {
      b0 = _mm256_loadu_ps(b);
      b1 = _mm256_loadu_ps(b + 8);
    } else {
      b0 = _mm256_maskload_ps(b, m0);
      b1 = _mm256_maskload_ps(b + 8, m1);
    }
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += kMr;
    b += ldb;
  }
  __m256 bias0 = _mm256_setzero_ps(), bias1 = _mm256_setzero_ps();
  if (bias) {
    bias0 = _mm256_maskload_ps(bias, m0);
    bias1 = _mm256_maskload_ps(bias + 8, m1);
  }
  const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    if (i < mr) {
      float* ci = c + i * ldc;
      __m256 r0 = acc0[i], r1 = acc1[i];
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(ci, m0), r0);
        r1 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(ci + 8, m1), r1);
      }
      if (bias) {
        r0 = _mm256_add_ps(r0, bias0);
        r1 = _mm256_add_ps(r1, bias1);
      }
      if (kFullB) {
        _mm256_storeu_ps(ci, r0);
        _mm256_storeu_ps(ci + 8, r1);
      } else {
        _mm256_maskstore_ps(ci, m0, r0);
        _mm256_maskstore_ps(ci + 8, m1, r1);
      }
    }
  }
}

}  // namespace

void f32_gemm_6x16_avx2(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                        int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  if (nr == kNr)
    tile<true>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else
    tile<false>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
}

const GemmKernelInfo f32_gemm_avx2_info = {"f32_gemm_6x16_avx2", f32_gemm_6x16_avx2, nullptr, nullptr, kMr, kNr,
                                           256, 144, 4096};

}  // namespace nnfast::kernels
