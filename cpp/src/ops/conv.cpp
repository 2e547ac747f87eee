// Convolution driver: validates the description, then picks per pass:
//   - 1x1 stride 1: one GEMM on the input as is;
//   - kh*kw*in_c <= 32 (first layers): direct register-blocked loops (and, for Conv2D(relu) ->
//     MaxPooling2D, the fused conv2d_relu_maxpool_* below);
//   - AVX-512, in_c and out_c >= 16: a register-tiled implicit GEMM (14 pixels x 32 channels,
//     input broadcast in place, no im2col/packing) for the forward pass and, at stride 1, for
//     backward-data (a flipped-kernel forward); other ISAs pack GEMM A panels per tap;
//   - otherwise GEMMs on im2col tiles:
//
// Forward:          dst_tile[T, cout_g]  = col_tile[T, kh*kw*cin_g] @ kernel_g      (+bias, act)
// Backward-data:    dsrc_tile[T, cin_g]  = dcol_tile[T, kh*kw*cout_g] @ kernel_g^T'  (gather form)
// Backward-weights: dkernel_g           += col_tile^T @ ddst_tile                    (per thread)
//
// NOTE: tiles of T output (or input) pixels keep the im2col buffer in L2 (T*K floats near
// kTileFloats), so the gather and the GEMM that reads it stay in cache and memory never holds
// the full im2col matrix. Backward-data gathers ddst per *input* pixel instead of scattering
// (col2im) so tiles never overlap and threads need no atomics; the kernel is rearranged once
// per call to (kh, kw, cout_g, cin_g). 1x1/stride-1 convolutions skip im2col entirely.
// Threads split tiles; the GEMM inside a tile then runs on its calling thread. Every output
// element is computed by one fixed sequence of operations, except backward-weights, whose
// per-thread partial sums are added in thread order (same thread count => same bits).
// The AVX-512 register-tile drivers live in conv_tiles.cpp, the inference-only fused
// separable block in conv_inference.cpp, what they share in conv_common.h.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv/conv_kernels.h"
#include "kernels/gemm/gemm_kernels.h"
#include "nnfast/conv.h"
#include "nnfast/gemm.h"
#include "nnfast/reduce.h"
#include "nnfast/runtime.h"
#include "ops/conv_common.h"
#include "ops/gemm_split.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
using namespace conv_detail;

namespace conv_detail {

namespace {
const DepthwiseVariant kDepthwiseAvx512{kernels::f32_depthwise_fwd_avx512,
                                        kernels::f32_depthwise_bwd_data_avx512,
                                        kernels::f32_depthwise_bwd_weights_avx512};
const DepthwiseVariant kDepthwiseAvx2{kernels::f32_depthwise_fwd_avx2,
                                      kernels::f32_depthwise_bwd_data_avx2,
                                      kernels::f32_depthwise_bwd_weights_avx2};
const DepthwiseVariant kDepthwiseRef{kernels::f32_depthwise_fwd_ref,
                                     kernels::f32_depthwise_bwd_data_ref,
                                     kernels::f32_depthwise_bwd_weights_ref};
const dispatch::Registry<DepthwiseVariant> kDepthwise{
    "depthwise_conv2d",
    {{Isa::avx512, "f32_depthwise_avx512", &kDepthwiseAvx512},
     {Isa::avx2, "f32_depthwise_avx2", &kDepthwiseAvx2},
     {Isa::ref, "f32_depthwise_ref", &kDepthwiseRef}}};
}  // namespace

const DepthwiseVariant& pick_depthwise() { return *kDepthwise.select().fns; }

}  // namespace conv_detail

namespace {

constexpr int64_t kTileFloats = 48 * 1024;      // ~192 KB of im2col per tile

int64_t tile_rows(int64_t k) {
  int64_t t = kTileFloats / std::max<int64_t>(k, 1);
  t = std::max<int64_t>(16, std::min<int64_t>(t, 1024));
  return t / 16 * 16;
}


// NOTE: below this kh*kw*in_c the GEMM's packing costs more than the multiply (measured on
// the MNIST tutorial's 3x3x1 -> 32 layer: direct ~4x faster than im2col + GEMM).
constexpr int64_t kDirectMaxK = 32;
constexpr int64_t kDirectMaxOut = 512;

bool use_direct(const Conv2DShape& s) {
  // Each factor first: a product of unchecked sizes could overflow.
  return s.groups == 1 && s.kernel_h <= kDirectMaxK && s.kernel_w <= kDirectMaxK &&
         s.in_c <= kDirectMaxK && s.kernel_h * s.kernel_w * s.in_c <= kDirectMaxK &&
         s.out_c <= kDirectMaxOut;
}

struct DirectConvVariant {
  void (*fwd)(const Conv2DShape&, const float*, const float*, const float*, int, float*, int64_t,
              int64_t);
  void (*bwd_weights)(const Conv2DShape&, const float*, const float*, const float*, float*,
                      float*, int64_t, int64_t);
};
const DirectConvVariant kDirectAvx512{kernels::f32_direct_conv_fwd_avx512,
                                      kernels::f32_direct_conv_bwd_weights_avx512};
const DirectConvVariant kDirectAvx2{kernels::f32_direct_conv_fwd_avx2,
                                    kernels::f32_direct_conv_bwd_weights_avx2};
const DirectConvVariant kDirectRef{kernels::f32_direct_conv_fwd_ref,
                                   kernels::f32_direct_conv_bwd_weights_ref};

// --- implicit GEMM forward ---------------------------------------------------------------------
// NOTE: the im2col path copies every tap of every pixel into a tile, then sgemm transposes
// that tile into micro-panels and re-packs the whole kernel for every tile: for a 3x3x64 -> 64
// layer that is as much data movement as the kernel matrix multiply itself. Here the GEMM's
// micro-kernel runs on A panels packed straight from the NHWC input (for one tap, MR pixels of
// one output row are MR rows of a strided matrix: one transposing pack per tap) and on the
// kernel packed once per call. Taps outside the input become zeros in the panel.

const kernels::GemmKernelInfo& gemm_kernel_info() { return sgemm_micro_kernel(); }

// The GemmPackTransFn contract: dst[p*width + r] = src[r*lds + p] (r < rows, p < kc), and 0
// for rows <= r < width.
void pack_rows(const kernels::GemmKernelInfo& kern, const float* src, int64_t lds, int64_t rows,
               int64_t kc, float* dst, int64_t width) {
  if (kern.pack_t) {
    kern.pack_t(src, lds, rows, kc, 1.0f, dst, width);
    return;
  }
  for (int64_t p = 0; p < kc; ++p) {
    float* out = dst + p * width;
    for (int64_t r = 0; r < rows; ++r) out[r] = src[r * lds + p];
    for (int64_t r = rows; r < width; ++r) out[r] = 0.0f;
  }
}

// Worth it when each tap brings a run of channels long enough for the transposing pack and
// the micro-panels of an output row are mostly full.
bool use_implicit_gemm(const Conv2DShape& s) {
  if (s.groups != 1 || s.in_c < 16 || is_pointwise(s) || use_direct(s)) return false;
  const int64_t mr = gemm_kernel_info().mr;
  const int64_t padded = (s.out_w + mr - 1) / mr * mr;
  return 8 * (padded - s.out_w) <= padded;  // at most 1/8 of the panel rows idle
}

// Packs depth [pc, pc + kc) of the implicit im2col rows of pixels (b, oh, ow0 .. ow0 + mr) into
// one MR-wide A panel (kc x MR). Depth index t = tap*in_c + ci, tap = kh*kernel_w + kw.
void pack_implicit_panel(const Conv2DShape& s, const kernels::GemmKernelInfo& kern,
                         const float* src, int64_t b, int64_t oh, int64_t ow0, int64_t mr,
                         int64_t pc, int64_t kc, float* dst) {
  const int64_t C = s.in_c, MR = kern.mr;
  const int64_t lds = s.stride_w * C;
  for (int64_t t0 = pc; t0 < pc + kc;) {
    const int64_t tap = t0 / C, c0 = t0 % C;
    const int64_t c1 = std::min<int64_t>(C, c0 + (pc + kc - t0));
    const int64_t kh = tap / s.kernel_w, kw = tap % s.kernel_w;
    float* out = dst + (t0 - pc) * MR;
    const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
    // Pixels [lo, hi) of the panel read inside the input for this tap (a contiguous range).
    int64_t lo = 0, hi = mr;
    const int64_t iw0 = ow0 * s.stride_w - s.pad_left + kw * s.dilation_w;
    while (lo < hi && iw0 + lo * s.stride_w < 0) ++lo;
    while (hi > lo && iw0 + (hi - 1) * s.stride_w >= s.in_w) --hi;
    if (ih < 0 || ih >= s.in_h || lo >= hi) {
      std::fill(out, out + (c1 - c0) * MR, 0.0f);
    } else if (lo == 0) {
      pack_rows(kern, src + ((b * s.in_h + ih) * s.in_w + iw0) * C + c0, lds, hi, c1 - c0, out,
                MR);
    } else {
      // Left border: pack the in-range pixels at column offset lo. The pack zero-fills each
      // depth row up to MR columns past its start, i.e. into columns [0, lo) of the next depth
      // row -- exactly the out-of-range pixels, which must be zero; the first row's are zeroed
      // here, and the last row's spill lands in the next slice (packed after this one) or in
      // the MR floats of slack after the panel.
      std::fill(out, out + lo, 0.0f);
      pack_rows(kern, src + ((b * s.in_h + ih) * s.in_w + iw0 + lo * s.stride_w) * C + c0, lds,
                hi - lo, c1 - c0, out + lo, MR);
    }
    t0 += c1 - c0;
  }
}

void conv2d_forward_implicit(const Conv2DShape& s, const float* src, const float* kernel,
                             const float* bias, Activation act, const ActivationParams& act_params,
                             float* dst, const float* scale) {
  const kernels::GemmKernelInfo& kern = gemm_kernel_info();
  const int64_t MR = kern.mr, NR = kern.nr, KC = kern.kc;
  const int64_t OC = s.out_c, K = s.kernel_h * s.kernel_w * s.in_c;
  const int64_t n_pad = (OC + NR - 1) / NR * NR;
  // The kernel (K x OC, row-major) packed once: depth block pc holds its NR-column panels,
  // each kc x NR, at offset pc * n_pad.
  std::vector<float> bpack(static_cast<size_t>(K * n_pad), 0.0f);
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    for (int64_t jr = 0; jr < OC; jr += NR) {
      const int64_t nr = std::min(NR, OC - jr);
      float* panel = bpack.data() + pc * n_pad + jr * kc;
      if (kern.pack_n) {
        kern.pack_n(kernel + pc * OC + jr, OC, nr, kc, 1.0f, panel, NR);
      } else {
        for (int64_t p = 0; p < kc; ++p)
          std::copy(kernel + (pc + p) * OC + jr, kernel + (pc + p) * OC + jr + nr,
                    panel + p * NR);
      }
    }
  }
  const int64_t panels_per_row = (s.out_w + MR - 1) / MR;
  // Output rows per block: about MC pixels of A panels (L2), at least one row.
  const int64_t rows_per_block = std::max<int64_t>(1, kern.mc / (panels_per_row * MR));
  const int64_t rows = s.batch * s.out_h;
  const int64_t blocks = (rows + rows_per_block - 1) / rows_per_block;
  const bool has_act = act != Activation::linear;
  const double block_flops = 2.0 * rows_per_block * s.out_w * K * OC;
  parallel_for_chunks(blocks, tile_grain(block_flops), [&](int64_t blk0, int64_t blk1) {
    const int64_t kc_max = std::min(KC, K);
    float* apack = thread_buffer(static_cast<size_t>(rows_per_block * panels_per_row * MR * kc_max +
                                                     MR)).data();
    for (int64_t blk = blk0; blk < blk1; ++blk) {
      const int64_t r0 = blk * rows_per_block, r1 = std::min(rows, r0 + rows_per_block);
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const bool last = pc + kc >= K;
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t i = 0; i < panels_per_row; ++i) {
            const int64_t ow0 = i * MR;
            pack_implicit_panel(s, kern, src, r / s.out_h, r % s.out_h, ow0,
                                std::min(MR, s.out_w - ow0), pc, kc,
                                apack + ((r - r0) * panels_per_row + i) * MR * kc);
          }
        for (int64_t jr = 0; jr < OC; jr += NR) {
          const int64_t nr = std::min(NR, OC - jr);
          const float* bp = bpack.data() + pc * n_pad + jr * kc;
          for (int64_t r = r0; r < r1; ++r)
            for (int64_t i = 0; i < panels_per_row; ++i) {
              const int64_t ow0 = i * MR, mr = std::min(MR, s.out_w - ow0);
              float* c = dst + (r * s.out_w + ow0) * OC + jr;
              kern.fn(kc, apack + ((r - r0) * panels_per_row + i) * MR * kc, bp, NR, c, OC, mr, nr,
                      pc == 0 ? 0.0f : 1.0f, last && bias && !scale ? bias + jr : nullptr);
              if (last && scale)
                scale_shift_activation_rows(c, OC, mr, nr, scale + jr, bias ? bias + jr : nullptr,
                                            nullptr, 0, act, act_params);
              else if (last && has_act)
                scale_shift_activation_rows(c, OC, mr, nr, nullptr, nullptr, nullptr, 0, act,
                                            act_params);
            }
        }
      }
    }
  });
}

}  // namespace

