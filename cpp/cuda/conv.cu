// conv2d forward as an implicit GEMM on the tiled GEMM kernel: the A loader reads the input
// patch element (pixel m, tap k) straight from the NHWC input (no im2col buffer), the B loader
// reads the (kernel_h, kernel_w, in_c/groups, out_c) kernel as a (K, out_c) matrix; grid slice z
// is the group. Scale, bias, residual and activation run in the GEMM epilogue.
#include "common.cuh"
#include "gemm_tile.cuh"
#include "nnfast/cuda/kernels.h"

namespace nnfast::cuda {
namespace {

// op(A)[m, k] with m = (b, oh, ow) and k = (kh, kw, ci); taps outside the input read zero.
struct ConvLoadA {
  static constexpr bool kFastest = true;  // consecutive k are consecutive input channels
  const float* src;
  int64_t in_h, in_w, in_c, out_h, out_w, kernel_w, cin_g;
  int64_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  __device__ __forceinline__ float operator()(int64_t m, int64_t k, int group) const {
    const int64_t ow = m % out_w, t = m / out_w;
    const int64_t oh = t % out_h, b = t / out_h;
    const int64_t ci = k % cin_g, tap = k / cin_g;
    const int64_t kw = tap % kernel_w, kh = tap / kernel_w;
    const int64_t ih = oh * stride_h - pad_top + kh * dilation_h;
    const int64_t iw = ow * stride_w - pad_left + kw * dilation_w;
    if (ih < 0 || ih >= in_h || iw < 0 || iw >= in_w) return 0.0f;
    return src[((b * in_h + ih) * in_w + iw) * in_c + group * cin_g + ci];
  }
};

// op(B)[k, n] = kernel[k, group * cout_g + n] (row stride out_c).
struct ConvLoadB {
  static constexpr bool kFastest = false;  // consecutive n are adjacent
  const float* kernel;
  int64_t out_c, cout_g;
  __device__ __forceinline__ float operator()(int64_t n, int64_t k, int group) const {
    return kernel[k * out_c + group * cout_g + n];
  }
};

}  // namespace

void conv2d_forward(const Conv2DShape& s, const float* src, const float* kernel,
                    const float* bias, Activation act, const ActivationParams& act_params,
                    float* dst, const float* scale, const float* residual) {
  conv2d_validate(s);
  const int64_t M = s.batch * s.out_h * s.out_w;
  const int64_t cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  const int64_t K = s.kernel_h * s.kernel_w * cin_g;
  if (M == 0 || s.out_c == 0) return;
  const ConvLoadA a{src,        s.in_h,     s.in_w,       s.in_c,       s.out_h,
                    s.out_w,    s.kernel_w, cin_g,        s.stride_h,   s.stride_w,
                    s.dilation_h, s.dilation_w, s.pad_top, s.pad_left};
  const ConvLoadB b{kernel, s.out_c, cout_g};
  detail::TileEpilogue ep;
  ep.bias = bias;
  ep.scale = scale;
  ep.residual = residual;
  ep.ldr = s.out_c;
  ep.act = detail::act_params(act, act_params);
  ep.c = dst;
  ep.ldc = s.out_c;
  detail::launch_tiled_sgemm(M, cout_g, K, s.groups, a, b, ep, "conv2d implicit-GEMM kernel");
}

}  // namespace nnfast::cuda
