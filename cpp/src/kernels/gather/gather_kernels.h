// Row gathers (ops.take) and patch-row copies (ops.image.extract_patches). The drivers
// (src/ops/gather.cpp, src/ops/patches.cpp) validate sizes and split work over threads.
#pragma once
#include <stdint.h>

#include "nnfast/gather.h"

namespace nnfast::kernels {

// One ISA's copy kernels (the scalar reference, or the vector bodies of
// gather_simd_body.h over the shared vocabulary).
struct GatherKernels {
  // Output rows [t0, t1) of an (outer, count) gather of row_bytes-byte rows: row t = (p, j)
  // copies x row p * n + idx[j], a negative index counting from the end. Each index is
  // checked where it is used (no separate pass): returns -1, or the first output row whose
  // index lies outside [-n, n) (that row and the ones after it are not written).
  int64_t (*rows_i64)(const char* x, int64_t n, int64_t row_bytes, const int64_t* idx,
                      int64_t count, int64_t t0, int64_t t1, char* out);
  int64_t (*rows_i32)(const char* x, int64_t n, int64_t row_bytes, const int32_t* idx,
                      int64_t count, int64_t t0, int64_t t1, char* out);
  // Patch row a of every pixel of one output row (see Patches2D): out[j, (a * kw + b) * c +
  // ch] = img[r, j * sw - pad_left + b * dw, ch], zeros where r or the column is outside
  // the image. `out` is the output row's first pixel.
  void (*patch_row)(const float* img, const Patches2D& g, int64_t r, int64_t a, float* out);
};

extern const GatherKernels gather_ref;
extern const GatherKernels gather_avx2;
extern const GatherKernels gather_avx512;

}  // namespace nnfast::kernels
