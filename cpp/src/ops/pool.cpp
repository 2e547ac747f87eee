// Pooling driver: validate, pick the kernel table for the active ISA, split pixels (forward)
// or images (backward, which scatters) across threads.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/pool/pool_kernels.h"
#include "nnfast/pool.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<kernels::PoolKernels> kPool{
    "pool",
    {{Isa::avx512, "f32_pool_avx512", &kernels::f32_pool_avx512},
     {Isa::avx2, "f32_pool_avx2", &kernels::f32_pool_avx2},
     {Isa::ref, "f32_pool_ref", &kernels::f32_pool_ref}}};

const kernels::PoolKernels& pick() { return *kPool.select().fns; }

constexpr int64_t kGrain = 1 << 16;  // elements touched per thread before threads pay

void check_global(int64_t batch, int64_t spatial, int64_t channels) {
  if (batch < 0 || spatial < 0 || channels < 0)
    throw std::invalid_argument("global pooling: negative size batch=" + std::to_string(batch) +
                                " spatial=" + std::to_string(spatial) +
                                " channels=" + std::to_string(channels));
}

}  // namespace

void pool2d_validate(const Pool2DShape& s) {
  auto dims = [&] {
    return " (in=(" + std::to_string(s.in_h) + ", " + std::to_string(s.in_w) + "), pool=(" +
           std::to_string(s.pool_h) + ", " + std::to_string(s.pool_w) + "), strides=(" +
           std::to_string(s.stride_h) + ", " + std::to_string(s.stride_w) + "))";
  };
  if (s.batch < 0 || s.in_h < 0 || s.in_w < 0 || s.channels < 0 || s.out_h < 0 || s.out_w < 0)
    throw std::invalid_argument("pool2d: negative size" + dims());
  if (s.pool_h <= 0 || s.pool_w <= 0 || s.stride_h <= 0 || s.stride_w <= 0)
    throw std::invalid_argument("pool2d: pool size and strides must be positive" + dims());
  if (s.pad_top < 0 || s.pad_left < 0 || s.pad_top >= s.pool_h || s.pad_left >= s.pool_w)
    throw std::invalid_argument("pool2d: padding must be smaller than the pool size" + dims());
  // Every window must see at least one input element: an empty input with a non-empty output
  // would have the backward write outside dsrc.
  if ((s.out_h > 0 && s.in_h == 0) || (s.out_w > 0 && s.in_w == 0))
    throw std::invalid_argument("pool2d: a non-empty output needs a non-empty input" + dims());
  if (s.out_h > 0 && (s.out_h - 1) * s.stride_h - s.pad_top >= s.in_h)
    throw std::invalid_argument("pool2d: out_h=" + std::to_string(s.out_h) +
                                " leaves windows outside the input" + dims());
  if (s.out_w > 0 && (s.out_w - 1) * s.stride_w - s.pad_left >= s.in_w)
    throw std::invalid_argument("pool2d: out_w=" + std::to_string(s.out_w) +
                                " leaves windows outside the input" + dims());
  if (s.in_h * s.in_w > INT32_MAX) throw std::invalid_argument("pool2d: image too large" + dims());
}

void max_pool2d_forward(const Pool2DShape& s, const float* src, float* dst, int32_t* argmax) {
  pool2d_validate(s);
  const kernels::PoolKernels& k = pick();
  const int64_t P = s.batch * s.out_h * s.out_w;
  parallel_for_rows(P, s.pool_h * s.pool_w * s.channels, kGrain,
                    [&](int64_t p0, int64_t p1) { k.max_fwd(s, src, dst, argmax, p0, p1); });
}

