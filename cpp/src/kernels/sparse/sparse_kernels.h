// Sparse-input Dense kernels (CSR batch times dense kernel); the driver (src/ops/sparse.cpp)
// checks the CSR, picks the variant and splits the work.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {

// CSR of a dense (rows, cols) block; -1 once more than max_nnz nonzeros are seen.
using CsrScanFn = int64_t (*)(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                              int64_t* indptr, int64_t* indices, float* values);
// Rows [r0, r1) of y = csr @ w (+ bias).
using CsrGatherFn = void (*)(const int64_t* indptr, const int64_t* indices,
                             const float* values, int64_t r0, int64_t r1, const float* w,
                             int64_t units, const float* bias, float* y);
// Columns [c0, c1) of dw += csr^T @ dy, all rows in order.
using CsrScatterFn = void (*)(const int64_t* indptr, const int64_t* indices,
                              const float* values, int64_t rows, const float* dy,
                              int64_t units, int64_t c0, int64_t c1, float* dw);

int64_t f32_csr_scan_ref(const float*, int64_t, int64_t, int64_t, int64_t*, int64_t*, float*);
int64_t f32_csr_scan_avx2(const float*, int64_t, int64_t, int64_t, int64_t*, int64_t*, float*);
int64_t f32_csr_scan_avx512(const float*, int64_t, int64_t, int64_t, int64_t*, int64_t*,
                            float*);

void f32_csr_gather_ref(const int64_t*, const int64_t*, const float*, int64_t, int64_t,
                        const float*, int64_t, const float*, float*);
void f32_csr_gather_avx2(const int64_t*, const int64_t*, const float*, int64_t, int64_t,
                         const float*, int64_t, const float*, float*);
void f32_csr_gather_avx512(const int64_t*, const int64_t*, const float*, int64_t, int64_t,
                           const float*, int64_t, const float*, float*);

void f32_csr_scatter_ref(const int64_t*, const int64_t*, const float*, int64_t, const float*,
                         int64_t, int64_t, int64_t, float*);
void f32_csr_scatter_avx2(const int64_t*, const int64_t*, const float*, int64_t, const float*,
                          int64_t, int64_t, int64_t, float*);
void f32_csr_scatter_avx512(const int64_t*, const int64_t*, const float*, int64_t,
                            const float*, int64_t, int64_t, int64_t, float*);

}  // namespace nnfast::kernels
