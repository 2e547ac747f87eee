// Dropout over the shared vector vocabulary (kernels/simd_math.h), included by
// dropout_avx2.cpp / dropout_avx512.cpp after their simd_<isa>.h: the splitmix64 hash of
// dropout_kernels.h on W counters per step (two vectors of W/2 64-bit lanes), bit-identical
// to the reference.
#pragma once
#include <string.h>

#include "kernels/dropout/dropout_kernels.h"

namespace nnfast::kernels {
namespace {

inline VU mix64(VU z) {
  z = vu_mullo(vu_xor(z, vu_shr<30>(z)), vu_set1(0xbf58476d1ce4e5b9ULL));
  z = vu_mullo(vu_xor(z, vu_shr<27>(z)), vu_set1(0x94d049bb133111ebULL));
  return vu_xor(z, vu_shr<31>(z));
}

// The top 24 bits of each counter's hash (dropout_uniform before its scaling).
inline VU hash24(VU counters, VU seed_term) {
  const VU inner = mix64(vu_add(counters, vu_set1(0x632be59bd9b4e019ULL)));
  return vu_shr<40>(mix64(vu_add(seed_term, inner)));
}

// The uniform [0, 1) draws of counters c .. c + W - 1 (24 bits each): what every dropout
// kernel compares with the rate.
inline VF uniform_at(uint64_t c, VU lane, VU half, VU seed_term, VF unit) {
  const VU c0 = vu_add(vu_set1(c), lane);
  return vmul(vf_from_u64_low(hash24(c0, seed_term), hash24(vu_add(c0, half), seed_term)), unit);
}

inline void dropout_simd(const float* src, float* dst, int64_t n, float rate, float scale,
                         uint64_t seed, uint64_t first_counter) {
  const VU seed_term = vu_set1(seed * 0x9e3779b97f4a7c15ULL);
  const VU lane = vu_lane_ids(), half = vu_set1(W / 2);
  const VF vrate = vset1(rate), vscale = vset1(scale), unit = vset1(1.0f / 16777216.0f);
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) {
    const VF u = uniform_at(first_counter + static_cast<uint64_t>(j), lane, half, seed_term, unit);
    st(tag, dst + j, vkeep(vge(u, vrate), vmul(ld(tag, src + j, m), vscale)), m);
  });
}

// As dropout_simd, also storing the keep mask: W bits (W / 8 bytes) per vector, the tail's
// ceil(m / 8) bytes with the bits past n cleared.
inline void dropout_mask_forward(const float* src, float* dst, uint8_t* mask, int64_t n,
                                 float rate, float scale, uint64_t seed, uint64_t first_counter) {
  const VU seed_term = vu_set1(seed * 0x9e3779b97f4a7c15ULL);
  const VU lane = vu_lane_ids(), half = vu_set1(W / 2);
  const VF vrate = vset1(rate), vscale = vset1(scale), unit = vset1(1.0f / 16777216.0f);
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) {
    const VF u = uniform_at(first_counter + static_cast<uint64_t>(j), lane, half, seed_term, unit);
    const VM keep = vm_and(vge(u, vrate), vfirst(m));
    st(tag, dst + j, vkeep(keep, vmul(ld(tag, src + j, m), vscale)), m);
    const unsigned bits = vmovemask(keep);
    memcpy(mask + j / 8, &bits, static_cast<size_t>((m + 7) / 8));  // little-endian bytes
  });
}

inline void dropout_mask_backward(const float* g, const uint8_t* mask, float* dst, int64_t n,
                                  float scale) {
  const VF vscale = vset1(scale);
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) {
    unsigned bits = 0;
    memcpy(&bits, mask + j / 8, static_cast<size_t>((m + 7) / 8));
    st(tag, dst + j, vkeep(vm_from_bits(bits), vmul(ld(tag, g + j, m), vscale)), m);
  });
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_DROPOUT_SIMD(isa)                                                        \
  namespace nnfast::kernels {                                                                  \
  void f32_dropout_##isa(const float* src, float* dst, int64_t n, float rate, float scale,     \
                         uint64_t seed, uint64_t first_counter) {                              \
    dropout_simd(src, dst, n, rate, scale, seed, first_counter);                               \
  }                                                                                            \
  const DropoutMaskKernels f32_dropout_mask_##isa = {dropout_mask_forward,                     \
                                                     dropout_mask_backward};                   \
  }
