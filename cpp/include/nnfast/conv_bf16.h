// 2-D convolution in bfloat16 (Keras's mixed_bfloat16 compute): conv2d_forward /
// backward_data / backward_weights (nnfast/conv.h) with both operands of every product
// rounded to bfloat16 (nearest even) and the products accumulated in float32; bias,
// activation and outputs stay float32.
//
// Routes, picked per call by `variant` (Bf16GemmVariant of nnfast/gemm.h):
//   amx, stride 1, one group, in_c and out_c multiples of 16 (not 1x1): the direct AMX
//     convolution of kernels/conv/conv_bf16_amx.h, no im2col matrix, for every pass where
//     the measured rule of conv_bf16.cpp takes it (most computed positions real);
//   amx / avx512bf16: im2col tiles (or the input itself for 1x1 stride-1 convolutions) fed to
//     the bf16 GEMM on that unit, which rounds while packing;
//   via_f32: rounded fp32 copies of the operands through the fp32 convolution kernels (a bf16
//     x bf16 product is exact in fp32, so only the summation order differs);
//   best: the bf16 units for convolutions deep enough to feed a GEMM (kh*kw*in_c/groups >= 32
//     and >= 16 output channels per group), else via_f32 (first layers and depthwise-like
//     groups run faster on the fp32 direct kernels than through im2col); and via_f32 for a
//     pass whose GEMM is <= 32 columns wide (forward: out_c, input gradient: in_c) where the
//     fp32 kernels run Winograd and AMX is absent (the tiles cost more than the unit saves).
#pragma once
#include <cstdint>

#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/gemm.h"

namespace nnfast {

// round_dst: dst rounded to bf16 as round_to_bf16_array would (the layer's bf16 output), in
// the output rows while they are in cache where the route allows.
void conv2d_forward_bf16(const Conv2DShape& s, const float* src, const float* kernel,
                         const float* bias, Activation act, const ActivationParams& act_params,
                         float* dst, Bf16GemmVariant variant = Bf16GemmVariant::best,
                         bool round_dst = false);

// round_dsrc: dsrc rounded to bf16 as round_to_bf16_array would (what a bf16 consumer of the
// gradient reads), in cache where the route allows.
void conv2d_backward_data_bf16(const Conv2DShape& s, const float* ddst, const float* kernel,
                               float* dsrc, Bf16GemmVariant variant = Bf16GemmVariant::best,
                               bool round_dsrc = false);

// dbias (may be nullptr) is the float32 sum of ddst rounded to bf16. Every route rounds ddst
// (and src, kernel) itself, so a caller may pass them unrounded: the same bits either way.
void conv2d_backward_weights_bf16(const Conv2DShape& s, const float* src, const float* ddst,
                                  float* dkernel, float* dbias,
                                  Bf16GemmVariant variant = Bf16GemmVariant::best);

// The route `variant` resolves to for this shape: "amx", "avx512bf16" or "via_f32".
const char* conv2d_bf16_route(const Conv2DShape& s, Bf16GemmVariant variant);

}  // namespace nnfast
