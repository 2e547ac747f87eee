#pragma once
#include <cstdint>

namespace nnfast::kernels {
// Row-range kernels over a (rows, cols) buffer; the driver splits rows across threads.
void f32_softmax_rows_ref(const float* src, float* dst, int64_t rows, int64_t cols, bool log);
void f32_softmax_backward_rows_ref(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                                   int64_t cols, bool log);
void f32_logsumexp_rows_ref(const float* src, float* dst, int64_t rows, int64_t cols);
void f32_softmax_strided_ref(const float* src, float* dst, int64_t outer, int64_t n,
                             int64_t inner, bool log, float* scratch);

// One ISA's softmax kernels (the reference, or the vectorised bodies of softmax_impl.h).
struct SoftmaxKernels {
  void (*rows)(const float* src, float* dst, int64_t rows, int64_t cols, bool log);
  void (*backward_rows)(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                        int64_t cols, bool log);
  // dst[i] = log(sum(exp(src row i))), one value per row.
  void (*logsumexp_rows)(const float* src, float* dst, int64_t rows, int64_t cols);
  // Softmax over the middle axis of (outer, n, inner) buffers; scratch holds 2 * inner floats.
  void (*strided)(const float* src, float* dst, int64_t outer, int64_t n, int64_t inner,
                  bool log, float* scratch);
  const char* name;
};

extern const SoftmaxKernels f32_softmax_ref;
extern const SoftmaxKernels f32_softmax_avx2;
extern const SoftmaxKernels f32_softmax_avx512;
}  // namespace nnfast::kernels
