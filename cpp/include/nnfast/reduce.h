// Reductions of a (rows, cols) buffer that layers need on their hot path.
#pragma once
#include <cstdint>

namespace nnfast {

// dst[j] (+)= sum_i src[i, j]  (e.g. the bias gradient of a Dense layer).
void sum_over_rows(const float* src, int64_t rows, int64_t cols, float* dst, bool accumulate);
// dst[i] = sum_j src[i, j].
void sum_over_cols(const float* src, int64_t rows, int64_t cols, float* dst);

}  // namespace nnfast
