// Winograd F(2x2, 3x3) convolution: the 3x3 stride-1 layers of the tutorial CNN and of most
// classic nets, in all three passes.
//
// Each 2x2 block of output pixels (a tile) reads a 4x4 input patch. Transformed, the patch
// (V = B^T d B) and the kernel (U = G g G^T) meet in 16 elementwise products per channel
// pair, so the convolution becomes 16 GEMMs over blocks of tiles:
//   forward:          M[p] (tiles x OC) = V[p] (tiles x IC) @ U[p] (IC x OC), Y = A^T M A
//   backward-data:    the forward of the output gradient with the flipped, transposed kernel
//   backward-weights: dU[p] (IC x OC) += V[p]^T @ (A dY A^T)[p], dkernel = G^T dU G
// 16 products per 4 outputs instead of 36: 2.25x fewer multiply-adds (less where out_h or
// out_w is odd: the last tile's extra row or column is computed and dropped).
// NOTE: the GEMMs are the "gemm" registry's (packing, micro-kernel, ISA); the tile transforms
// are the "conv2d_winograd" registry's kernels. Threads split blocks of tiles; the kernel
// gradient's per-thread partial sums are added in thread order (same thread count, same
// bits). Results differ from the direct sum by float32 rounding only (the transforms add and
// halve; tested against a float64 reference).
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

struct WinogradVariant {
  kernels::WinogradInputFn input;
  kernels::WinogradOutputFn output;
  kernels::WinogradGradientFn gradient;
};
const WinogradVariant kWinogradAvx512{kernels::f32_winograd_input_avx512,
                                      kernels::f32_winograd_output_avx512,
                                      kernels::f32_winograd_gradient_avx512};
const WinogradVariant kWinogradAvx2{kernels::f32_winograd_input_avx2,
                                    kernels::f32_winograd_output_avx2,
                                    kernels::f32_winograd_gradient_avx2};
const WinogradVariant kWinogradRef{kernels::f32_winograd_input_ref,
                                   kernels::f32_winograd_output_ref,
                                   kernels::f32_winograd_gradient_ref};
const dispatch::Registry<WinogradVariant> kWinograd{
    "conv2d_winograd",
    {{Isa::avx512, "f32_winograd_f2x2_3x3_avx512", &kWinogradAvx512},
     {Isa::avx2, "f32_winograd_f2x2_3x3_avx2", &kWinogradAvx2},
     {Isa::ref, "f32_winograd_f2x2_3x3_ref", &kWinogradRef}}};

constexpr int64_t kPositions = 16;         // a transformed tile: 4x4
constexpr int64_t kBlockFloats = 1 << 18;  // V and M of a block of tiles: ~1 MB (L2)
constexpr int64_t kMaxChannels = 128;      // U (16 x IC x OC) stays ~1 MB
// NOTE: the kernel transform (16 x IC x OC per call) must be paid back by the GEMM savings,
// both proportional to IC x OC: measured at one thread with a folded batch normalization,
// 196 tiles (1x28x28x128) ran 1.3x slower than the register tiles, 784 (1x56x56x64,
// 4x28x28x128) 1.1-1.25x faster.
constexpr int64_t kMinTiles = 512;

// Tiles of 2x2 output pixels, flattened over (batch, tile row, tile column).
struct Tiles {
  int64_t rows, cols, count, block;
  explicit Tiles(const Conv2DShape& s)
      : rows((s.out_h + 1) / 2), cols((s.out_w + 1) / 2), count(s.batch * rows * cols) {
    block = std::clamp<int64_t>(kBlockFloats / (kPositions * (s.in_c + s.out_c)), 16, 512);
  }
};

// The 16 input rows of tile q (a zero row where the 4x4 patch leaves the input).
void patch_rows(const Conv2DShape& s, const Tiles& t, int64_t q, const float* src,
                const float* zeros, const float** d) {
  const int64_t b = q / (t.rows * t.cols), ty = (q / t.cols) % t.rows, tx = q % t.cols;
  const int64_t ih0 = 2 * ty - s.pad_top, iw0 = 2 * tx - s.pad_left;
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 4; ++c) {
      const int64_t ih = ih0 + r, iw = iw0 + c;
      d[4 * r + c] = ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w
                         ? src + ((b * s.in_h + ih) * s.in_w + iw) * s.in_c
                         : zeros;
    }
}

// The 4 output rows of tile q: dst rows, or `spare` for pixels past the output's edge.
// Returns how many are real (their flags in valid[]).
void tile_outputs(const Conv2DShape& s, const Tiles& t, int64_t q, float* dst, float* spare,
                  int64_t spare_stride, float** y, bool* valid) {
  const int64_t b = q / (t.rows * t.cols), ty = (q / t.cols) % t.rows, tx = q % t.cols;
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 2; ++c) {
      const int64_t oh = 2 * ty + r, ow = 2 * tx + c;
      valid[2 * r + c] = oh < s.out_h && ow < s.out_w;
      y[2 * r + c] = valid[2 * r + c] ? dst + ((b * s.out_h + oh) * s.out_w + ow) * s.out_c
                                      : spare + (2 * r + c) * spare_stride;
    }
}

