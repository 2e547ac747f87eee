// int8 GEMM driver: packs B once, lays A out in a zero-padded row-major buffer (quantizing
// float rows on the way for int8_dense), and runs the variant's micro-kernel over 32-column
// tiles in parallel; every output is summed whole by one thread (the same bits at any thread
// count), then written out as int32 or dequantized to float32 in the tile's epilogue.
#include "nnfast/gemm_int8.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/gemm/gemm_int8_kernels.h"
#include "ops/gemm_int8_rows.h"
#include "nnfast/activation.h"
#include "nnfast/conv.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "ops/scratch.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

using int8_rows::run_tiles;
using kernels::Int8GemmKernelInfo;
using kernels::kInt8Nr;

thread_local ScratchBuffer<int8_t> tl_a;

const Int8GemmKernelInfo* kernel_of(Int8GemmVariant v) {
  switch (v) {
    case Int8GemmVariant::amx: return &kernels::int8_gemm_amx_info;
    case Int8GemmVariant::avx512vnni: return &kernels::int8_gemm_avx512vnni_info;
    case Int8GemmVariant::avxvnni: return &kernels::int8_gemm_avxvnni_info;
    default: return &kernels::int8_gemm_ref_info;
  }
}

const Int8GemmVariant kAmx = Int8GemmVariant::amx, kVnni = Int8GemmVariant::avx512vnni,
                      kAvxVnni = Int8GemmVariant::avxvnni, kRef = Int8GemmVariant::ref;
const dispatch::Registry<Int8GemmVariant> kInt8Gemm{
    "gemm_int8",
    {{Isa::avx512, "int8_gemm_32x32_amx", &kAmx, nullptr, nullptr, cpu_has_amx_int8,
      "AMX-INT8 tiles"},
     {Isa::avx512, "int8_gemm_8x32_avx512vnni", &kVnni, nullptr, nullptr, cpu_has_avx512_vnni,
      "AVX512_VNNI"},
     {Isa::avx2, "int8_gemm_3x32_avxvnni", &kAvxVnni, nullptr, nullptr, cpu_has_avx_vnni,
      "AVX-VNNI"},
     {Isa::ref, "int8_gemm_ref", &kRef}}};

// `best` goes through the registry (recorded and logged when `record`); a named variant is
// checked and taken as asked.
Int8GemmVariant resolve(Int8GemmVariant v, bool record = true) {
  if (v != Int8GemmVariant::best) {
    if (!gemm_int8_variant_available(v))
      throw std::invalid_argument("gemm_int8: variant " + std::to_string(static_cast<int>(v)) +
                                  " cannot run on this CPU under the current ISA cap");
    log_choice("gemm_int8", kernel_of(v)->name, "asked for");
    return v;
  }
  return record ? *kInt8Gemm.select().fns : *kInt8Gemm.peek().fns;
}

void check_dims(const char* who, int64_t m, int64_t k, const Int8PackedKernel& b) {
  if (m < 0)
    throw std::invalid_argument(std::string(who) + ": negative row count m=" + std::to_string(m));
  if (k != b.k)
    throw std::invalid_argument(std::string(who) + ": A has depth " + std::to_string(k) +
                                " but the packed kernel has " + std::to_string(b.k));
}

}  // namespace

bool gemm_int8_variant_available(Int8GemmVariant variant) {
  const bool avx512 = active_isa() == Isa::avx512;
  switch (variant) {
    case Int8GemmVariant::amx: return avx512 && cpu_has_amx_int8();
    case Int8GemmVariant::avx512vnni: return avx512 && cpu_has_avx512_vnni();
    case Int8GemmVariant::avxvnni: return active_isa() != Isa::ref && cpu_has_avx_vnni();
    default: return true;
  }
}

const char* gemm_int8_kernel_name() { return kernel_of(resolve(Int8GemmVariant::best, false))->name; }

Int8PackedKernel pack_int8_kernel(const int8_t* b, int64_t k, int64_t n, int64_t ldb) {
  if (k < 0 || n < 0 || ldb < n)
    throw std::invalid_argument("pack_int8_kernel: bad shape k=" + std::to_string(k) +
                                " n=" + std::to_string(n) + " ldb=" + std::to_string(ldb));
  if (k > kInt8GemmMaxDepth)
    throw std::invalid_argument("pack_int8_kernel: depth k=" + std::to_string(k) +
                                " exceeds " + std::to_string(kInt8GemmMaxDepth) +
                                " (int32 sums could overflow)");
  Int8PackedKernel p;
  p.k = k;
  p.n = n;
  p.kp = std::max<int64_t>(64, (k + 63) / 64 * 64);
  p.n_pad = std::max<int64_t>(kInt8Nr, (n + kInt8Nr - 1) / kInt8Nr * kInt8Nr);
  p.data.assign(static_cast<size_t>(p.n_pad * p.kp), 0);
  p.col_sums.assign(static_cast<size_t>(p.n_pad), 0);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < n; ++j) {
      const int8_t v = b[r * ldb + j];
      p.data[(j / 16) * 16 * p.kp + (r / 4) * 64 + (j % 16) * 4 + r % 4] = v;
      p.col_sums[j] += v;
    }
  return p;
}

void gemm_int8_s32(int64_t m, int64_t k, const int8_t* a, int64_t lda, const Int8PackedKernel& b,
                   int32_t* c, int64_t ldc, Int8GemmVariant variant) {
  check_dims("gemm_int8", m, k, b);
  if (lda < b.k || ldc < b.n)
    throw std::invalid_argument("gemm_int8: leading dimension too small: lda=" +
                                std::to_string(lda) + " ldc=" + std::to_string(ldc));
  if (m == 0 || b.n == 0) return;
  const Int8GemmVariant chosen = resolve(variant);
  const Int8GemmKernelInfo& kern = *kernel_of(chosen);
  int8_t* abuf = int8_rows::a_buffer(kern, m, b.kp);
  const int8_t flip = kern.offset_a ? static_cast<int8_t>(0x80) : 0;
  parallel_for_rows(m, b.kp, int64_t{1} << 16, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      int8_t* dst = abuf + i * b.kp;
      for (int64_t p = 0; p < b.k; ++p) dst[p] = static_cast<int8_t>(a[i * lda + p] ^ flip);
      std::memset(dst + b.k, 0, static_cast<size_t>(b.kp - b.k));
    }
  });
  run_tiles(kern, m, abuf, b,
            [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols, const int32_t* acc) {
              for (int64_t i = 0; i < rows; ++i)
                std::memcpy(c + (i0 + i) * ldc + j0, acc + i * kInt8Nr,
                            sizeof(int32_t) * static_cast<size_t>(cols));
            });
}

