// AVX-512 recurrent kernels: the shared body (rnn_simd_body.h) over 16-lane vectors with
// masked loads/stores for the tails. GEMM tile 6 rows x 4 vectors (24 accumulators).
// NOTE: GCC 12 warns that _mm512_min_ps/_mm512_max_ps read an uninitialized value (their
// pass-through operand is _mm512_undefined_ps(), which is never used with a full mask): a
// false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <stdint.h>

#include "kernels/rnn/rnn_kernels.h"

namespace nnfast::kernels {
namespace {
using VF = __m512;
constexpr int W = 16;
constexpr int kMR = 6;
constexpr int kNV = 4;
inline VF vzero() { return _mm512_setzero_ps(); }
inline VF vset1(float x) { return _mm512_set1_ps(x); }
inline VF vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline __mmask16 lanes(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
inline VF vload_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
inline void vstore_n(float* p, VF v, int64_t n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
inline VF vadd(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF vsub(VF a, VF b) { return _mm512_sub_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF vfmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF vmin(VF a, VF b) { return _mm512_min_ps(a, b); }
inline VF vmax(VF a, VF b) { return _mm512_max_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm512_div_ps(a, b); }
inline VF vkeep_gt(VF a, VF b, VF x) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), x);
}
}  // namespace

#include "kernels/rnn/rnn_simd_body.h"

const RnnKernelSet rnn_kernels_avx512 = NNFAST_RNN_KERNEL_SET("f32_rnn_avx512");

}  // namespace nnfast::kernels
