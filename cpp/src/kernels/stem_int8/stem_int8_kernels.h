// int8 stem convolution micro-kernels (a first layer's conv with a shallow window, such as
// MobileNetV2's 3x3x3 stride-2 stem; see nnfast/stem_int8.h for the numbers).
//
// The driver quantizes each sample once into a zero-padded image of bytes q + 128 (the value 0
// is the byte 0x80), rows of `row_bytes`, with slack after the last row. A window's kernel row
// kh is then kw * c contiguous bytes, read as `row_dwords` 4-byte groups (bytes past kw * c
// belong to the next pixels; their weights are zero). The weights are (dwords, np / 16, 16, 4)
// bytes: dword d of the window against 16 output channels per 64 bytes, zero past the real
// window bytes and channels (np: out channels rounded up to 16). A kernel computes, for the
// output pixels of one output row,
//   acc[j] = sum_d sum_b byte[d][b] * w[d][j][b] - offset_sum[j]   (exact int32;
//            offset_sum[j] = 128 * sum of channel j's weights)
//   dst[j] = min(hi, max(lo, fma(float(acc[j]), mult[j], bias[j])))
// and raises max_bits[j] to the bit pattern of max |dst[j]| over those pixels.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {

struct Int8StemArgs {
  const uint8_t* image;        // the sample's padded image, bytes q + 128
  int64_t row_bytes;           // bytes per padded image row
  int64_t pixel_step;          // bytes between the windows of neighbouring output pixels
  int64_t dwords;              // kernel_h * row_dwords
  const int64_t* dword_offset; // (dwords): byte offset of dword d from the window's start
  const int8_t* weights;       // (dwords, np / 16, 64)
  const int32_t* offset_sum;   // (np)
  int64_t n, np;               // output channels, rounded up to 16
  const float* mult;           // (np): 1 / (x_scale * kernel_scale[j]), zero past n
  const float* bias;           // (np): zero past n
  float lo, hi;                // the clamp (infinite: none)
};

// Output pixels [0, out_w) of the output row whose windows start at `row` (a pointer into
// args.image) into dst (out_w rows of n floats); max_bits: (n) raised as described above.
using Int8StemRowFn = void (*)(const Int8StemArgs& a, const uint8_t* row, int64_t out_w,
                               float* dst, uint32_t* max_bits);
// The bit pattern of max |x[i]| over n floats (a NaN/inf gives a pattern >= 0x7f800000).
using Int8StemAbsMaxFn = uint32_t (*)(const float* x, int64_t n);
// dst[i] = uint8(clamp(nearbyint(x[i] * scale), -127, 127) + 128) for n floats.
using Int8StemQuantizeFn = void (*)(const float* x, int64_t n, float scale, uint8_t* dst);

struct Int8StemKernels {
  Int8StemRowFn row;
  Int8StemAbsMaxFn absmax;
  Int8StemQuantizeFn quantize;
};

#define NNFAST_S8_STEM(isa)                                                                 \
  void s8_stem_row_##isa(const Int8StemArgs& a, const uint8_t* row, int64_t out_w,           \
                         float* dst, uint32_t* max_bits);                                    \
  uint32_t s8_stem_absmax_##isa(const float* x, int64_t n);                                  \
  void s8_stem_quantize_##isa(const float* x, int64_t n, float scale, uint8_t* dst);
NNFAST_S8_STEM(avx512vnni)
NNFAST_S8_STEM(avxvnni)
NNFAST_S8_STEM(ref)
#undef NNFAST_S8_STEM

}  // namespace nnfast::kernels
