#include "runtime/program_sparse.h"

#include <cstring>

#include "nnfast/gemm.h"
#include "nnfast/sparse.h"

namespace nnfast::program_sparse {
namespace {

// NOTE: mirror ops/sparse_dense.py (MAX_DENSITY, MIN_COLUMNS, _SAMPLE_ROWS); lowered.py
// refuses to lower when they change, so the two rules cannot drift apart silently.
constexpr double kMaxDensity = 0.05;
constexpr int64_t kMinColumns = 256;
constexpr int64_t kSampleRows = 8;

// The interpreted path's max_nnz: int(MAX_DENSITY * x.size) (a double product, truncated).
int64_t max_nnz(int64_t rows, int64_t cols) {
  return static_cast<int64_t>(kMaxDensity * static_cast<double>(rows * cols));
}

// sparse_rows' first test: the nonzero bit patterns of the first rows (a -0.0 counts, as
// numpy.count_nonzero on the uint32 view counts it).
bool head_is_sparse(const float* a, int64_t rows, int64_t cols) {
  const int64_t size = (rows < kSampleRows ? rows : kSampleRows) * cols;
  int64_t nonzero = 0;
  for (int64_t j = 0; j < size; ++j) {
    uint32_t bits;
    std::memcpy(&bits, a + j, sizeof bits);
    nonzero += bits != 0;
  }
  return !(static_cast<double>(nonzero) > kMaxDensity * static_cast<double>(size));
}

struct Store {
  int64_t* state;  // nnz, or -1: dense
  int64_t* indptr;
  int64_t* indices;
  float* values;
};

Store layout(float* store, int64_t rows, int64_t cols) {
  auto* ints = reinterpret_cast<int64_t*>(store);
  Store s;
  s.state = ints;
  s.indptr = ints + 1;
  s.indices = ints + 1 + (rows + 1);
  s.values = reinterpret_cast<float*>(s.indices + max_nnz(rows, cols));
  return s;
}

}  // namespace

int64_t store_floats(int64_t rows, int64_t cols) {
  return 2 * (1 + (rows + 1) + max_nnz(rows, cols)) + max_nnz(rows, cols);
}

void dense_forward(const float* a, const float* kernel, const float* bias, float* c,
                   float* store, int64_t rows, int64_t units, int64_t in_dim, Activation act,
                   const ActivationParams& params) {
  Store s = layout(store, rows, in_dim);
  *s.state = -1;
  if (in_dim >= kMinColumns && rows > 0 && head_is_sparse(a, rows, in_dim))
    *s.state = csr_from_dense(a, rows, in_dim, max_nnz(rows, in_dim), s.indptr, s.indices,
                              s.values);
  if (*s.state >= 0) {  // SparseDense.forward: the gather-sum, then the activation on its own
    csr_matmul(s.indptr, s.indices, s.values, rows, *s.state, kernel, in_dim, units, bias, c);
    if (act != Activation::linear) activation_forward(act, params, c, c, rows * units);
    return;
  }
  // The program's gemm op (ops.dense's Dense.forward): the activation in the epilogue.
  GemmEpilogue ep;
  ep.bias = bias;
  ep.activation = act;
  ep.params = params;
  sgemm(Trans::N, Trans::N, rows, units, in_dim, 1.0f, a, in_dim, kernel, units, 0.0f, c, units,
        ep);
}

void dense_backward_weights(const float* a, const float* g, float* dkernel, const float* store,
                            int64_t rows, int64_t units, int64_t in_dim) {
  const Store s = layout(const_cast<float*>(store), rows, in_dim);
  if (*s.state >= 0) {
    csr_matmul_t(s.indptr, s.indices, s.values, rows, *s.state, g, units, dkernel, in_dim,
                 false);
    return;
  }
  const GemmEpilogue ep;  // the gemm op's linear epilogue
  sgemm(Trans::T, Trans::N, in_dim, units, rows, 1.0f, a, in_dim, g, units, 0.0f, dkernel, units,
        ep);
}

}  // namespace nnfast::program_sparse