namespace {
void check_size_args(const char* what, int64_t n, int64_t k, int64_t stride, int64_t dilation) {
  if (n < 0 || k <= 0 || stride <= 0 || dilation <= 0)
    throw std::invalid_argument(std::string(what) + ": expected n >= 0 and positive kernel size, "
                                "stride and dilation, received n=" + std::to_string(n) +
                                " k=" + std::to_string(k) + " stride=" + std::to_string(stride) +
                                " dilation=" + std::to_string(dilation));
  if (n > (int64_t{1} << 62) || k > (int64_t{1} << 40) || stride > (int64_t{1} << 40) ||
      dilation > (int64_t{1} << 20))  // no overflow below
    throw std::invalid_argument(std::string(what) + ": kernel size, stride or dilation too large");
}
}  // namespace

int64_t conv_output_size(int64_t n, int64_t k, int64_t stride, int64_t dilation, bool same) {
  check_size_args("conv_output_size", n, k, stride, dilation);
  if (same) return (n + stride - 1) / stride;
  const int64_t span = dilation * (k - 1) + 1;
  return n >= span ? (n - span) / stride + 1 : 0;
}

int64_t conv_same_padding(int64_t n, int64_t k, int64_t stride, int64_t dilation) {
  check_size_args("conv_same_padding", n, k, stride, dilation);
  const int64_t out = (n + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + dilation * (k - 1) + 1 - n, 0);
  return total / 2;
}

void conv2d_validate(const Conv2DShape& s) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("conv2d: " + what); };
  if (s.batch < 0 || s.in_h < 0 || s.in_w < 0 || s.out_h < 0 || s.out_w < 0)
    fail("negative size: batch=" + std::to_string(s.batch) + " in=(" + std::to_string(s.in_h) +
         ", " + std::to_string(s.in_w) + ") out=(" + std::to_string(s.out_h) + ", " +
         std::to_string(s.out_w) + ")");
  if (s.in_c <= 0 || s.out_c <= 0) fail("channels must be positive, received in_c=" +
                                        std::to_string(s.in_c) + " out_c=" + std::to_string(s.out_c));
  if (s.kernel_h <= 0 || s.kernel_w <= 0) fail("kernel size must be positive");
  if (s.stride_h <= 0 || s.stride_w <= 0) fail("strides must be positive, received (" +
                                               std::to_string(s.stride_h) + ", " +
                                               std::to_string(s.stride_w) + ")");
  if (s.dilation_h <= 0 || s.dilation_w <= 0) fail("dilation rates must be positive");
  if (s.groups <= 0 || s.in_c % s.groups || s.out_c % s.groups)
    fail("in_c=" + std::to_string(s.in_c) + " and out_c=" + std::to_string(s.out_c) +
         " must both be divisible by groups=" + std::to_string(s.groups));
  // Sizes can come from Python integers (the fused op's conv_out, kernel sizes): every size
  // product the drivers form must fit in int64.
  auto fits = [](std::initializer_list<int64_t> factors) {
    int64_t p = 1;
    for (int64_t f : factors)
      if (__builtin_mul_overflow(p, f, &p)) return false;
    return true;
  };
  if (!fits({s.kernel_h, s.kernel_w, s.in_c, s.out_c}) ||
      !fits({s.batch, s.in_h, s.in_w, s.in_c}) || !fits({s.batch, s.out_h, s.out_w, s.out_c}) ||
      !fits({s.dilation_h, s.kernel_h}) || !fits({s.dilation_w, s.kernel_w}) ||
      !fits({s.stride_h, s.out_h}) || !fits({s.stride_w, s.out_w}))
    fail("sizes too large: their products overflow 64-bit integers");
}

