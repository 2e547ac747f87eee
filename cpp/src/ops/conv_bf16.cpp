// bfloat16 convolution drivers (see nnfast/conv_bf16.h): im2col / gather tiles of float32
// values handed to gemm_bf16, which rounds them to bf16 while packing for the AMX or
// AVX512_BF16 micro-kernel, or rounded float32 copies through the float32 convolution.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "kernels/conv/conv_kernels.h"
#include "nnfast/conv_bf16.h"
#include "nnfast/reduce.h"
#include "nnfast/runtime.h"
#include "ops/conv_bf16_direct.h"
#include "ops/conv_common.h"
#include "ops/parallel.h"
#include "ops/scratch.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

// NOTE: a tile of ~512 KB of im2col rows stays in L2 while the GEMM reads it: 4 MB tiles
// made the tutorial CNN's second layer (13x13x32 -> 64, batch 32) slower on AMX than the fp32
// kernels (0.84 vs 1.19 ms forward, im2col dominating); 512 KB tiles 0.44 ms.
constexpr int64_t kTileFloats = int64_t{1} << 17;
constexpr int64_t kMinTileRows = 256;

int64_t tile_rows(int64_t k) { return std::max(kMinTileRows, kTileFloats / std::max<int64_t>(k, 1)); }

int64_t kernel_size(const Conv2DShape& s) {
  return s.kernel_h * s.kernel_w * (s.in_c / s.groups) * s.out_c;
}

bool is_pointwise(const Conv2DShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
         s.pad_top == 0 && s.pad_left == 0 && s.groups == 1 && s.out_h == s.in_h &&
         s.out_w == s.in_w;
}

// Which route runs; via_f32 whenever the units are not asked for or cannot run.
Bf16GemmVariant route_of(const Conv2DShape& s, Bf16GemmVariant v) {
  if (v == Bf16GemmVariant::via_f32) return v;
  if (v != Bf16GemmVariant::best) {
    if (!gemm_bf16_variant_available(v))
      throw std::invalid_argument("conv2d bf16: the requested bf16 variant cannot run on this "
                                  "CPU under the current ISA cap");
    return v;
  }
  const int64_t depth = s.kernel_h * s.kernel_w * (s.in_c / s.groups);
  if (depth < 32 || s.out_c / s.groups < 16) return Bf16GemmVariant::via_f32;
  for (Bf16GemmVariant c : {Bf16GemmVariant::amx, Bf16GemmVariant::avx512bf16})
    if (gemm_bf16_variant_available(c)) return c;
  return Bf16GemmVariant::via_f32;
}

// The registries choose among the drivers' routes by shape once route_of has picked the
// GEMM's bf16 unit (or the float32 fallback) for the problem.
enum class Bf16ConvRoute { via_f32, gemm_direct, tiles, amx_direct };
const Bf16ConvRoute kViaF32 = Bf16ConvRoute::via_f32;
const Bf16ConvRoute kAmxDirect = Bf16ConvRoute::amx_direct;
const Bf16ConvRoute kGemmDirect = Bf16ConvRoute::gemm_direct;
const Bf16ConvRoute kTiles = Bf16ConvRoute::tiles;

