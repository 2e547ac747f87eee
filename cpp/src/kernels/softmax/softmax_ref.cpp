#include <cmath>

#include "kernels/softmax/softmax_kernels.h"

namespace nnfast::kernels {

void f32_softmax_rows_ref(const float* src, float* dst, int64_t rows, int64_t cols, bool log) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* x = src + i * cols;
    float* y = dst + i * cols;
    float mx = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) mx = x[j] > mx ? x[j] : mx;
    float sum = 0.0f;
    if (log) {
      for (int64_t j = 0; j < cols; ++j) sum += std::exp(x[j] - mx);
      const float lse = mx + std::log(sum);
      for (int64_t j = 0; j < cols; ++j) y[j] = x[j] - lse;
    } else {
      for (int64_t j = 0; j < cols; ++j) {
        y[j] = std::exp(x[j] - mx);
        sum += y[j];
      }
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
    }
  }
}

void f32_softmax_backward_rows_ref(const float* dst, const float* ddst, float* dsrc, int64_t rows,
                                   int64_t cols, bool log) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* y = dst + i * cols;
    const float* dy = ddst + i * cols;
    float* dx = dsrc + i * cols;
    float s = 0.0f;
    if (log) {
      for (int64_t j = 0; j < cols; ++j) s += dy[j];
      for (int64_t j = 0; j < cols; ++j) dx[j] = dy[j] - std::exp(y[j]) * s;
    } else {
      for (int64_t j = 0; j < cols; ++j) s += dy[j] * y[j];
      for (int64_t j = 0; j < cols; ++j) dx[j] = y[j] * (dy[j] - s);
    }
  }
}

void f32_logsumexp_rows_ref(const float* src, float* dst, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* x = src + i * cols;
    float mx = -INFINITY;
    bool nan = false;
    for (int64_t j = 0; j < cols; ++j) {
      mx = x[j] > mx ? x[j] : mx;
      nan = nan || std::isnan(x[j]);
    }
    if (nan) {
      dst[i] = NAN;
      continue;
    }
    if (std::isinf(mx)) {  // +inf, or a row of -inf
      dst[i] = mx;
      continue;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(x[j] - mx);
    dst[i] = mx + std::log(sum);
  }
}

const SoftmaxKernels f32_softmax_ref = {f32_softmax_rows_ref, f32_softmax_backward_rows_ref,
                                        f32_logsumexp_rows_ref, "f32_softmax_ref"};

}  // namespace nnfast::kernels
