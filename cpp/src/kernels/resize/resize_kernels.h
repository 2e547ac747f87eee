// Bilinear resize kernel contracts. The driver precomputes one ResizeAxis per spatial axis
// (taps and weights, identical for every variant); forward kernels write output rows
// [r0, r1) of the flattened (batch, out_h), backward kernels write input rows [r0, r1) of the
// flattened (batch, in_h), so threads never share a destination element.
#pragma once
#include <cstdint>

#include "nnfast/resize.h"

namespace nnfast::kernels {

struct ResizeAxis {
  // Per output index o: out[o] = w0[o] * in[lo[o]] + w1[o] * in[hi[o]]. Where both taps fall
  // on one input (clamped borders, integer source) the driver stores hi == lo, w1 == 0.
  const int32_t* lo;
  const int32_t* hi;
  const float* w0;
  const float* w1;
  // Per input index i: the outputs o in [first[i], last[i]) are the ones whose lo or hi
  // is i (a contiguous range since lo and hi never decrease; empty when downsampling skips i).
  const int32_t* first;
  const int32_t* last;
};

struct ResizeKernels {
  // scratch: in_w * channels floats, private to the calling thread.
  void (*fwd)(const Resize2DShape&, const ResizeAxis& rows, const ResizeAxis& cols,
              const float* src, float* dst, float* scratch, int64_t r0, int64_t r1);
  // scratch: out_w * channels floats, private to the calling thread.
  void (*bwd)(const Resize2DShape&, const ResizeAxis& rows, const ResizeAxis& cols,
              const float* ddst, float* dsrc, float* scratch, int64_t r0, int64_t r1);
  const char* name;
};

// The weight output o gives input i along an axis (0 when o does not read i).
inline float tap_weight(const ResizeAxis& a, int64_t o, int64_t i) {
  return (a.lo[o] == i ? a.w0[o] : 0.0f) + (a.hi[o] == i ? a.w1[o] : 0.0f);
}

extern const ResizeKernels f32_resize_ref;
extern const ResizeKernels f32_resize_avx2;
extern const ResizeKernels f32_resize_avx512;

}  // namespace nnfast::kernels
