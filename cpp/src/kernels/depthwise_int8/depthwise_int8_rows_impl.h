// The int8 depthwise driver's row work, compiled once per ISA (depthwise_int8_<isa>.cpp each
// include this file and wrap it) so the compiler vectorises the loops for that instruction set.
// NOTE: plain C loops only, as ISA files require.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

namespace nnfast::kernels {
namespace {

// Raises max_bits[o] to the largest |x| bit pattern of channel o over `pixels` rows of c
// floats: for non-negative floats the integer order is the float order, so the running maxima
// vectorise. A NaN or inf leaves a pattern >= 0x7f800000 (the caller checks).
inline void s8_channel_absmax_impl(const float* x, int64_t pixels, int64_t c,
                                   uint32_t* max_bits) {
  uint32_t* __restrict mx = max_bits;
  for (int64_t p = 0; p < pixels; ++p) {
    const uint32_t* __restrict bits = reinterpret_cast<const uint32_t*>(x + p * c);
    for (int64_t o = 0; o < c; ++o) {
      const uint32_t a = bits[o] & 0x7fffffffu;
      mx[o] = a > mx[o] ? a : mx[o];
    }
  }
}

// Rows of c floats -> rows of cp int8 bytes: clip(round_half_even(x[ch] * scale[ch]), -127,
// 127), each input channel repeated depth_multiplier times (output channel order), zeros past
// c * dm; every byte xor `flip` (0x80 for the offset kernels: q + 128).
inline void s8_quantize_rows_impl(const float* x, int64_t pixels, int64_t c, int64_t dm,
                                  int64_t cp, const float* scale, int8_t* dst, int flip = 0) {
  for (int64_t p = 0; p < pixels; ++p) {
    const float* __restrict row = x + p * c;
    int8_t* __restrict d = dst + p * cp;
    if (dm == 1) {
      for (int64_t o = 0; o < c; ++o) {
        float q = nearbyintf(row[o] * scale[o]);
        q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
        d[o] = (int8_t)((int32_t)q ^ flip);
      }
    } else {
      for (int64_t ch = 0; ch < c; ++ch) {
        float q = nearbyintf(row[ch] * scale[ch]);
        q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
        for (int64_t m = 0; m < dm; ++m) d[ch * dm + m] = (int8_t)((int32_t)q ^ flip);
      }
    }
    memset(d + c * dm, flip, (size_t)(cp - c * dm));
  }
}

}  // namespace
}  // namespace nnfast::kernels
