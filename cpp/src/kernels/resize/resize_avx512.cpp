// Bilinear resize for AVX-512: the loops of resize_ref.cpp with the contiguous axis in
// 16-lane vectors (masked tails). channels == 1 (channels_first batches are resized as
// (n*c, h, w, 1)) does 16 output columns at a time (register permutes, or gathers for strong
// downsampling) instead of wasting 15 lanes. Written on the vector vocabulary (simd_avx512.h:
// vi_load_m, vpermute2, vgather_m for the permutes and gathers).
#include "kernels/simd_avx512.h"

#include <string.h>

#include "kernels/resize/resize_kernels.h"

namespace nnfast::kernels {
namespace {

// dst[k] = wa * a[k] + wc * c[k], k < n.
inline void lerp_line(const float* a, const float* c, float wa, float wc, float* dst,
                      int64_t n) {
  const VF va = vset1(wa), vc = vset1(wc);
  int64_t k = 0;
  for (; k + W <= n; k += W) vstore(dst + k, vfmadd(vc, vload(c + k), vmul(va, vload(a + k))));
  if (k < n) {
    const VM m = vfirst(clamp_lanes(n - k));
    vstore_m(dst + k, vfmadd(vc, vload_m(c + k, m), vmul(va, vload_m(a + k, m))), m);
  }
}

// acc[k] += w * g[k], k < n.
inline void axpy_line(float w, const float* g, float* acc, int64_t n) {
  const VF vw = vset1(w);
  int64_t k = 0;
  for (; k + W <= n; k += W) vstore(acc + k, vfmadd(vw, vload(g + k), vload(acc + k)));
  if (k < n) {
    const VM m = vfirst(clamp_lanes(n - k));
    vstore_m(acc + k, vfmadd(vw, vload_m(g + k, m), vload_m(acc + k, m)), m);
  }
}

// Width axis of one row: d[ow, :] = w0[ow] * line[lo[ow], :] + w1[ow] * line[hi[ow], :].
void cols_fwd(const ResizeAxis& cols, const float* line, int64_t in_w, int64_t out_w, int64_t C,
              float* d) {
  if (C == 1) {
    for (int64_t ow = 0; ow < out_w; ow += W) {
      const VM m = vfirst(clamp_lanes(out_w - ow));
      const int64_t last = ow + W - 1 < out_w ? ow + W - 1 : out_w - 1;
      const int32_t base = cols.lo[ow];
      VI lo = vi_load_m(cols.lo + ow, m);
      VI hi = vi_load_m(cols.hi + ow, m);
      VF p, q;
      if (cols.hi[last] - base < 2 * W) {
        // The block's taps lie within 2W consecutive inputs (any upsampling, downsampling by
        // less than 2): two loads and in-register permutes instead of gathers.
        const int64_t avail = in_w - base;
        const VF x0 = vload_m(line + base, vfirst(clamp_lanes(avail)));
        const VF x1 = vload_m(line + base + W, vfirst(clamp_lanes(avail - W)));
        const VI vb = vi_set1(base);
        lo = vi_sub(lo, vb);
        hi = vi_sub(hi, vb);
        p = vpermute2(x0, lo, x1);
        q = vpermute2(x0, hi, x1);
      } else {
        p = vgather_m(line, lo, m);
        q = vgather_m(line, hi, m);
      }
      vstore_m(d + ow, vfmadd(vload_m(cols.w1 + ow, m), q, vmul(vload_m(cols.w0 + ow, m), p)), m);
    }
    return;
  }
  for (int64_t ow = 0; ow < out_w; ++ow)
    lerp_line(line + cols.lo[ow] * C, line + cols.hi[ow] * C, cols.w0[ow], cols.w1[ow],
              d + ow * C, C);
}

void fwd(const Resize2DShape& s, const ResizeAxis& rows, const ResizeAxis& cols,
         const float* src, float* dst, float* scratch, int64_t r0, int64_t r1) {
  const int64_t C = s.channels, n = s.in_w * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / s.out_h, oh = r % s.out_h;
    const float* a = src + (b * s.in_h + rows.lo[oh]) * n;
    const float* c = src + (b * s.in_h + rows.hi[oh]) * n;
    const float wa = rows.w0[oh], wc = rows.w1[oh];
    const float* line = a;
    if (wc != 0.0f || wa != 1.0f) {
      lerp_line(a, c, wa, wc, scratch, n);
      line = scratch;
    }
    cols_fwd(cols, line, s.in_w, s.out_w, C, dst + r * s.out_w * C);
  }
}

void bwd(const Resize2DShape& s, const ResizeAxis& rows, const ResizeAxis& cols,
         const float* ddst, float* dsrc, float* scratch, int64_t r0, int64_t r1) {
  const int64_t C = s.channels, n = s.out_w * C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / s.in_h, ih = r % s.in_h;
    float* d = dsrc + r * s.in_w * C;
    const int64_t o0 = rows.first[ih], o1 = rows.last[ih];
    if (o0 >= o1) {
      memset(d, 0, (size_t)(s.in_w * C) * sizeof(float));
      continue;
    }
    memset(scratch, 0, (size_t)n * sizeof(float));
    for (int64_t oh = o0; oh < o1; ++oh)
      axpy_line(tap_weight(rows, oh, ih), ddst + (b * s.out_h + oh) * n, scratch, n);
    if (C == 1) {
      // Few taps per input column: scalar sums beat masked one-lane vectors.
      for (int64_t iw = 0; iw < s.in_w; ++iw) {
        float acc = 0.0f;
        for (int64_t ow = cols.first[iw]; ow < cols.last[iw]; ++ow)
          acc += tap_weight(cols, ow, iw) * scratch[ow];
        d[iw] = acc;
      }
      continue;
    }
    for (int64_t iw = 0; iw < s.in_w; ++iw) {
      float* di = d + iw * C;
      memset(di, 0, (size_t)C * sizeof(float));
      for (int64_t ow = cols.first[iw]; ow < cols.last[iw]; ++ow)
        axpy_line(tap_weight(cols, ow, iw), scratch + ow * C, di, C);
    }
  }
}

}  // namespace

const ResizeKernels f32_resize_avx512 = {fwd, bwd, "f32_resize_avx512"};

}  // namespace nnfast::kernels
