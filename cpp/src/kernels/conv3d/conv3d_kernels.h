// Direct scalar 3-D convolution: the always-compiled reference of the conv3d family
// (the last entry of the dispatch list in ops/conv3d.cpp). Each kernel covers output (forward,
// backward-weights) or input (backward-data) rows [begin, end) of the flattened
// (batch * depth * height) index, so the driver can split them across threads.
#pragma once
#include <cstdint>

#include "nnfast/conv3d.h"

namespace nnfast::kernels {

// dst rows [begin, end) of (batch*out_d*out_h): the pre-activation sum plus bias.
void f32_conv3d_fwd_ref(const Conv3DShape& s, const float* src, const float* kernel,
                        const float* bias, float* dst, int64_t begin, int64_t end);
// dsrc rows [begin, end) of (batch*in_d*in_h), overwritten (gather form, no atomics).
void f32_conv3d_bwd_data_ref(const Conv3DShape& s, const float* ddst, const float* kernel,
                             float* dsrc, int64_t begin, int64_t end);
// dkernel (overwritten) and dbias (overwritten, may be nullptr) from all of src and ddst.
void f32_conv3d_bwd_weights_ref(const Conv3DShape& s, const float* src, const float* ddst,
                                float* dkernel, float* dbias);

}  // namespace nnfast::kernels