struct Bf16ConvProblem {
  const Conv2DShape* shape = nullptr;
  Bf16GemmVariant unit = Bf16GemmVariant::via_f32;  // route_of's choice
  bool unit_asked = false;  // the caller named the unit: no cost rule overrides it
};
bool asked(Bf16GemmVariant v) { return v != Bf16GemmVariant::best; }
bool on_bf16_unit(const Bf16ConvProblem& p) { return p.unit != Bf16GemmVariant::via_f32; }
bool pointwise_on_bf16_unit(const Bf16ConvProblem& p) {
  return on_bf16_unit(p) && is_pointwise(*p.shape);
}
// NOTE: measured (1 thread, benchmarks/bench_bf16_conv_routes.py and docs/precision.md): the
// AMX direct convolution beats the im2col / gather tiles and the rounded Winograd route on
// every stride-1 shape tried with 16-512 channels (2-5x on 13x13..64x64 maps; 3x3x512 -> 512
// at 7x7: forward 8.0 vs 16.9 ms, input gradient 9.2 vs 26.1 ms), except (a) the forward where
// under 40% of the computed output rows are real ones (the dropped columns and the tile tails:
// 2x2 maps 'same', 25%: 2.6 vs 1.7 ms; 4x4 at 50%: 0.90 vs 1.53 ms), and (b) the kernel
// gradient where under 60% of the 32-position chunks are real outputs with 256 x 256 channels
// or more (4x4 maps at 50%: 1.29 vs 1.18 ms; 5x5 at 39%: 2.8 vs
// 1.9 ms; at 64 or 128 channels, 50% still wins: 0.09 vs 0.12, 0.31 vs 0.36 ms).
constexpr double kDirectMinRowUse = 0.4;
constexpr double kDirectMinChunkUse = 0.6;
constexpr int64_t kDirectWideChannels = 256 * 256;
bool amx_unit() { return gemm_bf16_variant_available(Bf16GemmVariant::amx); }
bool direct_on_amx(const Bf16ConvProblem& p) {
  return p.unit == Bf16GemmVariant::amx && !is_pointwise(*p.shape) &&
         bf16_direct_conv_fits(*p.shape);
}
// Output positions as computed (over the frame's width, in 16- or 32-row tiles) per real one.
double direct_position_use(const Conv2DShape& s, int64_t tile_rows) {
  const int64_t frame_w = s.out_w + s.dilation_w * (s.kernel_w - 1);
  const int64_t computed = (s.out_h * frame_w + tile_rows - 1) / tile_rows * tile_rows;
  return static_cast<double>(s.out_h * s.out_w) / static_cast<double>(computed);
}
bool forward_direct_on_amx(const Bf16ConvProblem& p) {
  return direct_on_amx(p) && direct_position_use(*p.shape, 16) >= kDirectMinRowUse;
}
bool kernel_gradient_direct_on_amx(const Bf16ConvProblem& p) {
  return direct_on_amx(p) && (direct_position_use(*p.shape, 32) >= kDirectMinChunkUse ||
                              p.shape->in_c * p.shape->out_c < kDirectWideChannels);
}
bool any_bf16_unit() {
  return gemm_bf16_variant_available(Bf16GemmVariant::amx) ||
         gemm_bf16_variant_available(Bf16GemmVariant::avx512bf16);
}

// NOTE: measured (1 thread, AMX, docs/precision.md): where the pass's GEMM is at most 32
// columns wide (the forward's out_c, the input gradient's in_c), im2col / gather tiles cost
// more than the GEMM saves, and rounded operands through the float32 Winograd kernels win:
// the tutorial CNN's second layer (32x13x13x32 -> 64) input gradient 0.84 ms on AMX, 0.72 ms
// rounded through Winograd; at 64 or 128 input channels AMX stays ahead (5.1 vs 5.9 ms,
// 2.7 vs 4.3 ms).
constexpr int64_t kNarrowGemmColumns = 32;
bool rounded_winograd_pays(const Bf16ConvProblem& p, int64_t gemm_columns, bool on_winograd) {
  return on_bf16_unit(p) && !p.unit_asked && gemm_columns <= kNarrowGemmColumns && on_winograd;
}
bool forward_on_rounded_winograd(const Bf16ConvProblem& p) {
  const Conv2DShape& s = *p.shape;
  return rounded_winograd_pays(
      p, s.out_c, conv_detail::winograd_3x3_f4(s) || conv_detail::winograd_3x3_f2(s));
}
bool input_gradient_on_rounded_winograd(const Bf16ConvProblem& p) {
  const Conv2DShape& s = *p.shape;
  return rounded_winograd_pays(p, s.in_c,
                               conv_detail::winograd_3x3_input_gradient_adjoint(s) ||
                                   conv_detail::winograd_3x3_input_gradient_f4(s) ||
                                   conv_detail::winograd_3x3_input_gradient_f2(s));
}

constexpr const char* kForwardWinogradRule =
    "a bf16 unit chosen by 'best', out_c <= 32 and the float32 forward on Winograd";
constexpr const char* kInputGradientWinogradRule =
    "a bf16 unit chosen by 'best', in_c <= 32 and the float32 input gradient on Winograd";
constexpr const char* kUnitRule =
    "kh*kw*in_c/groups >= 32 and out_c/groups >= 16, or a bf16 unit asked for";
constexpr const char* kPointwiseRule =
    "1x1 stride 1, and kh*kw*in_c/groups >= 32 and out_c/groups >= 16 or a bf16 unit asked for";
constexpr const char* kUnits = "AMX-BF16 or AVX512_BF16";
constexpr const char* kDirectRule =
    "the AMX unit, stride 1, one group, in_c and out_c multiples of 16, not 1x1";
