// int8 depthwise -> pointwise driver (see nnfast/depthwise_int8.h): one sample at a time, its
// depthwise input quantized once (Int8DepthwiseRun), then blocks of output pixels in parallel:
// each block's depthwise output is computed into the thread's scratch, quantized per pixel into
// the int8 GEMM's A rows while still in cache, and multiplied by the packed pointwise kernel
// with the dequantizing epilogue writing dst. Every number is computed as the two separate
// calls compute it (the same kernels, scales and epilogues), so the bits are theirs.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnfast/depthwise_int8.h"
#include "ops/depthwise_int8_run.h"
#include "ops/gemm_int8_rows.h"
#include "ops/parallel.h"
#include "ops/scratch.h"

namespace nnfast {
namespace {

thread_local ScratchBuffer<float> tl_dw_out;
thread_local ScratchBuffer<float> tl_row_scale;
thread_local ScratchBuffer<char> tl_row_finite;

// Output pixels per block: whole GEMM row tiles, about 64 of them (the depthwise block's floats,
// at most ~150 KB for 576 channels, stay in L2 for the quantizing pass and the GEMM).
int64_t pixels_per_block(int64_t mr) { return std::max<int64_t>(1, 64 / mr) * mr; }

}  // namespace

void int8_depthwise_pointwise_forward(const Conv2DShape& s, const float* src,
                                      const int8_t* dw_kernel, const float* dw_kernel_scale,
                                      const float* dw_bias, const float* dw_scale,
                                      Activation dw_act, const ActivationParams& dw_act_params,
                                      const int32_t* input_absmax, const Int8PackedKernel& pw,
                                      const float* pw_kernel_scale, const float* pw_bias,
                                      float epsilon, float* dst, const Int8Epilogue& pw_epilogue,
                                      Int8GemmVariant variant) {
  if (pw.k != s.out_c)
    throw std::invalid_argument("int8_depthwise_pointwise_forward: the pointwise kernel has "
                                "depth " + std::to_string(pw.k) + " but the depthwise "
                                "convolution gives " + std::to_string(s.out_c) + " channels");
  if (pw_epilogue.channel_absmax)
    throw std::invalid_argument("int8_depthwise_pointwise_forward: channel_absmax is not "
                                "gathered here");
  if (pw_epilogue.residual && pw_epilogue.ldr < pw.n)
    throw std::invalid_argument("int8_depthwise_pointwise_forward: residual row stride " +
                                std::to_string(pw_epilogue.ldr) + " under " +
                                std::to_string(pw.n));
  Int8DepthwiseRun dw(s, src, dw_kernel, dw_kernel_scale, dw_bias, dw_scale, dw_act,
                      dw_act_params, epsilon, input_absmax);
  const int64_t pixels = dw.out_pixels(), oc = s.out_c, n = pw.n;
  if (s.batch == 0 || pixels == 0 || n == 0) return;
  const kernels::Int8GemmKernelInfo& kern = int8_rows::gemm_kernel(variant);
  const int8_rows::DequantizeEpilogue epilogue(kern, pw, pw_kernel_scale, pw_bias, pw_epilogue,
                                               /*divide=*/false);
  const int64_t block = pixels_per_block(kern.mr);
  const int64_t blocks = (pixels + block - 1) / block;
  const int64_t taps = s.kernel_h * s.kernel_w;
  for (int64_t b = 0; b < s.batch; ++b) {
    float* dst_b = dst + b * pixels * n;
    if (!dw.begin_sample(b)) {  // a NaN/inf input: every depthwise output, so every row, NaN
      std::fill(dst_b, dst_b + pixels * n, std::nanf(""));
      continue;
    }
    const float* residual_b =
        pw_epilogue.residual ? pw_epilogue.residual + b * pixels * pw_epilogue.ldr : nullptr;
    parallel_for_rows(blocks, block * (2 * taps * oc + 2 * oc * n), int64_t{1} << 18,
                      [&](int64_t blk0, int64_t blk1) {
      std::vector<const int8_t*> tap_rows(static_cast<size_t>(dw.taps_even()));
      float* dw_out = tl_dw_out.get(static_cast<size_t>(block * oc));
      float* x_scale = tl_row_scale.get(static_cast<size_t>(block));
      char* finite = tl_row_finite.get(static_cast<size_t>(block));
      for (int64_t blk = blk0; blk < blk1; ++blk) {
        const int64_t p0 = blk * block, rows = std::min(block, pixels - p0);
        dw.compute(p0, p0 + rows, dw_out, tap_rows.data());
        int8_t* abuf = int8_rows::a_buffer(kern, rows, pw.kp);
        int8_rows::quantize_rows(kern, dw_out, oc, rows, oc, pw.kp, epsilon, abuf, x_scale,
                                 finite);
        float* y = dst_b + p0 * n;
        const float* residual = residual_b ? residual_b + p0 * pw_epilogue.ldr : nullptr;
        int8_rows::run_tiles(
            kern, rows, abuf, pw,
            [&](int64_t i0, int64_t r, int64_t j0, int64_t cols, const int32_t* acc) {
              epilogue(i0, r, j0, cols, acc, x_scale, finite, y, n, residual,
                       b * pixels + p0);
            });
      }
    });
  }
}

}  // namespace nnfast
