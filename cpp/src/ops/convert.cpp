// Rounding float32 values to bfloat16 precision in place of a copy: what a mixed_bfloat16
// layer does to its inputs and outputs. A plain integer loop (round half to even on the
// dropped 16 bits; NaN kept quiet) that compilers vectorise at any ISA; memory-bound.
#include <cstdint>
#include <cstring>

#include "nnfast/gemm.h"
#include "ops/parallel.h"

namespace nnfast {

namespace {

void round_range(const float* x, float* out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
    const uint32_t quiet = (bits | 0x00400000u) & 0xFFFF0000u;
    const uint32_t is_nan = static_cast<uint32_t>(0) -
                            static_cast<uint32_t>((bits & 0x7FFFFFFFu) > 0x7F800000u);
    bits = (quiet & is_nan) | (rounded & ~is_nan);
    std::memcpy(out + i, &bits, sizeof bits);
  }
}

}  // namespace

void round_to_bf16_array(const float* x, float* out, int64_t n) {
  parallel_for_chunks(n, 1 << 16,
                      [x, out](int64_t begin, int64_t end) { round_range(x, out, begin, end); });
}

}  // namespace nnfast