// U (16, IC, OC) = G g G^T of each (ci, co) 3x3 slice of kernel (3, 3, IC, OC);
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
void transform_kernel(const float* kernel, int64_t IC, int64_t OC, float* U) {
  const int64_t plane = IC * OC;
  for (int64_t e = 0; e < plane; ++e) {
    float g[3][3], t[4][3];
    for (int64_t k = 0; k < 9; ++k) g[k / 3][k % 3] = kernel[k * plane + e];
    for (int64_t j = 0; j < 3; ++j) {
      t[0][j] = g[0][j];
      t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
      t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
      t[3][j] = g[2][j];
    }
    for (int64_t i = 0; i < 4; ++i) {
      U[(4 * i + 0) * plane + e] = t[i][0];
      U[(4 * i + 1) * plane + e] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      U[(4 * i + 2) * plane + e] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      U[(4 * i + 3) * plane + e] = t[i][2];
    }
  }
}

// dkernel (3, 3, IC, OC) = G^T dU G of each (ci, co) slice of dU (16, IC, OC).
void untransform_kernel_gradient(const float* dU, int64_t IC, int64_t OC, float* dkernel) {
  const int64_t plane = IC * OC;
  auto gt = [](float u0, float u1, float u2, float u3, float* o) {  // G^T (u0, u1, u2, u3)
    o[0] = u0 + 0.5f * (u1 + u2);
    o[1] = 0.5f * (u1 - u2);
    o[2] = 0.5f * (u1 + u2) + u3;
  };
  for (int64_t e = 0; e < plane; ++e) {
    float t[3][4], w[3][3];
    for (int64_t j = 0; j < 4; ++j) {
      float col[3];
      gt(dU[j * plane + e], dU[(4 + j) * plane + e], dU[(8 + j) * plane + e],
         dU[(12 + j) * plane + e], col);
      for (int64_t i = 0; i < 3; ++i) t[i][j] = col[i];
    }
    for (int64_t i = 0; i < 3; ++i) gt(t[i][0], t[i][1], t[i][2], t[i][3], w[i]);
    for (int64_t k = 0; k < 9; ++k) dkernel[k * plane + e] = w[k / 3][k % 3];
  }
}

// The forward pass on an already transformed kernel U (16, IC, OC).
void forward_transformed(const Conv2DShape& s, const float* src, const float* U,
                         const float* bias, Activation act, const ActivationParams& act_params,
                         float* dst, const float* scale, const float* residual) {
  const WinogradVariant& v = *kWinograd.select().fns;
  const Tiles t(s);
  const int64_t IC = s.in_c, OC = s.out_c, width = std::max(IC, OC);
  const std::vector<float> zeros(static_cast<size_t>(IC), 0.0f);
  // Plain relu and bias ride in the output transform; anything else runs after it per row.
  const bool relu_only = act == Activation::relu && act_params.alpha == 0.0f &&
                         act_params.threshold == 0.0f &&
                         act_params.max_value == std::numeric_limits<float>::infinity();
  const bool simple = !scale && !residual && (act == Activation::linear || relu_only);
  const int64_t blocks = (t.count + t.block - 1) / t.block;
  parallel_for_chunks(blocks, tile_grain(2.0 * t.block * kPositions * IC * OC),
                      [&](int64_t b0, int64_t b1) {
    float* V = thread_buffer(static_cast<size_t>(kPositions * t.block * (IC + OC) +
                                                 kPositions * width + 4 * OC)).data();
    float* M = V + kPositions * t.block * IC;
    float* tmp = M + kPositions * t.block * OC;
    float* spare = tmp + kPositions * width;
    const float* d[16];
    float* y[4];
    bool valid[4];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t q0 = blk * t.block, n = std::min(t.block, t.count - q0);
      for (int64_t i = 0; i < n; ++i) {
        patch_rows(s, t, q0 + i, src, zeros.data(), d);
        v.input(d, V + i * IC, t.block * IC, IC, tmp);
      }
      for (int64_t p = 0; p < kPositions; ++p)
        sgemm(Trans::N, Trans::N, n, OC, IC, 1.0f, V + p * t.block * IC, IC, U + p * IC * OC,
              OC, 0.0f, M + p * t.block * OC, OC);
      for (int64_t i = 0; i < n; ++i) {
        tile_outputs(s, t, q0 + i, dst, spare, OC, y, valid);
        v.output(M + i * OC, t.block * OC, y, OC, simple ? bias : nullptr,
                 simple && relu_only, tmp);
        if (simple) continue;
        for (int64_t r = 0; r < 2; ++r)  // a tile row's two pixels are adjacent in dst
          if (valid[2 * r])
            scale_shift_activation_rows(y[2 * r], OC, valid[2 * r + 1] ? 2 : 1, OC, scale, bias,
                                        residual ? residual + (y[2 * r] - dst) : nullptr, OC,
                                        act, act_params);
      }
    }
  });
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

