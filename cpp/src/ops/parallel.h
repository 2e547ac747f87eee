// Splitting work across OpenMP threads. Drivers call these; kernels only ever see
// [begin, end) ranges, so the same thread count always gives the same bits.
#pragma once
#include <algorithm>
#include <cstdint>

#ifdef NNFAST_HAVE_OPENMP
#include <omp.h>
#endif

namespace nnfast {

// Calls fn(begin, end) over [0, n) in contiguous chunks, one per thread, using threads only
// when there are at least `grain` elements per thread (small work stays on one core).
template <typename Fn>
void parallel_for_chunks(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
#ifdef NNFAST_HAVE_OPENMP
  int max_threads = omp_get_max_threads();
  int64_t useful = std::max<int64_t>(1, n / std::max<int64_t>(grain, 1));
  int threads = static_cast<int>(std::min<int64_t>(max_threads, useful));
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    {
      int t = omp_get_thread_num();
      int nt = omp_get_num_threads();
      int64_t begin = n * t / nt;
      int64_t end = n * (t + 1) / nt;
      if (begin < end) fn(begin, end);
    }
    return;
  }
#endif
  fn(0, n);
}

// Asks for the cache lines of a (rows, cols) block with row stride ld: a residual an epilogue
// will read right after a micro-kernel, fetched while the kernel runs.
inline void prefetch_rows(const float* p, int64_t ld, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; j += 16) __builtin_prefetch(p + i * ld + j);
}

// Rows version: splits [0, rows) so each thread gets whole rows.
template <typename Fn>
void parallel_for_rows(int64_t rows, int64_t row_cost, int64_t grain, Fn&& fn) {
  if (rows <= 0) return;
  int64_t min_rows = std::max<int64_t>(1, grain / std::max<int64_t>(row_cost, 1));
  parallel_for_chunks(rows, min_rows, fn);
}

}  // namespace nnfast
