// Shared by the .cu files: status checks, launch checks, grid sizing, block reductions.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "nnfast/activation.h"

namespace nnfast::cuda::detail {

// Throws std::runtime_error("CUDA error in <call>: <message>") for any status but success.
void throw_cuda_error(cudaError_t status, const char* call);
// After a launch: cudaGetLastError, and with NNFAST_CUDA_SYNC=1 also a synchronize, so that a
// fault is reported against the kernel that caused it.
void check_launch(const char* kernel);
// Index check done on the device: the position of the first id outside [0, limit) (or -1), and
// the id found there. Waits for the device.
struct BadIndex {
  int64_t position = -1;
  int64_t value = 0;
};
BadIndex first_bad_index(const int64_t* ids, int64_t n, int64_t limit);
// x[r, j] = act(scale[j] * x[r, j] + bias[j] + residual[r, j]) for j < cols, rows r of a
// buffer with row stride ld (residual: stride ldr); null pointers drop their term.
void epilogue_rows(float* x, int64_t rows, int64_t cols, int64_t ld, const float* scale,
                   const float* bias, const float* residual, int64_t ldr, Activation act,
                   const ActivationParams& p);

}  // namespace nnfast::cuda::detail

#define NNFAST_CUDA_CHECK(call)                                                    \
  do {                                                                             \
    cudaError_t nnfast_status_ = (call);                                           \
    if (nnfast_status_ != cudaSuccess)                                             \
      ::nnfast::cuda::detail::throw_cuda_error(nnfast_status_, #call);             \
  } while (0)

#define NNFAST_CUDA_CHECK_LAUNCH(name) ::nnfast::cuda::detail::check_launch(name)

namespace nnfast::cuda::detail {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements: enough to fill any current GPU, never more
// than the grid allows.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = 65536;  // grid-stride loops cover the rest
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

// Rows handled one block per row need gridDim.x <= 2^31 - 1.
inline void check_rows(int64_t rows, const char* who) {
  if (rows > 2147483647LL)
    throw std::invalid_argument(std::string(who) + ": too many rows for one launch (" +
                                std::to_string(rows) + ")");
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Block-wide sum / max; every thread gets the result. blockDim.x must be a multiple of 32 and
// at most 1024. `scratch` holds 32 floats in shared memory; the trailing __syncthreads lets the
// caller reuse it for the next reduction.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = lane < warps ? scratch[lane] : 0.0f;
  total = warp_sum(total);
  __syncthreads();
  return total;
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float best = lane < warps ? scratch[lane] : -INFINITY;
  best = warp_max(best);
  __syncthreads();
  return best;
}

}  // namespace nnfast::cuda::detail
