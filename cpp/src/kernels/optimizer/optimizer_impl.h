// The optimizer update loops, compiled once per ISA (the <family>_impl.h idiom of
// kernels/simd_math.h): each optimizer_<isa>.cpp includes this file and instantiates
// NNFAST_DEFINE_OPTIMIZER(isa), and the compiler vectorizes the loops with that file's flags.
// C headers only (see cpp/CMakeLists.txt). Loops are written with __restrict locals and
// branch-free bodies so they vectorize; mode switches (momentum, centered, ...) sit outside
// the loops.
#pragma once
#include <math.h>
#include <stdint.h>

#include "kernels/optimizer/optimizer_kernels.h"

namespace nnfast::kernels {
namespace {

// Clipping (scale, then clamp) keeps NaN as NaN: both comparisons are false for NaN.
inline float prep_grad(float g, const OptCommonArgs& c) {
  g *= c.grad_scale;
  g = g < c.clip_lo ? c.clip_lo : g;
  return g > c.clip_hi ? c.clip_hi : g;
}

// Keras's decoupled weight decay: w - w * (wd * lr).
inline float decayed(float w, float decay) { return w - w * decay; }

inline void sgd_loop(const SgdArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict m = a.m;
  const OptCommonArgs c = a.c;
  const float lr = a.lr, mu = a.momentum;
  if (m == nullptr) {
    for (int64_t i = b; i < e; ++i) w[i] = decayed(w[i], c.decay) - lr * prep_grad(g[i], c);
  } else if (a.nesterov) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float mi = mu * m[i] - lr * gi;
      m[i] = mi;
      w[i] = decayed(w[i], c.decay) + (mu * mi - lr * gi);
    }
  } else {
    for (int64_t i = b; i < e; ++i) {
      const float mi = mu * m[i] - lr * prep_grad(g[i], c);
      m[i] = mi;
      w[i] = decayed(w[i], c.decay) + mi;
    }
  }
}

inline void adam_loop(const AdamArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict m = a.m;
  float* __restrict v = a.v;
  float* __restrict vh = a.vhat;
  const OptCommonArgs c = a.c;
  const float alpha = a.alpha, k1 = a.one_minus_b1, k2 = a.one_minus_b2, eps = a.epsilon;
  const float* __restrict sq = a.sq;
  if (g == nullptr) {  // zero gradient: the same numbers as g[i] = 0 below
    for (int64_t i = b; i < e; ++i) {
      const float mi = m[i] + (0.0f - m[i]) * k1;
      const float vi = v[i] + (0.0f - v[i]) * k2;
      m[i] = mi;
      v[i] = vi;
      w[i] = decayed(w[i], c.decay) - (mi * alpha) / (sqrtf(vi) + eps);
    }
  } else if (sq != nullptr) {
    for (int64_t i = b; i < e; ++i) {
      const float mi = m[i] + (g[i] - m[i]) * k1;
      const float vi = v[i] + (sq[i] - v[i]) * k2;
      m[i] = mi;
      v[i] = vi;
      w[i] = decayed(w[i], c.decay) - (mi * alpha) / (sqrtf(vi) + eps);
    }
  } else if (vh == nullptr) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float mi = m[i] + (gi - m[i]) * k1;
      const float vi = v[i] + (gi * gi - v[i]) * k2;
      m[i] = mi;
      v[i] = vi;
      w[i] = decayed(w[i], c.decay) - (mi * alpha) / (sqrtf(vi) + eps);
    }
  } else {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float mi = m[i] + (gi - m[i]) * k1;
      const float vi = v[i] + (gi * gi - v[i]) * k2;
      const float hi = vh[i] > vi ? vh[i] : vi;
      m[i] = mi;
      v[i] = vi;
      vh[i] = hi;
      w[i] = decayed(w[i], c.decay) - (mi * alpha) / (sqrtf(hi) + eps);
    }
  }
}

