// AVX2 register tile of the implicit-GEMM convolutions: the f32_conv_tile contract of
// conv_kernels.h (up to 14 pixels x 32 channels) on 16 ymm registers. The tile runs as
// sub-tiles of up to 6 pixels x 16 channels: at most 12 accumulators, 2 kernel rows and 1
// broadcast, so per input channel 2 kernel loads feed up to 12 FMAs and nothing spills.
#include <immintrin.h>
#include <stdint.h>

#include "kernels/conv/conv_kernels.h"

namespace nnfast::kernels {
namespace {

// Lanes [0, left) set (left clamped to [0, 8]): the mask operand of vmaskmovps.
inline __m256i lanes(int64_t left) {
  const int n = left <= 0 ? 0 : (left >= 8 ? 8 : static_cast<int>(left));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Pixels [i0, i0+P) x channels [o0 + c0, o0 + c0 + 16) of the tile; nc16 (1..16) of the
// channels are real (Full: all 16, plain loads and stores).
template <int P, bool Full>
inline void sub_tile(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                     const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                     int64_t c0, int64_t nc16, int64_t i0, int flags, float* dst, int64_t ldd) {
  const __m256i m0 = lanes(nc16), m1 = lanes(nc16 - 8);
  __m256 acc[P][2];
  if (flags & kConvTileAccumulate) {
    for (int i = 0; i < P; ++i) {
      const float* d = dst + (i0 + i) * ldd + c0;
      acc[i][0] = Full ? _mm256_loadu_ps(d) : _mm256_maskload_ps(d, m0);
      acc[i][1] = Full ? _mm256_loadu_ps(d + 8) : _mm256_maskload_ps(d + 8, m1);
    }
  } else {
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    if (bias) {
      const float* bb = bias + o0 + c0;
      b0 = Full ? _mm256_loadu_ps(bb) : _mm256_maskload_ps(bb, m0);
      b1 = Full ? _mm256_loadu_ps(bb + 8) : _mm256_maskload_ps(bb + 8, m1);
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
      const __m256 w0 = Full ? _mm256_loadu_ps(wr) : _mm256_maskload_ps(wr, m0);
      const __m256 w1 = Full ? _mm256_loadu_ps(wr + 8) : _mm256_maskload_ps(wr + 8, m1);
#pragma GCC unroll 6
      for (int i = 0; i < P; ++i) {
        const __m256 a = _mm256_broadcast_ss(xt[i] + ci);
        acc[i][0] = _mm256_fmadd_ps(a, w0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(a, w1, acc[i][1]);
      }
    }
  }
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i) {
    __m256 r0 = acc[i][0], r1 = acc[i][1];
    if (flags & kConvTileRelu) {  // max(NaN, 0) is 0, as in the AVX-512 tile
      r0 = _mm256_max_ps(r0, zero);
      r1 = _mm256_max_ps(r1, zero);
    }
    float* d = dst + (i0 + i) * ldd + c0;
    if (Full) {
      _mm256_storeu_ps(d, r0);
      _mm256_storeu_ps(d + 8, r1);
    } else {
      _mm256_maskstore_ps(d, m0, r0);
      _mm256_maskstore_ps(d + 8, m1, r1);
    }
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
  for (int64_t c0 = 0; c0 < nc; c0 += 16) {
    const int64_t nc16 = nc - c0 < 16 ? nc - c0 : 16;
    if (nc16 == 16)
      pixels<true>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, c0, nc16, mr, flags, dst, ldd);
    else
      pixels<false>(x, tap, ntaps, in_c, kernel, out_c, bias, o0, c0, nc16, mr, flags, dst, ldd);
  }
}

}  // namespace nnfast::kernels
