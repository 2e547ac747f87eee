// Convolution kernel contracts. The driver (src/ops/conv.cpp) owns tiling, threads and the
// GEMM calls; kernels here move data (im2col gathers) or run the direct depthwise loops over a
// [begin, end) range of pixels.
#pragma once
#include <cstdint>

#include "nnfast/conv.h"

namespace nnfast::kernels {

// Rows [p0, p1) of the im2col matrix of group `group`: row p is output pixel p (flattened over
// batch, out_h, out_w), columns are (kh, kw, ci) for ci in the group's in_c/groups channels;
// taps outside the input are zero. col is (p1 - p0) x (kh*kw*cin_g), dense.
void f32_im2col_nhwc_ref(const Conv2DShape& s, int64_t group, const float* src, int64_t p0,
                         int64_t p1, float* col);

// The gather that turns backward-data into a GEMM: row q is input pixel q (flattened over
// batch, in_h, in_w); columns are (kh, kw, o) for o in the group's out_c/groups channels,
// holding ddst at the output pixel that tap (kh, kw) of input pixel q feeds, or zero when no
// output pixel reads it there. dcol is (q1 - q0) x (kh*kw*cout_g), dense.
void f32_col2im_gather_nhwc_ref(const Conv2DShape& s, int64_t group, const float* ddst,
                                int64_t q0, int64_t q1, float* dcol);

// Direct kernels. Depthwise (groups == in_c) and, for groups == 1 convolutions with a small
// kh*kw*in_c (first layers), direct_conv: forward over output pixels [p0, p1) with bias and
// optional relu; backward-weights accumulating into dkernel/dbias.
// Depthwise kernels (groups == in_c). Forward writes output pixels [p0, p1) with bias
// (no activation) as the rows of dst (pixel p at dst + (p - p0) * out_c); backward-data writes input pixels [q0, q1); backward-weights accumulates
// the contribution of output pixels [p0, p1) into dkernel (kh, kw, in_c, dm) and dbias.
using DepthwiseForwardFn = void (*)(const Conv2DShape&, const float*, const float*,
                                    const float*, float*, int64_t, int64_t);
using DepthwiseBackwardDataFn = void (*)(const Conv2DShape&, const float*, const float*, float*,
                                         int64_t, int64_t);
using DepthwiseBackwardWeightsFn = void (*)(const Conv2DShape&, const float*, const float*,
                                            float*, float*, int64_t, int64_t);

#define NNFAST_DECLARE_DEPTHWISE(isa)                                                        \
  void f32_depthwise_fwd_##isa(const Conv2DShape& s, const float* src, const float* kernel, \
                               const float* bias, float* dst, int64_t p0, int64_t p1);       \
  void f32_depthwise_bwd_data_##isa(const Conv2DShape& s, const float* ddst,                \
                                    const float* kernel, float* dsrc, int64_t q0, int64_t q1); \
  void f32_depthwise_bwd_weights_##isa(const Conv2DShape& s, const float* src,              \
                                       const float* ddst, float* dkernel, float* dbias,      \
                                       int64_t p0, int64_t p1);   \
  void f32_relu_bwd_##isa(const float* y, const float* g, float* dz, int64_t n);              \
  void f32_direct_conv_fwd_##isa(const Conv2DShape& s, const float* src, const float* kernel, \
                                 const float* bias, int relu, float* dst, int64_t p0,          \
                                 int64_t p1);                                                  \
  void f32_direct_conv_bwd_weights_##isa(const Conv2DShape& s, const float* src,              \
                                         const float* ddst, const float* relu_y,               \
                                         float* dkernel, float* dbias, int64_t p0, int64_t p1);
NNFAST_DECLARE_DEPTHWISE(ref)
NNFAST_DECLARE_DEPTHWISE(avx2)
NNFAST_DECLARE_DEPTHWISE(avx512)
#undef NNFAST_DECLARE_DEPTHWISE

// Fused conv + relu + max-pool (nnfast::ConvPoolShape, direct-conv shapes only). Forward
// writes pooled pixels [q0, q1) (flattened over batch, pooled_h, pooled_w) and, unless
// argidx is null, their window argmax offsets; backward-weights accumulates the contribution
// of pooled pixels [q0, q1) into dkernel and dbias.
#define NNFAST_DECLARE_CONV_POOL(isa)                                                        \
  void f32_conv_relu_maxpool_fwd_##isa(const ConvPoolShape& s, const float* src,            \
                                       const float* kernel, const float* bias, float* pooled, \
                                       uint8_t* argidx, int64_t q0, int64_t q1);             \
  void f32_conv_relu_maxpool_bwd_weights_##isa(                                              \
      const ConvPoolShape& s, const float* src, const float* dpooled, const float* pooled,   \
      const uint8_t* argidx, float* dkernel, float* dbias, int64_t q0, int64_t q1);
