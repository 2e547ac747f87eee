// AVX-512 versions of the int8 dense step's row work: Keras's abs-max quantization of a float
// row and the dequantizing epilogue of an int32 row. Bit-identical to the scalar loops in
// ops/gemm_int8.cpp (max is exact in any order; roundscale rounds half to even like
// nearbyint; the multiply and divide are single IEEE operations in the same order).
// NOTE: GCC 12 warns that intrinsics with an _mm512_undefined_*() pass-through read it
// uninitialized (never, with a full mask): a false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cfloat>

#include "kernels/gemm/gemm_int8_kernels.h"

namespace nnfast::kernels {
namespace {

inline __mmask16 head_mask(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xFFFF)
                     : static_cast<__mmask16>((1u << count) - 1u);
}

}  // namespace

namespace {

// Rows [0, R) of x (stride ldx) quantized into dst (stride kp): the R max passes, then the R
// scales, then the R quantizing passes, so the rows' dependency chains (max, reduce, divide,
// quantize) run side by side. Clamped then rounded (cvtps2dq, round half to even): the same
// as rounded then clamped, +-127 being integers; a NaN stays NaN through max/min and converts
// to the same byte as before.
template <int R>
inline void quantize_rows(const float* x, int64_t ldx, int64_t k, int64_t kp, float epsilon,
                          int8_t flip, int8_t* dst, float* scale, char* finite) {
  const __m512 big = _mm512_set1_ps(FLT_MAX);
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  const __m128i vflip = _mm_set1_epi8(flip);
  __m512 vmax[R];
  __mmask16 fin[R];
  for (int r = 0; r < R; ++r) vmax[r] = _mm512_setzero_ps(), fin[r] = 0xFFFF;
  for (int64_t p = 0; p < k; p += 16) {
    const __mmask16 m = head_mask(k - p);
    for (int r = 0; r < R; ++r) {
      const __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(m, x + r * ldx + p));
      fin[r] &= _mm512_cmp_ps_mask(v, big, _CMP_LE_OQ);  // false for NaN and inf
      vmax[r] = _mm512_max_ps(vmax[r], v);
    }
  }
  __m512 vs[R];
  for (int r = 0; r < R; ++r) {
    const float sc = 127.0f / (_mm512_reduce_max_ps(vmax[r]) + epsilon);
    const bool ok = fin[r] == 0xFFFF;
    scale[r] = sc;
    finite[r] = ok;
    vs[r] = _mm512_set1_ps(ok ? sc : 0.0f);
  }
  int64_t p = 0;
  for (; p < k; p += 16) {  // lanes past k load 0 and store 0 ^ flip: the padding byte
    const __mmask16 m = head_mask(k - p);
    for (int r = 0; r < R; ++r) {
      const __m512 q = _mm512_min_ps(
          hi, _mm512_max_ps(lo, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + r * ldx + p), vs[r])));
      const __m512i i = _mm512_cvt_roundps_epi32(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + r * kp + p),
                       _mm_xor_si128(_mm512_cvtsepi32_epi8(i), vflip));
    }
  }
  for (; p < kp; p += 16)
    for (int r = 0; r < R; ++r)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + r * kp + p), vflip);
}

}  // namespace

bool int8_quantize_row_padded_avx512(const float* x, int64_t k, int64_t kp, float epsilon,
                                     int8_t flip, int8_t* dst, float* scale_out) {
  char ok;
  quantize_rows<1>(x, 0, k, kp, epsilon, flip, dst, scale_out, &ok);
  return ok;
}

void int8_quantize_rows_padded_avx512(const float* x, int64_t ldx, int64_t m, int64_t k,
                                      int64_t kp, float epsilon, int8_t flip, int8_t* dst,
                                      float* scale, char* finite) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    quantize_rows<4>(x + i * ldx, ldx, k, kp, epsilon, flip, dst + i * kp, scale + i,
                     finite + i);
  for (; i < m; ++i)
    quantize_rows<1>(x + i * ldx, ldx, k, kp, epsilon, flip, dst + i * kp, scale + i,
                     finite + i);
}