constexpr const char* kDirectForwardRule =
    "the AMX unit, stride 1, one group, in_c and out_c multiples of 16, not 1x1, and >= 40% "
    "of the 16-row tiles' positions real outputs";
constexpr const char* kDirectKernelGradientRule =
    "the AMX unit, stride 1, one group, in_c and out_c multiples of 16, not 1x1, and >= 60% "
    "of the 32-position chunks real outputs or in_c*out_c < 256*256";

using Bf16ConvRegistry = dispatch::Registry<Bf16ConvRoute, Bf16ConvProblem>;
const Bf16ConvRegistry kForwardBf16{
    "conv2d_forward_bf16",
    {{Isa::avx512, "bf16_conv_direct_amx", &kAmxDirect, forward_direct_on_amx,
      kDirectForwardRule, amx_unit, "AMX-BF16"},
     {Isa::avx512, "bf16_conv_rounded_winograd", &kViaF32, forward_on_rounded_winograd,
      kForwardWinogradRule, any_bf16_unit, kUnits},
     {Isa::avx512, "bf16_conv_gemm_direct", &kGemmDirect, pointwise_on_bf16_unit, kPointwiseRule,
      any_bf16_unit, kUnits},
     {Isa::avx512, "bf16_conv_im2col_gemm", &kTiles, on_bf16_unit, kUnitRule, any_bf16_unit,
      kUnits},
     {Isa::ref, "bf16_conv_via_f32", &kViaF32}}};
const Bf16ConvRegistry kBackwardDataBf16{
    "conv2d_backward_data_bf16",
    {{Isa::avx512, "bf16_conv_direct_amx", &kAmxDirect, direct_on_amx, kDirectRule, amx_unit,
      "AMX-BF16"},
     {Isa::avx512, "bf16_conv_rounded_winograd", &kViaF32, input_gradient_on_rounded_winograd,
      kInputGradientWinogradRule, any_bf16_unit, kUnits},
     {Isa::avx512, "bf16_conv_gemm_direct", &kGemmDirect, pointwise_on_bf16_unit, kPointwiseRule,
      any_bf16_unit, kUnits},
     {Isa::avx512, "bf16_conv_gather_gemm", &kTiles, on_bf16_unit, kUnitRule, any_bf16_unit,
      kUnits},
     {Isa::ref, "bf16_conv_via_f32", &kViaF32}}};
const Bf16ConvRegistry kBackwardWeightsBf16{
    "conv2d_backward_weights_bf16",
    {{Isa::avx512, "bf16_conv_direct_amx", &kAmxDirect, kernel_gradient_direct_on_amx,
      kDirectKernelGradientRule, amx_unit, "AMX-BF16"},
     {Isa::avx512, "bf16_conv_gemm_direct", &kGemmDirect, pointwise_on_bf16_unit, kPointwiseRule,
      any_bf16_unit, kUnits},
     {Isa::avx512, "bf16_conv_im2col_gemm", &kTiles, on_bf16_unit, kUnitRule, any_bf16_unit,
      kUnits},
     {Isa::ref, "bf16_conv_via_f32", &kViaF32}}};

// NOTE: per-thread scratch, reused across calls: a fresh im2col buffer per call (4 MB for the
// tutorial CNN's second layer) cost more in page faults than the AMX GEMM on it.
thread_local ScratchBuffer<float> tl_cols;     // im2col / gather tiles
thread_local ScratchBuffer<float> tl_kernel;   // rearranged or rounded kernel
thread_local ScratchBuffer<float> tl_rounded;  // rounded input / output gradient

// x rounded to bf16 into `buf`'s memory.
const float* rounded(ScratchBuffer<float>& buf, const float* x, int64_t n) {
  float* out = buf.get(static_cast<size_t>(std::max<int64_t>(n, 1)));
  round_to_bf16_array(x, out, n);
  return out;
}

// Rows [p0, p1) of group g's im2col matrix into col, the rows split across threads.
void im2col_tile(const Conv2DShape& s, int64_t g, const float* src, int64_t p0, int64_t p1,
                 int64_t k, float* col) {
  parallel_for_rows(p1 - p0, k, 1 << 15, [&](int64_t a, int64_t b) {
    kernels::f32_im2col_nhwc_ref(s, g, src, p0 + a, p0 + b, col + a * k);
  });
}

}  // namespace

