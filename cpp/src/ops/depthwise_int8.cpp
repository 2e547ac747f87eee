// int8 depthwise driver (see nnfast/depthwise_int8.h): quantizes each sample's input with one
// abs-max scale per channel into zero-padded int8 rows, interleaves the weights in int16 pairs for
// vpmaddwd, then, one sample at a time (its int8 rows stay in L2), runs the registry's kernel
// over blocks of output pixels with the folded dequantizing epilogue applied while each block
// is in cache. Every
// output is one exact int32 sum (the same on every ISA) and one epilogue: the same bits at any
// thread count.
#include "nnfast/depthwise_int8.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "ops/depthwise_int8_run.h"
#include "ops/parallel.h"
#include "ops/scratch.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

using kernels::Int8DepthwiseKernels;

const Int8DepthwiseKernels kAvx512Vnni{kernels::s8_depthwise_avx512vnni,
                                       kernels::s8_channel_absmax_avx512vnni,
                                       kernels::s8_quantize_rows_avx512vnni, 0x80, true};
const Int8DepthwiseKernels kAvx512{kernels::s8_depthwise_avx512, kernels::s8_channel_absmax_avx512,
                                   kernels::s8_quantize_rows_avx512, 0, false};
const Int8DepthwiseKernels kAvx2{kernels::s8_depthwise_avx2, kernels::s8_channel_absmax_avx2,
                                 kernels::s8_quantize_rows_avx2, 0, false};
const Int8DepthwiseKernels kRef{kernels::s8_depthwise_ref, kernels::s8_channel_absmax_ref,
                                kernels::s8_quantize_rows_ref, 0, false};

std::atomic<bool> g_vnni_allowed{true};
bool vnni_allowed(const dispatch::AnyShape&) {
  return g_vnni_allowed.load(std::memory_order_relaxed);
}

const dispatch::Registry<Int8DepthwiseKernels> kInt8Depthwise{
    "depthwise_int8",
    {{Isa::avx512, "s8_depthwise_avx512vnni", &kAvx512Vnni, vnni_allowed,
      "not switched off by int8_depthwise_allow_vnni(False)", cpu_has_avx512_vnni,
      "AVX512_VNNI"},
     {Isa::avx512, "s8_depthwise_avx512", &kAvx512},
     {Isa::avx2, "s8_depthwise_avx2", &kAvx2},
     {Isa::ref, "s8_depthwise_ref", &kRef}}};

thread_local ScratchBuffer<int8_t> tl_xq;

}  // namespace

const char* int8_depthwise_kernel_name() { return kInt8Depthwise.peek().name; }

bool int8_depthwise_allow_vnni(bool allowed) { return g_vnni_allowed.exchange(allowed); }

Int8DepthwiseWeights::Int8DepthwiseWeights(const Conv2DShape& s, const int8_t* kernel) {
  conv2d_validate(s);
  if (s.groups != s.in_c || s.out_c % s.in_c)
    throw std::invalid_argument("int8_depthwise_conv2d: groups must equal in_c and out_c be a "
                                "multiple of it; received in_c=" + std::to_string(s.in_c) +
                                " groups=" + std::to_string(s.groups) +
                                " out_c=" + std::to_string(s.out_c));
  const int64_t taps = s.kernel_h * s.kernel_w;
  if (taps > 131071)
    throw std::invalid_argument("int8_depthwise_conv2d: " + std::to_string(taps) +
                                " taps could overflow the int32 sums");
  k = kInt8Depthwise.select().fns;
  const int64_t oc = s.out_c;
  dm = oc / s.in_c;
  cp = (oc + 15) / 16 * 16;
  taps_even = (taps + 1) / 2 * 2;
  w_taps.assign(static_cast<size_t>(taps_even * cp), 0);
  for (int64_t t = 0; t < taps; ++t)
    std::memcpy(&w_taps[t * cp], kernel + t * oc, static_cast<size_t>(oc));
  w_pairs.resize(static_cast<size_t>(taps_even / 2 * cp));
  for (int64_t q = 0; q < taps_even / 2; ++q)
    for (int64_t o = 0; o < cp; ++o) {
      const uint32_t lo = static_cast<uint16_t>(static_cast<int16_t>(w_taps[2 * q * cp + o]));
      const uint32_t hi =
          static_cast<uint16_t>(static_cast<int16_t>(w_taps[(2 * q + 1) * cp + o]));
      w_pairs[q * cp + o] = static_cast<int32_t>(lo | (hi << 16));
    }
  cp64 = (cp + 63) / 64 * 64;
  if (k->input_offset) {  // vpdpbusd's spread copies and the offset to remove
    w_spread.assign(static_cast<size_t>(taps * 4 * cp64), 0);
    w_offset_sum.assign(static_cast<size_t>(cp64), 0);
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t o = 0; o < oc; ++o) {
        const int8_t v = kernel[t * oc + o];
        w_spread[(t * 4 + o % 4) * cp64 + o] = v;
        w_offset_sum[o] += 128 * int32_t{v};
      }
  }
}

