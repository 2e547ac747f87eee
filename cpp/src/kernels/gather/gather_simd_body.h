// The vectorised row gathers and patch rows, written once over the shared vector vocabulary
// (kernels/simd_math.h) that gather_avx2.cpp / gather_avx512.cpp include first. Rows whose
// size is a multiple of 4 bytes are copied as float lanes (whole vectors, then one masked
// tail) inline, instead of a memcpy call per row; the bytes are moved unchanged whatever
// the dtype (NaN payloads included: loads and stores do not touch the bits).
#pragma once
#include <string.h>

#include "kernels/gather/gather_kernels.h"
#include "kernels/gather/gather_rows_loop.h"

namespace nnfast::kernels {
namespace {

// NOTE: prefetching the rows a few indices ahead measured no faster on this core's random
// row gathers (tables of 2.5-50 MB, rows of 128-1024 bytes), so the loop only copies.
inline void copy_lanes(float* dst, const float* src, int64_t n) {
  for_lanes(n, [&](int64_t k, int64_t m, auto tag) { st(tag, dst + k, ld(tag, src + k, m), m); });
}

template <int64_t kBytes, typename I>
int64_t fixed_rows(const char* x, int64_t n, const I* idx, int64_t count, int64_t t0,
                   int64_t t1, char* out) {
  return for_gathered_rows(x, n, kBytes, idx, count, t0, t1, out,
                           [](char* dst, const char* src, int64_t) { memcpy(dst, src, kBytes); });
}

template <typename I>
int64_t rows_simd(const char* x, int64_t n, int64_t row_bytes, const I* idx, int64_t count,
                  int64_t t0, int64_t t1, char* out) {
  switch (row_bytes) {  // single elements and short rows: one scalar or vector move
    case 1: return fixed_rows<1>(x, n, idx, count, t0, t1, out);
    case 2: return fixed_rows<2>(x, n, idx, count, t0, t1, out);
    case 4: return fixed_rows<4>(x, n, idx, count, t0, t1, out);
    case 8: return fixed_rows<8>(x, n, idx, count, t0, t1, out);
    case 16: return fixed_rows<16>(x, n, idx, count, t0, t1, out);
    case 32: return fixed_rows<32>(x, n, idx, count, t0, t1, out);
    default: break;
  }
  if (row_bytes % static_cast<int64_t>(sizeof(float)) != 0)
    return for_gathered_rows(x, n, row_bytes, idx, count, t0, t1, out,
                             [row_bytes](char* dst, const char* src, int64_t) {
                               memcpy(dst, src, static_cast<size_t>(row_bytes));
                             });
  const int64_t floats = row_bytes / static_cast<int64_t>(sizeof(float));
  return for_gathered_rows(x, n, row_bytes, idx, count, t0, t1, out,
                           [floats](char* dst, const char* src, int64_t) {
                             copy_lanes(reinterpret_cast<float*>(dst),
                                        reinterpret_cast<const float*>(src), floats);
                           });
}

int64_t rows_i64(const char* x, int64_t n, int64_t row_bytes, const int64_t* idx,
                 int64_t count, int64_t t0, int64_t t1, char* out) {
  return rows_simd(x, n, row_bytes, idx, count, t0, t1, out);
}
int64_t rows_i32(const char* x, int64_t n, int64_t row_bytes, const int32_t* idx,
                 int64_t count, int64_t t0, int64_t t1, char* out) {
  return rows_simd(x, n, row_bytes, idx, count, t0, t1, out);
}

inline void zero_lanes(float* dst, int64_t n) {
  const VF z = vzero();
  for_lanes(n, [&](int64_t k, int64_t m, auto tag) { st(tag, dst + k, z, m); });
}

void patch_row(const float* img, const Patches2D& g, int64_t r, int64_t a, float* out) {
  const int64_t run = g.kw * g.c, depth = g.kh * run;
  float* dst = out + a * run;
  if (r < 0 || r >= g.h) {
    for (int64_t j = 0; j < g.ow; ++j, dst += depth) zero_lanes(dst, run);
    return;
  }
  const float* line = img + r * g.w * g.c;
  for (int64_t j = 0; j < g.ow; ++j, dst += depth) {
    const int64_t c0 = j * g.sw - g.pad_left;
    if (g.dw == 1 && c0 >= 0 && c0 + g.kw <= g.w) {
      copy_lanes(dst, line + c0 * g.c, run);  // the patch row is one contiguous run
      continue;
    }
    for (int64_t b = 0; b < g.kw; ++b) {
      const int64_t col = c0 + b * g.dw;
      if (col < 0 || col >= g.w)
        zero_lanes(dst + b * g.c, g.c);
      else
        copy_lanes(dst + b * g.c, line + col * g.c, g.c);
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

// The exported kernel table of one ISA file.
#define NNFAST_DEFINE_GATHER_SIMD(isa) \
  namespace nnfast::kernels { const GatherKernels gather_##isa = {rows_i64, rows_i32, patch_row}; }
