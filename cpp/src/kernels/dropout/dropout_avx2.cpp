// AVX2 dropout: the splitmix64 hash on 4 counters per register, 8 per step, bit-identical to
// the reference. AVX2 has no 64-bit multiply (vpmullq is AVX512DQ), so products are built
// from 32x32->64 partial products: the low 64 bits of a*b are lo(a)lo(b) + (hi(a)lo(b) +
// lo(a)hi(b)) << 32.
#include <immintrin.h>

#include "kernels/dropout/dropout_kernels.h"

namespace nnfast::kernels {
namespace {

inline __m256i mullo64(__m256i a, __m256i b) {
  const __m256i lo = _mm256_mul_epu32(a, b);
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                         _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
  return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

inline __m256i mix64x4(__m256i z) {
  z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)),
              _mm256_set1_epi64x(static_cast<long long>(0xbf58476d1ce4e5b9ULL)));
  z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)),
              _mm256_set1_epi64x(static_cast<long long>(0x94d049bb133111ebULL)));
  return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

// The top 24 bits of each lane's hash, as four 64-bit lanes.
inline __m256i hash24x4(__m256i counters, __m256i seed_term) {
  const __m256i inner = mix64x4(_mm256_add_epi64(
      counters, _mm256_set1_epi64x(static_cast<long long>(0x632be59bd9b4e019ULL))));
  return _mm256_srli_epi64(mix64x4(_mm256_add_epi64(seed_term, inner)), 40);
}

// 8 uniforms in [0, 1) for counters c .. c+7 (c0 holds c..c+3, c1 holds c+4..c+7).
inline __m256 uniform8(__m256i c0, __m256i c1, __m256i seed_term) {
  const __m256i h0 = hash24x4(c0, seed_term), h1 = hash24x4(c1, seed_term);
  // Each 24-bit value sits in the low half of its 64-bit lane: gather the low halves in order.
  const __m256i pick_low = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m128i lo = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(h0, pick_low));
  const __m128i hi = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(h1, pick_low));
  const __m256i bits = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
  return _mm256_mul_ps(_mm256_cvtepi32_ps(bits), _mm256_set1_ps(1.0f / 16777216.0f));
}

}  // namespace

void f32_dropout_avx2(const float* src, float* dst, int64_t n, float rate, float scale,
                      uint64_t seed, uint64_t first_counter) {
  const __m256i seed_term =
      _mm256_set1_epi64x(static_cast<long long>(seed * 0x9e3779b97f4a7c15ULL));
  const __m256i lane_lo = _mm256_setr_epi64x(0, 1, 2, 3);
  const __m256i lane_hi = _mm256_setr_epi64x(4, 5, 6, 7);
  const __m256 vrate = _mm256_set1_ps(rate);
  const __m256 vscale = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i base = _mm256_set1_epi64x(static_cast<long long>(first_counter + i));
    const __m256 u = uniform8(_mm256_add_epi64(base, lane_lo), _mm256_add_epi64(base, lane_hi),
                              seed_term);
    const __m256 keep = _mm256_cmp_ps(u, vrate, _CMP_GE_OQ);
    _mm256_storeu_ps(dst + i, _mm256_and_ps(keep, _mm256_mul_ps(_mm256_loadu_ps(src + i), vscale)));
  }
  if (i < n) {
    // The tail through a stack copy: loads and stores stay inside src/dst.
    alignas(32) float in[8] = {}, out[8];
    for (int64_t j = i; j < n; ++j) in[j - i] = src[j];
    const __m256i base = _mm256_set1_epi64x(static_cast<long long>(first_counter + i));
    const __m256 u = uniform8(_mm256_add_epi64(base, lane_lo), _mm256_add_epi64(base, lane_hi),
                              seed_term);
    const __m256 keep = _mm256_cmp_ps(u, vrate, _CMP_GE_OQ);
    _mm256_store_ps(out, _mm256_and_ps(keep, _mm256_mul_ps(_mm256_load_ps(in), vscale)));
    for (int64_t j = i; j < n; ++j) dst[j] = out[j - i];
  }
}

}  // namespace nnfast::kernels
