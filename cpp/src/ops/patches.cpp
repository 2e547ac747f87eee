// extract_patches over channels_last images: each output pixel copies kh runs of kw * c
// contiguous floats (one run per patch row when the dilation is 1, else kw runs of c), and
// writes zeros where the window leaves the image, so "same" padding needs no padded copy.
// Work goes by output rows (no per-pixel index arithmetic); the copies are the ISA's
// patch_row kernel (kernels/gather/).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/gather/gather_kernels.h"
#include "nnfast/gather.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

// Memory-bound copies of patch rows: each ISA's vector copies, the scalar reference last.
const dispatch::Registry<kernels::GatherKernels> kPatches{
    "extract_patches",
    {{Isa::avx512, "patches_2d_avx512", &kernels::gather_avx512},
     {Isa::avx2, "patches_2d_avx2", &kernels::gather_avx2},
     {Isa::ref, "patches_2d_ref", &kernels::gather_ref}}};

}  // namespace

void extract_patches_2d(const float* x, const Patches2D& g, float* out) {
  const int64_t sizes[] = {g.batch, g.h, g.w, g.c, g.oh, g.ow, g.pad_top, g.pad_left};
  for (int64_t s : sizes)
    if (s < 0) throw std::invalid_argument("extract_patches_2d: sizes and paddings must be >= 0");
  if (g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1)
    throw std::invalid_argument("extract_patches_2d: patch size, strides and dilation must be "
                                ">= 1, received size (" + std::to_string(g.kh) + ", " +
                                std::to_string(g.kw) + "), strides (" + std::to_string(g.sh) +
                                ", " + std::to_string(g.sw) + "), dilation (" +
                                std::to_string(g.dh) + ", " + std::to_string(g.dw) + ")");
  // Every index the copy forms must fit int64: patch depth and each axis's furthest
  // window position (bounded by the output's size, which the caller's array bounds).
  int64_t depth = 0, span_h = 0, span_w = 0, pixels = 0;
  const bool overflow =
      __builtin_mul_overflow(g.kh, g.kw, &depth) || __builtin_mul_overflow(depth, g.c, &depth) ||
      __builtin_mul_overflow(g.oh, g.sh, &span_h) || __builtin_mul_overflow(g.kh, g.dh, &pixels) ||
      __builtin_add_overflow(span_h, pixels, &span_h) ||
      __builtin_mul_overflow(g.ow, g.sw, &span_w) || __builtin_mul_overflow(g.kw, g.dw, &pixels) ||
      __builtin_add_overflow(span_w, pixels, &span_w) ||
      __builtin_mul_overflow(g.batch * g.oh, g.ow, &pixels);
  if (overflow)
    throw std::invalid_argument("extract_patches_2d: patch geometry overflows 64-bit indices");
  if (pixels == 0 || depth == 0) return;
  const auto patch_row = kPatches.select().fns->patch_row;
  // Whole output rows per thread: (n, i) fixes the image and the window's first row.
  parallel_for_rows(g.batch * g.oh, g.ow * depth, 1 << 16, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t n = q / g.oh, i = q - n * g.oh;
      const float* img = x + n * g.h * g.w * g.c;
      for (int64_t a = 0; a < g.kh; ++a)
        patch_row(img, g, i * g.sh + a * g.dh - g.pad_top, a, out + q * g.ow * depth);
    }
  });
}

}  // namespace nnfast
