// The loop shared by every ISA's row gather: walks output rows [t0, t1) of an (outer, count)
// gather, checks and wraps each index as it is read, and hands (dst, src) to the ISA's row
// copy. Internal linkage: each kernel file compiles its own copy with its own flags.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {
namespace {

// Returns -1, or the first output row whose index is outside [-n, n) (nothing is written
// for it or after it). The position advances by increments: a division per row costs more
// than a short copy.
template <typename I, typename Copy>
inline int64_t for_gathered_rows(const char* x, int64_t n, int64_t row_bytes, const I* idx,
                                 int64_t count, int64_t t0, int64_t t1, char* out,
                                 Copy&& copy) {
  if (t0 >= t1) return -1;
  const int64_t p = t0 / count;
  int64_t j = t0 - p * count;
  const char* block = x + p * n * row_bytes;  // x rows of the current leading position p
  char* dst = out + t0 * row_bytes;
  for (int64_t t = t0; t < t1; ++t, dst += row_bytes) {
    int64_t v = idx[j];
    v += v < 0 ? n : 0;
    // One unsigned compare catches both v < 0 (after the wrap) and v >= n.
    if (static_cast<uint64_t>(v) >= static_cast<uint64_t>(n)) return t;
    copy(dst, block + v * row_bytes, j);
    if (++j == count) {
      j = 0;
      block += n * row_bytes;
    }
  }
  return -1;
}

}  // namespace
}  // namespace nnfast::kernels
