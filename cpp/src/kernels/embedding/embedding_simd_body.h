// The vectorized embedding row kernels, written once over the shared vector vocabulary
// (kernels/simd_math.h) that embedding_avx2.cpp / embedding_avx512.cpp include first.
// Rows of an Embedding are short (16-512 floats): an inline vector copy per row replaces a
// memcpy call per row in the gather; the scatter-adds keep the reference's order (ids
// ascending), so they give the reference's bits (the slot shift's multiply-subtract may be
// fused by the compiler, the squares' multiply-add is: within an ulp of the reference).
#pragma once
#include "kernels/embedding/embedding_kernels.h"

namespace nnfast::kernels {
namespace {

void gather(const float* table, int64_t dim, const int64_t* ids, int64_t begin, int64_t end,
            float* dst) {
  for (int64_t i = begin; i < end; ++i) {
    const float* src = table + ids[i] * dim;
    float* out = dst + i * dim;
    for_lanes(dim, [&](int64_t j, int64_t m, auto tag) { st(tag, out + j, ld(tag, src + j, m), m); });
  }
}

void scatter_add(const float* ddst, const int64_t* ids, int64_t n, int64_t dim, int64_t c0,
                 int64_t c1, float* dtable) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = dtable + ids[i] * dim + c0;
    const float* g = ddst + i * dim + c0;
    for_lanes(c1 - c0, [&](int64_t j, int64_t m, auto tag) {
      st(tag, row + j, vadd(ld(tag, row + j, m), ld(tag, g + j, m)), m);
    });
  }
}

void clear_rows(const int64_t* ids, int64_t n, int64_t dim, int64_t c0, int64_t c1,
                float* dtable) {
  for (int64_t i = 0; i < n; ++i) {
    float* row = dtable + ids[i] * dim + c0;
    for_lanes(c1 - c0, [&](int64_t j, int64_t m, auto tag) { st(tag, row + j, vzero(), m); });
  }
}

void shift_square_rows(const int64_t* ids, int64_t n, int64_t dim, int64_t c0, int64_t c1,
                       const float* g, const float* squares, float factor, float* slot) {
  const VF f = vset1(factor);
  for (int64_t i = 0; i < n; ++i) {
    float* row = slot + ids[i] * dim + c0;
    const float* gi = g + i * dim + c0;
    const float* qi = squares + i * dim + c0;
    for_lanes(c1 - c0, [&](int64_t j, int64_t m, auto tag) {
      const VF v = ld(tag, gi + j, m);
      const VF d = vmul(vsub(ld(tag, qi + j, m), vmul(v, v)), f);
      st(tag, row + j, vadd(ld(tag, row + j, m), d), m);
    });
  }
}

void scatter_add_squares(const float* g, const int32_t* rows, int64_t n, int64_t dim, int64_t c0,
                         int64_t c1, float* sums, float* squares) {
  for (int64_t i = 0; i < n; ++i) {
    float* s = sums + int64_t(rows[i]) * dim + c0;
    float* q = squares + int64_t(rows[i]) * dim + c0;
    const float* gi = g + i * dim + c0;
    for_lanes(c1 - c0, [&](int64_t j, int64_t m, auto tag) {
      const VF v = ld(tag, gi + j, m);
      st(tag, s + j, vadd(ld(tag, s + j, m), v), m);
      st(tag, q + j, vfmadd(v, v, ld(tag, q + j, m)), m);
    });
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_EMBEDDING_SIMD(isa)                                                      \
  namespace nnfast::kernels {                                                                  \
  const EmbeddingKernels f32_embedding_##isa = {gather, scatter_add, clear_rows,               \
                                                shift_square_rows, scatter_add_squares};       \
  }
