// AVX2 register tile of the implicit-GEMM convolutions: the f32_conv_tile contract of
// conv_kernels.h (up to 14 pixels x 32 channels) on 16 ymm registers. The tile runs as
// sub-tiles of up to 6 pixels x 16 channels: at most 12 accumulators, 2 kernel rows and 1
// broadcast, so per input channel 2 kernel loads feed up to 12 FMAs and nothing spills.
// Written over the shared vector vocabulary (kernels/simd_avx2.h); the register budget makes
// the tile itself AVX2's own (the AVX-512 tiles are in conv_avx512.cpp).
#include "kernels/simd_avx2.h"
#include "kernels/conv/conv_kernels.h"

namespace nnfast::kernels {
namespace {

// Pixels [i0, i0+P) x channels [o0 + c0, o0 + c0 + 16) of the tile; nc16 (1..16) of the
// channels are real (Full: all 16, plain loads and stores).
template <int P, bool Full>
inline void sub_tile(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                     const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                     int64_t c0, int64_t nc16, int64_t i0, int flags, float* dst, int64_t ldd) {
  const int64_t n0 = clamp_lanes(nc16), n1 = clamp_lanes(nc16 - W);
  // Full: all 2W channels real, plain loads and stores; otherwise the first n0 / n1 lanes.
  auto load = [&](const float* p, int64_t n) { return Full ? vload(p) : vload_n(p, n); };
  auto store = [&](float* p, VF v, int64_t n) {
    if (Full)
      vstore(p, v);
    else
      vstore_n(p, v, n);
  };
  VF acc[P][2];
  if (flags & kConvTileAccumulate) {
    for (int i = 0; i < P; ++i) {
      const float* d = dst + (i0 + i) * ldd + c0;
      acc[i][0] = load(d, n0);
      acc[i][1] = load(d + W, n1);
    }
  } else {
    VF b0 = vzero(), b1 = vzero();
    if (bias) {
      const float* bb = bias + o0 + c0;
      b0 = load(bb, n0);
      b1 = load(bb + W, n1);
    }
    for (int i = 0; i < P; ++i) {
      acc[i][0] = b0;
      acc[i][1] = b1;
    }
  }
  for (int64_t t = 0; t < ntaps; ++t) {
    const float* const* xt = x + t * kConvTilePixels + i0;
    const float* w = kernel + tap[t] * in_c * out_c + o0 + c0;
    for (int64_t ci = 0; ci < in_c; ++ci) {
      const float* wr = w + ci * out_c;
      const VF w0 = load(wr, n0);
      const VF w1 = load(wr + W, n1);
#pragma GCC unroll 6
      for (int i = 0; i < P; ++i) {
        const VF a = vset1(xt[i][ci]);
        acc[i][0] = vfmadd(a, w0, acc[i][0]);
        acc[i][1] = vfmadd(a, w1, acc[i][1]);
      }
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i) {
    VF r0 = acc[i][0], r1 = acc[i][1];
    if (flags & kConvTileRelu) {  // max(NaN, 0) is 0, as in the AVX-512 tile
      r0 = vmax(r0, vzero());
      r1 = vmax(r1, vzero());
    }
    float* d = dst + (i0 + i) * ldd + c0;
    store(d, r0, n0);
    store(d + W, r1, n1);
  }
}

template <bool Full>
void pixels(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
            const float* kernel, int64_t out_c, const float* bias, int64_t o0, int64_t c0,
            int64_t nc16, int64_t mr, int flags, float* dst, int64_t ldd) {
  // Balanced sub-tiles (14 pixels: 5 + 5 + 4, not 6 + 6 + 2, whose last one would wait on
  // loads with only 4 FMAs per input channel).
  const int64_t parts = (mr + 5) / 6, base = parts ? mr / parts : 0, extra = parts ? mr % parts : 0;
  for (int64_t part = 0, i0 = 0; part < parts; ++part) {
    const int64_t rows = base + (part < extra ? 1 : 0);
    switch (rows) {
#define NNFAST_SUB_TILE(p)                                                                     \
  case p:                                                                                      \
    sub_tile<p, Full>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, c0, nc16, i0, flags, dst, \
                      ldd);                                                                    \
    break;
      NNFAST_SUB_TILE(1)
      NNFAST_SUB_TILE(2)
      NNFAST_SUB_TILE(3)
      NNFAST_SUB_TILE(4)
      NNFAST_SUB_TILE(5)
      NNFAST_SUB_TILE(6)
#undef NNFAST_SUB_TILE
    }
    i0 += rows;
  }
}

}  // namespace

void f32_conv_tile_avx2(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                        const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                        int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd) {
  for (int64_t c0 = 0; c0 < nc; c0 += 2 * W) {
    const int64_t nc16 = nc - c0 < 2 * W ? nc - c0 : 2 * W;
    if (nc16 == 2 * W)
      pixels<true>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, c0, nc16, mr, flags, dst, ldd);
    else
      pixels<false>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, c0, nc16, mr, flags, dst, ldd);
  }
}

}  // namespace nnfast::kernels
