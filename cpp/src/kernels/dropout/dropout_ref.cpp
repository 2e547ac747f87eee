#include <stdexcept>
#include <string>

#include "nnfast/dropout.h"
#include "ops/parallel.h"

namespace nnfast {
namespace {
// splitmix64 finalizer: a good 64-bit mix, cheap and vectorizable.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

float counter_uniform(uint64_t seed, uint64_t i) {
  const uint64_t z = mix64(seed * 0x9e3779b97f4a7c15ULL + mix64(i + 0x632be59bd9b4e019ULL));
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // 24 random bits
}

void dropout_apply(const float* src, float* dst, int64_t n, float rate, uint64_t seed,
                   uint64_t offset) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument("dropout rate must be in [0, 1), got " + std::to_string(rate));
  const float scale = 1.0f / (1.0f - rate);
  parallel_for_chunks(n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const bool keep = counter_uniform(seed, offset + static_cast<uint64_t>(i)) >= rate;
      dst[i] = keep ? src[i] * scale : 0.0f;
    }
  });
}

}  // namespace nnfast
