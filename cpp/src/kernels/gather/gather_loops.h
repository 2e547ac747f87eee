// The loops shared by every ISA's gather kernels, which differ only in how they copy a row
// or a run. Internal linkage: each kernel file compiles its own copy with its own flags.
#pragma once
#include <stdint.h>
#include <string.h>

#include "nnfast/gather.h"

namespace nnfast::kernels {
namespace {

// Walks output rows [t0, t1) of an (outer, count) gather, checks and wraps each index as it
// is read, and hands the row to the ISA's copy: copy(dst, block, v, j) copies row v of
// `block` (the x rows of the current leading position) to dst; j is the index's position,
// for copies that look ahead. Returns -1, or the first output row whose index is outside
// [-n, n) (nothing is written for it or after it). The position advances by increments: a
// division per row costs more than a short copy.
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
    copy(dst, block, v, j);
    if (++j == count) {
      j = 0;
      block += n * row_bytes;
    }
  }
  return -1;
}

// Rows copied with memcpy: a fixed size (kBytes; compiles to plain moves for the short sizes
// embedding tables use) or any size. Every ISA's row gather starts from these.
template <int64_t kBytes, typename I>
int64_t fixed_rows(const char* x, int64_t n, const I* idx, int64_t count, int64_t t0,
                   int64_t t1, char* out) {
  return for_gathered_rows(x, n, kBytes, idx, count, t0, t1, out,
                           [](char* dst, const char* block, int64_t v, int64_t) {
                             memcpy(dst, block + v * kBytes, kBytes);
                           });
}

template <typename I>
int64_t memcpy_rows(const char* x, int64_t n, int64_t row_bytes, const I* idx, int64_t count,
                    int64_t t0, int64_t t1, char* out) {
  return for_gathered_rows(x, n, row_bytes, idx, count, t0, t1, out,
                           [row_bytes](char* dst, const char* block, int64_t v, int64_t) {
                             memcpy(dst, block + v * row_bytes, static_cast<size_t>(row_bytes));
                           });
}

// dst[0, n) = src[0, n) in pieces of 8, 4, 2 and 1 floats: fixed-size copies the compiler
// inlines as single moves (one 32-byte move per 8 floats where the ISA has them), cheaper
// than a memcpy call for the short runs of patches. NOTE: NNFAST_NO_MEMCPY_IDIOM keeps GCC
// from turning the loop back into a memcpy call (it did so in the AVX-512 build, and the
// call made 6x6 RGB patches 7% slower). The functions that use this one carry it too, and
// always_inline inlines it into them all the same.
#define NNFAST_NO_MEMCPY_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
NNFAST_NO_MEMCPY_IDIOM __attribute__((always_inline))
inline void copy_float_pieces(float* __restrict dst, const float* __restrict src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) memcpy(dst + i, src + i, 8 * sizeof(float));
  if (i + 4 <= n) {
    memcpy(dst + i, src + i, 4 * sizeof(float));
    i += 4;
  }
  if (i + 2 <= n) {
    memcpy(dst + i, src + i, 2 * sizeof(float));
    i += 2;
  }
  if (i < n) dst[i] = src[i];
}

// Patch row a of every pixel of one output row (GatherKernels::patch_row), copying each
// contiguous run with copy_run(dst, src, n).
template <typename CopyRun>
inline void patch_row_with(const float* img, const Patches2D& g, int64_t r, int64_t a,
                           float* out, CopyRun&& copy_run) {
  const int64_t run = g.kw * g.c, depth = g.kh * run;
  float* dst = out + a * run;
  if (r < 0 || r >= g.h) {
    for (int64_t j = 0; j < g.ow; ++j, dst += depth)
      memset(dst, 0, sizeof(float) * static_cast<size_t>(run));
    return;
  }
  const float* line = img + r * g.w * g.c;
  for (int64_t j = 0; j < g.ow; ++j, dst += depth) {
    const int64_t c0 = j * g.sw - g.pad_left;
    if (g.dw == 1 && c0 >= 0 && c0 + g.kw <= g.w) {
      copy_run(dst, line + c0 * g.c, run);  // the patch row is one contiguous run
      continue;
    }
    for (int64_t b = 0; b < g.kw; ++b) {
      const int64_t col = c0 + b * g.dw;
      if (col < 0 || col >= g.w)
        memset(dst + b * g.c, 0, sizeof(float) * static_cast<size_t>(g.c));
      else
        copy_run(dst + b * g.c, line + col * g.c, g.c);
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels
