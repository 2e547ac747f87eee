// How a GEMM's C is split across threads, shared by the fp32 and bf16 drivers: one block per
// thread along n (each thread packs its own B columns and all of A) or along m (its own A
// rows, all of B), in whole register tiles. Every element sees the same depth blocking
// whatever the split, so results do not depend on the thread count.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/gemm/gemm_kernels.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"

namespace nnfast {

// The fp32 micro-kernel the "gemm" registry selects now (shared with the convolution drivers
// that run it on their own packed panels).
const kernels::GemmKernelInfo& sgemm_micro_kernel();

// NOTE: below this many flops per thread a second thread costs more (fork/join, duplicated
// packing) than it saves ...
constexpr double kGemmMinFlopsPerThread = 1.5e6;
// ... unless B is this large: then the multiply waits on memory and two cores read faster.
constexpr double kGemmMinBytesPerThread = 1 << 20;

// Calls block(m0, m1, n0, n1) for each thread's block of the (m, n) output.
template <typename Block>
void for_each_gemm_block(int64_t m, int64_t n, int64_t k, int mr, int nr, Block&& block) {
  const int64_t tiles_m = (m + mr - 1) / mr;
  const int64_t tiles_n = (n + nr - 1) / nr;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  int64_t threads = std::min<int64_t>(num_threads(), std::max<int64_t>(1, tiles_m * tiles_n));
  // A few rows against a large B (batch-1 inference) is bound by reading B: split it anyway,
  // each thread streams its own columns.
  const double b_bytes = 4.0 * static_cast<double>(k) * static_cast<double>(n);
  threads = std::min<int64_t>(
      threads, std::max<int64_t>(1, static_cast<int64_t>(std::max(
                                        flops / kGemmMinFlopsPerThread,
                                        b_bytes / kGemmMinBytesPerThread))));
  if (threads <= 1) {
    block(0, m, 0, n);
    return;
  }
  const bool split_n = tiles_n >= threads && tiles_n >= tiles_m;
  const int64_t tiles = split_n ? tiles_n : tiles_m;
  const int64_t tile = split_n ? nr : mr;
  const int64_t extent = split_n ? n : m;
  threads = std::min(threads, tiles);
  parallel_for_chunks(threads, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t lo = std::min(extent, tiles * t / threads * tile);
      const int64_t hi = std::min(extent, tiles * (t + 1) / threads * tile);
      if (lo >= hi) continue;
      if (split_n)
        block(0, m, lo, hi);
      else
        block(lo, hi, 0, n);
    }
  });
}

}  // namespace nnfast
