// Normalization layers' kernels on float32 buffers.
//
// Batch normalization views x as (rows, channels) with channels contiguous (NHWC with the
// normalized axis last; other axes are moved last by the caller):
//   training:  mean/var = per-channel batch mean and *biased* variance over rows,
//              y = (x - mean) / sqrt(var + eps) * gamma + beta
//   inference: the same with the moving statistics in place of the batch ones.
// Layer normalization normalizes each row of (rows, features) over its features.
// gamma/beta may be nullptr (Keras scale=False / center=False).
#pragma once
#include <cstdint>

namespace nnfast {

void batch_norm_forward_training(const float* x, int64_t rows, int64_t channels,
                                 const float* gamma, const float* beta, float epsilon, float* y,
                                 float* batch_mean, float* batch_var);
void batch_norm_forward_inference(const float* x, int64_t rows, int64_t channels,
                                  const float* gamma, const float* beta, const float* mean,
                                  const float* var, float epsilon, float* y);
// Gradients of either forward. `training` selects whether mean/var were batch statistics
// (their dependence on x is differentiated) or constants (moving statistics).
// dx, dgamma, dbeta may each be nullptr when not needed.
void batch_norm_backward(const float* x, const float* dy, int64_t rows, int64_t channels,
                         const float* gamma, const float* mean, const float* var, float epsilon,
                         bool training, float* dx, float* dgamma, float* dbeta);

// mean/rstd (length rows) receive each row's mean and 1/sqrt(var + eps) for the backward.
void layer_norm_forward(const float* x, int64_t rows, int64_t features, const float* gamma,
                        const float* beta, float epsilon, float* y, float* mean, float* rstd);
void layer_norm_backward(const float* x, const float* dy, int64_t rows, int64_t features,
                         const float* gamma, const float* mean, const float* rstd, float* dx,
                         float* dgamma, float* dbeta);

}  // namespace nnfast
