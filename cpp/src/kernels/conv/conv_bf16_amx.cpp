// AMX-BF16 direct convolution (see conv_bf16_amx.h): 32 positions x 32 columns of output in
// four fp32 tiles (tmm0-3), two left tiles (tmm4-5) and two right tiles (tmm6-7) per depth
// chunk and tap.
// gcc 12 flags its own unpack/shuffle intrinsics (an undefined pass-through operand) as
// maybe-uninitialized in the register transpose.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/conv/conv_bf16_amx.h"

#include <immintrin.h>
#include <string.h>

#include "kernels/convert/round_bf16_avx512.h"
#include "kernels/gemm/amx_tiles.h"
#include "kernels/gemm/bf16_convert_avx512.h"
#include "kernels/gemm/gemm_bf16_kernels.h"
#include "kernels/gemm/transpose_avx512.h"

namespace nnfast::kernels {
namespace {

inline __mmask16 head_mask(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 16) return static_cast<__mmask16>(0xFFFF);
  return static_cast<__mmask16>((1u << count) - 1u);
}

inline __m256i bf16_of(__m512 v) {
  return (__m256i)_mm512_cvtneps_pbh(bf16_round_up_to_normal(v));
}

// 16 bf16 back to float32 (exact).
inline __m512 float_of(__m256i bf16) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bf16), 16));
}

// n floats (any count) to bf16.
void convert_run(const float* src, int64_t n, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), bf16_of(_mm512_loadu_ps(src + i)));
  if (i < n) {
    const __mmask16 m = head_mask(n - i);
    _mm256_mask_storeu_epi16(dst + i, m, bf16_of(_mm512_maskz_loadu_ps(m, src + i)));
  }
}

// Depth per tile row: 32 bf16 (64 bytes) when the depth allows, else 16.
inline int64_t depth_chunk(int64_t depth) { return depth % 32 == 0 ? 32 : 16; }

// The source pixel behind frame position pos, or null for padding.
inline const float* frame_source(const AmxConvGeometry& g, const float* src, int64_t wp,
                                 int64_t frame_h, int64_t pos) {
  const int64_t py = pos / wp, px = pos - py * wp;
  const int64_t iy = py - g.pad_top, ix = px - g.pad_left;
  if (py >= frame_h || iy < 0 || iy >= g.src_h || ix < 0 || ix >= g.src_w) return nullptr;
  return src + (iy * g.src_w + ix) * g.depth;
}

inline int64_t frame_height(const AmxConvGeometry& g) {
  return g.out_h + g.dilation_h * (g.kernel_h - 1);
}

}  // namespace

void bf16_conv_frame_rows_amx(const AmxConvGeometry& g, const float* src, uint16_t* dst) {
  const int64_t wp = amx_conv_frame_w(g), hp = frame_height(g), c = g.depth;
  const int64_t ix_end = g.src_w < wp - g.pad_left ? g.src_w : wp - g.pad_left;
  for (int64_t py = 0; py < hp; ++py) {
    uint16_t* row = dst + py * wp * c;
    const int64_t iy = py - g.pad_top;
    if (iy < 0 || iy >= g.src_h || ix_end <= 0) {
      memset(row, 0, sizeof(uint16_t) * wp * c);
      continue;
    }
    memset(row, 0, sizeof(uint16_t) * g.pad_left * c);
    convert_run(src + iy * g.src_w * c, ix_end * c, row + g.pad_left * c);
    memset(row + (g.pad_left + ix_end) * c, 0, sizeof(uint16_t) * (wp - g.pad_left - ix_end) * c);
  }
  memset(dst + hp * wp * c, 0, sizeof(uint16_t) * (amx_conv_frame_pixels(g) - hp * wp) * c);
}

