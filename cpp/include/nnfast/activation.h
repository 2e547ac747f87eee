// Elementwise activations (Keras's set) and their gradients, on float32 buffers.
#pragma once
#include <cstdint>
#include <limits>

namespace nnfast {

enum class Activation : int {
  linear = 0,
  relu,          // params: negative_slope (alpha), max_value, threshold
  sigmoid,
  tanh,
  elu,           // alpha
  selu,
  softplus,
  softsign,
  swish,         // x * sigmoid(x), also "silu"
  gelu,          // exact (erf) form
  gelu_tanh,     // tanh approximation
  exponential,
  hard_sigmoid,  // Keras 3: clip(x/6 + 1/2, 0, 1)
  relu6,
  leaky_relu,    // alpha = negative slope
  hard_silu,     // x * hard_sigmoid(x)
  mish,
};
// One past the last id (ids are 0 .. kActivationCount - 1; exported as _core.Activation).
constexpr int kActivationCount = static_cast<int>(Activation::mish) + 1;

struct ActivationParams {
  float alpha = 0.0f;  // relu/leaky_relu negative slope, elu alpha
  float max_value = std::numeric_limits<float>::infinity();
  float threshold = 0.0f;
};

// dst[i] = f(src[i]); src == dst is allowed.
void activation_forward(Activation act, const ActivationParams& p, const float* src, float* dst,
                        int64_t n);

// dsrc[i] = dL/dsrc = f'(src[i]) * ddst[i]. `src` is the activation's input and `dst` its
// output; activations whose gradient follows from the output (see activation_needs_input)
// accept src == nullptr. dsrc may alias ddst.
void activation_backward(Activation act, const ActivationParams& p, const float* src,
                         const float* dst, const float* ddst, float* dsrc, int64_t n);

// For each of `rows` rows of `cols` values (stride ld):
//   c[j] = f(c[j] * scale[j] + shift[j] + residual[j])   (residual's rows: stride ldr).
// The epilogue of an inference convolution with its batch normalization (and a residual
// connection's sum) folded in; run on blocks still in cache. scale, shift and residual may be
// nullptr (1, 0 and 0).
void scale_shift_activation_rows(float* c, int64_t ld, int64_t rows, int64_t cols,
                                 const float* scale, const float* shift, const float* residual,
                                 int64_t ldr, Activation act, const ActivationParams& p);

// Linear, relu without slope or threshold (capped at max_value) and relu6 are clamps to
// [lo, hi] (infinite where unbounded): true and the bounds for those, false otherwise.
bool activation_clamp_bounds(Activation act, const ActivationParams& p, float* lo, float* hi);

// True when the gradient needs the activation's input, not just its output.
bool activation_needs_input(Activation act, const ActivationParams& p);

}  // namespace nnfast
