// AMX-BF16 GEMM: a 32 x 32 block of C in four 16 x 16 fp32 tiles (tmm0-3), fed per 16 depth
// pairs by two A tiles (16 rows x 16 pairs each, tmm4-5) and two B tiles (16 pairs x 16
// columns, tmm6-7): four tdpbf16ps, 32768 multiply-adds. Packing rounds with AVX512_BF16
// (B panels are shared with the vdpbf16ps variant; A panels are chunked row-major, the
// layout tile loads read; see gemm_bf16_kernels.h).
// gcc 12 flags its own unpack/shuffle intrinsics (an undefined pass-through operand) as
// maybe-uninitialized in the register transpose below.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <string.h>

#include "kernels/gemm/amx_tiles.h"
#include "kernels/gemm/bf16_convert_avx512.h"
#include "kernels/gemm/gemm_bf16_kernels.h"
#include "kernels/gemm/transpose_avx512.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 32;
constexpr int kNr = 32;
constexpr int kChunk = 16;  // pairs per tile row: 64 bytes

inline __mmask16 head_mask(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 16) return static_cast<__mmask16>(0xFFFF);
  return static_cast<__mmask16>((1u << count) - 1u);
}

inline int64_t padded_pairs(int64_t kc) {
  const int64_t k2 = (kc + 1) / 2;
  return (k2 + kChunk - 1) / kChunk * kChunk;
}

void amx_begin() { amx_configure_bf16(64); }

void amx_end() { _tile_release(); }

void amx_gemm_32x32(int64_t k2p, const uint32_t* a2, const uint32_t* b2, float* c, int64_t ldc,
                    int64_t mr, int64_t nr, float beta, const float* bias) {
  alignas(64) float acc[kMr * kNr];
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const bool lower = mr > 16;  // rows 16..31 exist in this tile
  for (int64_t q = 0; q < k2p; q += kChunk) {
    const uint32_t* ac = a2 + q * kMr;
    const uint32_t* bc = b2 + q * kNr;
    _tile_loadd(4, ac, 64);
    _tile_loadd(6, bc, kNr * 4);
    _tile_loadd(7, bc + 16, kNr * 4);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if (lower) {
      _tile_loadd(5, ac + 16 * kChunk, 64);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, acc, kNr * 4);
  _tile_stored(1, acc + 16, kNr * 4);
  if (lower) {
    _tile_stored(2, acc + 16 * kNr, kNr * 4);
    _tile_stored(3, acc + 16 * kNr + 16, kNr * 4);
  }
  const __mmask16 m0 = head_mask(nr), m1 = head_mask(nr - 16);
  const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
  const __m512 vbeta = _mm512_set1_ps(beta);
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    __m512 r0 = _mm512_add_ps(_mm512_load_ps(acc + i * kNr), b0);
    __m512 r1 = _mm512_add_ps(_mm512_load_ps(acc + i * kNr + 16), b1);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

// Plain A (depth along its rows): 16 pairs of a row are one contiguous tile row.
void pack_a_along_rows(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  const int64_t k2p = padded_pairs(kc);
  if (rows < width || 2 * k2p != kc) memset(dst, 0, sizeof(uint32_t) * k2p * width);
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src + r * lds;
    for (int64_t p = 0; p < kc; p += 2 * kChunk) {
      const __m512 lo = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(head_mask(kc - p), row + p));
      const __m512 hi =
          _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(head_mask(kc - p - 16), row + p + 16));
      const int64_t chunk = p / (2 * kChunk);
      _mm512_storeu_si512(dst + chunk * width * kChunk + r * kChunk,
                          bf16_convert_pairs(hi, lo));
    }
  }
}

// Transposed A (depth down its columns): rows 2q, 2q+1 give the pairs of 16 consecutive
// output rows at one q. A whole chunk (32 depth rows) is converted as 16 vectors, one per q,
// and transposed in registers into 16 tile rows; a last partial chunk is scattered.
void pack_a_along_cols(const float* src, int64_t lds, int64_t cols, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  const int64_t k2p = padded_pairs(kc);
  if (cols < width || 2 * k2p != kc) memset(dst, 0, sizeof(uint32_t) * k2p * width);
  const __m512 vs = _mm512_set1_ps(scale);
  const __m512i rows16 = _mm512_mullo_epi32(
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
      _mm512_set1_epi32(kChunk));
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                       24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                       16, 0);
  const int64_t full_chunks = kc / (2 * kChunk);
  for (int64_t c = 0; c < full_chunks; ++c) {
    uint32_t* chunk = dst + c * width * kChunk;
    for (int64_t j = 0; j < cols; j += 16) {
      const __mmask16 m = head_mask(cols - j);
      __m512i v[16];
      for (int t = 0; t < 16; ++t) {  // lane i: pair q = 16c + t of output row j + i
        const float* r0 = src + (2 * kChunk * c + 2 * t) * lds + j;
        const __m512 lo = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, r0));
        const __m512 hi = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, r0 + lds));
        v[t] = _mm512_permutexvar_epi16(idx, bf16_convert_pairs(hi, lo));
      }
      transpose_16x16_epi32(v);
      const int64_t rows = cols - j < 16 ? cols - j : 16;
      for (int64_t i = 0; i < rows; ++i) _mm512_storeu_si512(chunk + (j + i) * kChunk, v[i]);
    }
  }
  for (int64_t p = 2 * kChunk * full_chunks; p < kc; p += 2) {
    const float* r0 = src + p * lds;
    const float* r1 = p + 1 < kc ? r0 + lds : nullptr;
    const int64_t q = p / 2;
    uint32_t* base = dst + (q / kChunk) * width * kChunk + q % kChunk;
    for (int64_t j = 0; j < cols; j += 16) {
      const __mmask16 m = head_mask(cols - j);
      const __m512 lo = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, r0 + j));
      const __m512 hi = r1 ? _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(m, r1 + j))
                           : _mm512_setzero_ps();
      const __m512i pairs =
          _mm512_permutexvar_epi16(idx, bf16_convert_pairs(hi, lo));
      _mm512_mask_i32scatter_epi32(base + j * kChunk, m, rows16, pairs, 4);
    }
  }
}

void pack_b_along_rows(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  bf16_pack_b_along_rows(src, lds, rows, kc, scale, dst, width, kChunk);
}

void pack_b_along_cols(const float* src, int64_t lds, int64_t cols, int64_t kc, float scale,
                       uint32_t* dst, int64_t width) {
  bf16_pack_b_along_cols(src, lds, cols, kc, scale, dst, width, kChunk);
}

}  // namespace

const Bf16GemmKernelInfo bf16_gemm_amx_info = {
    "bf16_gemm_32x32_amx", amx_gemm_32x32,
    pack_a_along_rows, pack_a_along_cols, pack_b_along_rows, pack_b_along_cols,
    kMr, kNr, /*kc=*/1024, /*mc=*/256, /*nc=*/1024, /*pair_align=*/kChunk, amx_begin, amx_end};

}  // namespace nnfast::kernels
