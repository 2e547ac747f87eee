// The clamped epilogue (see activation_kernels.h) over the shared vector vocabulary
// (kernels/simd_math.h), included by epilogue_avx2.cpp / epilogue_avx512.cpp after their
// simd_<isa>.h: whole vectors of columns, one masked tail (a Dense(10) row is one masked
// vector, not a vector and a scalar loop). The reference is epilogue_impl.h without ISA flags.
#pragma once
#include "kernels/activation/activation_kernels.h"

namespace nnfast::kernels {
namespace {

inline void scale_shift_clamp_rows_simd(float* c, int64_t ldc, int64_t rows, int64_t cols,
                                        const float* scale, const float* shift,
                                        const float* residual, int64_t ldr, float lo, float hi) {
  const VF vlo = vset1(lo), vhi = vset1(hi);
  // (An infinite bound is skipped: it changes nothing, and a NaN stays NaN either way since
  // the bounds come first in vmax/vmin.)
  const bool clamp_lo = lo > -__builtin_inff(), clamp_hi = hi < __builtin_inff();
  for (int64_t i = 0; i < rows; ++i) {
    float* r = c + i * ldc;
    const float* q = residual ? residual + i * ldr : nullptr;
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      VF v = ld(tag, r + j, m);
      if (scale) {
        const VF s = ld(tag, scale + j, m);
        v = shift ? vfmadd(v, s, ld(tag, shift + j, m)) : vmul(v, s);
      } else if (shift) {
        v = vadd(v, ld(tag, shift + j, m));
      }
      if (q) v = vadd(v, ld(tag, q + j, m));
      if (clamp_lo) v = vmax(vlo, v);
      if (clamp_hi) v = vmin(vhi, v);
      st(tag, r + j, v, m);
    });
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_CLAMP_ROWS_SIMD(isa)                                                     \
  namespace nnfast::kernels {                                                                  \
  void f32_scale_shift_clamp_rows_##isa(float* c, int64_t ld, int64_t rows, int64_t cols,      \
                                        const float* scale, const float* shift,                \
                                        const float* residual, int64_t ldr, float lo,          \
                                        float hi) {                                            \
    scale_shift_clamp_rows_simd(c, ld, rows, cols, scale, shift, residual, ldr, lo, hi);       \
  }                                                                                            \
  }
