// The k largest entries of each row of a (rows, n) float32 buffer, in TensorFlow's order.
#pragma once
#include <cstdint>

namespace nnfast {

// values[r, :k] and indices[r, :k] (int32) of the k largest entries of row r, largest first;
// equal values keep the lower index first (TF's tie order) and NaN ranks below every number
// (lower index first among NaNs), so the result is one total order. Needs 0 <= k <= n and
// n < 2^31; throws std::invalid_argument otherwise.
void top_k_rows(const float* x, int64_t rows, int64_t n, int64_t k, float* values,
                int32_t* indices);

}  // namespace nnfast
