// AVX-512 dropout: the splitmix64 hash on 8 counters at a time (vpmullq needs AVX512DQ),
// bit-identical to the reference.
// gcc 12 flags its own _mm512_cvtepi64_epi32 (undefined upper lanes) as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/dropout/dropout_kernels.h"

namespace nnfast::kernels {
namespace {

inline __m512i mix64x8(__m512i z) {
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                         _mm512_set1_epi64(static_cast<long long>(0xbf58476d1ce4e5b9ULL)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                         _mm512_set1_epi64(static_cast<long long>(0x94d049bb133111ebULL)));
  return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// 8 uniforms in [0, 1) for counters c .. c+7.
inline __m256 uniform8(__m512i counters, __m512i seed_term) {
  const __m512i inner = mix64x8(_mm512_add_epi64(
      counters, _mm512_set1_epi64(static_cast<long long>(0x632be59bd9b4e019ULL))));
  const __m512i z = mix64x8(_mm512_add_epi64(seed_term, inner));
  const __m256i bits = _mm512_cvtepi64_epi32(_mm512_srli_epi64(z, 40));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(bits), _mm256_set1_ps(1.0f / 16777216.0f));
}

}  // namespace

void f32_dropout_avx512(const float* src, float* dst, int64_t n, float rate, float scale,
                        uint64_t seed, uint64_t first_counter) {
  const __m512i seed_term = _mm512_set1_epi64(static_cast<long long>(seed * 0x9e3779b97f4a7c15ULL));
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m256 vrate = _mm256_set1_ps(rate);
  const __m256 vscale = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512i c = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first_counter + i)), lane);
    const __mmask8 keep = _mm256_cmp_ps_mask(uniform8(c, seed_term), vrate, _CMP_GE_OQ);
    const __m256 x = _mm256_loadu_ps(src + i);
    _mm256_storeu_ps(dst + i, _mm256_maskz_mul_ps(keep, x, vscale));
  }
  if (i < n) {
    const __mmask8 tail = static_cast<__mmask8>((1u << (n - i)) - 1u);
    const __m512i c = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first_counter + i)), lane);
    const __mmask8 keep = _mm256_cmp_ps_mask(uniform8(c, seed_term), vrate, _CMP_GE_OQ) & tail;
    const __m256 x = _mm256_maskz_loadu_ps(tail, src + i);
    _mm256_mask_storeu_ps(dst + i, tail, _mm256_maskz_mul_ps(keep, x, vscale));
  }
}

}  // namespace nnfast::kernels
