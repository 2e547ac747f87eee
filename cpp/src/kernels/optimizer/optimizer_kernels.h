// Per-ISA optimizer kernels. The driver (src/ops/optimizer.cpp) validates, precomputes the
// per-step scalars, picks the variant for the active ISA and hands each thread a
// [begin, end) range. Every variant is the same loop source (optimizer_impl.h) compiled
// with that ISA's flags: the updates are memory-bound elementwise passes, so auto-vectorized
// loops reach bandwidth and one source keeps the variants bit-consistent in intent.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {

// Shared by every kernel: gradient clipping factor/bounds and decoupled weight decay.
struct OptCommonArgs {
  float grad_scale, clip_lo, clip_hi, decay;
};

struct SgdArgs {
  float* w; const float* g; float* m;  // m null: plain SGD
  float lr, momentum; int nesterov;
  OptCommonArgs c;
};
struct AdamArgs {
  float* w; const float* g; float* m; float* v; float* vhat;  // vhat null: no AMSGrad
  // g null: a zero gradient (rows an embedding step did not touch). sq not null: v takes
  // these per-token sums of squares in place of g*g (Keras's rule for row-sliced
  // gradients); both modes without AMSGrad, clipping or scaling (the driver checks).
  const float* sq;
  float alpha, one_minus_b1, one_minus_b2, epsilon;
  OptCommonArgs c;
};
struct RmspropArgs {
  float* w; const float* g; float* v; float* mom; float* avg;  // mom/avg optional
  float lr, rho, one_minus_rho, momentum, epsilon;
  OptCommonArgs c;
};
struct AdagradArgs {
  float* w; const float* g; float* acc;
  float lr, epsilon;
  OptCommonArgs c;
};
struct AdadeltaArgs {
  float* w; const float* g; float* eg; float* edx;
  float lr, rho, one_minus_rho, epsilon;
  OptCommonArgs c;
};
struct AdamaxArgs {
  float* w; const float* g; float* m; float* u;
  float lr_t, one_minus_b1, beta_2, epsilon;  // lr_t = lr / (1 - b1^t)
  OptCommonArgs c;
};
struct NadamArgs {
  float* w; const float* g; float* m; float* v;
  float lr, one_minus_b1, one_minus_b2, coef_m, coef_g, inv_bias2, epsilon;
  OptCommonArgs c;
};
struct FtrlArgs {
  float* w; const float* g; float* acc; float* lin;
  float inv_lr, neg_power, l1, two_l2_total, two_l2_shrinkage;
  OptCommonArgs c;
};
struct LionArgs {
  float* w; const float* g; float* m;
  float lr, beta_1, one_minus_b1, beta_2, one_minus_b2;
  OptCommonArgs c;
};

#define NNFAST_DECLARE_OPT_KERNELS(isa)                                          \
  void f32_sgd_##isa(const SgdArgs& a, int64_t begin, int64_t end);              \
  void f32_adam_##isa(const AdamArgs& a, int64_t begin, int64_t end);            \
  void f32_rmsprop_##isa(const RmspropArgs& a, int64_t begin, int64_t end);      \
  void f32_adagrad_##isa(const AdagradArgs& a, int64_t begin, int64_t end);      \
  void f32_adadelta_##isa(const AdadeltaArgs& a, int64_t begin, int64_t end);    \
  void f32_adamax_##isa(const AdamaxArgs& a, int64_t begin, int64_t end);        \
  void f32_nadam_##isa(const NadamArgs& a, int64_t begin, int64_t end);          \
  void f32_ftrl_##isa(const FtrlArgs& a, int64_t begin, int64_t end);            \
  void f32_lion_##isa(const LionArgs& a, int64_t begin, int64_t end);            \
  double f32_sum_squares_##isa(const float* x, int64_t begin, int64_t end);      \
  void f32_ema_##isa(float* avg, const float* w, float momentum, int64_t begin, int64_t end);

NNFAST_DECLARE_OPT_KERNELS(ref)
NNFAST_DECLARE_OPT_KERNELS(avx2)
NNFAST_DECLARE_OPT_KERNELS(avx512)

}  // namespace nnfast::kernels
