// AVX-512 int8 depthwise kernel: per 16 channels and pair of taps, the two taps' bytes are
// interleaved (vpunpck{l,h}bw), sign-extended to 32 int16 and multiplied by the interleaved
// int16 weight pair with vpmaddwd: 16 exact int32 sums of two products each, accumulated.
// NOTE: GCC 12 warns that _mm512_cvtepi32_ps reads its _mm512_undefined_ps() pass-through
// uninitialized (it never does with a full mask): a false positive, silenced for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <string.h>

#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "kernels/depthwise_int8/depthwise_int8_rows_impl.h"

namespace nnfast::kernels {

void s8_depthwise_avx512(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                         int64_t p1, float* dst) {
  const Conv2DShape& s = *a.shape;
  const int64_t hw = s.out_h * s.out_w, pairs = a.taps_even / 2, oc = s.out_c;
  for (int64_t p = p0; p < p1; ++p) {
    int8_depthwise_tap_rows(a, p / hw, (p % hw) / s.out_w, p % s.out_w, tap_rows);
    float* d = dst + (p - p0) * oc;
    for (int64_t o = 0; o < oc; o += 16) {
      __m512i acc = _mm512_setzero_si512();
      const int32_t* w = a.w_pairs + o;
      for (int64_t q = 0; q < pairs; ++q) {
        const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tap_rows[2 * q] + o));
        const __m128i x1 =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(tap_rows[2 * q + 1] + o));
        const __m256i both = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_unpacklo_epi8(x0, x1)), _mm_unpackhi_epi8(x0, x1), 1);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_cvtepi8_epi16(both),
                                                      _mm512_loadu_si512(w + q * a.cp)));
      }
      const __mmask16 m = oc - o >= 16 ? static_cast<__mmask16>(0xFFFF)
                                       : static_cast<__mmask16>((1u << (oc - o)) - 1u);
      _mm512_mask_storeu_ps(d + o, m, _mm512_cvtepi32_ps(acc));
    }
  }
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
