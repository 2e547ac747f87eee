// Body of the bilinear resize kernels, compiled once per ISA (resize_ref.cpp, resize_avx2.cpp
// instantiate NNFAST_DEFINE_RESIZE): loops over the contiguous channel axis that the compiler
// vectorises for each file's flags; compiled without flags it is the scalar reference the
// other variants are tested against (resize_avx512.cpp is hand-vectorised).
// Forward: per output row, lerp the two source rows into scratch (height axis), then lerp the
// two source columns of each output pixel (width axis). Backward: the transpose in gather
// form, so each input row is written once by the thread that owns it.
#pragma once
#include <stdint.h>
#include <string.h>

#include "kernels/resize/resize_kernels.h"

namespace nnfast::kernels {
namespace {

void fwd(const Resize2DShape& s, const ResizeAxis& rows, const ResizeAxis& cols,
         const float* src, float* dst, float* scratch, int64_t r0, int64_t r1) {
  const int64_t C = s.channels, n = s.in_w * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / s.out_h, oh = r % s.out_h;
    const float* a = src + (b * s.in_h + rows.lo[oh]) * n;
    const float* c = src + (b * s.in_h + rows.hi[oh]) * n;
    const float wa = rows.w0[oh], wc = rows.w1[oh];
    const float* line = a;
    if (wc != 0.0f || wa != 1.0f) {  // one-tap rows (weight exactly 1) read the source directly
      float* __restrict out = scratch;
      for (int64_t k = 0; k < n; ++k) out[k] = wa * a[k] + wc * c[k];
      line = scratch;
    }
    float* d = dst + r * s.out_w * C;
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      const float* p = line + cols.lo[ow] * C;
      const float* q = line + cols.hi[ow] * C;
      const float wp = cols.w0[ow], wq = cols.w1[ow];
      float* __restrict out = d + ow * C;
      for (int64_t ch = 0; ch < C; ++ch) out[ch] = wp * p[ch] + wq * q[ch];
    }
  }
}

void bwd(const Resize2DShape& s, const ResizeAxis& rows, const ResizeAxis& cols,
         const float* ddst, float* dsrc, float* scratch, int64_t r0, int64_t r1) {
  const int64_t C = s.channels, n = s.out_w * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / s.in_h, ih = r % s.in_h;
    float* d = dsrc + r * s.in_w * C;
    const int64_t o0 = rows.first[ih], o1 = rows.last[ih];
    if (o0 >= o1) {  // downsampling skipped this row: no output reads it
      memset(d, 0, (size_t)(s.in_w * C) * sizeof(float));
      continue;
    }
    // Height axis: acc = sum over the output rows that read row ih of weight * ddst row.
    float* __restrict acc = scratch;
    for (int64_t k = 0; k < n; ++k) acc[k] = 0.0f;
    for (int64_t oh = o0; oh < o1; ++oh) {
      const float wt = tap_weight(rows, oh, ih);
      const float* g = ddst + (b * s.out_h + oh) * n;
      for (int64_t k = 0; k < n; ++k) acc[k] += wt * g[k];
    }
    // Width axis: each input column gathers from the output columns that read it.
    for (int64_t iw = 0; iw < s.in_w; ++iw) {
      float* __restrict di = d + iw * C;
      for (int64_t ch = 0; ch < C; ++ch) di[ch] = 0.0f;
      for (int64_t ow = cols.first[iw]; ow < cols.last[iw]; ++ow) {
        const float wt = tap_weight(cols, ow, iw);
        const float* g = scratch + ow * C;
        for (int64_t ch = 0; ch < C; ++ch) di[ch] += wt * g[ch];
      }
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_RESIZE(isa)                                        \
  namespace nnfast::kernels {                                            \
  const ResizeKernels f32_resize_##isa = {fwd, bwd, "f32_resize_" #isa}; \
  }