namespace {

// --- The convolution registries ----------------------------------------------------------------
// Each pass is a family of routes, tried in order: the ISA-specific register tiles and direct
// kernels where their shape predicate holds, then the GEMM routes (portable drivers around the
// "gemm" registry's micro-kernel), the general im2col/gather route last.
enum class ConvRoute {
  tiles,            // conv2d_forward_tiles / the flipped-kernel backward-data on them
  tiles_pointwise,  // the tiles on a 1x1 conv with few output channels
  tiles_strided,    // conv2d_backward_data_strided
  rowmerged,        // conv2d_forward_rowmerged
  gemm_direct,      // 1x1 stride 1: one GEMM on the input as is
  direct,           // the direct loops of kh*kw*in_c <= 32 layers
  implicit_gemm,    // GEMM A panels packed from the input per tap
  im2col_gemm,      // GEMMs on im2col (or col2im-gather) tiles
  winograd,         // Winograd F(2x2, 3x3): 16 products on transformed tiles (conv_winograd.cpp)
  winograd4,        // Winograd F(4x4, 3x3): 36 products on transformed tiles
  winograd4_adjoint,  // backward-data: the adjoint of the F(4x4, 3x3) forward
};
struct ConvImpl {
  ConvRoute route;
  kernels::ConvTileFn tile;          // the register tile (tile routes)
  const DirectConvVariant* direct;   // the direct kernels (direct route)
};

const ConvImpl kTilesAvx512{ConvRoute::tiles, kernels::f32_conv_tile_avx512, nullptr};
const ConvImpl kTilesAvx2{ConvRoute::tiles, kernels::f32_conv_tile_avx2, nullptr};
const ConvImpl kPointwiseTilesAvx512{ConvRoute::tiles_pointwise, kernels::f32_conv_tile_avx512,
                                     nullptr};
const ConvImpl kPointwiseTilesAvx2{ConvRoute::tiles_pointwise, kernels::f32_conv_tile_avx2,
                                   nullptr};
const ConvImpl kStridedAvx512{ConvRoute::tiles_strided, kernels::f32_conv_tile_avx512, nullptr};
const ConvImpl kStridedAvx2{ConvRoute::tiles_strided, kernels::f32_conv_tile_avx2, nullptr};
const ConvImpl kRowmergedAvx512{ConvRoute::rowmerged, kernels::f32_conv_tile_avx512, nullptr};
const ConvImpl kRowmergedAvx2{ConvRoute::rowmerged, kernels::f32_conv_tile_avx2, nullptr};
const ConvImpl kGemmDirect{ConvRoute::gemm_direct, nullptr, nullptr};
const ConvImpl kDirectConvAvx512{ConvRoute::direct, nullptr, &kDirectAvx512};
const ConvImpl kDirectConvAvx2{ConvRoute::direct, nullptr, &kDirectAvx2};
const ConvImpl kDirectConvRef{ConvRoute::direct, nullptr, &kDirectRef};
const ConvImpl kImplicitGemm{ConvRoute::implicit_gemm, nullptr, nullptr};
const ConvImpl kIm2colGemm{ConvRoute::im2col_gemm, nullptr, nullptr};
const ConvImpl kWinogradRoute{ConvRoute::winograd, nullptr, nullptr};
const ConvImpl kWinograd4Route{ConvRoute::winograd4, nullptr, nullptr};
const ConvImpl kWinograd4AdjointRoute{ConvRoute::winograd4_adjoint, nullptr, nullptr};
#define NNFAST_WINOGRAD_CASES                                                                 \
  "3x3, stride 1, dilation 1, groups 1, padding <= 2, 16 to 128 channels each way, "          \
  ">= 192 output tiles of 2x2"
// The cost rule (conv_winograd.cpp) picks the tile size per shape.
#define NNFAST_WINOGRAD_ROUTES                                                                \
  {Isa::ref, "winograd_f4x4_3x3", &kWinograd4Route, winograd_3x3_f4,                         \
   NNFAST_WINOGRAD_CASES ", where 4x4 tiles cost less"},                                      \
  {Isa::ref, "winograd_f2x2_3x3", &kWinogradRoute, winograd_3x3_f2,                          \
   NNFAST_WINOGRAD_CASES ", where 2x2 tiles cost less"}

// NOTE: a pointwise conv with few output channels (or many more inputs than outputs) reads
// a long input for little work per row: the GEMM's packing of it cost more than the tile
// kernel's broadcasts straight from the input rows (56x56x144 -> 24: 0.7x -> 1.1x PyTorch;
// 28x28x512 -> 128: 0.78x -> 0.97x; measured with the AVX-512 tile).
bool thin_pointwise(const Conv2DShape& s) {
  return is_pointwise(s) && (s.out_c <= 64 || s.in_c >= 2 * s.out_c) && s.in_c >= 16 &&
         s.batch * s.out_h * s.out_w >= 4 * kernels::kConvTilePixels;
}
// (One input channel stays on the direct kernels: runs of kernel_w floats are too short.)
bool few_channels(const Conv2DShape& s) {
  return s.groups == 1 && s.in_c < 16 && s.in_c > 1 && s.dilation_w == 1 && s.kernel_h <= 16 &&
         s.kernel_w * s.in_c >= 8 && s.out_c >= 16;
}
// (The tile spans 32 output channels: fewer than 16 would leave most lanes idle.)
bool wide_channels(const Conv2DShape& s) {
  return s.groups == 1 && s.in_c >= 16 && s.out_c >= 16 && !is_pointwise(s);
}
// Stride 1 with padding at most d*(k-1): the input gradient is a forward conv (see below).
bool flippable(const Conv2DShape& s) {
  return s.groups == 1 && s.stride_h == 1 && s.stride_w == 1 && s.out_c >= 16 && s.in_c >= 16 &&
         s.dilation_h * (s.kernel_h - 1) - s.pad_top >= 0 &&
         s.dilation_w * (s.kernel_w - 1) - s.pad_left >= 0;
}
bool strided_tiles(const Conv2DShape& s) {
  return s.groups == 1 && s.out_c >= 16 && s.in_c >= 16;
}
bool direct_with_pixels(const Conv2DShape& s) {
  return use_direct(s) && s.batch * s.out_h * s.out_w > 0;
}

using ConvRegistry = dispatch::Registry<ConvImpl, Conv2DShape>;

const ConvRegistry kConvForward{
    "conv2d_forward",
    {NNFAST_WINOGRAD_ROUTES,
     {Isa::avx512, "f32_conv_tile_pointwise_avx512", &kPointwiseTilesAvx512, thin_pointwise,
      "1x1 stride 1, in_c >= 16, out_c <= 64 or in_c >= 2*out_c"},
     // (Also the tile the fused depthwise->pointwise inference route runs, so a frozen
     // MobileNet block gives the same bits called layer by layer or fused. AVX2 at 1 thread:
     // 56x56x144 -> 24 1.2x and 32x14x14x96 -> 32 1.15x the GEMM route, 28x28x512 -> 128 even.)
     {Isa::avx2, "f32_conv_tile_pointwise_avx2", &kPointwiseTilesAvx2, thin_pointwise,
      "1x1 stride 1, in_c >= 16, out_c <= 64 or in_c >= 2*out_c"},
     {Isa::avx512, "f32_conv_rowmerged_avx512", &kRowmergedAvx512, few_channels,
      "groups 1, 2 <= in_c < 16, kernel_w*in_c >= 8, out_c >= 16"},
     {Isa::avx2, "f32_conv_rowmerged_avx2", &kRowmergedAvx2, few_channels,
      "groups 1, 2 <= in_c < 16, kernel_w*in_c >= 8, out_c >= 16"},
     {Isa::ref, "gemm_direct", &kGemmDirect, is_pointwise, "1x1 stride 1"},
     {Isa::avx512, "f32_direct_conv_avx512", &kDirectConvAvx512, use_direct,
      "kh*kw*in_c <= 32, groups 1"},
     {Isa::avx2, "f32_direct_conv_avx2", &kDirectConvAvx2, use_direct,
      "kh*kw*in_c <= 32, groups 1"},
     {Isa::ref, "f32_direct_conv_ref", &kDirectConvRef, use_direct, "kh*kw*in_c <= 32, groups 1"},
     {Isa::avx512, "f32_conv_tile_avx512", &kTilesAvx512, wide_channels,
      "groups 1, in_c and out_c >= 16"},
     // NOTE: on AVX2 the implicit GEMM (6x16 micro-kernel) measured about as fast as the 6x16
     // sub-tiles on 3x3 layers with 32-128 channels, so it stays first; the tile takes the
     // shapes whose output rows fill the GEMM's panels badly (im2col before).
     {Isa::ref, "implicit_gemm", &kImplicitGemm, use_implicit_gemm,
      "groups 1, in_c >= 16, out_w fills the GEMM's row panels"},
     {Isa::avx2, "f32_conv_tile_avx2", &kTilesAvx2, wide_channels,
      "groups 1, in_c and out_c >= 16"},
     {Isa::ref, "im2col_tiles_gemm", &kIm2colGemm}}};

const ConvRegistry kConvBackwardData{
    "conv2d_backward_data",
    {{Isa::ref, "winograd_f4x4_3x3_adjoint", &kWinograd4AdjointRoute,
      winograd_3x3_input_gradient_adjoint,
      NNFAST_WINOGRAD_CASES ", where the forward's 4x4 tiles cost least"},
     {Isa::ref, "winograd_f4x4_3x3", &kWinograd4Route, winograd_3x3_input_gradient_f4,
      NNFAST_WINOGRAD_CASES ", where 4x4 tiles cost less than 2x2 and the register tiles"},
     {Isa::ref, "winograd_f2x2_3x3", &kWinogradRoute, winograd_3x3_input_gradient_f2,
      NNFAST_WINOGRAD_CASES ", where 2x2 tiles cost less than 4x4 and the register tiles"},
     {Isa::ref, "gemm_direct", &kGemmDirect, is_pointwise, "1x1 stride 1"},
     {Isa::avx512, "f32_conv_tile_avx512", &kTilesAvx512, flippable,
      "groups 1, stride 1, in_c and out_c >= 16, padding <= dilation*(kernel-1)"},
     {Isa::avx2, "f32_conv_tile_avx2", &kTilesAvx2, flippable,
      "groups 1, stride 1, in_c and out_c >= 16, padding <= dilation*(kernel-1)"},
     {Isa::avx512, "f32_conv_tile_strided_avx512", &kStridedAvx512, strided_tiles,
      "groups 1, in_c and out_c >= 16"},
     {Isa::avx2, "f32_conv_tile_strided_avx2", &kStridedAvx2, strided_tiles,
      "groups 1, in_c and out_c >= 16"},
     {Isa::ref, "gather_tiles_gemm", &kIm2colGemm}}};

const ConvRegistry kConvBackwardWeights{
    "conv2d_backward_weights",
    {NNFAST_WINOGRAD_ROUTES,
     {Isa::avx512, "f32_direct_conv_avx512", &kDirectConvAvx512, direct_with_pixels,
      "kh*kw*in_c <= 32, groups 1"},
     {Isa::avx2, "f32_direct_conv_avx2", &kDirectConvAvx2, direct_with_pixels,
      "kh*kw*in_c <= 32, groups 1"},
     {Isa::ref, "f32_direct_conv_ref", &kDirectConvRef, direct_with_pixels,
      "kh*kw*in_c <= 32, groups 1"},
     {Isa::ref, "gemm_direct", &kGemmDirect, is_pointwise, "1x1 stride 1"},
     {Isa::ref, "im2col_tiles_gemm", &kIm2colGemm}}};

}  // namespace

