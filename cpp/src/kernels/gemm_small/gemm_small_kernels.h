// Small-GEMM kernel contract: C = A @ B for row-major A (m x k), B (k x n), C (m x n), all
// read and written in place (no packing). For the products of a broadcast matmul
// ((8, 1, 64, 96) @ (12, 96, 80): many 64 x 96 x 80 products over a few distinct A and B),
// where packing each operand for every product costs as much as the multiply: B (a few
// tens of KB) stays in L1/L2 across the row blocks, A rows stream through once.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

// c[i*ldc + j] = sum_{p<k} a[i*lda + p] * b[p*ldb + j] for i < m, j < n, summed in order of
// p (one rounding per term, fused multiply-add where the ISA has it). C is only written
// (it may hold NaN). m, n, k >= 0; lda >= k, ldb >= n, ldc >= n.
using SmallGemmFn = void (*)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                             const float* b, int64_t ldb, float* c, int64_t ldc);

// Scalar reference (always compiled, always last in the dispatch list).
void f32_gemm_small_ref(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                        const float* b, int64_t ldb, float* c, int64_t ldc);
// AVX2 + FMA: row blocks of up to 8 rows x 1-3 vectors of 8 columns.
void f32_gemm_small_avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc);
// AVX-512F: row blocks of up to 14 rows x 1-6 vectors of 16 columns.
void f32_gemm_small_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                           const float* b, int64_t ldb, float* c, int64_t ldc);

}  // namespace nnfast::kernels
