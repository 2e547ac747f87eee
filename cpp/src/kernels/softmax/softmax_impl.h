// Body of the softmax kernels, compiled once per ISA (softmax_avx2.cpp, softmax_avx512.cpp
// instantiate NNFAST_DEFINE_SOFTMAX): branch-free loops the compiler vectorises for each
// file's flags. exp is a Cephes-style polynomial (about 1 ulp) instead of the libm call,
// which does not vectorise; reductions keep 16 partial accumulators so they vectorise
// without -ffast-math, and always combine them in the same order (same bits every run).
// NOTE: C-style code only (no std:: templates), as ISA files require.
#pragma once
#include <stdint.h>
#include <string.h>

#include "kernels/softmax/softmax_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kLanes = 16;

// e^x for x <= 0 (softmax shifts by the row max); 0 below e^-87.3, where float32 would go
// subnormal.
inline float exp_nonpositive(float x) {
  // NaN takes the clamp (NaN compares false), so the integer conversion and shift below
  // stay defined; the return hands the NaN back.
  const float xc = x >= -87.3f ? (x <= 0.0f ? x : 0.0f) : -87.3f;
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x/ln2)
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof(scale));
  return x >= -87.3f ? p * scale : (x < -87.3f ? 0.0f : x);
}

inline float row_max(const float* __restrict x, int64_t n) {
  float acc[kLanes];
  for (int k = 0; k < kLanes; ++k) acc[k] = -__builtin_inff();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
  float m = -__builtin_inff();
  for (int k = 0; k < kLanes; ++k) m = acc[k] > m ? acc[k] : m;
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

inline float row_sum(const float* __restrict x, int64_t n) {
  float acc[kLanes] = {0};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += x[j + k];
  float s = 0.0f;
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  for (; j < n; ++j) s += x[j];
  return s;
}

inline float row_dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[kLanes] = {0};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += a[j + k] * b[j + k];
  float s = 0.0f;
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  for (; j < n; ++j) s += a[j] * b[j];
  return s;
}

// log(s) for s >= 1 (a row sum of exps whose max is 1), once per row: the scalar libm call
// is fine here.
inline float log_of_sum(float s) { return __builtin_logf(s); }

inline void softmax_rows_impl(const float* src, float* dst, int64_t rows, int64_t cols,
                              bool log) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* __restrict x = src + i * cols;
    float* __restrict y = dst + i * cols;
    const float mx = row_max(x, cols);
    if (mx == -__builtin_inff() || mx != mx) {
      // All -inf or NaN rows: the reference's arithmetic (NaN results) without the fast path.
      for (int64_t j = 0; j < cols; ++j) y[j] = x[j] - mx;
      continue;
    }
    for (int64_t j = 0; j < cols; ++j) y[j] = exp_nonpositive(x[j] - mx);
    const float sum = row_sum(y, cols);
    if (log) {
      const float lse = mx + log_of_sum(sum);
      for (int64_t j = 0; j < cols; ++j) y[j] = x[j] - lse;
    } else {
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
    }
  }
}

// sum(exp(x - mx)) without storing the exps (mx is the row's finite max).
inline float row_sum_exp(const float* __restrict x, int64_t n, float mx) {
  float acc[kLanes] = {0};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int k = 0; k < kLanes; ++k) acc[k] += exp_nonpositive(x[j + k] - mx);
  float s = 0.0f;
  for (int k = 0; k < kLanes; ++k) s += acc[k];
  for (; j < n; ++j) s += exp_nonpositive(x[j] - mx);
  return s;
}

// A row whose max is not a finite number: NaN if it holds a NaN, else that max (+inf, or
// -inf for a row of -inf), as NumPy's max-shifted formula gives.
inline float non_finite_logsumexp(const float* x, int64_t n, float mx) {
  for (int64_t j = 0; j < n; ++j)
    if (x[j] != x[j]) return x[j];
  return mx;
}

inline void logsumexp_rows_impl(const float* src, float* dst, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* x = src + i * cols;
    const float mx = row_max(x, cols);
    if (mx - mx != 0.0f) {  // inf or NaN
      dst[i] = non_finite_logsumexp(x, cols, mx);
      continue;
    }
    // A NaN beside finite numbers reaches the sum through exp_nonpositive (NaN in, NaN out).
    dst[i] = mx + log_of_sum(row_sum_exp(x, cols, mx));
  }
}

// Softmax over the middle axis of (outer, n, inner): the same steps as a row, with the
// inner axis as the vector lanes (max, then exp and sum, then scale), each a loop over
// contiguous memory. Columns whose max is -inf or NaN come out NaN, as for rows.
inline void softmax_strided_impl(const float* src, float* dst, int64_t outer, int64_t n,
                                 int64_t inner, bool log, float* scratch) {
  float* __restrict m = scratch;
  float* __restrict s = scratch + inner;
  for (int64_t o = 0; o < outer; ++o) {
    const float* x = src + o * n * inner;
    float* y = dst + o * n * inner;
    for (int64_t j = 0; j < inner; ++j) m[j] = -__builtin_inff();
    for (int64_t i = 0; i < n; ++i) {
      const float* __restrict xi = x + i * inner;
      for (int64_t j = 0; j < inner; ++j) m[j] = xi[j] > m[j] ? xi[j] : m[j];
    }
    for (int64_t j = 0; j < inner; ++j) s[j] = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      const float* __restrict xi = x + i * inner;
      float* __restrict yi = y + i * inner;
      for (int64_t j = 0; j < inner; ++j) {
        yi[j] = exp_nonpositive(xi[j] - m[j]);
        s[j] += yi[j];
      }
    }
    if (log) {
      for (int64_t j = 0; j < inner; ++j) s[j] = m[j] + log_of_sum(s[j]);
      for (int64_t i = 0; i < n; ++i) {
        const float* __restrict xi = x + i * inner;
        float* __restrict yi = y + i * inner;
        for (int64_t j = 0; j < inner; ++j) yi[j] = xi[j] - s[j];
      }
    } else {
      for (int64_t j = 0; j < inner; ++j) s[j] = 1.0f / s[j];
      for (int64_t i = 0; i < n; ++i) {
        float* __restrict yi = y + i * inner;
        for (int64_t j = 0; j < inner; ++j) yi[j] *= s[j];
      }
    }
  }
}

inline void softmax_backward_rows_impl(const float* dst, const float* ddst, float* dsrc,
                                       int64_t rows, int64_t cols, bool log) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* __restrict y = dst + i * cols;
    const float* __restrict dy = ddst + i * cols;
    float* __restrict dx = dsrc + i * cols;
    if (log) {
      const float s = row_sum(dy, cols);
      for (int64_t j = 0; j < cols; ++j) dx[j] = dy[j] - exp_nonpositive(y[j]) * s;
    } else {
      const float s = row_dot(dy, y, cols);
      for (int64_t j = 0; j < cols; ++j) dx[j] = y[j] * (dy[j] - s);
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_SOFTMAX(isa)                                                          \
  namespace nnfast::kernels {                                                              \
  const SoftmaxKernels f32_softmax_##isa = {softmax_rows_impl, softmax_backward_rows_impl, \
                                            logsumexp_rows_impl, softmax_strided_impl,     \
                                            "f32_softmax_" #isa};                          \
  }
