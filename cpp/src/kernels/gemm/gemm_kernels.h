// GEMM micro-kernel contracts. The driver (src/ops/gemm.cpp) owns blocking, packing and
// threads; an ISA file holds only its micro-kernel and its block sizes.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

// Reference GEMM on row-major NN operands: C[m,n] = alpha*A[m,k]*B[k,n] + beta*C.
// Always compiled, always last in the dispatch list.
void f32_gemm_nn_ref(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                     const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace nnfast::kernels
