// Row gathers and patch rows, scalar reference: a memcpy per row or run (a fixed-size one,
// which compiles to plain loads and stores, for the short sizes embedding tables use).
#include <string.h>

#include "kernels/gather/gather_kernels.h"
#include "kernels/gather/gather_loops.h"

namespace nnfast::kernels {
namespace {

// NOTE: measured on 6400 random rows of a 20000-row table, 1 thread: 128-byte rows 29.8 us
// fixed-size vs 39.5 us memcpy, 64-byte 10.2 vs 15.0; from 512 bytes on the fixed copy is
// slower (837 vs 717 us), at 256 no different.
template <typename I>
int64_t rows_ref(const char* x, int64_t n, int64_t row_bytes, const I* idx, int64_t count,
                 int64_t t0, int64_t t1, char* out) {
  switch (row_bytes) {
    case 1: return fixed_rows<1>(x, n, idx, count, t0, t1, out);
    case 2: return fixed_rows<2>(x, n, idx, count, t0, t1, out);
    case 4: return fixed_rows<4>(x, n, idx, count, t0, t1, out);
    case 8: return fixed_rows<8>(x, n, idx, count, t0, t1, out);
    case 16: return fixed_rows<16>(x, n, idx, count, t0, t1, out);
    case 32: return fixed_rows<32>(x, n, idx, count, t0, t1, out);
    case 64: return fixed_rows<64>(x, n, idx, count, t0, t1, out);
    case 128: return fixed_rows<128>(x, n, idx, count, t0, t1, out);
    default: return memcpy_rows(x, n, row_bytes, idx, count, t0, t1, out);
  }
}

int64_t rows_i64_ref(const char* x, int64_t n, int64_t row_bytes, const int64_t* idx,
                     int64_t count, int64_t t0, int64_t t1, char* out) {
  return rows_ref(x, n, row_bytes, idx, count, t0, t1, out);
}
int64_t rows_i32_ref(const char* x, int64_t n, int64_t row_bytes, const int32_t* idx,
                     int64_t count, int64_t t0, int64_t t1, char* out) {
  return rows_ref(x, n, row_bytes, idx, count, t0, t1, out);
}

// Patch runs: pieces of 8, 4, 2, 1 floats (3x3 patches of RGB images copy 9 at a time),
// a memcpy call for longer runs.
NNFAST_NO_MEMCPY_IDIOM void patch_row_ref(const float* img, const Patches2D& g, int64_t r,
                                          int64_t a, float* out) {
  patch_row_with(img, g, r, a, out, [](float* dst, const float* src, int64_t n) {
    if (n > 32)
      memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
    else
      copy_float_pieces(dst, src, n);
  });
}

}  // namespace

const GatherKernels gather_ref = {rows_i64_ref, rows_i32_ref, patch_row_ref};

}  // namespace nnfast::kernels
