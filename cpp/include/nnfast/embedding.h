// Embedding lookup: gather rows of a (vocab, dim) table by integer ids, and the matching
// scatter-add for the gradient, which touches only the rows that were looked up.
#pragma once
#include <cstdint>

namespace nnfast {

// dst[i, :] = table[ids[i], :] for i in [0, n). Every id is checked to lie in [0, vocab)
// before anything is written; otherwise std::invalid_argument names the first bad id.
void embedding_forward(const float* table, int64_t vocab, int64_t dim, const int64_t* ids,
                       int64_t n, float* dst);

// dtable[ids[i], :] += ddst[i, :] for i in [0, n), in index order (deterministic for any
// thread count: threads split the columns). Rows not named by ids are not touched.
// With clear_ids (n_clear ids, checked like ids), the rows they name are first set to zero:
// a gradient buffer reused across steps then only clears the rows its last step wrote.
void embedding_backward(const float* ddst, const int64_t* ids, int64_t n, int64_t dim,
                        float* dtable, int64_t vocab, const int64_t* clear_ids = nullptr,
                        int64_t n_clear = 0);

// slot[ids[i], :] += (squares[i, :] - g[i, :]^2) * factor for i in [0, n), in index order
// (ids checked like embedding_backward's; threads split the columns). Before a squaring
// optimizer's dense kernel runs on a summed embedding gradient, this shifts the touched rows
// of its slot so that it accumulates the per-token sums of squares instead (Keras's rule).
void embedding_shift_square_rows(float* slot, int64_t vocab, int64_t dim, const int64_t* ids,
                                 int64_t n, const float* g, const float* squares, float factor);

}  // namespace nnfast