namespace {

// Raises ep.channel_absmax over a finished tile, one sample's rows at a time (threads may
// share a sample: a compare-and-swap max).
// dst[j] = max(dst[j], bits[j]), j < cols: an atomic max where threads may share dst (a
// locked compare-and-swap waits for the tile's stores to drain: private maxima skip it).
void raise_bits(const int32_t* bits, int64_t cols, int32_t* dst, bool shared = true) {
  if (!shared) {
    for (int64_t j = 0; j < cols; ++j) dst[j] = std::max(dst[j], bits[j]);
    return;
  }
  for (int64_t j = 0; j < cols; ++j) {
    int32_t cur = __atomic_load_n(dst + j, __ATOMIC_RELAXED);
    while (bits[j] > cur && !__atomic_compare_exchange_n(dst + j, &cur, bits[j], true,
                                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
  }
}

// dst[j] = max(dst[j], bits of max |tile[i][j]|) over a (rows, cols) tile with row stride
// ldy: an atomic max (threads may share dst).
void raise_column_absmax(const float* tile, int64_t ldy, int64_t rows, int64_t cols, bool simd,
                         int32_t* dst) {
  int32_t bits[kInt8Nr];
  if (simd) {
    kernels::int8_column_absmax_avx512(tile, ldy, rows, cols, bits);
  } else {
    for (int64_t j = 0; j < cols; ++j) {
      int32_t mx = 0;
      for (int64_t i = 0; i < rows; ++i) {
        int32_t v;
        std::memcpy(&v, tile + i * ldy + j, sizeof(v));
        mx = std::max(mx, v & 0x7fffffff);
      }
      bits[j] = mx;
    }
  }
  raise_bits(bits, cols, dst);
}

// Raises ep.channel_absmax over a finished tile, one sample's rows at a time.
// row_base: the model row of y's row 0.
void raise_channel_absmax(const Int8Epilogue& ep, const float* y, int64_t ldy, int64_t i0,
                          int64_t rows, int64_t j0, int64_t cols, int64_t n, bool simd,
                          int64_t row_base) {
  for (int64_t r = 0; r < rows;) {
    const int64_t sample = (row_base + i0 + r) / ep.rows_per_sample;
    const int64_t end = std::min(rows, (sample + 1) * ep.rows_per_sample - row_base - i0);
    raise_column_absmax(y + (i0 + r) * ldy + j0, ldy, end - r, cols, simd,
                        ep.channel_absmax + sample * n + j0);
    r = end;
  }
}

}  // namespace

namespace int8_rows {

const Int8GemmKernelInfo& gemm_kernel(Int8GemmVariant variant) {
  return *kernel_of(resolve(variant));
}

bool simd_rows(const Int8GemmKernelInfo& kern) {
  return &kern != &kernels::int8_gemm_ref_info && &kern != &kernels::int8_gemm_avxvnni_info;
}

bool quantize_row(const Int8GemmKernelInfo& kern, const float* row, int64_t k, int64_t kp,
                  float epsilon, int8_t* dst, float* scale_out) {
  const int8_t flip = kern.offset_a ? static_cast<int8_t>(0x80) : 0;
  if (simd_rows(kern))
    return kernels::int8_quantize_row_padded_avx512(row, k, kp, epsilon, flip, dst, scale_out);
  std::memset(dst + k, kern.offset_a ? 0x80 : 0, static_cast<size_t>(kp - k));
  float amax = 0.0f;
  bool ok = true;
  for (int64_t p = 0; p < k; ++p) {
    const float v = std::fabs(row[p]);
    ok &= std::isfinite(v);
    amax = v > amax ? v : amax;
  }
  const float scale = 127.0f / (amax + epsilon);
  *scale_out = scale;
  for (int64_t p = 0; p < k; ++p) {
    float q = ok ? std::nearbyint(row[p] * scale) : 0.0f;
    q = std::min(127.0f, std::max(-127.0f, q));
    dst[p] = static_cast<int8_t>(static_cast<int8_t>(q) ^ flip);
  }
  return ok;
}

void quantize_rows(const Int8GemmKernelInfo& kern, const float* x, int64_t ldx, int64_t m,
                   int64_t k, int64_t kp, float epsilon, int8_t* dst, float* scale,
                   char* finite) {
  if (simd_rows(kern))
    return kernels::int8_quantize_rows_padded_avx512(
        x, ldx, m, k, kp, epsilon, kern.offset_a ? static_cast<int8_t>(0x80) : 0, dst, scale,
        finite);
  for (int64_t i = 0; i < m; ++i)
    finite[i] = quantize_row(kern, x + i * ldx, k, kp, epsilon, dst + i * kp, &scale[i]);
}

int8_t* a_buffer(const Int8GemmKernelInfo& kern, int64_t m, int64_t kp) {
  const int64_t rows = (m + kern.mr - 1) / kern.mr * kern.mr;
  int8_t* buf = tl_a.get(static_cast<size_t>(rows * kp));
  std::memset(buf + m * kp, 0, static_cast<size_t>((rows - m) * kp));
  return buf;
}

DequantizeEpilogue::DequantizeEpilogue(const Int8GemmKernelInfo& kern, const Int8PackedKernel& b,
                                       const float* kernel_scale, const float* bias,
                                       const Int8Epilogue& ep, bool divide)
    : b_(b), kernel_scale_(kernel_scale), bias_(bias), ep_(ep), divide_(divide),
      simd_(simd_rows(kern)), clamped_(false) {
  // Without a residual, the convolutions clamp relu/relu6 in the dequantizing store itself
  // (one pass over the tile instead of two); anything else runs after it on the tile.
  constexpr float inf = std::numeric_limits<float>::infinity();
  lo_ = -inf, hi_ = inf;
  if (!divide && !ep.residual) {
    if (ep.act == Activation::relu6) {
      lo_ = 0.0f, hi_ = 6.0f, clamped_ = true;
    } else if (ep.act == Activation::relu && ep.params.alpha == 0.0f &&
               ep.params.threshold == 0.0f) {
      lo_ = 0.0f, hi_ = ep.params.max_value, clamped_ = true;
    }
  }
  tail_ = !clamped_ && (ep.residual || ep.act != Activation::linear);
  if (!divide) {
    inv_kernel_scale_.resize(static_cast<size_t>(b.n));
    for (int64_t j = 0; j < b.n; ++j) inv_kernel_scale_[j] = 1.0f / kernel_scale[j];
  }
}

void DequantizeEpilogue::operator()(int64_t i0, int64_t rows, int64_t j0, int64_t cols,
                                    const int32_t* acc, const float* x_scale, const char* finite,
                                    float* y, int64_t ldy, const float* residual,
                                    int64_t row_base, int32_t* column_max,
                                    bool column_max_shared) const {
  const float nan = std::nanf("");
  const float* bias = bias_ ? bias_ + j0 : nullptr;
  if (!divide_ && simd_) {  // the whole tile in one call, column maxima gathered on the way
    int32_t bits[kInt8Nr];
    const bool fused_max = column_max && !tail_;
    kernels::int8_dequantize_tile_mul_avx512(acc, rows, cols, x_scale + i0, finite + i0,
                                             inv_kernel_scale_.data() + j0, bias, lo_, hi_,
                                             y + i0 * ldy + j0, ldy, fused_max ? bits : nullptr);
    if (fused_max) raise_bits(bits, cols, column_max + j0, column_max_shared);
    if (tail_)
      scale_shift_activation_rows(y + i0 * ldy + j0, ldy, rows, cols, nullptr, nullptr,
                                  residual ? residual + i0 * ep_.ldr + j0 : nullptr, ep_.ldr,
                                  ep_.act, ep_.params);
    if (ep_.channel_absmax)
      raise_channel_absmax(ep_, y, ldy, i0, rows, j0, cols, b_.n, simd_, row_base);
    if (column_max && !fused_max)
      raise_column_absmax(y + i0 * ldy + j0, ldy, rows, cols, simd_, column_max + j0);
    return;
  }
  for (int64_t i = 0; i < rows; ++i) {
    const float xs = x_scale[i0 + i];
    float* out = y + (i0 + i) * ldy + j0;
    const int32_t* a_row = acc + i * kInt8Nr;
    if (!finite[i0 + i]) {  // a NaN/inf input makes the whole row NaN, as in Keras
      for (int64_t j = 0; j < cols; ++j) out[j] = nan;
      continue;
    }
    if (!divide_) {
      const float inv_xs = 1.0f / xs;
      const float* inv_ks = inv_kernel_scale_.data() + j0;
      if (simd_) {
        kernels::int8_dequantize_row_mul_avx512(a_row, cols, inv_xs, inv_ks, bias, lo_, hi_,
                                                out);
        continue;
      }
      for (int64_t j = 0; j < cols; ++j) {
        float v = static_cast<float>(a_row[j]) * (inv_xs * inv_ks[j]);
        if (bias) v += bias[j];
        if (v < lo_) v = lo_;  // (compared so that a NaN stays NaN)
        if (v > hi_) v = hi_;
        out[j] = v;
      }
      continue;
    }
    if (simd_) {
      kernels::int8_dequantize_row_avx512(a_row, cols, xs, kernel_scale_ + j0, bias, out);
      continue;
    }
    for (int64_t j = 0; j < cols; ++j) {
      float v = static_cast<float>(a_row[j]) / (xs * kernel_scale_[j0 + j]);
      if (bias) v += bias[j];
      out[j] = v;
    }
  }
  if (tail_)
    scale_shift_activation_rows(y + i0 * ldy + j0, ldy, rows, cols, nullptr, nullptr,
                                residual ? residual + i0 * ep_.ldr + j0 : nullptr, ep_.ldr,
                                ep_.act, ep_.params);
  if (ep_.channel_absmax)
    raise_channel_absmax(ep_, y, ldy, i0, rows, j0, cols, b_.n, simd_, row_base);
  if (column_max) raise_column_absmax(y + i0 * ldy + j0, ldy, rows, cols, simd_, column_max + j0);
}

}  // namespace int8_rows

namespace {

// The dense step over rows that row_of(i, scratch) hands out (a pointer to k floats: x's own
// row, or a convolution window gathered into `scratch`): Keras's abs-max quantization of each
// row into the A buffer, the variant's tiles, and the dequantizing epilogue with the bias, then
// (while the tile is in cache) the residual and the activation.
// With `divide` false (the convolutions: nnfast's own scheme), the epilogue multiplies by the
// reciprocals instead of dividing (a divide per output cost ~10% of a MobileNet's int8 time).
// `rows`, when not null: row i is rows + i * ldx (row_of is not called; the rows are
// quantized several at a time).
template <typename RowOf>
void int8_dense_rows(int64_t m, RowOf&& row_of, const Int8PackedKernel& b,
                     const float* kernel_scale, const float* bias, float epsilon, float* y,
                     int64_t ldy, const Int8Epilogue& ep, Int8GemmVariant variant, bool divide,
                     const float* rows = nullptr, int64_t ldx = 0) {
  if (m == 0 || b.n == 0) return;
  const Int8GemmKernelInfo& kern = int8_rows::gemm_kernel(variant);
  int8_t* abuf = int8_rows::a_buffer(kern, m, b.kp);
  std::vector<float> x_scale(static_cast<size_t>(m));
  std::vector<char> finite(static_cast<size_t>(m));
  parallel_for_rows(m, b.k, int64_t{1} << 15, [&](int64_t r0, int64_t r1) {
    if (rows) {
      int8_rows::quantize_rows(kern, rows + r0 * ldx, ldx, r1 - r0, b.k, b.kp, epsilon,
                               abuf + r0 * b.kp, &x_scale[r0], &finite[r0]);
      return;
    }
    std::vector<float> scratch;
    for (int64_t i = r0; i < r1; ++i)
      finite[i] = int8_rows::quantize_row(kern, row_of(i, scratch), b.k, b.kp, epsilon,
                                          abuf + i * b.kp, &x_scale[i]);
  });
  const int8_rows::DequantizeEpilogue epilogue(kern, b, kernel_scale, bias, ep, divide);
  run_tiles(kern, m, abuf, b,
            [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols, const int32_t* acc) {
              epilogue(i0, rows, j0, cols, acc, x_scale.data(), finite.data(), y, ldy,
                       ep.residual, 0);
            });
}

}  // namespace

void int8_dense(int64_t m, int64_t k, const float* x, int64_t ldx, const Int8PackedKernel& b,
                const float* kernel_scale, const float* bias, float epsilon, float* y,
                int64_t ldy, Int8GemmVariant variant, const Int8Epilogue& epilogue) {
  check_dims("int8_dense", m, k, b);
  if (ldx < b.k || ldy < b.n)
    throw std::invalid_argument("int8_dense: leading dimension too small: ldx=" +
                                std::to_string(ldx) + " ldy=" + std::to_string(ldy));
  int8_dense_rows(
      m, [&](int64_t i, std::vector<float>&) { return x + i * ldx; }, b, kernel_scale, bias,
      epsilon, y, ldy, epilogue, variant, /*divide=*/true, x, ldx);
}

void int8_conv2d_forward(const Conv2DShape& s, const float* src, const Int8PackedKernel& b,
                         const float* kernel_scale, const float* bias, float epsilon, float* dst,
                         const Int8Epilogue& epilogue, Int8GemmVariant variant) {
  conv2d_validate(s);
  if (s.groups != 1)
    throw std::invalid_argument("int8_conv2d_forward: groups must be 1, received " +
                                std::to_string(s.groups));
  const int64_t k = s.kernel_h * s.kernel_w * s.in_c;
  if (k != b.k || s.out_c != b.n)
    throw std::invalid_argument(
        "int8_conv2d_forward: the packed kernel is (" + std::to_string(b.k) + ", " +
        std::to_string(b.n) + ") but the convolution needs (kh*kw*in_c, out_c) = (" +
        std::to_string(k) + ", " + std::to_string(s.out_c) + ")");
  const int64_t m = s.batch * s.out_h * s.out_w, hw = s.out_h * s.out_w;
  const bool pointwise = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 &&
                         s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
                         s.out_h == s.in_h && s.out_w == s.in_w;
  const size_t row_bytes = static_cast<size_t>(s.in_c) * sizeof(float);
  // Each output pixel's window (kh, kw, in_c order, zeros outside the image), gathered from
  // the NHWC input as its row is quantized: no float im2col matrix is ever stored.
  int8_dense_rows(
      m,
      [&](int64_t p, std::vector<float>& window) -> const float* {
        if (pointwise) return src + p * s.in_c;
        window.resize(static_cast<size_t>(k));
        const int64_t bi = p / hw, oh = (p % hw) / s.out_w, ow = p % s.out_w;
        float* w = window.data();
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          for (int64_t kw = 0; kw < s.kernel_w; ++kw, w += s.in_c) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) {
              std::memset(w, 0, row_bytes);
            } else {
              const float* from = src + ((bi * s.in_h + ih) * s.in_w + iw) * s.in_c;
              if (s.in_c <= 8)  // a stem's 3 channels: a library call per tap costs more
                for (int64_t c = 0; c < s.in_c; ++c) w[c] = from[c];
              else
                std::memcpy(w, from, row_bytes);
            }
          }
        }
        return window.data();
      },
      b, kernel_scale, bias, epsilon, dst, s.out_c, epilogue, variant, /*divide=*/false,
      pointwise ? src : nullptr, s.in_c);
}

}  // namespace nnfast