// Register-blocked implicit-GEMM tile: out[i, o0 + o] for 14 pixels i < mr
// (any pixels: each has its own input pointers) and o < 32 (masked to nc <= 32 channels):
//   bias[o] + sum over taps t < ntaps and ci < in_c of x[t][i][ci] * kernel[tap[t]*in_c + ci]
// where x[t][i] points at pixel i's in_c input channels for that tap (a zero row where the tap
// falls outside the input) and kernel is (kh*kw*in_c, out_c) row-major. Written at
// dst + i*ldd, with relu when asked. bias may be nullptr.
constexpr int kConvTilePixels = 14;
// flags: kConvTileRelu clamps at 0 on the way out; kConvTileAccumulate starts from dst (a
// partial sum over earlier taps) instead of the bias.
constexpr int kConvTileRelu = 1;
constexpr int kConvTileAccumulate = 2;
using ConvTileFn = void (*)(const float* const* x, const int64_t* tap, int64_t ntaps,
                           int64_t in_c, const float* kernel, int64_t out_c, const float* bias,
                           int64_t o0, int64_t nc, int64_t mr, int flags, float* dst,
                           int64_t ldd);
void f32_conv_tile_avx512(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                          const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                          int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd);
// The same contract on AVX2 (conv_tile_avx2.cpp): sub-tiles of 6 pixels x 16 channels.
void f32_conv_tile_avx2(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                        const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                        int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd);
// The same contract in plain loops (conv_ref.cpp): the reference the vector tiles are tested
// against, and the tile of the Winograd products below AVX2.
void f32_conv_tile_ref(const float* const* x, const int64_t* tap, int64_t ntaps, int64_t in_c,
                       const float* kernel, int64_t out_c, const float* bias, int64_t o0,
                       int64_t nc, int64_t mr, int flags, float* dst, int64_t ldd);

NNFAST_DECLARE_CONV_POOL(ref)
NNFAST_DECLARE_CONV_POOL(avx2)
NNFAST_DECLARE_CONV_POOL(avx512)
#undef NNFAST_DECLARE_CONV_POOL

// Winograd F(2x2, 3x3) tile transforms over n channels (winograd_impl.h): a tile is 4x4
// input pixels and 2x2 output pixels; position p = 4*r + c of a transformed tile lies at
// base + p*ld. The f32_winograd4_* functions are F(4x4, 3x3)'s (winograd_f4_impl.h), with the
// same signatures: 6x6 input pixels, 4x4 output pixels, 36 positions p = 6*r + c. input: v = B^T d B of the 16 input rows d (a zero row where the patch leaves
// the input); output: the 4 rows y = A^T m A; gradient: g = A dy A^T of the 4 output-gradient
// rows dy. tmp is scratch of 16*n floats.
using WinogradInputFn = void (*)(const float* const* d, float* v, int64_t ldv, int64_t n,
                                 float* tmp);
using WinogradOutputFn = void (*)(const float* m, int64_t ldm, float* const* y, int64_t n,
                                  const float* bias, int relu, float* tmp);
using WinogradGradientFn = void (*)(const float* const* dy, float* g, int64_t ldg, int64_t n,
                                    float* tmp);
// kernel: u (16, plane) = G g G^T of each slice of g (3, 3, plane) (plane = in_c * out_c);
// kernel_gradient: g (3, 3, plane) = G^T du G of each slice of du (16, plane).
using WinogradKernelFn = void (*)(const float* g, int64_t plane, float* u);
using WinogradKernelGradientFn = void (*)(const float* du, int64_t plane, float* g);
// input_adjoint (F(4x4) only): d[p][i] += (B dv B^T)[p] for the 36 patch rows d (rows outside
// the input may all point at one scratch row), dv's position p at v + p*ldv.
using WinogradInputAdjointFn = void (*)(const float* v, int64_t ldv, float* const* d,
                                        int64_t n);
#define NNFAST_DECLARE_WINOGRAD(isa)                                                         \
  void f32_winograd_input_##isa(const float* const* d, float* v, int64_t ldv, int64_t n,    \
                                float* tmp);                                                 \
  void f32_winograd_output_##isa(const float* m, int64_t ldm, float* const* y, int64_t n,   \
                                 const float* bias, int relu, float* tmp);                   \
  void f32_winograd_gradient_##isa(const float* const* dy, float* g, int64_t ldg, int64_t n, \
                                   float* tmp);                                              \
  void f32_winograd_kernel_##isa(const float* g, int64_t plane, float* u);                   \
  void f32_winograd_kernel_gradient_##isa(const float* du, int64_t plane, float* g);          \
  void f32_winograd4_input_##isa(const float* const* d, float* v, int64_t ldv, int64_t n,   \
                                 float* tmp);                                                \
  void f32_winograd4_output_##isa(const float* m, int64_t ldm, float* const* y, int64_t n,  \
                                  const float* bias, int relu, float* tmp);                  \
  void f32_winograd4_gradient_##isa(const float* const* dy, float* g, int64_t ldg,          \
                                    int64_t n, float* tmp);                                  \
  void f32_winograd4_input_adjoint_##isa(const float* v, int64_t ldv, float* const* d,      \
                                         int64_t n);                                         \
  void f32_winograd4_kernel_##isa(const float* g, int64_t plane, float* u);                  \
  void f32_winograd4_kernel_gradient_##isa(const float* du, int64_t plane, float* g);
NNFAST_DECLARE_WINOGRAD(ref)
NNFAST_DECLARE_WINOGRAD(avx2)
NNFAST_DECLARE_WINOGRAD(avx512)
#undef NNFAST_DECLARE_WINOGRAD

}  // namespace nnfast::kernels
