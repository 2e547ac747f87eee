// Fused optimizer updates: one pass over a parameter and its slots, following the
// update rules of Keras 3 (keras/src/optimizers).
#pragma once
#include <cstdint>

namespace nnfast {

// Plain: w -= lr*g. Momentum: m = mu*m - lr*g; w += m. Nesterov: w += mu*m - lr*g (new m).
// `momentum_buf` may be null when momentum == 0.
void sgd_update(float* w, const float* g, float* momentum_buf, int64_t n, float lr,
                float momentum, bool nesterov);

// Keras Adam (epsilon added to sqrt(v) before bias correction):
//   m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2)
//   w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
// `vhat` non-null selects AMSGrad (vhat = max(vhat, v) is used in place of v).
// `step` is t = iterations + 1 (>= 1).
void adam_update(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float lr,
                 float beta_1, float beta_2, float epsilon, int64_t step);

}  // namespace nnfast
