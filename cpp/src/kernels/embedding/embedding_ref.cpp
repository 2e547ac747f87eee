// Embedding gather / scatter-add, scalar reference (row copies by memcpy, plain loops).
#include <string.h>

#include "kernels/embedding/embedding_kernels.h"

namespace nnfast::kernels {

void f32_embedding_gather_ref(const float* table, int64_t dim, const int64_t* ids,
                              int64_t begin, int64_t end, float* dst) {
  for (int64_t i = begin; i < end; ++i)
    memcpy(dst + i * dim, table + ids[i] * dim, sizeof(float) * static_cast<size_t>(dim));
}

void f32_embedding_scatter_add_ref(const float* ddst, const int64_t* ids, int64_t n,
                                   int64_t dim, int64_t c0, int64_t c1, float* dtable) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = dtable + ids[i] * dim;
    const float* g = ddst + i * dim;
    for (int64_t c = c0; c < c1; ++c) row[c] += g[c];
  }
}

void f32_embedding_clear_rows_ref(const int64_t* ids, int64_t n, int64_t dim, int64_t c0,
                                  int64_t c1, float* dtable) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = dtable + ids[i] * dim;
    for (int64_t c = c0; c < c1; ++c) row[c] = 0.0f;
  }
}

void f32_embedding_scatter_add_squares_ref(const float* g, const int32_t* rows, int64_t n,
                                           int64_t dim, int64_t c0, int64_t c1, float* sums,
                                           float* squares) {
  for (int64_t i = 0; i < n; ++i) {
    float* s = sums + int64_t(rows[i]) * dim;
    float* q = squares + int64_t(rows[i]) * dim;
    const float* gi = g + i * dim;
    for (int64_t c = c0; c < c1; ++c) {
      s[c] += gi[c];
      q[c] += gi[c] * gi[c];
    }
  }
}

void f32_embedding_shift_square_rows_ref(const int64_t* ids, int64_t n, int64_t dim,
                                         int64_t c0, int64_t c1, const float* g,
                                         const float* squares, float factor, float* slot) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = slot + ids[i] * dim;
    const float* gi = g + i * dim;
    const float* qi = squares + i * dim;
    for (int64_t c = c0; c < c1; ++c) row[c] += (qi[c] - gi[c] * gi[c]) * factor;
  }
}

const EmbeddingKernels f32_embedding_ref = {
    f32_embedding_gather_ref, f32_embedding_scatter_add_ref, f32_embedding_clear_rows_ref,
    f32_embedding_shift_square_rows_ref, f32_embedding_scatter_add_squares_ref};

}  // namespace nnfast::kernels
