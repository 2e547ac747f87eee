// AMX tile configuration shared by the bf16 AMX kernels (*_amx.cpp files only): palette 1 with
// eight tiles, accumulators tmm0-3 (16 rows x 64 bytes), left operands tmm4-5 and right
// operands tmm6-7 of a chosen depth.
#pragma once
#include <immintrin.h>

namespace nnfast::kernels {

struct alignas(64) AmxTileConfig {
  unsigned char palette = 1, start_row = 0, reserved[14] = {};
  unsigned short colsb[16] = {};
  unsigned char rows[16] = {};
};

// Loads the configuration: tmm4-5 are 16 rows x a_bytes (a_bytes/4 bf16 pairs of depth),
// tmm6-7 are a_bytes/4 rows (those pairs) x 64 bytes (16 fp32 columns).
inline void amx_configure_bf16(int a_bytes) {
  AmxTileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  cfg.colsb[4] = cfg.colsb[5] = static_cast<unsigned short>(a_bytes);
  cfg.rows[6] = cfg.rows[7] = static_cast<unsigned char>(a_bytes / 4);
  // NOTE: GCC 12 does not treat ldtilecfg as reading its operand and drops the stores above
  // without this barrier (the tiles then stay unconfigured: #UD on the first tile op).
  __asm__ volatile("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

}  // namespace nnfast::kernels
