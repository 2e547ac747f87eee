// Device versions of the scalar activation definitions in
// cpp/src/kernels/activation/activation_ref.cpp (same formulas, same branches), shared by the
// elementwise kernels and the GEMM / convolution epilogues.
#pragma once
#include <cuda_runtime.h>

#include "nnfast/activation.h"

namespace nnfast::cuda::detail {

// A plain copy of (Activation, ActivationParams) that kernels take by value.
struct ActParams {
  int act;
  float alpha, max_value, threshold;
};

inline ActParams act_params(Activation act, const ActivationParams& p) {
  return ActParams{static_cast<int>(act), p.alpha, p.max_value, p.threshold};
}

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
constexpr float kSqrt2OverPi = 0.7978845608028654f;

__device__ __forceinline__ float d_sigmoid(float x) {
  // Split on sign so exp never overflows.
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}
__device__ __forceinline__ float d_softplus(float x) {
  return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}
__device__ __forceinline__ float d_hard_sigmoid(float x) {
  return fminf(fmaxf(x / 6.0f + 0.5f, 0.0f), 1.0f);
}

__device__ __forceinline__ float relu_forward(const ActParams& p, float x) {
  float pos = x > p.threshold ? x : 0.0f;
  if (!isinf(p.max_value)) pos = fminf(fmaxf(pos, 0.0f), p.max_value);
  const float neg = p.threshold - x > 0.0f ? p.threshold - x : 0.0f;
  return pos - p.alpha * neg;
}
__device__ __forceinline__ float relu_grad(const ActParams& p, float x) {
  float g = 0.0f;
  if (x > p.threshold)
    g = isinf(p.max_value) ? 1.0f : (x > 0.0f && x < p.max_value ? 1.0f : 0.0f);
  if (x < p.threshold) g += p.alpha;
  return g;
}

__device__ __forceinline__ float act_forward(const ActParams& p, float x) {
  switch (static_cast<Activation>(p.act)) {
    case Activation::linear: return x;
    case Activation::relu: return relu_forward(p, x);
    case Activation::sigmoid: return d_sigmoid(x);
    case Activation::tanh: return tanhf(x);
    case Activation::elu: return x > 0.0f ? x : p.alpha * expm1f(x);
    case Activation::selu: return kSeluScale * (x > 0.0f ? x : kSeluAlpha * expm1f(x));
    case Activation::softplus: return d_softplus(x);
    case Activation::softsign: return x / (1.0f + fabsf(x));
    case Activation::swish: return x * d_sigmoid(x);
    case Activation::gelu: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case Activation::gelu_tanh:
      return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    case Activation::exponential: return expf(x);
    case Activation::hard_sigmoid: return d_hard_sigmoid(x);
    case Activation::relu6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case Activation::leaky_relu: return x > 0.0f ? x : p.alpha * x;
    case Activation::hard_silu: return x * d_hard_sigmoid(x);
    case Activation::mish: return x * tanhf(d_softplus(x));
  }
  return x;
}

// f'(x), given the input x and the output y = f(x).
__device__ __forceinline__ float act_grad(const ActParams& p, float x, float y) {
  switch (static_cast<Activation>(p.act)) {
    case Activation::linear: return 1.0f;
    case Activation::relu: return relu_grad(p, x);
    case Activation::sigmoid: return y * (1.0f - y);
    case Activation::tanh: return 1.0f - y * y;
    case Activation::elu: return x > 0.0f ? 1.0f : y + p.alpha;
    case Activation::selu: return x > 0.0f ? kSeluScale : y + kSeluScale * kSeluAlpha;
    case Activation::softplus: return d_sigmoid(x);
    case Activation::softsign: {
      const float d = 1.0f + fabsf(x);
      return 1.0f / (d * d);
    }
    case Activation::swish: {
      const float s = d_sigmoid(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case Activation::gelu: {
      const float cdf = 0.5f * (1.0f + erff(x * 0.7071067811865476f));
      const float pdf = 0.3989422804014327f * expf(-0.5f * x * x);
      return cdf + x * pdf;
    }
    case Activation::gelu_tanh: {
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      const float t = tanhf(u);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
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
      const float t = tanhf(d_softplus(x));
      return t + x * (1.0f - t * t) * d_sigmoid(x);
    }
  }
  return 1.0f;
}

// f'(x) from the output alone, for the activations where that is exact
// (activation_needs_input() is false).
__device__ __forceinline__ float act_grad_from_output(const ActParams& p, float y) {
  switch (static_cast<Activation>(p.act)) {
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

}  // namespace nnfast::cuda::detail
