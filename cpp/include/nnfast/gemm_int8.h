// int8 GEMM for quantized layers: C = A_s8 @ B_s8 with exact int32 sums, B (a quantized
// kernel) packed once. Variants, best first: AMX-INT8 tiles (tdpbssd), AVX512_VNNI
// (vpdpbusd: u8 x s8, so A is offset by 128 and 128 * column sums of B subtracted), and a
// scalar reference that any CPU runs. The dense entry quantizes float32 rows of x on the fly
// (Keras's abs-max scheme) and dequantizes: y = float(acc) / (x_scale * kernel_scale) + bias.
#pragma once
#include <cstdint>
#include <vector>

#include "nnfast/activation.h"
#include "nnfast/conv.h"

namespace nnfast {

enum class Int8GemmVariant : int { best = 0, amx = 1, avx512vnni = 2, ref = 3, avxvnni = 4 };

// B (k, n) int8, packed in blocks of 16 columns: for block jb, depth group q (4 rows) and
// column c, bytes data[jb*16*kp + q*64 + c*4 + 0..3] = B[4q..4q+3][16jb + c] (zero past k
// and n). kp is k rounded up to 64 (a tile row), n_pad n rounded up to 32.
struct Int8PackedKernel {
  int64_t k = 0, n = 0, kp = 0, n_pad = 0;
  std::vector<int8_t> data;
  std::vector<int32_t> col_sums;  // sum over depth of each column (n_pad entries)
};

// Deepest k whose int32 sums cannot overflow: 128 * 128 * k < 2**31.
constexpr int64_t kInt8GemmMaxDepth = 131071;

// Packs a row-major (k, n) int8 matrix with row stride ldb. Throws on k > kInt8GemmMaxDepth.
Int8PackedKernel pack_int8_kernel(const int8_t* b, int64_t k, int64_t n, int64_t ldb);

// c[m, n] (row stride ldc) = a[m, k] (row stride lda) @ B, exact in int32.
void gemm_int8_s32(int64_t m, int64_t k, const int8_t* a, int64_t lda, const Int8PackedKernel& b,
                   int32_t* c, int64_t ldc, Int8GemmVariant variant = Int8GemmVariant::best);

// Quantized dense layer: each row of x (m, k) quantized to int8 with scale
// 127 / (max|row| + epsilon), round half to even, clipped to [-127, 127]; then
// y[i, j] = float(xq_i . B_j) / (x_scale[i] * kernel_scale[j]) (+ bias[j] when bias is given).
// What the dense step does after the bias, on each tile while it is in cache:
// y = act(y + residual) (residual: rows of stride ldr, or nullptr).
// With channel_absmax, also the statistics the next layer's dynamic quantization needs:
// channel_absmax[s * n + j] is raised to the bit pattern of max |y| over the rows of sample
// s = row / rows_per_sample in column j (the caller zeroes it; for non-negative floats the
// integer order of the patterns is the float order; a NaN/inf gives >= 0x7f800000).
struct Int8Epilogue {
  const float* residual = nullptr;
  int64_t ldr = 0;
  Activation act = Activation::linear;
  ActivationParams params;
  int32_t* channel_absmax = nullptr;
  int64_t rows_per_sample = 0;
};

void int8_dense(int64_t m, int64_t k, const float* x, int64_t ldx, const Int8PackedKernel& b,
                const float* kernel_scale, const float* bias, float epsilon, float* y,
                int64_t ldy, Int8GemmVariant variant = Int8GemmVariant::best,
                const Int8Epilogue& epilogue = Int8Epilogue{});

// A quantized convolution for inference (groups 1; `s` as conv2d_forward, dst (batch, out_h,
// out_w, out_c)): int8_dense on the im2col rows (kh, kw, in_c order, zeros outside the image),
// each window gathered straight from src as it is quantized, b the kernel packed as its
// (kh*kw*in_c, out_c) matrix. The numbers of int8_dense on an im2col matrix, except that the
// dequantizing step multiplies by 1 / (x_scale * kernel_scale) as two reciprocals (within two
// roundings of int8_dense's divide).
void int8_conv2d_forward(const Conv2DShape& s, const float* src, const Int8PackedKernel& b,
                         const float* kernel_scale, const float* bias, float epsilon, float* dst,
                         const Int8Epilogue& epilogue = Int8Epilogue{},
                         Int8GemmVariant variant = Int8GemmVariant::best);

// Whether a variant can run here under the current ISA cap (the int8 units need avx512).
bool gemm_int8_variant_available(Int8GemmVariant variant);
// The implementation `best` picks now: "int8_gemm_32x32_amx", "int8_gemm_8x32_avx512vnni"
// or "int8_gemm_ref".
const char* gemm_int8_kernel_name();

}  // namespace nnfast
