// Embedding row kernels; the driver (src/ops/embedding.cpp) validates ids and splits work.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {
// dst rows [begin, end) = table[ids[i]].
void f32_embedding_gather_ref(const float* table, int64_t dim, const int64_t* ids,
                              int64_t begin, int64_t end, float* dst);
// For columns [c0, c1): dtable[ids[i], c] += ddst[i, c], i ascending.
void f32_embedding_scatter_add_ref(const float* ddst, const int64_t* ids, int64_t n,
                                   int64_t dim, int64_t c0, int64_t c1, float* dtable);
// For columns [c0, c1): dtable[ids[i], c] = 0.
void f32_embedding_clear_rows_ref(const int64_t* ids, int64_t n, int64_t dim, int64_t c0,
                                  int64_t c1, float* dtable);
// For columns [c0, c1): sums[rows[i], c] += g[i, c] and squares[rows[i], c] += g[i, c]^2,
// i ascending: per-token gradient rows grouped by the row they belong to, with the
// per-token sum of squares that Keras's optimizers square embedding gradients by.
void f32_embedding_scatter_add_squares_ref(const float* g, const int32_t* rows, int64_t n,
                                           int64_t dim, int64_t c0, int64_t c1, float* sums,
                                           float* squares);
// For columns [c0, c1): slot[ids[i], c] += (squares[i, c] - g[i, c]^2) * factor, i ascending:
// turns a squaring optimizer's slot update on a summed gradient into Keras's per-token one.
void f32_embedding_shift_square_rows_ref(const int64_t* ids, int64_t n, int64_t dim,
                                         int64_t c0, int64_t c1, const float* g,
                                         const float* squares, float factor, float* slot);

// One ISA's embedding kernels (the reference above, or the vectorised bodies of
// embedding_simd_body.h over the shared vocabulary).
struct EmbeddingKernels {
  void (*gather)(const float* table, int64_t dim, const int64_t* ids, int64_t begin,
                 int64_t end, float* dst);
  void (*scatter_add)(const float* ddst, const int64_t* ids, int64_t n, int64_t dim, int64_t c0,
                      int64_t c1, float* dtable);
  void (*clear_rows)(const int64_t* ids, int64_t n, int64_t dim, int64_t c0, int64_t c1,
                     float* dtable);
  void (*shift_square_rows)(const int64_t* ids, int64_t n, int64_t dim, int64_t c0, int64_t c1,
                            const float* g, const float* squares, float factor, float* slot);
  void (*scatter_add_squares)(const float* g, const int32_t* rows, int64_t n, int64_t dim,
                              int64_t c0, int64_t c1, float* sums, float* squares);
};

extern const EmbeddingKernels f32_embedding_ref;
extern const EmbeddingKernels f32_embedding_avx2;
extern const EmbeddingKernels f32_embedding_avx512;
}  // namespace nnfast::kernels
