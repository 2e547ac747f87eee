// The band machinery of the fused int8 blocks (inverted_residual_int8.cpp; stem_int8.cpp's
// stem + first block): for each (sample, band of output rows of a depthwise convolution), a
// producer fills the band's depthwise input rows (halo included) as floats and raises their
// per-channel |max| bits, then the depthwise kernel (the band's own per-channel scales) and the
// project 1x1 conv run on them; no feature map between them goes to memory. Internal to the
// core library; see nnfast/depthwise_int8.h for the numbers.
#pragma once
#include <cstdint>
#include <functional>

#include "nnfast/depthwise_int8.h"

namespace nnfast {

// Fills rows [lo, hi) of sample b of the depthwise input into `rows` ((hi - lo) * in_w pixels
// of in_c floats) and raises max_bits (in_c entries, zeroed by the caller) to each channel's
// max |value| bits (>= 0x7f800000: a NaN/inf, the band's outputs become NaN).
using Int8BandProducer =
    std::function<void(int64_t b, int64_t lo, int64_t hi, float* rows, int32_t* max_bits)>;

// s: the depthwise convolution (its input: what the producer makes). produce_cost: the
// producer's work per input pixel (to split threads). dst: (batch, out_h, out_w, project.n).
// Validates the project kernel against s (throws std::invalid_argument).
void int8_band_depthwise_project(const Conv2DShape& s, const Int8BandProducer& produce,
                                 int64_t produce_cost, const Int8DepthwiseConv& depthwise,
                                 const Int8PointwiseConv& project, float epsilon, float* dst,
                                 Int8GemmVariant variant);

}  // namespace nnfast
