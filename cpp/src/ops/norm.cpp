// Normalization driver: validate, pick the kernel table for the active ISA, split rows across
// threads. Per-thread partial sums (double) are combined in chunk order, so the same thread
// count always gives the same bits.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/norm/norm_kernels.h"
#include "nnfast/norm.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<kernels::NormKernels> kNorm{
    "norm",
    {{Isa::avx512, "f32_norm_avx512", &kernels::f32_norm_avx512},
     {Isa::avx2, "f32_norm_avx2", &kernels::f32_norm_avx2},
     {Isa::ref, "f32_norm_ref", &kernels::f32_norm_ref}}};

const kernels::NormKernels& pick() { return *kNorm.select().fns; }

constexpr int64_t kGrain = 1 << 15;

void check(int64_t rows, int64_t cols, const char* what) {
  if (rows < 0 || cols <= 0)
    throw std::invalid_argument(std::string(what) + ": expected rows >= 0 and a positive " +
                                "normalized size, received rows=" + std::to_string(rows) +
                                " size=" + std::to_string(cols));
}

// Runs fn(r0, r1, partial) over row chunks, one chunk per useful thread, each with its own
// zeroed partial buffer of `width` doubles; returns the chunk-ordered sum.
template <typename Fn>
std::vector<double> reduce_rows(int64_t rows, int64_t row_cost, int64_t width, Fn&& fn) {
  const int64_t useful = std::max<int64_t>(1, rows * row_cost / kGrain);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>({num_threads(), useful, rows}));
  std::vector<double> part(static_cast<size_t>(chunks * width), 0.0);
  parallel_for_chunks(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      fn(rows * c / chunks, rows * (c + 1) / chunks, part.data() + c * width);
  });
  std::vector<double> total(static_cast<size_t>(width), 0.0);
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t j = 0; j < width; ++j) total[j] += part[c * width + j];
  return total;
}

void bn_apply(const kernels::NormKernels& k, const float* x, int64_t rows, int64_t C,
              const float* gamma, const float* beta, const double* mean, const double* var,
              float epsilon, float* y) {
  std::vector<float> scale(C), bias(C);
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(var[c] + static_cast<double>(epsilon));
    const double s = inv * (gamma ? gamma[c] : 1.0);
    scale[c] = static_cast<float>(s);
    bias[c] = static_cast<float>((beta ? beta[c] : 0.0) - mean[c] * s);
  }
  parallel_for_rows(rows, C, kGrain, [&](int64_t r0, int64_t r1) {
    k.bn_apply(x, r0, r1, C, scale.data(), bias.data(), y);
  });
}

}  // namespace

void batch_norm_forward_training(const float* x, int64_t rows, int64_t channels,
                                 const float* gamma, const float* beta, float epsilon, float* y,
                                 float* batch_mean, float* batch_var) {
  check(rows, channels, "batch_norm");
  if (rows == 0) throw std::invalid_argument("batch_norm: training needs at least one row");
  const kernels::NormKernels& k = pick();
  const int64_t C = channels;
  // NOTE: squares are taken around the first row (a cheap estimate of the mean) so the
  // one-pass variance does not cancel catastrophically when |mean| >> std.
  const float* shift = x;
  std::vector<double> s = reduce_rows(rows, C, 2 * C, [&](int64_t r0, int64_t r1, double* p) {
    k.bn_stats(x, r0, r1, C, shift, p, p + C);
  });
  std::vector<double> mean(C), var(C);
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = s[c] / static_cast<double>(rows);
    const double d = mean[c] - shift[c];
    var[c] = std::max(0.0, s[C + c] / static_cast<double>(rows) - d * d);
    batch_mean[c] = static_cast<float>(mean[c]);
    batch_var[c] = static_cast<float>(var[c]);
  }
  bn_apply(k, x, rows, C, gamma, beta, mean.data(), var.data(), epsilon, y);
}

