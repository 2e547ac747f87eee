// Inverted dropout driven by a counter-based generator: element i of a call is kept
// when uniform(seed, offset + i) >= rate, so the mask depends only on (seed, offset, i)
// and never on the thread count. The backward pass re-applies the same mask to the
// gradient: from the same (seed, offset), or from the bits the forward stored.
#pragma once
#include <cstdint>

namespace nnfast {

// dst[i] = keep(i) ? src[i] / (1 - rate) : 0. Requires 0 <= rate < 1.
void dropout_apply(const float* src, float* dst, int64_t n, float rate, uint64_t seed,
                   uint64_t offset);

// The same forward, also storing the keep mask as bits (bit i % 8 of mask[i / 8]; mask holds
// (n + 7) / 8 bytes), and its backward: dst[i] = bit i ? g[i] / (1 - rate) : 0, the same bits
// as dropout_apply(g, ...) with the forward's (seed, offset), without hashing again.
void dropout_forward_mask(const float* src, float* dst, uint8_t* mask, int64_t n, float rate,
                          uint64_t seed, uint64_t offset);
void dropout_backward_mask(const float* g, const uint8_t* mask, float* dst, int64_t n,
                           float rate);

// The generator itself: uniform float in [0, 1) for counter `i` (exposed for tests).
float counter_uniform(uint64_t seed, uint64_t i);

}  // namespace nnfast
