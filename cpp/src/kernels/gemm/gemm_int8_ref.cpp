// Scalar int8 GEMM tile: the reference every other variant is tested against.
#include "kernels/gemm/gemm_int8_kernels.h"

namespace nnfast::kernels {
namespace {

void ref_tile(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, int64_t b_block_stride,
              const int32_t* /*col_sums*/, int64_t mr, int32_t* acc) {
  for (int64_t i = 0; i < mr; ++i)
    for (int j = 0; j < kInt8Nr; ++j) {
      const int8_t* col = b + (j / 16) * b_block_stride + (j % 16) * 4;
      int32_t s = 0;
      for (int64_t p = 0; p < kp; ++p)
        s += static_cast<int32_t>(a[i * lda + p]) * static_cast<int32_t>(col[(p / 4) * 64 + p % 4]);
      acc[i * kInt8Nr + j] = s;
    }
}

}  // namespace

const Int8GemmKernelInfo int8_gemm_ref_info = {"int8_gemm_ref", ref_tile, 4, false, nullptr,
                                               nullptr};

}  // namespace nnfast::kernels
