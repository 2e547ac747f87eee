// Inverted dropout driven by a counter-based generator: element i of a call is kept
// when uniform(seed, offset + i) >= rate, so the mask depends only on (seed, offset, i)
// and never on the thread count. The backward pass re-applies the same mask to the
// gradient with the same (seed, offset): no mask is stored.
#pragma once
#include <cstdint>

namespace nnfast {

// dst[i] = keep(i) ? src[i] / (1 - rate) : 0. Requires 0 <= rate < 1.
void dropout_apply(const float* src, float* dst, int64_t n, float rate, uint64_t seed,
                   uint64_t offset);

// The generator itself: uniform float in [0, 1) for counter `i` (exposed for tests).
float counter_uniform(uint64_t seed, uint64_t i);

}  // namespace nnfast