void conv2d_forward(const Conv2DShape& s, const float* src, const float* kernel,
                    const float* bias, Activation act, const ActivationParams& act_params,
                    float* dst, const float* scale, const float* residual) {
  conv2d_validate(s);
  const int64_t P = s.batch * s.out_h * s.out_w;
  if (P == 0) return;
  const int64_t OC = s.out_c, G = s.groups;
  const int64_t cin_g = s.in_c / G, cout_g = OC / G;
  const int64_t K = s.kernel_h * s.kernel_w * cin_g;
  const ConvImpl& route = *kConvForward.select(s).fns;
  if (route.route == ConvRoute::winograd || route.route == ConvRoute::winograd4) {
    conv2d_forward_winograd(route.route == ConvRoute::winograd4 ? 4 : 2, s, src, kernel, bias,
                            act, act_params, dst, scale, residual);
    return;
  }
  if (route.route == ConvRoute::tiles_pointwise) {
    conv2d_forward_tiles(route.tile, s, src, kernel, bias, act, act_params, dst, scale, residual);
    return;
  }
  if (route.route == ConvRoute::rowmerged) {
    conv2d_forward_rowmerged(route.tile, s, src, kernel, bias, act, act_params, dst, scale,
                             residual);
    return;
  }
  if (residual && !is_pointwise(s)) {
    // Only the GEMM path adds the residual in its epilogue; elsewhere one more pass.
    conv2d_forward(s, src, kernel, bias, Activation::linear, ActivationParams{}, dst, scale);
    parallel_for_rows(P, OC, 1 << 16, [&](int64_t p0, int64_t p1) {
      scale_shift_activation_rows(dst + p0 * OC, OC, p1 - p0, OC, nullptr, nullptr,
                                  residual + p0 * OC, OC, act, act_params);
    });
    return;
  }
  GemmEpilogue ep;
  ep.activation = act;
  ep.params = act_params;
  ep.scale = scale;
  ep.residual = residual;
  ep.ldr = OC;
  if (route.route == ConvRoute::gemm_direct) {  // src is already the im2col matrix
    ep.bias = bias;
    sgemm(Trans::N, Trans::N, P, OC, K, 1.0f, src, s.in_c, kernel, OC, 0.0f, dst, OC, ep);
    return;
  }
  if (route.route == ConvRoute::direct) {  // packing would dominate a GEMM
    const DirectConvVariant& v = *route.direct;
    const bool relu = act == Activation::relu && act_params.alpha == 0.0f &&
                      act_params.threshold == 0.0f && std::isinf(act_params.max_value);
    parallel_for_rows(P, 2 * K * OC, 1 << 18, [&](int64_t p0, int64_t p1) {
      if (scale) {  // the direct kernels only add a bias: scale in a pass per cached block
        for (int64_t q0 = p0; q0 < p1; q0 += 64) {
          const int64_t q1 = std::min(p1, q0 + 64);
          v.fwd(s, src, kernel, nullptr, 0, dst, q0, q1);
          scale_shift_activation_rows(dst + q0 * OC, OC, q1 - q0, OC, scale, bias, nullptr, 0,
                                      act, act_params);
        }
        return;
      }
      v.fwd(s, src, kernel, bias, relu ? 1 : 0, dst, p0, p1);
      if (!relu && act != Activation::linear)
        activation_forward(act, act_params, dst + p0 * OC, dst + p0 * OC, (p1 - p0) * OC);
    });
    return;
  }
  if (route.route == ConvRoute::tiles) {  // 14 pixels x 32 channels in registers
    conv2d_forward_tiles(route.tile, s, src, kernel, bias, act, act_params, dst, scale);
    return;
  }
  if (route.route == ConvRoute::implicit_gemm) {
    conv2d_forward_implicit(s, src, kernel, bias, act, act_params, dst, scale);
    return;
  }
  const int64_t T = tile_rows(K);
  const int64_t tiles = (P + T - 1) / T;
  parallel_for_chunks(tiles, tile_grain(2.0 * T * K * OC), [&](int64_t t0, int64_t t1) {
    float* col = thread_buffer(static_cast<size_t>(T * K)).data();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t p0 = t * T, p1 = std::min(P, p0 + T);
      for (int64_t g = 0; g < G; ++g) {
        kernels::f32_im2col_nhwc_ref(s, g, src, p0, p1, col);
        GemmEpilogue epg = ep;
        epg.bias = bias ? bias + g * cout_g : nullptr;
        epg.scale = scale ? scale + g * cout_g : nullptr;
        sgemm(Trans::N, Trans::N, p1 - p0, cout_g, K, 1.0f, col, K, kernel + g * cout_g, OC,
              0.0f, dst + p0 * OC + g * cout_g, OC, epg);
      }
    }
  });
}

