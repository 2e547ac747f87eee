// AVX-512 convolution kernels: the depthwise/relu loops of depthwise_impl.h vectorised by the
// compiler and a register-blocked direct convolution for small kh*kw*in_c layers (the fused
// conv + relu + max-pool on the same arithmetic is in conv_pool_avx512.cpp). Written over the
// vector vocabulary (simd_avx512.h).
#include "kernels/simd_avx512.h"

#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/conv_pixel_avx512.h"
#include "kernels/conv/depthwise_impl.h"

NNFAST_DEFINE_DEPTHWISE(avx512)

namespace nnfast::kernels {
namespace {

// One output pixel, output channels [o0, o0 + 16*NV) (the last vector masked): accumulators
// stay in registers across every tap and input channel.
template <int NV>
inline void direct_pixel(const Conv2DShape& s, const float* src, const float* kernel,
                         const float* bias, int relu, float* d, int64_t b, int64_t oh,
                         int64_t ow, int64_t o0, const VM* m) {
  VF acc[NV];
  conv_at<NV>(s, src, kernel, bias, b, oh, ow, o0, m, acc);
  for (int v = 0; v < NV; ++v) {
    VF r = relu ? vmax(acc[v], vzero()) : acc[v];
    vstore_m(d + o0 + W * v, r, m[v]);
  }
}

// Four horizontally adjacent output pixels whose windows lie inside the input columns: each
// weight vector loaded once feeds four FMAs (one per pixel).
template <int NV>
inline void direct_pixel4(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t o0, const VM* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  const int64_t xstep = s.stride_w * C;  // input distance between adjacent output pixels
  VF acc[4][NV];
  for (int v = 0; v < NV; ++v) {
    const VF b0 = bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
    for (int j = 0; j < 4; ++j) acc[j][v] = b0;
  }
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const VF x0 = vset1(x[ci]), x1 = vset1(x[ci + xstep]);
        const VF x2 = vset1(x[ci + 2 * xstep]), x3 = vset1(x[ci + 3 * xstep]);
        for (int v = 0; v < NV; ++v) {
          const VF wv = vload_m(w + ci * OC + W * v, m[v]);
          acc[0][v] = vfmadd(x0, wv, acc[0][v]);
          acc[1][v] = vfmadd(x1, wv, acc[1][v]);
          acc[2][v] = vfmadd(x2, wv, acc[2][v]);
          acc[3][v] = vfmadd(x3, wv, acc[3][v]);
        }
      }
    }
  }
  for (int j = 0; j < 4; ++j)
    for (int v = 0; v < NV; ++v) {
      VF r = relu ? vmax(acc[j][v], vzero())
                      : acc[j][v];
      vstore_m(d + j * OC + o0 + W * v, r, m[v]);
    }
}

template <int NV>
inline void direct_pixels(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t count, int64_t o0, const VM* m) {
  // 4 pixels at once where the whole block's windows are inside the input columns.
  const int64_t span = (s.kernel_w - 1) * s.dilation_w;
  int64_t j = 0;
  for (; j < count; ++j) {
    const int64_t c = ow + j;
    if (j + 4 <= count && c * s.stride_w - s.pad_left >= 0 &&
        (c + 3) * s.stride_w - s.pad_left + span < s.in_w) {
      direct_pixel4<NV>(s, src, kernel, bias, relu, d + j * s.out_c, b, oh, c, o0, m);
      j += 3;
    } else {
      direct_pixel<NV>(s, src, kernel, bias, relu, d + j * s.out_c, b, oh, c, o0, m);
    }
  }
}

}  // namespace

