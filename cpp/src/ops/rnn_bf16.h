// bfloat16 products of the recurrent driver (ops/rnn.cpp) under mixed_bfloat16
// (RnnConfig::bfloat16): the per-step product with a fixed right-hand operand -- the
// recurrent kernel forward, its transpose backward -- rounded to bf16 and packed ONCE per
// call; each step then rounds only its left operand (h, or the gate gradients) while packing
// it. Products accumulate in fp32, as gemm_bf16's do; the gates stay fp32.
#pragma once
#include <cstdint>

#include "kernels/gemm/gemm_bf16_kernels.h"
#include "kernels/rnn/rnn_kernels.h"
#include "nnfast/gemm.h"
#include "ops/scratch.h"

namespace nnfast {

class Bf16StepProduct {
 public:
  // op(B) is (k, n): b[p*ldb + j] with trans_b N, b[j*ldb + p] with T. `variant` as
  // gemm_bf16's (best: AMX, else AVX512_BF16, else via_f32); via_f32 multiplies rounded
  // copies with `fallback`'s fp32 step GEMM (the recurrent kernel set of the active ISA).
  Bf16StepProduct(Trans trans_b, const float* b, int64_t ldb, int64_t k, int64_t n,
                  Bf16GemmVariant variant, const kernels::RnnKernelSet& fallback);
  Bf16StepProduct(const Bf16StepProduct&) = delete;
  Bf16StepProduct& operator=(const Bf16StepProduct&) = delete;

  // Per thread, around its multiply calls (AMX: the tile configuration).
  void begin_thread() const;
  void end_thread() const;
  // c (rows, n) = (accumulate ? c : 0) + bf16(a) @ bf16(op(B)), a (rows, k) with stride lda.
  void multiply(int64_t rows, const float* a, int64_t lda, float* c, int64_t ldc,
                bool accumulate) const;
  // The micro-kernel's name, or "bf16_via_f32_rnn" for the rounded fp32 route.
  const char* name() const;

 private:
  const kernels::Bf16GemmKernelInfo* kern_;  // null: via f32
  const kernels::RnnKernelSet& fallback_;
  int64_t k_, n_;
  int64_t blocks_ = 0, k2_max_ = 0;
  ScratchBuffer<uint32_t> packed_;  // bf16 units: B panels, depth blocks of kern_->kc
  ScratchBuffer<float> rounded_;    // via f32: op(B) rounded, in column blocks
  const uint32_t* panels_ = nullptr;  // packed_'s memory
  const float* rounded_b_ = nullptr;  // rounded_'s memory
};

}  // namespace nnfast