void batch_norm_forward_inference(const float* x, int64_t rows, int64_t channels,
                                  const float* gamma, const float* beta, const float* mean,
                                  const float* var, float epsilon, float* y) {
  check(rows, channels, "batch_norm");
  const kernels::NormKernels& k = pick();
  std::vector<double> m(mean, mean + channels), v(var, var + channels);
  bn_apply(k, x, rows, channels, gamma, beta, m.data(), v.data(), epsilon, y);
}

void batch_norm_backward(const float* x, const float* dy, int64_t rows, int64_t channels,
                         const float* gamma, const float* mean, const float* var, float epsilon,
                         bool training, float* dx, float* dgamma, float* dbeta) {
  check(rows, channels, "batch_norm_backward");
  const kernels::NormKernels& k = pick();
  const int64_t C = channels;
  std::vector<double> s = reduce_rows(rows, C, 2 * C, [&](int64_t r0, int64_t r1, double* p) {
    k.bn_bwd_reduce(x, dy, r0, r1, C, mean, p, p + C);
  });
  std::vector<float> a(C), b(C), kk(C);
  const double M = static_cast<double>(std::max<int64_t>(rows, 1));
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + epsilon);
    const double g = gamma ? gamma[c] : 1.0;
    if (dgamma) dgamma[c] = static_cast<float>(s[C + c] * inv);
    if (dbeta) dbeta[c] = static_cast<float>(s[c]);
    const double kc = g * inv;
    if (training) {
      // dx = k*(dy - mean(dy) - xhat*mean(dy*xhat)), xhat = (x - mean)*inv, as a*dy + b*x + k.
      const double m1 = s[c] / M, m2 = s[C + c] * inv / M;
      a[c] = static_cast<float>(kc);
      b[c] = static_cast<float>(-kc * m2 * inv);
      kk[c] = static_cast<float>(kc * (m2 * inv * mean[c] - m1));
    } else {
      a[c] = static_cast<float>(kc);
      b[c] = 0.0f;
      kk[c] = 0.0f;
    }
  }
  if (!dx) return;
  parallel_for_rows(rows, C, kGrain, [&](int64_t r0, int64_t r1) {
    k.bn_bwd_apply(x, dy, r0, r1, C, a.data(), b.data(), kk.data(), dx);
  });
}

void layer_norm_forward(const float* x, int64_t rows, int64_t features, const float* gamma,
                        const float* beta, float epsilon, float* y, float* mean, float* rstd) {
  check(rows, features, "layer_norm");
  const kernels::NormKernels& k = pick();
  parallel_for_rows(rows, features, kGrain, [&](int64_t r0, int64_t r1) {
    k.ln_fwd(x, r0, r1, features, gamma, beta, epsilon, y, mean, rstd);
  });
}

void layer_norm_backward(const float* x, const float* dy, int64_t rows, int64_t features,
                         const float* gamma, const float* mean, const float* rstd, float* dx,
                         float* dgamma, float* dbeta) {
  check(rows, features, "layer_norm_backward");
  const kernels::NormKernels& k = pick();
  const int64_t D = features;
  const int64_t useful = std::max<int64_t>(1, rows * D / kGrain);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>({num_threads(), useful, rows}));
  std::vector<float> part(static_cast<size_t>(chunks * 2 * D), 0.0f);
  parallel_for_chunks(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      float* p = part.data() + c * 2 * D;
      k.ln_bwd(x, dy, rows * c / chunks, rows * (c + 1) / chunks, D, gamma, mean, rstd, dx,
               dgamma ? p : nullptr, dbeta ? p + D : nullptr);
    }
  });
  for (int64_t j = 0; j < D; ++j) {
    float g = 0.0f, b = 0.0f;
    for (int64_t c = 0; c < chunks; ++c) {
      g += part[c * 2 * D + j];
      b += part[c * 2 * D + D + j];
    }
    if (dgamma) dgamma[j] = g;
    if (dbeta) dbeta[j] = b;
  }
}

}  // namespace nnfast
