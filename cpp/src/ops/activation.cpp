// Activation driver: validate, pick the kernel for the active ISA, split across threads.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/activation/activation_kernels.h"
#include "nnfast/activation.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

// Elementwise activations outside the fused epilogues (the tape's and the lowered program's
// activation steps): vectorised bodies over the shared vocabulary, the scalar switch last.
const dispatch::Registry<void(Activation, const ActivationParams&, const float*, float*, int64_t)>
    kActivationForward{"activation",
                       {{Isa::avx512, "f32_activation_forward_avx512",
                         &kernels::f32_activation_forward_avx512},
                        {Isa::avx2, "f32_activation_forward_avx2",
                         &kernels::f32_activation_forward_avx2},
                        {Isa::ref, "f32_activation_forward_ref",
                         &kernels::f32_activation_forward_ref}}};

const dispatch::Registry<void(Activation, const ActivationParams&, const float*, const float*,
                              const float*, float*, int64_t)>
    kActivationBackward{"activation_backward",
                        {{Isa::avx512, "f32_activation_backward_avx512",
                          &kernels::f32_activation_backward_avx512},
                         {Isa::avx2, "f32_activation_backward_avx2",
                          &kernels::f32_activation_backward_avx2},
                         {Isa::ref, "f32_activation_backward_ref",
                          &kernels::f32_activation_backward_ref}}};

// The clamp epilogue (linear, relu with a cap, relu6) that every GEMM and conv tile ends with.
const dispatch::Registry<void(float*, int64_t, int64_t, int64_t, const float*, const float*,
                              const float*, int64_t, float, float)>
    kClampEpilogue{"epilogue",
                   {{Isa::avx512, "f32_scale_shift_clamp_rows_avx512",
                     &kernels::f32_scale_shift_clamp_rows_avx512},
                    {Isa::avx2, "f32_scale_shift_clamp_rows_avx2",
                     &kernels::f32_scale_shift_clamp_rows_avx2},
                    {Isa::ref, "f32_scale_shift_clamp_rows_ref",
                     &kernels::f32_scale_shift_clamp_rows_ref}}};

}  // namespace

bool activation_needs_input(Activation act, const ActivationParams& p) {
  switch (act) {
    case Activation::linear:
    case Activation::sigmoid:
    case Activation::tanh:
    case Activation::exponential:
    case Activation::relu6:
      return false;
    case Activation::elu:
    case Activation::selu:
      return false;
    case Activation::relu:
      return !(p.alpha == 0.0f && p.threshold == 0.0f);
    default:
      return true;
  }
}

void activation_forward(Activation act, const ActivationParams& p, const float* src, float* dst,
                        int64_t n) {
  if (n < 0) throw std::invalid_argument("activation_forward: negative length " + std::to_string(n));
  const kernels::ActivationForwardFn fn = kActivationForward.select().fns;
  parallel_for_chunks(n, 16384, [&](int64_t begin, int64_t end) {
    fn(act, p, src + begin, dst + begin, end - begin);
  });
}

bool activation_clamp_bounds(Activation act, const ActivationParams& p, float* lo, float* hi) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  *lo = -inf;
  *hi = inf;
  if (act == Activation::relu && p.alpha == 0.0f && p.threshold == 0.0f) {
    *lo = 0.0f;
    *hi = p.max_value;
    return true;
  }
  if (act == Activation::relu6) {
    *lo = 0.0f;
    *hi = 6.0f;
    return true;
  }
  return act == Activation::linear;
}

void scale_shift_activation_rows(float* c, int64_t ld, int64_t rows, int64_t cols,
                                 const float* scale, const float* shift, const float* residual,
                                 int64_t ldr, Activation act, const ActivationParams& p) {
  // Linear, relu (with a cap) and relu6 are clamps: one vectorized pass. (This runs on every
  // GEMM / conv tile: a call into activation_forward per row cost more than a small tile.)
  float lo, hi;
  if (activation_clamp_bounds(act, p, &lo, &hi)) {
    kClampEpilogue.select().fns(c, ld, rows, cols, scale, shift, residual, ldr, lo, hi);
    return;
  }
  for (int64_t i = 0; i < rows; ++i) {
    float* r = c + i * ld;
    if (scale && shift)
      for (int64_t j = 0; j < cols; ++j) r[j] = r[j] * scale[j] + shift[j];
    else if (scale)
      for (int64_t j = 0; j < cols; ++j) r[j] *= scale[j];
    else if (shift)
      for (int64_t j = 0; j < cols; ++j) r[j] += shift[j];
    if (residual) {
      const float* q = residual + i * ldr;
      for (int64_t j = 0; j < cols; ++j) r[j] += q[j];
    }
    if (act != Activation::linear) activation_forward(act, p, r, r, cols);
  }
}

void activation_backward(Activation act, const ActivationParams& p, const float* src,
                         const float* dst, const float* ddst, float* dsrc, int64_t n) {
  if (n < 0) throw std::invalid_argument("activation_backward: negative length " + std::to_string(n));
  if (src == nullptr && activation_needs_input(act, p))
    throw std::invalid_argument("activation_backward: this activation needs its input");
  if (src == nullptr && dst == nullptr)
    throw std::invalid_argument("activation_backward: needs the input or the output");
  const kernels::ActivationBackwardFn fn = kActivationBackward.select().fns;
  parallel_for_chunks(n, 16384, [&](int64_t begin, int64_t end) {
    fn(act, p, src ? src + begin : nullptr, dst ? dst + begin : nullptr, ddst + begin,
       dsrc + begin, end - begin);
  });
}

}  // namespace nnfast
