// Fused optimizer updates: one pass over a parameter, its gradient and its slots, following
// the update rules of Keras 3 (keras/src/optimizers). Every update also folds in, in Keras's
// order, the gradient clipping factor and the decoupled weight decay:
//   g <- clamp(g * grad_scale, clip_lo, clip_hi)      (clipnorm/global_clipnorm; clipvalue)
//   w <- w - w * decay                                  (decay = weight_decay * lr; 0 = off)
//   then the optimizer's own rule below.
// Pointers are float32 arrays of n elements; slots named "optional" may be null.
#pragma once
#include <cstdint>

namespace nnfast {

// What every update shares: clipping and weight decay folded into the same pass.
struct OptimizerCommon {
  float grad_scale = 1.0f;  // clipnorm / global_clipnorm factor c / max(norm, c)
  float clip_lo = -__builtin_inff();  // clipvalue: g clamped to [clip_lo, clip_hi]
  float clip_hi = __builtin_inff();
  float decay = 0.0f;  // weight_decay * learning_rate
};

// SGD. Plain: w -= lr*g. Momentum: m = mu*m - lr*g; w += m. Nesterov: w += mu*m - lr*g using
// the new m. `momentum_buf` may be null when momentum == 0.
void sgd_update(float* w, const float* g, float* momentum_buf, int64_t n, float lr,
                float momentum, bool nesterov, const OptimizerCommon& common = {});

// Adam (epsilon added to sqrt(v) before the bias correction, as Keras/TF):
//   m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2)
//   w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
// `vhat` non-null selects AMSGrad (vhat = max(vhat, v) replaces v). `step` is t >= 1.
void adam_update(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float lr,
                 float beta_1, float beta_2, float epsilon, int64_t step,
                 const OptimizerCommon& common = {});

// Adam on an embedding table whose gradient is zero except the rows ids[k] (distinct, in
// any order), which take g_rows[k] with v updated by the per-token sums of squares
// sq_rows[k] (Keras's rule for row-sliced gradients): w, m, v are (vocab, dim); every row
// is updated (the moments of untouched rows decay as with a dense zero gradient), without
// reading a dense gradient. No AMSGrad, scaling or clipping; decay as in adam_update.
void adam_update_token_rows(float* w, float* m, float* v, int64_t vocab, int64_t dim,
                            const int64_t* ids, int64_t n_ids, const float* g_rows,
                            const float* sq_rows, float lr, float beta_1, float beta_2,
                            float epsilon, int64_t step, float decay);

// RMSprop: v = rho*v + (1-rho)*g^2; centered: a = rho*a + (1-rho)*g and the denominator is
// v - a^2 + eps, else v + eps; inc = lr*g/sqrt(denominator); with momentum m = mu*m + inc,
// w -= m; else w -= inc. `momentum_buf` (null iff momentum == 0) and `average_grad` (null
// iff not centered) are optional.
void rmsprop_update(float* w, const float* g, float* velocity, float* momentum_buf,
                    float* average_grad, int64_t n, float lr, float rho, float momentum,
                    float epsilon, const OptimizerCommon& common = {});

// Adagrad: acc += g^2; w -= lr*g/sqrt(acc + eps).
void adagrad_update(float* w, const float* g, float* accumulator, int64_t n, float lr,
                    float epsilon, const OptimizerCommon& common = {});

// Adadelta: Eg = rho*Eg + (1-rho)g^2; d = -sqrt(Edx+eps)/sqrt(Eg+eps)*g;
// Edx = rho*Edx + (1-rho)d^2; w += lr*d.
void adadelta_update(float* w, const float* g, float* accumulated_grad,
                     float* accumulated_delta, int64_t n, float lr, float rho, float epsilon,
                     const OptimizerCommon& common = {});

// Adamax: m += (g-m)(1-b1); u = max(b2*u, |g|); w -= lr*m/((1-b1^t)(u+eps)).
void adamax_update(float* w, const float* g, float* m, float* u, int64_t n, float lr,
                   float beta_1, float beta_2, float epsilon, int64_t step,
                   const OptimizerCommon& common = {});

// Nadam, given the momentum-schedule products the optimizer tracks:
//   mu_t = b1(1 - 0.5*0.96^t), mu_t1 = b1(1 - 0.5*0.96^(t+1)), u_product = prod_{i<=t} mu_i
//   m += (g-m)(1-b1); v += (g^2-v)(1-b2)
//   m_hat = mu_t1*m/(1 - u_product*mu_t1) + (1-mu_t)*g/(1 - u_product); v_hat = v/(1-b2^t)
//   w -= lr*m_hat/(sqrt(v_hat) + eps)
void nadam_update(float* w, const float* g, float* m, float* v, int64_t n, float lr,
                  float beta_1, float beta_2, float epsilon, int64_t step, double u_product,
                  const OptimizerCommon& common = {});

// FTRL-proximal as Keras (l2_total = l2 + beta/(2*lr)):
//   g2 = g + 2*l2_shrinkage*w; acc' = acc + g^2
//   lin += g2 - (acc'^(-p) - acc^(-p))/lr * w
//   w = (clip(lin, -l1, l1) - lin) / (acc'^(-p)/lr + 2*l2_total); acc = acc'
void ftrl_update(float* w, const float* g, float* accumulator, float* linear, int64_t n,
                 float lr, float learning_rate_power, float l1, float l2_total,
                 float l2_shrinkage, const OptimizerCommon& common = {});

// Lion: w -= lr*sign(b1*m + (1-b1)*g); m = b2*m + (1-b2)*g.
void lion_update(float* w, const float* g, float* m, int64_t n, float lr, float beta_1,
                 float beta_2, const OptimizerCommon& common = {});

// sum(x^2) accumulated in double (for clipnorm / global_clipnorm); same threads => same bits.
double sum_squares(const float* x, int64_t n);

// Exponential moving average of weights (use_ema): avg = mom*avg + (1-mom)*w.
void ema_update(float* average, const float* w, int64_t n, float momentum);

}  // namespace nnfast
