// Sparse-input Dense driver: checks the CSR, picks the variant for the active ISA, and
// splits rows (forward) or whole cache lines of columns (kernel gradient) across threads.
#include "nnfast/sparse.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/sparse/sparse_kernels.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

struct SparseVariant {
  const char* name;
  kernels::CsrScanFn scan;
  kernels::CsrGatherFn gather;
  kernels::CsrScatterFn scatter;
};

const SparseVariant kCsrAvx512{"f32_csr_avx512", kernels::f32_csr_scan_avx512,
                               kernels::f32_csr_gather_avx512, kernels::f32_csr_scatter_avx512};
const SparseVariant kCsrAvx2{"f32_csr_avx2", kernels::f32_csr_scan_avx2,
                             kernels::f32_csr_gather_avx2, kernels::f32_csr_scatter_avx2};
const SparseVariant kCsrRef{"f32_csr_ref", kernels::f32_csr_scan_ref, kernels::f32_csr_gather_ref,
                            kernels::f32_csr_scatter_ref};

const dispatch::Registry<SparseVariant> kSparse{"sparse_dense",
                                                {{Isa::avx512, "f32_csr_avx512", &kCsrAvx512},
                                                 {Isa::avx2, "f32_csr_avx2", &kCsrAvx2},
                                                 {Isa::ref, "f32_csr_ref", &kCsrRef}}};

const SparseVariant& pick() { return *kSparse.select().fns; }

void check_dims(int64_t rows, int64_t cols, const char* what) {
  if (rows < 0 || cols < 1)
    throw std::invalid_argument(std::string(what) + ": expected rows >= 0 and columns >= 1, "
                                "received " + std::to_string(rows) + " x " +
                                std::to_string(cols));
}

}  // namespace

int64_t csr_from_dense(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                       int64_t* indptr, int64_t* indices, float* values) {
  check_dims(rows, cols, "csr_from_dense");
  if (max_nnz < 0)
    throw std::invalid_argument("csr_from_dense: max_nnz must be >= 0, received " +
                                std::to_string(max_nnz));
  // One pass, on one thread: it reads x once and is bound by memory, not arithmetic.
  return pick().scan(x, rows, cols, max_nnz, indptr, indices, values);
}

void csr_check(const int64_t* indptr, const int64_t* indices, int64_t rows, int64_t cols,
               int64_t nnz) {
  if (indptr[0] != 0)
    throw std::invalid_argument("CSR: indptr[0] must be 0, received " + std::to_string(indptr[0]));
  for (int64_t i = 0; i < rows; ++i)
    if (indptr[i + 1] < indptr[i])
      throw std::invalid_argument("CSR: indptr must be non-decreasing, received indptr[" +
                                  std::to_string(i + 1) + "] = " + std::to_string(indptr[i + 1]) +
                                  " < " + std::to_string(indptr[i]));
  if (indptr[rows] != nnz)
    throw std::invalid_argument("CSR: indptr[-1] must equal the number of stored values (" +
                                std::to_string(nnz) + "), received " +
                                std::to_string(indptr[rows]));
  for (int64_t k = 0; k < nnz; ++k)
    if (indices[k] < 0 || indices[k] >= cols)
      throw std::invalid_argument("CSR: column index " + std::to_string(indices[k]) +
                                  " at position " + std::to_string(k) +
                                  " is out of range [0, " + std::to_string(cols) + ")");
}

void csr_matmul(const int64_t* indptr, const int64_t* indices, const float* values,
                int64_t rows, int64_t nnz, const float* w, int64_t in_dim, int64_t units,
                const float* bias, float* y) {
  check_dims(rows, in_dim, "csr_matmul");
  check_dims(in_dim, units, "csr_matmul");
  csr_check(indptr, indices, rows, in_dim, nnz);
  const SparseVariant& v = pick();
  const int64_t per_row = std::max<int64_t>(1, nnz / std::max<int64_t>(rows, 1)) * units;
  parallel_for_rows(rows, per_row, 1 << 15, [&](int64_t r0, int64_t r1) {
    v.gather(indptr, indices, values, r0, r1, w, units, bias, y);
  });
}

void csr_matmul_t(const int64_t* indptr, const int64_t* indices, const float* values,
                  int64_t rows, int64_t nnz, const float* dy, int64_t units, float* dw,
                  int64_t in_dim, bool accumulate) {
  check_dims(rows, in_dim, "csr_matmul_t");
  check_dims(in_dim, units, "csr_matmul_t");
  csr_check(indptr, indices, rows, in_dim, nnz);
  const SparseVariant& v = pick();
  // Whole cache lines (16 floats) per thread so no two threads write the same line; each
  // thread adds every nonzero to its columns in the same order: same bits for any count.
  const int64_t blocks = (units + 15) / 16;
  const int64_t grain =
      std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(nnz * 16 + in_dim, 1));
  parallel_for_chunks(blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t c0 = b0 * 16, c1 = std::min(units, b1 * 16);
    if (!accumulate) {
      if (c0 == 0 && c1 == units)
        std::memset(dw, 0, sizeof(float) * static_cast<size_t>(in_dim * units));
      else
        for (int64_t j = 0; j < in_dim; ++j)
          std::memset(dw + j * units + c0, 0, sizeof(float) * static_cast<size_t>(c1 - c0));
    }
    v.scatter(indptr, indices, values, rows, dy, units, c0, c1, dw);
  });
}

}  // namespace nnfast
