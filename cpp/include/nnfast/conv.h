// 2-D convolution on NHWC (Keras channels_last) float32 tensors.
//
//   src    (batch, in_h, in_w, in_c)
//   kernel (kernel_h, kernel_w, in_c / groups, out_c)     -- Keras's Conv2D layout
//   dst    (batch, out_h, out_w, out_c)
//
// dst[b, oh, ow, o] = act(bias[o] + sum_{kh, kw, ci} src[b, ih, iw, g*cin_g + ci] *
//                         kernel[kh, kw, ci, o])
// with ih = oh*stride_h - pad_top + kh*dilation_h (likewise iw), g = o / (out_c/groups), and
// taps falling outside the input reading zero. out_h/out_w are given, not derived, so the same
// description serves 'valid', 'same' (Keras/TF arithmetic, see conv_same_padding), causal 1-D
// and the shapes a transposed convolution needs (extra bottom/right rows read zero).
// Conv is a cross-correlation (no kernel flip), as in Keras.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"

namespace nnfast {

struct Conv2DShape {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t groups = 1;
};

// Output size of one spatial axis under Keras's rules.
//   valid: floor((n - d*(k-1) - 1)/s) + 1 (0 when the kernel does not fit)
//   same:  ceil(n/s)
int64_t conv_output_size(int64_t n, int64_t k, int64_t stride, int64_t dilation, bool same);
// Padding before the first element for 'same' (TF/XLA: total = max((out-1)*s + d*(k-1) + 1 - n,
// 0), before = total/2, the odd pixel goes after).
int64_t conv_same_padding(int64_t n, int64_t k, int64_t stride, int64_t dilation);

// Throws std::invalid_argument naming the offending field when the description is
// inconsistent (non-positive strides, channels not divisible by groups, ...).
void conv2d_validate(const Conv2DShape& s);

// dst = act(conv(src, kernel) + bias), or, at inference with a batch normalization folded
// in as a per-output-channel scale and a residual connection's other branch (same shape as
// dst), act(scale * conv(src, kernel) + bias + residual). bias, scale and residual may be
// nullptr; residual must not alias dst.
void conv2d_forward(const Conv2DShape& s, const float* src, const float* kernel,
                    const float* bias, Activation act, const ActivationParams& act_params,
                    float* dst, const float* scale = nullptr, const float* residual = nullptr);

// dsrc = dL/dsrc given ddst = dL/d(pre-activation output). dsrc is overwritten.
void conv2d_backward_data(const Conv2DShape& s, const float* ddst, const float* kernel,
                          float* dsrc);

// dkernel = dL/dkernel (overwritten); dbias (length out_c, may be nullptr) = sum of ddst over
// batch and pixels. With relu_y (the output of a fused plain relu), ddst is the gradient with
// respect to that output and is masked by relu_y > 0 on the fly, so a layer whose input needs
// no gradient never materialises the pre-activation gradient.
void conv2d_backward_weights(const Conv2DShape& s, const float* src, const float* ddst,
                             float* dkernel, float* dbias, const float* relu_y = nullptr);

// Depthwise convolution (Keras DepthwiseConv2D): kernel (kernel_h, kernel_w, in_c,
// depth_multiplier), dst has in_c*depth_multiplier channels, channel c*dm + m reads input
// channel c. Described by a Conv2DShape with groups == in_c and out_c == in_c*dm; memory-wise
// the kernel is exactly the grouped layout (kh, kw, 1, in_c*dm), so the conv2d_* entry points
// also accept it; these are direct kernels that avoid GEMMs with 1-channel groups.
void depthwise_conv2d_forward(const Conv2DShape& s, const float* src, const float* kernel,
                              const float* bias, Activation act,
                              const ActivationParams& act_params, float* dst,
                              const float* scale = nullptr);
void depthwise_conv2d_backward_data(const Conv2DShape& s, const float* ddst,
                                    const float* kernel, float* dsrc);
void depthwise_conv2d_backward_weights(const Conv2DShape& s, const float* src,
                                       const float* ddst, float* dkernel, float* dbias);

// Conv2D(relu) followed by MaxPooling2D in one pass (the Keras tutorial CNN's first block).
// The pooling has windows (pool_h, pool_w) with strides equal to the window (non-overlapping),
// pad_top/pad_left before the first window (Keras 'same' pooling; 0 for 'valid') and
// (pooled_h, pooled_w) outputs; positions outside the conv output are skipped, as in
// max_pool2d_forward. pooled (batch, pooled_h, pooled_w, out_c) =
//   max over the window of relu(conv(src, kernel) + bias)
// computed without writing the full-size conv output. argidx (same shape, may be nullptr when
// no backward pass follows) receives per element the window offset dh*pool_w + dw of the first
// maximum of the pre-activation values; where pooled == 0 the relu passes no gradient and the
// index is irrelevant. Only small kh*kw*in_c convolutions are supported (see
// conv2d_relu_maxpool_supported); the result equals conv2d_forward(relu) + max_pool2d_forward
// bit for bit.
struct ConvPoolShape {
  Conv2DShape conv;
  int64_t pool_h = 2, pool_w = 2;
  int64_t pad_top = 0, pad_left = 0;
  int64_t pooled_h = 0, pooled_w = 0;
};

// True when the fused kernels handle this shape (groups 1, kh*kw*in_c <= 32, out_c <= 512,
// pool_h*pool_w <= 255); throws std::invalid_argument for an inconsistent description.
bool conv2d_relu_maxpool_supported(const ConvPoolShape& s);
void conv2d_relu_maxpool_validate(const ConvPoolShape& s);

void conv2d_relu_maxpool_forward(const ConvPoolShape& s, const float* src, const float* kernel,
                                 const float* bias, float* pooled, uint8_t* argidx);

// Weight gradients from the pooled gradient: each pooled gradient reaches the conv output at
// its window's argmax when pooled > 0 (relu) -- the full-size gradient is never written.
// dkernel is overwritten; dbias (may be nullptr) too.
void conv2d_relu_maxpool_backward_weights(const ConvPoolShape& s, const float* src,
                                          const float* dpooled, const float* pooled,
                                          const uint8_t* argidx, float* dkernel, float* dbias);

// Gradient of the input (when the fused block is not the first layer): routes dpooled to a
// full-size pre-activation gradient, then runs conv2d_backward_data. dsrc is overwritten.
void conv2d_relu_maxpool_backward_data(const ConvPoolShape& s, const float* dpooled,
                                       const float* pooled, const uint8_t* argidx,
                                       const float* kernel, float* dsrc);

// What an inference convolution does after the sum: act(scale * sum + bias + residual), each
// per output channel (residual: the output's shape); any pointer may be nullptr.
struct ConvEpilogue {
  const float* bias = nullptr;
  const float* scale = nullptr;
  const float* residual = nullptr;
  Activation act = Activation::linear;
  ActivationParams params{};
};

// Inference: a depthwise convolution `s` (groups == in_c, with its epilogue; no residual)
// feeding a pointwise one (pw_kernel (s.out_c, pw_out), with its epilogue), MobileNet's
// separable block. Computed a block of pixels at a time so the depthwise output never
// leaves the cache. dst: (batch, out_h, out_w, pw_out).
void depthwise_pointwise_forward(const Conv2DShape& s, const float* src, const float* dw_kernel,
                                 const ConvEpilogue& dw, const float* pw_kernel, int64_t pw_out,
                                 const ConvEpilogue& pw, float* dst);

// x[r, :] = act(x[r, :] + bias) in place for a (rows, cols) buffer; bias may be nullptr.
// (The transposed convolution's forward is conv2d_backward_data, which has no epilogue.)
void bias_activation_inplace(float* x, int64_t rows, int64_t cols, const float* bias,
                             Activation act, const ActivationParams& act_params);

// dz = y > 0 ? g : 0: the gradient of a plain relu taken from its output, which the conv
// layers' fused relu needs on every backward pass (a vectorised, threaded pass).
void relu_backward_from_output(const float* y, const float* g, float* dz, int64_t n);

}  // namespace nnfast
