// Dropout driver: pick the variant for the active ISA and split the counter range across
// threads (each thread hashes its own counters, so the mask ignores the thread count).
#include <stdexcept>
#include <string>

#include "kernels/dropout/dropout_kernels.h"
#include "nnfast/dropout.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"

namespace nnfast {

float counter_uniform(uint64_t seed, uint64_t i) { return kernels::dropout_uniform(seed, i); }

void dropout_apply(const float* src, float* dst, int64_t n, float rate, uint64_t seed,
                   uint64_t offset) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument("dropout rate must be in [0, 1), got " + std::to_string(rate));
  kernels::DropoutFn fn = kernels::f32_dropout_ref;
  const char* name = "f32_dropout_ref";
  if (active_isa() >= Isa::avx512) {
    fn = kernels::f32_dropout_avx512;
    name = "f32_dropout_avx512";
  }
  log_choice("dropout", name, isa_name(active_isa()));
  const float scale = 1.0f / (1.0f - rate);
  parallel_for_chunks(n, 1 << 16, [&](int64_t begin, int64_t end) {
    fn(src + begin, dst + begin, end - begin, rate, scale, seed, offset + static_cast<uint64_t>(begin));
  });
}

}  // namespace nnfast
