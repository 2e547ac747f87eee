// Max / average pooling on NHWC tensors, one thread per output (or, for the average gradient,
// per input) element with the channel axis fastest so that neighbouring threads read
// neighbouring floats. Window rules as cpp/src/kernels/pool/pool_impl.h: positions outside the
// input are skipped, the average divides by the number of valid positions.
#include "common.cuh"
#include "nnfast/cuda/kernels.h"
#include "nnfast/cuda/runtime.h"

namespace nnfast::cuda {
namespace {

struct Geometry {
  int64_t batch, in_h, in_w, channels, out_h, out_w, pool_h, pool_w, stride_h, stride_w,
      pad_top, pad_left;
};

Geometry geometry(const Pool2DShape& s) {
  return Geometry{s.batch,  s.in_h,   s.in_w,     s.channels, s.out_h,   s.out_w,
                  s.pool_h, s.pool_w, s.stride_h, s.stride_w, s.pad_top, s.pad_left};
}

__device__ __forceinline__ void window(const Geometry& s, int64_t oh, int64_t ow, int64_t* h0,
                                       int64_t* h1, int64_t* w0, int64_t* w1) {
  const int64_t hs = oh * s.stride_h - s.pad_top, ws = ow * s.stride_w - s.pad_left;
  *h0 = hs < 0 ? 0 : hs;
  *h1 = hs + s.pool_h > s.in_h ? s.in_h : hs + s.pool_h;
  *w0 = ws < 0 ? 0 : ws;
  *w1 = ws + s.pool_w > s.in_w ? s.in_w : ws + s.pool_w;
}

#define NNFAST_FOR_EACH(i, n)                                                                \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void max_pool_forward_kernel(Geometry s, const float* __restrict__ src,
                                        float* __restrict__ dst, int32_t* __restrict__ argmax) {
  const int64_t C = s.channels, total = s.batch * s.out_h * s.out_w * C;
  NNFAST_FOR_EACH(e, total) {
    const int64_t c = e % C, p = e / C;
    const int64_t ow = p % s.out_w, oh = (p / s.out_w) % s.out_h, b = p / (s.out_w * s.out_h);
    int64_t h0, h1, w0, w1;
    window(s, oh, ow, &h0, &h1, &w0, &w1);
    const float* img = src + b * s.in_h * s.in_w * C + c;
    float best = -INFINITY;
    int32_t best_pos = static_cast<int32_t>(h0 * s.in_w + w0);
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) {
        const int64_t pos = ih * s.in_w + iw;
        const float x = img[pos * C];
        if (x > best) {  // strict: the first maximum in row-major window order wins
          best = x;
          best_pos = static_cast<int32_t>(pos);
        }
      }
    dst[e] = best;
    if (argmax != nullptr) argmax[e] = best_pos;
  }
}

__global__ void max_pool_backward_kernel(Geometry s, const float* __restrict__ ddst,
                                         const int32_t* __restrict__ argmax, float* dsrc) {
  const int64_t C = s.channels, hw = s.out_h * s.out_w, total = s.batch * hw * C;
  NNFAST_FOR_EACH(e, total) {
    const int64_t c = e % C, b = e / (hw * C);
    atomicAdd(dsrc + (b * s.in_h * s.in_w + argmax[e]) * C + c, ddst[e]);
  }
}

__global__ void avg_pool_forward_kernel(Geometry s, const float* __restrict__ src,
                                        float* __restrict__ dst) {
  const int64_t C = s.channels, total = s.batch * s.out_h * s.out_w * C;
  NNFAST_FOR_EACH(e, total) {
    const int64_t c = e % C, p = e / C;
    const int64_t ow = p % s.out_w, oh = (p / s.out_w) % s.out_h, b = p / (s.out_w * s.out_h);
    int64_t h0, h1, w0, w1;
    window(s, oh, ow, &h0, &h1, &w0, &w1);
    const float* img = src + b * s.in_h * s.in_w * C + c;
    float sum = 0.0f;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) sum += img[(ih * s.in_w + iw) * C];
    const int64_t count = (h1 - h0) * (w1 - w0);
    dst[e] = sum * (count > 0 ? 1.0f / static_cast<float>(count) : 0.0f);
  }
}

