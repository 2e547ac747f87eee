// Body of the clamped epilogue's scalar reference (see activation_kernels.h): epilogue_ref.cpp
// instantiates NNFAST_DEFINE_CLAMP_ROWS(ref), compiled without ISA flags. The AVX2/AVX-512
// variants are epilogue_simd_body.h over the shared vector vocabulary.
// NOTE: C-style code only (no std:: templates), as ISA files require.
#pragma once
#include "kernels/activation/activation_kernels.h"

namespace nnfast::kernels {
namespace {

inline void scale_shift_clamp_rows_impl(float* c, int64_t ld, int64_t rows, int64_t cols,
                                        const float* scale, const float* shift,
                                        const float* residual, int64_t ldr, float lo, float hi) {
  for (int64_t i = 0; i < rows; ++i) {
    float* __restrict r = c + i * ld;
    const float* q = residual ? residual + i * ldr : nullptr;
    for (int64_t j = 0; j < cols; ++j) {
      float v = r[j];
      if (scale) v *= scale[j];
      if (shift) v += shift[j];
      if (q) v += q[j];
      v = v < lo ? lo : v;  // a NaN stays NaN
      r[j] = v > hi ? hi : v;
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_CLAMP_ROWS(isa)                                                          \
  namespace nnfast::kernels {                                                                  \
  void f32_scale_shift_clamp_rows_##isa(float* c, int64_t ld, int64_t rows, int64_t cols,      \
                                        const float* scale, const float* shift,                \
                                        const float* residual, int64_t ldr, float lo,          \
                                        float hi) {                                            \
    scale_shift_clamp_rows_impl(c, ld, rows, cols, scale, shift, residual, ldr, lo, hi);       \
  }                                                                                            \
  }
