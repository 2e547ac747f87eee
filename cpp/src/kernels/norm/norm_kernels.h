// Normalization kernel contracts: row-range kernels the driver (src/ops/norm.cpp) splits
// across threads. Batch-norm statistics accumulate in double so long batches do not lose
// precision; per-chunk partials are combined by the driver in chunk order.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

struct NormKernels {
  // sum[c] += x[r, c]; sumsq[c] += (x[r, c] - shift[c])^2 over rows [r0, r1).
  void (*bn_stats)(const float* x, int64_t r0, int64_t r1, int64_t C, const float* shift,
                   double* sum, double* sumsq);
  // y[r, c] = x[r, c] * scale[c] + bias[c].
  void (*bn_apply)(const float* x, int64_t r0, int64_t r1, int64_t C, const float* scale,
                   const float* bias, float* y);
  // sum_dy[c] += dy; sum_dy_xc[c] += dy * (x - mean[c]).
  void (*bn_bwd_reduce)(const float* x, const float* dy, int64_t r0, int64_t r1, int64_t C,
                        const float* mean, double* sum_dy, double* sum_dy_xc);
  // dx = a[c]*dy + b[c]*x + k[c].
  void (*bn_bwd_apply)(const float* x, const float* dy, int64_t r0, int64_t r1, int64_t C,
                       const float* a, const float* b, const float* k, float* dx);
  void (*ln_fwd)(const float* x, int64_t r0, int64_t r1, int64_t D, const float* gamma,
                 const float* beta, float eps, float* y, float* mean, float* rstd);
  // dx rows [r0, r1); dgamma/dbeta (may be null) accumulate.
  void (*ln_bwd)(const float* x, const float* dy, int64_t r0, int64_t r1, int64_t D,
                 const float* gamma, const float* mean, const float* rstd, float* dx,
                 float* dgamma, float* dbeta);
  const char* name;
};

extern const NormKernels f32_norm_ref;
extern const NormKernels f32_norm_avx2;
extern const NormKernels f32_norm_avx512;

}  // namespace nnfast::kernels
