// Body of the Winograd F(2x2, 3x3) tile transforms, compiled once per ISA: winograd_ref.cpp,
// winograd_avx2.cpp and winograd_avx512.cpp include this file and wrap these internal-linkage
// functions, so the compiler vectorises the channel loops for that file's instruction set.
//
// A tile is 4x4 input pixels (rows of n channels, NHWC) producing 2x2 output pixels:
//   input:    V = B^T d B,  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   output:   Y = A^T M A,  A^T = [1 1 1 0; 0 1 -1 -1]
//   gradient: M = A dY A^T (the output gradient of a tile, for the kernel gradient)
//   kernel:   U = G g G^T of each 3x3 kernel slice, and its adjoint G^T dU G
// each applied to the rows of the tile, then to its columns, channel by channel.
// NOTE: plain C loops only (no std:: templates), as ISA files require. One loop over the
// channels per tile, so the whole 4x4 tile stays in vector registers.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {
namespace {

// v + p*ldv (p = 4*r + c) receives position (r, c) of B^T d B; d[4*r + c] is the patch's
// pixel (r, c). One pass over the channels, the whole tile in registers per channel vector.
inline void winograd_input_impl(const float* const* d, float* v, int64_t ldv, int64_t n,
                                float* tmp) {
  (void)tmp;
  const float *d0 = d[0], *d1 = d[1], *d2 = d[2], *d3 = d[3], *d4 = d[4], *d5 = d[5],
              *d6 = d[6], *d7 = d[7], *d8 = d[8], *d9 = d[9], *d10 = d[10], *d11 = d[11],
              *d12 = d[12], *d13 = d[13], *d14 = d[14], *d15 = d[15];
  // NOTE: the rows never overlap v (the caller's scratch): ivdep lets the loop vectorise
  // without 16 x 16 runtime alias checks.
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    // Down each column c: t[r][c] = (B^T d)[r][c].
    const float t00 = d0[i] - d8[i], t01 = d1[i] - d9[i], t02 = d2[i] - d10[i],
                t03 = d3[i] - d11[i];
    const float t10 = d4[i] + d8[i], t11 = d5[i] + d9[i], t12 = d6[i] + d10[i],
                t13 = d7[i] + d11[i];
    const float t20 = d8[i] - d4[i], t21 = d9[i] - d5[i], t22 = d10[i] - d6[i],
                t23 = d11[i] - d7[i];
    const float t30 = d4[i] - d12[i], t31 = d5[i] - d13[i], t32 = d6[i] - d14[i],
                t33 = d7[i] - d15[i];
    // Along each row: v[r][:] = t[r][:] B.
    v[0 * ldv + i] = t00 - t02;
    v[1 * ldv + i] = t01 + t02;
    v[2 * ldv + i] = t02 - t01;
    v[3 * ldv + i] = t01 - t03;
    v[4 * ldv + i] = t10 - t12;
    v[5 * ldv + i] = t11 + t12;
    v[6 * ldv + i] = t12 - t11;
    v[7 * ldv + i] = t11 - t13;
    v[8 * ldv + i] = t20 - t22;
    v[9 * ldv + i] = t21 + t22;
    v[10 * ldv + i] = t22 - t21;
    v[11 * ldv + i] = t21 - t23;
    v[12 * ldv + i] = t30 - t32;
    v[13 * ldv + i] = t31 + t32;
    v[14 * ldv + i] = t32 - t31;
    v[15 * ldv + i] = t31 - t33;
  }
}

// y[2*r + c] receives output pixel (r, c) of A^T M A (+ bias, then relu when asked), M's
// position p at m + p*ldm.
inline void winograd_output_impl(const float* m, int64_t ldm, float* const* y, int64_t n,
                                 const float* bias, int relu, float* tmp) {
  (void)tmp;
  float *y0 = y[0], *y1 = y[1], *y2 = y[2], *y3 = y[3];
  const float lo = relu ? 0.0f : -__builtin_inff();
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    float mm[16];
    for (int64_t p = 0; p < 16; ++p) mm[p] = m[p * ldm + i];
    // t[r][c] = (A^T M)[r][c], r < 2.
    const float t00 = mm[0] + mm[4] + mm[8], t01 = mm[1] + mm[5] + mm[9],
                t02 = mm[2] + mm[6] + mm[10], t03 = mm[3] + mm[7] + mm[11];
    const float t10 = mm[4] - mm[8] - mm[12], t11 = mm[5] - mm[9] - mm[13],
                t12 = mm[6] - mm[10] - mm[14], t13 = mm[7] - mm[11] - mm[15];
    const float b = bias ? bias[i] : 0.0f;
    const float o00 = t00 + t01 + t02 + b, o01 = t01 - t02 - t03 + b;
    const float o10 = t10 + t11 + t12 + b, o11 = t11 - t12 - t13 + b;
    y0[i] = o00 > lo ? o00 : lo;
    y1[i] = o01 > lo ? o01 : lo;
    y2[i] = o10 > lo ? o10 : lo;
    y3[i] = o11 > lo ? o11 : lo;
  }
}

