// AVX512_BF16 GEMM: a 14 x 32 tile of fp32 accumulators (28 zmm) fed by vdpbf16ps, each
// instruction two bf16 products per lane. Also the packing shared by every bf16 variant:
// fp32 rounded to bf16 with vcvtne2ps2bf16 and depth pairs interleaved (layouts in
// gemm_bf16_kernels.h).
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/bf16_convert_avx512.h"
#include "kernels/gemm/gemm_bf16_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 14;
constexpr int kNr = 32;

inline __mmask16 head_mask(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 16) return static_cast<__mmask16>(0xFFFF);
  return static_cast<__mmask16>((1u << count) - 1u);
}

inline int64_t padded_pairs(int64_t kc, int64_t pair_align) {
  const int64_t k2 = (kc + 1) / 2;
  return (k2 + pair_align - 1) / pair_align * pair_align;
}

// Lane j of the result holds pair(lo[j], hi[j]).
inline __m512i pair_rows(__m512 lo, __m512 hi) {
  // cvtne2ps(hi, lo) gives bf16 [lo0..lo15, hi0..hi15]; interleave the halves.
  const __m512i both = bf16_convert_pairs(hi, lo);
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                       24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                       16, 0);
  return _mm512_permutexvar_epi16(idx, both);
}

template <int kRows, int kNv, bool kFullB>
inline __attribute__((always_inline)) void tile(int64_t k2, const uint32_t* a2,
                                                const uint32_t* b2, float* c, int64_t ldc,
                                                int64_t mr, int64_t nr, float beta,
                                                const float* bias) {
  __mmask16 mask[kNv];
#pragma GCC unroll 2
  for (int v = 0; v < kNv; ++v) mask[v] = head_mask(nr - 16 * v);
  __m512 acc[kRows][kNv];
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int64_t q = 0; q < k2; ++q) {
    __m512bh bv[kNv];
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) bv[v] = (__m512bh)_mm512_loadu_si512(b2 + 16 * v);
#pragma GCC unroll 14
    for (int i = 0; i < kRows; ++i) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a2[i]));
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
    }
    a2 += kMr;
    b2 += kNr;
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
        if (beta != 0.0f)
          r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v), r);
        if (bias) r = _mm512_add_ps(r, biasv[v]);
        if (kFullB)
          _mm512_storeu_ps(ci + 16 * v, r);
        else
          _mm512_mask_storeu_ps(ci + 16 * v, mask[v], r);
      }
    }
  }
}

template <int kRows>
inline __attribute__((always_inline)) void tile_rows(int64_t k2, const uint32_t* a2,
                                                     const uint32_t* b2, float* c, int64_t ldc,
                                                     int64_t mr, int64_t nr, float beta,
                                                     const float* bias) {
  if (nr == 32)
    tile<kRows, 2, true>(k2, a2, b2, c, ldc, mr, nr, beta, bias);
  else if (nr > 16)
    tile<kRows, 2, false>(k2, a2, b2, c, ldc, mr, nr, beta, bias);
  else
    tile<kRows, 1, false>(k2, a2, b2, c, ldc, mr, nr, beta, bias);
}

void bf16_gemm_14x32(int64_t k2, const uint32_t* a2, const uint32_t* b2, float* c, int64_t ldc,
                     int64_t mr, int64_t nr, float beta, const float* bias) {
  // Short tiles run fewer rows of the same loop (the panel keeps its 14-row stride).
  if (mr > 8)
    tile_rows<14>(k2, a2, b2, c, ldc, mr, nr, beta, bias);
  else if (mr > 4)
    tile_rows<8>(k2, a2, b2, c, ldc, mr, nr, beta, bias);
  else
    tile_rows<4>(k2, a2, b2, c, ldc, mr, nr, beta, bias);
}

void pack_a_along_rows(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  bf16_pack_b_along_rows(src, lds, rows, kc, scale, dst, width, 1);
}

void pack_a_along_cols(const float* src, int64_t lds, int64_t cols, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  bf16_pack_b_along_cols(src, lds, cols, kc, scale, dst, width, 1);
}

void pack_b_along_rows(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  bf16_pack_b_along_rows(src, lds, rows, kc, scale, dst, width, 1);
}

void pack_b_along_cols(const float* src, int64_t lds, int64_t cols, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  bf16_pack_b_along_cols(src, lds, cols, kc, scale, dst, width, 1);
}

}  // namespace

// Depth along the source's rows: each row's run of kc values becomes its pairs in order
// (pair q is uint32 q of the converted run), scattered with stride `width`.
void bf16_pack_b_along_rows(const float* src, int64_t lds, int64_t rows, int64_t kc,
                            float scale, uint32_t* dst, int64_t width, int64_t pair_align) {
  const int64_t k2 = (kc + 1) / 2, k2p = padded_pairs(kc, pair_align);
  if (rows < width || k2p != k2) memset(dst, 0, sizeof(uint32_t) * k2p * width);
  const __m512 vs = _mm512_set1_ps(scale);
  const __m512i stride = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
      _mm512_set1_epi32(static_cast<int>(width)));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + r * lds;
    for (int64_t p = 0; p < kc; p += 32) {
      const __m512 lo = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(head_mask(kc - p), row + p));
      const __m512 hi =
          _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(head_mask(kc - p - 16), row + p + 16));
      const __m512i pairs = bf16_convert_pairs(hi, lo);  // in depth order
      const int64_t q0 = p / 2;
      _mm512_mask_i32scatter_epi32(dst + q0 * width + r, head_mask(k2 - q0), stride, pairs, 4);
    }
  }
}

// Depth down the source's columns: rows 2q and 2q+1 of `cols` columns become one run of
// `cols` pairs.
void bf16_pack_b_along_cols(const float* src, int64_t lds, int64_t cols, int64_t kc,
                            float scale, uint32_t* dst, int64_t width, int64_t pair_align) {
  const int64_t k2p = padded_pairs(kc, pair_align);
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t p = 0; p < 2 * k2p; p += 2) {
    uint32_t* out = dst + (p / 2) * width;
    if (p >= kc) {
      memset(out, 0, sizeof(uint32_t) * width);
      continue;
    }
    const float* r0 = src + p * lds;
    const float* r1 = p + 1 < kc ? r0 + lds : nullptr;
    for (int64_t j = 0; j < width; j += 16) {
      const __mmask16 m = head_mask(cols - j);
      const __m512 lo = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, r0 + j));
      const __m512 hi = r1 ? _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, r1 + j))
                           : _mm512_setzero_ps();
      _mm512_mask_storeu_epi32(out + j, head_mask(width - j), pair_rows(lo, hi));
    }
  }
}

const Bf16GemmKernelInfo bf16_gemm_avx512bf16_info = {
    "bf16_gemm_14x32_avx512bf16", bf16_gemm_14x32,
    pack_a_along_rows, pack_a_along_cols, pack_b_along_rows, pack_b_along_cols,
    kMr, kNr, /*kc=*/512, /*mc=*/14 * 24, /*nc=*/2048, /*pair_align=*/1, nullptr, nullptr};

}  // namespace nnfast::kernels
