// Body of the direct depthwise kernels, compiled once per ISA: conv_ref.cpp, conv_avx2.cpp and
// conv_avx512.cpp each include this file and wrap these internal-linkage functions, so the
// compiler vectorises the channel loops for that file's instruction set.
// NOTE: plain C loops only (no std:: templates), as ISA files require. Inner loops run over
// contiguous channels (NHWC), so they vectorise with __restrict pointers.
#pragma once
#include <stdint.h>
#include <string.h>

#include "nnfast/conv.h"

namespace nnfast::kernels {
namespace {

inline void depthwise_fwd_impl(const Conv2DShape& s, const float* src, const float* kernel,
                               const float* bias, float* dst, int64_t p0, int64_t p1) {
  const int64_t C = s.in_c, OC = s.out_c, dm = OC / C;
  const int64_t hw = s.out_h * s.out_w;
  // Pixel coordinates stepped from p0's: three divisions per pixel cost as much as the
  // multiply-adds of a 96-channel pixel.
  int64_t b = p0 / hw, oh = (p0 % hw) / s.out_w, ow = p0 % s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    if (p > p0 && ++ow == s.out_w) {
      ow = 0;
      if (++oh == s.out_h) {
        oh = 0;
        ++b;
      }
    }
    float* __restrict d = dst + (p - p0) * OC;
    // The output is far larger than the caches: ask for the lines two pixels ahead.
    if (p + 2 < p1)
      for (int64_t o = 0; o < OC; o += 16) __builtin_prefetch(d + 2 * OC + o, 1);
    if (bias)
      memcpy(d, bias, (size_t)OC * sizeof(float));
    else
      memset(d, 0, (size_t)OC * sizeof(float));
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.in_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) continue;
        const float* __restrict x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
        const float* __restrict w = kernel + (kh * s.kernel_w + kw) * OC;
        if (dm == 1) {
          for (int64_t o = 0; o < OC; ++o) d[o] += x[o] * w[o];
        } else {
          for (int64_t c = 0; c < C; ++c)
            for (int64_t m = 0; m < dm; ++m) d[c * dm + m] += x[c] * w[c * dm + m];
        }
      }
    }
  }
}

inline void depthwise_bwd_data_impl(const Conv2DShape& s, const float* ddst,
                                    const float* kernel, float* dsrc, int64_t q0, int64_t q1) {
  const int64_t C = s.in_c, OC = s.out_c, dm = OC / C;
  const int64_t hw = s.in_h * s.in_w;
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t b = q / hw, ih = (q % hw) / s.in_w, iw = q % s.in_w;
    float* __restrict d = dsrc + q * C;
    memset(d, 0, (size_t)C * sizeof(float));
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t nh = ih + s.pad_top - kh * s.dilation_h;
      if (nh < 0 || nh % s.stride_h) continue;
      const int64_t oh = nh / s.stride_h;
      if (oh >= s.out_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t nw = iw + s.pad_left - kw * s.dilation_w;
        if (nw < 0 || nw % s.stride_w) continue;
        const int64_t ow = nw / s.stride_w;
        if (ow >= s.out_w) continue;
        const float* __restrict g = ddst + ((b * s.out_h + oh) * s.out_w + ow) * OC;
        const float* __restrict w = kernel + (kh * s.kernel_w + kw) * OC;
        if (dm == 1) {
          for (int64_t c = 0; c < C; ++c) d[c] += g[c] * w[c];
        } else {
          for (int64_t c = 0; c < C; ++c) {
            float acc = 0.0f;
            for (int64_t m = 0; m < dm; ++m) acc += g[c * dm + m] * w[c * dm + m];
            d[c] += acc;
          }
        }
      }
    }
  }
}

inline void depthwise_bwd_weights_impl(const Conv2DShape& s, const float* src,
                                       const float* ddst, float* dkernel, float* dbias,
                                       int64_t p0, int64_t p1) {
  const int64_t C = s.in_c, OC = s.out_c, dm = OC / C;
  const int64_t hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    const float* __restrict g = ddst + p * OC;
    if (dbias) {
      float* __restrict db = dbias;
      for (int64_t o = 0; o < OC; ++o) db[o] += g[o];
    }
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.in_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) continue;
        const float* __restrict x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
        float* __restrict w = dkernel + (kh * s.kernel_w + kw) * OC;
        if (dm == 1) {
          for (int64_t o = 0; o < OC; ++o) w[o] += x[o] * g[o];
        } else {
          for (int64_t c = 0; c < C; ++c)
            for (int64_t m = 0; m < dm; ++m) w[c * dm + m] += x[c] * g[c * dm + m];
        }
      }
    }
  }
}

