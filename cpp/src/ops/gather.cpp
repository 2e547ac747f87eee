// take along an axis: one pass over the output rows, each index checked, wrapped and its
// row copied by the ISA's kernel (kernels/gather/). Memory-bound: the copies run at the
// core's bandwidth, so what a call costs beyond them is kept small (no separate range pass).
#include "nnfast/gather.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "kernels/gather/gather_kernels.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<kernels::GatherKernels> kGather{
    "gather",
    {{Isa::avx512, "gather_rows_avx512", &kernels::gather_avx512},
     {Isa::avx2, "gather_rows_avx2", &kernels::gather_avx2},
     {Isa::ref, "gather_rows_ref", &kernels::gather_ref}}};

template <typename I>
int64_t first_out_of_range(const I* idx, int64_t count, int64_t n) {
  for (int64_t j = 0; j < count; ++j)
    if (idx[j] < -n || idx[j] >= n) return j;
  return -1;
}

int64_t rows(const kernels::GatherKernels& k, const char* x, int64_t n, int64_t row_bytes,
             const int64_t* idx, int64_t count, int64_t t0, int64_t t1, char* out) {
  return k.rows_i64(x, n, row_bytes, idx, count, t0, t1, out);
}
int64_t rows(const kernels::GatherKernels& k, const char* x, int64_t n, int64_t row_bytes,
             const int32_t* idx, int64_t count, int64_t t0, int64_t t1, char* out) {
  return k.rows_i32(x, n, row_bytes, idx, count, t0, t1, out);
}

template <typename I>
int64_t gather_impl(const void* x, int64_t outer, int64_t n, int64_t row_bytes, const I* idx,
                    int64_t count, void* out) {
  if (outer < 0 || n < 0 || row_bytes < 0 || count < 0)
    throw std::invalid_argument("gather_rows: sizes must be >= 0, received outer=" +
                                std::to_string(outer) + ", n=" + std::to_string(n) +
                                ", row_bytes=" + std::to_string(row_bytes) +
                                ", count=" + std::to_string(count));
  const int64_t total = outer * count;
  if (total == 0 || row_bytes == 0) return first_out_of_range(idx, count, n);
  const kernels::GatherKernels& k = *kGather.select().fns;
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(out);
  std::atomic<bool> bad{false};
  // ~64 KiB of copying per thread at least.
  parallel_for_rows(total, row_bytes, 1 << 16, [&](int64_t t0, int64_t t1) {
    if (rows(k, src, n, row_bytes, idx, count, t0, t1, dst) >= 0)
      bad.store(true, std::memory_order_relaxed);
  });
  // A thread stops at its first bad index; the first one overall is found again (a cold
  // path, so the copy loop keeps one check per row).
  return bad.load(std::memory_order_relaxed) ? first_out_of_range(idx, count, n) : -1;
}

}  // namespace

int64_t gather_rows(const void* x, int64_t outer, int64_t n, int64_t row_bytes,
                    const int64_t* idx, int64_t count, void* out) {
  return gather_impl(x, outer, n, row_bytes, idx, count, out);
}
int64_t gather_rows(const void* x, int64_t outer, int64_t n, int64_t row_bytes,
                    const int32_t* idx, int64_t count, void* out) {
  return gather_impl(x, outer, n, row_bytes, idx, count, out);
}

}  // namespace nnfast
