// bfloat16 GEMM micro-kernel contract (AVX512_BF16's vdpbf16ps: two bf16 products summed
// into each fp32 lane). Inputs are rounded to bf16 (nearest even) while packing; products
// accumulate in fp32 and C stays fp32, as Keras's mixed_bfloat16 matmuls on CPUs do.
//
// Depth is taken in pairs, pair(x, y) = bf16(x) | bf16(y) << 16, and the number of pairs of
// a packed panel is padded with zero pairs to a multiple of the variant's pair_align (k2p).
// B panels are the same for every variant (NR columns, the pairs of a column adjacent):
//   b2[q*NR + j] = pair(op(B)[2q][j], op(B)[2q+1][j])
// A panels (MR rows) depend on the unit:
//   vdpbf16ps (pair_align 1):  a2[q*MR + i] = pair(op(A)[i][2q], op(A)[i][2q+1])
//   AMX (pair_align 16): chunks of 16 pairs, each MR rows x 16 pairs row-major:
//                        a2[(q/16)*MR*16 + i*16 + q%16] = pair(op(A)[i][2q], op(A)[i][2q+1])
// The micro-kernel computes one MR x NR tile over k2p pairs with the fp32 contract of
// gemm_kernels.h: C = acc + (beta == 0 ? 0 : beta * C) + bias (rows < mr, columns < nr).
#pragma once
#include <cstdint>

namespace nnfast::kernels {

using Bf16MicroKernelFn = void (*)(int64_t k2p, const uint32_t* a2, const uint32_t* b2, float* c,
                                   int64_t ldc, int64_t mr, int64_t nr, float beta,
                                   const float* bias);

// Packs one panel of `count` rows (A) or columns (B) over depth kc into the layout above
// (count..width zero, pairs k2..k2p zero). "Along rows": the source's depth runs along its
// rows, src[r*lds + p] (plain A, transposed B); "along columns": down its columns,
// src[p*lds + r] (transposed A, plain B). scale multiplies before rounding (alpha into A).
using Bf16PackFn = void (*)(const float* src, int64_t lds, int64_t count, int64_t kc,
                            float scale, uint32_t* dst, int64_t width);

struct Bf16GemmKernelInfo {
  const char* name;
  Bf16MicroKernelFn fn;
  Bf16PackFn pack_a_along_rows, pack_a_along_cols, pack_b_along_rows, pack_b_along_cols;
  int mr, nr, kc, mc, nc;  // kc: depth per block in elements (even)
  int pair_align;
  void (*begin)();  // per thread, before its micro-kernel calls (AMX: tile config); or null
  void (*end)();    // per thread, after them (AMX: release the tiles); or null
};

// Shared by every variant: the B panel and the pair conversions (AVX512_BF16 instructions).
void bf16_pack_b_along_rows(const float* src, int64_t lds, int64_t cols, int64_t kc,
                            float scale, uint32_t* dst, int64_t width, int64_t pair_align);
void bf16_pack_b_along_cols(const float* src, int64_t lds, int64_t cols, int64_t kc,
                            float scale, uint32_t* dst, int64_t width, int64_t pair_align);

// AVX-512 with AVX512_BF16 (vdpbf16ps).
extern const Bf16GemmKernelInfo bf16_gemm_avx512bf16_info;
// AMX-BF16 tiles (tdpbf16ps), packing with AVX512_BF16.
extern const Bf16GemmKernelInfo bf16_gemm_amx_info;

}  // namespace nnfast::kernels
