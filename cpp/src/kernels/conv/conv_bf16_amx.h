// Direct (implicit-GEMM) bf16 convolution on AMX tiles for stride-1 NHWC convolutions whose
// depth and output channels are multiples of 16: no im2col matrix.
//
// Each image is copied once, rounded to bf16 (as round_to_bfloat16 would, see
// bf16_convert_avx512.h), into a zero-padded frame of width wp = out_w + dw*(kw-1). Output
// positions are flattened over that width, p = oy*wp + ox (the columns ox >= out_w are
// computed and dropped), so tap (ky, kx) reads the frame at p + ky*dh*wp + kx*dw: for the
// forward, 16 consecutive frame pixels with their channels contiguous are one tile load
// (rows = positions, depth = channels); for the kernel gradient the frame is stored
// transposed (rows = channels, positions contiguous) and 32 consecutive positions at any
// offset are one tile row, against the output gradient in position pairs (zero on the dropped
// columns). Products accumulate in fp32 in the tiles; only the summation order differs from
// the im2col route. The input gradient is the forward kernel on the output gradient padded by
// (kh-1, kw-1) minus the forward's padding, with the kernel flipped and transposed.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

// One pass's geometry: a source image (src_h, src_w, depth) read through a frame with
// pad_top/pad_left zero rows/columns before it, giving out_h x out_w positions of
// `columns` output channels.
struct AmxConvGeometry {
  int64_t src_h, src_w, depth;
  int64_t pad_top, pad_left;
  int64_t out_h, out_w, columns;
  int64_t kernel_h, kernel_w, dilation_h, dilation_w;
};

// Derived sizes (all counts of elements).
inline int64_t amx_conv_frame_w(const AmxConvGeometry& g) {
  return g.out_w + g.dilation_w * (g.kernel_w - 1);
}
inline int64_t amx_conv_positions(const AmxConvGeometry& g) {
  return g.out_h * amx_conv_frame_w(g);
}
inline int64_t amx_conv_max_offset(const AmxConvGeometry& g) {
  return g.dilation_h * (g.kernel_h - 1) * amx_conv_frame_w(g) + g.dilation_w * (g.kernel_w - 1);
}
// Frame pixels per image in the position-major copy: every 16-row tile reads inside it.
inline int64_t amx_conv_frame_pixels(const AmxConvGeometry& g) {
  return (amx_conv_positions(g) + 15) / 16 * 16 + amx_conv_max_offset(g);
}
// Position chunks of 32 per image for the kernel gradient, and the transposed frame's row
// length (a multiple of 16, covering every chunk at every tap's offset).
inline int64_t amx_conv_position_chunks(const AmxConvGeometry& g) {
  return (amx_conv_positions(g) + 31) / 32;
}
inline int64_t amx_conv_frame_row(const AmxConvGeometry& g) {
  return (amx_conv_position_chunks(g) * 32 + amx_conv_max_offset(g) + 15) / 16 * 16;
}
// uint32 words of the packed kernel (bf16 pairs) and of one image's packed output gradient.
inline int64_t amx_conv_kernel_words(const AmxConvGeometry& g) {
  return g.kernel_h * g.kernel_w * g.depth * g.columns / 2;
}
inline int64_t amx_conv_gradient_words(const AmxConvGeometry& g) {
  return amx_conv_position_chunks(g) * 16 * g.columns;
}

// The image src (src_h, src_w, depth) as bf16 frame pixels, position-major:
// dst[amx_conv_frame_pixels * depth].
void bf16_conv_frame_rows_amx(const AmxConvGeometry& g, const float* src, uint16_t* dst);

// The kernel as the tiles' right operand (per tap, 16-pair depth chunk and 16 columns: one
// tile of bf16 pairs). Forward: kernel (kh, kw, depth, columns). flipped: kernel is a forward
// kernel (kh, kw, columns, depth) whose input gradient this is; tap (ky, kx) takes its tap
// (kh-1-ky, kw-1-kx) transposed.
void bf16_conv_pack_kernel_amx(const AmxConvGeometry& g, const float* kernel, bool flipped,
                               uint32_t* dst);

// dst (out_h, out_w, columns) = conv(frame, kernel) + bias (bias may be null), clamped to
// [lo, hi] as the clamp epilogue does (max(lo, v) then min(hi, v), skipped where infinite)
// and, with round_dst, rounded to bf16 as f32_round_bf16_ref: one image's output channels
// [col_begin, col_end) (multiples of 16).
void bf16_conv_forward_image_amx(const AmxConvGeometry& g, const uint16_t* frame,
                                 const uint32_t* packed_kernel, const float* bias, float lo,
                                 float hi, bool round_dst, int64_t col_begin, int64_t col_end,
                                 float* dst);

// The kernel gradient's operands for one image: the frame transposed, dst[depth *
// amx_conv_frame_row] (channel rows, positions contiguous), and the output gradient dy
// (out_h, out_w, columns) in position pairs, zero on dropped columns and past the last
// position, dst[amx_conv_gradient_words]; column_sums (columns, or null) = the sums of the
// rounded dy over the image's positions, in order.
void bf16_conv_frame_cols_amx(const AmxConvGeometry& g, const float* src, uint16_t* dst);
void bf16_conv_gradient_pairs_amx(const AmxConvGeometry& g, const float* dy, uint32_t* dst,
                                  float* column_sums);

// Work items of the kernel gradient: (tap, 32 depth rows, 32 columns) blocks.
inline int64_t amx_conv_weight_items(const AmxConvGeometry& g) {
  return g.kernel_h * g.kernel_w * ((g.depth + 31) / 32) * ((g.columns + 31) / 32);
}
// dkernel (kh, kw, depth, columns) blocks [item0, item1) = (accumulate ? dkernel : 0) + the
// sums over `images` images of packed operands (frames_t: images * depth * frame_row,
// pairs: images * gradient_words).
void bf16_conv_weight_grad_amx(const AmxConvGeometry& g, int64_t images, const uint16_t* frames_t,
                               const uint32_t* pairs, int64_t item0, int64_t item1,
                               bool accumulate, float* dkernel);

}  // namespace nnfast::kernels
