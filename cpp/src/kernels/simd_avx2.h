// The AVX2 + FMA vector vocabulary: the same names as simd_avx512.h over 8-lane vectors
// (see simd_math.h for the idioms and the list). Masks are lane-wide bit patterns; tails use
// maskload/maskstore. Include it first in a *_avx2.cpp file, then the family's body header.
#pragma once
#include <immintrin.h>
#include <stdint.h>

namespace nnfast::kernels {
namespace {

using VF = __m256;   // 8 float lanes
using VI = __m256i;  // 8 int32 lanes (bit patterns of VF)
using VM = __m256;   // all-ones / all-zeros lanes
constexpr int W = 8;

inline VF vzero() { return _mm256_setzero_ps(); }
inline VF vlane_index() { return _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7); }  // 0, 1, ..., W-1
inline VF vset1(float x) { return _mm256_set1_ps(x); }
inline VF vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline __m256i lanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline VF vload_n(const float* p, int64_t n) { return _mm256_maskload_ps(p, lanes(n)); }
inline void vstore_n(float* p, VF v, int64_t n) { _mm256_maskstore_ps(p, lanes(n), v); }
// Masked load (other lanes zero) / store of the lanes of a mask made once (vfirst).
inline VF vload_m(const float* p, __m256 m) { return _mm256_maskload_ps(p, _mm256_castps_si256(m)); }
inline void vstore_m(float* p, VF v, __m256 m) { _mm256_maskstore_ps(p, _mm256_castps_si256(m), v); }

inline VF vadd(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF vsub(VF a, VF b) { return _mm256_sub_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm256_div_ps(a, b); }
inline VF vfmadd(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VF vfnmadd(VF a, VF b, VF c) { return _mm256_fnmadd_ps(a, b, c); }
inline VF vmin(VF a, VF b) { return _mm256_min_ps(a, b); }
inline VF vmax(VF a, VF b) { return _mm256_max_ps(a, b); }
inline VF vsqrt(VF a) { return _mm256_sqrt_ps(a); }
inline VF vabs(VF a) {
  return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}
inline VF vround(VF a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

inline VM vgt(VF a, VF b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline VM vge(VF a, VF b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline VM vlt(VF a, VF b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline VM vle(VF a, VF b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline VM veq(VF a, VF b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline VM vne(VF a, VF b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
inline VM visnan(VF a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline VM vfirst(int64_t n) { return _mm256_castsi256_ps(lanes(n)); }  // first n lanes
inline unsigned vmovemask(VM m) { return static_cast<unsigned>(_mm256_movemask_ps(m)); }
inline VM vm_and(VM a, VM b) { return _mm256_and_ps(a, b); }
inline VM vm_or(VM a, VM b) { return _mm256_or_ps(a, b); }
// m ? a : b per lane; m ? x : 0 per lane.
inline VF vselect(VM m, VF a, VF b) { return _mm256_blendv_ps(b, a, m); }
inline VF vkeep(VM m, VF x) { return _mm256_and_ps(m, x); }

// Horizontal sum / maximum of all lanes.
inline float vreduce_add(VF a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float vreduce_max(VF a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Integer lanes, for building and taking apart float exponents.
inline VI vbits(VF a) { return _mm256_castps_si256(a); }
inline VF vfrom_bits(VI a) { return _mm256_castsi256_ps(a); }
inline VI vi_set1(int32_t x) { return _mm256_set1_epi32(x); }
inline VI vi_add(VI a, VI b) { return _mm256_add_epi32(a, b); }
inline VI vi_sub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
inline VI vi_and(VI a, VI b) { return _mm256_and_si256(a, b); }
inline VI vi_or(VI a, VI b) { return _mm256_or_si256(a, b); }
template <int k> inline VI vi_shl(VI a) { return _mm256_slli_epi32(a, k); }
template <int k> inline VI vi_shr(VI a) { return _mm256_srli_epi32(a, k); }
inline VI vi_from_f(VF a) { return _mm256_cvtps_epi32(a); }  // rounds to nearest
inline VF vf_from_i(VI a) { return _mm256_cvtepi32_ps(a); }

// Index lanes: masked load of W int32 (other lanes zero); masked gather base[idx[i]] (other
// lanes zero). (No two-register permute vpermute2 on AVX2.)
inline VI vi_load_m(const int32_t* p, VM m) { return _mm256_maskload_epi32(p, _mm256_castps_si256(m)); }
inline VF vgather_m(const float* base, VI idx, VM m) {
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, m, 4);
}

// Int32 lane select m ? a : b; int32 lane equality.
inline VI vi_select(VM m, VI a, VI b) {
  return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(b), _mm256_castsi256_ps(a), m));
}
inline VM vi_eq(VI a, VI b) { return _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b)); }

// --- added for the tutorial CNN's small kernels (conv_pool_avx512.cpp, dropout masks) ---
// Signed int32 lane comparison a > b; a lane mask from the low W bits of `bits` (lane i <-
// bit i: vmovemask's inverse, for masks stored as bits).
inline VM vi_gt(VI a, VI b) { return _mm256_castsi256_ps(_mm256_cmpgt_epi32(a, b)); }
inline VM vm_from_bits(unsigned bits) {
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i set = _mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), bit);
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(set, bit));
}
// --- end of the added block ---

// Asks for the cache line at p ahead of a load or store of it.
// NOTE: always_inline: a wrapper left to the inliner is found free of side effects
// (__builtin_prefetch) and its calls are deleted before they are inlined.
inline __attribute__((always_inline)) void vprefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }

// ISA-specific unit, int8 depthwise taps (vpmaddwd): lane c = x0[c] * lo16(w[c]) +
// x1[c] * hi16(w[c]), exact in int32, for the W channels at x0, x1 (int8 rows of two taps)
// and w (W words, each the int16 weight pair of the two taps).
inline VI vdot_s8_pair(const int8_t* x0, const int8_t* x1, const int32_t* w) {
  const __m128i a = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x0));
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x1));
  return _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b)),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
}

// 64-bit unsigned lanes (W/2 of them), for counter-based hashing.
using VU = __m256i;
inline VU vu_set1(uint64_t x) { return _mm256_set1_epi64x(static_cast<long long>(x)); }
inline VU vu_lane_ids() { return _mm256_setr_epi64x(0, 1, 2, 3); }
inline VU vu_add(VU a, VU b) { return _mm256_add_epi64(a, b); }
inline VU vu_xor(VU a, VU b) { return _mm256_xor_si256(a, b); }
template <int k> inline VU vu_shr(VU a) { return _mm256_srli_epi64(a, k); }
// AVX2 has no 64-bit multiply: the low 64 bits of a*b are lo(a)lo(b) + (hi(a)lo(b) +
// lo(a)hi(b)) << 32, from 32x32->64 partial products.
inline VU vu_mullo(VU a, VU b) {
  const __m256i lo = _mm256_mul_epu32(a, b);
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                         _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
  return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}
// The low 32 bits of a's lanes then b's, as W signed integers converted to float.
inline VF vf_from_u64_low(VU a, VU b) {
  const __m256i pick_low = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m128i lo = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(a, pick_low));
  const __m128i hi = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, pick_low));
  return _mm256_cvtepi32_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

}  // namespace
}  // namespace nnfast::kernels

#include "kernels/simd_math.h"
