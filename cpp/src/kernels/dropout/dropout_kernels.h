// Dropout kernels: keep element i when counter_uniform(seed, offset + i) >= rate. Every
// variant computes the same 64-bit hash, so masks are identical across ISAs and threads.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

// splitmix64 finalizer.
inline uint64_t dropout_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The 24-bit uniform in [0, 1) for counter i.
inline float dropout_uniform(uint64_t seed, uint64_t i) {
  const uint64_t z = dropout_mix64(seed * 0x9e3779b97f4a7c15ULL + dropout_mix64(i + 0x632be59bd9b4e019ULL));
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

using DropoutFn = void (*)(const float* src, float* dst, int64_t n, float rate, float scale,
                           uint64_t seed, uint64_t first_counter);

void f32_dropout_ref(const float* src, float* dst, int64_t n, float rate, float scale,
                     uint64_t seed, uint64_t first_counter);
void f32_dropout_avx2(const float* src, float* dst, int64_t n, float rate, float scale,
                      uint64_t seed, uint64_t first_counter);
void f32_dropout_avx512(const float* src, float* dst, int64_t n, float rate, float scale,
                        uint64_t seed, uint64_t first_counter);

// The same dropout with its keep mask stored as bits: element i of the call is bit i % 8 of
// mask[i / 8] (bits past n in the last byte are 0), so the backward applies the stored mask
// instead of hashing every counter again. The bits and dst equal f32_dropout's.
struct DropoutMaskKernels {
  void (*forward)(const float* src, float* dst, uint8_t* mask, int64_t n, float rate,
                  float scale, uint64_t seed, uint64_t first_counter);
  // dst[i] = bit i ? g[i] * scale : 0 (the gradient of the forward above).
  void (*backward)(const float* g, const uint8_t* mask, float* dst, int64_t n, float scale);
};
extern const DropoutMaskKernels f32_dropout_mask_ref;
extern const DropoutMaskKernels f32_dropout_mask_avx2;
extern const DropoutMaskKernels f32_dropout_mask_avx512;

}  // namespace nnfast::kernels
