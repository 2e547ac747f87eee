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

void f32_softmax_strided_ref(const float* src, float* dst, int64_t outer, int64_t n,
                             int64_t inner, bool log, float* scratch) {
  (void)scratch;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      const float* x = src + o * n * inner + j;
      float* y = dst + o * n * inner + j;
      float mx = -INFINITY;
      for (int64_t i = 0; i < n; ++i) mx = x[i * inner] > mx ? x[i * inner] : mx;
      float sum = 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        y[i * inner] = std::exp(x[i * inner] - mx);
        sum += y[i * inner];
      }
      if (log) {
        const float lse = mx + std::log(sum);
        for (int64_t i = 0; i < n; ++i) y[i * inner] = x[i * inner] - lse;
      } else {
        for (int64_t i = 0; i < n; ++i) y[i * inner] /= sum;
      }
    }
  }
}

const SoftmaxKernels f32_softmax_ref = {f32_softmax_rows_ref, f32_softmax_backward_rows_ref,
                                        f32_logsumexp_rows_ref, f32_softmax_strided_ref,
                                        "f32_softmax_ref"};

}  // namespace nnfast::kernels
