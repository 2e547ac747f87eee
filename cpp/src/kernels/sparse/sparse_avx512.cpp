// AVX-512 sparse-input Dense kernels: 64 output columns (four zmm accumulators) stay in
// registers while a row's nonzeros stream past; masked lanes cover any width.
#include <immintrin.h>

#include "kernels/sparse/sparse_kernels.h"

namespace nnfast::kernels {
namespace {

inline __mmask16 lanes(int64_t rem) {
  return rem >= 16 ? static_cast<__mmask16>(0xFFFF)
                   : (rem <= 0 ? static_cast<__mmask16>(0)
                               : static_cast<__mmask16>((1u << rem) - 1u));
}

}  // namespace

int64_t f32_csr_scan_avx512(const float* x, int64_t rows, int64_t cols, int64_t max_nnz,
                            int64_t* indptr, int64_t* indices, float* values) {
  const __m512 zero = _mm512_setzero_ps();
  int64_t nnz = 0;
  indptr[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    for (int64_t j = 0; j < cols; j += 16) {
      const __mmask16 m = lanes(cols - j);
      // NEQ_UQ: NaN compares unequal to zero, so it is kept as in the dense product.
      unsigned bits = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, row + j), zero,
                                              _CMP_NEQ_UQ);
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

void f32_csr_gather_avx512(const int64_t* indptr, const int64_t* indices, const float* values,
                           int64_t r0, int64_t r1, const float* w, int64_t units,
                           const float* bias, float* y) {
  for (int64_t c = 0; c < units; c += 64) {
    const __mmask16 m0 = lanes(units - c), m1 = lanes(units - c - 16),
                    m2 = lanes(units - c - 32), m3 = lanes(units - c - 48);
    for (int64_t i = r0; i < r1; ++i) {
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const __m512 v = _mm512_set1_ps(values[k]);
        const float* wr = w + indices[k] * units + c;
        a0 = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m0, wr), a0);
        a1 = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m1, wr + 16), a1);
        a2 = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m2, wr + 32), a2);
        a3 = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m3, wr + 48), a3);
      }
      if (bias) {
        a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m0, bias + c));
        a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m1, bias + c + 16));
        a2 = _mm512_add_ps(a2, _mm512_maskz_loadu_ps(m2, bias + c + 32));
        a3 = _mm512_add_ps(a3, _mm512_maskz_loadu_ps(m3, bias + c + 48));
      }
      float* out = y + i * units + c;
      _mm512_mask_storeu_ps(out, m0, a0);
      _mm512_mask_storeu_ps(out + 16, m1, a1);
      _mm512_mask_storeu_ps(out + 32, m2, a2);
      _mm512_mask_storeu_ps(out + 48, m3, a3);
    }
  }
}

void f32_csr_scatter_avx512(const int64_t* indptr, const int64_t* indices, const float* values,
                            int64_t rows, const float* dy, int64_t units, int64_t c0, int64_t c1,
                            float* dw) {
  for (int64_t c = c0; c < c1; c += 64) {
    const __mmask16 m0 = lanes(c1 - c), m1 = lanes(c1 - c - 16), m2 = lanes(c1 - c - 32),
                    m3 = lanes(c1 - c - 48);
    for (int64_t i = 0; i < rows; ++i) {
      if (indptr[i] == indptr[i + 1]) continue;
      const float* g = dy + i * units + c;
      const __m512 g0 = _mm512_maskz_loadu_ps(m0, g), g1 = _mm512_maskz_loadu_ps(m1, g + 16),
                   g2 = _mm512_maskz_loadu_ps(m2, g + 32), g3 = _mm512_maskz_loadu_ps(m3, g + 48);
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
        const __m512 v = _mm512_set1_ps(values[k]);
        float* d = dw + indices[k] * units + c;
        _mm512_mask_storeu_ps(d, m0, _mm512_fmadd_ps(v, g0, _mm512_maskz_loadu_ps(m0, d)));
        _mm512_mask_storeu_ps(d + 16, m1,
                              _mm512_fmadd_ps(v, g1, _mm512_maskz_loadu_ps(m1, d + 16)));
        _mm512_mask_storeu_ps(d + 32, m2,
                              _mm512_fmadd_ps(v, g2, _mm512_maskz_loadu_ps(m2, d + 32)));
        _mm512_mask_storeu_ps(d + 48, m3,
                              _mm512_fmadd_ps(v, g3, _mm512_maskz_loadu_ps(m3, d + 48)));
      }
    }
  }
}

}  // namespace nnfast::kernels
