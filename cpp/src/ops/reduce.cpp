// Reductions. NOTE: summation order is fixed (row by row, left to right per thread range),
// so results do not depend on timing.
#include "nnfast/reduce.h"
#include "ops/parallel.h"

namespace nnfast {

void sum_over_rows(const float* src, int64_t rows, int64_t cols, float* dst, bool accumulate) {
  // Split the columns across threads: each thread owns dst[c0:c1), so no atomics and the
  // order of additions is fixed.
  parallel_for_rows(cols, rows, 1 << 16, [&](int64_t c0, int64_t c1) {
    if (!accumulate)
      for (int64_t j = c0; j < c1; ++j) dst[j] = 0.0f;
    for (int64_t i = 0; i < rows; ++i) {
      const float* x = src + i * cols;
      for (int64_t j = c0; j < c1; ++j) dst[j] += x[j];
    }
  });
}

void sum_over_cols(const float* src, int64_t rows, int64_t cols, float* dst) {
  parallel_for_rows(rows, cols, 1 << 16, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* x = src + i * cols;
      float s = 0.0f;
      for (int64_t j = 0; j < cols; ++j) s += x[j];
      dst[i] = s;
    }
  });
}

}  // namespace nnfast
