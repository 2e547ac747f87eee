// AVX-VNNI int8 GEMM tile (client CPUs with 256-bit vpdpbusd, VEX encoded, and no AVX-512:
// Alder Lake and later): up to 3 rows x 32 columns in 12 ymm int32 accumulators; per depth
// group of 4, four B loads (8 columns x 4 bytes each) and one broadcast of 4 A bytes per row.
// As the AVX512_VNNI tile, A arrives offset by 128 (vpdpbusd multiplies unsigned by signed
// bytes) and 128 * (column sum of B) is taken off at the end; exact while the true sum fits
// in int32. Compiled with target attributes, so the file needs no special flags.
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/gemm_int8_kernels.h"

namespace nnfast::kernels {
namespace {

template <int R>
__attribute__((target("avxvnni,avx2"))) void avxvnni_tile(
    int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, int64_t b_stride,
    const int32_t* col_sums, int32_t* acc) {
  __m256i c[R][4];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < 4; ++j) c[i][j] = _mm256_setzero_si256();
  const int8_t* b1 = b + b_stride;
  for (int64_t p = 0; p < kp; p += 4) {
    // Block layout: depth group p/4 holds 16 columns x 4 bytes (64 bytes) per block.
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 16));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + p * 16 + 32));
    const __m256i v2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + p * 16));
    const __m256i v3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + p * 16 + 32));
    for (int i = 0; i < R; ++i) {
      int32_t quad;
      memcpy(&quad, a + i * lda + p, 4);
      const __m256i va = _mm256_set1_epi32(quad);
      c[i][0] = _mm256_dpbusd_avx_epi32(c[i][0], va, v0);
      c[i][1] = _mm256_dpbusd_avx_epi32(c[i][1], va, v1);
      c[i][2] = _mm256_dpbusd_avx_epi32(c[i][2], va, v2);
      c[i][3] = _mm256_dpbusd_avx_epi32(c[i][3], va, v3);
    }
  }
  const __m256i k128 = _mm256_set1_epi32(128);
  __m256i s[4];
  for (int j = 0; j < 4; ++j)
    s[j] = _mm256_mullo_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col_sums + 8 * j)), k128);
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < 4; ++j)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i * kInt8Nr + 8 * j),
                          _mm256_sub_epi32(c[i][j], s[j]));
}

void avxvnni_3x32(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, int64_t b_stride,
                  const int32_t* col_sums, int64_t mr, int32_t* acc) {
  switch (mr) {
    case 1: return avxvnni_tile<1>(kp, a, lda, b, b_stride, col_sums, acc);
    case 2: return avxvnni_tile<2>(kp, a, lda, b, b_stride, col_sums, acc);
    default: return avxvnni_tile<3>(kp, a, lda, b, b_stride, col_sums, acc);
  }
}

}  // namespace

const Int8GemmKernelInfo int8_gemm_avxvnni_info = {"int8_gemm_3x32_avxvnni", avxvnni_3x32, 3,
                                                   true, nullptr, nullptr};

}  // namespace nnfast::kernels
