// Per-ISA activation kernels: each processes one contiguous chunk; the driver
// (src/ops/activation.cpp) splits work across threads.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"

namespace nnfast::kernels {

using ActivationForwardFn = void (*)(Activation, const ActivationParams&, const float*, float*,
                                     int64_t);
using ActivationBackwardFn = void (*)(Activation, const ActivationParams&, const float*,
                                      const float*, const float*, float*, int64_t);

void f32_activation_forward_ref(Activation act, const ActivationParams& p, const float* src,
                                float* dst, int64_t n);
void f32_activation_backward_ref(Activation act, const ActivationParams& p, const float* src,
                                 const float* dst, const float* ddst, float* dsrc, int64_t n);
// Vectorised over the shared vocabulary (activation_simd_body.h); same contract as the ref.
#define NNFAST_DECLARE_ACTIVATION(isa)                                                         \
  void f32_activation_forward_##isa(Activation act, const ActivationParams& p,                \
                                    const float* src, float* dst, int64_t n);                  \
  void f32_activation_backward_##isa(Activation act, const ActivationParams& p,               \
                                     const float* src, const float* dst, const float* ddst,    \
                                     float* dsrc, int64_t n);
NNFAST_DECLARE_ACTIVATION(avx2)
NNFAST_DECLARE_ACTIVATION(avx512)
#undef NNFAST_DECLARE_ACTIVATION

// Epilogue rows: c[j] = clamp(c[j] * scale[j] + shift[j] + residual[j], lo, hi) for `rows`
// rows of `cols` (strides ld / ldr); scale, shift, residual may be nullptr. Covers linear
// (lo = -inf, hi = inf), relu with a cap (lo = 0, hi = max_value) and relu6.
#define NNFAST_DECLARE_CLAMP_ROWS(isa)                                                       \
  void f32_scale_shift_clamp_rows_##isa(float* c, int64_t ld, int64_t rows, int64_t cols,    \
                                        const float* scale, const float* shift,              \
                                        const float* residual, int64_t ldr, float lo, float hi);
NNFAST_DECLARE_CLAMP_ROWS(ref)
NNFAST_DECLARE_CLAMP_ROWS(avx2)
NNFAST_DECLARE_CLAMP_ROWS(avx512)
using ClampRowsFn = void (*)(float* c, int64_t ld, int64_t rows, int64_t cols, const float* scale,
                             const float* shift, const float* residual, int64_t ldr, float lo,
                             float hi);
#undef NNFAST_DECLARE_CLAMP_ROWS

}  // namespace nnfast::kernels
