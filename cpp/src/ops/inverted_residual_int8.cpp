// int8 inverted residual driver (see nnfast/depthwise_int8.h and ops/int8_band_block.h, whose
// band loop it runs with the expand conv as the producer): for each (sample, band of output
// rows), in parallel over them (and within a band, over its rows and pixels, when there are
// fewer bands than threads: nested loops run serially), the expand 1x1 conv of the band's input rows (halo included)
// into the thread's scratch, their per-channel maxima and int8 rows for the depthwise kernel,
// the depthwise output with its epilogue, then the project 1x1 conv of those pixels into dst.
// Every piece is the one the separate calls run (int8_rows for the GEMMs, the depthwise
// registry for the depthwise kernel), on a band instead of a sample.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnfast/depthwise_int8.h"
#include "ops/depthwise_int8_run.h"
#include "ops/int8_band_block.h"
#include "ops/gemm_int8_rows.h"
#include "ops/parallel.h"
#include "ops/scratch.h"

namespace nnfast {
namespace {

thread_local ScratchBuffer<float> tl_expanded;   // the band's expand output
thread_local ScratchBuffer<int8_t> tl_quantized;  // ... as the depthwise kernel's int8 rows
thread_local ScratchBuffer<float> tl_depthwise;  // the band's depthwise output
thread_local ScratchBuffer<float> tl_scales;
thread_local ScratchBuffer<char> tl_finite;
thread_local ScratchBuffer<int32_t> tl_block_max;  // per block of GEMM rows: column maxima

// The rows [lo, hi) of the depthwise input that output rows [oh0, oh1) read (clipped to the
// image; empty when they read padding only).
void input_rows(const Conv2DShape& s, int64_t oh0, int64_t oh1, int64_t* lo, int64_t* hi) {
  *lo = std::max<int64_t>(0, oh0 * s.stride_h - s.pad_top);
  *hi = std::min<int64_t>(s.in_h, (oh1 - 1) * s.stride_h - s.pad_top +
                                      (s.kernel_h - 1) * s.dilation_h + 1);
  if (*hi < *lo) *hi = *lo;
}

// A 1x1 conv of `m` rows of k floats (stride k) into y (stride n): each row quantized, the
// GEMM tiles, the dequantizing epilogue (residual: rows of y's pixels; column_max: raised to
// each output channel's max |y| bits, or nullptr).
void pointwise_rows(const kernels::Int8GemmKernelInfo& kern, const Int8PointwiseConv& conv,
                    const int8_rows::DequantizeEpilogue& epilogue, int64_t m, const float* x,
                    float epsilon, float* y, const float* residual, int32_t* column_max) {
  const Int8PackedKernel& b = *conv.packed;
  int8_t* abuf = int8_rows::a_buffer(kern, m, b.kp);
  float* x_scale = tl_scales.get(static_cast<size_t>(m));
  char* finite = tl_finite.get(static_cast<size_t>(m));
  parallel_for_rows(m, b.k, int64_t{1} << 15, [&](int64_t r0, int64_t r1) {
    int8_rows::quantize_rows(kern, x + r0 * b.k, b.k, r1 - r0, b.k, b.kp, epsilon,
                             abuf + r0 * b.kp, &x_scale[r0], &finite[r0]);
  });
  // column_max: each block of GEMM rows raises its own copy (no two tiles share entries, so
  // no locked compare-and-swap), reduced after.
  int32_t* block_max = nullptr;
  const int64_t blocks = (m + kern.mr - 1) / kern.mr;
  if (column_max) {
    block_max = tl_block_max.get(static_cast<size_t>(blocks * b.n));
    std::fill(block_max, block_max + blocks * b.n, 0);
  }
  int8_rows::run_tiles(kern, m, abuf, b,
                       [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols,
                           const int32_t* acc) {
                         epilogue(i0, rows, j0, cols, acc, x_scale, finite, y, b.n, residual, 0,
                                  block_max ? block_max + i0 / kern.mr * b.n : nullptr,
                                  /*column_max_shared=*/false);
                       });
  for (int64_t blk = 0; column_max && blk < blocks; ++blk)
    for (int64_t j = 0; j < b.n; ++j)
      column_max[j] = std::max(column_max[j], block_max[blk * b.n + j]);
}

}  // namespace

int64_t int8_inverted_residual_band_rows(const Conv2DShape& s) {
  const int64_t row_bytes = std::max<int64_t>(1, s.in_w * s.in_c * 4);
  const int64_t in_rows = std::max<int64_t>(1, (int64_t{512} << 10) / row_bytes);
  const int64_t halo = (s.kernel_h - 1) * s.dilation_h + 1;
  const int64_t rows = in_rows > halo ? (in_rows - halo) / s.stride_h + 1 : 1;
  return std::clamp<int64_t>(rows, 1, std::max<int64_t>(1, s.out_h));
}

void int8_band_depthwise_project(const Conv2DShape& s, const Int8BandProducer& produce,
                                 int64_t produce_cost, const Int8DepthwiseConv& depthwise,
                                 const Int8PointwiseConv& project, float epsilon, float* dst,
                                 Int8GemmVariant variant) {
  if (!project.packed)
    throw std::invalid_argument("int8 band block: missing packed project kernel");
  const Int8PackedKernel& pk = *project.packed;
  if (pk.k != s.out_c)
    throw std::invalid_argument(
        "int8 band block: the project kernel takes " + std::to_string(pk.k) +
        " channels, but the depthwise convolution gives " + std::to_string(s.out_c));
  if (project.epilogue.channel_absmax)
    throw std::invalid_argument("int8 band block: the project step gathers no channel_absmax");
  if (project.epilogue.residual && project.epilogue.ldr < pk.n)
    throw std::invalid_argument("int8 band block: residual row stride " +
                                std::to_string(project.epilogue.ldr) + " under " +
                                std::to_string(pk.n));
  const Int8DepthwiseWeights w(s, depthwise.kernel);
  const int64_t out_pixels = s.out_h * s.out_w;
  if (s.batch == 0 || out_pixels == 0 || pk.n == 0) return;
  const kernels::Int8GemmKernelInfo& kern = int8_rows::gemm_kernel(variant);
  const int8_rows::DequantizeEpilogue project_epilogue(kern, pk, project.kernel_scale,
                                                       project.bias, project.epilogue, false);
  const int64_t c = s.in_c, oc = s.out_c, n = pk.n;
  const int64_t band = int8_inverted_residual_band_rows(s);
  const int64_t bands = (s.out_h + band - 1) / band;
  const int64_t item_cost = band * s.out_w * (produce_cost * (s.stride_h * s.stride_w + 1) +
                                              2 * w.taps_even * oc + pk.kp * n);
  parallel_for_rows(s.batch * bands, item_cost, int64_t{1} << 18, [&](int64_t t0, int64_t t1) {
    std::vector<int32_t> max_bits(static_cast<size_t>(c));
    std::vector<float> dw_scale(static_cast<size_t>(c)), mult(static_cast<size_t>(oc));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / bands, oh0 = (t % bands) * band;
      const int64_t oh1 = std::min(s.out_h, oh0 + band);
      const int64_t pixels = (oh1 - oh0) * s.out_w;
      float* y = dst + (b * out_pixels + oh0 * s.out_w) * n;
      int64_t lo, hi;
      input_rows(s, oh0, oh1, &lo, &hi);
      const int64_t m = (hi - lo) * s.in_w;
      // The band's input rows (halo included) into `expanded`; the band's depthwise scales,
      // one per channel, from the maxima the producer gathers.
      float* expanded = tl_expanded.get(static_cast<size_t>(std::max<int64_t>(m, 1) * c));
      std::fill(max_bits.begin(), max_bits.end(), 0);
      if (m > 0) produce(b, lo, hi, expanded, max_bits.data());
      bool finite = true;
      for (int64_t ch = 0; ch < c; ++ch) {
        finite &= max_bits[ch] < 0x7f800000;
        float amax;
        std::memcpy(&amax, &max_bits[ch], sizeof(float));
        dw_scale[ch] = 127.0f / (amax + epsilon);
      }
      if (!finite) {  // a NaN/inf in the band: its outputs are NaN
        std::fill(y, y + pixels * n, std::nanf(""));
        continue;
      }
      for (int64_t o = 0; o < oc; ++o)
        mult[o] = (depthwise.scale ? depthwise.scale[o] : 1.0f) /
                  (dw_scale[o / w.dm] * depthwise.kernel_scale[o]);
      // The band as a one-sample image of its input rows (zero row last).
      int8_t* xq = tl_quantized.get(static_cast<size_t>((m + 1) * w.cp));
      parallel_for_rows(m, 2 * c, int64_t{1} << 15, [&](int64_t r0, int64_t r1) {
        w.k->quantize_rows(expanded + r0 * c, r1 - r0, c, w.dm, w.cp, dw_scale.data(),
                           xq + r0 * w.cp);
      });
      w.zero_row(xq + m * w.cp);
      Conv2DShape sub = s;
      sub.batch = 1;
      sub.in_h = hi - lo;
      sub.out_h = oh1 - oh0;
      sub.pad_top = lo - (oh0 * s.stride_h - s.pad_top);
      const kernels::Int8DepthwiseArgs args = w.args(&sub, xq);
      float* dw_out = tl_depthwise.get(static_cast<size_t>(pixels * oc));
      parallel_for_rows(pixels, 2 * w.taps_even * oc, int64_t{1} << 17,
                        [&](int64_t p0, int64_t p1) {
        std::vector<const int8_t*> taps(static_cast<size_t>(w.taps_even));
        int8_depthwise_compute(*w.k, args, oc, p0, p1, taps.data(), mult.data(), depthwise.bias,
                               depthwise.act, depthwise.params, dw_out + p0 * oc);
      });
      // Project, with the residual of these pixels.
      const float* residual =
          project.epilogue.residual
              ? project.epilogue.residual + (b * out_pixels + oh0 * s.out_w) * project.epilogue.ldr
              : nullptr;
      pointwise_rows(kern, project, project_epilogue, pixels, dw_out, epsilon, y, residual,
                     nullptr);
    }
  });
}

