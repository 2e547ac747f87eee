// Scalar reference pieces of the convolution: the im2col gathers (pure data movement, shared
// by every ISA; the GEMM they feed is dispatched by sgemm) and the reference depthwise loops.
#include <string.h>

#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/conv_pool_impl.h"
#include "kernels/conv/depthwise_impl.h"

NNFAST_DEFINE_DEPTHWISE(ref)
NNFAST_DEFINE_DIRECT_CONV(ref)
NNFAST_DEFINE_CONV_POOL(ref)

namespace nnfast::kernels {

void f32_im2col_nhwc_ref(const Conv2DShape& s, int64_t group, const float* src, int64_t p0,
                         int64_t p1, float* col) {
  const int64_t cin_g = s.in_c / s.groups;
  const int64_t K = s.kernel_h * s.kernel_w * cin_g;
  const int64_t hw = s.out_h * s.out_w;
  const int64_t c0 = group * cin_g;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    float* row = col + (p - p0) * K;
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      float* dst = row + kh * s.kernel_w * cin_g;
      if (ih < 0 || ih >= s.in_h) {
        memset(dst, 0, (size_t)(s.kernel_w * cin_g) * sizeof(float));
        continue;
      }
      const float* src_row = src + (b * s.in_h + ih) * s.in_w * s.in_c + c0;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw, dst += cin_g) {
        const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) {
          memset(dst, 0, (size_t)cin_g * sizeof(float));
        } else if (cin_g == 1) {
          *dst = src_row[iw * s.in_c];
        } else {
          memcpy(dst, src_row + iw * s.in_c, (size_t)cin_g * sizeof(float));
        }
      }
    }
  }
}

void f32_col2im_gather_nhwc_ref(const Conv2DShape& s, int64_t group, const float* ddst,
                                int64_t q0, int64_t q1, float* dcol) {
  const int64_t cout_g = s.out_c / s.groups;
  const int64_t K = s.kernel_h * s.kernel_w * cout_g;
  const int64_t hw = s.in_h * s.in_w;
  const int64_t o0 = group * cout_g;
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t b = q / hw, ih = (q % hw) / s.in_w, iw = q % s.in_w;
    float* row = dcol + (q - q0) * K;
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      float* dst = row + kh * s.kernel_w * cout_g;
      const int64_t nh = ih + s.pad_top - kh * s.dilation_h;
      const int64_t oh = nh / s.stride_h;
      if (nh < 0 || nh % s.stride_h || oh >= s.out_h) {
        memset(dst, 0, (size_t)(s.kernel_w * cout_g) * sizeof(float));
        continue;
      }
      const float* g_row = ddst + (b * s.out_h + oh) * s.out_w * s.out_c + o0;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw, dst += cout_g) {
        const int64_t nw = iw + s.pad_left - kw * s.dilation_w;
        const int64_t ow = nw / s.stride_w;
        if (nw < 0 || nw % s.stride_w || ow >= s.out_w)
          memset(dst, 0, (size_t)cout_g * sizeof(float));
        else
          memcpy(dst, g_row + ow * s.out_c, (size_t)cout_g * sizeof(float));
      }
    }
  }
}

void f32_conv_tile_ref(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                       const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                       int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd) {
  for (int64_t i = 0; i < mr; ++i) {
    float* d = dst + i * ldd;
    for (int64_t o = 0; o < nc; ++o) {
      float acc = (flags & kConvTileAccumulate) ? d[o] : (bias ? bias[o0 + o] : 0.0f);
      // Taps, then input channels in order: the sum the vector tiles form lane by lane.
      for (int64_t t = 0; t < ntaps; ++t) {
        const float* xi = x[t * kConvTilePixels + i];
        const float* w = kernel + tap[t] * in_c * out_c + o0 + o;
        for (int64_t ci = 0; ci < in_c; ++ci) acc += xi[ci] * w[ci * out_c];
      }
      d[o] = (flags & kConvTileRelu) && acc < 0.0f ? 0.0f : acc;
    }
  }
}

}  // namespace nnfast::kernels
