// 3-D convolution on NDHWC (Keras channels_last) float32 tensors.
//
//   src    (batch, in_d, in_h, in_w, in_c)
//   kernel (kernel_d, kernel_h, kernel_w, in_c / groups, out_c)   -- Keras's Conv3D layout
//   dst    (batch, out_d, out_h, out_w, out_c)
//
// dst[b, od, oh, ow, o] = act(bias[o] + sum_{kd, kh, kw, ci} src[b, id, ih, iw, g*cin_g + ci] *
//                             kernel[kd, kh, kw, ci, o])
// with id = od*stride_d - pad_front + kd*dilation_d (likewise ih, iw), g = o / (out_c/groups),
// taps outside the input reading zero. Output sizes are given, not derived (as Conv2DShape),
// so 'valid', 'same' and the shapes of a transposed convolution share one description.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"

namespace nnfast {

struct Conv3DShape {
  int64_t batch = 0;
  int64_t in_d = 0, in_h = 0, in_w = 0, in_c = 0;
  int64_t out_d = 0, out_h = 0, out_w = 0, out_c = 0;
  int64_t kernel_d = 1, kernel_h = 1, kernel_w = 1;
  int64_t stride_d = 1, stride_h = 1, stride_w = 1;
  int64_t dilation_d = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_front = 0, pad_top = 0, pad_left = 0;
  int64_t groups = 1;
};

// Throws std::invalid_argument naming the offending field.
void conv3d_validate(const Conv3DShape& s);

// dst = act(conv3d(src, kernel) + bias); bias may be nullptr.
void conv3d_forward(const Conv3DShape& s, const float* src, const float* kernel,
                    const float* bias, Activation act, const ActivationParams& act_params,
                    float* dst);

// dsrc = dL/dsrc (overwritten) given ddst = dL/d(pre-activation output).
void conv3d_backward_data(const Conv3DShape& s, const float* ddst, const float* kernel,
                          float* dsrc);

// dkernel = dL/dkernel (overwritten); dbias (length out_c, may be nullptr) = sum of ddst.
void conv3d_backward_weights(const Conv3DShape& s, const float* src, const float* ddst,
                             float* dkernel, float* dbias);

// The name of the implementation the entry points above run now (dispatch on active_isa()).
const char* conv3d_variant_name();

}  // namespace nnfast
