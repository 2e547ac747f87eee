// Drivers of the AMX direct bf16 convolution (see conv_bf16_direct.h): images split across
// threads for the forward and the input gradient (each thread packs its own image's frame);
// the kernel gradient packs groups of images, then splits its (tap, block) items across
// threads, each item summing the groups in order (same bits at any thread count).
#include "ops/conv_bf16_direct.h"

#include <algorithm>

#include "kernels/conv/conv_bf16_amx.h"
#include "nnfast/gemm.h"
#include "ops/parallel.h"
#include "ops/scratch.h"

namespace nnfast {
namespace {

using kernels::AmxConvGeometry;

thread_local ScratchBuffer<uint16_t> tl_frame;    // one image's frame (or a group's, transposed)
thread_local ScratchBuffer<uint32_t> tl_kernel;   // the packed kernel
thread_local ScratchBuffer<uint32_t> tl_pairs;    // a group's output gradient in pairs
thread_local ScratchBuffer<float> tl_sums;        // its per-image bias-gradient sums
thread_local ScratchBuffer<uint16_t> tl_frames;   // every image's frame (a sliced forward)

// NOTE: the kernel gradient's packed operands for a group of images stay in L2 while every
// (tap, block) item reads them: ~512 KB per group.
constexpr int64_t kGroupBytes = int64_t{1} << 19;
// NOTE: a forward's packed kernel past ~1 MB is read in column slices of ~512 KB, each over
// every image: whole, it was re-read from L3 per image (3x3x512 -> 512 at 3x3: 6.3 ms against
// 3.4 ms on im2col tiles).
constexpr int64_t kKernelSliceBytes = int64_t{1} << 19;
constexpr int64_t kWholeKernelBytes = int64_t{1} << 20;

AmxConvGeometry forward_geometry(const Conv2DShape& s) {
  return {s.in_h, s.in_w, s.in_c, s.pad_top, s.pad_left, s.out_h, s.out_w, s.out_c,
          s.kernel_h, s.kernel_w, s.dilation_h, s.dilation_w};
}

// The input gradient as a forward convolution of the output gradient.
AmxConvGeometry input_gradient_geometry(const Conv2DShape& s) {
  return {s.out_h, s.out_w, s.out_c, s.dilation_h * (s.kernel_h - 1) - s.pad_top,
          s.dilation_w * (s.kernel_w - 1) - s.pad_left, s.in_h, s.in_w, s.in_c,
          s.kernel_h, s.kernel_w, s.dilation_h, s.dilation_w};
}

// dst (batch images of g) = conv of src images with the packed kernel. A packed kernel that
// fits in L2 serves each image whole, its frame packed just before; a larger one is taken in
// column slices that fit, each over every image's frame (all packed first).
void forward_images(const AmxConvGeometry& g, int64_t batch, const float* src,
                    const uint32_t* packed, const float* bias, Activation act,
                    const ActivationParams& act_params, bool round_dst, float* dst) {
  const int64_t in_size = g.src_h * g.src_w * g.depth, out_size = g.out_h * g.out_w * g.columns;
  const int64_t frame = kernels::amx_conv_frame_pixels(g) * g.depth;
  const int64_t column_bytes = g.kernel_h * g.kernel_w * g.depth * 2;  // one column's kernel
  const int64_t slice = column_bytes * g.columns <= kWholeKernelBytes
                            ? g.columns
                            : std::max<int64_t>(32, kKernelSliceBytes / column_bytes / 32 * 32);
  const int64_t cost = kernels::amx_conv_positions(g) * std::min(slice, g.columns) * g.depth *
                       g.kernel_h * g.kernel_w;
  // Linear and relu-like activations (clamps) and the rounding run in the tile epilogue;
  // another activation on the image's rows while in cache, then the rounding.
  float lo, hi;
  const bool in_tiles = activation_clamp_bounds(act, act_params, &lo, &hi);
  auto finish = [&](float* out) {
    if (in_tiles) return;
    scale_shift_activation_rows(out, g.columns, g.out_h * g.out_w, g.columns, nullptr, nullptr,
                                nullptr, 0, act, act_params);
    if (round_dst) round_to_bf16_array(out, out, out_size);
  };
  const bool round_in_tiles = round_dst && in_tiles;
  if (slice >= g.columns) {
    parallel_for_rows(batch, cost, 1 << 22, [&](int64_t b0, int64_t b1) {
      uint16_t* buf = tl_frame.get(static_cast<size_t>(frame));
      for (int64_t b = b0; b < b1; ++b) {
        kernels::bf16_conv_frame_rows_amx(g, src + b * in_size, buf);
        kernels::bf16_conv_forward_image_amx(g, buf, packed, bias, lo, hi, round_in_tiles, 0,
                                             g.columns, dst + b * out_size);
        finish(dst + b * out_size);
      }
    });
    return;
  }
  uint16_t* frames = tl_frames.get(static_cast<size_t>(batch * frame));
  parallel_for_rows(batch, in_size, 1 << 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      kernels::bf16_conv_frame_rows_amx(g, src + b * in_size, frames + b * frame);
  });
  for (int64_t c0 = 0; c0 < g.columns; c0 += slice) {
    const int64_t c1 = std::min(g.columns, c0 + slice);
    parallel_for_rows(batch, cost, 1 << 22, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        kernels::bf16_conv_forward_image_amx(g, frames + b * frame, packed, bias, lo, hi,
                                             round_in_tiles, c0, c1, dst + b * out_size);
    });
  }
  for (int64_t b = 0; b < batch && !in_tiles; ++b) finish(dst + b * out_size);
}

}  // namespace

