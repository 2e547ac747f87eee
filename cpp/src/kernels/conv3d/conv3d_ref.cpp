// Scalar reference 3-D convolution (see conv3d_kernels.h). Plain loops, double-free: the
// fast path (depth gather + the conv2d machinery) is tested against these and against a
// float64 NumPy computation.
#include <algorithm>

#include "kernels/conv3d/conv3d_kernels.h"

namespace nnfast::kernels {

namespace {

inline int64_t src_index(const Conv3DShape& s, int64_t b, int64_t d, int64_t h, int64_t w) {
  return (((b * s.in_d + d) * s.in_h + h) * s.in_w + w) * s.in_c;
}

inline int64_t dst_index(const Conv3DShape& s, int64_t b, int64_t d, int64_t h, int64_t w) {
  return (((b * s.out_d + d) * s.out_h + h) * s.out_w + w) * s.out_c;
}

inline int64_t kernel_index(const Conv3DShape& s, int64_t kd, int64_t kh, int64_t kw) {
  return ((kd * s.kernel_h + kh) * s.kernel_w + kw) * (s.in_c / s.groups) * s.out_c;
}

}  // namespace

void f32_conv3d_fwd_ref(const Conv3DShape& s, const float* src, const float* kernel,
                        const float* bias, float* dst, int64_t begin, int64_t end) {
  const int64_t cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t oh = row % s.out_h, od = (row / s.out_h) % s.out_d;
    const int64_t b = row / (s.out_h * s.out_d);
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      float* out = dst + dst_index(s, b, od, oh, ow);
      for (int64_t o = 0; o < s.out_c; ++o) out[o] = bias ? bias[o] : 0.0f;
      for (int64_t kd = 0; kd < s.kernel_d; ++kd) {
        const int64_t id = od * s.stride_d - s.pad_front + kd * s.dilation_d;
        if (id < 0 || id >= s.in_d) continue;
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.in_w) continue;
            const float* x = src + src_index(s, b, id, ih, iw);
            const float* k = kernel + kernel_index(s, kd, kh, kw);
            for (int64_t o = 0; o < s.out_c; ++o) {
              const int64_t g = o / cout_g;
              float acc = 0.0f;
              for (int64_t ci = 0; ci < cin_g; ++ci) acc += x[g * cin_g + ci] * k[ci * s.out_c + o];
              out[o] += acc;
            }
          }
        }
      }
    }
  }
}

void f32_conv3d_bwd_data_ref(const Conv3DShape& s, const float* ddst, const float* kernel,
                             float* dsrc, int64_t begin, int64_t end) {
  const int64_t cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t ih = row % s.in_h, id = (row / s.in_h) % s.in_d;
    const int64_t b = row / (s.in_h * s.in_d);
    for (int64_t iw = 0; iw < s.in_w; ++iw) {
      float* dx = dsrc + src_index(s, b, id, ih, iw);
      std::fill(dx, dx + s.in_c, 0.0f);
      for (int64_t kd = 0; kd < s.kernel_d; ++kd) {
        const int64_t td = id + s.pad_front - kd * s.dilation_d;
        if (td < 0 || td % s.stride_d || td / s.stride_d >= s.out_d) continue;
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          const int64_t th = ih + s.pad_top - kh * s.dilation_h;
          if (th < 0 || th % s.stride_h || th / s.stride_h >= s.out_h) continue;
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const int64_t tw = iw + s.pad_left - kw * s.dilation_w;
            if (tw < 0 || tw % s.stride_w || tw / s.stride_w >= s.out_w) continue;
            const float* g =
                ddst + dst_index(s, b, td / s.stride_d, th / s.stride_h, tw / s.stride_w);
            const float* k = kernel + kernel_index(s, kd, kh, kw);
            for (int64_t c = 0; c < s.in_c; ++c) {
              const int64_t grp = c / cin_g, ci = c % cin_g;
              float acc = 0.0f;
              for (int64_t o = grp * cout_g; o < (grp + 1) * cout_g; ++o)
                acc += g[o] * k[ci * s.out_c + o];
              dx[c] += acc;
            }
          }
        }
      }
    }
  }
}

void f32_conv3d_bwd_weights_ref(const Conv3DShape& s, const float* src, const float* ddst,
                                float* dkernel, float* dbias) {
  const int64_t cin_g = s.in_c / s.groups, cout_g = s.out_c / s.groups;
  std::fill(dkernel, dkernel + s.kernel_d * s.kernel_h * s.kernel_w * cin_g * s.out_c, 0.0f);
  if (dbias) std::fill(dbias, dbias + s.out_c, 0.0f);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t od = 0; od < s.out_d; ++od)
      for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          const float* g = ddst + dst_index(s, b, od, oh, ow);
          if (dbias)
            for (int64_t o = 0; o < s.out_c; ++o) dbias[o] += g[o];
          for (int64_t kd = 0; kd < s.kernel_d; ++kd) {
            const int64_t id = od * s.stride_d - s.pad_front + kd * s.dilation_d;
            if (id < 0 || id >= s.in_d) continue;
            for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
              const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
              if (ih < 0 || ih >= s.in_h) continue;
              for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
                const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (iw < 0 || iw >= s.in_w) continue;
                const float* x = src + src_index(s, b, id, ih, iw);
                float* dk = dkernel + kernel_index(s, kd, kh, kw);
                for (int64_t ci = 0; ci < cin_g; ++ci)
                  for (int64_t o = 0; o < s.out_c; ++o)
                    dk[ci * s.out_c + o] += x[(o / cout_g) * cin_g + ci] * g[o];
              }
            }
          }
        }
}

}  // namespace nnfast::kernels
