// Scalar reference loss kernels: the definition every fast variant is tested against.
#include <math.h>

#include "kernels/loss/loss_kernels.h"

namespace nnfast::kernels {
namespace {

inline float target_at(const float* target, const int64_t* labels, int64_t i, int64_t j,
                       int64_t cols) {
  return target ? target[i * cols + j] : (labels[i] == j ? 1.0f : 0.0f);
}

inline float log_sigmoid(float x) {
  return x >= 0.0f ? -log1pf(expf(-x)) : x - log1pf(expf(x));
}
inline float sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

void softmax_ce_forward(const float* logits, const float* target, const int64_t* labels,
                        int64_t rows, int64_t cols, float* probs, float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * cols;
    float* p = probs + i * cols;
    float mx = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) mx = z[j] > mx ? z[j] : mx;
    float sum = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      p[j] = expf(z[j] - mx);
      sum += p[j];
    }
    const float lse = mx + logf(sum);
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < cols; ++j) p[j] *= inv;
    float l = 0.0f;
    if (labels) {
      l = lse - z[labels[i]];
    } else {
      const float* y = target + i * cols;
      for (int64_t j = 0; j < cols; ++j) l += y[j] * (lse - z[j]);
    }
    loss[i] = l;
  }
}

void softmax_ce_backward(const float* probs, const float* target, const int64_t* labels,
                         const float* drow, int64_t rows, int64_t cols, float* dlogits) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = probs + i * cols;
    float* d = dlogits + i * cols;
    const float g = drow[i];
    if (labels) {
      for (int64_t j = 0; j < cols; ++j) d[j] = g * p[j];
      d[labels[i]] -= g;
    } else {
      // Soft targets need not sum to one: d/dz of sum(y*(lse - z)) is p*sum(y) - y.
      const float* y = target + i * cols;
      float ysum = 0.0f;
      for (int64_t j = 0; j < cols; ++j) ysum += y[j];
      for (int64_t j = 0; j < cols; ++j) d[j] = g * (p[j] * ysum - y[j]);
    }
  }
}

void categorical_ce_forward(const float* probs, const float* target, const int64_t* labels,
                            int64_t rows, int64_t cols, float eps, float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = probs + i * cols;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) s += p[j];
    float l = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      const float y = target_at(target, labels, i, j, cols);
      if (y == 0.0f) continue;
      float q = p[j] / s;
      q = fminf(fmaxf(q, eps), 1.0f - eps);
      l -= y * logf(q);
    }
    loss[i] = l;
  }
}

void categorical_ce_backward(const float* probs, const float* target, const int64_t* labels,
                             const float* drow, int64_t rows, int64_t cols, float eps,
                             float* dprobs) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = probs + i * cols;
    float* d = dprobs + i * cols;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) s += p[j];
    // dL/dq_j = -y_j / q_j where q = p / s is not clipped; then through q = p / s:
    // dL/dp_i = (dL/dq_i - sum_j dL/dq_j q_j) / s.
    float dot = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      const float y = target_at(target, labels, i, j, cols);
      const float q = p[j] / s;
      const float dq = (y != 0.0f && q > eps && q < 1.0f - eps) ? -y / q : 0.0f;
      d[j] = dq;
      dot += dq * q;
    }
    const float g = drow[i] / s;
    for (int64_t j = 0; j < cols; ++j) d[j] = g * (d[j] - dot);
  }
}

void binary_ce_forward(const float* pred, const float* target, int64_t rows, int64_t cols,
                       bool from_logits, float eps, float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = pred + i * cols;
    const float* y = target + i * cols;
    float l = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      if (from_logits) {
        l -= y[j] * log_sigmoid(p[j]) + (1.0f - y[j]) * log_sigmoid(-p[j]);
      } else {
        const float q = fminf(fmaxf(p[j], eps), 1.0f - eps);
        l -= y[j] * logf(q) + (1.0f - y[j]) * logf(1.0f - q);
      }
    }
    loss[i] = l / static_cast<float>(cols);
  }
}

void binary_ce_backward(const float* pred, const float* target, const float* drow, int64_t rows,
                        int64_t cols, bool from_logits, float eps, float* dpred) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = pred + i * cols;
    const float* y = target + i * cols;
    float* d = dpred + i * cols;
    const float g = drow[i] / static_cast<float>(cols);
    for (int64_t j = 0; j < cols; ++j) {
      if (from_logits) {
        d[j] = g * (sigmoid(p[j]) - y[j]);
      } else {
        const bool inside = p[j] > eps && p[j] < 1.0f - eps;
        d[j] = inside ? g * (p[j] - y[j]) / (p[j] * (1.0f - p[j])) : 0.0f;
      }
    }
  }
}

void mse_forward(const float* pred, const float* target, int64_t rows, int64_t cols,
                 float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    float l = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      const float e = pred[i * cols + j] - target[i * cols + j];
      l += e * e;
    }
    loss[i] = l / static_cast<float>(cols);
  }
}

void mse_backward(const float* pred, const float* target, const float* drow, int64_t rows,
                  int64_t cols, float* dpred) {
  for (int64_t i = 0; i < rows; ++i) {
    const float g = 2.0f * drow[i] / static_cast<float>(cols);
    for (int64_t j = 0; j < cols; ++j)
      dpred[i * cols + j] = g * (pred[i * cols + j] - target[i * cols + j]);
  }
}

void mae_forward(const float* pred, const float* target, int64_t rows, int64_t cols,
                 float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    float l = 0.0f;
    for (int64_t j = 0; j < cols; ++j) l += fabsf(pred[i * cols + j] - target[i * cols + j]);
    loss[i] = l / static_cast<float>(cols);
  }
}

void mae_backward(const float* pred, const float* target, const float* drow, int64_t rows,
                  int64_t cols, float* dpred) {
  for (int64_t i = 0; i < rows; ++i) {
    const float g = drow[i] / static_cast<float>(cols);
    for (int64_t j = 0; j < cols; ++j) {
      const float e = pred[i * cols + j] - target[i * cols + j];
      dpred[i * cols + j] = e > 0.0f ? g : (e < 0.0f ? -g : 0.0f);
    }
  }
}

}  // namespace

const LossKernels f32_loss_ref = {
    softmax_ce_forward, softmax_ce_backward, categorical_ce_forward, categorical_ce_backward,
    binary_ce_forward,  binary_ce_backward,  mse_forward,            mse_backward,
    mae_forward,        mae_backward};

}  // namespace nnfast::kernels
