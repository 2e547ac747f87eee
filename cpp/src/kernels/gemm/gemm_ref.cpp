// Scalar reference micro-kernel: the packed-panel contract of gemm_kernels.h in plain C++.
#include "kernels/gemm/gemm_kernels.h"

namespace nnfast::kernels {
namespace {
constexpr int kMr = 4;
constexpr int kNr = 8;
}  // namespace

void f32_gemm_4x8_ref(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                      int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < k; ++p) {
    const float* ap = a + p * kMr;
    const float* bp = b + p * ldb;
    for (int i = 0; i < kMr; ++i)
      for (int64_t j = 0; j < nr; ++j) acc[i][j] += ap[i] * bp[j];
  }
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < nr; ++j) {
      float v = acc[i][j];
      if (beta != 0.0f) v += beta * ci[j];
      if (bias) v += bias[j];
      ci[j] = v;
    }
  }
}

const GemmKernelInfo f32_gemm_ref_info = {"f32_gemm_4x8_ref", f32_gemm_4x8_ref, nullptr, nullptr, kMr, kNr,
                                          256, 64, 4096};

}  // namespace nnfast::kernels