void conv2d_backward_data(const Conv2DShape& s, const float* ddst, const float* kernel,
                          float* dsrc) {
  conv2d_validate(s);
  const int64_t Q = s.batch * s.in_h * s.in_w;
  if (Q == 0) return;
  const int64_t IC = s.in_c, OC = s.out_c, G = s.groups;
  const int64_t cin_g = IC / G, cout_g = OC / G;
  const int64_t taps = s.kernel_h * s.kernel_w;
  if (s.batch * s.out_h * s.out_w == 0) {
    std::fill(dsrc, dsrc + Q * IC, 0.0f);
    return;
  }
  const ConvImpl& route = *kConvBackwardData.select(s).fns;
  if (route.route == ConvRoute::winograd4_adjoint) {
    conv2d_backward_data_winograd_adjoint(s, ddst, kernel, dsrc);
    return;
  }
  if (route.route == ConvRoute::winograd || route.route == ConvRoute::winograd4) {
    conv2d_backward_data_winograd(route.route == ConvRoute::winograd4 ? 4 : 2, s, ddst, kernel,
                                  dsrc);
    return;
  }
  if (route.route == ConvRoute::gemm_direct) {
    sgemm(Trans::N, Trans::T, Q, IC, OC, 1.0f, ddst, OC, kernel, OC, 0.0f, dsrc, IC);
    return;
  }
  const int64_t pad_t = s.dilation_h * (s.kernel_h - 1) - s.pad_top;
  const int64_t pad_l = s.dilation_w * (s.kernel_w - 1) - s.pad_left;
  if (route.route == ConvRoute::tiles) {
    // Stride 1: the input gradient is a forward convolution of ddst with the kernel flipped in
    // space and transposed in channels, (kh, kw, ci, o) -> (KH-1-kh, KW-1-kw, o, ci), padded
    // by d*(k-1) - pad -- so it runs on the register-tiled forward kernel.
    std::vector<float> flipped(static_cast<size_t>(taps * OC * IC));
    for (int64_t kh = 0; kh < s.kernel_h; ++kh)
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const float* w = kernel + (kh * s.kernel_w + kw) * IC * OC;
        float* f = flipped.data() +
                   ((s.kernel_h - 1 - kh) * s.kernel_w + (s.kernel_w - 1 - kw)) * OC * IC;
        for (int64_t ci = 0; ci < IC; ++ci)
          for (int64_t o = 0; o < OC; ++o) f[o * IC + ci] = w[ci * OC + o];
      }
    Conv2DShape t = s;
    t.in_h = s.out_h;
    t.in_w = s.out_w;
    t.in_c = OC;
    t.out_h = s.in_h;
    t.out_w = s.in_w;
    t.out_c = IC;
    t.pad_top = pad_t;
    t.pad_left = pad_l;
    conv2d_forward_tiles(route.tile, t, ddst, flipped.data(), nullptr, Activation::linear,
                                ActivationParams{}, dsrc);
    return;
  }
  if (route.route == ConvRoute::tiles_strided) {  // phase by phase
    conv2d_backward_data_strided(route.tile, s, ddst, kernel, dsrc);
    return;
  }
  // kernel (tap, ci, g*cout_g + o) -> wt[g] (tap, o, ci): the GEMM's right operand.
  const int64_t K = taps * cout_g;
  std::vector<float> wt(static_cast<size_t>(G * K * cin_g));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t ci = 0; ci < cin_g; ++ci)
        for (int64_t o = 0; o < cout_g; ++o)
          wt[((g * taps + tap) * cout_g + o) * cin_g + ci] =
              kernel[(tap * cin_g + ci) * OC + g * cout_g + o];
  const int64_t T = tile_rows(K);
  const int64_t tiles = (Q + T - 1) / T;
  parallel_for_chunks(tiles, tile_grain(2.0 * T * K * IC), [&](int64_t t0, int64_t t1) {
    float* dcol = thread_buffer(static_cast<size_t>(T * K)).data();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t q0 = t * T, q1 = std::min(Q, q0 + T);
      for (int64_t g = 0; g < G; ++g) {
        kernels::f32_col2im_gather_nhwc_ref(s, g, ddst, q0, q1, dcol);
        sgemm(Trans::N, Trans::N, q1 - q0, cin_g, K, 1.0f, dcol, K, wt.data() + g * K * cin_g,
              cin_g, 0.0f, dsrc + q0 * IC + g * cin_g, IC);
      }
    }
  });
}

void conv2d_backward_weights(const Conv2DShape& s, const float* src, const float* ddst,
                             float* dkernel, float* dbias, const float* relu_y) {
  conv2d_validate(s);
  const int64_t P = s.batch * s.out_h * s.out_w;
  const int64_t IC = s.in_c, OC = s.out_c, G = s.groups;
  const int64_t cin_g = IC / G, cout_g = OC / G;
  const int64_t K = s.kernel_h * s.kernel_w * cin_g;
  const ConvImpl& route = *kConvBackwardWeights.select(s).fns;
  if (route.route == ConvRoute::direct) {
    const DirectConvVariant& v = *route.direct;
    // Bias partials ride after the kernel partials in each chunk's buffer.
    std::vector<float> acc(static_cast<size_t>(K * OC + OC));
    const int64_t rows_per_tile = 256;
    const int64_t tiles = (P + rows_per_tile - 1) / rows_per_tile;
    chunked_accumulate(tiles, tile_grain(2.0 * rows_per_tile * K * OC), acc.data(), K * OC + OC,
                       [&](int64_t t0, int64_t t1, float* buf) {
                         v.bwd_weights(s, src, ddst, relu_y, buf, buf + K * OC,
                                       t0 * rows_per_tile, std::min(P, t1 * rows_per_tile));
                       });
    std::copy(acc.begin(), acc.begin() + K * OC, dkernel);
    if (dbias) std::copy(acc.begin() + K * OC, acc.end(), dbias);
    return;
  }
  if (relu_y) {
    // The GEMM paths read ddst as an operand: mask it once into a scratch copy.
    std::vector<float> masked(static_cast<size_t>(P * OC));
    relu_backward_from_output(relu_y, ddst, masked.data(), P * OC);
    conv2d_backward_weights(s, src, masked.data(), dkernel, dbias, nullptr);
    return;
  }
  if (dbias) sum_over_rows(ddst, P, OC, dbias, false);
  if (P == 0) {
    std::fill(dkernel, dkernel + K * OC, 0.0f);
    return;
  }
  if (route.route == ConvRoute::gemm_direct) {
    sgemm(Trans::T, Trans::N, IC, OC, P, 1.0f, src, IC, ddst, OC, 0.0f, dkernel, OC);
    return;
  }
  if (route.route == ConvRoute::winograd || route.route == ConvRoute::winograd4) {
    conv2d_backward_weights_winograd(route.route == ConvRoute::winograd4 ? 4 : 2, s, src, ddst,
                                     dkernel);
    return;
  }
  const int64_t T = tile_rows(K);
  const int64_t tiles = (P + T - 1) / T;
  chunked_accumulate(tiles, tile_grain(2.0 * T * K * OC), dkernel, K * OC,
                     [&](int64_t t0, int64_t t1, float* dk) {
                       float* col = thread_buffer(static_cast<size_t>(T * K)).data();
                       for (int64_t t = t0; t < t1; ++t) {
                         const int64_t p0 = t * T, p1 = std::min(P, p0 + T);
                         for (int64_t g = 0; g < G; ++g) {
                           kernels::f32_im2col_nhwc_ref(s, g, src, p0, p1, col);
                           sgemm(Trans::T, Trans::N, K, cout_g, p1 - p0, 1.0f, col, K,
                                 ddst + p0 * OC + g * cout_g, OC, 1.0f, dk + g * cout_g, OC);
                         }
                       }
                     });
}

