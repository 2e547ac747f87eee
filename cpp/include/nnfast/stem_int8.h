// int8 convolution of a shallow first layer for inference (a quantized Conv2D whose window,
// kernel_h * kernel_w * in_c values, is a few dozen: MobileNetV2's 3x3x3 stride-2 stem; nnfast
// beyond Keras, which quantizes no convolution).
//
//   src    (batch, in_h, in_w, in_c) float32, NHWC
//   kernel (kernel_h, kernel_w, in_c, out_c) int8, one scale per output channel
//   dst    (batch, out_h, out_w, out_c) float32
//
// Each sample's image is quantized once with one abs-max scale (an image carries one range):
// x_scale[b] = 127 / (max|src[b]| + epsilon), q = clip(round_half_even(x * x_scale), -127,
// 127); every output is one exact int32 sum over its window (zeros outside the image), then
//   dst = act(fma(float(acc), 1 / x_scale[b] * (1 / kernel_scale[o]), bias[o]))
// with relu/relu6 as a clamp in the same pass (other activations after it, on the row). A
// sample holding a NaN/inf gives NaN outputs. The integer sums and the epilogue are the same
// on every kernel (AVX512_VNNI, AVX-VNNI, scalar reference): the same bits, at any thread
// count.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/depthwise_int8.h"

namespace nnfast {

// Whether int8_stem_conv2d_forward takes this convolution: groups 1, dilation_w 1, a window
// of at most 64 four-byte groups (kernel_h * ceil(kernel_w * in_c / 4) <= 64) and at most 1024
// output channels.
bool int8_stem_conv2d_supported(const Conv2DShape& s);

// `s` as above (validated; throws std::invalid_argument when not supported). bias may be
// nullptr. channel_absmax, when not nullptr, (batch, out_c) int32 zeroed by the caller,
// receives the bit pattern of max |dst| per sample and channel (0x7fc00000 for a sample with
// a NaN/inf), for an int8 depthwise convolution reading dst next.
void int8_stem_conv2d_forward(const Conv2DShape& s, const float* src, const int8_t* kernel,
                              const float* kernel_scale, const float* bias, float epsilon,
                              Activation act, const ActivationParams& act_params, float* dst,
                              int32_t* channel_absmax = nullptr);

// The stem (stem_shape, its arguments as int8_stem_conv2d_forward's) feeding only an int8
// depthwise convolution (`s`, its input the stem's output) feeding only an int8 1x1 project
// conv, as int8_inverted_residual_forward computes a block with the stem in place of the
// expand conv: over bands of output rows, the stem's rows (halo included) computed into cache,
// the depthwise input quantized with one scale per (sample, band, channel), no feature map
// between the three in memory. The same bits as the stem's own call followed by the depthwise
// and project calls on each band of its rows as their own image. dst: (batch, out_h, out_w,
// project.n).
void int8_stem_block_forward(const Conv2DShape& stem_shape, const float* src,
                             const int8_t* stem_kernel, const float* stem_kernel_scale,
                             const float* stem_bias, Activation stem_act,
                             const ActivationParams& stem_act_params, const Conv2DShape& s,
                             const Int8DepthwiseConv& depthwise, const Int8PointwiseConv& project,
                             float epsilon, float* dst,
                             Int8GemmVariant variant = Int8GemmVariant::best);

// The kernel the registry picks now ("s8_stem_avx512vnni", "s8_stem_avxvnni", "s8_stem_ref").
const char* int8_stem_kernel_name();

}  // namespace nnfast
