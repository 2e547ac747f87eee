// AVX2 + FMA recurrent kernels: the shared body (rnn_simd_body.h) over 8-lane vectors;
// tails use maskload/maskstore. GEMM tile 6 rows x 2 vectors (12 accumulators of 16 ymm).
#include <immintrin.h>
#include <stdint.h>

#include "kernels/rnn/rnn_kernels.h"

namespace nnfast::kernels {
namespace {
using VF = __m256;
constexpr int W = 8;
constexpr int kMR = 6;
constexpr int kNV = 2;
inline VF vzero() { return _mm256_setzero_ps(); }
inline VF vset1(float x) { return _mm256_set1_ps(x); }
inline VF vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline __m256i lanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline VF vload_n(const float* p, int64_t n) { return _mm256_maskload_ps(p, lanes(n)); }
inline void vstore_n(float* p, VF v, int64_t n) { _mm256_maskstore_ps(p, lanes(n), v); }
inline VF vadd(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF vsub(VF a, VF b) { return _mm256_sub_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF vfmadd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VF vmin(VF a, VF b) { return _mm256_min_ps(a, b); }
inline VF vmax(VF a, VF b) { return _mm256_max_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm256_div_ps(a, b); }
inline VF vkeep_gt(VF a, VF b, VF x) { return _mm256_and_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), x); }
}  // namespace

#include "kernels/rnn/rnn_simd_body.h"

const RnnKernelSet rnn_kernels_avx2 = NNFAST_RNN_KERNEL_SET("f32_rnn_avx2");

}  // namespace nnfast::kernels
