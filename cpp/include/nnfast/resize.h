// Bilinear resizing of NHWC float32 tensors with tf.image.resize semantics (half-pixel
// centres, antialias=False), for upsampling and downsampling alike:
//
//   src (batch, in_h, in_w, channels) -> dst (batch, out_h, out_w, channels)
//   per axis, in float32: s = ((i + 0.5) * (in / out)) - 0.5,
//   lo = max(floor(s), 0), hi = min(ceil(s), in - 1), lerp = s - floor(s);
//   out[i] = (1 - lerp) * in[lo] + lerp * in[hi], applied to the height axis, then the width.
//
// Only the two neighbouring rows/columns of each output are read (O(1) work per output),
// unlike the dense per-axis interpolation matrices of the generic resize path, and the
// numbers agree with that path to float32 rounding.
#pragma once
#include <cstdint>

namespace nnfast {

struct Resize2DShape {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
};

// Throws std::invalid_argument for negative sizes, an empty input with a non-empty output, or
// sizes beyond int32 indexing.
void resize_bilinear_validate(const Resize2DShape& s);

void resize_bilinear_forward(const Resize2DShape& s, const float* src, float* dst);

// The adjoint of the forward: dsrc (batch, in_h, in_w, channels) is overwritten with the
// gradient gathered from ddst (batch, out_h, out_w, channels). Deterministic (no atomics):
// every input row gathers from the output rows that read it.
void resize_bilinear_backward(const Resize2DShape& s, const float* ddst, float* dsrc);

}  // namespace nnfast
