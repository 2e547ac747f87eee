// The AVX-512 vector vocabulary: one float vector type and the operations every
// hand-vectorised kernel body is written with (see simd_math.h for the idioms and the list).
// Include it first in a *_avx512.cpp file, then the family's body header.
// NOTE: GCC 12 warns that _mm512_min_ps/_mm512_max_ps read an uninitialized value (their
// pass-through operand is _mm512_undefined_ps(), never used with a full mask): a false
// positive (as -Wuninitialized for _mm512_abs_ps / the reductions), silenced for the files
// that include this vocabulary.
#pragma once
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <stdint.h>

namespace nnfast::kernels {
namespace {

using VF = __m512;     // 16 float lanes
using VI = __m512i;    // 16 int32 lanes (bit patterns of VF)
using VM = __mmask16;  // one bit per lane
constexpr int W = 16;

inline VF vzero() { return _mm512_setzero_ps(); }
inline VF vlane_index() { return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }  // 0, 1, ..., W-1
inline VF vset1(float x) { return _mm512_set1_ps(x); }
inline VF vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline VM lanes(int64_t n) { return static_cast<VM>((1u << n) - 1u); }
inline VF vload_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
inline void vstore_n(float* p, VF v, int64_t n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
// Masked load (other lanes zero) / store of the lanes of a mask made once (vfirst).
inline VF vload_m(const float* p, VM m) { return _mm512_maskz_loadu_ps(m, p); }
inline void vstore_m(float* p, VF v, VM m) { _mm512_mask_storeu_ps(p, m, v); }

inline VF vadd(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF vsub(VF a, VF b) { return _mm512_sub_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm512_div_ps(a, b); }
inline VF vfmadd(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF vfnmadd(VF a, VF b, VF c) { return _mm512_fnmadd_ps(a, b, c); }
inline VF vmin(VF a, VF b) { return _mm512_min_ps(a, b); }
inline VF vmax(VF a, VF b) { return _mm512_max_ps(a, b); }
inline VF vsqrt(VF a) { return _mm512_sqrt_ps(a); }
inline VF vabs(VF a) { return _mm512_abs_ps(a); }
inline VF vround(VF a) {
  return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

inline VM vgt(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline VM vge(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
inline VM vlt(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline VM vle(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline VM veq(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline VM vne(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
inline VM visnan(VF a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
inline VM vfirst(int64_t n) { return lanes(n); }  // first n lanes set
inline unsigned vmovemask(VM m) { return m; }  // lane i -> bit i
inline VM vm_and(VM a, VM b) { return static_cast<VM>(a & b); }
inline VM vm_or(VM a, VM b) { return static_cast<VM>(a | b); }
// m ? a : b per lane; m ? x : 0 per lane.
inline VF vselect(VM m, VF a, VF b) { return _mm512_mask_blend_ps(m, b, a); }
inline VF vkeep(VM m, VF x) { return _mm512_maskz_mov_ps(m, x); }

// Horizontal sum / maximum of all lanes.
inline float vreduce_add(VF a) { return _mm512_reduce_add_ps(a); }
inline float vreduce_max(VF a) { return _mm512_reduce_max_ps(a); }

// Integer lanes, for building and taking apart float exponents.
inline VI vbits(VF a) { return _mm512_castps_si512(a); }
inline VF vfrom_bits(VI a) { return _mm512_castsi512_ps(a); }
inline VI vi_set1(int32_t x) { return _mm512_set1_epi32(x); }
inline VI vi_add(VI a, VI b) { return _mm512_add_epi32(a, b); }
inline VI vi_sub(VI a, VI b) { return _mm512_sub_epi32(a, b); }
inline VI vi_and(VI a, VI b) { return _mm512_and_si512(a, b); }
inline VI vi_or(VI a, VI b) { return _mm512_or_si512(a, b); }
template <int k> inline VI vi_shl(VI a) { return _mm512_slli_epi32(a, k); }
template <int k> inline VI vi_shr(VI a) { return _mm512_srli_epi32(a, k); }
inline VI vi_from_f(VF a) { return _mm512_cvtps_epi32(a); }  // rounds to nearest
inline VF vf_from_i(VI a) { return _mm512_cvtepi32_ps(a); }

// Index lanes: masked load of W int32 (other lanes zero); masked gather base[idx[i]] (other
// lanes zero); lane i of (x0 then x1) at idx[i] < 2W, a two-register permute (AVX-512 only).
inline VI vi_load_m(const int32_t* p, VM m) { return _mm512_maskz_loadu_epi32(m, p); }
inline VF vgather_m(const float* base, VI idx, VM m) {
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 4);
}
inline VF vpermute2(VF x0, VI idx, VF x1) { return _mm512_permutex2var_ps(x0, idx, x1); }

// Int32 lane select m ? a : b; int32 lane equality; AVX-512 only: W bytes at p (lanes of m)
// zero-extended to int32 lanes, and the low bytes of v's lanes stored to p (lanes of m).
inline VI vi_select(VM m, VI a, VI b) { return _mm512_mask_mov_epi32(b, m, a); }
inline VM vi_eq(VI a, VI b) { return _mm512_cmpeq_epi32_mask(a, b); }
inline VI vi_load_u8_m(const uint8_t* p, VM m) {
  return _mm512_maskz_cvtepu8_epi32(m, _mm_maskz_loadu_epi8(m, p));
}
inline void vstore_u8_m(uint8_t* p, VI v, VM m) { _mm512_mask_cvtepi32_storeu_epi8(p, m, v); }

// --- added for the tutorial CNN's small kernels (conv_pool_avx512.cpp, dropout masks) ---
// Signed int32 lane comparison a > b; a lane mask from the low W bits of `bits` (lane i <-
// bit i: vmovemask's inverse, for masks stored as bits).
inline VM vi_gt(VI a, VI b) { return _mm512_cmpgt_epi32_mask(a, b); }
inline VM vm_from_bits(unsigned bits) { return static_cast<VM>(bits); }
// --- end of the added block ---

// Asks for the cache line at p ahead of a load or store of it.
// NOTE: always_inline: a wrapper left to the inliner is found free of side effects
// (__builtin_prefetch) and its calls are deleted before they are inlined.
inline __attribute__((always_inline)) void vprefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }

// ISA-specific unit, in-register transpose of a W x W block: r[i] (row i) becomes column i.
// NOTE: the all-ones maskz_ forms compile to the plain instructions; the unmasked intrinsics
// make GCC 12 warn about their internal _mm512_undefined_ps().
inline __attribute__((always_inline)) void vtranspose(VF r[W]) {
  constexpr __mmask16 all16 = static_cast<__mmask16>(0xFFFF);
  constexpr __mmask8 all8 = static_cast<__mmask8>(0xFF);
  VF t[W];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(all16, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(all16, r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, t0, t2));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, t0, t2));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(all8, t1, t3));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(all8, t1, t3));
  }
  // r[4g + q] now holds column q + 4*lane of rows 4g..4g+3 in each 128-bit lane.
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    const VF u0 = _mm512_maskz_shuffle_f32x4(all16, r[q], r[4 + q], 0x44);
    const VF u1 = _mm512_maskz_shuffle_f32x4(all16, r[q], r[4 + q], 0xEE);
    const VF u2 = _mm512_maskz_shuffle_f32x4(all16, r[8 + q], r[12 + q], 0x44);
    const VF u3 = _mm512_maskz_shuffle_f32x4(all16, r[8 + q], r[12 + q], 0xEE);
    t[q] = _mm512_maskz_shuffle_f32x4(all16, u0, u2, 0x88);
    t[4 + q] = _mm512_maskz_shuffle_f32x4(all16, u0, u2, 0xDD);
    t[8 + q] = _mm512_maskz_shuffle_f32x4(all16, u1, u3, 0x88);
    t[12 + q] = _mm512_maskz_shuffle_f32x4(all16, u1, u3, 0xDD);
  }
#pragma GCC unroll 16
  for (int i = 0; i < W; ++i) r[i] = t[i];
}

// ISA-specific unit, saturating narrow (vpmovsdb): the W int32 lanes of v, each clipped to
// [-128, 127], stored as W bytes at p.
inline void vstore_s8_sat(int8_t* p, VI v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtsepi32_epi8(v));
}

// ISA-specific unit, int8 depthwise taps (vpmaddwd): lane c = x0[c] * lo16(w[c]) +
// x1[c] * hi16(w[c]), exact in int32, for the W channels at x0, x1 (int8 rows of two taps)
// and w (W words, each the int16 weight pair of the two taps).
inline VI vdot_s8_pair(const int8_t* x0, const int8_t* x1, const int32_t* w) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x0));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x1));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(a, b)),
                                               _mm_unpackhi_epi8(a, b), 1);
  return _mm512_madd_epi16(_mm512_cvtepi8_epi16(both), _mm512_loadu_si512(w));
}

// 64-bit unsigned lanes (W/2 of them), for counter-based hashing.
using VU = __m512i;
inline VU vu_set1(uint64_t x) { return _mm512_set1_epi64(static_cast<long long>(x)); }
inline VU vu_lane_ids() { return _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0); }
inline VU vu_add(VU a, VU b) { return _mm512_add_epi64(a, b); }
inline VU vu_xor(VU a, VU b) { return _mm512_xor_si512(a, b); }
template <int k> inline VU vu_shr(VU a) { return _mm512_srli_epi64(a, k); }
inline VU vu_mullo(VU a, VU b) { return _mm512_mullo_epi64(a, b); }  // AVX512DQ
// The low 32 bits of a's lanes then b's, as W signed integers converted to float.
inline VF vf_from_u64_low(VU a, VU b) {
  const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(a)),
                                          _mm512_cvtepi64_epi32(b), 1);
  return _mm512_cvtepi32_ps(both);
}

}  // namespace
}  // namespace nnfast::kernels

#include "kernels/simd_math.h"
