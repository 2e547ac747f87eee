// Scalar reference of the int8 stem kernels (see stem_int8_kernels.h): the same exact int32
// sums and the same fused multiply-add epilogue as the SIMD kernels, so the same bits.
#include <math.h>
#include <string.h>

#include "kernels/stem_int8/stem_int8_kernels.h"

namespace nnfast::kernels {

void s8_stem_row_ref(const Int8StemArgs& a, const uint8_t* row, int64_t out_w, float* dst,
                     uint32_t* max_bits) {
  const int64_t blocks = a.np / 16;
  for (int64_t ow = 0; ow < out_w; ++ow) {
    const uint8_t* win = row + ow * a.pixel_step;
    float* out = dst + ow * a.n;
    for (int64_t j = 0; j < a.n; ++j) {
      int32_t acc = -a.offset_sum[j];
      for (int64_t d = 0; d < a.dwords; ++d) {
        const uint8_t* x = win + a.dword_offset[d];
        const int8_t* w = a.weights + (d * blocks + j / 16) * 64 + (j % 16) * 4;
        for (int b = 0; b < 4; ++b) acc += static_cast<int32_t>(x[b]) * w[b];
      }
      float v = fmaf(static_cast<float>(acc), a.mult[j], a.bias[j]);
      v = v < a.lo ? a.lo : v;
      v = v > a.hi ? a.hi : v;
      out[j] = v;
      uint32_t bits;
      memcpy(&bits, &v, sizeof(bits));
      bits &= 0x7fffffffu;
      if (bits > max_bits[j]) max_bits[j] = bits;
    }
  }
}

uint32_t s8_stem_absmax_ref(const float* x, int64_t n) {
  uint32_t mx = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    memcpy(&bits, &x[i], sizeof(bits));
    bits &= 0x7fffffffu;
    if (bits > mx) mx = bits;
  }
  return mx;
}

void s8_stem_quantize_ref(const float* x, int64_t n, float scale, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i) {
    float q = nearbyintf(x[i] * scale);
    q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
    dst[i] = static_cast<uint8_t>(static_cast<int32_t>(q) + 128);
  }
}

}  // namespace nnfast::kernels