inline void rmsprop_loop(const RmspropArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict v = a.v;
  float* __restrict mom = a.mom;
  float* __restrict avg = a.avg;
  const OptCommonArgs c = a.c;
  const float lr = a.lr, rho = a.rho, k = a.one_minus_rho, mu = a.momentum, eps = a.epsilon;
  if (avg == nullptr && mom == nullptr) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float vi = rho * v[i] + k * (gi * gi);
      v[i] = vi;
      w[i] = decayed(w[i], c.decay) - (lr * gi) / sqrtf(vi + eps);
    }
  } else if (avg == nullptr) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float vi = rho * v[i] + k * (gi * gi);
      const float mi = mu * mom[i] + (lr * gi) / sqrtf(vi + eps);
      v[i] = vi;
      mom[i] = mi;
      w[i] = decayed(w[i], c.decay) - mi;
    }
  } else if (mom == nullptr) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float vi = rho * v[i] + k * (gi * gi);
      const float ai = rho * avg[i] + k * gi;
      v[i] = vi;
      avg[i] = ai;
      w[i] = decayed(w[i], c.decay) - (lr * gi) / sqrtf(vi - ai * ai + eps);
    }
  } else {
    for (int64_t i = b; i < e; ++i) {
      const float gi = prep_grad(g[i], c);
      const float vi = rho * v[i] + k * (gi * gi);
      const float ai = rho * avg[i] + k * gi;
      const float mi = mu * mom[i] + (lr * gi) / sqrtf(vi - ai * ai + eps);
      v[i] = vi;
      avg[i] = ai;
      mom[i] = mi;
      w[i] = decayed(w[i], c.decay) - mi;
    }
  }
}

inline void adagrad_loop(const AdagradArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict acc = a.acc;
  const OptCommonArgs c = a.c;
  const float lr = a.lr, eps = a.epsilon;
  for (int64_t i = b; i < e; ++i) {
    const float gi = prep_grad(g[i], c);
    const float ai = acc[i] + gi * gi;
    acc[i] = ai;
    w[i] = decayed(w[i], c.decay) - (lr * gi) / sqrtf(ai + eps);
  }
}

inline void adadelta_loop(const AdadeltaArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict eg = a.eg;
  float* __restrict edx = a.edx;
  const OptCommonArgs c = a.c;
  const float lr = a.lr, rho = a.rho, k = a.one_minus_rho, eps = a.epsilon;
  for (int64_t i = b; i < e; ++i) {
    const float gi = prep_grad(g[i], c);
    const float egi = rho * eg[i] + k * (gi * gi);
    const float d = -(sqrtf(edx[i] + eps) * gi) / sqrtf(egi + eps);
    eg[i] = egi;
    edx[i] = rho * edx[i] + k * (d * d);
    w[i] = decayed(w[i], c.decay) + lr * d;
  }
}

inline void adamax_loop(const AdamaxArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict m = a.m;
  float* __restrict u = a.u;
  const OptCommonArgs c = a.c;
  const float lr_t = a.lr_t, k1 = a.one_minus_b1, b2 = a.beta_2, eps = a.epsilon;
  for (int64_t i = b; i < e; ++i) {
    const float gi = prep_grad(g[i], c);
    const float mi = m[i] + (gi - m[i]) * k1;
    const float bu = b2 * u[i];
    const float ag = fabsf(gi);
    const float ui = bu > ag ? bu : ag;
    m[i] = mi;
    u[i] = ui;
    w[i] = decayed(w[i], c.decay) - (lr_t * mi) / (ui + eps);
  }
}

inline void nadam_loop(const NadamArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict m = a.m;
  float* __restrict v = a.v;
  const OptCommonArgs c = a.c;
  const float lr = a.lr, k1 = a.one_minus_b1, k2 = a.one_minus_b2, cm = a.coef_m,
              cg = a.coef_g, ib2 = a.inv_bias2, eps = a.epsilon;
  for (int64_t i = b; i < e; ++i) {
    const float gi = prep_grad(g[i], c);
    const float mi = m[i] + (gi - m[i]) * k1;
    const float vi = v[i] + (gi * gi - v[i]) * k2;
    m[i] = mi;
    v[i] = vi;
    const float m_hat = cm * mi + cg * gi;
    w[i] = decayed(w[i], c.decay) - (m_hat * lr) / (sqrtf(vi * ib2) + eps);
  }
}

namespace {

// One FTRL element; `pow_fn` is sqrtf for the default learning_rate_power=-0.5 (so the
// loop vectorizes) and powf otherwise.
template <bool kSqrt>
inline void ftrl_element(const FtrlArgs& a, const OptCommonArgs& c, int64_t i) {
  const float gi = prep_grad(a.g[i], c);
  const float wi = decayed(a.w[i], c.decay);
  const float g2 = gi + a.two_l2_shrinkage * wi;
  const float old_acc = a.acc[i];
  const float new_acc = old_acc + gi * gi;
  const float pn = kSqrt ? sqrtf(new_acc) : powf(new_acc, a.neg_power);
  const float po = kSqrt ? sqrtf(old_acc) : powf(old_acc, a.neg_power);
  const float li = a.lin[i] + (g2 - (pn - po) * a.inv_lr * wi);
  const float quadratic = pn * a.inv_lr + a.two_l2_total;
  const float clipped = li < -a.l1 ? -a.l1 : (li > a.l1 ? a.l1 : li);
  a.lin[i] = li;
  a.acc[i] = new_acc;
  a.w[i] = (clipped - li) / quadratic;
}

}  // namespace

inline void ftrl_loop(const FtrlArgs& a, int64_t b, int64_t e) {
  const OptCommonArgs c = a.c;
  if (a.neg_power == 0.5f) {
    for (int64_t i = b; i < e; ++i) ftrl_element<true>(a, c, i);
  } else {
    for (int64_t i = b; i < e; ++i) ftrl_element<false>(a, c, i);
  }
}

inline void lion_loop(const LionArgs& a, int64_t b, int64_t e) {
  float* __restrict w = a.w;
  const float* __restrict g = a.g;
  float* __restrict m = a.m;
  const OptCommonArgs c = a.c;
  const float lr = a.lr, b1 = a.beta_1, k1 = a.one_minus_b1, b2 = a.beta_2, k2 = a.one_minus_b2;
  for (int64_t i = b; i < e; ++i) {
    const float gi = prep_grad(g[i], c);
    const float d = m[i] * b1 + gi * k1;
    const float s = (d > 0.0f ? 1.0f : 0.0f) - (d < 0.0f ? 1.0f : 0.0f);
    w[i] = decayed(w[i], c.decay) - lr * s;
    m[i] = m[i] * b2 + gi * k2;
  }
}

inline double sum_squares_loop(const float* x, int64_t b, int64_t e) {
  // Eight independent double lanes: vectorizes without reassociating a single sum.
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = b;
  for (; i + 8 <= e; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += (double)x[i + j] * (double)x[i + j];
  double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < e; ++i) total += (double)x[i] * (double)x[i];
  return total;
}

inline void ema_loop(float* avg_, const float* w_, float momentum, int64_t b, int64_t e) {
  float* __restrict avg = avg_;
  const float* __restrict w = w_;
  const float k = 1.0f - momentum;
  for (int64_t i = b; i < e; ++i) avg[i] = momentum * avg[i] + k * w[i];
}

}  // namespace
}  // namespace nnfast::kernels

// The exported per-ISA entry points (optimizer_kernels.h), one line per file.
#define NNFAST_DEFINE_OPTIMIZER(isa)                                                          \
  namespace nnfast::kernels {                                                                 \
  void f32_sgd_##isa(const SgdArgs& a, int64_t b, int64_t e) { sgd_loop(a, b, e); }           \
  void f32_adam_##isa(const AdamArgs& a, int64_t b, int64_t e) { adam_loop(a, b, e); }        \
  void f32_rmsprop_##isa(const RmspropArgs& a, int64_t b, int64_t e) {                        \
    rmsprop_loop(a, b, e);                                                                    \
  }                                                                                           \
  void f32_adagrad_##isa(const AdagradArgs& a, int64_t b, int64_t e) {                        \
    adagrad_loop(a, b, e);                                                                    \
  }                                                                                           \
  void f32_adadelta_##isa(const AdadeltaArgs& a, int64_t b, int64_t e) {                      \
    adadelta_loop(a, b, e);                                                                   \
  }                                                                                           \
  void f32_adamax_##isa(const AdamaxArgs& a, int64_t b, int64_t e) { adamax_loop(a, b, e); }  \
  void f32_nadam_##isa(const NadamArgs& a, int64_t b, int64_t e) { nadam_loop(a, b, e); }     \
  void f32_ftrl_##isa(const FtrlArgs& a, int64_t b, int64_t e) { ftrl_loop(a, b, e); }        \
  void f32_lion_##isa(const LionArgs& a, int64_t b, int64_t e) { lion_loop(a, b, e); }        \
  double f32_sum_squares_##isa(const float* x, int64_t b, int64_t e) {                        \
    return sum_squares_loop(x, b, e);                                                         \
  }                                                                                           \
  void f32_ema_##isa(float* avg, const float* w, float momentum, int64_t b, int64_t e) {      \
    ema_loop(avg, w, momentum, b, e);                                                         \
  }                                                                                           \
  }
