// Body of the Winograd F(4x4, 3x3) tile transforms, compiled once per ISA beside the F(2x2)
// ones (winograd_ref.cpp, winograd_avx2.cpp and winograd_avx512.cpp include this file), so the
// compiler vectorises the channel loops for that file's instruction set.
//
// A tile is 6x6 input pixels producing 4x4 output pixels (interpolation points 0, 1, -1, 2,
// -2 and infinity):
//   input:    V = B^T d B   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
//                                  0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
//   output:   Y = A^T M A   A^T = [1 1  1 1  1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
//   gradient: M = A dY A^T  (the output gradient of a tile, for both gradients)
//   input adjoint: dd += B dV B^T (a tile's input gradient, from its transform's gradient)
//   kernel:   U = G g G^T   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
//                                1/24 -1/12 1/6; 0 0 1], and its adjoint G^T dU G
// each applied down the columns of the tile, then along its rows, channel by channel.
// NOTE: 36 products per 16 outputs instead of F(2x2)'s 16 per 4 (and 9*16 direct): 1.78x
// fewer than F(2x2), at the price of larger transform constants (rounding grows a few times;
// the tests bound it against float64).
#pragma once
#include <stdint.h>

namespace nnfast::kernels {
namespace {

// o[0..5] = B^T (x[0..5]).
inline __attribute__((always_inline)) void winograd4_bt(const float* x, float* o) {
  const float a = x[4] - 4.0f * x[2], b = x[3] - 4.0f * x[1];
  const float c = x[4] - x[2], d = 2.0f * (x[3] - x[1]);
  o[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
  o[1] = a + b;
  o[2] = a - b;
  o[3] = c + d;
  o[4] = c - d;
  o[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];
}

// o[0..5] = B (x[0..5]): the adjoint of winograd4_bt.
inline __attribute__((always_inline)) void winograd4_b(const float* x, float* o) {
  const float s12 = x[1] + x[2], d12 = x[2] - x[1], s34 = x[3] + x[4], d34 = x[3] - x[4];
  o[0] = 4.0f * x[0];
  o[1] = 4.0f * d12 - 2.0f * d34 + 4.0f * x[5];
  o[2] = -5.0f * x[0] - 4.0f * s12 - s34;
  o[3] = 2.0f * d34 - d12 - 5.0f * x[5];
  o[4] = x[0] + s12 + s34;
  o[5] = x[5];
}

// o[0..3] = A^T (x[0..5]).
inline __attribute__((always_inline)) void winograd4_at(const float* x, float* o) {
  const float s1 = x[1] + x[2], d1 = x[1] - x[2], s2 = x[3] + x[4], d2 = x[3] - x[4];
  o[0] = x[0] + s1 + s2;
  o[1] = d1 + 2.0f * d2;
  o[2] = s1 + 4.0f * s2;
  o[3] = d1 + 8.0f * d2 + x[5];
}

// o[0..5] = A (x[0..3]).
inline __attribute__((always_inline)) void winograd4_a(const float* x, float* o) {
  const float e = x[0] + x[2], f = x[1] + x[3], g = x[0] + 4.0f * x[2],
              h = 2.0f * x[1] + 8.0f * x[3];
  o[0] = x[0];
  o[1] = e + f;
  o[2] = e - f;
  o[3] = g + h;
  o[4] = g - h;
  o[5] = x[3];
}

// o[0..5] = G (x[0..2]).
inline __attribute__((always_inline)) void winograd4_g(const float* x, float* o) {
  const float s = x[0] + x[2];
  o[0] = 0.25f * x[0];
  o[1] = (-1.0f / 6.0f) * (s + x[1]);
  o[2] = (-1.0f / 6.0f) * (s - x[1]);
  o[3] = (1.0f / 24.0f) * x[0] + (1.0f / 12.0f) * x[1] + (1.0f / 6.0f) * x[2];
  o[4] = (1.0f / 24.0f) * x[0] - (1.0f / 12.0f) * x[1] + (1.0f / 6.0f) * x[2];
  o[5] = x[2];
}

// o[0..2] = G^T (x[0..5]).
inline __attribute__((always_inline)) void winograd4_gt(const float* x, float* o) {
  const float s12 = x[1] + x[2], d12 = x[2] - x[1], s34 = x[3] + x[4], d34 = x[3] - x[4];
  o[0] = 0.25f * x[0] - (1.0f / 6.0f) * s12 + (1.0f / 24.0f) * s34;
  o[1] = (1.0f / 6.0f) * d12 + (1.0f / 12.0f) * d34;
  o[2] = (1.0f / 6.0f) * (s34 - s12) + x[5];
}

// v + p*ldv (p = 6*r + c) receives position (r, c) of B^T d B; d[6*r + c] is the patch's
// pixel (r, c).
inline void winograd4_input_impl(const float* const* d, float* v, int64_t ldv, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    float t[6][6];  // t[r][c] = (B^T d)[r][c]
#pragma GCC unroll 6
    for (int64_t c = 0; c < 6; ++c) {
      float col[6], o[6];
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) col[r] = d[6 * r + c][i];
      winograd4_bt(col, o);
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) t[r][c] = o[r];
    }
#pragma GCC unroll 6
    for (int64_t r = 0; r < 6; ++r) {
      float o[6];
      winograd4_bt(t[r], o);
#pragma GCC unroll 6
      for (int64_t c = 0; c < 6; ++c) v[(6 * r + c) * ldv + i] = o[c];
    }
  }
}

