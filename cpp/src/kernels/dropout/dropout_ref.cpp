#include "kernels/dropout/dropout_kernels.h"

namespace nnfast::kernels {

void f32_dropout_ref(const float* src, float* dst, int64_t n, float rate, float scale,
                     uint64_t seed, uint64_t first_counter) {
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = dropout_uniform(seed, first_counter + static_cast<uint64_t>(i)) >= rate;
    dst[i] = keep ? src[i] * scale : 0.0f;
  }
}

namespace {

void dropout_mask_forward_ref(const float* src, float* dst, uint8_t* mask, int64_t n, float rate,
                              float scale, uint64_t seed, uint64_t first_counter) {
  for (int64_t i = 0; i < n; i += 8) {
    unsigned bits = 0;
    for (int64_t j = i; j < i + 8 && j < n; ++j) {
      const bool keep = dropout_uniform(seed, first_counter + static_cast<uint64_t>(j)) >= rate;
      dst[j] = keep ? src[j] * scale : 0.0f;
      bits |= static_cast<unsigned>(keep) << (j - i);
    }
    mask[i / 8] = static_cast<uint8_t>(bits);
  }
}

void dropout_mask_backward_ref(const float* g, const uint8_t* mask, float* dst, int64_t n,
                               float scale) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = (mask[i / 8] >> (i % 8)) & 1u ? g[i] * scale : 0.0f;
}

}  // namespace

const DropoutMaskKernels f32_dropout_mask_ref = {dropout_mask_forward_ref,
                                                 dropout_mask_backward_ref};

}  // namespace nnfast::kernels
