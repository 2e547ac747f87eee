// The vectorized loss kernels, written once over the shared vector vocabulary
// (kernels/simd_math.h) that loss_avx2.cpp / loss_avx512.cpp include first. Same definitions
// as loss_ref.cpp (the reference they are tested against); per-row sums run in vector lanes
// (a different order from the reference's, so equal to float32 rounding, not bit for bit).
// Lanes past a row's end are zeroed (keep_lanes) before they reach a sum.
#pragma once
#include "kernels/loss/loss_kernels.h"

namespace nnfast::kernels {
namespace {

inline float row_sum(const float* x, int64_t n) {
  VF acc = vzero();
  for_lanes(n, [&](int64_t j, int64_t m, auto tag) { acc = vadd(acc, ld(tag, x + j, m)); });
  return vreduce_add(acc);
}

// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).
inline VF vlog_sigmoid(VF x) {
  return vsub(vmin(x, vzero()), vlog1p(vexp(vsub(vzero(), vabs(x)))));
}

// `value` in lane k of a vector (k in [0, m)), zero elsewhere and for any other k.
inline VF onehot_lanes(int64_t k, int64_t m, VF value) {
  if (k < 0 || k >= m) return vzero();
  return vkeep(veq(vlane_index(), vset1(static_cast<float>(k))), value);
}

// One row's target as a vector: the dense target, or the one-hot of the row's label.
template <typename Tag>
inline VF target_lanes(Tag tag, const float* y, int64_t label, int64_t j, int64_t m) {
  if (y) return ld(tag, y + j, m);
  return onehot_lanes(label - j, m, vset1(1.0f));
}

void softmax_ce_forward(const float* logits, const float* target, const int64_t* labels,
                        int64_t rows, int64_t cols, float* probs, float* loss) {
  const VF ninf = vset1(-__builtin_inff());
  for (int64_t i = 0; i < rows; ++i) {
    const float* z = logits + i * cols;
    float* p = probs + i * cols;
    VF vmx = ninf;
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      vmx = vmax(vmx, ld_fill(tag, z + j, m, ninf));
    });
    const float mx = vreduce_max(vmx);
    const VF vm = vset1(mx);
    VF vs = vzero();
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const VF e = vexp(vsub(ld(tag, z + j, m), vm));
      st(tag, p + j, e, m);
      vs = vadd(vs, keep_lanes(tag, e, m));
    });
    const float sum = vreduce_add(vs);
    const float lse = mx + __builtin_logf(sum);
    const VF inv = vset1(1.0f / sum);
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      st(tag, p + j, vmul(ld(tag, p + j, m), inv), m);
    });
    if (labels) {
      loss[i] = lse - z[labels[i]];
    } else {
      const float* y = target + i * cols;
      const VF vl = vset1(lse);
      VF acc = vzero();
      for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
        const VF t = vmul(ld(tag, y + j, m), vsub(vl, ld(tag, z + j, m)));
        acc = vadd(acc, keep_lanes(tag, t, m));
      });
      loss[i] = vreduce_add(acc);
    }
  }
}

// for_lanes over a row of `cols` floats stored to `dst`; long rows with aligned stores (a
// 1000-column row is not a whole number of cache lines, and AVX-512 stores that split lines
// made softmax_ce_backward slower than the scalar reference: 14.7 vs 11.4 us on 128x1000),
// short ones without the extra masked head.
template <typename F>
inline void for_row_lanes(const float* dst, int64_t cols, F&& f) {
  if (cols >= 8 * W)
    for_lanes_aligned(dst, cols, f);
  else
    for_lanes(cols, f);
}

