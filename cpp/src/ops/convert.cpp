// Rounding float32 values to bfloat16 precision in place of a copy: what a mixed_bfloat16
// layer does to its inputs and outputs: round half to even on the dropped 16 bits, NaN kept
// quiet (kernels/convert/), one kernel per ISA.
#include <cstdint>

#include "kernels/convert/convert_kernels.h"
#include "nnfast/gemm.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {

namespace {

const dispatch::Registry<void(const float*, float*, int64_t)> kRoundBf16{
    "round_bf16",
    {{Isa::avx512, "f32_round_bf16_avx512", &kernels::f32_round_bf16_avx512},
     {Isa::avx2, "f32_round_bf16_avx2", &kernels::f32_round_bf16_avx2},
     {Isa::ref, "f32_round_bf16_ref", &kernels::f32_round_bf16_ref}}};

}  // namespace

void round_to_bf16_array(const float* x, float* out, int64_t n) {
  const kernels::RoundBf16Fn fn = kRoundBf16.select().fns;
  parallel_for_chunks(n, 1 << 16, [x, out, fn](int64_t begin, int64_t end) {
    fn(x + begin, out + begin, end - begin);
  });
}

}  // namespace nnfast
