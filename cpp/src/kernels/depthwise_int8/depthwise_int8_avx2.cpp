// AVX2 int8 depthwise kernel: per 8 channels and pair of taps, the taps' bytes interleaved,
// sign-extended to 16 int16 and multiplied by the int16 weight pair with vpmaddwd (8 exact
// int32 sums of two products each), accumulated: the body in depthwise_int8_simd_body.h
// over the vector vocabulary (simd_avx2.h).
#include "kernels/simd_avx2.h"
#include "kernels/depthwise_int8/depthwise_int8_simd_body.h"

namespace nnfast::kernels {

void s8_depthwise_avx2(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                       int64_t p1, float* dst) {
  depthwise_s8_simd(a, tap_rows, p0, p1, dst);
}

void s8_channel_absmax_avx2(const float* x, int64_t pixels, int64_t c, uint32_t* max_bits) {
  s8_channel_absmax_impl(x, pixels, c, max_bits);
}

void s8_quantize_rows_avx2(const float* x, int64_t pixels, int64_t c, int64_t dm, int64_t cp,
                          const float* scale, int8_t* dst) {
  s8_quantize_rows_impl(x, pixels, c, dm, cp, scale, dst);
}

}  // namespace nnfast::kernels
