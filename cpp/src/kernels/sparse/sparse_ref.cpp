// Portable sparse-input Dense kernels: the reference every ISA variant is tested against.
#include "kernels/sparse/sparse_kernels.h"

namespace nnfast::kernels {

int64_t f32_csr_scan_ref(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                         int64_t* indptr, int64_t* indices, float* values) {
  int64_t nnz = 0;
  indptr[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      if (!(row[j] == 0.0f)) {  // NaN counts as a nonzero, as in the dense product
        if (nnz == max_nnz) return -1;
        indices[nnz] = j;
        values[nnz++] = row[j];
      }
    }
    indptr[i + 1] = nnz;
  }
  return nnz;
}

void f32_csr_gather_ref(const int64_t* indptr, const int64_t* indices, const float* values,
                        int64_t r0, int64_t r1, const float* w, int64_t units,
                        const float* bias, float* y) {
  for (int64_t i = r0; i < r1; ++i) {
    float* out = y + i * units;
    for (int64_t c = 0; c < units; ++c) out[c] = 0.0f;
    for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
      const float v = values[k];
      const float* wr = w + indices[k] * units;
      for (int64_t c = 0; c < units; ++c) out[c] += v * wr[c];
    }
    if (bias)
      for (int64_t c = 0; c < units; ++c) out[c] += bias[c];
  }
}

void f32_csr_scatter_ref(const int64_t* indptr, const int64_t* indices, const float* values,
                         int64_t rows, const float* dy, int64_t units, int64_t c0, int64_t c1,
                         float* dw) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* g = dy + i * units;
    for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
      const float v = values[k];
      float* d = dw + indices[k] * units;
      for (int64_t c = c0; c < c1; ++c) d[c] += v * g[c];
    }
  }
}

}  // namespace nnfast::kernels
