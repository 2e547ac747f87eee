// The sparse-input Dense kernels (sparse_kernels.h) over the shared vector vocabulary
// (kernels/simd_math.h), included by sparse_avx2.cpp / sparse_avx512.cpp after their
// simd_<isa>.h: 4*W output columns (four accumulators) stay in registers while a row's
// nonzeros stream past; masked lanes cover any width.
#pragma once
#include "kernels/sparse/sparse_kernels.h"

namespace nnfast::kernels {
namespace {

inline int64_t csr_scan_simd(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                             int64_t* indptr, int64_t* indices, float* values) {
  int64_t nnz = 0;
  indptr[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    for (int64_t j = 0; j < cols; j += W) {
      const int64_t n = clamp_lanes(cols - j);
      // vne is unordered: NaN compares unequal to zero, so it is kept as in the dense product.
      unsigned bits = vmovemask(vm_and(vne(vload_n(row + j, n), vzero()), vfirst(n)));
      while (bits) {
        if (nnz == max_nnz) return -1;
        const int b = __builtin_ctz(bits);
        indices[nnz] = j + b;
        values[nnz++] = row[j + b];
        bits &= bits - 1;
      }
    }
    indptr[i + 1] = nnz;
  }
  return nnz;
}

inline void csr_gather_simd(const int64_t* indptr, const int64_t* indices, const float* values,
                            int64_t r0, int64_t r1, const float* w, int64_t units,
                            const float* bias, float* y) {
  for (int64_t c = 0; c < units; c += 4 * W) {
    const int64_t n0 = clamp_lanes(units - c), n1 = clamp_lanes(units - c - W),
                  n2 = clamp_lanes(units - c - 2 * W), n3 = clamp_lanes(units - c - 3 * W);
    for (int64_t i = r0; i < r1; ++i) {
      VF a0 = vzero(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const VF v = vset1(values[k]);
        const float* wr = w + indices[k] * units + c;
        a0 = vfmadd(v, vload_n(wr, n0), a0);
        a1 = vfmadd(v, vload_n(wr + W, n1), a1);
        a2 = vfmadd(v, vload_n(wr + 2 * W, n2), a2);
        a3 = vfmadd(v, vload_n(wr + 3 * W, n3), a3);
      }
      if (bias) {
        a0 = vadd(a0, vload_n(bias + c, n0));
        a1 = vadd(a1, vload_n(bias + c + W, n1));
        a2 = vadd(a2, vload_n(bias + c + 2 * W, n2));
        a3 = vadd(a3, vload_n(bias + c + 3 * W, n3));
      }
      float* out = y + i * units + c;
      vstore_n(out, a0, n0);
      vstore_n(out + W, a1, n1);
      vstore_n(out + 2 * W, a2, n2);
      vstore_n(out + 3 * W, a3, n3);
    }
  }
}

inline void csr_scatter_simd(const int64_t* indptr, const int64_t* indices, const float* values,
                             int64_t rows, const float* dy, int64_t units, int64_t c0,
                             int64_t c1, float* dw) {
  for (int64_t c = c0; c < c1; c += 4 * W) {
    const int64_t n0 = clamp_lanes(c1 - c), n1 = clamp_lanes(c1 - c - W),
                  n2 = clamp_lanes(c1 - c - 2 * W), n3 = clamp_lanes(c1 - c - 3 * W);
    for (int64_t i = 0; i < rows; ++i) {
      if (indptr[i] == indptr[i + 1]) continue;
      const float* g = dy + i * units + c;
      const VF g0 = vload_n(g, n0), g1 = vload_n(g + W, n1), g2 = vload_n(g + 2 * W, n2),
               g3 = vload_n(g + 3 * W, n3);
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const VF v = vset1(values[k]);
        float* d = dw + indices[k] * units + c;
        vstore_n(d, vfmadd(v, g0, vload_n(d, n0)), n0);
        vstore_n(d + W, vfmadd(v, g1, vload_n(d + W, n1)), n1);
        vstore_n(d + 2 * W, vfmadd(v, g2, vload_n(d + 2 * W, n2)), n2);
        vstore_n(d + 3 * W, vfmadd(v, g3, vload_n(d + 3 * W, n3)), n3);
      }
    }
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_SPARSE_SIMD(isa)                                                         \
  namespace nnfast::kernels {                                                                  \
  int64_t f32_csr_scan_##isa(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,      \
                             int64_t* indptr, int64_t* indices, float* values) {               \
    return csr_scan_simd(x, rows, cols, max_nnz, indptr, indices, values);                     \
  }                                                                                            \
  void f32_csr_gather_##isa(const int64_t* indptr, const int64_t* indices,                     \
                            const float* values, int64_t r0, int64_t r1, const float* w,       \
                            int64_t units, const float* bias, float* y) {                      \
    csr_gather_simd(indptr, indices, values, r0, r1, w, units, bias, y);                       \
  }                                                                                            \
  void f32_csr_scatter_##isa(const int64_t* indptr, const int64_t* indices,                    \
                             const float* values, int64_t rows, const float* dy,               \
                             int64_t units, int64_t c0, int64_t c1, float* dw) {               \
    csr_scatter_simd(indptr, indices, values, rows, dy, units, c0, c1, dw);                    \
  }                                                                                            \
  }
