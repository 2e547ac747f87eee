// int8 depthwise convolution for inference (a quantized DepthwiseConv2D; nnfast beyond Keras,
// which quantizes Dense, EinsumDense and Embedding only).
//
//   src    (batch, in_h, in_w, in_c) float32, NHWC
//   kernel (kernel_h * kernel_w, in_c * depth_multiplier) int8, one scale per output channel
//   dst    (batch, out_h, out_w, in_c * depth_multiplier) float32
//
// Each sample's input is quantized dynamically with one abs-max scale per channel (Keras's
// scheme with a channel of one sample's feature map as the row: x_scale[b, c] = 127 /
// (max|x[b, :, :, c]| + epsilon), round half to even, clip to [-127, 127]); the taps' products
// are summed exactly in int32 (a depthwise convolution never mixes channels), then the epilogue
//   dst[o] = act(acc[o] * (scale[o] / (x_scale[b, o / dm] * kernel_scale[o])) + bias[o])
// runs on blocks still in cache (scale: a folded batch normalization, or none). A sample with
// a NaN/inf input gives NaN outputs, as the int8 Dense step does for a row.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/gemm_int8.h"

namespace nnfast {

// `s` describes the depthwise convolution (groups == in_c, out_c == in_c * depth_multiplier).
// kernel_scale and bias have out_c entries; bias and scale may be nullptr.
// input_absmax, when given, holds (batch, in_c) bit patterns of max |src| per sample and
// channel (what int8_conv2d_forward's epilogue gathers for the layer feeding this one): the
// pass over src that would find them is skipped.
void int8_depthwise_conv2d_forward(const Conv2DShape& s, const float* src, const int8_t* kernel,
                                   const float* kernel_scale, const float* bias,
                                   const float* scale, Activation act,
                                   const ActivationParams& act_params, float epsilon,
                                   float* dst, const int32_t* input_absmax = nullptr);

// The int8 depthwise kernel the registry picks now ("s8_depthwise_avx512vnni", "_avx512",
// "_avx2", "_ref").
const char* int8_depthwise_kernel_name();

// Whether the registry may pick the AVX512_VNNI kernel where the CPU has it (so tests can run
// the plain AVX-512 one on such a CPU too); returns the previous setting.
bool int8_depthwise_allow_vnni(bool allowed);

}  // namespace nnfast

// --- int8 depthwise -> pointwise (separable_int8.cpp) -------------------------------------
namespace nnfast {

// A quantized DepthwiseConv2D (with its epilogue, as int8_depthwise_conv2d_forward) whose
// output only a quantized 1x1 stride-1 Conv2D reads, in one call over blocks of output pixels:
// each block's depthwise output stays in cache, is quantized per pixel there and multiplied by
// the pointwise kernel `pw` (packed (out_c, pw.n)) with int8_conv2d_forward's epilogue
// (pw_kernel_scale, pw_bias, pw_epilogue's residual and activation; no channel_absmax). The
// same bits as the two calls one after the other, without the depthwise output in memory.
// dst: (batch, out_h, out_w, pw.n).
void int8_depthwise_pointwise_forward(const Conv2DShape& s, const float* src,
                                      const int8_t* dw_kernel, const float* dw_kernel_scale,
                                      const float* dw_bias, const float* dw_scale,
                                      Activation dw_act, const ActivationParams& dw_act_params,
                                      const int32_t* input_absmax, const Int8PackedKernel& pw,
                                      const float* pw_kernel_scale, const float* pw_bias,
                                      float epsilon, float* dst,
                                      const Int8Epilogue& pw_epilogue = Int8Epilogue{},
                                      Int8GemmVariant variant = Int8GemmVariant::best);

}  // namespace nnfast

// --- int8 inverted residual block (inverted_residual_int8.cpp) ------------------------------
namespace nnfast {

// A quantized 1x1 stride-1 convolution of a fused chain: its packed (in, out) kernel, scales
// (a batch normalization folded in), bias, and the epilogue's residual and activation.
struct Int8PointwiseConv {
  const Int8PackedKernel* packed = nullptr;
  const float* kernel_scale = nullptr;
  const float* bias = nullptr;
  Int8Epilogue epilogue;
};

// A quantized depthwise convolution of a fused chain (as int8_depthwise_conv2d_forward's
// arguments).
struct Int8DepthwiseConv {
  const int8_t* kernel = nullptr;
  const float* kernel_scale = nullptr;
  const float* bias = nullptr;
  const float* scale = nullptr;
  Activation act = Activation::linear;
  ActivationParams params;
};

// MobileNetV2's inverted residual block in int8, for inference: expand (int8 1x1 conv of src,
// as int8_conv2d_forward), depthwise (`s`: its input is the expand output), project (int8 1x1
// conv, as int8_conv2d_forward, with project.epilogue's residual), computed over bands of
// output rows so the expanded and depthwise feature maps stay in cache (never in memory).
// One difference from the three calls: the depthwise input is quantized with one scale per
// (sample, band of rows, channel) -- the band's expand rows, halo included -- instead of per
// (sample, channel); a NaN/inf makes its band's outputs NaN. Bands depend on the shape only,
// so the bits do not depend on the thread count. src: (batch, in_h, in_w, expand.k);
// dst: (batch, out_h, out_w, project.n). No channel_absmax in the epilogues.
void int8_inverted_residual_forward(const Conv2DShape& s, const float* src,
                                    const Int8PointwiseConv& expand,
                                    const Int8DepthwiseConv& depthwise,
                                    const Int8PointwiseConv& project, float epsilon, float* dst,
                                    Int8GemmVariant variant = Int8GemmVariant::best);

// Output rows per band of int8_inverted_residual_forward for `s` (its expanded rows, halo
// included, take about 512 KB as floats).
int64_t int8_inverted_residual_band_rows(const Conv2DShape& s);

}  // namespace nnfast
