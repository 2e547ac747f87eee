// What the convolution drivers share (internal to cpp/src/ops): work-splitting helpers, the
// depthwise kernel table and the AVX-512 register-tile drivers (conv_tiles.cpp) that the
// forward, backward and inference paths all run on.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/conv/conv_kernels.h"
#include "nnfast/conv.h"
#include "nnfast/runtime.h"

namespace nnfast::conv_detail {

constexpr double kMinFlopsPerThread = 2.0e6;  // below this a second thread does not pay

// Tiles per thread so that each thread gets at least kMinFlopsPerThread of work.
inline int64_t tile_grain(double flops_per_tile) {
  return std::max<int64_t>(
      1, static_cast<int64_t>(kMinFlopsPerThread / std::max(flops_per_tile, 1.0)));
}

// A scratch buffer of at least `floats` owned by the calling thread.
inline std::vector<float>& thread_buffer(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf;
}

inline bool is_pointwise(const Conv2DShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
         s.pad_top == 0 && s.pad_left == 0 && s.groups == 1 && s.out_h == s.in_h &&
         s.out_w == s.in_w;
}

// (batch, oh, ow) of flattened output pixels, stepped one pixel at a time: the tile drivers
// lay out pointers per pixel, and three divisions per pixel cost ~40% of a 1x1 conv with 64
// input channels.
struct PixelCursor {
  int64_t b, oh, ow;
  PixelCursor(const Conv2DShape& s, int64_t p)
      : b(p / (s.out_w * s.out_h)), oh((p / s.out_w) % s.out_h), ow(p % s.out_w) {}
  void next(const Conv2DShape& s) {
    if (++ow == s.out_w) {
      ow = 0;
      if (++oh == s.out_h) {
        oh = 0;
        ++b;
      }
    }
  }
};

struct DepthwiseVariant {
  kernels::DepthwiseForwardFn fwd;
  kernels::DepthwiseBackwardDataFn bwd_data;
  kernels::DepthwiseBackwardWeightsFn bwd_weights;
};
// The depthwise kernels the "depthwise_conv2d" registry selects (logged under NNFAST_VERBOSE).
const DepthwiseVariant& pick_depthwise();

// --- Register-tile drivers (conv_tiles.cpp), over a tile micro-kernel of any ISA -------------
// Forward on 14-pixel x 32-channel tiles: act(scale * conv + bias + residual).
void conv2d_forward_tiles(kernels::ConvTileFn tile, const Conv2DShape& s, const float* src,
                          const float* kernel, const float* bias, Activation act,
                          const ActivationParams& act_params, float* dst,
                          const float* scale = nullptr, const float* residual = nullptr);
// Input gradient of a strided convolution, phase by phase.
void conv2d_backward_data_strided(kernels::ConvTileFn tile, const Conv2DShape& s,
                                  const float* ddst, const float* kernel, float* dsrc);
// Forward with 2-15 input channels: each tap row's kernel_w pixels as one run of channels.
void conv2d_forward_rowmerged(kernels::ConvTileFn tile, const Conv2DShape& s, const float* src,
                              const float* kernel, const float* bias, Activation act,
                              const ActivationParams& act_params, float* dst, const float* scale,
                              const float* residual);

}  // namespace nnfast::conv_detail