const char* conv2d_bf16_route(const Conv2DShape& s, Bf16GemmVariant variant) {
  switch (route_of(s, variant)) {
    case Bf16GemmVariant::amx: return "amx";
    case Bf16GemmVariant::avx512bf16: return "avx512bf16";
    default: return "via_f32";
  }
}

void conv2d_forward_bf16(const Conv2DShape& s, const float* src, const float* kernel,
                         const float* bias, Activation act, const ActivationParams& act_params,
                         float* dst, Bf16GemmVariant variant, bool round_dst) {
  conv2d_validate(s);
  const int64_t P = s.batch * s.out_h * s.out_w;
  if (P == 0) return;
  const Bf16GemmVariant route = route_of(s, variant);
  const Bf16ConvRoute how = *kForwardBf16.select({&s, route, asked(variant)}).fns;
  if (how == Bf16ConvRoute::via_f32) {
    const float* x = rounded(tl_rounded, src, s.batch * s.in_h * s.in_w * s.in_c);
    const float* w = rounded(tl_kernel, kernel, kernel_size(s));
    conv2d_forward(s, x, w, bias, act, act_params, dst);
    if (round_dst) round_to_bf16_array(dst, dst, P * s.out_c);
    return;
  }
  if (how == Bf16ConvRoute::amx_direct) {
    conv2d_forward_bf16_direct(s, src, kernel, bias, act, act_params, dst, round_dst);
    return;
  }
  const int64_t OC = s.out_c, G = s.groups, cout_g = OC / G;
  const int64_t K = s.kernel_h * s.kernel_w * (s.in_c / G);
  GemmEpilogue ep;
  ep.activation = act;
  ep.params = act_params;
  if (how == Bf16ConvRoute::gemm_direct) {
    ep.bias = bias;
    gemm_bf16(Trans::N, Trans::N, P, OC, K, 1.0f, src, s.in_c, kernel, OC, 0.0f, dst, OC, ep,
              route);
    if (round_dst) round_to_bf16_array(dst, dst, P * OC);
    return;
  }
  const int64_t T = std::min(P, tile_rows(K));
  float* col = tl_cols.get(static_cast<size_t>(T * K));
  for (int64_t p0 = 0; p0 < P; p0 += T) {
    const int64_t p1 = std::min(P, p0 + T);
    for (int64_t g = 0; g < G; ++g) {
      im2col_tile(s, g, src, p0, p1, K, col);
      GemmEpilogue epg = ep;
      epg.bias = bias ? bias + g * cout_g : nullptr;
      gemm_bf16(Trans::N, Trans::N, p1 - p0, cout_g, K, 1.0f, col, K, kernel + g * cout_g, OC, 0.0f, dst + p0 * OC + g * cout_g, OC, epg, route);
    }
  }
  if (round_dst) round_to_bf16_array(dst, dst, P * OC);
}

namespace {

// conv2d_backward_data_bf16's routes; true when dsrc came out rounded already (round_dsrc on
// the direct route: per image while in cache).
bool input_gradient_bf16(const Conv2DShape& s, const float* ddst, const float* kernel,
                         float* dsrc, Bf16GemmVariant variant, bool round_dsrc) {
  const int64_t Q = s.batch * s.in_h * s.in_w;
  if (Q == 0) return true;
  const int64_t IC = s.in_c, OC = s.out_c, G = s.groups;
  const int64_t cin_g = IC / G, cout_g = OC / G;
  const int64_t taps = s.kernel_h * s.kernel_w;
  const int64_t P = s.batch * s.out_h * s.out_w;
  if (P == 0) {
    std::fill(dsrc, dsrc + Q * IC, 0.0f);
    return true;
  }
  const Bf16GemmVariant route = route_of(s, variant);
  const Bf16ConvRoute how = *kBackwardDataBf16.select({&s, route, asked(variant)}).fns;
  if (how == Bf16ConvRoute::via_f32) {
    const float* g = rounded(tl_rounded, ddst, P * OC);
    const float* w = rounded(tl_kernel, kernel, kernel_size(s));
    conv2d_backward_data(s, g, w, dsrc);
    return false;
  }
  if (how == Bf16ConvRoute::amx_direct) {
    conv2d_backward_data_bf16_direct(s, ddst, kernel, dsrc, round_dsrc);
    return round_dsrc;
  }
  if (how == Bf16ConvRoute::gemm_direct) {
    gemm_bf16(Trans::N, Trans::T, Q, IC, OC, 1.0f, ddst, OC, kernel, OC, 0.0f, dsrc, IC,
              GemmEpilogue{}, route);
    return false;
  }
  // kernel (tap, ci, g*cout_g + o) -> wt[g] (tap, o, ci): the GEMM's right operand.
  const int64_t K = taps * cout_g;
  float* wt = tl_kernel.get(static_cast<size_t>(G * K * cin_g));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t ci = 0; ci < cin_g; ++ci)
        for (int64_t o = 0; o < cout_g; ++o)
          wt[((g * taps + tap) * cout_g + o) * cin_g + ci] =
              kernel[(tap * cin_g + ci) * OC + g * cout_g + o];
  const int64_t T = std::min(Q, tile_rows(K));
  float* dcol = tl_cols.get(static_cast<size_t>(T * K));
  for (int64_t q0 = 0; q0 < Q; q0 += T) {
    const int64_t q1 = std::min(Q, q0 + T);
    for (int64_t g = 0; g < G; ++g) {
      parallel_for_rows(q1 - q0, K, 1 << 15, [&](int64_t a, int64_t b) {
        kernels::f32_col2im_gather_nhwc_ref(s, g, ddst, q0 + a, q0 + b, dcol + a * K);
      });
      gemm_bf16(Trans::N, Trans::N, q1 - q0, cin_g, K, 1.0f, dcol, K, wt + g * K * cin_g, cin_g, 0.0f, dsrc + q0 * IC + g * cin_g, IC,
                GemmEpilogue{}, route);
    }
  }
  return false;
}

}  // namespace