void Int8DepthwiseWeights::zero_row(int8_t* row) const {
  std::memset(row, k->input_offset, static_cast<size_t>(cp));
}

void int8_depthwise_compute(const kernels::Int8DepthwiseKernels& k,
                            const kernels::Int8DepthwiseArgs& args, int64_t out_c, int64_t p0,
                            int64_t p1, const int8_t** tap_rows, const float* mult,
                            const float* bias, Activation act, const ActivationParams& params,
                            float* dst) {
  // A clamp (linear, relu, relu6) in the kernel's store where it can; else after it.
  constexpr float inf = std::numeric_limits<float>::infinity();
  float lo = -inf, hi = inf;
  bool clamp = act == Activation::linear;
  if (act == Activation::relu && params.alpha == 0.0f && params.threshold == 0.0f)
    lo = 0.0f, hi = params.max_value, clamp = true;
  else if (act == Activation::relu6)
    lo = 0.0f, hi = 6.0f, clamp = true;
  if (k.fuses_epilogue && clamp) {
    kernels::Int8DepthwiseArgs fused = args;
    fused.mult = mult, fused.bias = bias, fused.lo = lo, fused.hi = hi;
    k.compute(fused, tap_rows, p0, p1, dst);
    return;
  }
  // ~32 KB of output per block: the epilogue reads it back from L1/L2.
  const int64_t block = std::max<int64_t>(1, (8 * 1024) / out_c);
  for (int64_t q0 = p0; q0 < p1; q0 += block) {
    const int64_t q1 = std::min(p1, q0 + block);
    float* d = dst + (q0 - p0) * out_c;
    k.compute(args, tap_rows, q0, q1, d);
    scale_shift_activation_rows(d, out_c, q1 - q0, out_c, mult, bias, nullptr, 0, act, params);
  }
}

Int8DepthwiseRun::Int8DepthwiseRun(const Conv2DShape& s, const float* src, const int8_t* kernel,
                                   const float* kernel_scale, const float* bias,
                                   const float* scale, Activation act,
                                   const ActivationParams& act_params, float epsilon,
                                   const int32_t* input_absmax)
    : s_(s), one_(s), src_(src), bias_(bias), scale_(scale), kernel_scale_(kernel_scale),
      act_(act), act_params_(act_params), w_(s, kernel) {
  one_.batch = 1;
  if (s.batch == 0 || out_pixels() == 0) return;
  // Each (sample, input channel)'s abs max, from per-image-row maxima found in parallel: a
  // depthwise convolution never mixes channels, so one scale per channel keeps the sums
  // exact integers and fits each channel's own range.
  const int64_t c = s.in_c, rows = s.batch * s.in_h;
  std::vector<uint32_t> row_max;
  if (!input_absmax) {
    row_max.assign(static_cast<size_t>(rows * c), 0);
    const kernels::Int8DepthwiseKernels& k = *w_.k;
    parallel_for_rows(rows, s.in_w * c, int64_t{1} << 16, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        k.channel_absmax(src + r * s.in_w * c, s.in_w, c, &row_max[r * c]);
    });
  }
  x_scale_.resize(static_cast<size_t>(s.batch * c));
  finite_.assign(static_cast<size_t>(s.batch), 1);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      uint32_t bits = 0;
      if (input_absmax)
        bits = static_cast<uint32_t>(input_absmax[b * c + ch]);
      else
        for (int64_t r = b * s.in_h; r < (b + 1) * s.in_h; ++r)
          bits = std::max(bits, row_max[r * c + ch]);
      if (bits >= 0x7f800000u) finite_[b] = 0;  // a NaN or inf
      float amax;
      std::memcpy(&amax, &bits, sizeof(float));
      x_scale_[b * c + ch] = 127.0f / (amax + epsilon);
    }
  mult_.resize(static_cast<size_t>(s.out_c));
}