void depthwise_conv2d_forward(const Conv2DShape& s, const float* src, const float* kernel,
                              const float* bias, Activation act,
                              const ActivationParams& act_params, float* dst,
                              const float* scale) {
  conv2d_validate(s);
  if (s.groups != s.in_c) throw std::invalid_argument("depthwise_conv2d: groups must equal in_c");
  const DepthwiseVariant& v = pick_depthwise();
  const int64_t P = s.batch * s.out_h * s.out_w;
  const int64_t cost = 2 * s.kernel_h * s.kernel_w * s.out_c;
  // The activation runs on blocks of ~64 KB of output while they are still in cache.
  const int64_t block = std::max<int64_t>(1, (16 * 1024) / s.out_c);
  parallel_for_rows(P, cost, 1 << 17, [&](int64_t p0, int64_t p1) {
    for (int64_t q0 = p0; q0 < p1; q0 += block) {
      const int64_t q1 = std::min(p1, q0 + block);
      v.fwd(s, src, kernel, scale ? nullptr : bias, dst + q0 * s.out_c, q0, q1);
      if (scale)
        scale_shift_activation_rows(dst + q0 * s.out_c, s.out_c, q1 - q0, s.out_c, scale, bias,
                                    nullptr, 0, act, act_params);
      else if (act != Activation::linear)
        activation_forward(act, act_params, dst + q0 * s.out_c, dst + q0 * s.out_c,
                           (q1 - q0) * s.out_c);
    }
  });
}

void depthwise_conv2d_backward_data(const Conv2DShape& s, const float* ddst,
                                    const float* kernel, float* dsrc) {
  conv2d_validate(s);
  if (s.groups != s.in_c) throw std::invalid_argument("depthwise_conv2d: groups must equal in_c");
  const DepthwiseVariant& v = pick_depthwise();
  const int64_t Q = s.batch * s.in_h * s.in_w;
  const int64_t cost = 2 * s.kernel_h * s.kernel_w * s.out_c;
  parallel_for_rows(Q, cost, 1 << 17,
                    [&](int64_t q0, int64_t q1) { v.bwd_data(s, ddst, kernel, dsrc, q0, q1); });
}

void depthwise_conv2d_backward_weights(const Conv2DShape& s, const float* src,
                                       const float* ddst, float* dkernel, float* dbias) {
  conv2d_validate(s);
  if (s.groups != s.in_c) throw std::invalid_argument("depthwise_conv2d: groups must equal in_c");
  const DepthwiseVariant& v = pick_depthwise();
  const int64_t P = s.batch * s.out_h * s.out_w;
  const int64_t ksize = s.kernel_h * s.kernel_w * s.out_c;
  // Bias partials ride along after the kernel partials in each chunk's buffer.
  std::vector<float> acc(static_cast<size_t>(ksize + s.out_c));
  const int64_t rows_per_tile = 64;
  const int64_t tiles = (P + rows_per_tile - 1) / rows_per_tile;
  chunked_accumulate(tiles, tile_grain(2.0 * rows_per_tile * ksize), acc.data(), ksize + s.out_c,
                     [&](int64_t t0, int64_t t1, float* buf) {
                       v.bwd_weights(s, src, ddst, buf, buf + ksize, t0 * rows_per_tile,
                                     std::min(P, t1 * rows_per_tile));
                     });
  std::copy(acc.begin(), acc.begin() + ksize, dkernel);
  if (dbias) std::copy(acc.begin() + ksize, acc.end(), dbias);
}

// --- fused conv + relu + max-pool ------------------------------------------------------------
// NOTE: the tutorial CNN's first block at batch 128 writes an 11 MB relu output that max-pool
// reads back, and on the way back a same-size pooled-to-full gradient that the weight gradient
// reads again: memory traffic, not arithmetic, bounded those four passes. Fused, the
// forward keeps each window's conv outputs in registers and stores only the pooled values and
// a byte per element naming the window's argmax; the backward sends each pooled gradient
// straight into the weight-gradient accumulators.

namespace {

struct ConvPoolVariant {
  decltype(&kernels::f32_conv_relu_maxpool_fwd_ref) fwd;
  decltype(&kernels::f32_conv_relu_maxpool_bwd_weights_ref) bwd_weights;
};
const ConvPoolVariant kConvPoolAvx512{kernels::f32_conv_relu_maxpool_fwd_avx512,
                                      kernels::f32_conv_relu_maxpool_bwd_weights_avx512};
const ConvPoolVariant kConvPoolAvx2{kernels::f32_conv_relu_maxpool_fwd_avx2,
                                    kernels::f32_conv_relu_maxpool_bwd_weights_avx2};
const ConvPoolVariant kConvPoolRef{kernels::f32_conv_relu_maxpool_fwd_ref,
                                   kernels::f32_conv_relu_maxpool_bwd_weights_ref};
// Conv + relu + max-pool in one pass, the pooled gradient routed in registers.
const dispatch::Registry<ConvPoolVariant> kConvPool{
    "conv2d_relu_maxpool",
    {{Isa::avx512, "f32_conv_relu_maxpool_avx512", &kConvPoolAvx512},
     {Isa::avx2, "f32_conv_relu_maxpool_avx2", &kConvPoolAvx2},
     {Isa::ref, "f32_conv_relu_maxpool_ref", &kConvPoolRef}}};

const dispatch::Registry<void(const float*, const float*, float*, int64_t)> kReluBackward{
    "relu_backward",
    {{Isa::avx512, "f32_relu_bwd_avx512", &kernels::f32_relu_bwd_avx512},
     {Isa::avx2, "f32_relu_bwd_avx2", &kernels::f32_relu_bwd_avx2},
     {Isa::ref, "f32_relu_bwd_ref", &kernels::f32_relu_bwd_ref}}};

}  // namespace

void conv2d_relu_maxpool_validate(const ConvPoolShape& s) {
  conv2d_validate(s.conv);
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(
        "conv2d_relu_maxpool: " + what + " (conv output (" + std::to_string(s.conv.out_h) +
        ", " + std::to_string(s.conv.out_w) + "), pool (" + std::to_string(s.pool_h) + ", " +
        std::to_string(s.pool_w) + "), pooled (" + std::to_string(s.pooled_h) + ", " +
        std::to_string(s.pooled_w) + "))");
  };
  if (s.pool_h <= 0 || s.pool_w <= 0) fail("pool size must be positive");
  // NOTE: each factor first, so the product cannot overflow.
  if (s.pool_h > 255 || s.pool_w > 255 || s.pool_h * s.pool_w > 255)
    fail("pool windows of more than 255 positions");
  // The conv output size comes from Python: it must be one the input can produce (each
  // window starting inside the padded input), so buffers sized by it stay bounded.
  const Conv2DShape& c = s.conv;
  if ((c.out_h > 0 && (c.out_h - 1) * c.stride_h - c.pad_top >= c.in_h) ||
      (c.out_w > 0 && (c.out_w - 1) * c.stride_w - c.pad_left >= c.in_w))
    fail("the conv output is larger than the input (" + std::to_string(c.in_h) + ", " +
         std::to_string(c.in_w) + ") can produce with these strides and padding");
  if (s.pad_top < 0 || s.pad_left < 0 || s.pad_top >= s.pool_h || s.pad_left >= s.pool_w)
    fail("pool padding must be smaller than the pool size");
  if (s.pooled_h < 0 || s.pooled_w < 0) fail("negative pooled size");
  if (s.pooled_h > 0 && (s.pooled_h - 1) * s.pool_h - s.pad_top >= s.conv.out_h)
    fail("pooled_h leaves windows outside the conv output");
  if (s.pooled_w > 0 && (s.pooled_w - 1) * s.pool_w - s.pad_left >= s.conv.out_w)
    fail("pooled_w leaves windows outside the conv output");
}

