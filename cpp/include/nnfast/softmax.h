// Row-wise softmax and log-softmax over the last axis of a (rows, cols) buffer.
#pragma once
#include <cstdint>

namespace nnfast {

void softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols);
// dsrc = dst * (ddst - sum(ddst * dst)) per row; dsrc may alias ddst.
void softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                      int64_t cols);
void log_softmax_forward(const float* src, float* dst, int64_t rows, int64_t cols);
// Softmax (or log-softmax) over the middle axis of (outer, n, inner) buffers.
void softmax_strided(const float* src, float* dst, int64_t outer, int64_t n, int64_t inner,
                     bool log);
// dst[i] = log(sum_j exp(src[i, j])), computed max-shifted in one pass over each row.
void logsumexp_rows(const float* src, float* dst, int64_t rows, int64_t cols);
// dsrc = ddst - exp(dst) * sum(ddst) per row.
void log_softmax_backward(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                          int64_t cols);

}  // namespace nnfast
