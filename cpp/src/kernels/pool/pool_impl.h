// Body of the pooling kernels, compiled once per ISA (pool_ref.cpp, pool_avx2.cpp,
// pool_avx512.cpp include this and instantiate NNFAST_DEFINE_POOL): plain loops over the
// contiguous channel axis that the compiler vectorises for each file's flags.
// NOTE: C-style code only (no std:: templates), as ISA files require.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/pool/pool_kernels.h"

namespace nnfast::kernels {
namespace {

// NOTE: NaN wins, as in PyTorch and ops.max: a diverging model must not hide behind max
// pooling. (x != x) is true only for NaN; once the running max is NaN nothing replaces it.
inline bool max_takes(float x, float best) { return x > best || x != x; }

inline void window(const Pool2DShape& s, int64_t oh, int64_t ow, int64_t* h0, int64_t* h1,
                   int64_t* w0, int64_t* w1) {
  const int64_t hs = oh * s.stride_h - s.pad_top, ws = ow * s.stride_w - s.pad_left;
  *h0 = hs < 0 ? 0 : hs;
  *h1 = hs + s.pool_h > s.in_h ? s.in_h : hs + s.pool_h;
  *w0 = ws < 0 ? 0 : ws;
  *w1 = ws + s.pool_w > s.in_w ? s.in_w : ws + s.pool_w;
}

inline void max_fwd_impl(const Pool2DShape& s, const float* src, float* dst, int32_t* argmax,
                         int64_t p0, int64_t p1) {
  const int64_t C = s.channels, hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    int64_t h0, h1, w0, w1;
    window(s, oh, ow, &h0, &h1, &w0, &w1);
    float* __restrict d = dst + p * C;
    const float* img = src + b * s.in_h * s.in_w * C;
    for (int64_t c = 0; c < C; ++c) d[c] = -INFINITY;
    if (argmax) {
      int32_t* __restrict a = argmax + p * C;
      for (int64_t c = 0; c < C; ++c) a[c] = (int32_t)(h0 * s.in_w + w0);
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const int32_t pos = (int32_t)(ih * s.in_w + iw);
          const float* __restrict x = img + pos * C;
          for (int64_t c = 0; c < C; ++c) {
            const bool take = max_takes(x[c], d[c]);
            d[c] = take ? x[c] : d[c];
            a[c] = take ? pos : a[c];
          }
        }
    } else {
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const float* __restrict x = img + (ih * s.in_w + iw) * C;
          for (int64_t c = 0; c < C; ++c) d[c] = max_takes(x[c], d[c]) ? x[c] : d[c];
        }
    }
  }
}

// The gradient a pooled element passes: g, or 0 where relu_y (the pooled output of a relu'd
// input, the relu mask at every argmax) is not positive -- relu's backward folded in.
inline float relu_masked(const float* relu_y, int64_t i, float g) {
  return relu_y && !(relu_y[i] > 0.0f) ? 0.0f : g;
}

// Zeros the rows and columns of one image's input gradient that no window reaches (the
// 'valid' remainder of tiling windows).
inline void zero_unpooled(const Pool2DShape& s, float* img) {
  const int64_t C = s.channels;
  const int64_t rows_end = s.out_h * s.stride_h - s.pad_top < s.in_h
                               ? s.out_h * s.stride_h - s.pad_top : s.in_h;
  const int64_t cols_end = s.out_w * s.stride_w - s.pad_left < s.in_w
                               ? s.out_w * s.stride_w - s.pad_left : s.in_w;
  if (rows_end < s.in_h)
    memset(img + rows_end * s.in_w * C, 0, (size_t)((s.in_h - rows_end) * s.in_w * C) * sizeof(float));
  if (cols_end < s.in_w)
    for (int64_t ih = 0; ih < rows_end; ++ih)
      memset(img + (ih * s.in_w + cols_end) * C, 0,
             (size_t)((s.in_w - cols_end) * C) * sizeof(float));
}

// Windows that tile the input without overlap (stride == pool): every input element belongs
// to at most one window, so each is written exactly once (no zero-fill pass, no scatter).
inline void max_bwd_tiled(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                          const float* relu_y, float* dsrc, int64_t b0, int64_t b1) {
  const int64_t C = s.channels, hw = s.out_h * s.out_w, in_hw = s.in_h * s.in_w;
  for (int64_t b = b0; b < b1; ++b) {
    float* img = dsrc + b * in_hw * C;
    zero_unpooled(s, img);
    for (int64_t q = 0; q < hw; ++q) {
      int64_t h0, h1, w0, w1;
      window(s, q / s.out_w, q % s.out_w, &h0, &h1, &w0, &w1);
      const float* __restrict g = ddst + (b * hw + q) * C;
      const int32_t* __restrict a = argmax + (b * hw + q) * C;
      const float* __restrict y = relu_y ? relu_y + (b * hw + q) * C : (const float*)0;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const int32_t pos = (int32_t)(ih * s.in_w + iw);
          float* __restrict x = img + (int64_t)pos * C;
          if (y)
            for (int64_t c = 0; c < C; ++c) x[c] = a[c] == pos && y[c] > 0.0f ? g[c] : 0.0f;
          else
            for (int64_t c = 0; c < C; ++c) x[c] = a[c] == pos ? g[c] : 0.0f;
        }
    }
  }
}

