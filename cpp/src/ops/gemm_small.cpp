// Broadcast matmul driver: checks the matrix indices, then runs each product on the small
// unpacked kernel (gemm_small registry) or, when it is large, on sgemm's packing driver.
#include "nnfast/gemm_small.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <tuple>

#include "kernels/gemm_small/gemm_small_kernels.h"
#include "nnfast/gemm.h"
#include "nnfast/runtime.h"
#include "ops/gemm_split.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

struct SmallGemmKernel {
  kernels::SmallGemmFn fn;
};

const SmallGemmKernel kSmallAvx512{&kernels::f32_gemm_small_avx512};
const SmallGemmKernel kSmallAvx2{&kernels::f32_gemm_small_avx2};
const SmallGemmKernel kSmallRef{&kernels::f32_gemm_small_ref};

const dispatch::Registry<SmallGemmKernel> kSmallGemm{
    "gemm_small",
    {{Isa::avx512, "f32_gemm_small_avx512", &kSmallAvx512},
     {Isa::avx2, "f32_gemm_small_avx2", &kSmallAvx2},
     {Isa::ref, "f32_gemm_small_ref", &kSmallRef}}};

// NOTE: the unpacked kernel rereads each B column chunk (k x up to 80 floats) once per row
// block and never packs A. Measured at 1 thread, AVX-512 (small vs the packed driver's
// route, best of interleaved runs): it wins while the chunk stays in L1 (k <= 128) for up
// to 128 rows (128 x 64 x 128: 1.25x), and for few rows (m <= 64) up to k = 1024
// (64 x 512 x 64: 1.3x); at 256 x 128 x 256, 256 x 256 x 256 and 128 x 256 x 256 the
// packed driver is 5-15% faster, and at 128 x 128 x 256 (wide B: A is reread per column
// chunk) 17%.
constexpr int64_t kMaxSmallDepth = 1024;
constexpr int64_t kMaxFewRows = 64;
constexpr int64_t kMaxL1Depth = 128;
constexpr int64_t kMaxSmallRows = 128;
constexpr int64_t kMaxSmallCols = 160;

template <typename I>
int64_t first_outside(const I* idx, int64_t count, int64_t limit) {
  for (int64_t i = 0; i < count; ++i)
    if (idx[i] < 0 || idx[i] >= limit) return i;
  return -1;
}

}  // namespace

bool sgemm_small_accepts(int64_t m, int64_t n, int64_t k) {
  return n <= kMaxSmallCols &&
         ((m <= kMaxFewRows && k <= kMaxSmallDepth) || (m <= kMaxSmallRows && k <= kMaxL1Depth));
}

const char* sgemm_small_kernel_name() { return kSmallGemm.peek().name; }

void sgemm_broadcast(int64_t batch, int64_t m, int64_t n, int64_t k, const float* a,
                     int64_t a_count, const int64_t* a_index, const float* b, int64_t b_count,
                     const int64_t* b_index, float* c) {
  if (batch < 0 || m < 0 || n < 0 || k < 0 || a_count < 0 || b_count < 0)
    throw std::invalid_argument("sgemm_broadcast: sizes must be >= 0, received batch=" +
                                std::to_string(batch) + ", m=" + std::to_string(m) + ", n=" +
                                std::to_string(n) + ", k=" + std::to_string(k));
  for (auto [idx, count, what] : {std::tuple{a_index, a_count, "a_index"},
                                  std::tuple{b_index, b_count, "b_index"}}) {
    const int64_t bad = first_outside(idx, batch, count);
    if (bad >= 0)
      throw std::invalid_argument("sgemm_broadcast: " + std::string(what) + "[" +
                                  std::to_string(bad) + "] = " + std::to_string(idx[bad]) +
                                  " is outside [0, " + std::to_string(count) + ")");
  }
  if (batch == 0 || m == 0 || n == 0) return;
  const int64_t a_size = m * k, b_size = k * n, c_size = m * n;
  const bool small = sgemm_small_accepts(m, n, k);
  const kernels::SmallGemmFn fn = small ? kSmallGemm.select().fns->fn : nullptr;
  auto one = [&](int64_t i) {
    const float* ai = a + a_index[i] * a_size;
    const float* bi = b + b_index[i] * b_size;
    float* ci = c + i * c_size;
    if (small)
      fn(m, n, k, ai, k, bi, n, ci, n);
    else
      sgemm(Trans::N, Trans::N, m, n, k, 1.0f, ai, k, bi, n, 0.0f, ci, n);
  };
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  if (!small && flops >= kGemmMinFlopsPerThread * num_threads()) {
    for (int64_t i = 0; i < batch; ++i) one(i);  // each product threads itself
    return;
  }
  // Small products are shared out whole (sgemm inside a parallel region stays on its thread).
  const int64_t grain = std::max<int64_t>(
      1, static_cast<int64_t>(kGemmMinFlopsPerThread / std::max(flops, 1.0)));
  parallel_for_chunks(batch, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) one(i);
  });
}

}  // namespace nnfast