void int8_dequantize_row_avx512(const int32_t* acc, int64_t cols, float x_scale,
                                const float* kernel_scale, const float* bias, float* out) {
  const __m512 xs = _mm512_set1_ps(x_scale);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = head_mask(cols - j);
    const __m512 a = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, acc + j));
    const __m512 s = _mm512_mul_ps(xs, _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m,
                                                            kernel_scale + j));
    __m512 r = _mm512_div_ps(a, s);
    if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, bias + j));
    _mm512_mask_storeu_ps(out + j, m, r);
  }
}

void int8_dequantize_row_mul_avx512(const int32_t* acc, int64_t cols, float inv_x_scale,
                                    const float* inv_kernel_scale, const float* bias, float lo,
                                    float hi, float* out) {
  const __m512 xs = _mm512_set1_ps(inv_x_scale);
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = head_mask(cols - j);
    const __m512 a = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, acc + j));
    const __m512 s = _mm512_mul_ps(xs, _mm512_maskz_loadu_ps(m, inv_kernel_scale + j));
    __m512 r = _mm512_mul_ps(a, s);
    if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, bias + j));
    // max then min: a NaN stays NaN (vmaxps returns its second operand, r, for NaN)
    r = _mm512_min_ps(vhi, _mm512_max_ps(vlo, r));
    _mm512_mask_storeu_ps(out + j, m, r);
  }
}

void int8_dequantize_tile_mul_avx512(const int32_t* acc, int64_t rows, int64_t cols,
                                     const float* x_scale, const char* finite,
                                     const float* inv_kernel_scale, const float* bias, float lo,
                                     float hi, float* out, int64_t ldo, int32_t* bits) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const __m512 nan = _mm512_set1_ps(__builtin_nanf(""));
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __mmask16 m0 = head_mask(cols), m1 = cols > 16 ? head_mask(cols - 16) : 0;  // <= 32
  const __m512 ks0 = _mm512_maskz_loadu_ps(m0, inv_kernel_scale);
  const __m512 ks1 = _mm512_maskz_loadu_ps(m1, inv_kernel_scale + 16);
  const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
  __m512i mx0 = _mm512_setzero_si512(), mx1 = mx0;
  for (int64_t i = 0; i < rows; ++i, acc += kInt8Nr, out += ldo) {
    __m512 r0 = nan, r1 = nan;  // a NaN/inf input makes the whole row NaN, as in Keras
    if (finite[i]) {
      // as int8_dequantize_row_mul_avx512: the same operations in the same order
      const __m512 xs = _mm512_set1_ps(1.0f / x_scale[i]);
      r0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m0, acc)),
                         _mm512_mul_ps(xs, ks0));
      r1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m1, acc + 16)),
                         _mm512_mul_ps(xs, ks1));
      if (bias) r0 = _mm512_add_ps(r0, b0), r1 = _mm512_add_ps(r1, b1);
      r0 = _mm512_min_ps(vhi, _mm512_max_ps(vlo, r0));
      r1 = _mm512_min_ps(vhi, _mm512_max_ps(vlo, r1));
    }
    _mm512_mask_storeu_ps(out, m0, r0);
    if (m1) _mm512_mask_storeu_ps(out + 16, m1, r1);
    if (bits) {
      mx0 = _mm512_max_epi32(mx0, _mm512_and_si512(_mm512_castps_si512(r0), magnitude));
      mx1 = _mm512_max_epi32(mx1, _mm512_and_si512(_mm512_castps_si512(r1), magnitude));
    }
  }
  if (bits) {
    _mm512_mask_storeu_epi32(bits, m0, mx0);
    _mm512_mask_storeu_epi32(bits + 16, m1, mx1);
  }
}

void int8_column_absmax_avx512(const float* y, int64_t ld, int64_t rows, int64_t cols,
                               int32_t* bits) {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  for (int64_t j = 0; j < cols; j += 16) {
    const __mmask16 m = head_mask(cols - j);
    __m512i mx = _mm512_setzero_si512();
    for (int64_t i = 0; i < rows; ++i)
      mx = _mm512_max_epi32(mx, _mm512_and_si512(_mm512_maskz_loadu_epi32(m, y + i * ld + j),
                                                 magnitude));
    _mm512_mask_storeu_epi32(bits + j, m, mx);
  }
}

}  // namespace nnfast::kernels
