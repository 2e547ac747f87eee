// extract_patches over channels_last images: each output pixel copies kh runs of kw * c
// contiguous floats (one run per patch row when the dilation is 1, else kw runs of c), and
// writes zeros where the window leaves the image, so "same" padding needs no padded copy.
// Work goes by output rows (no per-pixel index arithmetic).
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "nnfast/gather.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

// Runs of a few floats (3x3 patches of RGB images copy 9 at a time): fixed-size pieces the
// compiler inlines, as a memcpy call costs more than such a copy. (A plain element loop is
// turned back into a memmove call by the compiler.)
inline void copy_floats(float* __restrict dst, const float* __restrict src, int64_t n) {
  if (n > 32) {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
    return;
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) std::memcpy(dst + i, src + i, 8 * sizeof(float));
  if (i + 4 <= n) {
    std::memcpy(dst + i, src + i, 4 * sizeof(float));
    i += 4;
  }
  if (i + 2 <= n) {
    std::memcpy(dst + i, src + i, 2 * sizeof(float));
    i += 2;
  }
  if (i < n) dst[i] = src[i];
}

// Patch row a of every pixel of output row (n, i): out[j, (a * kw + b) * c + ch] =
// img[r, j * sw - pad_left + b * dw, ch] for image row r (zeros outside the image).
void patch_row(const float* img, const Patches2D& g, int64_t r, int64_t a, float* out) {
  const int64_t run = g.kw * g.c, depth = g.kh * run;
  float* dst = out + a * run;
  if (r < 0 || r >= g.h) {
    for (int64_t j = 0; j < g.ow; ++j, dst += depth)
      std::memset(dst, 0, sizeof(float) * static_cast<size_t>(run));
    return;
  }
  const float* line = img + r * g.w * g.c;
  for (int64_t j = 0; j < g.ow; ++j, dst += depth) {
    const int64_t c0 = j * g.sw - g.pad_left;
    if (g.dw == 1 && c0 >= 0 && c0 + g.kw <= g.w) {
      copy_floats(dst, line + c0 * g.c, run);  // the patch row is one contiguous run
      continue;
    }
    for (int64_t b = 0; b < g.kw; ++b) {
      const int64_t col = c0 + b * g.dw;
      if (col < 0 || col >= g.w)
        std::memset(dst + b * g.c, 0, sizeof(float) * static_cast<size_t>(g.c));
      else
        copy_floats(dst + b * g.c, line + col * g.c, g.c);
    }
  }
}

// Memory-bound copies of patch rows: one portable route, registered so NNFAST_VERBOSE and
// selected_kernels() report it like every other family.
enum class PatchesRoute { rows };
const PatchesRoute kPatchRows = PatchesRoute::rows;
const dispatch::Registry<PatchesRoute> kPatches{"extract_patches",
                                                {{Isa::ref, "patches_2d_ref", &kPatchRows}}};

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
  kPatches.select();
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
