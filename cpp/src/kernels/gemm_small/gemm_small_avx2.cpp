// AVX2 small GEMM: C = A @ B with no packing. Columns go in chunks of up to 3 vectors of 8
// (the last one masked); row blocks fill the 16 ymm registers (8 x 1, 6 x 2, 4 x 3
// accumulators plus the B vectors and one broadcast A value). Written over the vector
// vocabulary (simd_avx2.h).
#include "kernels/simd_avx2.h"

#include "kernels/gemm_small/gemm_small_kernels.h"

namespace nnfast::kernels {
namespace {

// Only the last vector may be partial (kTail); full ones load unmasked (cheaper).
template <int kRows, int kNv, bool kTail>
inline __attribute__((always_inline)) void block(int64_t k, const float* a, int64_t lda,
                                                 const float* b, int64_t ldb, float* c,
                                                 int64_t ldc, const VM* mask) {
  VF acc[kRows][kNv];
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < kNv; ++v) acc[i][v] = vzero();
  for (int64_t p = 0; p < k; ++p) {
    VF bv[kNv];
#pragma GCC unroll 3
    for (int v = 0; v < kNv; ++v)
      bv[v] = kTail && v == kNv - 1 ? vload_m(b + p * ldb + 8 * v, mask[v])
                                    : vload(b + p * ldb + 8 * v);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const VF ai = vset1(a[i * lda + p]);
#pragma GCC unroll 3
      for (int v = 0; v < kNv; ++v) acc[i][v] = vfmadd(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 3
    for (int v = 0; v < kNv; ++v) vstore_m(c + i * ldc + 8 * v, acc[i][v], mask[v]);
}

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
    default: block<7 < kMr ? 7 : 1, kNv, kTail>(k, ar, lda, b, ldb, cr, ldc, mask); break;
  }
}

template <bool kTail>
void run_chunk(int64_t cols, int64_t m, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const VM* mask) {
  switch ((cols + 7) / 8) {
    case 1: chunk<1, 8, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
    case 2: chunk<2, 6, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
    default: chunk<3, 4, kTail>(m, k, a, lda, b, ldb, c, ldc, mask); break;
  }
}

}  // namespace

void f32_gemm_small_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc) {
  constexpr int64_t kChunk = 3 * 8;
  for (int64_t j = 0; j < n; j += kChunk) {
    const int64_t cols = n - j < kChunk ? n - j : kChunk;
    VM mask[3];
    for (int v = 0; v < 3; ++v) mask[v] = vfirst(clamp_lanes(cols - 8 * v));
    const float* bj = b + j;
    float* cj = c + j;
    if (cols % 8 == 0)
      run_chunk<false>(cols, m, k, a, lda, bj, ldb, cj, ldc, mask);
    else
      run_chunk<true>(cols, m, k, a, lda, bj, ldb, cj, ldc, mask);
  }
}

}  // namespace nnfast::kernels
