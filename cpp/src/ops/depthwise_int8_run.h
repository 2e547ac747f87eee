// One int8 depthwise convolution call, split into the steps its drivers sequence
// (depthwise_int8.cpp alone, separable_int8.cpp feeding a pointwise convolution): the weights
// interleaved and the per-(sample, channel) scales found once, then per sample its input
// quantized, then any range of its output pixels computed with the dequantizing epilogue.
// Internal to the core library; see nnfast/depthwise_int8.h for the numbers.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "nnfast/activation.h"
#include "nnfast/conv.h"

namespace nnfast {

// An int8 depthwise kernel laid out for the registry's kernels (which it holds): (taps_even,
// cp) bytes and their int16 pairs for vpmaddwd. Validates `s` (throws std::invalid_argument).
struct Int8DepthwiseWeights {
  Int8DepthwiseWeights(const Conv2DShape& s, const int8_t* kernel);

  // The kernel's arguments for quantized rows xq (laid out by k->quantize_rows) of image `shape`.
  kernels::Int8DepthwiseArgs args(const Conv2DShape* shape, const int8_t* xq) const {
    return {shape, xq, cp, taps_even, w_taps.data(), w_pairs.data(),
            w_spread.empty() ? nullptr : w_spread.data(),
            w_offset_sum.empty() ? nullptr : w_offset_sum.data(), cp64};
  }
  // Fills the cp bytes of the zero row (the value 0 in k's layout).
  void zero_row(int8_t* row) const;

  const kernels::Int8DepthwiseKernels* k;
  int64_t dm, cp, taps_even, cp64;
  std::vector<int8_t> w_taps;
  std::vector<int32_t> w_pairs;
  std::vector<int8_t> w_spread;        // offset kernels only (see Int8DepthwiseArgs)
  std::vector<int32_t> w_offset_sum;  // ...
};

// Output pixels [p0, p1) of args' image into dst (rows of out_c floats), then dst = act(acc *
// mult + bias) on blocks of ~32 KB while they are in cache; tap_rows: scratch for taps_even
// pointers.
void int8_depthwise_compute(const kernels::Int8DepthwiseKernels& k,
                            const kernels::Int8DepthwiseArgs& args, int64_t out_c, int64_t p0,
                            int64_t p1, const int8_t** tap_rows, const float* mult,
                            const float* bias, Activation act, const ActivationParams& params,
                            float* dst);

class Int8DepthwiseRun {
 public:
  // Validates `s` (throws std::invalid_argument) and prepares the weights and scales; the
  // pointers must outlive the object.
  Int8DepthwiseRun(const Conv2DShape& s, const float* src, const int8_t* kernel,
                   const float* kernel_scale, const float* bias, const float* scale,
                   Activation act, const ActivationParams& act_params, float epsilon,
                   const int32_t* input_absmax);

  int64_t out_pixels() const { return s_.out_h * s_.out_w; }
  int64_t out_c() const { return s_.out_c; }
  int64_t taps_even() const { return w_.taps_even; }

  // Quantizes sample b's input into the calling thread's scratch (threads inside) and sets
  // its multipliers; false when the sample holds a NaN/inf (its outputs are all NaN, and
  // compute must not be called for it).
  bool begin_sample(int64_t b);

  // Output pixels [p0, p1) of the sample begun last into dst (rows of out_c floats),
  // epilogue included; tap_rows: scratch for taps_even() pointers. Thread-safe.
  void compute(int64_t p0, int64_t p1, float* dst, const int8_t** tap_rows) const;

 private:
  Conv2DShape s_, one_;
  const float* src_;
  const float* bias_;
  const float* scale_;
  const float* kernel_scale_;
  Activation act_;
  ActivationParams act_params_;
  Int8DepthwiseWeights w_;
  std::vector<float> x_scale_, mult_;
  std::vector<char> finite_;
  kernels::Int8DepthwiseArgs args_;
};

}  // namespace nnfast
