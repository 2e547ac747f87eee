// 3-D convolution driver: validates, then runs one of (dispatch list, reference last):
//   - f32_conv3d_depth2col_conv2d: the depth taps are gathered into channels ("depth2col":
//     for each output depth od, the kernel_d input slices it reads are laid side by side as
//     (groups, kernel_d, in_c/groups) channels), which turns the 3-D convolution into a 2-D one
//     over batch*out_d images with kernel_d*in_c channels and the kernel rearranged once to
//     (kh, kw, kernel_d*cin_g, out_c). The 2-D passes (forward, backward-data,
//     backward-weights) then run on the conv2d machinery (implicit-GEMM register tiles,
//     im2col + SGEMM), with their ISA dispatch.
//   - f32_conv3d_ref: direct scalar loops (kernels/conv3d/conv3d_ref.cpp), under
//     NNFAST_MAX_ISA=ref.
//
// NOTE: depth2col costs kernel_d copies of the input; slices are processed in chunks that keep
// that buffer under kColFloats, so memory stays bounded for large volumes. Backward-data adds
// each chunk's depth-column gradient back into dsrc by input row (threads split rows h, so no
// two threads write the same element); backward-weights adds the chunks' partial kernels in
// chunk order (same thread count => same bits).
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <stdexcept>
#include <string>

#include "kernels/conv3d/conv3d_kernels.h"
#include "nnfast/buffer_cache.h"
#include "nnfast/conv.h"
#include "nnfast/conv3d.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {

namespace {

constexpr int64_t kColFloats = 8 * 1024 * 1024;  // 32 MB of depth columns per chunk

enum class Conv3DImpl { depth2col, ref };

const Conv3DImpl kDepth2col = Conv3DImpl::depth2col, kConv3DRef = Conv3DImpl::ref;
// depth2col runs each output depth slice as a 2-D convolution (the conv2d registries pick its
// kernels); the reference is the direct 7-loop definition.
const dispatch::Registry<Conv3DImpl> kConv3D{
    "conv3d",
    {{Isa::avx2, "f32_conv3d_depth2col_conv2d", &kDepth2col},
     {Isa::ref, "f32_conv3d_ref", &kConv3DRef}}};

Conv3DImpl pick_conv3d() { return *kConv3D.select().fns; }

// The 2-D convolution each output depth slice runs on its depth columns.
Conv2DShape plane_shape(const Conv3DShape& s, int64_t slices) {
  Conv2DShape p;
  p.batch = slices;
  p.in_h = s.in_h;
  p.in_w = s.in_w;
  p.in_c = s.kernel_d * s.in_c;
  p.out_h = s.out_h;
  p.out_w = s.out_w;
  p.out_c = s.out_c;
  p.kernel_h = s.kernel_h;
  p.kernel_w = s.kernel_w;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.dilation_h = s.dilation_h;
  p.dilation_w = s.dilation_w;
  p.pad_top = s.pad_top;
  p.pad_left = s.pad_left;
  p.groups = s.groups;
  return p;
}

// Depth columns need no copy when every output depth reads exactly its own input slice.
bool depth_is_identity(const Conv3DShape& s) {
  return s.kernel_d == 1 && s.stride_d == 1 && s.pad_front == 0 && s.in_d == s.out_d;
}

int64_t slices_per_chunk(const Conv3DShape& s) {
  const int64_t per_slice = std::max<int64_t>(1, s.in_h * s.in_w * s.kernel_d * s.in_c);
  return std::max<int64_t>(1, kColFloats / per_slice);
}

// Input depth read by output depth od at depth tap t, or -1 when it falls in the padding.
inline int64_t input_depth(const Conv3DShape& s, int64_t od, int64_t t) {
  const int64_t id = od * s.stride_d - s.pad_front + t * s.dilation_d;
  return id >= 0 && id < s.in_d ? id : -1;
}

// col[(slice - s0), h, w, g, t, ci] = src[b, id(od, t), h, w, g*cin_g + ci] (0 in padding)
// for the output slices [s0, s1) of the flattened (batch, out_d) index.
void gather_depth_columns(const Conv3DShape& s, const float* src, int64_t s0, int64_t s1,
                          float* col) {
  const int64_t KD = s.kernel_d, C = s.in_c, G = s.groups, cin_g = C / G;
  const int64_t plane = s.in_h * s.in_w;
  parallel_for_rows((s1 - s0) * s.in_h, s.in_w * KD * C, 1 << 15, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t slice = s0 + r / s.in_h, h = r % s.in_h;
      const int64_t b = slice / s.out_d, od = slice % s.out_d;
      float* out = col + ((r / s.in_h) * plane + h * s.in_w) * KD * C;
      for (int64_t t = 0; t < KD; ++t) {
        const int64_t id = input_depth(s, od, t);
        const float* in = id < 0 ? nullptr : src + (((b * s.in_d + id) * s.in_h + h) * s.in_w) * C;
        for (int64_t w = 0; w < s.in_w; ++w)
          for (int64_t g = 0; g < G; ++g) {
            float* dst = out + w * KD * C + (g * KD + t) * cin_g;
            if (in)
              std::memcpy(dst, in + w * C + g * cin_g, sizeof(float) * cin_g);
            else
              std::fill(dst, dst + cin_g, 0.0f);
          }
      }
    }
  });
}

