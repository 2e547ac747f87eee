// The register-tile drivers of the convolutions (see conv_common.h): they lay out per-pixel
// input pointers and tap lists, split the work across threads and call the 14 x 32 tile
// micro-kernel they are given (f32_conv_tile_avx512 or _avx2, chosen by the conv registries
// in conv.cpp); epilogues run as one pass per tile in L1. These drivers are portable code:
// only the micro-kernels are ISA-specific (kernels/conv/).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/conv/conv_kernels.h"
#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/runtime.h"
#include "ops/conv_common.h"
#include "ops/parallel.h"

namespace nnfast::conv_detail {

// No packing at all. A tile of 14 consecutive output pixels (in flattened
// (batch, oh, ow) order, so a 7-wide output still fills whole tiles) x 32 output channels keeps
// its 28 accumulators in registers and reads, per tap, each pixel's channel run straight from
// the input (broadcast) and the kernel rows in place.
// NOTE: the kernel slice for 32 channels is taps*in_c*32 floats (576 KB for 3x3x512). Tiles
// run in groups, channel block by channel block, and large slices in chunks of taps (partial
// sums accumulate in dst), so the slice stays in L2 while the group's input rows are reused,
// instead of streaming the whole kernel from L3 for every tile (3x3 7x7x512 -> 512: 67 ->
// ~200 GFLOP/s on one core).
void conv2d_forward_tiles(kernels::ConvTileFn tile, const Conv2DShape& s, const float* src,
                          const float* kernel, const float* bias, Activation act,
                          const ActivationParams& act_params, float* dst, const float* scale,
                          const float* residual) {
  constexpr int64_t P = kernels::kConvTilePixels;
  // Epilogues beyond bias + relu run as one pass over the tile while it is in L1.
  const bool rows_pass = scale || residual;
  const int64_t OC = s.out_c, C = s.in_c, taps = s.kernel_h * s.kernel_w;
  const bool relu = act == Activation::relu && act_params.alpha == 0.0f &&
                    act_params.threshold == 0.0f && std::isinf(act_params.max_value);
  const int64_t pixels = s.batch * s.out_h * s.out_w;
  const int64_t tiles = (pixels + P - 1) / P;
  // Measured on 3x3 ResNet layers: splitting costs a reload of the partial sums, so only a
  // slice over ~160 KB is split, into chunks of ~64 KB (1 tap at 512 channels).
  const int64_t chunk_taps = taps * C * 32 <= 40 * 1024
                                 ? taps : std::max<int64_t>(1, (16 * 1024) / (C * 32));
  // Tiles per group: their input (about P*C floats per tile, more with halos) within ~256 KB.
  const int64_t group = std::max<int64_t>(1, (64 * 1024) / (P * C));
  const std::vector<float> zeros(static_cast<size_t>(C), 0.0f);
  const int64_t tile_cost = 2 * P * taps * C * OC;
  const int64_t oblocks = (OC + 31) / 32;
  // Runs tiles [t0, t1) for the 32-channel blocks [ob0, ob1).
  auto run = [&](int64_t t0, int64_t t1, int64_t ob0, int64_t ob1) {
    const int64_t gmax = std::min(group, t1 - t0);
    std::vector<const float*> xp(static_cast<size_t>(gmax * taps * P));
    std::vector<int64_t> tap_of(static_cast<size_t>(gmax * taps));
    std::vector<int64_t> ntaps(static_cast<size_t>(gmax));
    for (int64_t g0 = t0; g0 < t1; g0 += gmax) {
      const int64_t gn = std::min(gmax, t1 - g0);
      // The group's per-tile input pointers; a tap with every pixel outside adds nothing.
      for (int64_t gi = 0; gi < gn; ++gi) {
        const int64_t p0 = (g0 + gi) * P, mr = std::min(P, pixels - p0);
        int64_t b[P], oh[P], ow[P];
        PixelCursor at(s, p0);
        for (int64_t i = 0; i < mr; ++i, at.next(s)) {
          b[i] = at.b;
          oh[i] = at.oh;
          ow[i] = at.ow;
        }
        int64_t nt = 0;
        for (int64_t kh = 0; kh < s.kernel_h; ++kh)
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const float** xt = xp.data() + (gi * taps + nt) * P;
            bool any = false;
            for (int64_t i = 0; i < P; ++i) {
              const float* ptr = zeros.data();
              if (i < mr) {
                const int64_t ih = oh[i] * s.stride_h - s.pad_top + kh * s.dilation_h;
                const int64_t iw = ow[i] * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (ih >= 0 && ih < s.in_h && iw >= 0 && iw < s.in_w) {
                  ptr = src + ((b[i] * s.in_h + ih) * s.in_w + iw) * C;
                  any = true;
                }
              }
              xt[i] = ptr;
            }
            if (any) tap_of[gi * taps + nt++] = kh * s.kernel_w + kw;
          }
        ntaps[gi] = nt;
      }
      for (int64_t o0 = ob0 * 32; o0 < std::min(OC, ob1 * 32); o0 += 32) {
        const int64_t nc = std::min<int64_t>(32, OC - o0);
        for (int64_t k0 = 0; k0 < taps; k0 += chunk_taps) {
          const int64_t k1 = std::min(taps, k0 + chunk_taps);
          const bool first = k0 == 0, last = k1 == taps;
          // With a scale the kernel leaves the plain sum; scale, bias and activation then run
          // on the tile while it is in L1. (Inside the kernel they cost it its registers.)
          const int flags = (first ? 0 : kernels::kConvTileAccumulate) |
                            (last && relu && !rows_pass ? kernels::kConvTileRelu : 0);
          const bool epilogue = last && (rows_pass || (!relu && act != Activation::linear));
          // NOTE: a tile's epilogue runs one tile late: read right after the kernel's masked
          // stores, it waited for them to retire (no store forwarding) -- 18% of a 1x1 conv.
          auto finish = [&](int64_t gi) {
            const int64_t p0 = (g0 + gi) * P, mr = std::min(P, pixels - p0);
            scale_shift_activation_rows(dst + p0 * OC + o0, OC, mr, nc,
                                        scale ? scale + o0 : nullptr,
                                        rows_pass && bias ? bias + o0 : nullptr,
                                        residual ? residual + p0 * OC + o0 : nullptr, OC, act,
                                        act_params);
          };
          for (int64_t gi = 0; gi < gn; ++gi) {
            // This tile's compacted taps that fall in [k0, k1) (tap_of is ascending).
            const int64_t* tl = tap_of.data() + gi * taps;
            int64_t a = 0;
            while (a < ntaps[gi] && tl[a] < k0) ++a;
            int64_t e = a;
            while (e < ntaps[gi] && tl[e] < k1) ++e;
            const int64_t p0 = (g0 + gi) * P, mr = std::min(P, pixels - p0);
            float* d = dst + p0 * OC + o0;
            if (last && residual) prefetch_rows(residual + p0 * OC + o0, OC, mr, nc);
            if (e > a || first || (last && relu))  // else nothing to add or clamp
              tile(xp.data() + (gi * taps + a) * P, tl + a, e - a, C, kernel, OC,
                   rows_pass ? nullptr : bias, o0, nc, mr, flags, d, OC);
            if (epilogue && gi > 0) finish(gi - 1);
          }
          if (epilogue && gn > 0) finish(gn - 1);
        }
      }
    }
  };
  // NOTE: with few tiles (batch 1, 7x7 maps) every thread would stream the whole kernel
  // (9 MB at 3x3x512x512) for a handful of pixels; threads then split the channel blocks
  // instead and each reads its share of the kernel once.
  const int64_t threads = std::min<int64_t>(num_threads(), oblocks);
  if (threads > 1 && tiles < 4 * threads) {
    const int64_t block_cost = std::max<int64_t>(1, tile_cost / oblocks * tiles);
    parallel_for_chunks(oblocks, std::max<int64_t>(1, (int64_t{1} << 21) / block_cost),
                        [&](int64_t ob0, int64_t ob1) { run(0, tiles, ob0, ob1); });
  } else {
    parallel_for_chunks(tiles, std::max<int64_t>(1, (int64_t{1} << 21) / tile_cost),
                        [&](int64_t t0, int64_t t1) { run(t0, t1, 0, oblocks); });
  }
}