// d[6*r + c] (a patch's pixel rows, as for the input transform) accumulates position (r, c) of
// B dV B^T, dV's position p at v + p*ldv: the input gradient of one tile from the gradient of
// its transform. Pixels of overlapping patches receive each tile's share in turn.
inline void winograd4_input_adjoint_impl(const float* v, int64_t ldv, float* const* d,
                                         int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    float t[6][6];  // t[r][c] = (B dV)[r][c]
#pragma GCC unroll 6
    for (int64_t c = 0; c < 6; ++c) {
      float col[6], o[6];
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) col[r] = v[(6 * r + c) * ldv + i];
      winograd4_b(col, o);
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) t[r][c] = o[r];
    }
#pragma GCC unroll 6
    for (int64_t r = 0; r < 6; ++r) {
      float o[6];
      winograd4_b(t[r], o);
#pragma GCC unroll 6
      for (int64_t c = 0; c < 6; ++c) d[6 * r + c][i] += o[c];
    }
  }
}

// y[4*r + c] receives output pixel (r, c) of A^T M A (+ bias, then relu when asked), M's
// position p at m + p*ldm.
inline void winograd4_output_impl(const float* m, int64_t ldm, float* const* y, int64_t n,
                                  const float* bias, int relu) {
  const float lo = relu ? 0.0f : -__builtin_inff();
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    float t[4][6];  // t[r][c] = (A^T M)[r][c]
#pragma GCC unroll 6
    for (int64_t c = 0; c < 6; ++c) {
      float col[6], o[4];
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) col[r] = m[(6 * r + c) * ldm + i];
      winograd4_at(col, o);
#pragma GCC unroll 6
      for (int64_t r = 0; r < 4; ++r) t[r][c] = o[r];
    }
    const float b = bias ? bias[i] : 0.0f;
#pragma GCC unroll 6
    for (int64_t r = 0; r < 4; ++r) {
      float o[4];
      winograd4_at(t[r], o);
#pragma GCC unroll 6
      for (int64_t c = 0; c < 4; ++c) {
        const float x = o[c] + b;
        y[4 * r + c][i] = x > lo ? x : lo;
      }
    }
  }
}

// g + p*ldg receives position p of A dY A^T; dy[4*r + c] is the output gradient of pixel
// (r, c).
inline void winograd4_gradient_impl(const float* const* dy, float* g, int64_t ldg, int64_t n) {
#pragma GCC ivdep
  for (int64_t i = 0; i < n; ++i) {
    float t[6][4];  // t[r][c] = (A dY)[r][c]
#pragma GCC unroll 6
    for (int64_t c = 0; c < 4; ++c) {
      float col[4], o[6];
#pragma GCC unroll 6
      for (int64_t r = 0; r < 4; ++r) col[r] = dy[4 * r + c][i];
      winograd4_a(col, o);
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) t[r][c] = o[r];
    }
#pragma GCC unroll 6
    for (int64_t r = 0; r < 6; ++r) {
      float o[6];
      winograd4_a(t[r], o);
#pragma GCC unroll 6
      for (int64_t c = 0; c < 6; ++c) g[(6 * r + c) * ldg + i] = o[c];
    }
  }
}

