// Portable body of the fused conv + relu + max-pool kernels (see nnfast::ConvPoolShape),
// compiled once per ISA by conv_ref.cpp and conv_avx2.cpp (NNFAST_DEFINE_CONV_POOL); plain
// loops over the contiguous output-channel axis that the compiler vectorises.
// conv_avx512.cpp has a register-blocked version of both loops.
// NOTE: C-style code only (no std:: templates), as ISA files require.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv/conv_kernels.h"

namespace nnfast::kernels {
namespace {

// Clipped window of pooled pixel (py, px) in conv-output coordinates: rows [*h0, *h1) and
// columns [*w0, *w1); *oh0/*ow0 is the unclipped start (window offsets are relative to it).
inline void conv_pool_window(const ConvPoolShape& s, int64_t py, int64_t px, int64_t* oh0,
                             int64_t* ow0, int64_t* h0, int64_t* h1, int64_t* w0, int64_t* w1) {
  *oh0 = py * s.pool_h - s.pad_top;
  *ow0 = px * s.pool_w - s.pad_left;
  *h0 = *oh0 < 0 ? 0 : *oh0;
  *h1 = *oh0 + s.pool_h > s.conv.out_h ? s.conv.out_h : *oh0 + s.pool_h;
  *w0 = *ow0 < 0 ? 0 : *ow0;
  *w1 = *ow0 + s.pool_w > s.conv.out_w ? s.conv.out_w : *ow0 + s.pool_w;
}

inline void conv_pool_fwd_impl(const ConvPoolShape& ps, const float* src, const float* kernel,
                               const float* bias, float* pooled, uint8_t* argidx, int64_t q0,
                               int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t C = s.in_c, OC = s.out_c, phw = ps.pooled_h * ps.pooled_w;
  float z[512], best[512];
  int32_t arg[512];
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t b = q / phw, py = (q % phw) / ps.pooled_w, px = q % ps.pooled_w;
    int64_t oh0, ow0, h0, h1, w0, w1;
    conv_pool_window(ps, py, px, &oh0, &ow0, &h0, &h1, &w0, &w1);
    for (int64_t o = 0; o < OC; ++o) {
      best[o] = -INFINITY;
      arg[o] = 0;
    }
    for (int64_t oh = h0; oh < h1; ++oh)
      for (int64_t ow = w0; ow < w1; ++ow) {
        const int32_t j = (int32_t)((oh - oh0) * ps.pool_w + (ow - ow0));
        for (int64_t o = 0; o < OC; ++o) z[o] = bias ? bias[o] : 0.0f;
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
              float* __restrict zz = z;
              for (int64_t o = 0; o < OC; ++o) zz[o] += xv * wr[o];
            }
          }
        }
        // Strict '>' keeps the first maximum in row-major window order (max_pool2d's rule);
        // NaN wins (z != z), as relu and max pooling propagate it in Keras and PyTorch.
        for (int64_t o = 0; o < OC; ++o) {
          const bool take = z[o] > best[o] || z[o] != z[o];
          best[o] = take ? z[o] : best[o];
          arg[o] = take ? j : arg[o];
        }
      }
    float* __restrict d = pooled + q * OC;
    // max(relu(z)) == relu(max(z)); a window with no positive value pools to 0, NaN stays.
    for (int64_t o = 0; o < OC; ++o) d[o] = best[o] > 0.0f || best[o] != best[o] ? best[o] : 0.0f;
    if (argidx) {
      uint8_t* __restrict a = argidx + q * OC;
      for (int64_t o = 0; o < OC; ++o) a[o] = (uint8_t)arg[o];
    }
  }
}

// Accumulates dkernel (kh, kw, in_c, out_c) and dbias over pooled pixels [q0, q1): the
// gradient of pooled element (q, o) reaches the conv output at window offset argidx[q, o]
// when pooled[q, o] > 0, and nowhere otherwise.
inline void conv_pool_bwd_weights_impl(const ConvPoolShape& ps, const float* src,
                                       const float* dpooled, const float* pooled,
                                       const uint8_t* argidx, float* dkernel, float* dbias,
                                       int64_t q0, int64_t q1) {
  const Conv2DShape& s = ps.conv;
  const int64_t C = s.in_c, OC = s.out_c, phw = ps.pooled_h * ps.pooled_w;
  float gm[512];
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t b = q / phw, py = (q % phw) / ps.pooled_w, px = q % ps.pooled_w;
    int64_t oh0, ow0, h0, h1, w0, w1;
    conv_pool_window(ps, py, px, &oh0, &ow0, &h0, &h1, &w0, &w1);
    const float* __restrict g = dpooled + q * OC;
    const float* __restrict y = pooled + q * OC;
    const uint8_t* __restrict a = argidx + q * OC;
    if (dbias) {
      float* __restrict db = dbias;
      for (int64_t o = 0; o < OC; ++o) db[o] += y[o] > 0.0f ? g[o] : 0.0f;
    }
    for (int64_t oh = h0; oh < h1; ++oh)
      for (int64_t ow = w0; ow < w1; ++ow) {
        const int32_t j = (int32_t)((oh - oh0) * ps.pool_w + (ow - ow0));
        int any = 0;
        for (int64_t o = 0; o < OC; ++o) {
          const bool on = y[o] > 0.0f && (int32_t)a[o] == j;
          gm[o] = on ? g[o] : 0.0f;
          any |= on;
        }
        if (!any) continue;
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
              const float* __restrict gg = gm;
              for (int64_t o = 0; o < OC; ++o) wr[o] += xv * gg[o];
            }
          }
        }
      }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_CONV_POOL(isa)                                                            \
  namespace nnfast::kernels {                                                                   \
  void f32_conv_relu_maxpool_fwd_##isa(const ConvPoolShape& s, const float* src,               \
                                       const float* kernel, const float* bias, float* pooled,   \
                                       uint8_t* argidx, int64_t q0, int64_t q1) {               \
    conv_pool_fwd_impl(s, src, kernel, bias, pooled, argidx, q0, q1);                           \
  }                                                                                             \
  void f32_conv_relu_maxpool_bwd_weights_##isa(                                                 \
      const ConvPoolShape& s, const float* src, const float* dpooled, const float* pooled,      \
      const uint8_t* argidx, float* dkernel, float* dbias, int64_t q0, int64_t q1) {            \
    conv_pool_bwd_weights_impl(s, src, dpooled, pooled, argidx, dkernel, dbias, q0, q1);        \
  }                                                                                             \
  }