bool bf16_direct_conv_fits(const Conv2DShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.groups == 1 && s.in_c % 16 == 0 &&
         s.out_c % 16 == 0 && s.in_c > 0 && s.out_c > 0 && s.out_h > 0 && s.out_w > 0 &&
         s.pad_top >= 0 && s.pad_left >= 0 && s.pad_top <= s.dilation_h * (s.kernel_h - 1) &&
         s.pad_left <= s.dilation_w * (s.kernel_w - 1) &&
         // every input pixel reaches an output (the input gradient's frame covers it)
         s.in_h <= s.out_h + s.dilation_h * (s.kernel_h - 1) - s.pad_top &&
         s.in_w <= s.out_w + s.dilation_w * (s.kernel_w - 1) - s.pad_left &&
         gemm_bf16_variant_available(Bf16GemmVariant::amx);
}

void conv2d_forward_bf16_direct(const Conv2DShape& s, const float* src, const float* kernel,
                                const float* bias, Activation act,
                                const ActivationParams& act_params, float* dst,
                                bool round_dst) {
  const AmxConvGeometry g = forward_geometry(s);
  uint32_t* packed = tl_kernel.get(static_cast<size_t>(kernels::amx_conv_kernel_words(g)));
  kernels::bf16_conv_pack_kernel_amx(g, kernel, false, packed);
  forward_images(g, s.batch, src, packed, bias, act, act_params, round_dst, dst);
}

void conv2d_backward_data_bf16_direct(const Conv2DShape& s, const float* ddst,
                                      const float* kernel, float* dsrc, bool round_dsrc) {
  const AmxConvGeometry g = input_gradient_geometry(s);
  uint32_t* packed = tl_kernel.get(static_cast<size_t>(kernels::amx_conv_kernel_words(g)));
  kernels::bf16_conv_pack_kernel_amx(g, kernel, true, packed);
  forward_images(g, s.batch, ddst, packed, nullptr, Activation::linear, ActivationParams{},
                 round_dsrc, dsrc);
}

void conv2d_backward_weights_bf16_direct(const Conv2DShape& s, const float* src,
                                         const float* ddst, float* dkernel, float* dbias) {
  const AmxConvGeometry g = forward_geometry(s);
  const int64_t in_size = s.in_h * s.in_w * s.in_c, out_size = s.out_h * s.out_w * s.out_c;
  const int64_t frame = s.in_c * kernels::amx_conv_frame_row(g);
  const int64_t words = kernels::amx_conv_gradient_words(g);
  const int64_t per_image = frame * 2 + words * 4;
  const int64_t group = std::clamp<int64_t>(kGroupBytes / per_image, 1, s.batch);
  uint16_t* frames = tl_frame.get(static_cast<size_t>(group * frame));
  uint32_t* pairs = tl_pairs.get(static_cast<size_t>(group * words));
  float* sums = dbias ? tl_sums.get(static_cast<size_t>(group * s.out_c)) : nullptr;
  if (dbias) std::fill(dbias, dbias + s.out_c, 0.0f);
  const int64_t items = kernels::amx_conv_weight_items(g);
  const int64_t item_cost = group * kernels::amx_conv_position_chunks(g) * 32 * 32 * 32;
  for (int64_t b0 = 0; b0 < s.batch; b0 += group) {
    const int64_t images = std::min(group, s.batch - b0);
    parallel_for_rows(images, per_image, 1 << 16, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        kernels::bf16_conv_frame_cols_amx(g, src + (b0 + i) * in_size, frames + i * frame);
        kernels::bf16_conv_gradient_pairs_amx(g, ddst + (b0 + i) * out_size, pairs + i * words,
                                              sums ? sums + i * s.out_c : nullptr);
      }
    });
    for (int64_t i = 0; sums && i < images; ++i)
      for (int64_t o = 0; o < s.out_c; ++o) dbias[o] += sums[i * s.out_c + o];
    parallel_for_rows(items, item_cost, 1 << 20, [&](int64_t j0, int64_t j1) {
      kernels::bf16_conv_weight_grad_amx(g, images, frames, pairs, j0, j1, b0 > 0, dkernel);
    });
  }
}

}  // namespace nnfast
