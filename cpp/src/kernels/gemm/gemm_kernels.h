// GEMM micro-kernel contracts. The driver (src/ops/gemm.cpp) owns blocking, packing and
// threads; an ISA file holds only its micro-kernel and its block sizes.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

// Micro-kernel contract (all ISAs), computing one MR x NR tile of C:
//   acc[i][j] = sum_{p<k} a[p*MR + i] * b[p*ldb + j]          (i < MR, j < nr)
//   C[i][j]   = acc + (beta == 0 ? 0 : beta * C[i][j]) + (bias ? bias[j] : 0)   (i < mr)
// `a` is a packed panel of op(A) (k x MR, MR contiguous per step, alpha already folded in,
// rows >= mr zero-padded). `b` is either a packed panel of op(B) (ldb == NR) or, for an
// untransposed B, the matrix itself (any ldb): the kernel reads only columns [0, nr) of B.
// With beta == 0, C is never read (it may hold NaN). 1 <= mr <= MR, 1 <= nr <= NR, k >= 0.
using GemmMicroKernelFn = void (*)(int64_t k, const float* a, const float* b, int64_t ldb,
                                   float* c, int64_t ldc, int64_t mr, int64_t nr, float beta,
                                   const float* bias);

// Register tile and cache blocking of one micro-kernel: KC bounds k per packed panel (B
// micro-panel KC x NR in L1), MC rows of packed A (MC x KC in L2), NC columns of packed B
// (KC x NC in L3). MC is a multiple of MR, NC a multiple of NR.
// Transposing pack: dst[p*width + r] = scale * src[r*lds + p] for r < rows, p < kc, and 0 for
// rows <= r < width (rows <= width). Packs op(A) panels of a row-major A (width MR) and op(B)
// panels of a transposed B (width NR). nullptr: the driver's portable loop is used.
using GemmPackTransFn = void (*)(const float* src, int64_t lds, int64_t rows, int64_t kc,
                                 float scale, float* dst, int64_t width);

// Plain pack: dst[p*width + r] = scale * src[p*lds + r] for r < rows, p < kc, and 0 for
// rows <= r < width. Packs op(A) panels of a transposed A and op(B) panels of a row-major B.
using GemmPackFn = GemmPackTransFn;

struct GemmKernelInfo {
  const char* name;
  GemmMicroKernelFn fn;
  GemmPackTransFn pack_t;
  GemmPackFn pack_n;
  int mr, nr, kc, mc, nc;
};

// Scalar reference (always compiled, always last in the dispatch list).
extern const GemmKernelInfo f32_gemm_ref_info;
void f32_gemm_4x8_ref(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                      int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias);

// AVX2 + FMA.
extern const GemmKernelInfo f32_gemm_avx2_info;
void f32_gemm_6x16_avx2(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                        int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias);

// AVX-512F.
extern const GemmKernelInfo f32_gemm_avx512_info;
void f32_gemm_14x32_avx512(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                           int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias);
void f32_gemm_pack_t_avx512(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                            float* dst, int64_t width);
void f32_gemm_pack_n_avx512(const float* src, int64_t lds, int64_t rows, int64_t kc, float scale,
                            float* dst, int64_t width);

}  // namespace nnfast::kernels
