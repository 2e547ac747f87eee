// AVX-512 int8 depthwise kernel: per 16 channels and pair of taps, the two taps' bytes are
// interleaved (vpunpck{l,h}bw), sign-extended to 32 int16 and multiplied by the interleaved
// int16 weight pair with vpmaddwd: 16 exact int32 sums of two products each, accumulated
// (the body in depthwise_int8_simd_body.h over the vector vocabulary, simd_avx512.h).
// The quantizer below is on the vocabulary too (vround, vstore_s8_sat: vpmovsdb).
#include "kernels/simd_avx512.h"
#include "kernels/depthwise_int8/depthwise_int8_simd_body.h"

namespace nnfast::kernels {

void s8_depthwise_avx512(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                         int64_t p1, float* dst) {
  depthwise_s8_simd(a, tap_rows, p0, p1, dst);
}

void s8_channel_absmax_avx512(const float* x, int64_t pixels, int64_t c,
                              uint32_t* max_bits) {
  s8_channel_absmax_impl(x, pixels, c, max_bits);
}

void s8_quantize_rows_avx512(const float* x, int64_t pixels, int64_t c, int64_t dm, int64_t cp,
                             const float* scale, int8_t* dst) {
  if (dm != 1) return s8_quantize_rows_impl(x, pixels, c, dm, cp, scale, dst);
  // round half to even, clip to [-127, 127], saturating narrow to bytes; the padding lanes
  // (zeros read past c) give zeros.
  const VF lo = vset1(-127.0f), hi = vset1(127.0f);
  for (int64_t p = 0; p < pixels; ++p) {
    const float* row = x + p * c;
    int8_t* d = dst + p * cp;
    for (int64_t o = 0; o < cp; o += W) {
      const VM m = vfirst(clamp_lanes(c - o));
      const VF q = vround(vmul(vload_m(row + o, m), vload_m(scale + o, m)));
      vstore_s8_sat(d + o, vi_from_f(vmin(hi, vmax(lo, q))));
    }
  }
}

}  // namespace nnfast::kernels