void int8_inverted_residual_forward(const Conv2DShape& s, const float* src,
                                    const Int8PointwiseConv& expand,
                                    const Int8DepthwiseConv& depthwise,
                                    const Int8PointwiseConv& project, float epsilon, float* dst,
                                    Int8GemmVariant variant) {
  if (!expand.packed || !project.packed)
    throw std::invalid_argument("int8_inverted_residual_forward: missing packed kernel");
  const Int8PackedKernel &ek = *expand.packed, &pk = *project.packed;
  if (ek.n != s.in_c || pk.k != s.out_c)
    throw std::invalid_argument(
        "int8_inverted_residual_forward: the expand kernel gives " + std::to_string(ek.n) +
        " channels and the project kernel takes " + std::to_string(pk.k) + ", but the depthwise "
        "convolution maps " + std::to_string(s.in_c) + " to " + std::to_string(s.out_c));
  if (expand.epilogue.residual || expand.epilogue.channel_absmax ||
      project.epilogue.channel_absmax)
    throw std::invalid_argument("int8_inverted_residual_forward: the expand step takes no "
                                "residual, and no step gathers channel_absmax");
  const kernels::Int8GemmKernelInfo& kern = int8_rows::gemm_kernel(variant);
  const int8_rows::DequantizeEpilogue expand_epilogue(kern, ek, expand.kernel_scale,
                                                      expand.bias, expand.epilogue, false);
  const int64_t in_k = ek.k;
  // Expand: the band's input rows (halo included), its epilogue gathering the maxima.
  const Int8BandProducer produce = [&](int64_t b, int64_t lo, int64_t hi, float* rows,
                                       int32_t* max_bits) {
    pointwise_rows(kern, expand, expand_epilogue, (hi - lo) * s.in_w,
                   src + (b * s.in_h + lo) * s.in_w * in_k, epsilon, rows, nullptr, max_bits);
  };
  int8_band_depthwise_project(s, produce, ek.kp * s.in_c, depthwise, project, epsilon, dst,
                              variant);
}

}  // namespace nnfast
