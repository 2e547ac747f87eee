// int8 stem convolution drivers (see nnfast/stem_int8.h): the kernel laid out per window dword
// once per call; each sample's image quantized once (its abs-max, then bytes q + 128 into a
// zero-padded image, so windows need no bounds checks); then output rows, each one registry
// kernel call that sums, dequantizes, clamps, stores and gathers the channel maxima: in
// parallel into dst, or as the producer of ops/int8_band_block.h's bands (stem + first block).
#include "nnfast/stem_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/stem_int8/stem_int8_kernels.h"
#include "nnfast/runtime.h"
#include "ops/int8_band_block.h"
#include "ops/parallel.h"
#include "ops/scratch.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

using kernels::Int8StemKernels;

const Int8StemKernels kAvx512Vnni{kernels::s8_stem_row_avx512vnni,
                                  kernels::s8_stem_absmax_avx512vnni,
                                  kernels::s8_stem_quantize_avx512vnni};
const Int8StemKernels kAvxVnni{kernels::s8_stem_row_avxvnni, kernels::s8_stem_absmax_avxvnni,
                               kernels::s8_stem_quantize_avxvnni};
const Int8StemKernels kRef{kernels::s8_stem_row_ref, kernels::s8_stem_absmax_ref,
                           kernels::s8_stem_quantize_ref};

const dispatch::Registry<Int8StemKernels> kInt8Stem{
    "stem_int8",
    {{Isa::avx512, "s8_stem_avx512vnni", &kAvx512Vnni, nullptr, nullptr, cpu_has_avx512_vnni,
      "AVX512_VNNI"},
     {Isa::avx2, "s8_stem_avxvnni", &kAvxVnni, nullptr, nullptr, cpu_has_avx_vnni, "AVX-VNNI"},
     {Isa::ref, "s8_stem_ref", &kRef}}};

thread_local ScratchBuffer<uint8_t> tl_images;

constexpr int64_t kSlack = 64;  // bytes after the last padded row (dwords read past a window)

int64_t row_dwords(const Conv2DShape& s) { return (s.kernel_w * s.in_c + 3) / 4; }

// dst[j] = max(dst[j], bits[j]) for threads sharing dst.
void raise_shared(const uint32_t* bits, int64_t n, int32_t* dst) {
  for (int64_t j = 0; j < n; ++j) {
    const int32_t v = static_cast<int32_t>(bits[j]);
    int32_t cur = __atomic_load_n(dst + j, __ATOMIC_RELAXED);
    while (v > cur && !__atomic_compare_exchange_n(dst + j, &cur, v, true, __ATOMIC_RELAXED,
                                                   __ATOMIC_RELAXED)) {
    }
  }
}

}  // namespace

const char* int8_stem_kernel_name() { return kInt8Stem.peek().name; }

bool int8_stem_conv2d_supported(const Conv2DShape& s) {
  return s.groups == 1 && s.dilation_w == 1 && s.kernel_h >= 1 && s.kernel_w >= 1 &&
         s.in_c >= 1 && s.kernel_h * row_dwords(s) <= 64 && s.out_c >= 1 && s.out_c <= 1024;
}