namespace {

// P pixels x 16*NV channels (P*NV accumulators in registers).
template <int P, int NV>
inline void conv_tile(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                      const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                      int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd) {
  const int relu = flags & kConvTileRelu;
  VM m[NV];
  for (int v = 0; v < NV; ++v)
    m[v] = nc > W * v ? lane_mask(nc - W * v) : vfirst(0);
  // The output rows are written at the end: ask for their lines now, so the stores do not
  // wait on memory (most feature maps are far larger than the caches).
  for (int i = 0; i < P; ++i)
    for (int v = 0; v < NV; ++v)
      vprefetch(dst + i * ldd + W * v);
  VF acc[P][NV];
  if (flags & kConvTileAccumulate) {
#pragma GCC unroll 14
    for (int i = 0; i < P; ++i) {
      const VM live = i < mr ? vfirst(W) : vfirst(0);
      for (int v = 0; v < NV; ++v)
        acc[i][v] = vload_m(dst + i * ldd + W * v, vm_and(m[v], live));
    }
  } else {
    for (int v = 0; v < NV; ++v) {
      const VF b =
          bias ? vload_m(bias + o0 + W * v, m[v]) : vzero();
#pragma GCC unroll 14
      for (int i = 0; i < P; ++i) acc[i][v] = b;
    }
  }
  for (int64_t t = 0; t < ntaps; ++t) {
    const float* const* xt = x + t * kConvTilePixels;
    const float* w = kernel + tap[t] * in_c * out_c + o0;
    for (int64_t ci = 0; ci < in_c; ++ci) {
      // The kernel rows are out_c apart: fetch a few ahead (cold weights stream from DRAM
      // at batch 1, where each row feeds only a few tiles).
      vprefetch(w + (ci + 8) * out_c);
      vprefetch(w + (ci + 8) * out_c + 16);
      VF wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = vload_m(w + ci * out_c + W * v, m[v]);
#pragma GCC unroll 14
      for (int i = 0; i < P; ++i) {
        const VF a = vset1(xt[i][ci]);
        for (int v = 0; v < NV; ++v) acc[i][v] = vfmadd(a, wv[v], acc[i][v]);
      }
    }
  }
  const VF zero = vzero();
  // NOTE: every loop over acc is fully unrolled with constant indices; a data-dependent exit
  // here made GCC keep acc in memory and store it on every FMA step.
#pragma GCC unroll 14
  for (int i = 0; i < P; ++i) {
    const VM live = i < mr ? vfirst(W) : vfirst(0);
    for (int v = 0; v < NV; ++v) {
      VF r = acc[i][v];
      if (relu) r = vmax(r, zero);
      vstore_m(dst + i * ldd + W * v, r, vm_and(m[v], live));
    }
  }
}

}  // namespace

void f32_conv_tile_avx512(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                          const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                          int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd) {
  // NOTE: 14 x 32 measured ~10% faster than 7 pixels x 64 channels on the 3x3 56x56x64
  // layer, although the latter loads fewer values per FMA.
  conv_tile<kConvTilePixels, 2>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, nc, mr, flags,
                                dst, ldd);
}

void f32_direct_conv_fwd_avx512(const Conv2DShape& s, const float* src, const float* kernel,
                                const float* bias, int relu, float* dst, int64_t p0,
                                int64_t p1) {
  const int64_t OC = s.out_c, hw = s.out_h * s.out_w;
  // Walk [p0, p1) in runs of pixels that share one output row.
  for (int64_t p = p0; p < p1;) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    const int64_t count = (s.out_w - ow) < (p1 - p) ? (s.out_w - ow) : (p1 - p);
    float* d = dst + p * OC;
    for (int64_t o0 = 0; o0 < OC; o0 += 64) {
      const int64_t n = OC - o0 < 64 ? OC - o0 : 64;
      VM m[4];
      for (int v = 0; v < 4; ++v) m[v] = n > W * v ? lane_mask(n - W * v) : vfirst(0);
      switch ((n + 15) / 16) {
        case 1: direct_pixels<1>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
        case 2: direct_pixels<2>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
        case 3: direct_pixels<3>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
        default: direct_pixels<4>(s, src, kernel, bias, relu, d, b, oh, ow, count, o0, m); break;
      }
    }
    p += count;
  }
}

void f32_direct_conv_bwd_weights_avx512(const Conv2DShape& s, const float* src,
                                        const float* ddst, const float* relu_y, float* dkernel,
                                        float* dbias, int64_t p0, int64_t p1) {
  const int64_t C = s.in_c, OC = s.out_c, hw = s.out_h * s.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t b = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
    const float* g = ddst + p * OC;
    for (int64_t o0 = 0; o0 < OC; o0 += 16) {
      VM m = lane_mask(OC - o0);
      VM mg = m;
      if (relu_y)  // a fused relu passes the gradient only where its output is positive
        mg = vm_and(m, vgt(vload_m(relu_y + p * OC + o0, m), vzero()));
      const VF gv = vload_m(g + o0, mg);
      if (dbias)
        vstore_m(dbias + o0, vadd(vload_m(dbias + o0, m), gv), m);
      for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
        const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        if (ih < 0 || ih >= s.in_h) continue;
        for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
          const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
          if (iw < 0 || iw >= s.in_w) continue;
          const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
          float* w = dkernel + (kh * s.kernel_w + kw) * C * OC + o0;
          for (int64_t ci = 0; ci < C; ++ci) {
            float* wr = w + ci * OC;
            vstore_m(wr, vfmadd(vset1(x[ci]), gv, vload_m(wr, m)), m);
          }
        }
      }
    }
  }
}

}  // namespace nnfast::kernels
