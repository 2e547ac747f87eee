// Elementwise activations and their gradients (grid-stride loops), and the bias+activation
// pass that follows a cuBLAS GEMM.
#include "activation.cuh"
#include "common.cuh"
#include "nnfast/cuda/kernels.h"

namespace nnfast::cuda {
namespace {

using detail::ActParams;

__global__ void activation_forward_kernel(ActParams p, const float* __restrict__ src,
                                          float* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = detail::act_forward(p, src[i]);
}

// src may be null (gradient from the output), dst may be null (recomputed from src).
// NOTE: no __restrict__: dsrc may alias ddst, as on the CPU.
__global__ void activation_backward_kernel(ActParams p, const float* src, const float* dst,
                                           const float* ddst, float* dsrc, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float g;
    if (src == nullptr) {
      g = detail::act_grad_from_output(p, dst[i]);
    } else {
      const float x = src[i];
      g = detail::act_grad(p, x, dst != nullptr ? dst[i] : detail::act_forward(p, x));
    }
    dsrc[i] = ddst[i] * g;
  }
}

__global__ void epilogue_rows_kernel(ActParams p, float* x, int64_t rows, int64_t cols,
                                     int64_t ld, const float* __restrict__ scale,
                                     const float* __restrict__ bias,
                                     const float* __restrict__ residual, int64_t ldr) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i - r * cols;
    float v = x[r * ld + c];
    if (scale != nullptr) v *= scale[c];
    if (bias != nullptr) v += bias[c];
    if (residual != nullptr) v += residual[r * ldr + c];
    x[r * ld + c] = detail::act_forward(p, v);
  }
}

void check_length(int64_t n, const char* who) {
  if (n < 0) throw std::invalid_argument(std::string(who) + ": negative length " + std::to_string(n));
}

}  // namespace

void activation_forward(Activation act, const ActivationParams& p, const float* src, float* dst,
                        int64_t n) {
  check_length(n, "activation_forward");
  if (n == 0) return;
  activation_forward_kernel<<<detail::grid_for(n), detail::kThreads>>>(detail::act_params(act, p),
                                                                       src, dst, n);
  NNFAST_CUDA_CHECK_LAUNCH("activation_forward_kernel");
}

void activation_backward(Activation act, const ActivationParams& p, const float* src,
                         const float* dst, const float* ddst, float* dsrc, int64_t n) {
  check_length(n, "activation_backward");
  if (src == nullptr && activation_needs_input(act, p))
    throw std::invalid_argument("activation_backward: this activation needs its input");
  if (src == nullptr && dst == nullptr)
    throw std::invalid_argument("activation_backward: needs the input or the output");
  if (n == 0) return;
  activation_backward_kernel<<<detail::grid_for(n), detail::kThreads>>>(
      detail::act_params(act, p), src, dst, ddst, dsrc, n);
  NNFAST_CUDA_CHECK_LAUNCH("activation_backward_kernel");
}

void bias_activation_inplace(float* x, int64_t rows, int64_t cols, const float* bias,
                             Activation act, const ActivationParams& p) {
  detail::epilogue_rows(x, rows, cols, cols, nullptr, bias, nullptr, 0, act, p);
}

namespace detail {
void epilogue_rows(float* x, int64_t rows, int64_t cols, int64_t ld, const float* scale,
                   const float* bias, const float* residual, int64_t ldr, Activation act,
                   const ActivationParams& p) {
  if (rows < 0 || cols < 0 || ld < cols || (residual != nullptr && ldr < cols))
    throw std::invalid_argument("epilogue: bad shape (" + std::to_string(rows) + ", " +
                                std::to_string(cols) + ") with row strides " +
                                std::to_string(ld) + ", " + std::to_string(ldr));
  if (rows == 0 || cols == 0) return;
  if (scale == nullptr && bias == nullptr && residual == nullptr && act == Activation::linear)
    return;
  epilogue_rows_kernel<<<grid_for(rows * cols), kThreads>>>(act_params(act, p), x, rows, cols,
                                                            ld, scale, bias, residual, ldr);
  NNFAST_CUDA_CHECK_LAUNCH("epilogue_rows_kernel");
}
}  // namespace detail

}  // namespace nnfast::cuda
