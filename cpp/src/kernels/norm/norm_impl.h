// Body of the normalization kernels, compiled once per ISA (norm_ref.cpp, norm_avx2.cpp,
// norm_avx512.cpp instantiate NNFAST_DEFINE_NORM): loops over contiguous channels/features
// that the compiler vectorises for each file's flags.
// NOTE: C-style code only (no std:: templates), as ISA files require.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/norm/norm_kernels.h"

namespace nnfast::kernels {
namespace {

inline void bn_stats_impl(const float* x, int64_t r0, int64_t r1, int64_t C, const float* shift,
                          double* sum, double* sumsq) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * C;
    double* __restrict s = sum;
    double* __restrict q = sumsq;
    for (int64_t c = 0; c < C; ++c) {
      const float d = xr[c] - shift[c];
      s[c] += (double)xr[c];
      q[c] += (double)(d * d);
    }
  }
}

inline void bn_apply_impl(const float* x, int64_t r0, int64_t r1, int64_t C, const float* scale,
                          const float* bias, float* y) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * C;
    float* __restrict yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * scale[c] + bias[c];
  }
}

inline void bn_bwd_reduce_impl(const float* x, const float* dy, int64_t r0, int64_t r1,
                               int64_t C, const float* mean, double* sum_dy, double* sum_dy_xc) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * C;
    const float* __restrict gr = dy + r * C;
    double* __restrict s = sum_dy;
    double* __restrict q = sum_dy_xc;
    for (int64_t c = 0; c < C; ++c) {
      s[c] += (double)gr[c];
      q[c] += (double)(gr[c] * (xr[c] - mean[c]));
    }
  }
}

inline void bn_bwd_apply_impl(const float* x, const float* dy, int64_t r0, int64_t r1,
                              int64_t C, const float* a, const float* b, const float* k,
                              float* dx) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * C;
    const float* __restrict gr = dy + r * C;
    float* __restrict d = dx + r * C;
    for (int64_t c = 0; c < C; ++c) d[c] = a[c] * gr[c] + b[c] * xr[c] + k[c];
  }
}

inline void ln_fwd_impl(const float* x, int64_t r0, int64_t r1, int64_t D, const float* gamma,
                        const float* beta, float eps, float* y, float* mean, float* rstd) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * D;
    float* __restrict yr = y + r * D;
    float s = 0.0f;
    for (int64_t j = 0; j < D; ++j) s += xr[j];
    const float mu = s / (float)D;
    float q = 0.0f;
    for (int64_t j = 0; j < D; ++j) {
      const float d = xr[j] - mu;
      q += d * d;
    }
    const float rs = 1.0f / sqrtf(q / (float)D + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (int64_t j = 0; j < D; ++j) {
      float v = (xr[j] - mu) * rs;
      if (gamma) v *= gamma[j];
      if (beta) v += beta[j];
      yr[j] = v;
    }
  }
}

inline void ln_bwd_impl(const float* x, const float* dy, int64_t r0, int64_t r1, int64_t D,
                        const float* gamma, const float* mean, const float* rstd, float* dx,
                        float* dgamma, float* dbeta) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict xr = x + r * D;
    const float* __restrict gr = dy + r * D;
    const float mu = mean[r], rs = rstd[r];
    float m1 = 0.0f, m2 = 0.0f;  // sums of g*gamma and g*gamma*xhat
    for (int64_t j = 0; j < D; ++j) {
      const float xh = (xr[j] - mu) * rs;
      const float gg = gamma ? gr[j] * gamma[j] : gr[j];
      m1 += gg;
      m2 += gg * xh;
      if (dgamma) dgamma[j] += gr[j] * xh;
      if (dbeta) dbeta[j] += gr[j];
    }
    m1 /= (float)D;
    m2 /= (float)D;
    if (dx) {
      float* __restrict d = dx + r * D;
      for (int64_t j = 0; j < D; ++j) {
        const float xh = (xr[j] - mu) * rs;
        const float gg = gamma ? gr[j] * gamma[j] : gr[j];
        d[j] = rs * (gg - m1 - xh * m2);
      }
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_NORM(isa)                                                             \
  namespace nnfast::kernels {                                                               \
  const NormKernels f32_norm_##isa = {bn_stats_impl,      bn_apply_impl, bn_bwd_reduce_impl, \
                                      bn_bwd_apply_impl,  ln_fwd_impl,   ln_bwd_impl,        \
                                      "f32_norm_" #isa};                                    \
  }
