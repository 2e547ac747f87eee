// Pooling kernel contracts. Forward kernels write output pixels [p0, p1) (flattened over
// batch, out_h, out_w); backward kernels scatter into whole images [b0, b1) so threads never
// share a dsrc element. Global kernels take batch ranges.
#pragma once
#include <cstdint>

#include "nnfast/pool.h"

namespace nnfast::kernels {

struct PoolKernels {
  void (*max_fwd)(const Pool2DShape&, const float*, float*, int32_t*, int64_t, int64_t);
  // (ddst, argmax, relu_y or nullptr, dsrc, b0, b1): relu_y masks ddst where it is not > 0.
  void (*max_bwd)(const Pool2DShape&, const float*, const int32_t*, const float*, float*, int64_t,
                  int64_t);
  void (*avg_fwd)(const Pool2DShape&, const float*, float*, int64_t, int64_t);
  void (*avg_bwd)(const Pool2DShape&, const float*, float*, int64_t, int64_t);
  void (*gavg_fwd)(const float*, int64_t, int64_t, float*, int64_t, int64_t);
  void (*gmax_fwd)(const float*, int64_t, int64_t, float*, int32_t*, int64_t, int64_t);
  const char* name;
};

extern const PoolKernels f32_pool_ref;
extern const PoolKernels f32_pool_avx2;
extern const PoolKernels f32_pool_avx512;

}  // namespace nnfast::kernels
