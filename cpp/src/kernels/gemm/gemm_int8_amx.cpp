// AMX-INT8 GEMM tile: up to 32 rows x 32 columns in four 16 x 16 int32 tiles (tmm0-3), fed
// per 64 depth bytes by two A tiles (16 rows x 64 int8, tmm4-5, read straight from the
// row-major A buffer) and two B tiles (16 depth groups x 16 columns x 4 int8, tmm6-7: one
// 1 KiB chunk of a packed 16-column block); four tdpbssd (signed x signed) per step.
#include <immintrin.h>

#include "kernels/gemm/gemm_int8_kernels.h"

namespace nnfast::kernels {
namespace {

// Palette 1: eight tiles of 16 rows x 64 bytes.
struct alignas(64) TileConfig {
  unsigned char palette = 1, start_row = 0, reserved[14] = {};
  unsigned short colsb[16] = {};
  unsigned char rows[16] = {};
};

void amx_begin() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  // NOTE: GCC 12 drops the stores above without this barrier (see gemm_bf16_amx.cpp).
  __asm__ volatile("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

void amx_end() { _tile_release(); }

void amx_32x32(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, int64_t b_stride,
               const int32_t* /*col_sums*/, int64_t mr, int32_t* acc) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const bool lower = mr > 16;  // the A buffer has rows to 32; skip the work when unused
  const int8_t* b1 = b + b_stride;
  for (int64_t p = 0; p < kp; p += 64) {
    _tile_loadd(4, a + p, lda);
    _tile_loadd(6, b + p * 16, 64);
    _tile_loadd(7, b1 + p * 16, 64);
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    if (lower) {
      _tile_loadd(5, a + 16 * lda + p, lda);
      _tile_dpbssd(2, 5, 6);
      _tile_dpbssd(3, 5, 7);
    }
  }
  _tile_stored(0, acc, kInt8Nr * 4);
  _tile_stored(1, acc + 16, kInt8Nr * 4);
  if (lower) {
    _tile_stored(2, acc + 16 * kInt8Nr, kInt8Nr * 4);
    _tile_stored(3, acc + 16 * kInt8Nr + 16, kInt8Nr * 4);
  }
}

}  // namespace

const Int8GemmKernelInfo int8_gemm_amx_info = {"int8_gemm_32x32_amx", amx_32x32, 32, false,
                                               amx_begin, amx_end};

}  // namespace nnfast::kernels
