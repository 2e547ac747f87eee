// top_k: a partial selection per row instead of a sort. Small k keeps a k-entry heap whose
// worst entry is a threshold; blocks of 16 inputs none of which beats it are skipped with one
// branch (a loop the compiler vectorises), so a row costs about one read. Large k selects
// with nth_element and sorts the k chosen. Rows are split across threads.
#include "nnfast/topk.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnfast/runtime.h"
#include "ops/parallel.h"

namespace nnfast {
namespace {

struct Entry {
  float value;
  int32_t index;
};

// a ranks before b: the larger value; NaN after every number; ties (and NaNs) by lower index.
inline bool ranks_before(const Entry& a, const Entry& b) {
  const bool a_nan = a.value != a.value, b_nan = b.value != b.value;
  if (a_nan || b_nan) return a_nan == b_nan ? a.index < b.index : b_nan;
  if (a.value != b.value) return a.value > b.value;
  return a.index < b.index;
}

constexpr int64_t kBlock = 16;

// Whether any of x[0..kBlock) is greater than t (NaN never is).
inline bool any_greater(const float* __restrict x, float t) {
  int hit = 0;
  for (int64_t j = 0; j < kBlock; ++j) hit |= x[j] > t;
  return hit != 0;
}

// The heap keeps the k best so far with the one that ranks last on top (std heaps put the
// "largest" under the comparator on top, and ranks_before orders best first). Entries come
// in index order, so an entry equal to the worst never displaces it.
void select_heap(const float* row, int64_t n, int64_t k, Entry* heap) {
  for (int64_t i = 0; i < k; ++i) heap[i] = {row[i], static_cast<int32_t>(i)};
  std::make_heap(heap, heap + k, ranks_before);
  auto replace_worst = [&](int64_t i) {
    std::pop_heap(heap, heap + k, ranks_before);
    heap[k - 1] = {row[i], static_cast<int32_t>(i)};
    std::push_heap(heap, heap + k, ranks_before);
  };
  int64_t i = k;
  while (i < n) {
    const float worst = heap[0].value;
    if (worst != worst) {
      // The worst kept entry is a NaN: any number beats it, a later NaN does not.
      if (row[i] == row[i]) replace_worst(i);
      ++i;
      continue;
    }
    while (i + kBlock <= n && !any_greater(row + i, worst)) i += kBlock;
    const int64_t end = std::min(i + kBlock, n);
    float threshold = worst;  // stays a number: only numbers replace a number
    for (; i < end; ++i) {
      if (row[i] > threshold) {
        replace_worst(i);
        threshold = heap[0].value;
      }
    }
  }
  std::sort_heap(heap, heap + k, ranks_before);  // best first
}

void select_nth(const float* row, int64_t n, int64_t k, Entry* all) {
  for (int64_t i = 0; i < n; ++i) all[i] = {row[i], static_cast<int32_t>(i)};
  if (k < n) std::nth_element(all, all + k - 1, all + n, ranks_before);
  std::sort(all, all + k, ranks_before);
}

}  // namespace

void top_k_rows(const float* x, int64_t rows, int64_t n, int64_t k, float* values,
                int32_t* indices) {
  if (rows < 0 || n < 0 || k < 0 || k > n)
    throw std::invalid_argument("top_k: expected rows >= 0 and 0 <= k <= n, received rows=" +
                                std::to_string(rows) + ", n=" + std::to_string(n) +
                                ", k=" + std::to_string(k));
  if (n > INT32_MAX)
    throw std::invalid_argument("top_k: rows longer than 2^31 - 1 entries do not fit int32 "
                                "indices, received n=" + std::to_string(n));
  if (k == 0 || rows == 0) return;
  // The heap pays log k per replacement; past a few hundred (or a sizeable share of the row)
  // selecting over a copy of the row is cheaper.
  const bool use_heap = k <= 256 && k * 8 <= n;
  log_choice("top_k", use_heap ? "heap_threshold" : "nth_element", "by k and row length");
  parallel_for_rows(rows, n, 1 << 16, [&](int64_t r0, int64_t r1) {
    std::vector<Entry> scratch(use_heap ? k : n);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * n;
      if (use_heap)
        select_heap(row, n, k, scratch.data());
      else
        select_nth(row, n, k, scratch.data());
      for (int64_t j = 0; j < k; ++j) {
        values[r * k + j] = scratch[j].value;
        indices[r * k + j] = scratch[j].index;
      }
    }
  });
}

}  // namespace nnfast
