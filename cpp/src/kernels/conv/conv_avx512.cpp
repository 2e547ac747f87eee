// AVX-512 convolution kernels: the depthwise/relu loops of depthwise_impl.h vectorised by the
// compiler, and a register-blocked direct convolution for small kh*kw*in_c layers.
#include <immintrin.h>

#include "kernels/conv/conv_kernels.h"
#include "kernels/conv/depthwise_impl.h"

NNFAST_DEFINE_DEPTHWISE(avx512)

namespace nnfast::kernels {
namespace {

inline __mmask16 lane_mask(int64_t remaining) {
  return remaining >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << remaining) - 1u);
}

// One output pixel, output channels [o0, o0 + 16*NV) (the last vector masked): accumulators
// stay in registers across every tap and input channel.
template <int NV>
inline void direct_pixel(const Conv2DShape& s, const float* src, const float* kernel,
                         const float* bias, int relu, float* d, int64_t b, int64_t oh,
                         int64_t ow, int64_t o0, const __mmask16* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  __m512 acc[NV];
  for (int v = 0; v < NV; ++v)
    acc[v] = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const float* x = src + ((b * s.in_h + ih) * s.in_w + iw) * C;
      const float* w = kernel + (kh * s.kernel_w + kw) * C * OC + o0;
      for (int64_t ci = 0; ci < C; ++ci) {
        const __m512 xv = _mm512_set1_ps(x[ci]);
        for (int v = 0; v < NV; ++v)
          acc[v] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[v], w + ci * OC + 16 * v), acc[v]);
      }
    }
  }
  for (int v = 0; v < NV; ++v) {
    __m512 r = relu ? _mm512_maskz_max_ps((__mmask16)0xFFFF, acc[v], _mm512_setzero_ps()) : acc[v];
    _mm512_mask_storeu_ps(d + o0 + 16 * v, m[v], r);
  }
}

// Four horizontally adjacent output pixels whose windows lie inside the input columns: each
// weight vector loaded once feeds four FMAs (one per pixel).
template <int NV>
inline void direct_pixel4(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t o0, const __mmask16* m) {
  const int64_t C = s.in_c, OC = s.out_c;
  const int64_t xstep = s.stride_w * C;  // input distance between adjacent output pixels
  __m512 acc[4][NV];
  for (int v = 0; v < NV; ++v) {
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m[v], bias + o0 + 16 * v) : _mm512_setzero_ps();
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
        const __m512 x0 = _mm512_set1_ps(x[ci]), x1 = _mm512_set1_ps(x[ci + xstep]);
        const __m512 x2 = _mm512_set1_ps(x[ci + 2 * xstep]), x3 = _mm512_set1_ps(x[ci + 3 * xstep]);
        for (int v = 0; v < NV; ++v) {
          const __m512 wv = _mm512_maskz_loadu_ps(m[v], w + ci * OC + 16 * v);
          acc[0][v] = _mm512_fmadd_ps(x0, wv, acc[0][v]);
          acc[1][v] = _mm512_fmadd_ps(x1, wv, acc[1][v]);
          acc[2][v] = _mm512_fmadd_ps(x2, wv, acc[2][v]);
          acc[3][v] = _mm512_fmadd_ps(x3, wv, acc[3][v]);
        }
      }
    }
  }
  for (int j = 0; j < 4; ++j)
    for (int v = 0; v < NV; ++v) {
      __m512 r = relu ? _mm512_maskz_max_ps((__mmask16)0xFFFF, acc[j][v], _mm512_setzero_ps())
                      : acc[j][v];
      _mm512_mask_storeu_ps(d + j * OC + o0 + 16 * v, m[v], r);
    }
}

template <int NV>
inline void direct_pixels(const Conv2DShape& s, const float* src, const float* kernel,
                          const float* bias, int relu, float* d, int64_t b, int64_t oh,
                          int64_t ow, int64_t count, int64_t o0, const __mmask16* m) {
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
      __mmask16 m[4];
      for (int v = 0; v < 4; ++v) m[v] = n > 16 * v ? lane_mask(n - 16 * v) : (__mmask16)0;
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
      __mmask16 m = lane_mask(OC - o0);
      __mmask16 mg = m;
      if (relu_y)  // a fused relu passes the gradient only where its output is positive
        mg = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, relu_y + p * OC + o0),
                                     _mm512_setzero_ps(), _CMP_GT_OQ);
      const __m512 gv = _mm512_maskz_loadu_ps(mg, g + o0);
      if (dbias)
        _mm512_mask_storeu_ps(dbias + o0, m,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(m, dbias + o0), gv));
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
            _mm512_mask_storeu_ps(
                wr, m, _mm512_fmadd_ps(_mm512_set1_ps(x[ci]), gv, _mm512_maskz_loadu_ps(m, wr)));
          }
        }
      }
    }
  }
}

}  // namespace nnfast::kernels