namespace {

// One stem convolution prepared for a call: its weights laid out per window dword, then (after
// quantize) each sample's padded image and multipliers; rows() computes any output rows.
class StemRun {
 public:
  StemRun(const Conv2DShape& s, const int8_t* kernel, const float* kernel_scale,
          const float* bias, Activation act, const ActivationParams& act_params)
      : s_(s), act_(act), params_(act_params) {
    conv2d_validate(s);
    if (!int8_stem_conv2d_supported(s))
      throw std::invalid_argument(
          "int8_stem_conv2d_forward: expected groups 1, dilation_w 1, kernel_h * ceil(kernel_w "
          "* in_c / 4) <= 64 and 1 to 1024 output channels; received groups=" +
          std::to_string(s.groups) + " dilation_w=" + std::to_string(s.dilation_w) +
          " kernel=(" + std::to_string(s.kernel_h) + ", " + std::to_string(s.kernel_w) + ", " +
          std::to_string(s.in_c) + ", " + std::to_string(s.out_c) + ")");
    n_ = s.out_c, np_ = (n_ + 15) / 16 * 16;
    const int64_t c = s.in_c, rd = row_dwords(s);
    dwords_ = s.kernel_h * rd;
    // The padded image: every window inside it (rows/columns past the input read as zeros).
    hp_ = (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h + 1;
    wp_ = (s.out_w - 1) * s.stride_w + s.kernel_w;
    row_bytes_ = wp_ * c, image_bytes_ = hp_ * row_bytes_ + kSlack;
    // Weights: (dwords, np / 16, 16 channels, 4 bytes), zero past the window row and channels.
    weights_.assign(static_cast<size_t>(dwords_ * np_ * 4), 0);
    offset_sum_.assign(static_cast<size_t>(np_), 0);
    dword_offset_.resize(static_cast<size_t>(dwords_));
    for (int64_t kh = 0; kh < s.kernel_h; ++kh)
      for (int64_t r = 0; r < rd; ++r) {
        const int64_t d = kh * rd + r;
        dword_offset_[d] = kh * s.dilation_h * row_bytes_ + r * 4;
        for (int64_t byte = 0; byte < 4; ++byte) {
          const int64_t e = r * 4 + byte;  // kw * c + ci within the kernel row
          if (e >= s.kernel_w * c) break;
          for (int64_t j = 0; j < n_; ++j) {
            const int8_t w = kernel[(kh * s.kernel_w * c + e) * n_ + j];
            weights_[((d * (np_ / 16) + j / 16) * 16 + j % 16) * 4 + byte] = w;
            offset_sum_[j] += 128 * w;
          }
        }
      }
    inv_ks_.resize(static_cast<size_t>(n_));
    bias_.assign(static_cast<size_t>(np_), 0.0f);
    for (int64_t j = 0; j < n_; ++j) {
      inv_ks_[j] = 1.0f / kernel_scale[j];
      if (bias) bias_[j] = bias[j];
    }
    constexpr float inf = std::numeric_limits<float>::infinity();
    lo_ = -inf, hi_ = inf;
    if (act == Activation::relu6) {
      lo_ = 0.0f, hi_ = 6.0f;
    } else if (act == Activation::relu && act_params.alpha == 0.0f &&
               act_params.threshold == 0.0f) {
      lo_ = 0.0f, hi_ = act_params.max_value;
    } else if (act != Activation::linear) {
      tail_ = true;  // an activation that is not a clamp runs after the kernel, on the row
    }
    k_ = kInt8Stem.select().fns;
  }

  // Each sample's abs-max scale, then its padded image of bytes q + 128 (threads inside).
  void quantize(const float* src, float epsilon) {
    const Conv2DShape& s = s_;
    const int64_t c = s.in_c, in_pixels = s.in_h * s.in_w * c;
    images_ = tl_images.get(static_cast<size_t>(s.batch * image_bytes_));
    mult_.assign(static_cast<size_t>(s.batch * np_), 0.0f);
    finite_.assign(static_cast<size_t>(s.batch), 0);
    parallel_for_rows(s.batch, 2 * in_pixels, int64_t{1} << 16, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float* x = src + b * in_pixels;
        uint8_t* image = images_ + b * image_bytes_;
        const uint32_t bits = k_->absmax(x, in_pixels);
        finite_[b] = bits < 0x7f800000u;
        if (!finite_[b]) continue;
        float amax;
        std::memcpy(&amax, &bits, sizeof(amax));
        const float x_scale = 127.0f / (amax + epsilon);
        const float inv_xs = 1.0f / x_scale;
        for (int64_t j = 0; j < n_; ++j) mult_[b * np_ + j] = inv_xs * inv_ks_[j];
        std::memset(image, 0x80, static_cast<size_t>(image_bytes_));
        // Padded column iw + pad_left for the input columns that land inside the image.
        const int64_t iw0 = std::max<int64_t>(0, -s.pad_left);
        const int64_t iw1 = std::min<int64_t>(s.in_w, wp_ - s.pad_left);
        for (int64_t r = 0; r < hp_ && iw1 > iw0; ++r) {
          const int64_t ih = r - s.pad_top;
          if (ih < 0 || ih >= s.in_h) continue;
          k_->quantize(x + (ih * s.in_w + iw0) * c, (iw1 - iw0) * c, x_scale,
                       image + r * row_bytes_ + (iw0 + s.pad_left) * c);
        }
      }
    });
  }

  bool finite(int64_t b) const { return finite_[b] != 0; }

  // Output rows [oh0, oh1) of sample b (finite) into y (rows of out_w * out_c floats),
  // raising maxima (out_c entries) to each channel's max |y| bits.
  void rows(int64_t b, int64_t oh0, int64_t oh1, float* y, uint32_t* maxima) const {
    const kernels::Int8StemArgs args{images_ + b * image_bytes_, row_bytes_,
                                     s_.stride_w * s_.in_c, dwords_, dword_offset_.data(),
                                     weights_.data(), offset_sum_.data(), n_, np_,
                                     mult_.data() + b * np_, bias_.data(), lo_, hi_};
    const int64_t row_floats = s_.out_w * n_;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      float* out = y + (oh - oh0) * row_floats;
      const uint8_t* row = args.image + oh * s_.stride_h * row_bytes_;
      if (!tail_) {
        k_->row(args, row, s_.out_w, out, maxima);
        continue;
      }
      std::vector<uint32_t> unused(static_cast<size_t>(n_), 0);
      k_->row(args, row, s_.out_w, out, unused.data());
      scale_shift_activation_rows(out, n_, s_.out_w, n_, nullptr, nullptr, nullptr, 0, act_,
                                  params_);
      for (int64_t p = 0; p < row_floats; ++p) {
        uint32_t bits;
        std::memcpy(&bits, &out[p], sizeof(bits));
        bits &= 0x7fffffffu;
        maxima[p % n_] = std::max(maxima[p % n_], bits);
      }
    }
  }

  int64_t cost_per_pixel() const { return dwords_ * np_; }

 private:
  Conv2DShape s_;
  Activation act_;
  ActivationParams params_;
  const Int8StemKernels* k_ = nullptr;
  int64_t n_ = 0, np_ = 0, dwords_ = 0, hp_ = 0, wp_ = 0, row_bytes_ = 0, image_bytes_ = 0;
  std::vector<int8_t> weights_;
  std::vector<int32_t> offset_sum_;
  std::vector<int64_t> dword_offset_;
  std::vector<float> inv_ks_, bias_, mult_;
  std::vector<char> finite_;
  float lo_ = 0.0f, hi_ = 0.0f;
  bool tail_ = false;
  uint8_t* images_ = nullptr;
};

}  // namespace

