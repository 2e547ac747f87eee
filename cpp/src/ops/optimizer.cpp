// Optimizer driver: validate, precompute the per-step scalars in double, pick the kernel
// variant for the active ISA, and split the parameter across threads.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/optimizer/optimizer_kernels.h"
#include "nnfast/optimizer.h"
#include "nnfast/runtime.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

using namespace kernels;

// Elements per thread below which a second thread costs more than it saves (the loops
// stream ~20 bytes per element; 64K elements is ~1.3 MB per thread).
constexpr int64_t kGrain = 1 << 16;

struct Variants {
  void (*sgd)(const SgdArgs&, int64_t, int64_t);
  void (*adam)(const AdamArgs&, int64_t, int64_t);
  void (*rmsprop)(const RmspropArgs&, int64_t, int64_t);
  void (*adagrad)(const AdagradArgs&, int64_t, int64_t);
  void (*adadelta)(const AdadeltaArgs&, int64_t, int64_t);
  void (*adamax)(const AdamaxArgs&, int64_t, int64_t);
  void (*nadam)(const NadamArgs&, int64_t, int64_t);
  void (*ftrl)(const FtrlArgs&, int64_t, int64_t);
  void (*lion)(const LionArgs&, int64_t, int64_t);
  double (*sum_squares)(const float*, int64_t, int64_t);
  void (*ema)(float*, const float*, float, int64_t, int64_t);
};

#define NNFAST_VARIANTS(isa)                                                              \
  Variants {                                                                              \
    f32_sgd_##isa, f32_adam_##isa, f32_rmsprop_##isa, f32_adagrad_##isa,                  \
        f32_adadelta_##isa, f32_adamax_##isa, f32_nadam_##isa, f32_ftrl_##isa,            \
        f32_lion_##isa, f32_sum_squares_##isa, f32_ema_##isa                              \
  }

const Variants kOptRef = NNFAST_VARIANTS(ref);
const Variants kOptAvx2 = NNFAST_VARIANTS(avx2);
const Variants kOptAvx512 = NNFAST_VARIANTS(avx512);

const dispatch::Registry<Variants> kOptimizer{"optimizer",
                                              {{Isa::avx512, "f32_optimizer_avx512", &kOptAvx512},
                                               {Isa::avx2, "f32_optimizer_avx2", &kOptAvx2},
                                               {Isa::ref, "f32_optimizer_ref", &kOptRef}}};

const Variants& pick() { return *kOptimizer.select().fns; }

OptCommonArgs common_args(const OptimizerCommon& c) {
  if (!(c.clip_lo <= c.clip_hi))
    throw std::invalid_argument("optimizer update: clip bounds must satisfy lo <= hi, got [" +
                                std::to_string(c.clip_lo) + ", " + std::to_string(c.clip_hi) + "]");
  return OptCommonArgs{c.grad_scale, c.clip_lo, c.clip_hi, c.decay};
}

void check(const char* who, int64_t n, const void* w, const void* g) {
  if (n < 0) throw std::invalid_argument(std::string(who) + ": negative size " + std::to_string(n));
  if (n > 0 && (w == nullptr || g == nullptr))
    throw std::invalid_argument(std::string(who) + ": variable and gradient must not be null");
}

void need(const char* who, const void* p, const char* what) {
  if (p == nullptr) throw std::invalid_argument(std::string(who) + ": missing slot '" + what + "'");
}

void check_step(const char* who, int64_t step) {
  if (step < 1)
    throw std::invalid_argument(std::string(who) + ": step must be >= 1, got " + std::to_string(step));
}

template <typename Args, typename Fn>
void run(Fn fn, const Args& args, int64_t n) {
  parallel_for_chunks(n, kGrain, [&](int64_t b, int64_t e) { fn(args, b, e); });
}

}  // namespace

void sgd_update(float* w, const float* g, float* m, int64_t n, float lr, float momentum,
                bool nesterov, const OptimizerCommon& common) {
  check("sgd_update", n, w, g);
  if (momentum != 0.0f) need("sgd_update", m, "momentum");
  SgdArgs a{w, g, momentum != 0.0f ? m : nullptr, lr, momentum, nesterov ? 1 : 0, common_args(common)};
  run(pick().sgd, a, n);
}

