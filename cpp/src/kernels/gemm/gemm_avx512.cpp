// AVX-512 micro-kernel over the vector vocabulary (simd_avx512.h): 14 x 32 tile = 28 zmm
// accumulators; per k step two 16-float loads of B and 14 broadcasts of A (folded into the
// FMAs as {1to16} memory operands). Edge tiles run narrower/shorter instances of the same loop
// (16 columns, 8 or 4 rows) so small layers do not pay for padding. Also the packing routines
// (transposing, with vtranspose, and plain) for A and B panels.
#include "kernels/simd_avx512.h"

#include "kernels/gemm/gemm_kernels.h"

namespace nnfast::kernels {
namespace {

constexpr int kMr = 14;
constexpr int kNr = 32;

// kRows rows of the 14-row packed panel, kNv W-column vectors; kFullB: nr == W * kNv.
// NOTE: accumulators are arrays indexed by unrolled constants, so GCC keeps them in registers.
template <int kRows, int kNv, bool kFullB>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, const float* b,
                                                int64_t ldb, float* c, int64_t ldc, int64_t mr,
                                                int64_t nr, float beta, const float* bias) {
  VM mask[kNv];
#pragma GCC unroll 2
  for (int v = 0; v < kNv; ++v) mask[v] = vfirst(clamp_lanes(nr - W * v));
  // C's lines are stored (or read, with beta) after the loop: fetch them now so a C far
  // larger than the caches (a 1x1 convolution's output) does not stall the stores.
  for (int i = 0; i < kRows; ++i)
    for (int v = 0; v < kNv; ++v) vprefetch(c + i * ldc + W * v);
  VF acc[kRows][kNv];
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) acc[i][v] = vzero();
  for (int64_t p = 0; p < k; ++p) {
    VF bv[kNv];
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) bv[v] = kFullB ? vload(b + W * v) : vload_m(b + W * v, mask[v]);
#pragma GCC unroll 14
    for (int i = 0; i < kRows; ++i) {
      const VF ai = vset1(a[i]);
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) acc[i][v] = vfmadd(ai, bv[v], acc[i][v]);
    }
    a += kMr;
    b += ldb;
  }
  VF biasv[kNv];
#pragma GCC unroll 2
  for (int v = 0; v < kNv; ++v) biasv[v] = bias ? vload_m(bias + W * v, mask[v]) : vzero();
  const VF vbeta = vset1(beta);
#pragma GCC unroll 14
  for (int i = 0; i < kRows; ++i) {
    if (i < mr) {
      float* ci = c + i * ldc;
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) {
        VF r = acc[i][v];
        if (beta != 0.0f) r = vfmadd(vbeta, vload_m(ci + W * v, mask[v]), r);
        if (bias) r = vadd(r, biasv[v]);
        vstore_m(ci + W * v, r, mask[v]);
      }
    }
  }
}

template <int kRows>
inline __attribute__((always_inline)) void tile_rows(int64_t k, const float* a, const float* b,
                                                     int64_t ldb, float* c, int64_t ldc,
                                                     int64_t mr, int64_t nr, float beta,
                                                     const float* bias) {
  if (nr == 2 * W)
    tile<kRows, 2, true>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else if (nr > W)
    tile<kRows, 2, false>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else if (nr == W)
    tile<kRows, 1, true>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else
    tile<kRows, 1, false>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
}

}  // namespace

void f32_gemm_14x32_avx512(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                           int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  if (mr > 8)
    tile_rows<14>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else if (mr > 4)
    tile_rows<8>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
  else
    tile_rows<4>(k, a, b, ldb, c, ldc, mr, nr, beta, bias);
}

void f32_gemm_pack_t_avx512(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                            float* dst, int64_t width) {
  const VF vscale = vset1(scale);
  for (int64_t r0 = 0; r0 < width; r0 += W) {
    const VM store_mask = vfirst(clamp_lanes(width - r0));
    for (int64_t p0 = 0; p0 < kc; p0 += W) {
      const VM load_mask = vfirst(clamp_lanes(kc - p0));
      VF r[W];
#pragma GCC unroll 16
      for (int i = 0; i < W; ++i)
        r[i] = r0 + i < rows ? vmul(vscale, vload_m(src + (r0 + i) * lds + p0, load_mask)) : vzero();
      vtranspose(r);
      const int64_t steps = clamp_lanes(kc - p0);
      for (int64_t q = 0; q < steps; ++q) vstore_m(dst + (p0 + q) * width + r0, r[q], store_mask);
    }
  }
}

void f32_gemm_pack_n_avx512(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                            float* dst, int64_t width) {
  const VF vscale = vset1(scale);
  for (int64_t r0 = 0; r0 < width; r0 += W) {
    const VM load_mask = vfirst(clamp_lanes(rows - r0));
    const VM store_mask = vfirst(clamp_lanes(width - r0));
    for (int64_t p = 0; p < kc; ++p)
      vstore_m(dst + p * width + r0, vmul(vscale, vload_m(src + p * lds + r0, load_mask)), store_mask);
  }
}

const GemmKernelInfo f32_gemm_avx512_info = {"f32_gemm_14x32_avx512", f32_gemm_14x32_avx512,
                                             f32_gemm_pack_t_avx512, f32_gemm_pack_n_avx512, kMr, kNr, 384, 168, 4096};

}  // namespace nnfast::kernels
