// Fused optimizer updates on the device: the loops of
// cpp/src/kernels/optimizer/optimizer_impl.h, one thread per element, with the per-step
// scalars computed on the host in double exactly as cpp/src/ops/optimizer.cpp does.
#include <cmath>

#include "common.cuh"
#include "nnfast/cuda/kernels.h"

namespace nnfast::cuda {
namespace {

struct Common {
  float grad_scale, clip_lo, clip_hi, decay;
};

// Clipping (scale, then clamp) keeps NaN as NaN: both comparisons are false for NaN.
__device__ __forceinline__ float prep_grad(float g, const Common& c) {
  g *= c.grad_scale;
  g = g < c.clip_lo ? c.clip_lo : g;
  return g > c.clip_hi ? c.clip_hi : g;
}
// Keras's decoupled weight decay: w - w * (wd * lr).
__device__ __forceinline__ float decayed(float w, float decay) { return w - w * decay; }

#define NNFAST_FOR_EACH(i, n)                                                                \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void sgd_kernel(float* w, const float* g, float* m, int64_t n, float lr, float mu,
                           bool nesterov, Common c) {
  NNFAST_FOR_EACH(i, n) {
    const float gi = prep_grad(g[i], c);
    if (m == nullptr) {
      w[i] = decayed(w[i], c.decay) - lr * gi;
    } else if (nesterov) {
      const float mi = mu * m[i] - lr * gi;
      m[i] = mi;
      w[i] = decayed(w[i], c.decay) + (mu * mi - lr * gi);
    } else {
      const float mi = mu * m[i] - lr * gi;
      m[i] = mi;
      w[i] = decayed(w[i], c.decay) + mi;
    }
  }
}

__global__ void adam_kernel(float* w, const float* g, float* m, float* v, float* vh, int64_t n,
                            float alpha, float k1, float k2, float eps, Common c) {
  NNFAST_FOR_EACH(i, n) {
    const float gi = prep_grad(g[i], c);
    const float mi = m[i] + (gi - m[i]) * k1;
    const float vi = v[i] + (gi * gi - v[i]) * k2;
    m[i] = mi;
    v[i] = vi;
    float denom_v = vi;
    if (vh != nullptr) {  // AMSGrad
      denom_v = vh[i] > vi ? vh[i] : vi;
      vh[i] = denom_v;
    }
    w[i] = decayed(w[i], c.decay) - (mi * alpha) / (sqrtf(denom_v) + eps);
  }
}

__global__ void rmsprop_kernel(float* w, const float* g, float* v, float* mom, float* avg,
                               int64_t n, float lr, float rho, float k, float mu, float eps,
                               Common c) {
  NNFAST_FOR_EACH(i, n) {
    const float gi = prep_grad(g[i], c);
    const float vi = rho * v[i] + k * (gi * gi);
    v[i] = vi;
    float denom = vi + eps;
    if (avg != nullptr) {  // centered
      const float ai = rho * avg[i] + k * gi;
      avg[i] = ai;
      denom = vi - ai * ai + eps;
    }
    const float inc = (lr * gi) / sqrtf(denom);
    if (mom != nullptr) {
      const float mi = mu * mom[i] + inc;
      mom[i] = mi;
      w[i] = decayed(w[i], c.decay) - mi;
    } else {
      w[i] = decayed(w[i], c.decay) - inc;
    }
  }
}

__global__ void adagrad_kernel(float* w, const float* g, float* acc, int64_t n, float lr,
                               float eps, Common c) {
  NNFAST_FOR_EACH(i, n) {
    const float gi = prep_grad(g[i], c);
    const float ai = acc[i] + gi * gi;
    acc[i] = ai;
    w[i] = decayed(w[i], c.decay) - (lr * gi) / sqrtf(ai + eps);
  }
}

__global__ void lion_kernel(float* w, const float* g, float* m, int64_t n, float lr, float b1,
                            float k1, float b2, float k2, Common c) {
  NNFAST_FOR_EACH(i, n) {
    const float gi = prep_grad(g[i], c);
    const float d = m[i] * b1 + gi * k1;
    const float s = (d > 0.0f ? 1.0f : 0.0f) - (d < 0.0f ? 1.0f : 0.0f);
    w[i] = decayed(w[i], c.decay) - lr * s;
    m[i] = m[i] * b2 + gi * k2;
  }
}

#undef NNFAST_FOR_EACH

Common common_args(const OptimizerCommon& c) {
  if (!(c.clip_lo <= c.clip_hi))
    throw std::invalid_argument("optimizer update: clip bounds must satisfy lo <= hi, got [" +
                                std::to_string(c.clip_lo) + ", " + std::to_string(c.clip_hi) + "]");
  return Common{c.grad_scale, c.clip_lo, c.clip_hi, c.decay};
}

void check(const char* who, int64_t n, const void* w, const void* g) {
  if (n < 0) throw std::invalid_argument(std::string(who) + ": negative size " + std::to_string(n));
  if (n > 0 && (w == nullptr || g == nullptr))
    throw std::invalid_argument(std::string(who) + ": variable and gradient must not be null");
}

void need(const char* who, const void* p, const char* what) {
  if (p == nullptr) throw std::invalid_argument(std::string(who) + ": missing slot '" + what + "'");
}

void check_step(const char* who, int64_t step) {
  if (step < 1)
    throw std::invalid_argument(std::string(who) + ": step must be >= 1, got " + std::to_string(step));
}

}  // namespace