void adam_update(float* w, const float* g, float* m, float* v, float* vhat, int64_t n, float lr,
                 float beta_1, float beta_2, float epsilon, int64_t step,
                 const OptimizerCommon& common) {
  check("adam_update", n, w, g);
  check_step("adam_update", step);
  need("adam_update", m, "momentum");
  need("adam_update", v, "velocity");
  const double t = static_cast<double>(step);
  const double alpha = double(lr) * std::sqrt(1.0 - std::pow(double(beta_2), t)) /
                       (1.0 - std::pow(double(beta_1), t));
  AdamArgs a{w, g, m, v, vhat, nullptr, static_cast<float>(alpha), 1.0f - beta_1,
             1.0f - beta_2, epsilon, common_args(common)};
  run(pick().adam, a, n);
}

void adam_update_token_rows(float* w, float* m, float* v, int64_t vocab, int64_t dim,
                            const int64_t* ids, int64_t n_ids, const float* g_rows,
                            const float* sq_rows, float lr, float beta_1, float beta_2,
                            float epsilon, int64_t step, float decay) {
  if (vocab < 0 || dim < 1 || n_ids < 0)
    throw std::invalid_argument("adam_update_token_rows: expected vocab >= 0, dim >= 1, "
                                "n_ids >= 0, received " + std::to_string(vocab) + ", " +
                                std::to_string(dim) + ", " + std::to_string(n_ids));
  check_step("adam_update_token_rows", step);
  // Which entry of g_rows/sq_rows each table row takes (-1: untouched, zero gradient).
  std::vector<int32_t> entry(static_cast<size_t>(vocab), -1);
  for (int64_t k = 0; k < n_ids; ++k) {
    const int64_t id = ids[k];
    if (id < 0 || id >= vocab)
      throw std::invalid_argument("adam_update_token_rows: id " + std::to_string(id) +
                                  " at position " + std::to_string(k) +
                                  " is out of range [0, " + std::to_string(vocab) + ")");
    if (entry[id] >= 0)
      throw std::invalid_argument("adam_update_token_rows: id " + std::to_string(id) +
                                  " repeats (the rows must be grouped per distinct id)");
    entry[id] = static_cast<int32_t>(k);
  }
  const double t = static_cast<double>(step);
  const float alpha = static_cast<float>(double(lr) * std::sqrt(1.0 - std::pow(double(beta_2), t)) /
                                         (1.0 - std::pow(double(beta_1), t)));
  const OptCommonArgs c{1.0f, -INFINITY, INFINITY, decay};
  const auto adam = pick().adam;
  const int64_t grain = std::max<int64_t>(1, kGrain / dim);
  parallel_for_chunks(vocab, grain, [&](int64_t r0, int64_t r1) {
    int64_t r = r0;
    while (r < r1) {
      int64_t end = r;  // a run of untouched rows, or one touched row
      while (end < r1 && entry[end] < 0) ++end;
      if (end > r) {
        AdamArgs a{w, nullptr, m, v, nullptr, nullptr, alpha, 1.0f - beta_1, 1.0f - beta_2,
                   epsilon, c};
        adam(a, r * dim, end * dim);
        r = end;
        continue;
      }
      const int64_t k = entry[r], off = r * dim;
      AdamArgs a{w + off, g_rows + k * dim, m + off, v + off, nullptr, sq_rows + k * dim, alpha,
                 1.0f - beta_1, 1.0f - beta_2, epsilon, c};
      adam(a, 0, dim);
      ++r;
    }
  });
}

void rmsprop_update(float* w, const float* g, float* velocity, float* momentum_buf,
                    float* average_grad, int64_t n, float lr, float rho, float momentum,
                    float epsilon, const OptimizerCommon& common) {
  check("rmsprop_update", n, w, g);
  need("rmsprop_update", velocity, "velocity");
  if (momentum > 0.0f) need("rmsprop_update", momentum_buf, "momentum");
  RmspropArgs a{w, g, velocity, momentum > 0.0f ? momentum_buf : nullptr, average_grad,
                lr, rho, 1.0f - rho, momentum, epsilon, common_args(common)};
  run(pick().rmsprop, a, n);
}

void adagrad_update(float* w, const float* g, float* accumulator, int64_t n, float lr,
                    float epsilon, const OptimizerCommon& common) {
  check("adagrad_update", n, w, g);
  need("adagrad_update", accumulator, "accumulator");
  AdagradArgs a{w, g, accumulator, lr, epsilon, common_args(common)};
  run(pick().adagrad, a, n);
}

