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
#include "ops/parallel.h"

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

// Sums per-chunk partial buffers (chunk 0 is `out` itself) in chunk order.
template <typename Fn>
inline void chunked_accumulate(int64_t tiles, int64_t grain, float* out, int64_t out_size, Fn&& fn) {
  const int64_t chunks = std::max<int64_t>(
      1, std::min<int64_t>(num_threads(), tiles / std::max<int64_t>(grain, 1)));
  std::vector<float> partial(static_cast<size_t>((chunks - 1) * out_size));
  parallel_for_chunks(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* dst = c == 0 ? out : partial.data() + (c - 1) * out_size;
      std::fill(dst, dst + out_size, 0.0f);
      fn(tiles * c / chunks, tiles * (c + 1) / chunks, dst);
    }
  });
  for (int64_t c = 1; c < chunks; ++c) {
    const float* p = partial.data() + (c - 1) * out_size;
    for (int64_t i = 0; i < out_size; ++i) out[i] += p[i];
  }
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

// --- Winograd F(2x2, 3x3) and F(4x4, 3x3) (conv_winograd.cpp): 3x3, stride 1, groups 1 -------
// Shapes the Winograd drivers take: 3x3 kernels at stride and dilation 1, groups 1, padding
// at most 2 (the input gradient is then a Winograd conv too), 16 to 128 channels each way,
// at least 192 tiles of 2x2 output pixels.
bool winograd_3x3(const Conv2DShape& s);
// The same, where the cost rule picks output tiles of 4x4 (f4) or 2x2 (f2) pixels: for the
// forward pass and the kernel gradient.
bool winograd_3x3_f4(const Conv2DShape& s);
bool winograd_3x3_f2(const Conv2DShape& s);
// The same for the input gradient, where Winograd must also beat the flipped-kernel register
// tiles (it runs on the input's size, with a zero border of 2 - pad).
bool winograd_3x3_input_gradient_f4(const Conv2DShape& s);
bool winograd_3x3_input_gradient_f2(const Conv2DShape& s);
// The input gradient as the adjoint of the F(4x4) forward, on the forward's own tiles: where
// it costs less than the flipped-kernel Winograd conv and the register tiles (checked first:
// the two above are false where this holds).
bool winograd_3x3_input_gradient_adjoint(const Conv2DShape& s);
// act(scale * conv + bias + residual) (scale, bias, residual may be nullptr); m: the output
// tile size, 2 or 4.
void conv2d_forward_winograd(int64_t m, const Conv2DShape& s, const float* src,
                             const float* kernel, const float* bias, Activation act,
                             const ActivationParams& act_params, float* dst, const float* scale,
                             const float* residual);
// dsrc (overwritten) from ddst: the flipped kernel's Winograd conv of ddst.
void conv2d_backward_data_winograd(int64_t m, const Conv2DShape& s, const float* ddst,
                                   const float* kernel, float* dsrc);
// dsrc (overwritten) from ddst: the adjoint of the F(4x4) forward.
void conv2d_backward_data_winograd_adjoint(const Conv2DShape& s, const float* ddst,
                                           const float* kernel, float* dsrc);
// dkernel (overwritten) = sum over tiles of the transformed input and output gradient.
void conv2d_backward_weights_winograd(int64_t m, const Conv2DShape& s, const float* src,
                                      const float* ddst, float* dkernel);

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
