// Winograd convolutions of 3x3 stride-1 layers (the tutorial CNN's and most classic nets'), in
// all three passes, with output tiles of 2x2 (F(2x2, 3x3)) or 4x4 (F(4x4, 3x3)) pixels.
//
// Each m x m block of output pixels (a tile) reads an a x a input patch (a = m + 2).
// Transformed, the patch (V = B^T d B) and the kernel (U = G g G^T) meet in a*a elementwise
// products per channel pair, so the convolution becomes a*a matrix products over blocks of
// tiles:
//   forward:          M[p] (tiles x OC) = V[p] (tiles x IC) @ U[p] (IC x OC), Y = A^T M A
//   backward-data:    the adjoint of the forward on its own tiles (dM = A dY A^T,
//                     dV[p] = dM[p] @ U[p]^T, each patch accumulates B dV B^T; F(4x4)), or
//                     the forward of the output gradient with the flipped, transposed kernel
//   backward-weights: dU[p] (IC x OC) += V[p]^T @ (A dY A^T)[p], dkernel = G^T dU G
// F(2x2): 16 products per 4 outputs instead of 36 (2.25x fewer multiply-adds); F(4x4): 36 per
// 16 (4x fewer), with costlier transforms and a few times the rounding. Fewer where the
// output size is not a multiple of m: the last tiles' extra rows and columns are computed and
// dropped. A cost rule (winograd_cost) picks m per shape, and whether Winograd pays at all
// for the input gradient.
// NOTE: the forward and backward-data products run on the conv register tile (no packing,
// see position_products), the kernel gradient's on sgemm (its A operand is packed by a plain
// copy); the tile transforms are the "conv2d_winograd" registry's kernels. Threads split
// blocks of tiles (the adjoint: tile rows, in two phases); the kernel gradient's per-thread
// partial sums are added in thread order (same thread count, same bits). Results differ from the direct sum by float32 rounding
// only (tested against a float64 reference).
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/conv/conv_kernels.h"
#include "nnfast/conv.h"
#include "nnfast/gemm.h"
#include "ops/conv_common.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast::conv_detail {
namespace {

// The transforms of one tile size.
struct WinogradTransforms {
  kernels::WinogradInputFn input;
  kernels::WinogradOutputFn output;
  kernels::WinogradGradientFn gradient;
  kernels::WinogradKernelFn kernel;
  kernels::WinogradKernelGradientFn kernel_gradient;
  kernels::WinogradInputAdjointFn input_adjoint;  // F(4x4) only (nullptr for F(2x2))
};
struct WinogradVariant {
  WinogradTransforms f2, f4;
  kernels::ConvTileFn tile;  // the position products of forward and backward-data
  const WinogradTransforms& transforms(int64_t m) const { return m == 4 ? f4 : f2; }
};
#define NNFAST_WINOGRAD_VARIANT(isa)                                                          \
  {{kernels::f32_winograd_input_##isa, kernels::f32_winograd_output_##isa,                    \
    kernels::f32_winograd_gradient_##isa, kernels::f32_winograd_kernel_##isa,                 \
    kernels::f32_winograd_kernel_gradient_##isa, nullptr},                                    \
   {kernels::f32_winograd4_input_##isa, kernels::f32_winograd4_output_##isa,                  \
    kernels::f32_winograd4_gradient_##isa, kernels::f32_winograd4_kernel_##isa,               \
    kernels::f32_winograd4_kernel_gradient_##isa, kernels::f32_winograd4_input_adjoint_##isa}, \
   kernels::f32_conv_tile_##isa}
const WinogradVariant kWinogradAvx512 NNFAST_WINOGRAD_VARIANT(avx512);
const WinogradVariant kWinogradAvx2 NNFAST_WINOGRAD_VARIANT(avx2);
const WinogradVariant kWinogradRef NNFAST_WINOGRAD_VARIANT(ref);
#undef NNFAST_WINOGRAD_VARIANT
const dispatch::Registry<WinogradVariant> kWinograd{
    "conv2d_winograd",
    {{Isa::avx512, "f32_winograd_3x3_avx512", &kWinogradAvx512},
     {Isa::avx2, "f32_winograd_3x3_avx2", &kWinogradAvx2},
     {Isa::ref, "f32_winograd_3x3_ref", &kWinogradRef}}};

// V and G of a block of tiles: ~0.5 MB for the kernel gradient, whose sgemm reduces over
// the block's tiles (at least kMinGradientBlock of them); ~128 KB for the forward products,
// in whole register tiles.
// NOTE: measured at one thread on the tutorial CNN's second conv (F(4x4)), blocks of 14 tiles
// against 75: forward 0.55 -> 0.50 ms, input gradient 0.87 -> 0.79 ms; 8x56x56x64 -> 64 and
// 8x28x28x128 -> 128 gained 5-10%. The kernel gradient lost as much at 14 (shorter sgemm).
// Its blocks were ~1 MB (75 tiles there): as fast alone with warm caches, but inside the
// training step, where its input (the first pool's output) is no longer in L2, blocks of 37
// tiles (~0.5 MB) ran it in ~1.05x the forward conv's time instead of ~1.3x, and alone with
// L2 flushed first ~10% faster (docs/performance.md). Its sgemm already runs near the FMA
// peak (~0.18 ms of ~0.56): what is left is memory and transforms. 128 -> 128 channels keep
// their 28 tiles (the floor: 14 was slower, above).
constexpr int64_t kBlockFloats = 1 << 17;
constexpr int64_t kMinGradientBlock = 28;
constexpr int64_t kProductBlockFloats = 1 << 15;
constexpr int64_t kMaxChannels = 128;      // U (36 x IC x OC) stays ~2 MB
// NOTE: the kernel transform (a*a x IC x OC per call) must be paid back by the product
// savings, both proportional to IC x OC. With 2x2 tiles on sgemm and a scalar kernel
// transform, 196 tiles of 2x2 (1x28x28x128, a folded batch normalization) ran 1.3x slower
// than the register tiles and 784 1.1-1.25x faster, so the bar was 512. With 4x4 tiles on the
// unpacked products (one thread, thread CPU time, two rounds): 196 tiles of 2x2 win --
// 1x28x28x128 forward / input gradient / kernel gradient 1.34-1.44 / 1.64-1.65 / 1.62 ->
// 0.95-0.99 / 1.23 / 0.90-0.93 ms, 4x14x14x64 0.36 / 0.38 / 0.45 -> 0.24 / 0.29 / 0.26 --
// while 98 (2x14x14x128: 0.66 / 0.94 / 0.86 -> 0.76 / 1.00 / 0.67) and 49 (1x14x14x128) lose
// on the forward.
constexpr int64_t kMinTiles = 192;

// Tiles of m x m output pixels, flattened over (batch, tile row, tile column).
// `products`: blocks for the register-tile products (forward, input gradient), else for the
// kernel gradient's sgemm.
struct Tiles {
  int64_t m, a, positions, rows, cols, count, block;
  Tiles(const Conv2DShape& s, int64_t m, bool products)
      : m(m), a(m + 2), positions(a * a), rows((s.out_h + m - 1) / m),
        cols((s.out_w + m - 1) / m), count(s.batch * rows * cols) {
    const int64_t per_tile = positions * (s.in_c + s.out_c);
    if (products) {
      constexpr int64_t R = kernels::kConvTilePixels;
      block = std::max<int64_t>(1, kProductBlockFloats / (per_tile * R)) * R;
    } else {
      block = std::clamp<int64_t>(kBlockFloats / per_tile, kMinGradientBlock, 512);
    }
  }
  int64_t batch_of(int64_t q) const { return q / (rows * cols); }
  int64_t row_of(int64_t q) const { return (q / cols) % rows; }
  int64_t col_of(int64_t q) const { return q % cols; }
};

// The a*a input rows of tile q (the `zeros` row where the patch leaves the input).
template <typename T>
void patch_rows(const Conv2DShape& s, const Tiles& t, int64_t q, T* src, T* zeros, T** d) {
  const int64_t b = t.batch_of(q);
  const int64_t ih0 = t.m * t.row_of(q) - s.pad_top, iw0 = t.m * t.col_of(q) - s.pad_left;
  for (int64_t r = 0; r < t.a; ++r)
    for (int64_t c = 0; c < t.a; ++c) {
      const int64_t ih = ih0 + r, iw = iw0 + c;
      d[t.a * r + c] = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w
                           ? src + ((b * s.in_h + ih) * s.in_w + iw) * s.in_c
                           : zeros;
    }
}

// Asks for the lines of the patch rows d[0..count) (`floats` long; the zero row is skipped).
// NOTE: the rows of a tile are 36 scattered runs that the hardware prefetcher does not follow:
// fetched one tile ahead, while the previous tile transforms.
void prefetch_patch(const float* const* d, int64_t count, int64_t floats, const float* zeros) {
  for (int64_t k = 0; k < count; ++k)
    if (d[k] != zeros) prefetch_rows(d[k], 0, 1, floats);
}

// The m*m output rows of tile q in `out` (out_c floats per pixel): the pixels' rows, or rows
// of `spare` (spare_stride apart) for pixels past the output's edge. valid[] (may be null)
// flags the real ones. For an input (the output gradient), `spare` is a zero row, stride 0.
template <typename T>
void tile_pixels(const Conv2DShape& s, const Tiles& t, int64_t q, T* out, T* spare,
                 int64_t spare_stride, T** y, bool* valid) {
  const int64_t b = t.batch_of(q), oh0 = t.m * t.row_of(q), ow0 = t.m * t.col_of(q);
  for (int64_t r = 0; r < t.m; ++r)
    for (int64_t c = 0; c < t.m; ++c) {
      const int64_t oh = oh0 + r, ow = ow0 + c, k = t.m * r + c;
      const bool inside = oh < s.out_h && ow < s.out_w;
      if (valid) valid[k] = inside;
      y[k] = inside ? out + ((b * s.out_h + oh) * s.out_w + ow) * s.out_c
                    : spare + k * spare_stride;
    }
}

// M[p] (n x OC) = V[p] (n x IC) @ U[p] (IC x OC) for the positions p < P. Tile-major layouts:
// row i of V[p] at V + (i*P + p)*IC, of M[p] at M + (i*P + p)*OC.
// NOTE: on the conv register tile, not sgemm: the tile broadcasts each transformed tile's
// channels where the input transform wrote them and reads U[p]'s rows in place, so nothing is
// packed. With sgemm, packing V (a transposing copy per position) and U cost ~20% of the
// tutorial CNN's second conv (32x13x13x32 -> 64), whose K = IC = 32 is too short to repay it.
// Tile-major, each transform writes (or reads) one contiguous run per tile instead of P
// streams: the tile's per-pixel pointers do not care.
void position_products(kernels::ConvTileFn tile, int64_t P, int64_t n, int64_t IC, int64_t OC,
                       const float* V, const float* U, float* M) {
  constexpr int64_t R = kernels::kConvTilePixels;
  const int64_t tap0 = 0;
  const float* rows[R];
  for (int64_t p = 0; p < P; ++p) {
    const float* Up = U + p * IC * OC;
    for (int64_t i0 = 0; i0 < n; i0 += R) {
      const int64_t mr = std::min(R, n - i0);
      // Rows past mr are read but never stored: any row in bounds will do.
      for (int64_t i = 0; i < R; ++i) rows[i] = V + ((i0 + (i < mr ? i : 0)) * P + p) * IC;
      for (int64_t o0 = 0; o0 < OC; o0 += 32)
        tile(rows, &tap0, 1, IC, Up, OC, nullptr, o0, std::min<int64_t>(32, OC - o0), mr, 0,
             M + (i0 * P + p) * OC + o0, P * OC);
    }
  }
}

// The forward pass on an already transformed kernel U (a*a, IC, OC).
void forward_transformed(const Conv2DShape& s, int64_t m, const float* src, const float* U,
                         const float* bias, Activation act, const ActivationParams& act_params,
                         float* dst, const float* scale, const float* residual) {
  const WinogradVariant& v = *kWinograd.select().fns;
  const WinogradTransforms& tf = v.transforms(m);
  const Tiles t(s, m, true);
  const int64_t IC = s.in_c, OC = s.out_c, P = t.positions, width = std::max(IC, OC);
  const std::vector<float> zeros(static_cast<size_t>(IC), 0.0f);
  // Plain relu and bias ride in the output transform; anything else runs after it per row.
  const bool relu_only = act == Activation::relu && act_params.alpha == 0.0f &&
                         act_params.threshold == 0.0f &&
                         act_params.max_value == std::numeric_limits<float>::infinity();
  const bool simple = !scale && !residual && (act == Activation::linear || relu_only);
  const int64_t blocks = (t.count + t.block - 1) / t.block;
  parallel_for_chunks(blocks, tile_grain(2.0 * t.block * P * IC * OC),
                      [&](int64_t b0, int64_t b1) {
    float* V = thread_buffer(static_cast<size_t>(P * t.block * (IC + OC) + P * width +
                                                 t.m * t.m * OC)).data();
    float* M = V + P * t.block * IC;
    float* tmp = M + P * t.block * OC;
    float* spare = tmp + P * width;
    const float* rows[2][36];
    float* y[16];
    bool valid[16];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t q0 = blk * t.block, n = std::min(t.block, t.count - q0);
      patch_rows(s, t, q0, src, zeros.data(), rows[0]);
      for (int64_t i = 0; i < n; ++i) {
        const float** d = rows[i & 1];
        if (i + 1 < n) {  // the next tile's rows, fetched while this one transforms
          patch_rows(s, t, q0 + i + 1, src, zeros.data(), rows[(i + 1) & 1]);
          prefetch_patch(rows[(i + 1) & 1], P, IC, zeros.data());
        }
        tf.input(d, V + i * P * IC, IC, IC, tmp);
      }
      position_products(v.tile, P, n, IC, OC, V, U, M);
      for (int64_t i = 0; i < n; ++i) {
        tile_pixels(s, t, q0 + i, dst, spare, OC, y, valid);
        tf.output(M + i * P * OC, OC, y, OC, simple ? bias : nullptr,
                  simple && relu_only, tmp);
        if (simple) continue;
        for (int64_t r = 0; r < t.m; ++r) {  // a tile row's real pixels are adjacent in dst
          int64_t real = 0;
          while (real < t.m && valid[t.m * r + real]) ++real;
          if (real)
            scale_shift_activation_rows(y[t.m * r], OC, real, OC, scale, bias,
                                        residual ? residual + (y[t.m * r] - dst) : nullptr, OC,
                                        act, act_params);
        }
      }
    }
  });
}

// The kernel transform U (a*a, in_c, out_c) of kernel (3, 3, in_c, out_c).
std::vector<float> transformed_kernel(const WinogradTransforms& tf, int64_t m,
                                      const float* kernel, int64_t in_c, int64_t out_c) {
  std::vector<float> U(static_cast<size_t>((m + 2) * (m + 2) * in_c * out_c));
  tf.kernel(kernel, in_c * out_c, U.data());
  return U;
}

// The shape of the input gradient as a forward conv: of ddst, padded by 2 - pad, with the
// kernel flipped in both axes and its channels swapped.
Conv2DShape input_gradient_shape(const Conv2DShape& s) {
  Conv2DShape f = s;
  f.in_h = s.out_h, f.in_w = s.out_w, f.in_c = s.out_c;
  f.out_h = s.in_h, f.out_w = s.in_w, f.out_c = s.in_c;
  f.pad_top = 2 - s.pad_top, f.pad_left = 2 - s.pad_left;
  return f;
}

// Transform elements (of V or M, per channel) that cost as much as one multiply-add of the
// products, by output tile size: measured on 32x13x13x32 -> 64 at one thread (AVX-512), the
// transforms took ~0.1 ns per element and the products ~0.013 ns per multiply-add.
constexpr double kTransformCost2 = 8.0, kTransformCost4 = 10.0;
// The direct register tiles' multiply-adds run ~1.3x as fast as the Winograd products (a
// K of 9*in_c instead of in_c per tile call).
constexpr double kTileSpeedup = 1.3;

// Estimated cost, in product multiply-adds, of a Winograd F(m x m, 3x3) forward conv.
double winograd_cost(const Conv2DShape& s, int64_t m) {
  const double tiles = static_cast<double>(s.batch) * ((s.out_h + m - 1) / m) *
                       static_cast<double>((s.out_w + m - 1) / m);
  const double a = static_cast<double>(m + 2);
  return tiles * a * a *
         (static_cast<double>(s.in_c) * s.out_c +
          (m == 4 ? kTransformCost4 : kTransformCost2) * (s.in_c + s.out_c));
}

// The cheaper tile size for a forward conv of shape s.
int64_t best_tile(const Conv2DShape& s) {
  return winograd_cost(s, 4) < winograd_cost(s, 2) ? 4 : 2;
}

}  // namespace

bool winograd_3x3(const Conv2DShape& s) {
  return s.groups == 1 && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 &&
         s.stride_w == 1 && s.dilation_h == 1 && s.dilation_w == 1 && s.pad_top >= 0 &&
         s.pad_top <= 2 && s.pad_left >= 0 && s.pad_left <= 2 && s.in_c >= 16 &&
         s.out_c >= 16 && s.in_c <= kMaxChannels && s.out_c <= kMaxChannels &&
         s.in_h > 0 && s.in_w > 0 &&
         // Enough tiles to pay for transforming the kernel on every call.
         s.batch * ((s.out_h + 1) / 2) * ((s.out_w + 1) / 2) >= kMinTiles;
}

bool winograd_3x3_f4(const Conv2DShape& s) { return winograd_3x3(s) && best_tile(s) == 4; }

bool winograd_3x3_f2(const Conv2DShape& s) { return winograd_3x3(s) && best_tile(s) == 2; }

namespace {
// Whether the input gradient of s pays on Winograd F(m x m) against the flipped-kernel
// register tiles (9 multiply-adds per channel pair and input pixel, the zero border
// included).
bool input_gradient_pays(const Conv2DShape& s, int64_t m) {
  if (!winograd_3x3(s)) return false;
  const Conv2DShape f = input_gradient_shape(s);
  if (best_tile(f) != m) return false;
  const double tiles_cost = 9.0 * f.batch * f.out_h * f.out_w * f.in_c * f.out_c / kTileSpeedup;
  return winograd_cost(f, m) < tiles_cost;
}
}  // namespace

bool winograd_3x3_input_gradient_f4(const Conv2DShape& s) {
  return !winograd_3x3_input_gradient_adjoint(s) && input_gradient_pays(s, 4);
}

bool winograd_3x3_input_gradient_f2(const Conv2DShape& s) {
  return !winograd_3x3_input_gradient_adjoint(s) && input_gradient_pays(s, 2);
}

bool winograd_3x3_input_gradient_adjoint(const Conv2DShape& s) {
  if (!winograd_3x3(s)) return false;
  // On the forward's tiles: the output gradient's transform (16 rows in, 36 out) costs about
  // what the output transform does, the input adjoint about what the input transform does.
  const double adjoint = winograd_cost(s, 4);
  const Conv2DShape f = input_gradient_shape(s);
  const double flipped = std::min(winograd_cost(f, 2), winograd_cost(f, 4));
  const double tiles = 9.0 * f.batch * f.out_h * f.out_w * f.in_c * f.out_c / kTileSpeedup;
  return adjoint <= flipped && adjoint < tiles;
}

void conv2d_forward_winograd(int64_t m, const Conv2DShape& s, const float* src,
                             const float* kernel, const float* bias, Activation act,
                             const ActivationParams& act_params, float* dst, const float* scale,
                             const float* residual) {
  const std::vector<float> U =
      transformed_kernel(kWinograd.select().fns->transforms(m), m, kernel, s.in_c, s.out_c);
  forward_transformed(s, m, src, U.data(), bias, act, act_params, dst, scale, residual);
}

void conv2d_backward_data_winograd(int64_t m, const Conv2DShape& s, const float* ddst,
                                   const float* kernel, float* dsrc) {
  // dsrc[ih] = sum_kh ddst[ih + pad - kh] g[kh]: a forward conv of ddst (padded by 2 - pad)
  // with g flipped in both axes and its channels swapped.
  const int64_t IC = s.in_c, OC = s.out_c;
  std::vector<float> flipped(static_cast<size_t>(9 * IC * OC));
  for (int64_t k = 0; k < 9; ++k)
    for (int64_t ci = 0; ci < IC; ++ci)
      for (int64_t co = 0; co < OC; ++co)
        flipped[(k * OC + co) * IC + ci] = kernel[((8 - k) * IC + ci) * OC + co];
  const std::vector<float> U =
      transformed_kernel(kWinograd.select().fns->transforms(m), m, flipped.data(), OC, IC);
  forward_transformed(input_gradient_shape(s), m, ddst, U.data(), nullptr, Activation::linear,
                      ActivationParams{}, dsrc, nullptr, nullptr);
}

// The adjoint of the F(4x4) forward, on the forward's tiles: per tile dM = A dY A^T, then
// dV[p] = dM[p] @ U[p]^T, then the patch's pixels accumulate B dV B^T (patches overlap: 6x6
// every 4 pixels; see the phases below).
// NOTE: against the flipped-kernel forward of ddst, this runs on the forward's output grid
// (11x11 -> 3x3 tiles of 4 on the tutorial CNN's second conv) instead of the input's (13x13
// -> 4x4 tiles: 1.8x the products), and dM is the kernel gradient's transform.
void conv2d_backward_data_winograd_adjoint(const Conv2DShape& s, const float* ddst,
                                           const float* kernel, float* dsrc) {
  const WinogradVariant& v = *kWinograd.select().fns;
  const WinogradTransforms& tf = v.f4;
  const Tiles t(s, 4, true);
  const int64_t IC = s.in_c, OC = s.out_c, P = t.positions;
  // U[p]^T (36, OC, IC): the transform of the kernel with its channels swapped.
  std::vector<float> swapped(static_cast<size_t>(9 * IC * OC));
  for (int64_t k = 0; k < 9; ++k)
    for (int64_t ci = 0; ci < IC; ++ci)
      for (int64_t co = 0; co < OC; ++co)
        swapped[(k * OC + co) * IC + ci] = kernel[(k * IC + ci) * OC + co];
  const std::vector<float> Ut = transformed_kernel(tf, 4, swapped.data(), OC, IC);
  const std::vector<float> zeros(static_cast<size_t>(OC), 0.0f);
  const int64_t image = s.in_h * s.in_w * IC;
  parallel_for_rows(s.batch, image, 1 << 16, [&](int64_t b0, int64_t b1) {
    std::fill(dsrc + b0 * image, dsrc + b1 * image, 0.0f);
  });
  // Patches of tile rows r and r + 1 share 2 pixel rows, of r and r + 2 none: even tile rows
  // (of every image) first, then odd ones, each phase split across threads by whole tile
  // rows, which run their tiles left to right. Every pixel thus receives its tiles' shares in
  // the same order at any thread count.
  const double row_flops = 2.0 * t.cols * P * IC * OC;
  for (int64_t phase = 0; phase < 2; ++phase) {
    const int64_t rows_per_image = (t.rows - phase + 1) / 2;  // tile rows phase, phase + 2, ...
    const int64_t items = s.batch * rows_per_image;
    parallel_for_chunks(items, tile_grain(row_flops), [&](int64_t j0, int64_t j1) {
      float* G = thread_buffer(static_cast<size_t>(P * t.block * (IC + OC) + IC)).data();
      float* dV = G + P * t.block * OC;
      float* discard = dV + P * t.block * IC;  // the rows of pixels outside the input
      // Tile q = (b * rows + r) * cols + c of the k-th tile of this chunk.
      auto tile_of = [&](int64_t k) {
        const int64_t j = j0 + k / t.cols, b = j / rows_per_image;
        const int64_t r = 2 * (j % rows_per_image) + phase;
        return (b * t.rows + r) * t.cols + k % t.cols;
      };
      const float* dys[2][16];
      float* d[36];
      const int64_t count = (j1 - j0) * t.cols;
      for (int64_t k0 = 0; k0 < count; k0 += t.block) {
        const int64_t n = std::min(t.block, count - k0);
        // Pixels past the output's edge read zeros (spare stride 0).
        tile_pixels<const float>(s, t, tile_of(k0), ddst, zeros.data(), 0, dys[0], nullptr);
        for (int64_t i = 0; i < n; ++i) {
          if (i + 1 < n) {  // the next tile's rows, fetched while this one transforms
            tile_pixels<const float>(s, t, tile_of(k0 + i + 1), ddst, zeros.data(), 0,
                                     dys[(i + 1) & 1], nullptr);
            prefetch_patch(dys[(i + 1) & 1], 16, OC, zeros.data());
          }
          tf.gradient(dys[i & 1], G + i * P * OC, OC, OC, nullptr);
        }
        position_products(v.tile, P, n, OC, IC, G, Ut.data(), dV);
        for (int64_t i = 0; i < n; ++i) {
          patch_rows(s, t, tile_of(k0 + i), dsrc, discard, d);
          tf.input_adjoint(dV + i * P * IC, IC, d, IC);
        }
      }
    });
  }
}

void conv2d_backward_weights_winograd(int64_t m, const Conv2DShape& s, const float* src,
                                      const float* ddst, float* dkernel) {
  const WinogradVariant& v = *kWinograd.select().fns;
  const WinogradTransforms& tf = v.transforms(m);
  const Tiles t(s, m, false);
  const int64_t IC = s.in_c, OC = s.out_c, P = t.positions, width = std::max(IC, OC);
  const std::vector<float> zeros(static_cast<size_t>(width), 0.0f);
  std::vector<float> dU(static_cast<size_t>(P * IC * OC));
  const int64_t blocks = (t.count + t.block - 1) / t.block;
  chunked_accumulate(blocks, tile_grain(2.0 * t.block * P * IC * OC), dU.data(), P * IC * OC,
                     [&](int64_t b0, int64_t b1, float* acc) {
    float* V = thread_buffer(static_cast<size_t>(P * t.block * (IC + OC) + P * width)).data();
    float* G = V + P * t.block * IC;
    float* tmp = G + P * t.block * OC;
    const float* rows[2][36];
    const float* dys[2][16];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t q0 = blk * t.block, n = std::min(t.block, t.count - q0);
      // Pixels past the output's edge read zeros (spare stride 0).
      patch_rows(s, t, q0, src, zeros.data(), rows[0]);
      tile_pixels<const float>(s, t, q0, ddst, zeros.data(), 0, dys[0], nullptr);
      for (int64_t i = 0; i < n; ++i) {
        if (i + 1 < n) {  // the next tile's rows, fetched while this one transforms
          patch_rows(s, t, q0 + i + 1, src, zeros.data(), rows[(i + 1) & 1]);
          prefetch_patch(rows[(i + 1) & 1], P, IC, zeros.data());
          tile_pixels<const float>(s, t, q0 + i + 1, ddst, zeros.data(), 0, dys[(i + 1) & 1],
                                   nullptr);
          prefetch_patch(dys[(i + 1) & 1], t.m * t.m, OC, zeros.data());
        }
        tf.input(rows[i & 1], V + i * IC, t.block * IC, IC, tmp);
        tf.gradient(dys[i & 1], G + i * OC, t.block * OC, OC, tmp);
      }
      // Position-major V and G here: sgemm packs V[p]'s rows, better contiguous (tile-major,
      // as in position_products, measured ~5% slower).
      for (int64_t p = 0; p < P; ++p)
        sgemm(Trans::T, Trans::N, IC, OC, n, 1.0f, V + p * t.block * IC, IC,
              G + p * t.block * OC, OC, 1.0f, acc + p * IC * OC, OC);
    }
  });
  tf.kernel_gradient(dU.data(), IC * OC, dkernel);
}

}  // namespace nnfast::conv_detail
