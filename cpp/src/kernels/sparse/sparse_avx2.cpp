// AVX2 sparse-input Dense kernels: 32 output columns (four ymm accumulators) stay in
// registers while a row's nonzeros stream past; maskload/maskstore cover any width.
#include <immintrin.h>

#include "kernels/sparse/sparse_kernels.h"

namespace nnfast::kernels {
namespace {

// All-ones lanes for the first `rem` of 8 (rem clamped to [0, 8]).
inline __m256i lanes(int64_t rem) {
  const int r = rem >= 8 ? 8 : (rem <= 0 ? 0 : static_cast<int>(rem));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

int64_t f32_csr_scan_avx2(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                          int64_t* indptr, int64_t* indices, float* values) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t nnz = 0;
  indptr[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    for (int64_t j = 0; j < cols; j += 8) {
      const __m256i m = lanes(cols - j);
      const __m256 v = _mm256_maskload_ps(row + j, m);
      // NEQ_UQ: NaN compares unequal to zero, so it is kept as in the dense product.
      unsigned bits = static_cast<unsigned>(
          _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ),
                                           _mm256_castsi256_ps(m))));
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

void f32_csr_gather_avx2(const int64_t* indptr, const int64_t* indices, const float* values,
                         int64_t r0, int64_t r1, const float* w, int64_t units,
                         const float* bias, float* y) {
  for (int64_t c = 0; c < units; c += 32) {
    const __m256i m0 = lanes(units - c), m1 = lanes(units - c - 8), m2 = lanes(units - c - 16),
                  m3 = lanes(units - c - 24);
    for (int64_t i = r0; i < r1; ++i) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const __m256 v = _mm256_set1_ps(values[k]);
        const float* wr = w + indices[k] * units + c;
        a0 = _mm256_fmadd_ps(v, _mm256_maskload_ps(wr, m0), a0);
        a1 = _mm256_fmadd_ps(v, _mm256_maskload_ps(wr + 8, m1), a1);
        a2 = _mm256_fmadd_ps(v, _mm256_maskload_ps(wr + 16, m2), a2);
        a3 = _mm256_fmadd_ps(v, _mm256_maskload_ps(wr + 24, m3), a3);
      }
      if (bias) {
        a0 = _mm256_add_ps(a0, _mm256_maskload_ps(bias + c, m0));
        a1 = _mm256_add_ps(a1, _mm256_maskload_ps(bias + c + 8, m1));
        a2 = _mm256_add_ps(a2, _mm256_maskload_ps(bias + c + 16, m2));
        a3 = _mm256_add_ps(a3, _mm256_maskload_ps(bias + c + 24, m3));
      }
      float* out = y + i * units + c;
      _mm256_maskstore_ps(out, m0, a0);
      _mm256_maskstore_ps(out + 8, m1, a1);
      _mm256_maskstore_ps(out + 16, m2, a2);
      _mm256_maskstore_ps(out + 24, m3, a3);
    }
  }
}

void f32_csr_scatter_avx2(const int64_t* indptr, const int64_t* indices, const float* values,
                          int64_t rows, const float* dy, int64_t units, int64_t c0, int64_t c1,
                          float* dw) {
  for (int64_t c = c0; c < c1; c += 32) {
    const __m256i m0 = lanes(c1 - c), m1 = lanes(c1 - c - 8), m2 = lanes(c1 - c - 16),
                  m3 = lanes(c1 - c - 24);
    for (int64_t i = 0; i < rows; ++i) {
      if (indptr[i] == indptr[i + 1]) continue;
      const float* g = dy + i * units + c;
      const __m256 g0 = _mm256_maskload_ps(g, m0), g1 = _mm256_maskload_ps(g + 8, m1),
                   g2 = _mm256_maskload_ps(g + 16, m2), g3 = _mm256_maskload_ps(g + 24, m3);
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const __m256 v = _mm256_set1_ps(values[k]);
        float* d = dw + indices[k] * units + c;
        _mm256_maskstore_ps(d, m0, _mm256_fmadd_ps(v, g0, _mm256_maskload_ps(d, m0)));
        _mm256_maskstore_ps(d + 8, m1, _mm256_fmadd_ps(v, g1, _mm256_maskload_ps(d + 8, m1)));
        _mm256_maskstore_ps(d + 16, m2, _mm256_fmadd_ps(v, g2, _mm256_maskload_ps(d + 16, m2)));
        _mm256_maskstore_ps(d + 24, m3, _mm256_fmadd_ps(v, g3, _mm256_maskload_ps(d + 24, m3)));
      }
    }
  }
}

}  // namespace nnfast::kernels