void softmax_ce_backward(const float* probs, const float* target, const int64_t* labels,
                         const float* drow, int64_t rows, int64_t cols, float* dlogits) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = probs + i * cols;
    float* d = dlogits + i * cols;
    const VF g = vset1(drow[i]);
    if (labels) {
      // The label's lane subtracts g in the vector (a scalar fix-up after the vector store
      // would stall on store forwarding, once per row).
      const int64_t label = labels[i];
      for_row_lanes(d, cols, [&](int64_t j, int64_t m, auto tag) {
        st(tag, d + j, vsub(vmul(g, ld(tag, p + j, m)), onehot_lanes(label - j, m, g)), m);
      });
    } else {
      // Soft targets need not sum to one: d/dz of sum(y*(lse - z)) is p*sum(y) - y.
      const float* y = target + i * cols;
      const VF ysum = vset1(row_sum(y, cols));
      for_row_lanes(d, cols, [&](int64_t j, int64_t m, auto tag) {
        const VF yj = ld(tag, y + j, m);
        st(tag, d + j, vmul(g, vfmadd(ld(tag, p + j, m), ysum, vsub(vzero(), yj))), m);
      });
    }
  }
}


void categorical_ce_forward(const float* probs, const float* target, const int64_t* labels,
                            int64_t rows, int64_t cols, float eps, float* loss) {
  const VF veps = vset1(eps), vhi = vset1(1.0f - eps);
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = probs + i * cols;
    const float* y = target ? target + i * cols : nullptr;
    const int64_t label = labels ? labels[i] : -1;
    const VF s = vset1(row_sum(p, cols));
    VF acc = vzero();
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const VF yj = target_lanes(tag, y, label, j, m);
      // fmax/fmin's NaN rule: a NaN quotient takes the clip bound (vmax/vmin return their
      // second operand then).
      const VF q = vmin(vmax(vdiv(ld(tag, p + j, m), s), veps), vhi);
      // y == 0 lanes (incl. past the row's end) contribute nothing, as the reference skips them.
      acc = vadd(acc, vkeep(vne(yj, vzero()), vmul(yj, vlog(q))));
    });
    loss[i] = -vreduce_add(acc);
  }
}

void categorical_ce_backward(const float* probs, const float* target, const int64_t* labels,
                             const float* drow, int64_t rows, int64_t cols, float eps,
                             float* dprobs) {
  const VF veps = vset1(eps), vhi = vset1(1.0f - eps);
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = probs + i * cols;
    float* d = dprobs + i * cols;
    const float* y = target ? target + i * cols : nullptr;
    const int64_t label = labels ? labels[i] : -1;
    const float s = row_sum(p, cols);
    const VF vs = vset1(s);
    // dL/dq_j = -y_j / q_j where q = p / s is not clipped; then through q = p / s:
    // dL/dp_i = (dL/dq_i - sum_j dL/dq_j q_j) / s.
    VF dot = vzero();
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const VF yj = target_lanes(tag, y, label, j, m);
      const VF q = vdiv(ld(tag, p + j, m), vs);
      const VM live = vm_and(vne(yj, vzero()), vm_and(vgt(q, veps), vlt(q, vhi)));
      const VF dq = vkeep(live, vdiv(vsub(vzero(), yj), q));
      st(tag, d + j, dq, m);
      dot = vadd(dot, keep_lanes(tag, vmul(dq, q), m));
    });
    const VF vdot = vset1(vreduce_add(dot));
    const VF g = vset1(drow[i] / s);
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      st(tag, d + j, vmul(g, vsub(ld(tag, d + j, m), vdot)), m);
    });
  }
}

void binary_ce_forward(const float* pred, const float* target, int64_t rows, int64_t cols,
                       bool from_logits, float eps, float* loss) {
  const VF one = vset1(1.0f), veps = vset1(eps), vhi = vset1(1.0f - eps);
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = pred + i * cols;
    const float* y = target + i * cols;
    VF acc = vzero();
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const VF pj = ld(tag, p + j, m), yj = ld(tag, y + j, m);
      VF t;
      if (from_logits) {
        // y log s(p) + (1 - y) log s(-p)
        t = vfmadd(yj, vlog_sigmoid(pj), vmul(vsub(one, yj), vlog_sigmoid(vsub(vzero(), pj))));
      } else {
        const VF q = vmin(vmax(pj, veps), vhi);
        t = vfmadd(yj, vlog(q), vmul(vsub(one, yj), vlog(vsub(one, q))));
      }
      acc = vadd(acc, keep_lanes(tag, t, m));
    });
    loss[i] = -vreduce_add(acc) / static_cast<float>(cols);
  }
}

void binary_ce_backward(const float* pred, const float* target, const float* drow, int64_t rows,
                        int64_t cols, bool from_logits, float eps, float* dpred) {
  const VF one = vset1(1.0f), veps = vset1(eps), vhi = vset1(1.0f - eps);
  for (int64_t i = 0; i < rows; ++i) {
    const float* p = pred + i * cols;
    const float* y = target + i * cols;
    float* d = dpred + i * cols;
    const VF g = vset1(drow[i] / static_cast<float>(cols));
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const VF pj = ld(tag, p + j, m), yj = ld(tag, y + j, m);
      VF out;
      if (from_logits) {
        out = vmul(g, vsub(vsigmoid(pj), yj));
      } else {
        const VM inside = vm_and(vgt(pj, veps), vlt(pj, vhi));
        out = vkeep(inside, vdiv(vmul(g, vsub(pj, yj)), vmul(pj, vsub(one, pj))));
      }
      st(tag, d + j, out, m);
    });
  }
}

void mse_forward(const float* pred, const float* target, int64_t rows, int64_t cols,
                 float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    VF acc = vzero();
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const VF e = vsub(ld(tag, pred + i * cols + j, m), ld(tag, target + i * cols + j, m));
      acc = vfmadd(e, e, acc);  // tail lanes load 0 - 0
    });
    loss[i] = vreduce_add(acc) / static_cast<float>(cols);
  }
}

void mse_backward(const float* pred, const float* target, const float* drow, int64_t rows,
                  int64_t cols, float* dpred) {
  for (int64_t i = 0; i < rows; ++i) {
    const VF g = vset1(2.0f * drow[i] / static_cast<float>(cols));
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const int64_t o = i * cols + j;
      st(tag, dpred + o, vmul(g, vsub(ld(tag, pred + o, m), ld(tag, target + o, m))), m);
    });
  }
}

void mae_forward(const float* pred, const float* target, int64_t rows, int64_t cols,
                 float* loss) {
  for (int64_t i = 0; i < rows; ++i) {
    VF acc = vzero();
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const int64_t o = i * cols + j;
      acc = vadd(acc, vabs(vsub(ld(tag, pred + o, m), ld(tag, target + o, m))));
    });
    loss[i] = vreduce_add(acc) / static_cast<float>(cols);
  }
}

void mae_backward(const float* pred, const float* target, const float* drow, int64_t rows,
                  int64_t cols, float* dpred) {
  for (int64_t i = 0; i < rows; ++i) {
    const float gs = drow[i] / static_cast<float>(cols);
    const VF g = vset1(gs), ng = vset1(-gs);
    for_lanes(cols, [&](int64_t j, int64_t m, auto tag) {
      const int64_t o = i * cols + j;
      const VF e = vsub(ld(tag, pred + o, m), ld(tag, target + o, m));
      st(tag, dpred + o, vselect(vgt(e, vzero()), g, vkeep(vlt(e, vzero()), ng)), m);
    });
  }
}

}  // namespace
}  // namespace nnfast::kernels

#define NNFAST_DEFINE_LOSS_SIMD(isa)                                                           \
  namespace nnfast::kernels {                                                                  \
  const LossKernels f32_loss_##isa = {                                                         \
      softmax_ce_forward, softmax_ce_backward, categorical_ce_forward, categorical_ce_backward, \
      binary_ce_forward,  binary_ce_backward,  mse_forward,            mse_backward,           \
      mae_forward,        mae_backward};                                                       \
  }