void max_pool2d_backward(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                         float* dsrc, const float* relu_y) {
  pool2d_validate(s);
  if (!argmax) throw std::invalid_argument("max_pool2d_backward: argmax is required");
  // NOTE: overlapping windows scatter through argmax (dsrc[argmax] += g): argmax comes from
  // Python, so each entry is range-checked first (one pass; the tiled path only compares).
  if (!(s.stride_h == s.pool_h && s.stride_w == s.pool_w)) {
    const int64_t in_hw = s.in_h * s.in_w, per_image = s.out_h * s.out_w * s.channels;
    std::atomic<bool> bad{false};
    parallel_for_rows(s.batch, per_image, kGrain, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0 * per_image; i < b1 * per_image; ++i)
        if (argmax[i] < 0 || argmax[i] >= in_hw) bad.store(true, std::memory_order_relaxed);
    });
    if (bad.load())
      throw std::invalid_argument("max_pool2d_backward: argmax holds positions outside the "
                                  "input's " + std::to_string(in_hw) + " pixels (expected the "
                                  "argmax written by max_pool2d_forward)");
  }
  const kernels::PoolKernels& k = pick();
  parallel_for_rows(s.batch, (s.in_h * s.in_w + s.out_h * s.out_w) * s.channels, kGrain,
                    [&](int64_t b0, int64_t b1) { k.max_bwd(s, ddst, argmax, relu_y, dsrc, b0, b1); });
}

void avg_pool2d_forward(const Pool2DShape& s, const float* src, float* dst) {
  pool2d_validate(s);
  const kernels::PoolKernels& k = pick();
  const int64_t P = s.batch * s.out_h * s.out_w;
  parallel_for_rows(P, s.pool_h * s.pool_w * s.channels, kGrain,
                    [&](int64_t p0, int64_t p1) { k.avg_fwd(s, src, dst, p0, p1); });
}

void avg_pool2d_backward(const Pool2DShape& s, const float* ddst, float* dsrc) {
  pool2d_validate(s);
  const kernels::PoolKernels& k = pick();
  parallel_for_rows(s.batch, (s.in_h * s.in_w + s.out_h * s.out_w) * s.channels, kGrain,
                    [&](int64_t b0, int64_t b1) { k.avg_bwd(s, ddst, dsrc, b0, b1); });
}

void global_avg_pool_forward(const float* src, int64_t batch, int64_t spatial, int64_t channels,
                             float* dst) {
  check_global(batch, spatial, channels);
  const kernels::PoolKernels& k = pick();
  parallel_for_rows(batch, spatial * channels, kGrain, [&](int64_t b0, int64_t b1) {
    k.gavg_fwd(src, spatial, channels, dst, b0, b1);
  });
}

void global_avg_pool_backward(const float* ddst, int64_t batch, int64_t spatial,
                              int64_t channels, float* dsrc) {
  check_global(batch, spatial, channels);
  const float inv = spatial > 0 ? 1.0f / static_cast<float>(spatial) : 0.0f;
  parallel_for_rows(batch, spatial * channels, kGrain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t q = 0; q < spatial; ++q) {
        float* d = dsrc + (b * spatial + q) * channels;
        const float* g = ddst + b * channels;
        for (int64_t c = 0; c < channels; ++c) d[c] = g[c] * inv;
      }
  });
}

void global_max_pool_forward(const float* src, int64_t batch, int64_t spatial, int64_t channels,
                             float* dst, int32_t* argmax) {
  check_global(batch, spatial, channels);
  if (spatial > INT32_MAX) throw std::invalid_argument("global_max_pool: too many positions");
  const kernels::PoolKernels& k = pick();
  parallel_for_rows(batch, spatial * channels, kGrain, [&](int64_t b0, int64_t b1) {
    k.gmax_fwd(src, spatial, channels, dst, argmax, b0, b1);
  });
}

void global_max_pool_backward(const float* ddst, const int32_t* argmax, int64_t batch,
                              int64_t spatial, int64_t channels, float* dsrc) {
  check_global(batch, spatial, channels);
  parallel_for_rows(batch, spatial * channels, kGrain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* img = dsrc + b * spatial * channels;
      std::fill(img, img + spatial * channels, 0.0f);
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t q = argmax[b * channels + c];
        if (q >= 0 && q < spatial) img[q * channels + c] = ddst[b * channels + c];
      }
    }
  });
}

}  // namespace nnfast