void sgd_update(float* w, const float* g, float* momentum_buf, int64_t n, float lr,
                float momentum, bool nesterov, const OptimizerCommon& common) {
  check("sgd_update", n, w, g);
  if (momentum != 0.0f) need("sgd_update", momentum_buf, "momentum");
  const Common c = common_args(common);
  if (n == 0) return;
  sgd_kernel<<<detail::grid_for(n), detail::kThreads>>>(
      w, g, momentum != 0.0f ? momentum_buf : nullptr, n, lr, momentum, nesterov, c);
  NNFAST_CUDA_CHECK_LAUNCH("sgd_kernel");
}

void adam_update(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float lr,
                 float beta_1, float beta_2, float epsilon, int64_t step,
                 const OptimizerCommon& common) {
  check("adam_update", n, w, g);
  check_step("adam_update", step);
  need("adam_update", m, "momentum");
  need("adam_update", v, "velocity");
  const Common c = common_args(common);
  if (n == 0) return;
  const double t = static_cast<double>(step);
  const double alpha = double(lr) * std::sqrt(1.0 - std::pow(double(beta_2), t)) /
                       (1.0 - std::pow(double(beta_1), t));
  adam_kernel<<<detail::grid_for(n), detail::kThreads>>>(w, g, m, v, vhat, n,
                                                         static_cast<float>(alpha), 1.0f - beta_1,
                                                         1.0f - beta_2, epsilon, c);
  NNFAST_CUDA_CHECK_LAUNCH("adam_kernel");
}

void rmsprop_update(float* w, const float* g, float* velocity, float* momentum_buf,
                    float* average_grad, int64_t n, float lr, float rho, float momentum,
                    float epsilon, const OptimizerCommon& common) {
  check("rmsprop_update", n, w, g);
  need("rmsprop_update", velocity, "velocity");
  if (momentum > 0.0f) need("rmsprop_update", momentum_buf, "momentum");
  const Common c = common_args(common);
  if (n == 0) return;
  rmsprop_kernel<<<detail::grid_for(n), detail::kThreads>>>(
      w, g, velocity, momentum > 0.0f ? momentum_buf : nullptr, average_grad, n, lr, rho,
      1.0f - rho, momentum, epsilon, c);
  NNFAST_CUDA_CHECK_LAUNCH("rmsprop_kernel");
}

void adagrad_update(float* w, const float* g, float* accumulator, int64_t n, float lr,
                    float epsilon, const OptimizerCommon& common) {
  check("adagrad_update", n, w, g);
  need("adagrad_update", accumulator, "accumulator");
  const Common c = common_args(common);
  if (n == 0) return;
  adagrad_kernel<<<detail::grid_for(n), detail::kThreads>>>(w, g, accumulator, n, lr, epsilon, c);
  NNFAST_CUDA_CHECK_LAUNCH("adagrad_kernel");
}

void lion_update(float* w, const float* g, float* m, int64_t n, float lr, float beta_1,
                 float beta_2, const OptimizerCommon& common) {
  check("lion_update", n, w, g);
  need("lion_update", m, "momentum");
  const Common c = common_args(common);
  if (n == 0) return;
  lion_kernel<<<detail::grid_for(n), detail::kThreads>>>(w, g, m, n, lr, beta_1, 1.0f - beta_1,
                                                         beta_2, 1.0f - beta_2, c);
  NNFAST_CUDA_CHECK_LAUNCH("lion_kernel");
}

}  // namespace nnfast::cuda
