// Dropout driver: pick the variant for the active ISA and split the counter range across
// threads (each thread hashes its own counters, so the mask ignores the thread count).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/dropout/dropout_kernels.h"
#include "nnfast/dropout.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<void(float const*, float*, int64_t, float, float, uint64_t, uint64_t)>
    kDropout{"dropout",
             {{Isa::avx512, "f32_dropout_avx512", &kernels::f32_dropout_avx512},
              {Isa::avx2, "f32_dropout_avx2", &kernels::f32_dropout_avx2},
              {Isa::ref, "f32_dropout_ref", &kernels::f32_dropout_ref}}};

const dispatch::Registry<kernels::DropoutMaskKernels> kDropoutMask{
    "dropout_mask",
    {{Isa::avx512, "f32_dropout_mask_avx512", &kernels::f32_dropout_mask_avx512},
     {Isa::avx2, "f32_dropout_mask_avx2", &kernels::f32_dropout_mask_avx2},
     {Isa::ref, "f32_dropout_mask_ref", &kernels::f32_dropout_mask_ref}}};

void check_rate(float rate) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument("dropout rate must be in [0, 1), got " + std::to_string(rate));
}

// Calls fn(begin, end) over [0, n) split across threads at multiples of 64 elements, so no
// two threads write one byte of a bit mask.
template <typename Fn>
void for_mask_chunks(int64_t n, Fn&& fn) {
  constexpr int64_t kBlock = 64;
  parallel_for_chunks((n + kBlock - 1) / kBlock, (1 << 16) / kBlock, [&](int64_t b0, int64_t b1) {
    fn(b0 * kBlock, std::min(n, b1 * kBlock));
  });
}

}  // namespace

float counter_uniform(uint64_t seed, uint64_t i) { return kernels::dropout_uniform(seed, i); }

void dropout_apply(const float* src, float* dst, int64_t n, float rate, uint64_t seed,
                   uint64_t offset) {
  check_rate(rate);
  const kernels::DropoutFn fn = kDropout.select().fns;
  const float scale = 1.0f / (1.0f - rate);
  parallel_for_chunks(n, 1 << 16, [&](int64_t begin, int64_t end) {
    fn(src + begin, dst + begin, end - begin, rate, scale, seed, offset + static_cast<uint64_t>(begin));
  });
}

void dropout_forward_mask(const float* src, float* dst, uint8_t* mask, int64_t n, float rate,
                          uint64_t seed, uint64_t offset) {
  check_rate(rate);
  const kernels::DropoutMaskKernels& k = *kDropoutMask.select().fns;
  const float scale = 1.0f / (1.0f - rate);
  for_mask_chunks(n, [&](int64_t begin, int64_t end) {
    k.forward(src + begin, dst + begin, mask + begin / 8, end - begin, rate, scale, seed,
              offset + static_cast<uint64_t>(begin));
  });
}

void dropout_backward_mask(const float* g, const uint8_t* mask, float* dst, int64_t n,
                           float rate) {
  check_rate(rate);
  const kernels::DropoutMaskKernels& k = *kDropoutMask.select().fns;
  const float scale = 1.0f / (1.0f - rate);
  for_mask_chunks(n, [&](int64_t begin, int64_t end) {
    k.backward(g + begin, mask + begin / 8, dst + begin, end - begin, scale);
  });
}

}  // namespace nnfast
