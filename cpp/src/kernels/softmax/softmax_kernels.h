#pragma once
#include <cstdint>

namespace nnfast::kernels {
// Row-range kernels over a (rows, cols) buffer; the driver splits rows across threads.
void f32_softmax_rows_ref(const float* src, float* dst, int64_t rows, int64_t cols, bool log);
void f32_softmax_backward_rows_ref(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                                   int64_t cols, bool log);
}  // namespace nnfast::kernels