inline void max_bwd_impl(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                         const float* relu_y, float* dsrc, int64_t b0, int64_t b1) {
  if (s.stride_h == s.pool_h && s.stride_w == s.pool_w) {
    max_bwd_tiled(s, ddst, argmax, relu_y, dsrc, b0, b1);
    return;
  }
  const int64_t C = s.channels, hw = s.out_h * s.out_w, in_hw = s.in_h * s.in_w;
  memset(dsrc + b0 * in_hw * C, 0, (size_t)((b1 - b0) * in_hw * C) * sizeof(float));
  for (int64_t b = b0; b < b1; ++b) {
    float* img = dsrc + b * in_hw * C;
    for (int64_t q = 0; q < hw; ++q) {
      const float* g = ddst + (b * hw + q) * C;
      const int32_t* a = argmax + (b * hw + q) * C;
      for (int64_t c = 0; c < C; ++c)
        img[(int64_t)a[c] * C + c] += relu_masked(relu_y, (b * hw + q) * C + c, g[c]);
    }
  }
}

inline void avg_fwd_impl(const Pool2DShape& s, const float* src, float* dst, int64_t p0,
                         int64_t p1) {
  const int64_t C = s.channels, hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    int64_t h0, h1, w0, w1;
    window(s, oh, ow, &h0, &h1, &w0, &w1);
    float* __restrict d = dst + p * C;
    const float* img = src + b * s.in_h * s.in_w * C;
    for (int64_t c = 0; c < C; ++c) d[c] = 0.0f;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) {
        const float* __restrict x = img + (ih * s.in_w + iw) * C;
        for (int64_t c = 0; c < C; ++c) d[c] += x[c];
      }
    const int64_t count = (h1 - h0) * (w1 - w0);
    const float inv = count > 0 ? 1.0f / (float)count : 0.0f;
    for (int64_t c = 0; c < C; ++c) d[c] *= inv;
  }
}

inline void avg_bwd_impl(const Pool2DShape& s, const float* ddst, float* dsrc, int64_t b0,
                         int64_t b1) {
  const int64_t C = s.channels, hw = s.out_h * s.out_w, in_hw = s.in_h * s.in_w;
  memset(dsrc + b0 * in_hw * C, 0, (size_t)((b1 - b0) * in_hw * C) * sizeof(float));
  for (int64_t b = b0; b < b1; ++b) {
    float* img = dsrc + b * in_hw * C;
    for (int64_t q = 0; q < hw; ++q) {
      int64_t h0, h1, w0, w1;
      window(s, q / s.out_w, q % s.out_w, &h0, &h1, &w0, &w1);
      const int64_t count = (h1 - h0) * (w1 - w0);
      if (count <= 0) continue;
      const float inv = 1.0f / (float)count;
      const float* __restrict g = ddst + (b * hw + q) * C;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          float* __restrict x = img + (ih * s.in_w + iw) * C;
          for (int64_t c = 0; c < C; ++c) x[c] += g[c] * inv;
        }
    }
  }
}

inline void gavg_fwd_impl(const float* src, int64_t spatial, int64_t C, float* dst, int64_t b0,
                          int64_t b1) {
  const float inv = spatial > 0 ? 1.0f / (float)spatial : 0.0f;
  for (int64_t b = b0; b < b1; ++b) {
    float* __restrict d = dst + b * C;
    for (int64_t c = 0; c < C; ++c) d[c] = 0.0f;
    for (int64_t q = 0; q < spatial; ++q) {
      const float* __restrict x = src + (b * spatial + q) * C;
      for (int64_t c = 0; c < C; ++c) d[c] += x[c];
    }
    for (int64_t c = 0; c < C; ++c) d[c] *= inv;
  }
}

inline void gmax_fwd_impl(const float* src, int64_t spatial, int64_t C, float* dst,
                          int32_t* argmax, int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; ++b) {
    float* __restrict d = dst + b * C;
    int32_t* __restrict a = argmax ? argmax + b * C : (int32_t*)0;
    for (int64_t c = 0; c < C; ++c) d[c] = -INFINITY;
    if (a)
      for (int64_t c = 0; c < C; ++c) a[c] = 0;
    for (int64_t q = 0; q < spatial; ++q) {
      const float* __restrict x = src + (b * spatial + q) * C;
      if (a) {
        for (int64_t c = 0; c < C; ++c) {
          const bool take = max_takes(x[c], d[c]);
          d[c] = take ? x[c] : d[c];
          a[c] = take ? (int32_t)q : a[c];
        }
      } else {
        for (int64_t c = 0; c < C; ++c) d[c] = max_takes(x[c], d[c]) ? x[c] : d[c];
      }
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_POOL(isa)                                                        \
  namespace nnfast::kernels {                                                          \
  const PoolKernels f32_pool_##isa = {max_fwd_impl, max_bwd_impl,  avg_fwd_impl,       \
                                      avg_bwd_impl, gavg_fwd_impl, gmax_fwd_impl,      \
                                      "f32_pool_" #isa};                               \
  }