bool conv2d_relu_maxpool_supported(const ConvPoolShape& s) {
  conv2d_relu_maxpool_validate(s);
  return use_direct(s.conv);
}

void conv2d_relu_maxpool_forward(const ConvPoolShape& s, const float* src, const float* kernel,
                                 const float* bias, float* pooled, uint8_t* argidx) {
  if (!conv2d_relu_maxpool_supported(s))
    throw std::invalid_argument("conv2d_relu_maxpool: only groups == 1 convolutions with "
                                "kh*kw*in_c <= 32 and out_c <= 512 are fused");
  const int64_t Q = s.conv.batch * s.pooled_h * s.pooled_w;
  if (Q == 0) return;
  const ConvPoolVariant& v = *kConvPool.select().fns;
  const int64_t K = s.conv.kernel_h * s.conv.kernel_w * s.conv.in_c;
  parallel_for_rows(Q, 2 * K * s.conv.out_c * s.pool_h * s.pool_w, 1 << 18,
                    [&](int64_t q0, int64_t q1) {
                      v.fwd(s, src, kernel, bias, pooled, argidx, q0, q1);
                    });
}

void conv2d_relu_maxpool_backward_weights(const ConvPoolShape& s, const float* src,
                                          const float* dpooled, const float* pooled,
                                          const uint8_t* argidx, float* dkernel, float* dbias) {
  if (!conv2d_relu_maxpool_supported(s))
    throw std::invalid_argument("conv2d_relu_maxpool: unsupported shape");
  const int64_t OC = s.conv.out_c;
  const int64_t K = s.conv.kernel_h * s.conv.kernel_w * s.conv.in_c;
  const int64_t Q = s.conv.batch * s.pooled_h * s.pooled_w;
  const ConvPoolVariant& v = *kConvPool.select().fns;
  // Bias partials ride after the kernel partials in each chunk's buffer.
  std::vector<float> acc(static_cast<size_t>(K * OC + OC));
  const int64_t rows_per_tile = 64;
  const int64_t tiles = (Q + rows_per_tile - 1) / rows_per_tile;
  chunked_accumulate(tiles, tile_grain(2.0 * rows_per_tile * K * OC * s.pool_h * s.pool_w),
                     acc.data(), K * OC + OC, [&](int64_t t0, int64_t t1, float* buf) {
                       v.bwd_weights(s, src, dpooled, pooled, argidx, buf, buf + K * OC,
                                     t0 * rows_per_tile, std::min(Q, t1 * rows_per_tile));
                     });
  std::copy(acc.begin(), acc.begin() + K * OC, dkernel);
  if (dbias) std::copy(acc.begin() + K * OC, acc.end(), dbias);
}

void conv2d_relu_maxpool_backward_data(const ConvPoolShape& s, const float* dpooled,
                                       const float* pooled, const uint8_t* argidx,
                                       const float* kernel, float* dsrc) {
  if (!conv2d_relu_maxpool_supported(s))
    throw std::invalid_argument("conv2d_relu_maxpool: unsupported shape");
  const Conv2DShape& c = s.conv;
  const int64_t OC = c.out_c, phw = s.pooled_h * s.pooled_w;
  // The pre-activation gradient: zero except at each window's argmax where the relu passed.
  std::vector<float> dz(static_cast<size_t>(c.batch * c.out_h * c.out_w * OC), 0.0f);
  // argidx comes from Python: an offset outside its window (or the conv output) is refused,
  // never written through.
  std::atomic<bool> bad{false};
  parallel_for_rows(c.batch, phw * OC, 1 << 16, [&](int64_t b0, int64_t b1) {
    for (int64_t q = b0 * phw; q < b1 * phw; ++q) {
      const int64_t b = q / phw, py = (q % phw) / s.pooled_w, px = q % s.pooled_w;
      const int64_t oh0 = py * s.pool_h - s.pad_top, ow0 = px * s.pool_w - s.pad_left;
      for (int64_t o = 0; o < OC; ++o) {
        if (!(pooled[q * OC + o] > 0.0f)) continue;
        const int64_t j = argidx[q * OC + o];
        const int64_t oh = oh0 + j / s.pool_w, ow = ow0 + j % s.pool_w;
        if (j >= s.pool_h * s.pool_w || oh < 0 || oh >= c.out_h || ow < 0 || ow >= c.out_w) {
          bad.store(true, std::memory_order_relaxed);
          continue;
        }
        dz[((b * c.out_h + oh) * c.out_w + ow) * OC + o] = dpooled[q * OC + o];
      }
    }
  });
  if (bad.load())
    throw std::invalid_argument("conv2d_relu_maxpool_backward_data: argidx names positions "
                                "outside their pool windows (expected the argidx written by "
                                "conv2d_relu_maxpool_forward)");
  conv2d_backward_data(c, dz.data(), kernel, dsrc);
}

void relu_backward_from_output(const float* y, const float* g, float* dz, int64_t n) {
  if (n < 0) throw std::invalid_argument("relu_backward_from_output: negative length");
  const auto fn = kReluBackward.select().fns;
  parallel_for_chunks(n, 1 << 16, [&](int64_t i0, int64_t i1) {
    fn(y + i0, g + i0, dz + i0, i1 - i0);
  });
}

void bias_activation_inplace(float* x, int64_t rows, int64_t cols, const float* bias,
                             Activation act, const ActivationParams& act_params) {
  if (rows < 0 || cols < 0) throw std::invalid_argument("bias_activation_inplace: negative size");
  parallel_for_rows(rows, cols, 1 << 16, [&](int64_t r0, int64_t r1) {
    if (bias)
      for (int64_t r = r0; r < r1; ++r) {
        float* xr = x + r * cols;
        for (int64_t j = 0; j < cols; ++j) xr[j] += bias[j];
      }
    if (act != Activation::linear)
      activation_forward(act, act_params, x + r0 * cols, x + r0 * cols, (r1 - r0) * cols);
  });
}

}  // namespace nnfast