void bf16_conv_pack_kernel_amx(const AmxConvGeometry& g, const float* kernel, bool flipped,
                               uint32_t* dst) {
  const int64_t kc = depth_chunk(g.depth), chunks = g.depth / kc, blocks = g.columns / 16;
  const int64_t taps = g.kernel_h * g.kernel_w, tile = kc / 2 * 16;
  for (int64_t tap = 0; tap < taps; ++tap)
    for (int64_t ch = 0; ch < chunks; ++ch)
      for (int64_t nb = 0; nb < blocks; ++nb) {
        uint32_t* out = dst + ((tap * chunks + ch) * blocks + nb) * tile;
        if (!flipped) {  // kernel[tap][depth][column]
          const float* w = kernel + (tap * g.depth + ch * kc) * g.columns + nb * 16;
          bf16_pack_b_along_cols(w, g.columns, 16, kc, 1.0f, out, 16, 1);
        } else {  // kernel[taps-1-tap][column][depth]
          const float* w = kernel + ((taps - 1 - tap) * g.columns + nb * 16) * g.depth + ch * kc;
          bf16_pack_b_along_rows(w, g.depth, 16, kc, 1.0f, out, 16, 1);
        }
      }
}

void bf16_conv_forward_image_amx(const AmxConvGeometry& g, const uint16_t* frame,
                                 const uint32_t* packed_kernel, const float* bias, float lo,
                                 float hi, bool round_dst, int64_t col_begin, int64_t col_end,
                                 float* dst) {
  const bool clamp_lo = lo > -__builtin_inff(), clamp_hi = hi < __builtin_inff();
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  auto finish = [&](__m512 v) {  // the clamp epilogue's order, so a NaN stays NaN
    if (clamp_lo) v = _mm512_max_ps(vlo, v);
    if (clamp_hi) v = _mm512_min_ps(vhi, v);
    return round_dst ? bf16_round_ps(v) : v;
  };
  const int64_t c = g.depth, n = g.columns, kc = depth_chunk(c), chunks = c / kc;
  const int64_t blocks = n / 16, tile = kc / 2 * 16, wp = amx_conv_frame_w(g);
  const int64_t positions = amx_conv_positions(g), lda = c * 2;
  alignas(64) float acc[32 * 32];
  amx_configure_bf16(static_cast<int>(kc * 2));
  for (int64_t m0 = 0; m0 < positions; m0 += 32) {
    const bool lower = m0 + 16 < positions;
    for (int64_t n0 = col_begin; n0 < col_end; n0 += 32) {
      const bool right = n0 + 16 < col_end;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t ky = 0; ky < g.kernel_h; ++ky)
        for (int64_t kx = 0; kx < g.kernel_w; ++kx) {
          const int64_t tap = ky * g.kernel_w + kx;
          const uint16_t* a = frame + (m0 + ky * g.dilation_h * wp + kx * g.dilation_w) * c;
          const uint32_t* b = packed_kernel + (tap * chunks * blocks + n0 / 16) * tile;
          for (int64_t ch = 0; ch < chunks; ++ch, a += kc, b += blocks * tile) {
            _tile_loadd(4, a, lda);
            _tile_loadd(6, b, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (right) {
              _tile_loadd(7, b + tile, 64);
              _tile_dpbf16ps(1, 4, 7);
            }
            if (lower) {
              _tile_loadd(5, a + 16 * c, lda);
              _tile_dpbf16ps(2, 5, 6);
              if (right) _tile_dpbf16ps(3, 5, 7);
            }
          }
        }
      _tile_stored(0, acc, 128);
      _tile_stored(1, acc + 16, 128);
      _tile_stored(2, acc + 16 * 32, 128);
      _tile_stored(3, acc + 16 * 32 + 16, 128);
      const __mmask16 m0mask = 0xFFFF, m1mask = right ? 0xFFFF : 0;
      const __m512 b0 = bias ? _mm512_loadu_ps(bias + n0) : _mm512_setzero_ps();
      const __m512 b1 = bias && right ? _mm512_loadu_ps(bias + n0 + 16) : _mm512_setzero_ps();
      const int64_t rows = positions - m0 < 32 ? positions - m0 : 32;
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t p = m0 + i, oy = p / wp, ox = p - oy * wp;
        if (ox >= g.out_w) continue;
        float* out = dst + (oy * g.out_w + ox) * n + n0;
        _mm512_mask_storeu_ps(out, m0mask,
                              finish(_mm512_add_ps(_mm512_load_ps(acc + i * 32), b0)));
        _mm512_mask_storeu_ps(out + 16, m1mask,
                              finish(_mm512_add_ps(_mm512_load_ps(acc + i * 32 + 16), b1)));
      }
    }
  }
  _tile_release();
}

