// AVX-512 small GEMM: C = A @ B with no packing. Columns go in chunks of up to 5 vectors of
// 16 (the last one masked); each chunk runs row blocks whose accumulators fill the register
// file (rows x vectors <= 25): 14 x 1, 12 x 2, 8 x 3, 6 x 4, 5 x 5. Per depth step a
// block loads its B vectors once and broadcasts one A value per row into a register, so
// the FMAs, not the loads, bound it. Written over the vector vocabulary (simd_avx512.h).
#include "kernels/simd_avx512.h"

#include "kernels/gemm_small/gemm_small_kernels.h"

namespace nnfast::kernels {
namespace {

// Rows [0, kRows) x vectors [0, kNv) of one block; mask[v] selects the valid columns, and
// only the last vector may be partial (kTail). NOTE: full vectors load unmasked: masked
// loads of B cost ~12% of the loop (measured 64 x 96 x 80).
template <int kRows, int kNv, bool kTail>
inline __attribute__((always_inline)) void block(int64_t k, const float* a, int64_t lda,
                                                 const float* b, int64_t ldb, float* c,
                                                 int64_t ldc, const VM* mask) {
  VF acc[kRows][kNv];
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 6
    for (int v = 0; v < kNv; ++v) acc[i][v] = vzero();
  for (int64_t p = 0; p < k; ++p) {
    VF bv[kNv];
#pragma GCC unroll 6
    for (int v = 0; v < kNv; ++v)
      bv[v] = kTail && v == kNv - 1 ? vload_m(b + p * ldb + 16 * v, mask[v])
                                    : vload(b + p * ldb + 16 * v);
#pragma GCC unroll 14
    for (int i = 0; i < kRows; ++i) {
      VF ai = vset1(a[i * lda + p]);
      // NOTE: keeps the broadcast in a register; GCC would otherwise fold it into each of
      // the kNv FMAs as a {1to16} load, and the loads would bound the loop.
      asm("" : "+v"(ai));
#pragma GCC unroll 6
      for (int v = 0; v < kNv; ++v) acc[i][v] = vfmadd(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 6
    for (int v = 0; v < kNv; ++v) vstore_m(c + i * ldc + 16 * v, acc[i][v], mask[v]);
}

// Every row of one column chunk of kNv vectors: full blocks of kMr rows, then the rest.
template <int kNv, int kMr, bool kTail>
void chunk(int64_t m, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float* c, int64_t ldc, const VM* mask) {
  int64_t i = 0;
  for (; i + kMr <= m; i += kMr) block<kMr, kNv, kTail>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, mask);
  const float* ar = a + i * lda;
  float* cr = c + i * ldc;
  switch (m - i) {  // NOTE: cases past kMr - 1 never run; the templates stay small
    case 0: break;
    case 1: block<1, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    case 2: block<2, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    case 3: block<3, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    case 4: block<4 < kMr ? 4 : 1, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    case 5: block<5 < kMr ? 5 : 1, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    case 6: block<6 < kMr ? 6 : 1, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    case 7: block<7 < kMr ? 7 : 1, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
    default:  // 8..13 rows left: blocks of 4 and the rest
      chunk<kNv, 4, kTail>(m - i, k, ar, lda, b, ldb, cr, ldc, mask);
  }
}

template <bool kTail>
void run_chunk(int64_t cols, int64_t m, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const VM* mask) {
  switch ((cols + 15) / 16) {
    case 1: chunk<1, 14, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
    case 2: chunk<2, 12, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
    case 3: chunk<3, 8, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
    case 4: chunk<4, 6, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
    default: chunk<5, 5, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
  }
}

}  // namespace

void f32_gemm_small_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                           const float* b, int64_t ldb, float* c, int64_t ldc) {
  // Column chunks of at most 5 vectors, as even as possible (96 columns: 3 + 3, faster than
  // one chunk of 6 with 4-row blocks), wider ones first so the partial vector comes last.
  const int64_t vectors = (n + 15) / 16, chunks = (vectors + 4) / 5;
  int64_t j = 0;
  for (int64_t q = 0; q < chunks; ++q) {
    const int64_t nv = vectors / chunks + (q < vectors % chunks ? 1 : 0);
    const int64_t cols = n - j < 16 * nv ? n - j : 16 * nv;
    VM mask[5];
    for (int v = 0; v < 5; ++v) mask[v] = vfirst(clamp_lanes(cols - 16 * v));
    if (cols % 16 == 0)
      run_chunk<false>(cols, m, k, a, lda, b + j, ldb, c + j, ldc, mask);
    else
      run_chunk<true>(cols, m, k, a, lda, b + j, ldb, c + j, ldc, mask);
    j += cols;
  }
}

}  // namespace nnfast::kernels