// u + p*plane receives position p of G g G^T for each 3x3 slice e of g (tap k at
// g[k*plane + e]).
inline void winograd4_kernel_impl(const float* g, int64_t plane, float* u) {
#pragma GCC ivdep
  for (int64_t e = 0; e < plane; ++e) {
    float t[6][3];  // t[r][c] = (G g)[r][c]
#pragma GCC unroll 6
    for (int64_t c = 0; c < 3; ++c) {
      float col[3], o[6];
#pragma GCC unroll 6
      for (int64_t r = 0; r < 3; ++r) col[r] = g[(3 * r + c) * plane + e];
      winograd4_g(col, o);
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) t[r][c] = o[r];
    }
#pragma GCC unroll 6
    for (int64_t r = 0; r < 6; ++r) {
      float o[6];
      winograd4_g(t[r], o);
#pragma GCC unroll 6
      for (int64_t c = 0; c < 6; ++c) u[(6 * r + c) * plane + e] = o[c];
    }
  }
}

// g (3, 3, plane) receives G^T du G of each slice of du (36, plane).
inline void winograd4_kernel_gradient_impl(const float* du, int64_t plane, float* g) {
#pragma GCC ivdep
  for (int64_t e = 0; e < plane; ++e) {
    float t[3][6];  // t[r][c] = (G^T dU)[r][c]
#pragma GCC unroll 6
    for (int64_t c = 0; c < 6; ++c) {
      float col[6], o[3];
#pragma GCC unroll 6
      for (int64_t r = 0; r < 6; ++r) col[r] = du[(6 * r + c) * plane + e];
      winograd4_gt(col, o);
#pragma GCC unroll 6
      for (int64_t r = 0; r < 3; ++r) t[r][c] = o[r];
    }
#pragma GCC unroll 6
    for (int64_t r = 0; r < 3; ++r) {
      float o[3];
      winograd4_gt(t[r], o);
#pragma GCC unroll 6
      for (int64_t c = 0; c < 3; ++c) g[(3 * r + c) * plane + e] = o[c];
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_WINOGRAD_F4(isa)                                                       \
  namespace nnfast::kernels {                                                                \
  void f32_winograd4_input_##isa(const float* const* d, float* v, int64_t ldv, int64_t n,   \
                                 float* tmp) {                                               \
    (void)tmp;                                                                               \
    winograd4_input_impl(d, v, ldv, n);                                                      \
  }                                                                                          \
  void f32_winograd4_output_##isa(const float* m, int64_t ldm, float* const* y, int64_t n,  \
                                  const float* bias, int relu, float* tmp) {                 \
    (void)tmp;                                                                               \
    winograd4_output_impl(m, ldm, y, n, bias, relu);                                         \
  }                                                                                          \
  void f32_winograd4_gradient_##isa(const float* const* dy, float* g, int64_t ldg,          \
                                    int64_t n, float* tmp) {                                 \
    (void)tmp;                                                                               \
    winograd4_gradient_impl(dy, g, ldg, n);                                                  \
  }                                                                                          \
  void f32_winograd4_input_adjoint_##isa(const float* v, int64_t ldv, float* const* d,      \
                                         int64_t n) {                                        \
    winograd4_input_adjoint_impl(v, ldv, d, n);                                              \
  }                                                                                          \
  void f32_winograd4_kernel_##isa(const float* g, int64_t plane, float* u) {                 \
    winograd4_kernel_impl(g, plane, u);                                                      \
  }                                                                                          \
  void f32_winograd4_kernel_gradient_##isa(const float* du, int64_t plane, float* g) {       \
    winograd4_kernel_gradient_impl(du, plane, g);                                            \
  }                                                                                          \
  }