void adadelta_update(float* w, const float* g, float* accumulated_grad, float* accumulated_delta,
                     int64_t n, float lr, float rho, float epsilon, const OptimizerCommon& common) {
  check("adadelta_update", n, w, g);
  need("adadelta_update", accumulated_grad, "accumulated_grad");
  need("adadelta_update", accumulated_delta, "accumulated_delta_var");
  AdadeltaArgs a{w, g, accumulated_grad, accumulated_delta, lr, rho, 1.0f - rho, epsilon,
                 common_args(common)};
  run(pick().adadelta, a, n);
}

void adamax_update(float* w, const float* g, float* m, float* u, int64_t n, float lr,
                   float beta_1, float beta_2, float epsilon, int64_t step,
                   const OptimizerCommon& common) {
  check("adamax_update", n, w, g);
  check_step("adamax_update", step);
  need("adamax_update", m, "momentum");
  need("adamax_update", u, "norm");
  const double lr_t = double(lr) / (1.0 - std::pow(double(beta_1), double(step)));
  AdamaxArgs a{w, g, m, u, static_cast<float>(lr_t), 1.0f - beta_1, beta_2, epsilon,
               common_args(common)};
  run(pick().adamax, a, n);
}

void nadam_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta_1,
                  float beta_2, float epsilon, int64_t step, double u_product,
                  const OptimizerCommon& common) {
  check("nadam_update", n, w, g);
  check_step("nadam_update", step);
  need("nadam_update", m, "momentum");
  need("nadam_update", v, "velocity");
  const double t = static_cast<double>(step), b1 = beta_1;
  const double u_t = b1 * (1.0 - 0.5 * std::pow(0.96, t));
  const double u_t1 = b1 * (1.0 - 0.5 * std::pow(0.96, t + 1.0));
  const double coef_m = u_t1 / (1.0 - u_product * u_t1);
  const double coef_g = (1.0 - u_t) / (1.0 - u_product);
  const double inv_bias2 = 1.0 / (1.0 - std::pow(double(beta_2), t));
  NadamArgs a{w, g, m, v, lr, 1.0f - beta_1, 1.0f - beta_2, static_cast<float>(coef_m),
              static_cast<float>(coef_g), static_cast<float>(inv_bias2), epsilon,
              common_args(common)};
  run(pick().nadam, a, n);
}

void ftrl_update(float* w, const float* g, float* accumulator, float* linear, int64_t n, float lr,
                 float learning_rate_power, float l1, float l2_total, float l2_shrinkage,
                 const OptimizerCommon& common) {
  check("ftrl_update", n, w, g);
  need("ftrl_update", accumulator, "accumulator");
  need("ftrl_update", linear, "linear");
  if (!(lr > 0.0f))
    throw std::invalid_argument("ftrl_update: learning rate must be > 0, got " + std::to_string(lr));
  FtrlArgs a{w, g, accumulator, linear, 1.0f / lr, -learning_rate_power, l1, 2.0f * l2_total,
             2.0f * l2_shrinkage, common_args(common)};
  run(pick().ftrl, a, n);
}

void lion_update(float* w, const float* g, float* m, int64_t n, float lr, float beta_1,
                 float beta_2, const OptimizerCommon& common) {
  check("lion_update", n, w, g);
  need("lion_update", m, "momentum");
  LionArgs a{w, g, m, lr, beta_1, 1.0f - beta_1, beta_2, 1.0f - beta_2, common_args(common)};
  run(pick().lion, a, n);
}

double sum_squares(const float* x, int64_t n) {
  if (n <= 0) return 0.0;
  if (x == nullptr) throw std::invalid_argument("sum_squares: null input");
  auto fn = pick().sum_squares;
  // One partial per thread, combined in thread order: same thread count, same bits.
  std::vector<double> partial(static_cast<size_t>(num_threads()) + 1, 0.0);
  parallel_for_chunks(n, kGrain, [&](int64_t b, int64_t e) {
    // Chunks are contiguous and ordered by thread id; index partials by position.
    const size_t slot = static_cast<size_t>((b * static_cast<int64_t>(partial.size() - 1)) / n);
    partial[slot] = fn(x, b, e);
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

void ema_update(float* average, const float* w, int64_t n, float momentum) {
  check("ema_update", n, average, w);
  auto fn = pick().ema;
  parallel_for_chunks(n, kGrain, [&](int64_t b, int64_t e) { fn(average, w, momentum, b, e); });
}

}  // namespace nnfast
