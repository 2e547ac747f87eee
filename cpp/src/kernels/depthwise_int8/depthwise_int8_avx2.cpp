// AVX2 int8 depthwise kernel: per 8 channels and pair of taps, the taps' bytes interleaved,
// sign-extended to 16 int16 and multiplied by the int16 weight pair with vpmaddwd (8 exact
// int32 sums of two products each), accumulated.
#include <immintrin.h>
#include <string.h>

#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "kernels/depthwise_int8/depthwise_int8_rows_impl.h"

namespace nnfast::kernels {

void s8_depthwise_avx2(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                       int64_t p1, float* dst) {
  const Conv2DShape& s = *a.shape;
  const int64_t hw = s.out_h * s.out_w, pairs = a.taps_even / 2, oc = s.out_c;
  for (int64_t p = p0; p < p1; ++p) {
    int8_depthwise_tap_rows(a, p / hw, (p % hw) / s.out_w, p % s.out_w, tap_rows);
    float* d = dst + (p - p0) * oc;
    for (int64_t o = 0; o < oc; o += 8) {
      __m256i acc = _mm256_setzero_si256();
      const int32_t* w = a.w_pairs + o;
      for (int64_t q = 0; q < pairs; ++q) {
        const __m128i x0 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(tap_rows[2 * q] + o));
        const __m128i x1 =
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(tap_rows[2 * q + 1] + o));
        acc = _mm256_add_epi32(
            acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(x0, x1)),
                                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                       w + q * a.cp))));
      }
      const __m256 v = _mm256_cvtepi32_ps(acc);
      if (oc - o >= 8) {
        _mm256_storeu_ps(d + o, v);
      } else {  // the channel tail: the padded lanes stay out of dst
        float tail[8];
        _mm256_storeu_ps(tail, v);
        memcpy(d + o, tail, static_cast<size_t>(oc - o) * sizeof(float));
      }
    }
  }
}

void s8_channel_absmax_avx2(const float* x, int64_t pixels, int64_t c, uint32_t* max_bits) {
  s8_channel_absmax_impl(x, pixels, c, max_bits);
}

void s8_quantize_rows_avx2(const float* x, int64_t pixels, int64_t c, int64_t dm, int64_t cp,
                          const float* scale, int8_t* dst) {
  s8_quantize_rows_impl(x, pixels, c, dm, cp, scale, dst);
}

}  // namespace nnfast::kernels
