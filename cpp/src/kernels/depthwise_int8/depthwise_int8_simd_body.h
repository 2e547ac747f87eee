// The int8 depthwise kernel, written once over the shared vector vocabulary (simd_<isa>.h,
// included first by depthwise_int8_avx2.cpp / depthwise_int8_avx512.cpp): per W channels and
// pair of taps, vdot_s8_pair (the ISA's vpmaddwd unit) gives W exact int32 sums of two
// products each, accumulated in int32 and converted to float once.
#pragma once
#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "kernels/depthwise_int8/depthwise_int8_rows_impl.h"

namespace nnfast::kernels {
namespace {

inline void depthwise_s8_simd(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                              int64_t p1, float* dst) {
  const Conv2DShape& s = *a.shape;
  const int64_t hw = s.out_h * s.out_w, pairs = a.taps_even / 2, oc = s.out_c;
  for (int64_t p = p0; p < p1; ++p) {
    int8_depthwise_tap_rows(a, p / hw, (p % hw) / s.out_w, p % s.out_w, tap_rows);
    float* d = dst + (p - p0) * oc;
    for (int64_t o = 0; o < oc; o += W) {
      VI acc = vi_set1(0);
      const int32_t* w = a.w_pairs + o;
      for (int64_t q = 0; q < pairs; ++q)
        acc = vi_add(acc, vdot_s8_pair(tap_rows[2 * q] + o, tap_rows[2 * q + 1] + o, w + q * a.cp));
      const VF v = vf_from_i(acc);
      if (oc - o >= W)
        vstore(d + o, v);
      else  // the channel tail: the padded lanes stay out of dst
        vstore_n(d + o, v, oc - o);
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels
