// AVX512_VNNI int8 depthwise kernel (an instruction-specific unit, see simd_math.h's header):
// per output pixel and block of 64 channels, each tap's 64 input bytes (q + 128, unsigned) are
// multiplied by four copies of the tap's weights, the j-th holding only the bytes of channels
// o % 4 == j (vpdpbusd sums the four byte products of each int32 lane: with three of them
// zero, lane i of accumulator j is channel 4i + j alone). The four accumulators are
// transposed back to channel order once per block, the offset removed (128 * sum_t w_t, exact
// int32), and the sums converted to float. Against the vpmaddwd kernel (four shuffles per 16
// channels and pair of taps) this has no per-tap shuffle; the sums are the same integers.
// NOTE: GCC 12 warns that intrinsics with an _mm512_undefined_*() pass-through read it
// uninitialized (never, with a full mask): a false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/depthwise_int8/depthwise_int8_kernels.h"
#include "kernels/depthwise_int8/depthwise_int8_rows_impl.h"

namespace nnfast::kernels {
namespace {

inline __mmask64 byte_mask(int64_t count) {
  return count >= 64 ? ~__mmask64{0} : ((__mmask64{1} << count) - 1);
}

inline __mmask16 lane_mask(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xFFFF)
                     : static_cast<__mmask16>((1u << count) - 1u);
}

// The fused epilogue of the channels [at, at + 16) in lanes m (see Int8DepthwiseArgs): the
// operations of scale_shift_activation_rows's AVX-512 clamp, in its order.
inline __m512 epilogue(const Int8DepthwiseArgs& a, __m512 v, int64_t at, __mmask16 m) {
  if (!a.mult) return v;
  const __m512 s = _mm512_maskz_loadu_ps(m, a.mult + at);
  v = a.bias ? _mm512_fmadd_ps(v, s, _mm512_maskz_loadu_ps(m, a.bias + at)) : _mm512_mul_ps(v, s);
  if (a.lo > -__builtin_inff()) v = _mm512_max_ps(_mm512_set1_ps(a.lo), v);
  if (a.hi < __builtin_inff()) v = _mm512_min_ps(_mm512_set1_ps(a.hi), v);
  return v;
}

// acc_j lane 4L + r (128-bit lane L, r < 4) is channel 16L + 4r + j: a 4x4 transpose of
// dwords inside each 128-bit lane, then of 128-bit lanes across the four registers; then the
// offset removed, and the channels [o, o + 64) below oc stored to d as floats.
inline void store64(const Int8DepthwiseArgs& a, __m512i acc0, __m512i acc1, __m512i acc2,
                    __m512i acc3, int64_t o, int64_t oc, float* d) {
  const __m512i t0 = _mm512_unpacklo_epi32(acc0, acc1), t1 = _mm512_unpackhi_epi32(acc0, acc1);
  const __m512i t2 = _mm512_unpacklo_epi32(acc2, acc3), t3 = _mm512_unpackhi_epi32(acc2, acc3);
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  // u_r lane L: channels 16L + 4r .. + 3
  const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x88), v1 = _mm512_shuffle_i32x4(u2, u3, 0x88);
  const __m512i v2 = _mm512_shuffle_i32x4(u0, u1, 0xDD), v3 = _mm512_shuffle_i32x4(u2, u3, 0xDD);
  const __m512i out[4] = {_mm512_shuffle_i32x4(v0, v1, 0x88), _mm512_shuffle_i32x4(v2, v3, 0x88),
                          _mm512_shuffle_i32x4(v0, v1, 0xDD), _mm512_shuffle_i32x4(v2, v3, 0xDD)};
  for (int k = 0; k < 4; ++k) {
    const int64_t at = o + 16 * k;
    if (at >= oc) break;
    const __m512i sum = _mm512_sub_epi32(out[k], _mm512_loadu_si512(a.w_offset_sum + at));
    const __mmask16 m = lane_mask(oc - at);
    _mm512_mask_storeu_ps(d + at, m, epilogue(a, _mm512_cvtepi32_ps(sum), at, m));
  }
}

// Channels [o, o + 64) of P pixels (taps at tap_rows[i * taps_even ...]) into d + i * oc:
// 4 * P independent sums in flight (one pixel's four alone would wait on vpdpbusd's latency),
// each weight load shared by the P pixels.
template <int P>
inline void block64(const Int8DepthwiseArgs& a, const int8_t* const* tap_rows, int64_t taps,
                    int64_t o, int64_t oc, float* d) {
  const __mmask64 in = byte_mask(a.cp - o);  // the input rows end at cp
  __m512i acc[P][4];
  for (int i = 0; i < P; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_setzero_si512();
  const int8_t* w = a.w_spread + o;
  const int64_t ws = a.cp64;
  for (int64_t t = 0; t < taps; ++t, w += 4 * ws) {
    const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + ws);
    const __m512i w2 = _mm512_loadu_si512(w + 2 * ws), w3 = _mm512_loadu_si512(w + 3 * ws);
    for (int i = 0; i < P; ++i) {
      const __m512i x = _mm512_maskz_loadu_epi8(in, tap_rows[i * a.taps_even + t] + o);
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], x, w0);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], x, w1);
      acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], x, w2);
      acc[i][3] = _mm512_dpbusd_epi32(acc[i][3], x, w3);
    }
  }
  for (int i = 0; i < P; ++i)
    store64(a, acc[i][0], acc[i][1], acc[i][2], acc[i][3], o, oc, d + i * oc);
}

// The same for channels [o, o + 32) in 256-bit registers (a channel tail of 32 or fewer: a
// 64-byte block would double the products for nothing).
inline void store32(const Int8DepthwiseArgs& a, __m256i acc0, __m256i acc1, __m256i acc2,
                    __m256i acc3, int64_t o, int64_t oc, float* d) {
  const __m256i t0 = _mm256_unpacklo_epi32(acc0, acc1), t1 = _mm256_unpackhi_epi32(acc0, acc1);
  const __m256i t2 = _mm256_unpacklo_epi32(acc2, acc3), t3 = _mm256_unpackhi_epi32(acc2, acc3);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  // u_r lane L: channels 16L + 4r .. + 3
  const __m256i out[4] = {_mm256_permute2x128_si256(u0, u1, 0x20),
                          _mm256_permute2x128_si256(u2, u3, 0x20),
                          _mm256_permute2x128_si256(u0, u1, 0x31),
                          _mm256_permute2x128_si256(u2, u3, 0x31)};
  for (int k = 0; k < 4; ++k) {
    const int64_t at = o + 8 * k;
    if (at >= oc) break;
    const __m256i sum = _mm256_sub_epi32(
        out[k], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.w_offset_sum + at)));
    const __mmask8 m = oc - at >= 8 ? 0xFF : static_cast<__mmask8>((1u << (oc - at)) - 1u);
    const __m512 v = epilogue(a, _mm512_castps256_ps512(_mm256_cvtepi32_ps(sum)), at, m);
    _mm256_mask_storeu_ps(d + at, m, _mm512_castps512_ps256(v));
  }
}