bool winograd_3x3_wide(const Conv2DShape& s) {
  return winograd_3x3(s) && s.in_c >= 64 && s.out_c >= 64;
}

void conv2d_forward_winograd(const Conv2DShape& s, const float* src, const float* kernel,
                             const float* bias, Activation act, const ActivationParams& act_params,
                             float* dst, const float* scale, const float* residual) {
  std::vector<float> U(static_cast<size_t>(kPositions * s.in_c * s.out_c));
  transform_kernel(kernel, s.in_c, s.out_c, U.data());
  forward_transformed(s, src, U.data(), bias, act, act_params, dst, scale, residual);
}

void conv2d_backward_data_winograd(const Conv2DShape& s, const float* ddst, const float* kernel,
                                   float* dsrc) {
  // dsrc[ih] = sum_kh ddst[ih + pad - kh] g[kh]: a forward conv of ddst (padded by 2 - pad)
  // with g flipped in both axes and its channels swapped.
  const int64_t IC = s.in_c, OC = s.out_c;
  std::vector<float> flipped(static_cast<size_t>(9 * IC * OC));
  for (int64_t k = 0; k < 9; ++k)
    for (int64_t ci = 0; ci < IC; ++ci)
      for (int64_t co = 0; co < OC; ++co)
        flipped[(k * OC + co) * IC + ci] = kernel[((8 - k) * IC + ci) * OC + co];
  Conv2DShape f = s;
  f.in_h = s.out_h, f.in_w = s.out_w, f.in_c = OC;
  f.out_h = s.in_h, f.out_w = s.in_w, f.out_c = IC;
  f.pad_top = 2 - s.pad_top, f.pad_left = 2 - s.pad_left;
  std::vector<float> U(static_cast<size_t>(kPositions * IC * OC));
  transform_kernel(flipped.data(), OC, IC, U.data());
  forward_transformed(f, ddst, U.data(), nullptr, Activation::linear, ActivationParams{}, dsrc,
                      nullptr, nullptr);
}

void conv2d_backward_weights_winograd(const Conv2DShape& s, const float* src, const float* ddst,
                                      float* dkernel) {
  const WinogradVariant& v = *kWinograd.select().fns;
  const Tiles t(s);
  const int64_t IC = s.in_c, OC = s.out_c, width = std::max(IC, OC);
  const std::vector<float> zeros(static_cast<size_t>(std::max(IC, OC)), 0.0f);
  std::vector<float> dU(static_cast<size_t>(kPositions * IC * OC));
  const int64_t blocks = (t.count + t.block - 1) / t.block;
  chunked_accumulate(blocks, tile_grain(2.0 * t.block * kPositions * IC * OC), dU.data(),
                     kPositions * IC * OC, [&](int64_t b0, int64_t b1, float* acc) {
    float* V = thread_buffer(static_cast<size_t>(kPositions * t.block * (IC + OC) +
                                                 kPositions * width)).data();
    float* G = V + kPositions * t.block * IC;
    float* tmp = G + kPositions * t.block * OC;
    const float* d[16];
    const float* dy[4];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t q0 = blk * t.block, n = std::min(t.block, t.count - q0);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t q = q0 + i;
        patch_rows(s, t, q, src, zeros.data(), d);
        v.input(d, V + i * IC, t.block * IC, IC, tmp);
        const int64_t b = q / (t.rows * t.cols), ty = (q / t.cols) % t.rows, tx = q % t.cols;
        for (int64_t r = 0; r < 2; ++r)
          for (int64_t c = 0; c < 2; ++c) {
            const int64_t oh = 2 * ty + r, ow = 2 * tx + c;
            dy[2 * r + c] = oh < s.out_h && ow < s.out_w
                                ? ddst + ((b * s.out_h + oh) * s.out_w + ow) * OC
                                : zeros.data();
          }
        v.gradient(dy, G + i * OC, t.block * OC, OC, tmp);
      }
      for (int64_t p = 0; p < kPositions; ++p)
        sgemm(Trans::T, Trans::N, IC, OC, n, 1.0f, V + p * t.block * IC, IC,
              G + p * t.block * OC, OC, 1.0f, acc + p * IC * OC, OC);
    }
  });
  untransform_kernel_gradient(dU.data(), IC, OC, dkernel);
}

}  // namespace nnfast::conv_detail