__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// Each input element gathers g / count from every window that contains it (no atomics).
__global__ void avg_pool_backward_kernel(Geometry s, const float* __restrict__ ddst,
                                         float* __restrict__ dsrc) {
  const int64_t C = s.channels, total = s.batch * s.in_h * s.in_w * C;
  NNFAST_FOR_EACH(e, total) {
    const int64_t c = e % C, p = e / C;
    const int64_t iw = p % s.in_w, ih = (p / s.in_w) % s.in_h, b = p / (s.in_w * s.in_h);
    // Window oh covers rows [oh*stride - pad, oh*stride - pad + pool).
    int64_t oh0 = floor_div(ih + s.pad_top - s.pool_h, s.stride_h) + 1;
    int64_t oh1 = floor_div(ih + s.pad_top, s.stride_h);
    int64_t ow0 = floor_div(iw + s.pad_left - s.pool_w, s.stride_w) + 1;
    int64_t ow1 = floor_div(iw + s.pad_left, s.stride_w);
    oh0 = oh0 < 0 ? 0 : oh0;
    ow0 = ow0 < 0 ? 0 : ow0;
    oh1 = oh1 > s.out_h - 1 ? s.out_h - 1 : oh1;
    ow1 = ow1 > s.out_w - 1 ? s.out_w - 1 : ow1;
    float sum = 0.0f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        int64_t h0, h1, w0, w1;
        window(s, oh, ow, &h0, &h1, &w0, &w1);
        const int64_t count = (h1 - h0) * (w1 - w0);
        if (count <= 0) continue;
        sum += ddst[((b * s.out_h + oh) * s.out_w + ow) * C + c] *
               (1.0f / static_cast<float>(count));
      }
    dsrc[e] = sum;
  }
}

#undef NNFAST_FOR_EACH

}  // namespace

void max_pool2d_forward(const Pool2DShape& s, const float* src, float* dst, int32_t* argmax) {
  pool2d_validate(s);
  const int64_t total = s.batch * s.out_h * s.out_w * s.channels;
  if (total == 0) return;
  max_pool_forward_kernel<<<detail::grid_for(total), detail::kThreads>>>(geometry(s), src, dst,
                                                                        argmax);
  NNFAST_CUDA_CHECK_LAUNCH("max_pool_forward_kernel");
}

void max_pool2d_backward(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                         float* dsrc) {
  pool2d_validate(s);
  fill_zero(dsrc, static_cast<size_t>(s.batch * s.in_h * s.in_w * s.channels) * sizeof(float));
  const int64_t total = s.batch * s.out_h * s.out_w * s.channels;
  if (total == 0) return;
  max_pool_backward_kernel<<<detail::grid_for(total), detail::kThreads>>>(geometry(s), ddst,
                                                                         argmax, dsrc);
  NNFAST_CUDA_CHECK_LAUNCH("max_pool_backward_kernel");
}

void avg_pool2d_forward(const Pool2DShape& s, const float* src, float* dst) {
  pool2d_validate(s);
  const int64_t total = s.batch * s.out_h * s.out_w * s.channels;
  if (total == 0) return;
  avg_pool_forward_kernel<<<detail::grid_for(total), detail::kThreads>>>(geometry(s), src, dst);
  NNFAST_CUDA_CHECK_LAUNCH("avg_pool_forward_kernel");
}

void avg_pool2d_backward(const Pool2DShape& s, const float* ddst, float* dsrc) {
  pool2d_validate(s);
  const int64_t total = s.batch * s.in_h * s.in_w * s.channels;
  if (total == 0) return;
  avg_pool_backward_kernel<<<detail::grid_for(total), detail::kThreads>>>(geometry(s), ddst, dsrc);
  NNFAST_CUDA_CHECK_LAUNCH("avg_pool_backward_kernel");
}

}  // namespace nnfast::cuda
