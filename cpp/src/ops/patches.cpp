// extract_patches over channels_last images: each output pixel copies kh runs of kw * c
// contiguous floats (one run per patch row when the dilation is 1, else kw runs of c), and
// writes zeros where the window leaves the image, so "same" padding needs no padded copy.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "nnfast/gather.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"

namespace nnfast {
namespace {

// One output pixel: out[(a * kw + b) * c + ch] = x[n, r0 + a * dh, c0 + b * dw, ch].
void patch(const float* img, const Patches2D& g, int64_t r0, int64_t c0, float* out) {
  const int64_t run = g.kw * g.c;
  const bool contiguous = g.dw == 1 && c0 >= 0 && c0 + g.kw <= g.w;
  for (int64_t a = 0; a < g.kh; ++a, out += run) {
    const int64_t r = r0 + a * g.dh;
    if (r < 0 || r >= g.h) {
      std::memset(out, 0, sizeof(float) * static_cast<size_t>(run));
      continue;
    }
    const float* line = img + r * g.w * g.c;
    if (contiguous) {
      std::memcpy(out, line + c0 * g.c, sizeof(float) * static_cast<size_t>(run));
      continue;
    }
    for (int64_t b = 0; b < g.kw; ++b) {
      const int64_t col = c0 + b * g.dw;
      float* dst = out + b * g.c;
      if (col < 0 || col >= g.w)
        std::memset(dst, 0, sizeof(float) * static_cast<size_t>(g.c));
      else
        std::memcpy(dst, line + col * g.c, sizeof(float) * static_cast<size_t>(g.c));
    }
  }
}

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
  const int64_t depth = g.kh * g.kw * g.c;
  const int64_t pixels = g.batch * g.oh * g.ow;
  if (pixels == 0 || depth == 0) return;
  log_choice("extract_patches", "patches_2d_ref", "memory-bound, one variant");
  parallel_for_rows(pixels, depth, 1 << 16, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / (g.oh * g.ow), rem = p - n * g.oh * g.ow;
      const int64_t i = rem / g.ow, j = rem - i * g.ow;
      patch(x + n * g.h * g.w * g.c, g, i * g.sh - g.pad_top, j * g.sw - g.pad_left,
            out + p * depth);
    }
  });
}

}  // namespace nnfast
