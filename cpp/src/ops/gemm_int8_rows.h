// The int8 dense step's pieces, shared by the drivers that run it (gemm_int8.cpp's int8_dense
// and int8_conv2d_forward, separable_int8.cpp's fused depthwise -> pointwise chain): the
// kernel choice, row quantization, the tile loop and the dequantizing epilogue. Internal to
// the core library.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/gemm/gemm_int8_kernels.h"
#include "nnfast/gemm_int8.h"
#include "ops/parallel.h"

namespace nnfast::int8_rows {

// The micro-kernel `variant` runs (best: the registry's pick, recorded and logged; a named
// variant is checked and taken as asked).
const kernels::Int8GemmKernelInfo& gemm_kernel(Int8GemmVariant variant);

// Whether the kernel's row work uses AVX-512 (AMX and AVX512_VNNI imply it; the reference and
// the AVX-VNNI tile, for CPUs without AVX-512, stay scalar).
bool simd_rows(const kernels::Int8GemmKernelInfo& kern);

// Keras's abs-max quantization of row[0, k) into dst[0, kp) (scale = 127 / (max|x| +
// epsilon), round half to even, clip to [-127, 127]; offset by 128 for vpdpbusd; the padding
// past k filled with zeros): sets *scale, returns whether the row is finite.
bool quantize_row(const kernels::Int8GemmKernelInfo& kern, const float* row, int64_t k,
                  int64_t kp, float epsilon, int8_t* dst, float* scale);
// quantize_row for m rows x + i * ldx into dst + i * kp, scale[i], finite[i].
void quantize_rows(const kernels::Int8GemmKernelInfo& kern, const float* x, int64_t ldx,
                   int64_t m, int64_t k, int64_t kp, float epsilon, int8_t* dst, float* scale,
                   char* finite);

// An A buffer of roundup(m, mr) rows x kp bytes from the calling thread's scratch, zeroed
// past row m.
int8_t* a_buffer(const kernels::Int8GemmKernelInfo& kern, int64_t m, int64_t kp);

// The dequantizing epilogue of one tile: y = float(acc) / (x_scale * kernel_scale) + bias
// (Keras's divide) or acc * (1 / x_scale) * (1 / kernel_scale) + bias (`divide` false: the
// convolutions), then act(y + residual); rows whose input was not finite become NaN; with
// ep.channel_absmax, the per-sample column maxima are raised.
class DequantizeEpilogue {
 public:
  DequantizeEpilogue(const kernels::Int8GemmKernelInfo& kern, const Int8PackedKernel& b,
                     const float* kernel_scale, const float* bias, const Int8Epilogue& ep,
                     bool divide);
  // Tile rows [i0, i0 + rows), columns [j0, j0 + cols) (acc row stride kInt8Nr): x_scale,
  // finite, y (stride ldy) and residual (stride ep.ldr, or nullptr) are indexed by row;
  // row_base is the model row of row 0 (which sample a row belongs to). column_max, when
  // given, has column j raised to the bit pattern of max |y| over the tile's rows (read back
  // while the tile is in L1; an atomic max: tiles of one column may run on two threads,
  // unless column_max_shared is false: no other tile raises the same entries).
  void operator()(int64_t i0, int64_t rows, int64_t j0, int64_t cols, const int32_t* acc,
                  const float* x_scale, const char* finite, float* y, int64_t ldy,
                  const float* residual, int64_t row_base, int32_t* column_max = nullptr,
                  bool column_max_shared = true) const;

 private:
  const Int8PackedKernel& b_;
  const float* kernel_scale_;
  const float* bias_;
  Int8Epilogue ep_;
  bool divide_, simd_, clamped_, tail_;
  float lo_, hi_;
  std::vector<float> inv_kernel_scale_;
};

// Runs the tiles of an (m, n) product whose A buffer (rows padded to kern.mr, stride b.kp) is
// ready; epilogue(i0, rows, j0, cols, acc) consumes each tile (acc row stride kInt8Nr).
template <typename Epilogue>
void run_tiles(const kernels::Int8GemmKernelInfo& kern, int64_t m, const int8_t* abuf,
               const Int8PackedKernel& b, Epilogue&& epilogue) {
  using kernels::kInt8Nr;
  const int64_t mb = (m + kern.mr - 1) / kern.mr, nb = b.n_pad / kInt8Nr;
  const int64_t block_stride = 16 * b.kp;
  const int64_t tile_ops = static_cast<int64_t>(kern.mr) * kInt8Nr * b.kp;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(tile_ops, 1));
  parallel_for_chunks(mb * nb, grain, [&](int64_t t0, int64_t t1) {
    alignas(64) int32_t acc[32 * kInt8Nr];
    if (kern.begin) kern.begin();
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ib = t / nb, jb = t % nb;
      const int64_t i0 = ib * kern.mr, j0 = jb * kInt8Nr;
      const int64_t rows = std::min<int64_t>(kern.mr, m - i0);
      kern.fn(b.kp, abuf + i0 * b.kp, b.kp, b.data.data() + (j0 / 16) * block_stride,
              block_stride, b.col_sums.data() + j0, rows, acc);
      epilogue(i0, rows, j0, std::min<int64_t>(kInt8Nr, b.n - j0), acc);
    }
    if (kern.end) kern.end();
  });
}

}  // namespace nnfast::int8_rows
