// Sparse-input Dense: a batch that is mostly zeros (multi-hot / bag-of-words rows) held in
// CSR form, multiplied by a dense kernel as a gather-sum of kernel rows, and the kernel's
// gradient as a scatter-add of gradient rows. Work is proportional to the nonzeros.
#pragma once
#include <cstdint>

namespace nnfast {

// Builds the CSR form of x (rows, cols), row-major: indptr[rows + 1], indices[nnz] (column
// ids, ascending within a row) and values[nnz]. Any value that is not exactly 0 (NaN too)
// is a nonzero. Stops as soon as the count passes max_nnz and returns -1 (the batch is too
// dense to gain); otherwise returns nnz. indices/values must hold max_nnz entries.
int64_t csr_from_dense(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                       int64_t* indptr, int64_t* indices, float* values);

// Checks a CSR matrix of `rows` rows and `cols` columns: indptr[0] == 0, indptr
// non-decreasing, indptr[rows] == nnz, every index in [0, cols). Throws
// std::invalid_argument naming the first problem.
void csr_check(const int64_t* indptr, const int64_t* indices, int64_t rows, int64_t cols,
               int64_t nnz);

// y (rows, units) = csr(rows, in_dim) @ w (in_dim, units) [+ bias (units)]: row i of y is the
// sum over row i's nonzeros (j, v) of v * w[j, :], added in index order. Checks the CSR.
void csr_matmul(const int64_t* indptr, const int64_t* indices, const float* values,
                int64_t rows, int64_t nnz, const float* w, int64_t in_dim, int64_t units,
                const float* bias, float* y);

// dw (in_dim, units) = csr^T @ dy (rows, units) (accumulate: dw +=): dw[j, :] += v * dy[i, :]
// for every nonzero (i, j, v), rows ascending. Threads split the columns of dw, so every
// element is summed in the same order for any thread count (same bits). Checks the CSR.
void csr_matmul_t(const int64_t* indptr, const int64_t* indices, const float* values,
                  int64_t rows, int64_t nnz, const float* dy, int64_t units, float* dw,
                  int64_t in_dim, bool accumulate);

}  // namespace nnfast
