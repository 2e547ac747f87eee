// Max pooling forward and tiled backward hand-vectorised over the channel axis (the
// vocabulary of kernels/simd_<isa>.h), included by pool_avx2.cpp / pool_avx512.cpp after their
// simd_<isa>.h: each window keeps its running maximum and argmax in registers, and the
// backward builds each input vector once from the window's argmax (and, with relu_y, the
// relu mask) instead of compiler-vectorised loops through memory. Same results as
// pool_impl.h's loops (selection only, no arithmetic): bit-identical to the reference.
#pragma once
#include "kernels/pool/pool_impl.h"

namespace nnfast::kernels {
namespace {

// Output pixels visited in order without a division per pixel.
struct PoolCursor {
  int64_t b, oh, ow;
  PoolCursor(const Pool2DShape& s, int64_t p)
      : b(p / (s.out_h * s.out_w)), oh(p / s.out_w % s.out_h), ow(p % s.out_w) {}
  void next(const Pool2DShape& s) {
    if (++ow == s.out_w) {
      ow = 0;
      if (++oh == s.out_h) {
        oh = 0;
        ++b;
      }
    }
  }
};

// int32 lanes moved through float loads/stores (bit patterns, unchanged).
template <typename Tag>
inline VI ld_i32(Tag tag, const int32_t* p, int64_t m) {
  return vbits(ld(tag, reinterpret_cast<const float*>(p), m));
}
template <typename Tag>
inline void st_i32(Tag tag, int32_t* p, VI v, int64_t m) {
  st(tag, reinterpret_cast<float*>(p), vfrom_bits(v), m);
}

inline void max_fwd_simd(const Pool2DShape& s, const float* src, float* dst, int32_t* argmax,
                         int64_t p0, int64_t p1) {
  const int64_t C = s.channels;
  PoolCursor at(s, p0);
  for (int64_t p = p0; p < p1; ++p, at.next(s)) {
    int64_t h0, h1, w0, w1;
    window(s, at.oh, at.ow, &h0, &h1, &w0, &w1);
    const float* img = src + at.b * s.in_h * s.in_w * C;
    float* d = dst + p * C;
    int32_t* a = argmax ? argmax + p * C : (int32_t*)0;
    for_lanes(C, [&](int64_t c, int64_t m, auto tag) {
      VF best = vset1(-__builtin_inff());
      VI idx = vi_set1((int32_t)(h0 * s.in_w + w0));
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) {
          const int32_t pos = (int32_t)(ih * s.in_w + iw);
          const VF x = ld(tag, img + (int64_t)pos * C + c, m);
          const VM take = vm_or(vgt(x, best), visnan(x));  // max_takes: NaN wins and stays
          best = vselect(take, x, best);
          idx = vi_select(take, vi_set1(pos), idx);
        }
      st(tag, d + c, best, m);
      if (a) st_i32(tag, a + c, idx, m);
    });
  }
}

inline void max_bwd_tiled_simd(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                               const float* relu_y, float* dsrc, int64_t b0, int64_t b1) {
  const int64_t C = s.channels, hw = s.out_h * s.out_w, in_hw = s.in_h * s.in_w;
  for (int64_t b = b0; b < b1; ++b) {
    float* img = dsrc + b * in_hw * C;
    zero_unpooled(s, img);
    PoolCursor at(s, b * hw);
    for (int64_t q = b * hw; q < (b + 1) * hw; ++q, at.next(s)) {
      int64_t h0, h1, w0, w1;
      window(s, at.oh, at.ow, &h0, &h1, &w0, &w1);
      for_lanes(C, [&](int64_t c, int64_t m, auto tag) {
        VF g = ld(tag, ddst + q * C + c, m);
        if (relu_y) g = vkeep(vgt(ld(tag, relu_y + q * C + c, m), vzero()), g);
        const VI a = ld_i32(tag, argmax + q * C + c, m);
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) {
            const int32_t pos = (int32_t)(ih * s.in_w + iw);
            st(tag, img + (int64_t)pos * C + c, vkeep(vi_eq(a, vi_set1(pos)), g), m);
          }
      });
    }
  }
}

inline void max_bwd_simd(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                         const float* relu_y, float* dsrc, int64_t b0, int64_t b1) {
  if (s.stride_h == s.pool_h && s.stride_w == s.pool_w)
    max_bwd_tiled_simd(s, ddst, argmax, relu_y, dsrc, b0, b1);
  else
    max_bwd_impl(s, ddst, argmax, relu_y, dsrc, b0, b1);
}

}  // namespace
}  // namespace nnfast::kernels

// The pool kernel table of an ISA with the vocabulary: the max-pool entries from this file,
// the rest from pool_impl.h.
#define NNFAST_DEFINE_POOL_SIMD(isa)                                                        \
  namespace nnfast::kernels {                                                               \
  const PoolKernels f32_pool_##isa = {max_fwd_simd,  max_bwd_simd,  avg_fwd_impl,           \
                                      avg_bwd_impl,  gavg_fwd_impl, gmax_fwd_impl,          \
                                      "f32_pool_" #isa};                                    \
  }
