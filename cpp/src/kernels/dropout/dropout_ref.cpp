#include "kernels/dropout/dropout_kernels.h"

namespace nnfast::kernels {

void f32_dropout_ref(const float* src, float* dst, int64_t n, float rate, float scale,
                     uint64_t seed, uint64_t first_counter) {
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = dropout_uniform(seed, first_counter + static_cast<uint64_t>(i)) >= rate;
    dst[i] = keep ? src[i] * scale : 0.0f;
  }
}

}  // namespace nnfast::kernels