void conv2d_backward_data_bf16(const Conv2DShape& s, const float* ddst, const float* kernel,
                               float* dsrc, Bf16GemmVariant variant, bool round_dsrc) {
  conv2d_validate(s);
  if (!input_gradient_bf16(s, ddst, kernel, dsrc, variant, round_dsrc) && round_dsrc)
    round_to_bf16_array(dsrc, dsrc, s.batch * s.in_h * s.in_w * s.in_c);
}

void conv2d_backward_weights_bf16(const Conv2DShape& s, const float* src, const float* ddst,
                                  float* dkernel, float* dbias, Bf16GemmVariant variant) {
  conv2d_validate(s);
  const int64_t P = s.batch * s.out_h * s.out_w;
  const int64_t IC = s.in_c, OC = s.out_c, G = s.groups;
  const int64_t cout_g = OC / G;
  const int64_t K = s.kernel_h * s.kernel_w * (IC / G);
  const Bf16GemmVariant route = route_of(s, variant);
  const Bf16ConvRoute how = *kBackwardWeightsBf16.select({&s, route, asked(variant)}).fns;
  if (how == Bf16ConvRoute::via_f32) {
    const float* x = rounded(tl_kernel, src, s.batch * s.in_h * s.in_w * IC);
    const float* g = rounded(tl_rounded, ddst, P * OC);
    if (dbias) sum_over_rows(g, P, OC, dbias, false);
    conv2d_backward_weights(s, x, g, dkernel, nullptr);
    return;
  }
  if (how == Bf16ConvRoute::amx_direct && P > 0) {
    conv2d_backward_weights_bf16_direct(s, src, ddst, dkernel, dbias);
    return;
  }
  if (dbias) sum_over_rows(rounded(tl_rounded, ddst, P * OC), P, OC, dbias, false);
  if (P == 0) {
    std::fill(dkernel, dkernel + K * OC, 0.0f);
    return;
  }
  if (how == Bf16ConvRoute::gemm_direct) {
    gemm_bf16(Trans::T, Trans::N, IC, OC, P, 1.0f, src, IC, ddst, OC, 0.0f, dkernel, OC,
              GemmEpilogue{}, route);
    return;
  }
  const int64_t T = std::min(P, tile_rows(K));
  float* col = tl_cols.get(static_cast<size_t>(T * K));
  for (int64_t p0 = 0; p0 < P; p0 += T) {
    const int64_t p1 = std::min(P, p0 + T);
    for (int64_t g = 0; g < G; ++g) {
      im2col_tile(s, g, src, p0, p1, K, col);
      gemm_bf16(Trans::T, Trans::N, K, cout_g, p1 - p0, 1.0f, col, K,
                ddst + p0 * OC + g * cout_g, OC, p0 == 0 ? 0.0f : 1.0f, dkernel + g * cout_g,
                OC, GemmEpilogue{}, route);
    }
  }
}

}  // namespace nnfast
