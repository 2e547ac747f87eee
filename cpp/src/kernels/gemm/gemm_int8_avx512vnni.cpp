// AVX512_VNNI int8 GEMM tile: up to 8 rows x 32 columns in 16 zmm int32 accumulators; per
// depth group of 4, two B loads (16 columns x 4 bytes each) and one broadcast of 4 A bytes
// per row feed vpdpbusd. vpdpbusd multiplies unsigned by signed bytes, so A arrives offset
// by 128 and 128 * (column sum of B) is taken off at the end (int32 wraps, so the result is
// exact whenever the true sum fits in int32).
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/gemm_int8_kernels.h"

namespace nnfast::kernels {
namespace {

template <int R>
void vnni_tile(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, int64_t b_stride,
               const int32_t* col_sums, int32_t* acc) {
  __m512i c0[R], c1[R];
  for (int i = 0; i < R; ++i) c0[i] = c1[i] = _mm512_setzero_si512();
  const int8_t* b1 = b + b_stride;
  for (int64_t p = 0; p < kp; p += 4) {
    const __m512i v0 = _mm512_loadu_si512(b + p * 16);
    const __m512i v1 = _mm512_loadu_si512(b1 + p * 16);
    for (int i = 0; i < R; ++i) {
      int32_t quad;
      memcpy(&quad, a + i * lda + p, 4);
      const __m512i va = _mm512_set1_epi32(quad);
      c0[i] = _mm512_dpbusd_epi32(c0[i], va, v0);
      c1[i] = _mm512_dpbusd_epi32(c1[i], va, v1);
    }
  }
  const __m512i k128 = _mm512_set1_epi32(128);
  const __m512i s0 = _mm512_mullo_epi32(_mm512_loadu_si512(col_sums), k128);
  const __m512i s1 = _mm512_mullo_epi32(_mm512_loadu_si512(col_sums + 16), k128);
  for (int i = 0; i < R; ++i) {
    _mm512_storeu_si512(acc + i * kInt8Nr, _mm512_sub_epi32(c0[i], s0));
    _mm512_storeu_si512(acc + i * kInt8Nr + 16, _mm512_sub_epi32(c1[i], s1));
  }
}

void vnni_8x32(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, int64_t b_stride,
               const int32_t* col_sums, int64_t mr, int32_t* acc) {
  switch (mr) {
    case 1: return vnni_tile<1>(kp, a, lda, b, b_stride, col_sums, acc);
    case 2: return vnni_tile<2>(kp, a, lda, b, b_stride, col_sums, acc);
    case 3: return vnni_tile<3>(kp, a, lda, b, b_stride, col_sums, acc);
    case 4: return vnni_tile<4>(kp, a, lda, b, b_stride, col_sums, acc);
    case 5: return vnni_tile<5>(kp, a, lda, b, b_stride, col_sums, acc);
    case 6: return vnni_tile<6>(kp, a, lda, b, b_stride, col_sums, acc);
    case 7: return vnni_tile<7>(kp, a, lda, b, b_stride, col_sums, acc);
    default: return vnni_tile<8>(kp, a, lda, b, b_stride, col_sums, acc);
  }
}

}  // namespace

const Int8GemmKernelInfo int8_gemm_avx512vnni_info = {"int8_gemm_8x32_avx512vnni", vnni_8x32, 8,
                                                      true, nullptr, nullptr};

}  // namespace nnfast::kernels
