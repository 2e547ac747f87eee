// Embedding driver: check ids, then gather (split over ids) or scatter-add (split over
// columns, so every thread adds its columns in the same order: same bits for any count).
#include "nnfast/embedding.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/embedding/embedding_kernels.h"
#include "nnfast/runtime.h"
#include "ops/embedding_rows.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {
void check_ids(const int64_t* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw std::invalid_argument("embedding: index " + std::to_string(ids[i]) + " at position " +
                                  std::to_string(i) + " is out of range [0, " +
                                  std::to_string(vocab) + ")");
}
void check_dims(int64_t vocab, int64_t dim, int64_t n) {
  if (vocab < 1 || dim < 1 || n < 0)
    throw std::invalid_argument("embedding: expected vocab >= 1, dim >= 1, n >= 0, received " +
                                std::to_string(vocab) + ", " + std::to_string(dim) + ", " +
                                std::to_string(n));
}
// Row copies and row adds: vectorised bodies over the shared vocabulary, the reference last.
const dispatch::Registry<kernels::EmbeddingKernels> kEmbedding{
    "embedding",
    {{Isa::avx512, "f32_embedding_avx512", &kernels::f32_embedding_avx512},
     {Isa::avx2, "f32_embedding_avx2", &kernels::f32_embedding_avx2},
     {Isa::ref, "f32_embedding_ref", &kernels::f32_embedding_ref}}};
}  // namespace

const kernels::EmbeddingKernels& embedding_row_kernels() { return *kEmbedding.select().fns; }

void embedding_forward(const float* table, int64_t vocab, int64_t dim, const int64_t* ids,
                       int64_t n, float* dst) {
  check_dims(vocab, dim, n);
  check_ids(ids, n, vocab);
  const auto gather = kEmbedding.select().fns->gather;
  parallel_for_rows(n, dim, 1 << 16, [&](int64_t i0, int64_t i1) {
    gather(table, dim, ids, i0, i1, dst);
  });
}

void embedding_backward(const float* ddst, const int64_t* ids, int64_t n, int64_t dim,
                        float* dtable, int64_t vocab, const int64_t* clear_ids,
                        int64_t n_clear) {
  check_dims(vocab, dim, n);
  check_ids(ids, n, vocab);
  if (clear_ids == nullptr) n_clear = 0;
  if (n_clear < 0)
    throw std::invalid_argument("embedding: n_clear must be >= 0, received " +
                                std::to_string(n_clear));
  check_ids(clear_ids, n_clear, vocab);
  const kernels::EmbeddingKernels& k = *kEmbedding.select().fns;
  // Whole cache lines per thread (16 floats) so threads never share a line.
  const int64_t blocks = (dim + 15) / 16;
  const int64_t grain =
      std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>((n + n_clear) * 16, 1));
  parallel_for_chunks(blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t c0 = b0 * 16, c1 = std::min(dim, b1 * 16);
    if (n_clear > 0) k.clear_rows(clear_ids, n_clear, dim, c0, c1, dtable);
    k.scatter_add(ddst, ids, n, dim, c0, c1, dtable);
  });
}

void embedding_shift_square_rows(float* slot, int64_t vocab, int64_t dim, const int64_t* ids,
                                 int64_t n, const float* g, const float* squares, float factor) {
  check_dims(vocab, dim, n);
  check_ids(ids, n, vocab);
  const kernels::EmbeddingKernels& k = *kEmbedding.select().fns;
  const int64_t blocks = (dim + 15) / 16;  // whole cache lines per thread, as above
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(n * 16, 1));
  parallel_for_chunks(blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t c0 = b0 * 16, c1 = std::min(dim, b1 * 16);
    k.shift_square_rows(ids, n, dim, c0, c1, g, squares, factor, slot);
  });
}

}  // namespace nnfast
