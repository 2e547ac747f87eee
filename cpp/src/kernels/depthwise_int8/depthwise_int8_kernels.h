// int8 depthwise micro-kernel contract. The driver lays the quantized input out as rows of
// `cp` bytes (one row per input pixel, channels padded with zeros to cp, a multiple of 16,
// depth multipliers already expanded so output channel o reads byte o), plus one zero row that
// taps outside the image point at. A kernel computes, for output pixels [p0, p1),
//   dst[(p - p0) * out_c + o] = float(sum_t x_t[o] * w[t][o])   (exact int32 sums)
// for o < out_c, where x_t is the row tap t reads. A kernel set whose input_offset is 0x80
// (vpdpbusd multiplies unsigned by signed bytes) stores each quantized value q as the byte
// q + 128 (q ^ 0x80; the zero row and the channel padding hold 0x80, the value 0) and removes
// the offset exactly: sum_t (x_t + 128) * w_t - 128 * sum_t w_t.
#pragma once
#include <stdint.h>

#include "nnfast/conv.h"

namespace nnfast::kernels {

struct Int8DepthwiseArgs {
  const Conv2DShape* shape;
  const int8_t* xq;        // (batch * in_h * in_w + 1) rows of cp bytes; the last is zeros
  int64_t cp;              // padded channel count (multiple of 16)
  int64_t taps_even;       // kernel_h * kernel_w rounded up to even
  const int8_t* w_taps;    // (taps_even, cp) int8 weights, zero past the real taps/channels
  const int32_t* w_pairs;  // (taps_even / 2, cp): int16 w[2q][o] low, w[2q + 1][o] high
  // Offset kernels only (null otherwise), channels padded with zeros to cp64 (multiple of 64):
  const int8_t* w_spread;      // (taps, 4, cp64): tap t's weights, in the j-th copy only the
                               // bytes o with o % 4 == j (the others zero)
  const int32_t* w_offset_sum;  // (cp64): 128 * sum_t w[t][o]
  int64_t cp64;
  // Kernels that fuse the epilogue, when mult is not null: dst = min(hi, max(lo, sum * mult +
  // bias)) (a fused multiply-add; bias may be null; an infinite bound is no clamp), as
  // scale_shift_activation_rows computes it after the kernel otherwise.
  const float* mult = nullptr;
  const float* bias = nullptr;
  float lo = 0.0f, hi = 0.0f;
};

// tap_rows: scratch for taps_even pointers.
using Int8DepthwiseFn = void (*)(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                                 int64_t p1, float* dst);

// The driver's row work (see depthwise_int8_rows_impl.h), one set per ISA.
using Int8ChannelAbsMaxFn = void (*)(const float* x, int64_t pixels, int64_t c,
                                     uint32_t* max_bits);
using Int8QuantizeRowsFn = void (*)(const float* x, int64_t pixels, int64_t c, int64_t dm,
                                    int64_t cp, const float* scale, int8_t* dst);

struct Int8DepthwiseKernels {
  Int8DepthwiseFn compute;
  Int8ChannelAbsMaxFn channel_absmax;
  Int8QuantizeRowsFn quantize_rows;
  uint8_t input_offset;  // 0, or 0x80: quantize_rows stores q + 128 (see the contract above)
  bool fuses_epilogue;   // compute applies args.mult/bias/lo/hi (see Int8DepthwiseArgs)
};

void s8_depthwise_avx512(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                         int64_t p1, float* dst);
void s8_depthwise_avx2(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                       int64_t p1, float* dst);
void s8_depthwise_ref(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                      int64_t p1, float* dst);
// AVX512_VNNI (vpdpbusd), an offset kernel set: its quantize_rows stores q + 128.
void s8_depthwise_avx512vnni(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                             int64_t p1, float* dst);

#define NNFAST_S8_ROWS(isa)                                                                  \
  void s8_channel_absmax_##isa(const float* x, int64_t pixels, int64_t c,                     \
                               uint32_t* max_bits);                                          \
  void s8_quantize_rows_##isa(const float* x, int64_t pixels, int64_t c, int64_t dm,          \
                              int64_t cp, const float* scale, int8_t* dst);
NNFAST_S8_ROWS(avx512)
NNFAST_S8_ROWS(avx2)
NNFAST_S8_ROWS(ref)
NNFAST_S8_ROWS(avx512vnni)
#undef NNFAST_S8_ROWS

// Points tap_rows at the rows output pixel (b, oh, ow) reads (the zero row outside the image
// and for the padding tap).
inline void int8_depthwise_tap_rows(const Int8DepthwiseArgs& a, int64_t b, int64_t oh,
                                    int64_t ow, const int8_t** tap_rows) {
  const Conv2DShape& s = *a.shape;
  const int8_t* zero = a.xq + s.batch * s.in_h * s.in_w * a.cp;
  int64_t t = 0;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw, ++t) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      tap_rows[t] = (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w)
                        ? zero
                        : a.xq + ((b * s.in_h + ih) * s.in_w + iw) * a.cp;
    }
  }
  for (; t < a.taps_even; ++t) tap_rows[t] = zero;
}

}  // namespace nnfast::kernels
