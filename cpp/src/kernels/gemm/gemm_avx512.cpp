// AVX-512 micro-kernel: 14 x 32 tile = 28 zmm accumulators; per k step two 16-float loads of
// B and 14 broadcasts of A (folded into the FMAs as {1to16} memory operands). Edge tiles run
// narrower/shorter instances of the same loop (16 columns, 8 or 4 rows) so small layers do not
// pay for padding. Also the packing routines (transposing and plain) for A and B panels.
#include <immintrin.h>

#include "kernels/gemm/gemm_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 14;
constexpr int kNr = 32;
constexpr __mmask16 kAll16 = static_cast<__mmask16>(0xFFFF);
constexpr __mmask8 kAll8 = static_cast<__mmask8>(0xFF);

inline __mmask16 head_mask(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 16) return static_cast<__mmask16>(0xFFFF);
  return static_cast<__mmask16>((1u << count) - 1u);
}

// kRows rows of the 14-row packed panel, kNv 16-column vectors; kFullB: nr == 16 * kNv.
// NOTE: accumulators are arrays indexed by unrolled constants, so GCC keeps them in registers.
template <int kRows, int kNv, bool kFullB>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, const float* b,
                                                int64_t ldb, float* c, int64_t ldc, int64_t mr,
                                                int64_t nr, float beta, const float* bias) {
  __mmask16 mask[kNv];
#pragma GCC unroll 2
  for (int v = 0; v < kNv; ++v) mask[v] = head_mask(nr - 16 * v);
  // C's lines are stored (or read, with beta) after the loop: fetch them now so a C far
  // larger than the caches (a 1x1 convolution's output) does not stall the stores.
  for (int i = 0; i < kRows; ++i)
    for (int v = 0; v < kNv; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * v), _MM_HINT_T0);
  __m512 acc[kRows][kNv];
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    __m512 bv[kNv];
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v)
      bv[v] = kFullB ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(mask[v], b + 16 * v);
#pragma GCC unroll 14
    for (int i = 0; i < kRows; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += kMr;
    b += ldb;
  }
  __m512 biasv[kNv];
#pragma GCC unroll 2
  for (int v = 0; v < kNv; ++v)
    biasv[v] = bias ? _mm512_maskz_loadu_ps(mask[v], bias + 16 * v) : _mm512_setzero_ps();
  const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i) {
    if (i < mr) {
      float* ci = c + i * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) {
        __m512 r = acc[i][v];
        if (beta != 0.0f) r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v), r);
        if (bias) r = _mm512_add_ps(r, biasv[v]);
        _mm512_mask_storeu_ps(ci + 16 * v, mask[v], r);
      }
    }
  }
}

template <int kRows>
inline __attribute__((always_inline)) void tile_rows(int64_t k, const float* a, const float* b,
                                                     int64_t ldb, float* c, int64_t ldc,
                                                     int64_t mr, int64_t nr, float beta,
                                                     const float* bias) {
  if (nr == 32)
    tile<kRows, 2, true>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else if (nr > 16)
    tile<kRows, 2, false>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else if (nr == 16)
    tile<kRows, 1, true>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else
    tile<kRows, 1, false>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
}

// In-register transpose of a 16 x 16 block: r[i] (row i) becomes column i.
// NOTE: the all-ones maskz_ forms compile to the plain instructions; the unmasked intrinsics
// make GCC 12 warn about their internal _mm512_undefined_ps().
inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(kAll16, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(kAll16, r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, t0, t2));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, t0, t2));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, t1, t3));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, t1, t3));
  }
  // r[4g + q] now holds column q + 4*lane of rows 4g..4g+3 in each 128-bit lane.
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    const __m512 u0 = _mm512_maskz_shuffle_f32x4(kAll16, r[q], r[4 + q], 0x44);
    const __m512 u1 = _mm512_maskz_shuffle_f32x4(kAll16, r[q], r[4 + q], 0xEE);
    const __m512 u2 = _mm512_maskz_shuffle_f32x4(kAll16, r[8 + q], r[12 + q], 0x44);
    const __m512 u3 = _mm512_maskz_shuffle_f32x4(kAll16, r[8 + q], r[12 + q], 0xEE);
    t[q] = _mm512_maskz_shuffle_f32x4(kAll16, u0, u2, 0x88);
    t[4 + q] = _mm512_maskz_shuffle_f32x4(kAll16, u0, u2, 0xDD);
    t[8 + q] = _mm512_maskz_shuffle_f32x4(kAll16, u1, u3, 0x88);
    t[12 + q] = _mm512_maskz_shuffle_f32x4(kAll16, u1, u3, 0xDD);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace

void f32_gemm_14x32_avx512(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                           int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  if (mr > 8)
    tile_rows<14>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else if (mr > 4)
    tile_rows<8>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else
    tile_rows<4>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
}

void f32_gemm_pack_t_avx512(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                            float* dst, int64_t width) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t r0 = 0; r0 < width; r0 += 16) {
    const __mmask16 store_mask = head_mask(width - r0);
    for (int64_t p0 = 0; p0 < kc; p0 += 16) {
      const __mmask16 load_mask = head_mask(kc - p0);
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        r[i] = r0 + i < rows ? _mm512_mul_ps(vscale, _mm512_maskz_loadu_ps(
                                                         load_mask, src + (r0 + i) * lds + p0))
                             : _mm512_setzero_ps();
      transpose16(r);
      const int64_t steps = kc - p0 < 16 ? kc - p0 : 16;
      for (int64_t q = 0; q < steps; ++q)
        _mm512_mask_storeu_ps(dst + (p0 + q) * width + r0, store_mask, r[q]);
    }
  }
}

void f32_gemm_pack_n_avx512(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                            float* dst, int64_t width) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t r0 = 0; r0 < width; r0 += 16) {
    const __mmask16 load_mask = head_mask(rows - r0);
    const __mmask16 store_mask = head_mask(width - r0);
    for (int64_t p = 0; p < kc; ++p)
      _mm512_mask_storeu_ps(dst + p * width + r0, store_mask,
                            _mm512_mul_ps(vscale, _mm512_maskz_loadu_ps(load_mask, src + p * lds + r0)));
  }
}

const GemmKernelInfo f32_gemm_avx512_info = {"f32_gemm_14x32_avx512", f32_gemm_14x32_avx512,
                                             f32_gemm_pack_t_avx512, f32_gemm_pack_n_avx512, kMr, kNr, 384, 168, 4096};

}  // namespace nnfast::kernels