// dsrc[b, id, h, w, g*cin_g + ci] += dcol[(slice - s0), h, w, g, t, ci] for every (od, t) of
// the slices [s0, s1) that read input depth id.
void scatter_depth_columns(const Conv3DShape& s, const float* dcol, int64_t s0, int64_t s1,
                           float* dsrc) {
  const int64_t KD = s.kernel_d, C = s.in_c, G = s.groups, cin_g = C / G;
  const int64_t plane = s.in_h * s.in_w;
  parallel_for_rows(s.in_h, (s1 - s0) * s.in_w * KD * C, 1 << 15, [&](int64_t h0, int64_t h1) {
    for (int64_t slice = s0; slice < s1; ++slice) {
      const int64_t b = slice / s.out_d, od = slice % s.out_d;
      for (int64_t t = 0; t < KD; ++t) {
        const int64_t id = input_depth(s, od, t);
        if (id < 0) continue;
        for (int64_t h = h0; h < h1; ++h) {
          const float* in = dcol + ((slice - s0) * plane + h * s.in_w) * KD * C;
          float* out = dsrc + (((b * s.in_d + id) * s.in_h + h) * s.in_w) * C;
          for (int64_t w = 0; w < s.in_w; ++w)
            for (int64_t g = 0; g < G; ++g) {
              const float* src = in + w * KD * C + (g * KD + t) * cin_g;
              float* dst = out + w * C + g * cin_g;
              for (int64_t ci = 0; ci < cin_g; ++ci) dst[ci] += src[ci];
            }
        }
      }
    }
  });
}

// kernel (kd, kh, kw, cin_g, out) <-> plane kernel (kh, kw, kd*cin_g, out).
void kernel_to_plane(const Conv3DShape& s, const float* kernel, float* plane, bool inverse) {
  const int64_t block = (s.in_c / s.groups) * s.out_c;
  for (int64_t t = 0; t < s.kernel_d; ++t)
    for (int64_t kh = 0; kh < s.kernel_h; ++kh)
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        float* a = const_cast<float*>(kernel) + ((t * s.kernel_h + kh) * s.kernel_w + kw) * block;
        float* b = plane + ((kh * s.kernel_w + kw) * s.kernel_d + t) * block;
        if (inverse)
          std::memcpy(a, b, sizeof(float) * block);
        else
          std::memcpy(b, a, sizeof(float) * block);
      }
}

// Scratch floats; blocks of 1 MB and more come from the buffer cache, so the depth columns
// of the next batch reuse already-mapped memory instead of page-faulting ~kColFloats afresh
// (measured: the forward pass of a 40x48x48x96 -> 4 layer went from 0.09 s to 0.05 s).
struct Scratch {
  float* data = nullptr;
  size_t bytes = 0;
  bool cached = false;
  float& operator[](int64_t i) { return data[i]; }
  float* get() { return data; }
  explicit operator bool() const { return data != nullptr; }
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Scratch(Scratch&& o) noexcept : data(o.data), bytes(o.bytes), cached(o.cached) {
    o.data = nullptr;
  }
  Scratch& operator=(Scratch&& o) noexcept {
    std::swap(data, o.data);
    std::swap(bytes, o.bytes);
    std::swap(cached, o.cached);
    return *this;
  }
  ~Scratch() {
    if (!data) return;
    if (cached)
      buffer_cache_release(data, bytes);
    else
      delete[] data;
  }
};

