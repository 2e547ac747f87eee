// 16x16 transpose of 32-bit lanes in AVX-512 registers (AVX-512 files only).
#pragma once
#include <immintrin.h>

namespace nnfast::kernels {

// r[t] lane i becomes r[i] lane t.
inline void transpose_16x16_epi32(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {  // lane L of t[i]: r[i][4L], r[i+1][4L], r[i][4L+1], ...
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // lane L of r[i + s]: column 4L + s of rows i..i+3
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int s = 0; s < 4; ++s) {  // the 4x4 transpose of 128-bit lanes of r[s], r[4+s], ...
    const __m512i a0 = _mm512_shuffle_i32x4(r[s], r[4 + s], 0x44);
    const __m512i a1 = _mm512_shuffle_i32x4(r[s], r[4 + s], 0xEE);
    const __m512i a2 = _mm512_shuffle_i32x4(r[8 + s], r[12 + s], 0x44);
    const __m512i a3 = _mm512_shuffle_i32x4(r[8 + s], r[12 + s], 0xEE);
    t[s] = _mm512_shuffle_i32x4(a0, a2, 0x88);
    t[4 + s] = _mm512_shuffle_i32x4(a0, a2, 0xDD);
    t[8 + s] = _mm512_shuffle_i32x4(a1, a3, 0x88);
    t[12 + s] = _mm512_shuffle_i32x4(a1, a3, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace nnfast::kernels
