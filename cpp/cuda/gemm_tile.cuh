// The shared-memory tiled, register-blocked SGEMM kernel, written once and fed by "loaders"
// that say where element (row, k) of op(A) and (k, col) of op(B) live. Plain GEMM (gemm.cu)
// uses strided row-major loaders; convolution (conv.cu) uses an implicit-im2col loader.
//
// Tile: 128 x 128 of C per block of 256 threads, depth 8 per step; each thread accumulates an
// 8 x 8 sub-tile in registers, as two 4-row and two 4-column halves 64 apart
// (rows ty*4 + {0..3} and 64 + ty*4 + {0..3}), so that the float4 reads of a quarter warp from
// shared memory are contiguous and conflict-free. Every global read is bounds-checked, so any
// M, N, K (odd, 1, 0) and any row stride work; out-of-range elements read as zero.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "activation.cuh"
#include "common.cuh"

namespace nnfast::cuda::detail {

constexpr int kTileM = 128, kTileN = 128, kTileK = 8, kTileThreads = 256;
constexpr int kTilePad = 4;  // keeps column-wise stores into shared memory conflict-free

// With j = col_offset + col, as nnfast::sgemm's epilogue:
//   C[row, j] = act(scale[j] * (alpha * acc + beta * C[row, j]) + bias[j] + residual[row, j])
// where a null scale / bias / residual drops its term. beta == 0: C is not read (it may hold
// NaN). residual has row stride ldr.
struct TileEpilogue {
  float alpha = 1.0f, beta = 0.0f;
  const float* bias = nullptr;
  const float* scale = nullptr;
  const float* residual = nullptr;
  int64_t ldr = 0;
  ActParams act{0, 0.0f, 0.0f, 0.0f};
  float* c = nullptr;
  int64_t ldc = 0;
};

// Grid: x = M tiles, y = N tiles, z = groups (the loaders and the column offset take the group).
// Loaders: `a(row, k, group)`, `b(col, k, group)` return the element; `kFastest` says whether
// consecutive k are adjacent in memory (then threads walk k first, else rows / columns).
template <class LoadA, class LoadB>
__global__ void __launch_bounds__(kTileThreads, 2)
    tiled_sgemm_kernel(int64_t M, int64_t N, int64_t K, LoadA load_a, LoadB load_b,
                       TileEpilogue ep) {
  __shared__ __align__(16) float As[kTileK][kTileM + kTilePad];
  __shared__ __align__(16) float Bs[kTileK][kTileN + kTilePad];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kTileM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kTileN;
  const int group = blockIdx.z;

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
    // 128 x 8 elements of each operand, 4 per thread.
#pragma unroll
    for (int i = 0; i < (kTileM * kTileK) / kTileThreads; ++i) {
      const int idx = tid + i * kTileThreads;
      const int kk = LoadA::kFastest ? idx % kTileK : idx / kTileM;
      const int mm = LoadA::kFastest ? idx / kTileK : idx % kTileM;
      const int64_t gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < M && gk < K) ? load_a(gm, gk, group) : 0.0f;
    }
#pragma unroll
    for (int i = 0; i < (kTileN * kTileK) / kTileThreads; ++i) {
      const int idx = tid + i * kTileThreads;
      const int kk = LoadB::kFastest ? idx % kTileK : idx / kTileN;
      const int nn = LoadB::kFastest ? idx / kTileK : idx % kTileN;
      const int64_t gn = n0 + nn, gk = k0 + kk;
      Bs[kk][nn] = (gn < N && gk < K) ? load_b(gn, gk, group) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      const float4 a_lo = *reinterpret_cast<const float4*>(&As[kk][ty * 4]);
      const float4 a_hi = *reinterpret_cast<const float4*>(&As[kk][64 + ty * 4]);
      const float4 b_lo = *reinterpret_cast<const float4*>(&Bs[kk][tx * 4]);
      const float4 b_hi = *reinterpret_cast<const float4*>(&Bs[kk][64 + tx * 4]);
      const float a[8] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
      const float b[8] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }

  const int64_t col_offset = static_cast<int64_t>(group) * N;
  const bool has_act = ep.act.act != 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    if (row >= M) continue;
    float* c_row = ep.c + row * ep.ldc + col_offset;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int64_t col = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
      if (col >= N) continue;
      float v = ep.alpha * acc[i][j];
      if (ep.beta != 0.0f) v += ep.beta * c_row[col];
      if (ep.scale != nullptr) v *= ep.scale[col_offset + col];
      if (ep.bias != nullptr) v += ep.bias[col_offset + col];
      if (ep.residual != nullptr) v += ep.residual[row * ep.ldr + col_offset + col];
      if (has_act) v = act_forward(ep.act, v);
      c_row[col] = v;
    }
  }
}

// Launches the kernel for C (M x N per group); checks the grid limits and the launch.
template <class LoadA, class LoadB>
void launch_tiled_sgemm(int64_t M, int64_t N, int64_t K, int64_t groups, const LoadA& a,
                        const LoadB& b, const TileEpilogue& ep, const char* name) {
  if (M <= 0 || N <= 0 || groups <= 0) return;
  const int64_t tiles_m = (M + kTileM - 1) / kTileM, tiles_n = (N + kTileN - 1) / kTileN;
  if (tiles_m > 2147483647LL || tiles_n > 65535 || groups > 65535)
    throw std::invalid_argument(std::string(name) + ": problem too large for one launch (M=" +
                                std::to_string(M) + ", N=" + std::to_string(N) +
                                ", groups=" + std::to_string(groups) + ")");
  const dim3 grid(static_cast<unsigned>(tiles_m), static_cast<unsigned>(tiles_n),
                  static_cast<unsigned>(groups));
  tiled_sgemm_kernel<LoadA, LoadB><<<grid, kTileThreads>>>(M, N, K, a, b, ep);
  check_launch(name);
}

}  // namespace nnfast::cuda::detail
