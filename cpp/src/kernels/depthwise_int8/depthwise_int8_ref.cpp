// Scalar reference of the int8 depthwise kernel: the exact int32 sum per output channel.
#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "kernels/depthwise_int8/depthwise_int8_rows_impl.h"

namespace nnfast::kernels {

void s8_depthwise_ref(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                      int64_t p1, float* dst) {
  const Conv2DShape& s = *a.shape;
  const int64_t hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    int8_depthwise_tap_rows(a, p / hw, (p % hw) / s.out_w, p % s.out_w, tap_rows);
    float* d = dst + (p - p0) * s.out_c;
    for (int64_t o = 0; o < s.out_c; ++o) {
      int32_t acc = 0;
      for (int64_t t = 0; t < a.taps_even; ++t)
        acc += static_cast<int32_t>(tap_rows[t][o]) * a.w_taps[t * a.cp + o];
      d[o] = static_cast<float>(acc);
    }
  }
}

void s8_channel_absmax_ref(const float* x, int64_t pixels, int64_t c, uint32_t* max_bits) {
  s8_channel_absmax_impl(x, pixels, c, max_bits);
}

void s8_quantize_rows_ref(const float* x, int64_t pixels, int64_t c, int64_t dm, int64_t cp,
                          const float* scale, int8_t* dst) {
  s8_quantize_rows_impl(x, pixels, c, dm, cp, scale, dst);
}

}  // namespace nnfast::kernels
