// float32 -> bfloat16-precision rounding kernels (kept as float32): round half to even on the
// dropped 16 bits, NaN kept and made quiet. Every variant gives the reference's bits.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

using RoundBf16Fn = void (*)(const float* x, float* out, int64_t n);

void f32_round_bf16_ref(const float* x, float* out, int64_t n);
void f32_round_bf16_avx2(const float* x, float* out, int64_t n);
void f32_round_bf16_avx512(const float* x, float* out, int64_t n);

}  // namespace nnfast::kernels
