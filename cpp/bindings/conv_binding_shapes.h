// Checked convolution shapes for the bindings, defined in bind_conv.cpp and used by the other
// convolution bindings (bind_conv_bf16.cpp, bind_quantized.cpp): each builds a Conv2DShape from
// the call's arrays and geometry and raises a ValueError naming `what` when they disagree.
#pragma once
#include <cstdint>
#include <utility>

#include <pybind11/numpy.h>

#include "nnfast/conv.h"

// A conv2d call's shape (kernel (kh, kw, in / groups, out)).
nnfast::Conv2DShape conv2d_binding_shape(const pybind11::array& src,
                                         const pybind11::array& kernel,
                                         const pybind11::array& dst,
                                         std::pair<int64_t, int64_t> strides,
                                         std::pair<int64_t, int64_t> pads,
                                         std::pair<int64_t, int64_t> dilation, int64_t groups,
                                         const char* what);

// A call whose kernel is packed (no kernel array: its window size is given).
nnfast::Conv2DShape packed_kernel_binding_shape(const pybind11::array& src,
                                                const pybind11::array& dst,
                                                std::pair<int64_t, int64_t> kernel_hw,
                                                std::pair<int64_t, int64_t> strides,
                                                std::pair<int64_t, int64_t> pads,
                                                std::pair<int64_t, int64_t> dilation,
                                                const char* what);

// A depthwise call (kernel (kh, kw, in_c, depth_multiplier)).
nnfast::Conv2DShape depthwise_binding_shape(const pybind11::array& src,
                                            const pybind11::array& kernel,
                                            const pybind11::array& dst,
                                            std::pair<int64_t, int64_t> strides,
                                            std::pair<int64_t, int64_t> pads,
                                            std::pair<int64_t, int64_t> dilation,
                                            const char* what);

// As depthwise_binding_shape with the output's spatial size taken from `dst` and its channel
// count given (the int8 depthwise -> pointwise call, whose dst holds the pointwise output).
nnfast::Conv2DShape depthwise_binding_shape_channels(const pybind11::array& src,
                                                     const pybind11::array& kernel,
                                                     const pybind11::array& dst, int64_t out_c,
                                                     std::pair<int64_t, int64_t> strides,
                                                     std::pair<int64_t, int64_t> pads,
                                                     std::pair<int64_t, int64_t> dilation,
                                                     const char* what);

// The depthwise step inside a fused int8 block: its input is src's spatial grid with `in_c`
// channels (the expand's outputs, not src's), its kernel (kh, kw, in_c, multiplier), its
// output dst's spatial grid with in_c * multiplier channels.
nnfast::Conv2DShape block_depthwise_binding_shape(const pybind11::array& src,
                                                  const pybind11::array& dw_kernel,
                                                  const pybind11::array& dst, int64_t in_c,
                                                  std::pair<int64_t, int64_t> strides,
                                                  std::pair<int64_t, int64_t> pads,
                                                  std::pair<int64_t, int64_t> dilation,
                                                  const char* what);
