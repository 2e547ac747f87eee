// The AMX direct bf16 convolution's drivers (kernels/conv/conv_bf16_amx.h): threads, scratch
// and the shapes they take. Called by conv_bf16.cpp's routes; same contracts as
// nnfast/conv_bf16.h.
#pragma once
#include "nnfast/activation.h"
#include "nnfast/conv.h"

namespace nnfast {

// Stride 1, one group, in_c and out_c multiples of 16, padding at most the kernel's reach
// (the input gradient's frame needs dilation*(k-1) - pad >= 0), and the AMX-BF16 unit usable
// under the current ISA cap.
bool bf16_direct_conv_fits(const Conv2DShape& s);

void conv2d_forward_bf16_direct(const Conv2DShape& s, const float* src, const float* kernel,
                                const float* bias, Activation act,
                                const ActivationParams& act_params, float* dst, bool round_dst);
void conv2d_backward_data_bf16_direct(const Conv2DShape& s, const float* ddst,
                                      const float* kernel, float* dsrc, bool round_dsrc);
// dbias (or null): the float32 sums of ddst rounded to bf16, image by image in order.
void conv2d_backward_weights_bf16_direct(const Conv2DShape& s, const float* src,
                                         const float* ddst, float* dkernel, float* dbias);

}  // namespace nnfast