void bf16_conv_frame_cols_amx(const AmxConvGeometry& g, const float* src, uint16_t* dst) {
  const int64_t wp = amx_conv_frame_w(g), hp = frame_height(g), c = g.depth;
  const int64_t row = amx_conv_frame_row(g);
  // even 16-bit lanes to the low half, odd ones to the high half
  const __m512i split = _mm512_set_epi16(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3,
                                         1, 30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                         2, 0);
  for (int64_t p0 = 0; p0 < row; p0 += 16) {
    const float* pixel[16];
    bool any = false;
    for (int i = 0; i < 16; ++i) {
      pixel[i] = frame_source(g, src, wp, hp, p0 + i);
      any = any || pixel[i] != nullptr;
    }
    int64_t c0 = 0;
    if (any)  // 32 channels at a time: pairs converted first, half the transposing work
      for (; c0 + 32 <= c; c0 += 32) {
        __m512i v[16];  // lane j of v[i]: pixel i's channels c0+2j, c0+2j+1
        for (int i = 0; i < 16; ++i)
          v[i] = pixel[i] ? bf16_convert_pairs(_mm512_loadu_ps(pixel[i] + c0 + 16),
                                               _mm512_loadu_ps(pixel[i] + c0))
                          : _mm512_setzero_si512();
        transpose_16x16_epi32(v);  // lane i of v[j]: pixel i's channels c0+2j, c0+2j+1
        for (int j = 0; j < 16; ++j) {
          const __m512i rows2 = _mm512_permutexvar_epi16(split, v[j]);
          uint16_t* out = dst + (c0 + 2 * j) * row + p0;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_castsi512_si256(rows2));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + row),
                              _mm512_extracti64x4_epi64(rows2, 1));
        }
      }
    for (; c0 < c; c0 += 16) {
      if (!any) {
        for (int j = 0; j < 16; ++j)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (c0 + j) * row + p0),
                              _mm256_setzero_si256());
        continue;
      }
      __m512i v[16];
      for (int i = 0; i < 16; ++i)
        v[i] = pixel[i] ? _mm512_loadu_si512(pixel[i] + c0) : _mm512_setzero_si512();
      transpose_16x16_epi32(v);
      for (int j = 0; j < 16; ++j)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (c0 + j) * row + p0),
                            bf16_of(_mm512_castsi512_ps(v[j])));
    }
  }
}

