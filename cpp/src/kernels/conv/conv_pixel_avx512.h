// One AVX-512 conv output pixel in registers, shared by the direct convolution
// (conv_avx512.cpp) and the fused conv + relu + max-pool (conv_pool_avx512.cpp): both must do
// the arithmetic in the same order so that fused and unfused outputs agree bit for bit.
// Include after kernels/simd_avx512.h.
#pragma once

#include "kernels/conv/conv_kernels.h"

namespace nnfast::kernels {
namespace {

// The first min(remaining, W) lanes; remaining > 0.
inline VM lane_mask(int64_t remaining) { return vfirst(remaining >= W ? W : remaining); }

// Pre-activation conv output at one position, taps bounds-checked; bias, then one FMA per tap in
// kernel row order (the order every caller relies on).
template <int NV>
inline void conv_at(const Conv2DShape& s, const float* src, const float* kernel,
                    const float* bias, int64_t b, int64_t oh, int64_t ow, int64_t o0,
                    const VM* m, VF* acc) {
  const int64_t C = s.in_c, OC = s.out_c;
  for (int v = 0; v < NV; ++v)
    acc[v] = bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const VF xv = vset1(x[ci]);
        for (int v = 0; v < NV; ++v)
          acc[v] = vfmadd(xv, vload_m(w + ci * OC + W * v, m[v]), acc[v]);
      }
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels
