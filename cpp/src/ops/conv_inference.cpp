// Inference-only fused convolutions: MobileNet's depthwise -> pointwise block in one pass
// (the depthwise rows of a block of pixels stay in L2 and feed the 1x1 register tiles).
#include <algorithm>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include "kernels/conv/conv_kernels.h"
#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/runtime.h"
#include "ops/conv_common.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
using namespace conv_detail;

namespace {

bool wide_depthwise(const Conv2DShape& s) { return s.out_c >= 16; }

// The fused block runs the pointwise conv on a register tile; the reference route (no tile)
// runs the depthwise and the pointwise convolutions one after the other.
const dispatch::Registry<std::remove_pointer_t<kernels::ConvTileFn>, Conv2DShape>
    kDepthwisePointwise{"depthwise_pointwise_forward",
                        {{Isa::avx512, "f32_conv_tile_avx512", &kernels::f32_conv_tile_avx512,
                          wide_depthwise, "depthwise channels >= 16"},
                         {Isa::avx2, "f32_conv_tile_avx2", &kernels::f32_conv_tile_avx2,
                          wide_depthwise, "depthwise channels >= 16"},
                         {Isa::ref, "depthwise_then_pointwise", nullptr}}};

}  // namespace

void depthwise_pointwise_forward(const Conv2DShape& s, const float* src, const float* dw_kernel,
                                 const ConvEpilogue& dw, const float* pw_kernel, int64_t pw_out,
                                 const ConvEpilogue& pw, float* dst) {
  conv2d_validate(s);
  if (s.groups != s.in_c)
    throw std::invalid_argument("depthwise_pointwise_forward: groups must equal in_c");
  if (dw.residual)
    throw std::invalid_argument("depthwise_pointwise_forward: no depthwise residual");
  if (pw_out <= 0) throw std::invalid_argument("depthwise_pointwise_forward: pw_out must be > 0");
  const int64_t P = s.batch * s.out_h * s.out_w, C = s.out_c, OC = pw_out;
  if (P == 0) return;
  Conv2DShape pws;  // the pointwise convolution over the depthwise output
  pws.batch = s.batch;
  pws.in_h = pws.out_h = s.out_h;
  pws.in_w = pws.out_w = s.out_w;
  pws.in_c = C;
  pws.out_c = OC;
  const kernels::ConvTileFn tile = kDepthwisePointwise.select(s).fns;
  if (tile == nullptr) {  // two passes through memory
    std::vector<float> mid(static_cast<size_t>(P * C));
    depthwise_conv2d_forward(s, src, dw_kernel, dw.bias, dw.act, dw.params, mid.data(),
                             dw.scale);
    conv2d_forward(pws, mid.data(), pw_kernel, pw.bias, pw.act, pw.params, dst, pw.scale,
                   pw.residual);
    return;
  }
  constexpr int64_t T = kernels::kConvTilePixels;
  const DepthwiseVariant& v = pick_depthwise();
  // Pixels per block: whole tiles whose depthwise rows take at most ~192 KB.
  const int64_t block = std::max<int64_t>(T, std::min<int64_t>(8 * T, (48 * 1024) / C / T * T));
  const int64_t blocks = (P + block - 1) / block;
  const bool dw_pass = dw.scale || dw.act != Activation::linear;
  const std::vector<float> zeros(static_cast<size_t>(C), 0.0f);
  const double block_flops = 2.0 * block * C * (s.kernel_h * s.kernel_w + OC);
  parallel_for_chunks(blocks, tile_grain(block_flops), [&](int64_t b0, int64_t b1) {
    float* mid = thread_buffer(static_cast<size_t>(block * C)).data();
    const float* xp[T];
    const int64_t tap0 = 0;
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t p0 = blk * block, p1 = std::min(P, p0 + block);
      v.fwd(s, src, dw_kernel, dw.scale ? nullptr : dw.bias, mid, p0, p1);
      if (dw_pass)
        scale_shift_activation_rows(mid, C, p1 - p0, C, dw.scale, dw.scale ? dw.bias : nullptr,
                                    nullptr, 0, dw.act, dw.params);
      for (int64_t t0 = p0; t0 < p1; t0 += T) {
        const int64_t mr = std::min(T, p1 - t0);
        for (int64_t i = 0; i < T; ++i) xp[i] = i < mr ? mid + (t0 - p0 + i) * C : zeros.data();
        float* d = dst + t0 * OC;
        if (pw.residual) prefetch_rows(pw.residual + t0 * OC, OC, mr, OC);
        for (int64_t o0 = 0; o0 < OC; o0 += 32)
          tile(xp, &tap0, 1, C, pw_kernel, OC, nullptr, o0, std::min<int64_t>(32, OC - o0), mr, 0,
               d + o0, OC);
        // (After all channel blocks: the first blocks' stores have retired by now.)
        scale_shift_activation_rows(d, OC, mr, OC, pw.scale, pw.bias,
                                    pw.residual ? pw.residual + t0 * OC : nullptr, OC, pw.act,
                                    pw.params);
      }
    }
  });
}

}  // namespace nnfast