// g + p*ldg receives position p of A dY A^T; dy[2*r + c] is the output gradient of pixel
// (r, c).
inline void winograd_gradient_impl(const float* const* dy, float* g, int64_t ldg, int64_t n,
                                   float* tmp) {
  (void)tmp;
  const float *a = dy[0], *b = dy[1], *c = dy[2], *d = dy[3];
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    // Rows: t[r][:] = A (dY[r][0], dY[r][1]) = (y0, y0 + y1, y0 - y1, -y1).
    const float t00 = a[i], t01 = a[i] + b[i], t02 = a[i] - b[i], t03 = -b[i];
    const float t10 = c[i], t11 = c[i] + d[i], t12 = c[i] - d[i], t13 = -d[i];
    // Columns: g[:][j] = A (t[0][j], t[1][j]).
    g[0 * ldg + i] = t00;
    g[1 * ldg + i] = t01;
    g[2 * ldg + i] = t02;
    g[3 * ldg + i] = t03;
    g[4 * ldg + i] = t00 + t10;
    g[5 * ldg + i] = t01 + t11;
    g[6 * ldg + i] = t02 + t12;
    g[7 * ldg + i] = t03 + t13;
    g[8 * ldg + i] = t00 - t10;
    g[9 * ldg + i] = t01 - t11;
    g[10 * ldg + i] = t02 - t12;
    g[11 * ldg + i] = t03 - t13;
    g[12 * ldg + i] = -t10;
    g[13 * ldg + i] = -t11;
    g[14 * ldg + i] = -t12;
    g[15 * ldg + i] = -t13;
  }
}

// u + p*plane receives position p of G g G^T for each of the `plane` (ci, co) 3x3 slices of
// g (3, 3, plane) -- tap k of slice e at g[k*plane + e]; G = [1 0 0; 1/2 1/2 1/2;
// 1/2 -1/2 1/2; 0 0 1]. One pass over the slices, vectorised across them.
inline void winograd_kernel_impl(const float* g, int64_t plane, float* u) {
#pragma GCC ivdep
  for (int64_t e = 0; e < plane; ++e) {
    float w[9];
    for (int64_t k = 0; k < 9; ++k) w[k] = g[k * plane + e];
    // Down each column j: t[i][j] = (G g)[i][j].
    float t[4][3];
    for (int64_t j = 0; j < 3; ++j) {
      t[0][j] = w[j];
      t[1][j] = 0.5f * (w[j] + w[3 + j] + w[6 + j]);
      t[2][j] = 0.5f * (w[j] - w[3 + j] + w[6 + j]);
      t[3][j] = w[6 + j];
    }
    // Along each row: u[i][:] = t[i][:] G^T.
    for (int64_t i = 0; i < 4; ++i) {
      u[(4 * i + 0) * plane + e] = t[i][0];
      u[(4 * i + 1) * plane + e] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
      u[(4 * i + 2) * plane + e] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
      u[(4 * i + 3) * plane + e] = t[i][2];
    }
  }
}

// g (3, 3, plane) receives G^T du G of each slice of du (16, plane): the kernel gradient from
// the gradient of its transform.
inline void winograd_kernel_gradient_impl(const float* du, int64_t plane, float* g) {
#pragma GCC ivdep
  for (int64_t e = 0; e < plane; ++e) {
    float m[16];
    for (int64_t p = 0; p < 16; ++p) m[p] = du[p * plane + e];
    // G^T (u0, u1, u2, u3) = (u0 + (u1 + u2)/2, (u1 - u2)/2, (u1 + u2)/2 + u3), down each
    // column, then along each row.
    float t[3][4];
    for (int64_t j = 0; j < 4; ++j) {
      const float s = 0.5f * (m[4 + j] + m[8 + j]);
      t[0][j] = m[j] + s;
      t[1][j] = 0.5f * (m[4 + j] - m[8 + j]);
      t[2][j] = s + m[12 + j];
    }
    for (int64_t i = 0; i < 3; ++i) {
      const float s = 0.5f * (t[i][1] + t[i][2]);
      g[(3 * i + 0) * plane + e] = t[i][0] + s;
      g[(3 * i + 1) * plane + e] = 0.5f * (t[i][1] - t[i][2]);
      g[(3 * i + 2) * plane + e] = s + t[i][3];
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_WINOGRAD(isa)                                                          \
  namespace nnfast::kernels {                                                                \
  void f32_winograd_input_##isa(const float* const* d, float* v, int64_t ldv, int64_t n,    \
                                float* tmp) {                                                \
    winograd_input_impl(d, v, ldv, n, tmp);                                                  \
  }                                                                                          \
  void f32_winograd_output_##isa(const float* m, int64_t ldm, float* const* y, int64_t n,   \
                                 const float* bias, int relu, float* tmp) {                  \
    winograd_output_impl(m, ldm, y, n, bias, relu, tmp);                                     \
  }                                                                                          \
  void f32_winograd_gradient_##isa(const float* const* dy, float* g, int64_t ldg, int64_t n, \
                                   float* tmp) {                                             \
    winograd_gradient_impl(dy, g, ldg, n, tmp);                                              \
  }                                                                                          \
  void f32_winograd_kernel_##isa(const float* g, int64_t plane, float* u) {                  \
    winograd_kernel_impl(g, plane, u);                                                       \
  }                                                                                          \
  void f32_winograd_kernel_gradient_##isa(const float* du, int64_t plane, float* g) {        \
    winograd_kernel_gradient_impl(du, plane, g);                                             \
  }                                                                                          \
  }
