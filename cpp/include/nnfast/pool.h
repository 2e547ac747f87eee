// Pooling on NHWC float32 tensors (Keras channels_last). 1-D pooling is 2-D pooling with
// in_h == out_h == pool_h == 1.
//
//   src (batch, in_h, in_w, channels) -> dst (batch, out_h, out_w, channels)
//   window of output (oh, ow): rows oh*stride_h - pad_top + [0, pool_h), likewise columns;
//   positions outside the input are skipped: max pooling treats them as -inf and average
//   pooling divides by the number of valid positions (Keras/TF 'same' semantics).
#pragma once
#include <cstdint>

namespace nnfast {

struct Pool2DShape {
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t pool_h = 1, pool_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

// Throws std::invalid_argument when a window would be empty or a field is non-positive.
void pool2d_validate(const Pool2DShape& s);

// argmax (same shape as dst, may be nullptr) receives, per output element, the input position
// ih*in_w + iw of the first maximum in row-major window order; backward routes the gradient
// there (as TensorFlow's MaxPoolGrad does).
void max_pool2d_forward(const Pool2DShape& s, const float* src, float* dst, int32_t* argmax);
// dsrc is overwritten. relu_y (dst's shape, may be nullptr): the forward's output when its input
// was a relu's output; then ddst passes only where relu_y > 0 (relu's backward folded into the
// scatter, the same bits as relu_backward_from_output on the input afterwards).
void max_pool2d_backward(const Pool2DShape& s, const float* ddst, const int32_t* argmax,
                         float* dsrc, const float* relu_y = nullptr);

void avg_pool2d_forward(const Pool2DShape& s, const float* src, float* dst);
void avg_pool2d_backward(const Pool2DShape& s, const float* ddst, float* dsrc);

// Global pooling over the `spatial` positions of (batch, spatial, channels) -> (batch, channels).
void global_avg_pool_forward(const float* src, int64_t batch, int64_t spatial, int64_t channels,
                             float* dst);
void global_avg_pool_backward(const float* ddst, int64_t batch, int64_t spatial,
                              int64_t channels, float* dsrc);
// argmax (batch, channels) receives the spatial index of the first maximum (may be nullptr).
void global_max_pool_forward(const float* src, int64_t batch, int64_t spatial, int64_t channels,
                             float* dst, int32_t* argmax);
void global_max_pool_backward(const float* ddst, const int32_t* argmax, int64_t batch,
                              int64_t spatial, int64_t channels, float* dsrc);

}  // namespace nnfast
