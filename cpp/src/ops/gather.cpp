// take along an axis: a range check over the indices, then one copy per gathered row.
// Memory-bound, so one portable variant. NOTE: software prefetch of the rows a few steps
// ahead (1-16 rows, 1-8 lines each) measured no faster than plain memcpy at one thread on
// the row-gather benchmark, which runs at the core's bandwidth.
#include "nnfast/gather.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

template <typename I>
int64_t first_out_of_range(const I* idx, int64_t count, int64_t n) {
  int64_t lo = 0, hi = 0;
  for (int64_t j = 0; j < count; ++j) {  // branch-free min/max: vectorised
    const int64_t v = idx[j];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (count == 0 || (lo >= -n && hi < n)) return -1;
  for (int64_t j = 0; j < count; ++j)
    if (idx[j] < -n || idx[j] >= n) return j;
  return -1;
}

template <typename I>
inline int64_t wrapped(const I* idx, int64_t j, int64_t n) {
  const int64_t v = idx[j];
  return v < 0 ? v + n : v;
}

// Output rows t0..t1 of (outer, count): out row t = (p, j) reads x row p * n + idx[j]. The
// position advances by increments (a division per row costs more than a short copy).
template <typename I, typename Copy>
void for_rows(int64_t n, const I* idx, int64_t count, int64_t t0, int64_t t1, Copy&& copy) {
  int64_t p = t0 / count, j = t0 - p * count;
  for (int64_t t = t0; t < t1; ++t) {
    copy(t, p * n + wrapped(idx, j, n));
    if (++j == count) j = 0, ++p;
  }
}

// Rows of a fixed small size: a constant-size memcpy compiles to one load and store (and
// stays defined for any alignment).
template <int64_t kBytes, typename I>
void copy_elements(const char* x, int64_t n, const I* idx, int64_t count, int64_t t0,
                   int64_t t1, char* out) {
  for_rows(n, idx, count, t0, t1, [&](int64_t t, int64_t src) {
    std::memcpy(out + t * kBytes, x + src * kBytes, kBytes);
  });
}

template <typename I>
void copy_rows(const char* x, int64_t n, int64_t row_bytes, const I* idx, int64_t count,
               int64_t t0, int64_t t1, char* out) {
  for_rows(n, idx, count, t0, t1, [&](int64_t t, int64_t src) {
    std::memcpy(out + t * row_bytes, x + src * row_bytes, static_cast<size_t>(row_bytes));
  });
}

// Memory-bound copies: a fixed-size copy for single elements and short rows (embedding
// tables of 4-32 floats), a memcpy per row otherwise. NOTE: measured on 6400 random rows of
// a 20000-row table, 1 thread: 128-byte rows 29.8 us fixed vs 39.5 us memcpy, 64-byte 10.2
// vs 15.0; from 512 bytes on the fixed copy is slower (837 vs 717 us), at 256 no different.
enum class GatherRoute { elements, rows };
const GatherRoute kElements = GatherRoute::elements;
const GatherRoute kRows = GatherRoute::rows;
struct GatherProblem {
  int64_t row_bytes = 0;
};
bool fixed_size_row(const GatherProblem& p) {
  return p.row_bytes > 0 && p.row_bytes <= 128 && (p.row_bytes & (p.row_bytes - 1)) == 0;
}
const dispatch::Registry<GatherRoute, GatherProblem> kGather{
    "gather",
    {{Isa::ref, "gather_fixed_size_rows", &kElements, fixed_size_row,
      "rows of 1, 2, 4, ..., 128 bytes"},
     {Isa::ref, "gather_memcpy_rows", &kRows}}};

template <typename I>
int64_t gather_impl(const void* x, int64_t outer, int64_t n, int64_t row_bytes, const I* idx,
                    int64_t count, void* out) {
  if (outer < 0 || n < 0 || row_bytes < 0 || count < 0)
    throw std::invalid_argument("gather_rows: sizes must be >= 0, received outer=" +
                                std::to_string(outer) + ", n=" + std::to_string(n) +
                                ", row_bytes=" + std::to_string(row_bytes) +
                                ", count=" + std::to_string(count));
  const int64_t bad = first_out_of_range(idx, count, n);
  if (bad >= 0) return bad;
  const int64_t total = outer * count;
  if (total == 0 || row_bytes == 0) return -1;
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(out);
  const GatherRoute route = *kGather.select({row_bytes}).fns;
  // ~64 KiB of copying per thread at least.
  parallel_for_rows(total, row_bytes, 1 << 16, [&](int64_t t0, int64_t t1) {
    if (route == GatherRoute::rows) {
      copy_rows(src, n, row_bytes, idx, count, t0, t1, dst);
      return;
    }
    switch (row_bytes) {
      case 1: copy_elements<1>(src, n, idx, count, t0, t1, dst); break;
      case 2: copy_elements<2>(src, n, idx, count, t0, t1, dst); break;
      case 4: copy_elements<4>(src, n, idx, count, t0, t1, dst); break;
      case 8: copy_elements<8>(src, n, idx, count, t0, t1, dst); break;
      case 16: copy_elements<16>(src, n, idx, count, t0, t1, dst); break;
      case 32: copy_elements<32>(src, n, idx, count, t0, t1, dst); break;
      case 64: copy_elements<64>(src, n, idx, count, t0, t1, dst); break;
      default: copy_elements<128>(src, n, idx, count, t0, t1, dst); break;
    }
  });
  return -1;
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
