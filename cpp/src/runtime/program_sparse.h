// The lowered program's Dense ops whose input may be mostly zeros (ProgramOp 29 and 30).
//
// The interpreted path (python/nnfast/ops/sparse_dense.py) takes a CSR product when a Dense
// layer's float32 input is sparse enough: a sample of its first rows, then one scan that
// builds the CSR form, find at most 5% nonzeros. These ops make the same decision on every
// step, call the same kernels in the same order (csr_from_dense, csr_matmul, the activation;
// csr_matmul_t for the kernel gradient) or else the dense GEMM the program's gemm op calls, so
// a lowered step gives the interpreted step's bits either way.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"

namespace nnfast::program_sparse {

// Floats of the CSR store one step of `rows` rows of `cols` columns needs: an int64 state
// (the step's nnz, or -1 when it ran dense), int64 indptr (rows + 1), int64 indices and
// float values (the interpreted path's max_nnz = int(0.05 * rows * cols) each).
int64_t store_floats(int64_t rows, int64_t cols);

// c (rows, units) = act(a (rows, in_dim) @ kernel (in_dim, units) + bias): the CSR product
// (then the activation in place) when a is sparse by the interpreted path's rule, else the
// fused GEMM. `store` (store_floats(rows, in_dim) floats, 8-byte aligned) keeps the CSR
// form and the choice for the backward op.
void dense_forward(const float* a, const float* kernel, const float* bias, float* c,
                   float* store, int64_t rows, int64_t units, int64_t in_dim, Activation act,
                   const ActivationParams& params);

// dkernel (in_dim, units) = a^T @ g (rows, units): csr_matmul_t on the stored CSR form when
// the forward op ran sparse this step, else the dense GEMM (a^T read in place).
void dense_backward_weights(const float* a, const float* g, float* dkernel, const float* store,
                            int64_t rows, int64_t units, int64_t in_dim);

}  // namespace nnfast::program_sparse
