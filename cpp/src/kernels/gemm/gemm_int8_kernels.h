// int8 GEMM micro-kernel contract (see nnfast/gemm_int8.h for the packed B layout).
// A is row-major with row stride lda (a multiple of 64 bytes' worth of depth, zero padded
// past k, and rows padded so a kernel may read MR rows from any row block start): signed
// int8 for AMX and the reference, offset by 128 (x ^ 0x80, i.e. unsigned) for vpdpbusd.
// A kernel computes the exact int32 tile acc[i*32 + j] = sum_p A[i][p] * B[p][j0 + j] for
// i < MR and the 32 columns of two consecutive 16-column blocks starting at b.
#pragma once
#include <cstdint>

namespace nnfast::kernels {

using Int8MicroKernelFn = void (*)(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b,
                                   int64_t b_block_stride, const int32_t* col_sums,
                                   int64_t mr, int32_t* acc);

struct Int8GemmKernelInfo {
  const char* name;
  Int8MicroKernelFn fn;
  int mr;             // rows per tile (the A buffer has rows padded to a multiple of it)
  bool offset_a;      // A must be stored as x ^ 0x80 (u8 = s8 + 128)
  void (*begin)();    // per thread, before its micro-kernel calls (AMX tile config); or null
  void (*end)();
};

constexpr int kInt8Nr = 32;

// The dense step's row work with AVX-512 (bit-identical to the driver's scalar loops):
// quantizes x[0, k) into dst (xor flip) and fills dst[k, kp) with the padding byte (0 ^ flip;
// kp a multiple of 16), sets *scale, returns whether the row is finite;
// out[j] = float(acc[j]) / (x_scale * kernel_scale[j]) (+ bias[j]) for j < cols.
bool int8_quantize_row_padded_avx512(const float* x, int64_t k, int64_t kp, float epsilon,
                                     int8_t flip, int8_t* dst, float* scale);
// The same for m rows x + i * ldx into dst + i * kp, scale[i], finite[i] (whether row i is
// finite): four rows at a time, so their max -> scale -> quantize chains overlap.
void int8_quantize_rows_padded_avx512(const float* x, int64_t ldx, int64_t m, int64_t k,
                                      int64_t kp, float epsilon, int8_t flip, int8_t* dst,
                                      float* scale, char* finite);
void int8_dequantize_row_avx512(const int32_t* acc, int64_t cols, float x_scale,
                                const float* kernel_scale, const float* bias, float* out);
// As int8_dequantize_row_avx512 with two multiplies for the divide (acc * ((1 / x_scale) *
// (1 / kernel_scale[j]))): within two roundings of it; the convolutions' epilogue (not Keras's
// Dense, whose numbers it keeps exactly). The result is clamped to [lo, hi] (relu and relu6
// fused; -inf/inf for none).
void int8_dequantize_row_mul_avx512(const int32_t* acc, int64_t cols, float inv_x_scale,
                                    const float* inv_kernel_scale, const float* bias, float lo,
                                    float hi, float* out);

// int8_dequantize_row_mul_avx512 on each row of a tile (acc rows of stride kInt8Nr, cols <=
// kInt8Nr) into out (stride ldo), inv_x_scale = 1 / x_scale[i]; rows with finite[i] false
// become NaN; bits, when not null, gets each column's max |out| bit pattern (as
// int8_column_absmax_avx512 of the stored tile), gathered in registers.
void int8_dequantize_tile_mul_avx512(const int32_t* acc, int64_t rows, int64_t cols,
                                     const float* x_scale, const char* finite,
                                     const float* inv_kernel_scale, const float* bias, float lo,
                                     float hi, float* out, int64_t ldo, int32_t* bits);

// bits[j] = max over rows i of the bit pattern of |y[i * ld + j]|, j < cols.
void int8_column_absmax_avx512(const float* y, int64_t ld, int64_t rows, int64_t cols,
                               int32_t* bits);

extern const Int8GemmKernelInfo int8_gemm_amx_info;
extern const Int8GemmKernelInfo int8_gemm_avx512vnni_info;
extern const Int8GemmKernelInfo int8_gemm_avxvnni_info;  // 256-bit, no AVX-512 needed
extern const Int8GemmKernelInfo int8_gemm_ref_info;

}  // namespace nnfast::kernels
