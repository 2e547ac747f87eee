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

}  // namespace nnfast::kernels
