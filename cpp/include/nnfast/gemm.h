// Single-precision GEMM on row-major matrices:
//   C[m,n] = activation(alpha * op(A) * op(B) + beta * C + bias)
// with op(X) = X or X^T. lda/ldb/ldc are the row strides of the matrices as stored.
#pragma once
#include <cstdint>

#include "nnfast/activation.h"

namespace nnfast {

enum class Trans : int { N = 0, T = 1 };

struct GemmEpilogue {
  const float* bias = nullptr;  // length n, added to every row of C; nullptr for none
  // length n, multiplies every row of C before the bias: C = act(scale * C + bias). nullptr
  // for none. (An inference layer with its batch normalization folded in.)
  const float* scale = nullptr;
  // (m, n) with row stride ldr, added after the bias, before the activation (a residual
  // connection's sum); nullptr for none.
  const float* residual = nullptr;
  int64_t ldr = 0;
  Activation activation = Activation::linear;
  ActivationParams params{};
};

// Throws std::invalid_argument when a dimension is negative or a stride too small.
// beta == 0 means C is written without being read (it may hold garbage or NaN).
void sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, const GemmEpilogue& epilogue = GemmEpilogue{});

// C[i] = alpha * op(A[i]) @ op(B[i]) + beta * C[i] for i < batch, the matrices of each
// operand stored `stride_*` floats apart (attention's per-head products). Threads split the
// batch when each product is too small to split itself.
void sgemm_batched(Trans trans_a, Trans trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                   float alpha, const float* a, int64_t lda, int64_t stride_a, const float* b,
                   int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                   int64_t stride_c);

// The micro-kernel the driver would use now, e.g. "f32_gemm_14x32_avx512".
const char* sgemm_kernel_name();

// bfloat16 GEMM (mixed precision): sgemm's contract with op(A) and op(B) rounded to bf16
// (alpha applied first), products accumulated in fp32 and C in fp32. Implementations, best
// first: AMX-BF16 tiles, AVX512_BF16 (vdpbf16ps), and rounding copies for sgemm (any CPU;
// the same products, summed in another order). `best` takes the first one this CPU runs
// and active_isa() allows (the bf16 units need avx512); naming one that cannot run throws.
enum class Bf16GemmVariant : int { best = 0, amx = 1, avx512bf16 = 2, via_f32 = 3 };
void gemm_bf16(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc, const GemmEpilogue& epilogue = GemmEpilogue{},
               Bf16GemmVariant variant = Bf16GemmVariant::best);
// The implementation `best` picks now: "bf16_gemm_32x32_amx", "bf16_gemm_14x32_avx512bf16"
// or "bf16_via_f32_gemm".
const char* gemm_bf16_kernel_name();
// Whether a variant can run on this CPU under the current ISA cap.
bool gemm_bf16_variant_available(Bf16GemmVariant variant);
// out[i] = x[i] rounded to the nearest bfloat16 (ties to even; NaN stays NaN), as fp32, for
// i < n (out may be x).
void round_to_bf16_array(const float* x, float* out, int64_t n);

}  // namespace nnfast
