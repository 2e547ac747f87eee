// AVX-512 int8 depthwise kernel: per 16 channels and pair of taps, the two taps' bytes are
// interleaved (vpunpck{l,h}bw), sign-extended to 32 int16 and multiplied by the interleaved
// int16 weight pair with vpmaddwd: 16 exact int32 sums of two products each, accumulated
// (the body in depthwise_int8_simd_body.h over the vector vocabulary, simd_avx512.h).
// The quantizer below still uses raw intrinsics: roundscale and the saturating int32 -> int8
// narrow have no vocabulary names yet.
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
  // round half to even (roundscale), clip to [-127, 127], saturating narrow to bytes; the
  // padding lanes (zeros read past c) give zeros.
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  for (int64_t p = 0; p < pixels; ++p) {
    const float* row = x + p * c;
    int8_t* d = dst + p * cp;
    for (int64_t o = 0; o < cp; o += 16) {
      const int64_t left = c - o;
      const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF)
                                     : (left <= 0 ? static_cast<__mmask16>(0)
                                                  : static_cast<__mmask16>((1u << left) - 1u));
      __m512 q = _mm512_roundscale_ps(
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + o), _mm512_maskz_loadu_ps(m, scale + o)),
          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm512_min_ps(hi, _mm512_max_ps(lo, q));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + o),
                       _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(q)));
    }
  }
}

}  // namespace nnfast::kernels