void int8_stem_conv2d_forward(const Conv2DShape& s, const float* src, const int8_t* kernel,
                              const float* kernel_scale, const float* bias, float epsilon,
                              Activation act, const ActivationParams& act_params, float* dst,
                              int32_t* channel_absmax) {
  StemRun stem(s, kernel, kernel_scale, bias, act, act_params);
  if (s.batch == 0 || s.out_h == 0 || s.out_w == 0) return;
  stem.quantize(src, epsilon);
  const int64_t n = s.out_c;
  // Output rows: each thread keeps its current sample's maxima and merges them when done.
  parallel_for_rows(s.batch * s.out_h, s.out_w * stem.cost_per_pixel(), int64_t{1} << 16,
                    [&](int64_t r0, int64_t r1) {
    std::vector<uint32_t> maxima(static_cast<size_t>(n), 0);
    int64_t sample = -1;
    auto flush = [&] {
      if (channel_absmax && sample >= 0)
        raise_shared(maxima.data(), n, channel_absmax + sample * n);
      std::fill(maxima.begin(), maxima.end(), 0u);
    };
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / s.out_h, oh = r % s.out_h;
      if (b != sample) {
        flush();
        sample = b;
      }
      float* y = dst + r * s.out_w * n;
      if (!stem.finite(b)) {  // a NaN/inf input: the sample's outputs are NaN
        std::fill(y, y + s.out_w * n, std::nanf(""));
        std::fill(maxima.begin(), maxima.end(), 0x7fc00000u);
        continue;
      }
      stem.rows(b, oh, oh + 1, y, maxima.data());
    }
    flush();
  });
}

void int8_stem_block_forward(const Conv2DShape& stem_shape, const float* src,
                             const int8_t* stem_kernel, const float* stem_kernel_scale,
                             const float* stem_bias, Activation stem_act,
                             const ActivationParams& stem_act_params, const Conv2DShape& s,
                             const Int8DepthwiseConv& depthwise, const Int8PointwiseConv& project,
                             float epsilon, float* dst, Int8GemmVariant variant) {
  if (s.batch != stem_shape.batch || s.in_h != stem_shape.out_h ||
      s.in_w != stem_shape.out_w || s.in_c != stem_shape.out_c)
    throw std::invalid_argument(
        "int8_stem_block_forward: the depthwise convolution reads (" +
        std::to_string(s.batch) + ", " + std::to_string(s.in_h) + ", " + std::to_string(s.in_w) +
        ", " + std::to_string(s.in_c) + ") but the stem gives (" +
        std::to_string(stem_shape.batch) + ", " + std::to_string(stem_shape.out_h) + ", " +
        std::to_string(stem_shape.out_w) + ", " + std::to_string(stem_shape.out_c) + ")");
  StemRun stem(stem_shape, stem_kernel, stem_kernel_scale, stem_bias, stem_act,
               stem_act_params);
  if (s.batch == 0 || s.out_h == 0 || s.out_w == 0) {
    int8_band_depthwise_project(s, {}, 0, depthwise, project, epsilon, dst, variant);
    return;
  }
  stem.quantize(src, epsilon);
  // The stem's rows of each band, their channel maxima gathered in the kernel's epilogue.
  const Int8BandProducer produce = [&](int64_t b, int64_t lo, int64_t hi, float* rows,
                                       int32_t* max_bits) {
    if (!stem.finite(b)) {  // a NaN/inf input: every band of the sample is NaN
      std::fill(max_bits, max_bits + s.in_c, 0x7fc00000);
      return;
    }
    stem.rows(b, lo, hi, rows, reinterpret_cast<uint32_t*>(max_bits));
  };
  int8_band_depthwise_project(s, produce, stem.cost_per_pixel(), depthwise, project, epsilon,
                              dst, variant);
}

}  // namespace nnfast
