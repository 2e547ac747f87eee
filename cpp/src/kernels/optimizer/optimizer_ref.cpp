#include <cmath>
#include <stdexcept>
#include <string>

#include "nnfast/optimizer.h"
#include "ops/parallel.h"

namespace nnfast {

constexpr int64_t kGrain = 1 << 15;

void sgd_update(float* w, const float* g, float* m, int64_t n, float lr, float momentum,
                bool nesterov) {
  if (momentum != 0.0f && m == nullptr)
    throw std::invalid_argument("sgd_update: momentum > 0 needs a momentum buffer");
  parallel_for_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    if (momentum == 0.0f) {
      for (int64_t i = b; i < e; ++i) w[i] -= lr * g[i];
    } else if (nesterov) {
      for (int64_t i = b; i < e; ++i) {
        m[i] = momentum * m[i] - lr * g[i];
        w[i] += momentum * m[i] - lr * g[i];
      }
    } else {
      for (int64_t i = b; i < e; ++i) {
        m[i] = momentum * m[i] - lr * g[i];
        w[i] += m[i];
      }
    }
  });
}

void adam_update(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float lr,
                 float beta_1, float beta_2, float epsilon, int64_t step) {
  if (step < 1) throw std::invalid_argument("adam_update: step must be >= 1, got " + std::to_string(step));
  const double t = static_cast<double>(step);
  const float alpha = static_cast<float>(lr * std::sqrt(1.0 - std::pow(double(beta_2), t)) /
                                         (1.0 - std::pow(double(beta_1), t)));
  const float one_b1 = 1.0f - beta_1, one_b2 = 1.0f - beta_2;
  parallel_for_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      m[i] += (g[i] - m[i]) * one_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_b2;
      float denom_v = v[i];
      if (vhat) {
        vhat[i] = vhat[i] > v[i] ? vhat[i] : v[i];
        denom_v = vhat[i];
      }
      w[i] -= alpha * m[i] / (std::sqrt(denom_v) + epsilon);
    }
  });
}

}  // namespace nnfast
