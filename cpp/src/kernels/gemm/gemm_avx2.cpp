// AVX2 + FMA micro-kernel over the vector vocabulary (simd_avx2.h): 6 x 16 tile = 12 ymm
// accumulators, 2 B loads and 6 broadcasts per k step.
// NOTE: the sums start from zero and beta * C is added after the k loop: a K cut into cache
// blocks (kc = 256) is summed block by block, which keeps long weight-gradient sums (K in the
// tens of thousands) more accurate than one running sum (test_layers_3d's chunked conv3d).
#include "kernels/simd_avx2.h"

#include "kernels/gemm/gemm_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

template <bool kFullB>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, const float* b,
                                                int64_t ldb, float* c, int64_t ldc, int64_t mr,
                                                int64_t nr, float beta, const float* bias) {
  const VM m0 = vfirst(clamp_lanes(nr)), m1 = vfirst(clamp_lanes(nr - 8));
  VF acc0[kMr], acc1[kMr];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    acc0[i] = vzero();
    acc1[i] = vzero();
  }
  for (int64_t p = 0; p < k; ++p) {
    const VF b0 = kFullB ? vload(b) : vload_m(b, m0);
    const VF b1 = kFullB ? vload(b + 8) : vload_m(b + 8, m1);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const VF ai = vset1(a[i]);
      acc0[i] = vfmadd(ai, b0, acc0[i]);
      acc1[i] = vfmadd(ai, b1, acc1[i]);
    }
    a += kMr;
    b += ldb;
  }
  const VF bias0 = bias ? vload_m(bias, m0) : vzero();
  const VF bias1 = bias ? vload_m(bias + 8, m1) : vzero();
  const VF vbeta = vset1(beta);
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    if (i < mr) {
      float* ci = c + i * ldc;
      VF r0 = acc0[i], r1 = acc1[i];
      if (beta != 0.0f) {
        r0 = vfmadd(vbeta, vload_m(ci, m0), r0);
        r1 = vfmadd(vbeta, vload_m(ci + 8, m1), r1);
      }
      if (bias) {
        r0 = vadd(r0, bias0);
        r1 = vadd(r1, bias1);
      }
      if (kFullB) {
        vstore(ci, r0);
        vstore(ci + 8, r1);
      } else {
        vstore_m(ci, r0, m0);
        vstore_m(ci + 8, r1, m1);
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