// Direct convolution for layers with few input channels per output (kh*kw*cin small, e.g.
// the first layer of an image model): im2col + GEMM would spend its time packing a K=9 or
// K=27 operand, while here every output pixel accumulates its out_c channels in L1.
inline void direct_fwd_impl(const Conv2DShape& s, const float* src, const float* kernel,
                            const float* bias, int relu, float* dst, int64_t p0, int64_t p1) {
  const int64_t C = s.in_c, OC = s.out_c;
  const int64_t hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    float* __restrict d = dst + p * OC;
    if (bias)
      memcpy(d, bias, (size_t)OC * sizeof(float));
    else
      memset(d, 0, (size_t)OC * sizeof(float));
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.in_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) continue;
        const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
        const float* w = kernel + (kh * s.kernel_w + kw) * C * OC;
        for (int64_t ci = 0; ci < C; ++ci) {
          const float xv = x[ci];
          const float* __restrict wr = w + ci * OC;
          for (int64_t o = 0; o < OC; ++o) d[o] += xv * wr[o];
        }
      }
    }
    if (relu)
      for (int64_t o = 0; o < OC; ++o) d[o] = d[o] > 0.0f ? d[o] : 0.0f;
  }
}

// Accumulates dkernel (kh, kw, cin, out_c) and dbias over output pixels [p0, p1).
// With relu_y, ddst is masked by relu_y > 0 (a fused relu's gradient); OC <= 512 here.
inline void direct_bwd_weights_impl(const Conv2DShape& s, const float* src, const float* ddst,
                                    const float* relu_y, float* dkernel, float* dbias,
                                    int64_t p0, int64_t p1) {
  const int64_t C = s.in_c, OC = s.out_c;
  const int64_t hw = s.out_h * s.out_w;
  float masked[512];
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    const float* __restrict g = ddst + p * OC;
    if (relu_y) {
      const float* __restrict y = relu_y + p * OC;
      for (int64_t o = 0; o < OC; ++o) masked[o] = y[o] > 0.0f ? g[o] : 0.0f;
      g = masked;
    }
    if (dbias) {
      float* __restrict db = dbias;
      for (int64_t o = 0; o < OC; ++o) db[o] += g[o];
    }
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.in_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) continue;
        const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
        float* w = dkernel + (kh * s.kernel_w + kw) * C * OC;
        for (int64_t ci = 0; ci < C; ++ci) {
          const float xv = x[ci];
          float* __restrict wr = w + ci * OC;
          for (int64_t o = 0; o < OC; ++o) wr[o] += xv * g[o];
        }
      }
    }
  }
}

// dz = y > 0 ? g : 0 (plain relu's gradient from its output).
inline void relu_bwd_impl(const float* y, const float* g, float* dz, int64_t n) {
  const float* __restrict yy = y;
  const float* __restrict gg = g;
  float* __restrict d = dz;
  for (int64_t i = 0; i < n; ++i) d[i] = yy[i] > 0.0f ? gg[i] : 0.0f;
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_DEPTHWISE(isa)                                                           \
  namespace nnfast::kernels {                                                                  \
  void f32_depthwise_fwd_##isa(const Conv2DShape& s, const float* src, const float* kernel,   \
                               const float* bias, float* dst, int64_t p0, int64_t p1) {        \
    depthwise_fwd_impl(s, src, kernel, bias, dst, p0, p1);                                     \
  }                                                                                            \
  void f32_depthwise_bwd_data_##isa(const Conv2DShape& s, const float* ddst,                  \
                                    const float* kernel, float* dsrc, int64_t q0, int64_t q1) { \
    depthwise_bwd_data_impl(s, ddst, kernel, dsrc, q0, q1);                                    \
  }                                                                                            \
  void f32_depthwise_bwd_weights_##isa(const Conv2DShape& s, const float* src,                \
                                       const float* ddst, float* dkernel, float* dbias,        \
                                       int64_t p0, int64_t p1) {                               \
    depthwise_bwd_weights_impl(s, src, ddst, dkernel, dbias, p0, p1);                          \
  }                                                                                            \
  void f32_relu_bwd_##isa(const float* y, const float* g, float* dz, int64_t n) {              \
    relu_bwd_impl(y, g, dz, n);                                                                \
  }                                                                                            \
  }

// The direct small-channel convolution from the portable loops (ref, avx2); conv_avx512.cpp
// has its own register-blocked version.
#define NNFAST_DEFINE_DIRECT_CONV(isa)                                                         \
  namespace nnfast::kernels {                                                                  \
  void f32_direct_conv_fwd_##isa(const Conv2DShape& s, const float* src, const float* kernel, \
                                 const float* bias, int relu, float* dst, int64_t p0,          \
                                 int64_t p1) {                                                 \
    direct_fwd_impl(s, src, kernel, bias, relu, dst, p0, p1);                                  \
  }                                                                                            \
  void f32_direct_conv_bwd_weights_##isa(const Conv2DShape& s, const float* src,              \
                                         const float* ddst, const float* relu_y,               \
                                         float* dkernel, float* dbias, int64_t p0, int64_t p1) { \
    direct_bwd_weights_impl(s, src, ddst, relu_y, dkernel, dbias, p0, p1);                     \
  }                                                                                            \
  }