// Stride > 1: the input gradient on the register tiles, phase by phase. Input pixel
// (ih, iw) receives ddst(oh, ow) * W(kh, kw)^T where oh * s_h - pad_top + kh * d_h == ih; for
// the pixels of one row with the same iw % s_w ("phase") the taps that can contribute are
// the same, so a tile of 14 such pixels runs only those taps -- no multiplications by the
// zeros that stride leaves (the gather + GEMM path spent ~3/4 of its work on them).
void conv2d_backward_data_strided(kernels::ConvTileFn tile, const Conv2DShape& s,
                                  const float* ddst, const float* kernel, float* dsrc) {
  constexpr int64_t P = kernels::kConvTilePixels;
  const int64_t IC = s.in_c, OC = s.out_c, taps = s.kernel_h * s.kernel_w;
  const int64_t sh = s.stride_h, sw = s.stride_w;
  // kernel (tap, ci, o) -> wt (tap, o, ci): the tile kernel's (tap, in, out) layout.
  std::vector<float> wt(static_cast<size_t>(taps * OC * IC));
  for (int64_t tap = 0; tap < taps; ++tap)
    for (int64_t ci = 0; ci < IC; ++ci)
      for (int64_t o = 0; o < OC; ++o)
        wt[(tap * OC + o) * IC + ci] = kernel[(tap * IC + ci) * OC + o];
  const std::vector<float> zeros(static_cast<size_t>(OC), 0.0f);
  // Work items: (batch, ih, phase) rows of input pixels iw = phase + sw * j.
  const int64_t rows = s.batch * s.in_h * sw;
  const int64_t row_cost = 2 * ((s.in_w + sw - 1) / sw) * taps * OC * IC / (sh * sw);
  parallel_for_rows(rows, std::max<int64_t>(1, row_cost), 1 << 21, [&](int64_t r0, int64_t r1) {
    std::vector<const float*> xp(static_cast<size_t>(taps * P));
    std::vector<int64_t> tap_of(static_cast<size_t>(taps));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t phase = r % sw, ih = (r / sw) % s.in_h, b = r / (sw * s.in_h);
      const int64_t count = phase < s.in_w ? (s.in_w - phase + sw - 1) / sw : 0;
      for (int64_t j0 = 0; j0 < count; j0 += P) {
        const int64_t mr = std::min(P, count - j0);
        int64_t nt = 0;
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          const int64_t nh = ih + s.pad_top - kh * s.dilation_h;
          if (nh < 0 || nh % sh) continue;
          const int64_t oh = nh / sh;
          if (oh >= s.out_h) continue;
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const int64_t nw = phase + s.pad_left - kw * s.dilation_w;  // + sw * j
            if (((nw % sw) + sw) % sw) continue;  // this phase never meets this tap
            const int64_t ow0 = (nw - ((nw % sw) + sw) % sw) / sw;  // floor(nw / sw)
            const float** xt = xp.data() + nt * P;
            bool any = false;
            for (int64_t i = 0; i < P; ++i) {
              const int64_t ow = ow0 + j0 + i;
              const bool ok = i < mr && ow >= 0 && ow < s.out_w;
              xt[i] = ok ? ddst + ((b * s.out_h + oh) * s.out_w + ow) * OC : zeros.data();
              any = any || ok;
            }
            if (any) tap_of[nt++] = kh * s.kernel_w + kw;
          }
        }
        float* d = dsrc + ((b * s.in_h + ih) * s.in_w + phase + sw * j0) * IC;
        for (int64_t o0 = 0; o0 < IC; o0 += 32)
          tile(xp.data(), tap_of.data(), nt, OC, wt.data(), IC, nullptr, o0,
               std::min<int64_t>(32, IC - o0), mr, 0, d + o0, sw * IC);
      }
    }
  });
}