Scratch floats(int64_t n) {
  Scratch s;
  s.bytes = sizeof(float) * static_cast<size_t>(std::max<int64_t>(n, 1));
  if (s.bytes >= kBufferCacheMinBytes) {
    s.data = static_cast<float*>(buffer_cache_allocate(s.bytes));
    if (!s.data) throw std::bad_alloc();
    s.cached = true;
  } else {
    s.data = new float[s.bytes / sizeof(float)];
  }
  return s;
}

int64_t kernel_size(const Conv3DShape& s) {
  return s.kernel_d * s.kernel_h * s.kernel_w * (s.in_c / s.groups) * s.out_c;
}

}  // namespace

void conv3d_validate(const Conv3DShape& s) {
  auto fail = [](const std::string& what) { throw std::invalid_argument("conv3d: " + what); };
  if (s.batch < 0 || s.in_d < 0 || s.in_h < 0 || s.in_w < 0 || s.out_d < 0 || s.out_h < 0 ||
      s.out_w < 0)
    fail("negative size: batch=" + std::to_string(s.batch) + " in=(" + std::to_string(s.in_d) +
         ", " + std::to_string(s.in_h) + ", " + std::to_string(s.in_w) + ") out=(" +
         std::to_string(s.out_d) + ", " + std::to_string(s.out_h) + ", " +
         std::to_string(s.out_w) + ")");
  if (s.in_c <= 0 || s.out_c <= 0)
    fail("channels must be positive, received in_c=" + std::to_string(s.in_c) +
         " out_c=" + std::to_string(s.out_c));
  if (s.kernel_d <= 0 || s.kernel_h <= 0 || s.kernel_w <= 0) fail("kernel size must be positive");
  if (s.stride_d <= 0 || s.stride_h <= 0 || s.stride_w <= 0)
    fail("strides must be positive, received (" + std::to_string(s.stride_d) + ", " +
         std::to_string(s.stride_h) + ", " + std::to_string(s.stride_w) + ")");
  if (s.dilation_d <= 0 || s.dilation_h <= 0 || s.dilation_w <= 0)
    fail("dilation rates must be positive");
  if (s.pad_front < 0 || s.pad_top < 0 || s.pad_left < 0) fail("paddings must be >= 0");
  if (s.groups <= 0 || s.in_c % s.groups || s.out_c % s.groups)
    fail("in_c=" + std::to_string(s.in_c) + " and out_c=" + std::to_string(s.out_c) +
         " must both be divisible by groups=" + std::to_string(s.groups));
}

const char* conv3d_variant_name() { return kConv3D.peek().name; }

void conv3d_forward(const Conv3DShape& s, const float* src, const float* kernel,
                    const float* bias, Activation act, const ActivationParams& act_params,
                    float* dst) {
  conv3d_validate(s);
  const int64_t out_plane = s.out_h * s.out_w * s.out_c;
  if (s.batch * s.out_d * out_plane == 0) return;
  if (pick_conv3d() == Conv3DImpl::ref) {
    parallel_for_rows(s.batch * s.out_d * s.out_h, s.out_w * s.out_c, 1 << 12,
                      [&](int64_t r0, int64_t r1) {
                        kernels::f32_conv3d_fwd_ref(s, src, kernel, bias, dst, r0, r1);
                      });
    if (act != Activation::linear)
      bias_activation_inplace(dst, s.batch * s.out_d * s.out_h * s.out_w, s.out_c, nullptr, act,
                              act_params);
    return;
  }
  auto plane_kernel = floats(kernel_size(s));
  kernel_to_plane(s, kernel, plane_kernel.get(), false);
  const int64_t slices = s.batch * s.out_d;
  if (depth_is_identity(s)) {
    conv2d_forward(plane_shape(s, slices), src, plane_kernel.get(), bias, act, act_params, dst);
    return;
  }
  const int64_t chunk = std::min(slices, slices_per_chunk(s));
  auto col = floats(chunk * s.in_h * s.in_w * s.kernel_d * s.in_c);
  for (int64_t s0 = 0; s0 < slices; s0 += chunk) {
    const int64_t s1 = std::min(slices, s0 + chunk);
    gather_depth_columns(s, src, s0, s1, col.get());
    conv2d_forward(plane_shape(s, s1 - s0), col.get(), plane_kernel.get(), bias, act,
                   act_params, dst + s0 * out_plane);
  }
}