bool Int8DepthwiseRun::begin_sample(int64_t b) {
  if (!finite_[b]) return false;
  // One sample at a time: its quantized rows (plus a zero row for the taps outside the image)
  // stay in L2 between quantizing them and the kernel reading each one kh*kw times.
  const int64_t c = s_.in_c, oc = s_.out_c, in_pixels = s_.in_h * s_.in_w;
  const int64_t dm = w_.dm, cp = w_.cp;
  int8_t* xq = tl_xq.get(static_cast<size_t>((in_pixels + 1) * cp));
  w_.zero_row(xq + in_pixels * cp);
  args_ = w_.args(&one_, xq);
  const float* src_b = src_ + b * in_pixels * c;
  const kernels::Int8DepthwiseKernels& k = *w_.k;
  const float* xs = &x_scale_[b * c];
  parallel_for_rows(in_pixels, c * 2, int64_t{1} << 15, [&](int64_t p0, int64_t p1) {
    k.quantize_rows(src_b + p0 * c, p1 - p0, c, dm, cp, xs, xq + p0 * cp);
  });
  for (int64_t o = 0; o < oc; ++o)  // (acc / (xs * ks)) * scale, folded into one multiplier
    mult_[o] = (scale_ ? scale_[o] : 1.0f) / (xs[o / dm] * kernel_scale_[o]);
  return true;
}

void Int8DepthwiseRun::compute(int64_t p0, int64_t p1, float* dst,
                               const int8_t** tap_rows) const {
  int8_depthwise_compute(*w_.k, args_, s_.out_c, p0, p1, tap_rows, mult_.data(), bias_, act_,
                         act_params_, dst);
}

void int8_depthwise_conv2d_forward(const Conv2DShape& s, const float* src, const int8_t* kernel,
                                   const float* kernel_scale, const float* bias,
                                   const float* scale, Activation act,
                                   const ActivationParams& act_params, float epsilon,
                                   float* dst, const int32_t* input_absmax) {
  Int8DepthwiseRun run(s, src, kernel, kernel_scale, bias, scale, act, act_params, epsilon,
                       input_absmax);
  const int64_t oc = s.out_c, out_pixels = run.out_pixels();
  if (s.batch == 0 || out_pixels == 0) return;
  const int64_t taps = s.kernel_h * s.kernel_w;
  for (int64_t b = 0; b < s.batch; ++b) {
    float* dst_b = dst + b * out_pixels * oc;
    if (!run.begin_sample(b)) {  // a NaN/inf input: the sample's outputs are NaN
      std::fill(dst_b, dst_b + out_pixels * oc, std::nanf(""));
      continue;
    }
    parallel_for_rows(out_pixels, 2 * taps * oc, int64_t{1} << 17, [&](int64_t p0, int64_t p1) {
      std::vector<const int8_t*> tap_rows(static_cast<size_t>(run.taps_even()));
      run.compute(p0, p1, dst_b + p0 * oc, tap_rows.data());
    });
  }
}

}  // namespace nnfast