// Few input channels (first layers: RGB): a tap row's kernel_w pixels are adjacent
// in NHWC, so each (pixel, kh) reads kernel_w * in_c contiguous floats -- one "tap" of that
// many channels, as the register tiles want (3 taps of 9 for 3x3 RGB instead of 9 taps of
// 3). The input is first copied with the width padding added, so every run is in bounds.
void conv2d_forward_rowmerged(kernels::ConvTileFn tile, const Conv2DShape& s, const float* src,
                              const float* kernel, const float* bias, Activation act,
                              const ActivationParams& act_params, float* dst, const float* scale,
                              const float* residual) {
  constexpr int64_t T = kernels::kConvTilePixels;
  const int64_t C = s.in_c, OC = s.out_c, KW = s.kernel_w, KC = KW * C;
  const int64_t wp = std::max(s.in_w + s.pad_left, (s.out_w - 1) * s.stride_w + KW);
  // Uninitialised: each row is written once, its copy and its zero borders.
  std::unique_ptr<float[]> xpad(new float[static_cast<size_t>(s.batch * s.in_h * wp * C)]);
  parallel_for_rows(s.batch * s.in_h, wp * C, 1 << 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = xpad.get() + r * wp * C;
      std::fill(row, row + s.pad_left * C, 0.0f);
      std::copy(src + r * s.in_w * C, src + (r + 1) * s.in_w * C, row + s.pad_left * C);
      std::fill(row + (s.pad_left + s.in_w) * C, row + wp * C, 0.0f);
    }
  });
  const bool relu = act == Activation::relu && act_params.alpha == 0.0f &&
                    act_params.threshold == 0.0f && std::isinf(act_params.max_value);
  const bool rows_pass = scale || residual || (!relu && act != Activation::linear);
  const std::vector<float> zeros(static_cast<size_t>(KC), 0.0f);
  const int64_t pixels = s.batch * s.out_h * s.out_w;
  const int64_t tiles = (pixels + T - 1) / T;
  const int64_t tile_cost = 2 * T * s.kernel_h * KC * OC;
  parallel_for_chunks(tiles, std::max<int64_t>(1, (int64_t{1} << 21) / tile_cost),
                      [&](int64_t t0, int64_t t1) {
    const float* xp[16 * T];
    int64_t tap_of[16];
    // The epilogue of a tile runs after the next tile's kernel (see conv2d_forward_tiles).
    auto finish = [&](int64_t t) {
      const int64_t p0 = t * T, mr = std::min(T, pixels - p0);
      scale_shift_activation_rows(dst + p0 * OC, OC, mr, OC, scale, bias,
                                  residual ? residual + p0 * OC : nullptr, OC, act, act_params);
    };
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t p0 = t * T, mr = std::min(T, pixels - p0);
      // Per pixel: its first tap row's ih and where its runs start.
      int64_t ih0[T], base[T];
      PixelCursor at(s, p0);
      for (int64_t i = 0; i < mr; ++i, at.next(s)) {
        ih0[i] = at.oh * s.stride_h - s.pad_top;
        base[i] = (at.b * s.in_h * wp + at.ow * s.stride_w) * C;
      }
      int64_t nt = 0;
      for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
        const float** xt = xp + nt * T;
        bool any = false;
        for (int64_t i = 0; i < T; ++i) {
          const float* ptr = zeros.data();
          const int64_t ih = i < mr ? ih0[i] + kh * s.dilation_h : -1;
          if (ih >= 0 && ih < s.in_h) {
            ptr = xpad.get() + base[i] + ih * wp * C;
            any = true;
          }
          xt[i] = ptr;
        }
        if (any) tap_of[nt++] = kh;
      }
      float* d = dst + p0 * OC;
      for (int64_t o0 = 0; o0 < OC; o0 += 32)
        tile(xp, tap_of, nt, KC, kernel, OC, rows_pass ? nullptr : bias, o0,
             std::min<int64_t>(32, OC - o0), mr, relu && !rows_pass ? kernels::kConvTileRelu : 0,
             d + o0, OC);
      if (rows_pass && t > t0) finish(t - 1);
    }
    if (rows_pass && t1 > t0) finish(t1 - 1);
  });
}

}  // namespace nnfast::conv_detail