void bf16_conv_gradient_pairs_amx(const AmxConvGeometry& g, const float* dy, uint32_t* dst,
                                  float* column_sums) {
  const int64_t wp = amx_conv_frame_w(g), n = g.columns, blocks = n / 16;
  const int64_t chunks = amx_conv_position_chunks(g);
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                       24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1,
                                       16, 0);
  auto row_of = [&](int64_t p) -> const float* {
    const int64_t oy = p / wp, ox = p - oy * wp;
    if (oy >= g.out_h || ox >= g.out_w) return nullptr;
    return dy + (oy * g.out_w + ox) * n;
  };
  if (column_sums) memset(column_sums, 0, sizeof(float) * n);
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t q = 0; q < 16; ++q) {
      const float* r0 = row_of(k * 32 + 2 * q);
      const float* r1 = row_of(k * 32 + 2 * q + 1);
      for (int64_t nb = 0; nb < blocks; ++nb) {
        const __m512 lo = r0 ? _mm512_loadu_ps(r0 + nb * 16) : _mm512_setzero_ps();
        const __m512 hi = r1 ? _mm512_loadu_ps(r1 + nb * 16) : _mm512_setzero_ps();
        const __m512i both = bf16_convert_pairs(hi, lo);
        _mm512_storeu_si512(dst + ((k * blocks + nb) * 16 + q) * 16,
                            _mm512_permutexvar_epi16(idx, both));
        if (column_sums && (r0 || r1)) {  // the rounded values, position by position
          float* sum = column_sums + nb * 16;
          __m512 acc = _mm512_loadu_ps(sum);
          if (r0) acc = _mm512_add_ps(acc, float_of(_mm512_castsi512_si256(both)));
          if (r1) acc = _mm512_add_ps(acc, float_of(_mm512_extracti64x4_epi64(both, 1)));
          _mm512_storeu_ps(sum, acc);
        }
      }
    }
}

void bf16_conv_weight_grad_amx(const AmxConvGeometry& g, int64_t images, const uint16_t* frames_t,
                               const uint32_t* pairs, int64_t item0, int64_t item1,
                               bool accumulate, float* dkernel) {
  const int64_t c = g.depth, n = g.columns, blocks = n / 16;
  const int64_t mblocks = (c + 31) / 32, nblocks = (n + 31) / 32;
  const int64_t wp = amx_conv_frame_w(g), row = amx_conv_frame_row(g);
  const int64_t chunks = amx_conv_position_chunks(g), image_words = amx_conv_gradient_words(g);
  const int64_t lda = row * 2, ldc = n * 4;
  amx_configure_bf16(64);
  for (int64_t item = item0; item < item1; ++item) {
    const int64_t nb = item % nblocks, mb = (item / nblocks) % mblocks;
    const int64_t tap = item / (nblocks * mblocks);
    const int64_t ky = tap / g.kernel_w, kx = tap - ky * g.kernel_w;
    const int64_t offset = ky * g.dilation_h * wp + kx * g.dilation_w;
    const int64_t m0 = mb * 32, n0 = nb * 32;
    const bool lower = m0 + 16 < c, right = n0 + 16 < n;
    float* out = dkernel + (tap * c + m0) * n + n0;
    if (accumulate) {
      _tile_loadd(0, out, ldc);
      if (right) _tile_loadd(1, out + 16, ldc);
      if (lower) _tile_loadd(2, out + 16 * n, ldc);
      if (lower && right) _tile_loadd(3, out + 16 * n + 16, ldc);
    } else {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
    }
    for (int64_t img = 0; img < images; ++img) {
      const uint16_t* a = frames_t + (img * c + m0) * row + offset;
      const uint32_t* b = pairs + img * image_words + (n0 / 16) * 256;
      for (int64_t k = 0; k < chunks; ++k, a += 32, b += blocks * 256) {
        _tile_loadd(4, a, lda);
        _tile_loadd(6, b, 64);
        _tile_dpbf16ps(0, 4, 6);
        if (right) {
          _tile_loadd(7, b + 256, 64);
          _tile_dpbf16ps(1, 4, 7);
        }
        if (lower) {
          _tile_loadd(5, a + 16 * row, lda);
          _tile_dpbf16ps(2, 5, 6);
          if (right) _tile_dpbf16ps(3, 5, 7);
        }
      }
    }
    _tile_stored(0, out, ldc);
    if (right) _tile_stored(1, out + 16, ldc);
    if (lower) _tile_stored(2, out + 16 * n, ldc);
    if (lower && right) _tile_stored(3, out + 16 * n + 16, ldc);
  }
  _tile_release();
}

}  // namespace nnfast::kernels