void conv3d_backward_data(const Conv3DShape& s, const float* ddst, const float* kernel,
                          float* dsrc) {
  conv3d_validate(s);
  const int64_t in_size = s.batch * s.in_d * s.in_h * s.in_w * s.in_c;
  if (in_size == 0) return;
  if (pick_conv3d() == Conv3DImpl::ref) {
    parallel_for_rows(s.batch * s.in_d * s.in_h, s.in_w * s.in_c, 1 << 12,
                      [&](int64_t r0, int64_t r1) {
                        kernels::f32_conv3d_bwd_data_ref(s, ddst, kernel, dsrc, r0, r1);
                      });
    return;
  }
  auto plane_kernel = floats(kernel_size(s));
  kernel_to_plane(s, kernel, plane_kernel.get(), false);
  const int64_t slices = s.batch * s.out_d;
  if (depth_is_identity(s)) {
    conv2d_backward_data(plane_shape(s, slices), ddst, plane_kernel.get(), dsrc);
    return;
  }
  std::fill(dsrc, dsrc + in_size, 0.0f);
  if (slices == 0) return;
  const int64_t out_plane = s.out_h * s.out_w * s.out_c;
  const int64_t chunk = std::min(slices, slices_per_chunk(s));
  auto dcol = floats(chunk * s.in_h * s.in_w * s.kernel_d * s.in_c);
  for (int64_t s0 = 0; s0 < slices; s0 += chunk) {
    const int64_t s1 = std::min(slices, s0 + chunk);
    conv2d_backward_data(plane_shape(s, s1 - s0), ddst + s0 * out_plane, plane_kernel.get(),
                         dcol.get());
    scatter_depth_columns(s, dcol.get(), s0, s1, dsrc);
  }
}

void conv3d_backward_weights(const Conv3DShape& s, const float* src, const float* ddst,
                             float* dkernel, float* dbias) {
  conv3d_validate(s);
  const int64_t ksize = kernel_size(s);
  const int64_t slices = s.batch * s.out_d;
  if (slices * s.out_h * s.out_w == 0) {
    std::fill(dkernel, dkernel + ksize, 0.0f);
    if (dbias) std::fill(dbias, dbias + s.out_c, 0.0f);
    return;
  }
  if (pick_conv3d() == Conv3DImpl::ref) {
    kernels::f32_conv3d_bwd_weights_ref(s, src, ddst, dkernel, dbias);
    return;
  }
  auto plane_kernel = floats(ksize);
  if (depth_is_identity(s)) {
    conv2d_backward_weights(plane_shape(s, slices), src, ddst, plane_kernel.get(), dbias);
    kernel_to_plane(s, dkernel, plane_kernel.get(), true);
    return;
  }
  const int64_t out_plane = s.out_h * s.out_w * s.out_c;
  const int64_t chunk = std::min(slices, slices_per_chunk(s));
  auto col = floats(chunk * s.in_h * s.in_w * s.kernel_d * s.in_c);
  Scratch part_kernel, part_bias;
  for (int64_t s0 = 0; s0 < slices; s0 += chunk) {
    const int64_t s1 = std::min(slices, s0 + chunk);
    gather_depth_columns(s, src, s0, s1, col.get());
    if (s0 == 0) {
      conv2d_backward_weights(plane_shape(s, s1 - s0), col.get(), ddst, plane_kernel.get(),
                              dbias);
      continue;
    }
    if (!part_kernel) {
      part_kernel = floats(ksize);
      part_bias = floats(s.out_c);
    }
    conv2d_backward_weights(plane_shape(s, s1 - s0), col.get(), ddst + s0 * out_plane,
                            part_kernel.get(), dbias ? part_bias.get() : nullptr);
    for (int64_t i = 0; i < ksize; ++i) plane_kernel[i] += part_kernel[i];
    if (dbias)
      for (int64_t o = 0; o < s.out_c; ++o) dbias[o] += part_bias[o];
  }
  kernel_to_plane(s, dkernel, plane_kernel.get(), true);
}

}  // namespace nnfast
