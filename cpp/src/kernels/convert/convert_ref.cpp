// Scalar reference of the bfloat16 rounding (convert_kernels.h).
#include <cstring>

#include "kernels/convert/convert_kernels.h"

namespace nnfast::kernels {
namespace {

uint32_t round_bits_to_bf16(uint32_t bits) {
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
  const uint32_t quiet = (bits | 0x00400000u) & 0xFFFF0000u;
  return (bits & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded;
}

}  // namespace

void f32_round_bf16_ref(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    bits = round_bits_to_bf16(bits);
    std::memcpy(out + i, &bits, sizeof bits);
  }
}

}  // namespace nnfast::kernels
