// Scalar reference of the clamped epilogue (see activation_kernels.h).
#include "kernels/activation/activation_kernels.h"

namespace nnfast::kernels {

void f32_scale_shift_clamp_rows_ref(float* c, int64_t ld, int64_t rows, int64_t cols,
                                    const float* scale, const float* shift,
                                    const float* residual, int64_t ldr, float lo, float hi) {
  for (int64_t i = 0; i < rows; ++i) {
    float* r = c + i * ld;
    const float* q = residual ? residual + i * ldr : nullptr;
    for (int64_t j = 0; j < cols; ++j) {
      float v = r[j];
      if (scale) v *= scale[j];
      if (shift) v += shift[j];
      if (q) v += q[j];
      v = v < lo ? lo : v;
      r[j] = v > hi ? hi : v;
    }
  }
}

}  // namespace nnfast::kernels