template <int P>
inline void block32(const Int8DepthwiseArgs& a, const int8_t* const* tap_rows, int64_t taps,
                    int64_t o, int64_t oc, float* d) {
  const int64_t left = a.cp - o;
  const __mmask32 in = left >= 32 ? ~__mmask32{0} : ((__mmask32{1} << left) - 1);
  __m256i acc[P][4];
  for (int i = 0; i < P; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_si256();
  const int8_t* w = a.w_spread + o;
  const int64_t ws = a.cp64;
  auto load = [](const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
  for (int64_t t = 0; t < taps; ++t, w += 4 * ws) {
    const __m256i w0 = load(w), w1 = load(w + ws), w2 = load(w + 2 * ws), w3 = load(w + 3 * ws);
    for (int i = 0; i < P; ++i) {
      const __m256i x = _mm256_maskz_loadu_epi8(in, tap_rows[i * a.taps_even + t] + o);
      acc[i][0] = _mm256_dpbusd_epi32(acc[i][0], x, w0);
      acc[i][1] = _mm256_dpbusd_epi32(acc[i][1], x, w1);
      acc[i][2] = _mm256_dpbusd_epi32(acc[i][2], x, w2);
      acc[i][3] = _mm256_dpbusd_epi32(acc[i][3], x, w3);
    }
  }
  for (int i = 0; i < P; ++i)
    store32(a, acc[i][0], acc[i][1], acc[i][2], acc[i][3], o, oc, d + i * oc);
}

// Every channel of P pixels: 64-channel blocks, the last 32 or fewer in a 32-channel one.
template <int P>
inline void pixels(const Int8DepthwiseArgs& a, const int8_t* const* tap_rows, int64_t taps,
                   int64_t oc, float* d) {
  int64_t o = 0;
  for (; oc - o > 32; o += 64) block64<P>(a, tap_rows, taps, o, oc, d);
  if (o < oc) block32<P>(a, tap_rows, taps, o, oc, d);
}

}  // namespace

void s8_depthwise_avx512vnni(const Int8DepthwiseArgs& a, const int8_t** tap_rows, int64_t p0,
                             int64_t p1, float* dst) {
  // tap_rows holds taps_even pointers; kPixels pixels at a time need their own.
  constexpr int kPixels = 2;
  const Conv2DShape& s = *a.shape;
  const int64_t hw = s.out_h * s.out_w, oc = s.out_c, taps = s.kernel_h * s.kernel_w;
  const int8_t* group_rows[kPixels * 32];
  int64_t offset[32];  // an interior pixel's taps, in bytes from its first tap's row
  const bool grouped = a.taps_even <= 32;
  if (grouped)
    for (int64_t kh = 0, t = 0; kh < s.kernel_h; ++kh)
      for (int64_t kw = 0; kw < s.kernel_w; ++kw, ++t)
        offset[t] = (kh * s.dilation_h * s.in_w + kw * s.dilation_w) * a.cp;
  const int64_t last_h = (s.kernel_h - 1) * s.dilation_h, last_w = (s.kernel_w - 1) * s.dilation_w;
  int64_t b = p0 / hw, oh = (p0 % hw) / s.out_w, ow = p0 % s.out_w;  // pixel p, stepped
  // Points rows at the tap rows of pixel (b, oh, ow) and steps to the next pixel: base + offset
  // when its window is inside the image (most pixels), else the clipped walk (zero row).
  auto point = [&](const int8_t** rows) {
    const int64_t ih = oh * s.stride_h - s.pad_top, iw = ow * s.stride_w - s.pad_left;
    if (grouped && ih >= 0 && ih + last_h < s.in_h && iw >= 0 && iw + last_w < s.in_w) {
      const int8_t* base = a.xq + ((b * s.in_h + ih) * s.in_w + iw) * a.cp;
      for (int64_t t = 0; t < taps; ++t) rows[t] = base + offset[t];
    } else {
      int8_depthwise_tap_rows(a, b, oh, ow, rows);
    }
    if (++ow == s.out_w) {
      ow = 0;
      if (++oh == s.out_h) oh = 0, ++b;
    }
  };
  int64_t p = p0;
  if (grouped)
    for (; p + kPixels <= p1; p += kPixels) {
      for (int i = 0; i < kPixels; ++i) point(group_rows + i * a.taps_even);
      pixels<kPixels>(a, group_rows, taps, oc, dst + (p - p0) * oc);
    }
  for (; p < p1; ++p) {
    point(tap_rows);
    pixels<1>(a, tap_rows, taps, oc, dst + (p - p0) * oc);
  }
}

void s8_channel_absmax_avx512vnni(const float* x, int64_t pixels, int64_t c,
                                  uint32_t* max_bits) {
  s8_channel_absmax_impl(x, pixels, c, max_bits);
}

void s8_quantize_rows_avx512vnni(const float* x, int64_t pixels, int64_t c, int64_t dm,
                                 int64_t cp, const float* scale, int8_t* dst) {
  if (dm != 1) return s8_quantize_rows_impl(x, pixels, c, dm, cp, scale, dst, 0x80);
  // clip to [-127, 127], round half to even (the same as rounding first: +-127 are integers),
  // narrow to bytes, + 128 (xor 0x80); the padding lanes (zeros read past c) give 0x80.
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (int64_t p = 0; p < pixels; ++p) {
    const float* row = x + p * c;
    int8_t* d = dst + p * cp;
    for (int64_t o = 0; o < cp; o += 16) {
      const __mmask16 m = lane_mask(c - o > 0 ? c - o : 0);
      const __m512 q = _mm512_min_ps(
          hi, _mm512_max_ps(lo, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + o),
                                              _mm512_maskz_loadu_ps(m, scale + o))));
      const __m512i i = _mm512_cvt_roundps_epi32(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + o),
                       _mm_xor_si128(_mm512_cvtsepi32_epi8(i), flip));
    }
  }
}

}  // namespace nnfast::kernels
