// Scalar reference activations: the definition every fast variant is tested against.
#include <cmath>

#include "kernels/activation/activation_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;

inline float sigmoid(float x) {
  // NOTE: split on sign so exp never overflows.
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.0f + e);
}
inline float softplus(float x) { return x > 0.0f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// Keras relu(x, negative_slope, max_value, threshold): the part above the threshold
// (clipped to [0, max_value] when a max is set) minus slope * the part below it.
inline float relu_forward(const ActivationParams& p, float x) {
  float pos = x > p.threshold ? x : 0.0f;
  if (!std::isinf(p.max_value)) pos = std::fmin(std::fmax(pos, 0.0f), p.max_value);
  float neg = p.threshold - x > 0.0f ? p.threshold - x : 0.0f;
  return pos - p.alpha * neg;
}
inline float relu_grad(const ActivationParams& p, float x) {
  float g = 0.0f;
  if (x > p.threshold) g = std::isinf(p.max_value) ? 1.0f : (x > 0.0f && x < p.max_value ? 1.0f : 0.0f);
  if (x < p.threshold) g += p.alpha;
  return g;
}

inline float forward_one(Activation act, const ActivationParams& p, float x) {
  switch (act) {
    case Activation::linear: return x;
    case Activation::relu: return relu_forward(p, x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::tanh: return std::tanh(x);
    case Activation::elu: return x > 0.0f ? x : p.alpha * std::expm1(x);
    case Activation::selu: return kSeluScale * (x > 0.0f ? x : kSeluAlpha * std::expm1(x));
    case Activation::softplus: return softplus(x);
    case Activation::softsign: return x / (1.0f + std::fabs(x));
    case Activation::swish: return x * sigmoid(x);
    // NOTE: 1 + erf(x/sqrt2) as erfc(-x/sqrt2), and 1 + tanh(u) as 2 sigmoid(2u): the same
    // functions without the cancellation on the negative tail.
    case Activation::gelu: return 0.5f * x * std::erfc(x * -0.7071067811865476f);
    case Activation::gelu_tanh:
      return x * sigmoid(2.0f * kSqrt2OverPi * (x + 0.044715f * x * x * x));
    case Activation::exponential: return std::exp(x);
    case Activation::hard_sigmoid: return std::fmin(std::fmax(x / 6.0f + 0.5f, 0.0f), 1.0f);
    case Activation::relu6: return std::fmin(std::fmax(x, 0.0f), 6.0f);
    case Activation::leaky_relu: return x > 0.0f ? x : p.alpha * x;
    case Activation::hard_silu: return x * std::fmin(std::fmax(x / 6.0f + 0.5f, 0.0f), 1.0f);
    case Activation::mish: return x * std::tanh(softplus(x));
  }
  return x;
}

inline float grad_one(Activation act, const ActivationParams& p, float x, float y) {
  switch (act) {
    case Activation::linear: return 1.0f;
    case Activation::relu: return relu_grad(p, x);
    case Activation::sigmoid: return y * (1.0f - y);
    case Activation::tanh: return 1.0f - y * y;
    case Activation::elu: return x > 0.0f ? 1.0f : y + p.alpha;
    case Activation::selu: return x > 0.0f ? kSeluScale : y + kSeluScale * kSeluAlpha;
    case Activation::softplus: return sigmoid(x);
    case Activation::softsign: {
      float d = 1.0f + std::fabs(x);
      return 1.0f / (d * d);
    }
    case Activation::swish: {
      float s = sigmoid(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case Activation::gelu: {
      float cdf = 0.5f * std::erfc(x * -0.7071067811865476f);
      float pdf = 0.3989422804014327f * std::exp(-0.5f * x * x);
      return cdf + x * pdf;
    }
    case Activation::gelu_tanh: {
      // s = sigmoid(2u): 1 + tanh u = 2s, 1 - tanh^2 u = 4 s (1 - s).
      float s = sigmoid(2.0f * kSqrt2OverPi * (x + 0.044715f * x * x * x));
      float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
      return s + 2.0f * x * s * (1.0f - s) * du;
    }
    case Activation::exponential: return y;
    case Activation::hard_sigmoid: return (x > -3.0f && x < 3.0f) ? 1.0f / 6.0f : 0.0f;
    case Activation::relu6: return (x > 0.0f && x < 6.0f) ? 1.0f : 0.0f;
    case Activation::leaky_relu: return x > 0.0f ? 1.0f : p.alpha;
    case Activation::hard_silu: {
      if (x <= -3.0f) return 0.0f;
      if (x >= 3.0f) return 1.0f;
      return x / 3.0f + 0.5f;
    }
    case Activation::mish: {
      float sp = softplus(x);
      float t = std::tanh(sp);
      return t + x * (1.0f - t * t) * sigmoid(x);
    }
  }
  return 1.0f;
}

// Gradient from the output alone, for activations where that is exact.
inline float grad_from_output(Activation act, const ActivationParams& p, float y) {
  switch (act) {
    case Activation::linear: return 1.0f;
    case Activation::relu: return (y > 0.0f && y < p.max_value) ? 1.0f : 0.0f;
    case Activation::sigmoid: return y * (1.0f - y);
    case Activation::tanh: return 1.0f - y * y;
    case Activation::elu: return y > 0.0f ? 1.0f : y + p.alpha;
    case Activation::selu: return y > 0.0f ? kSeluScale : y + kSeluScale * kSeluAlpha;
    case Activation::exponential: return y;
    case Activation::relu6: return (y > 0.0f && y < 6.0f) ? 1.0f : 0.0f;
    default: return 0.0f;
  }
}

}  // namespace

void f32_activation_forward_ref(Activation act, const ActivationParams& p, const float* src,
                                float* dst, int64_t n) {
  if (act == Activation::linear) {
    if (src != dst)
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  if (act == Activation::relu && p.alpha == 0.0f && p.threshold == 0.0f &&
      std::isinf(p.max_value)) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] > 0.0f ? src[i] : 0.0f;
    return;
  }
  // ReLU capped at max_value (ReLU6 in MobileNetV2 runs on every block): a branch-free loop
  // the compiler vectorizes; NaN goes to 0 as in relu_forward.
  const bool clamp = act == Activation::relu6 ||
                     (act == Activation::relu && p.alpha == 0.0f && p.threshold == 0.0f);
  if (clamp) {
    const float cap = act == Activation::relu6 ? 6.0f : p.max_value;
    for (int64_t i = 0; i < n; ++i) {
      const float pos = src[i] > 0.0f ? src[i] : 0.0f;
      dst[i] = pos < cap ? pos : cap;
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = forward_one(act, p, src[i]);
}

void f32_activation_backward_ref(Activation act, const ActivationParams& p, const float* src,
                                 const float* dst, const float* ddst, float* dsrc, int64_t n) {
  if (src == nullptr) {
    for (int64_t i = 0; i < n; ++i) dsrc[i] = ddst[i] * grad_from_output(act, p, dst[i]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dsrc[i] = ddst[i] * grad_one(act, p, src[i], dst ? dst[i] : forward_one(act, p, src[i]));
}

}  // namespace nnfast::kernels
