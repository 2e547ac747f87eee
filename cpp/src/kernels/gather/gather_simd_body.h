// The vectorised row gathers and patch rows, written once over the shared vector vocabulary
// (kernels/simd_math.h) that gather_avx2.cpp / gather_avx512.cpp include first. Rows whose
// size is a multiple of 4 bytes are copied as float lanes inline, instead of a memcpy call
// per row; the bytes are moved unchanged whatever the dtype (NaN payloads included: loads
// and stores do not touch the bits).
#pragma once
#include <string.h>

#include "kernels/gather/gather_kernels.h"
#include "kernels/gather/gather_loops.h"

namespace nnfast::kernels {
namespace {

// dst[0, n) = src[0, n). Whole unaligned vectors, and for a length that is not a multiple
// of W one more whole vector ending at n (overlapping the previous one) rather than a masked
// tail; only rows shorter than a vector use masks.
// NOTE: NumPy arrays start 0-48 bytes into a cache line, independently for the table and
// the output. Over the 16 combinations, on 6400 random 128-byte rows (16384 of 512 bytes),
// a standalone copy of this loop (AVX-512, 1 thread, shared machine) took 510 us summed
// (11108) against 566 (11535) for NumPy's check-and-memmove loop, at most 5% slower on any
// one; aligning the stores on dst with a masked head and tail took 598 (13993), up to 1.5x
// slower where the masked accesses split lines.
inline void copy_lanes(float* dst, const float* src, int64_t n) {
  if (n < W) {
    vstore_n(dst, vload_n(src, n), n);
    return;
  }
  int64_t k = 0;
  for (; k + W <= n; k += W) vstore(dst + k, vload(src + k));
  if (k < n) vstore(dst + n - W, vload(src + n - W));
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
    return memcpy_rows(x, n, row_bytes, idx, count, t0, t1, out);
  const int64_t floats = row_bytes / static_cast<int64_t>(sizeof(float));
  auto row = [floats](char* dst, const char* src) {
    copy_lanes(reinterpret_cast<float*>(dst), reinterpret_cast<const float*>(src), floats);
  };
  // NOTE: rows of up to 512 bytes ask for the row about 2 KiB of output ahead (kAhead
  // indices on: 16 rows of 128 bytes, 4 of 512) before copying. 1 thread, random rows from
  // 2.5 / 10 MB tables: without it a loop of 6400-row 128-byte gathers took 49-53 us a call
  // against 38-40, and 16384-row 512-byte ones 724-741 against 705-724; the distance from
  // bench_ops.py (4 processes each, median ratio to NumPy): 128-byte rows 1.13x at 16 ahead,
  // 1.10x at 8, 1.06x at 4; 512-byte rows 1.01-1.02x at 4, 8 or 16, 0.92x at 32 (hints
  // T1/T2 slower). Longer rows (the hardware follows a long row) and gathers along inner
  // axes with short index lists measured no faster, so they only copy.
  const int64_t kAhead = row_bytes <= 128 ? 16 : (row_bytes <= 256 ? 8 : 4);
  if (row_bytes > 512 || count <= kAhead)
    return for_gathered_rows(x, n, row_bytes, idx, count, t0, t1, out,
                             [&row, row_bytes](char* dst, const char* block, int64_t v, int64_t) {
                               row(dst, block + v * row_bytes);
                             });
  return for_gathered_rows(
      x, n, row_bytes, idx, count, t0, t1, out,
      [&row, row_bytes, idx, count, n, kAhead](char* dst, const char* block, int64_t v,
                                                int64_t j) {
        if (j + kAhead < count) {
          int64_t ahead = idx[j + kAhead];
          ahead += ahead < 0 ? n : 0;
          if (static_cast<uint64_t>(ahead) < static_cast<uint64_t>(n)) {  // never out of x
            const char* next = block + ahead * row_bytes;
            for (int64_t b = 0; b < row_bytes; b += 64)
              vprefetch(reinterpret_cast<const float*>(next + b));
            vprefetch(reinterpret_cast<const float*>(next + row_bytes - 1));  // its last line
          }
        }
        row(dst, block + v * row_bytes);
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

// Patch runs in 32-byte pieces on both ISAs. NOTE: measured on ViT-style patches, 1 thread,
// AVX-512 build (microseconds, NumPy's strided copy beside): 16x16 of (32,224,224,3)
// 1424-1447 (NumPy 1430-1512) against 1495-1581 for 64-byte vectors with an overlapping
// last one; 6x6 of (32,72,72,3) 176-178 against 191 (NumPy 223-228); the AVX2 build's
// 32-byte vectors ran as fast as these pieces.
NNFAST_NO_MEMCPY_IDIOM void patch_row(const float* img, const Patches2D& g, int64_t r,
                                      int64_t a, float* out) {
  patch_row_with(img, g, r, a, out, copy_float_pieces);
}

}  // namespace
}  // namespace nnfast::kernels

// The exported kernel table of one ISA file.
#define NNFAST_DEFINE_GATHER_SIMD(isa) \
  namespace nnfast::kernels { const GatherKernels gather_##isa = {rows_i64, rows_i32, patch_row}; }
