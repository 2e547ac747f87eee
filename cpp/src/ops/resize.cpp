// Bilinear resize driver: validate, compute each axis's taps and weights once per call (in
// this portable file, so the float32 source coordinates round exactly as the Python matrix
// path computes them, with no FMA contraction), pick the kernel table for the active ISA and
// split rows across threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/resize/resize_kernels.h"
#include "nnfast/resize.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

const dispatch::Registry<kernels::ResizeKernels> kResize{
    "resize",
    {{Isa::avx512, "f32_resize_avx512", &kernels::f32_resize_avx512},
     {Isa::avx2, "f32_resize_avx2", &kernels::f32_resize_avx2},
     {Isa::ref, "f32_resize_ref", &kernels::f32_resize_ref}}};

const kernels::ResizeKernels& pick() { return *kResize.select().fns; }

constexpr int64_t kGrain = 1 << 15;  // elements touched per thread before threads pay

struct AxisPlan {
  std::vector<int32_t> lo, hi, first, last;
  std::vector<float> w0, w1;

  AxisPlan(int64_t out, int64_t in) : lo(out), hi(out), first(in, 0), last(in, 0), w0(out), w1(out) {
    // TF's half-pixel source, in float32 step by step: (i + 0.5) * (in / out) - 0.5.
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    for (int64_t o = 0; o < out; ++o) {
      volatile float t = (static_cast<float>(o) + 0.5f) * scale;  // NOTE: no fused multiply-add
      const float src = t - 0.5f;
      const float fl = std::floor(src);
      const float lerp = src - fl;
      int64_t l = static_cast<int64_t>(fl), h = static_cast<int64_t>(std::ceil(src));
      l = l < 0 ? 0 : (l > in - 1 ? in - 1 : l);
      h = h < 0 ? 0 : (h > in - 1 ? in - 1 : h);
      lo[o] = static_cast<int32_t>(l);
      hi[o] = static_cast<int32_t>(h);
      if (l == h) {  // one tap: the two weights sum to exactly 1
        w0[o] = 1.0f;
        w1[o] = 0.0f;
      } else {
        w0[o] = 1.0f - lerp;
        w1[o] = lerp;
      }
    }
    // lo and hi never decrease, so the outputs reading input i form one range.
    for (int64_t i = 0, o = 0; i < in; ++i) {
      while (o < out && hi[o] < i) ++o;
      int64_t e = o;
      while (e < out && lo[e] <= i) ++e;
      first[i] = static_cast<int32_t>(o);
      last[i] = static_cast<int32_t>(e);
    }
  }

  kernels::ResizeAxis view() const {
    return {lo.data(), hi.data(), w0.data(), w1.data(), first.data(), last.data()};
  }
};

}  // namespace

void resize_bilinear_validate(const Resize2DShape& s) {
  auto dims = [&] {
    return " (batch=" + std::to_string(s.batch) + ", in=(" + std::to_string(s.in_h) + ", " +
           std::to_string(s.in_w) + "), out=(" + std::to_string(s.out_h) + ", " +
           std::to_string(s.out_w) + "), channels=" + std::to_string(s.channels) + ")";
  };
  if (s.batch < 0 || s.in_h < 0 || s.in_w < 0 || s.channels < 0 || s.out_h < 0 || s.out_w < 0)
    throw std::invalid_argument("resize_bilinear: negative size" + dims());
  if ((s.in_h == 0 && s.out_h > 0) || (s.in_w == 0 && s.out_w > 0))
    throw std::invalid_argument("resize_bilinear: cannot resize an empty image to a non-empty one" +
                                dims());
  if (s.in_h > INT32_MAX || s.in_w > INT32_MAX || s.out_h > INT32_MAX || s.out_w > INT32_MAX)
    throw std::invalid_argument("resize_bilinear: image too large" + dims());
}

void resize_bilinear_forward(const Resize2DShape& s, const float* src, float* dst) {
  resize_bilinear_validate(s);
  if (s.batch == 0 || s.out_h == 0 || s.out_w == 0 || s.channels == 0) return;
  const kernels::ResizeKernels& k = pick();
  const AxisPlan rows(s.out_h, s.in_h), cols(s.out_w, s.in_w);
  const kernels::ResizeAxis rv = rows.view(), cv = cols.view();
  parallel_for_rows(s.batch * s.out_h, (2 * s.in_w + s.out_w) * s.channels, kGrain,
                    [&](int64_t r0, int64_t r1) {
                      std::vector<float> scratch(static_cast<size_t>(s.in_w * s.channels));
                      k.fwd(s, rv, cv, src, dst, scratch.data(), r0, r1);
                    });
}

void resize_bilinear_backward(const Resize2DShape& s, const float* ddst, float* dsrc) {
  resize_bilinear_validate(s);
  if (s.batch == 0 || s.in_h == 0 || s.in_w == 0 || s.channels == 0) return;
  const kernels::ResizeKernels& k = pick();
  if (s.out_h == 0 || s.out_w == 0) {  // nothing read the input
    std::fill(dsrc, dsrc + s.batch * s.in_h * s.in_w * s.channels, 0.0f);
    return;
  }
  const AxisPlan rows(s.out_h, s.in_h), cols(s.out_w, s.in_w);
  const kernels::ResizeAxis rv = rows.view(), cv = cols.view();
  // Per input row: the ~out_h/in_h output rows it gathers plus its width pass.
  const int64_t row_cost = ((s.out_h + s.in_h - 1) / s.in_h + 1) * s.out_w * s.channels;
  parallel_for_rows(s.batch * s.in_h, row_cost, kGrain, [&](int64_t r0, int64_t r1) {
    std::vector<float> scratch(static_cast<size_t>(s.out_w * s.channels));
    k.bwd(s, rv, cv, ddst, dsrc, scratch.data(), r0, r1);
  });
}

}  // namespace nnfast
