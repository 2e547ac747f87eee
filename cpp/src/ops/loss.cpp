// Loss drivers: validate, pick the kernels for the active ISA, split rows across threads.
#include "nnfast/loss.h"

#include <stdexcept>
#include <string>

#include "kernels/loss/loss_kernels.h"
#include "ops/parallel.h"
#include "runtime/dispatch.h"

namespace nnfast {
namespace {

constexpr int64_t kGrain = 1 << 15;

const dispatch::Registry<kernels::LossKernels> kLoss{
    "loss",
    {{Isa::avx512, "f32_loss_avx512", &kernels::f32_loss_avx512},
     {Isa::avx2, "f32_loss_avx2", &kernels::f32_loss_avx2},
     {Isa::ref, "f32_loss_ref", &kernels::f32_loss_ref}}};

void check_labels(const int64_t* labels, int64_t rows, int64_t cols) {
  if (labels == nullptr) return;
  for (int64_t i = 0; i < rows; ++i)
    if (labels[i] < 0 || labels[i] >= cols)
      throw std::invalid_argument("label " + std::to_string(labels[i]) + " at row " +
                                  std::to_string(i) + " is outside [0, " + std::to_string(cols) +
                                  ") for predictions of shape (" + std::to_string(rows) + ", " +
                                  std::to_string(cols) + ")");
}

void check_one_target(const float* target, const int64_t* labels) {
  if ((target == nullptr) == (labels == nullptr))
    throw std::invalid_argument("loss: give exactly one of dense targets or integer labels");
}

// Offsets a row-indexed pointer (null stays null).
template <typename T>
T* rows_from(T* p, int64_t r0, int64_t cols) {
  return p ? p + r0 * cols : nullptr;
}

}  // namespace

void softmax_cross_entropy_forward(const float* logits, const float* target,
                                   const int64_t* labels, int64_t rows, int64_t cols,
                                   float* probs, float* loss) {
  check_one_target(target, labels);
  check_labels(labels, rows, cols);
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.softmax_ce_forward(logits + r0 * cols, rows_from(target, r0, cols),
                         rows_from(labels, r0, 1), r1 - r0, cols, probs + r0 * cols, loss + r0);
  });
}

void softmax_cross_entropy_backward(const float* probs, const float* target,
                                    const int64_t* labels, const float* drow, int64_t rows,
                                    int64_t cols, float* dlogits) {
  check_one_target(target, labels);
  check_labels(labels, rows, cols);
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.softmax_ce_backward(probs + r0 * cols, rows_from(target, r0, cols),
                          rows_from(labels, r0, 1), drow + r0, r1 - r0, cols,
                          dlogits + r0 * cols);
  });
}

void categorical_crossentropy_forward(const float* probs, const float* target,
                                      const int64_t* labels, int64_t rows, int64_t cols,
                                      float eps, float* loss) {
  check_one_target(target, labels);
  check_labels(labels, rows, cols);
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.categorical_ce_forward(probs + r0 * cols, rows_from(target, r0, cols),
                             rows_from(labels, r0, 1), r1 - r0, cols, eps, loss + r0);
  });
}

void categorical_crossentropy_backward(const float* probs, const float* target,
                                       const int64_t* labels, const float* drow, int64_t rows,
                                       int64_t cols, float eps, float* dprobs) {
  check_one_target(target, labels);
  check_labels(labels, rows, cols);
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.categorical_ce_backward(probs + r0 * cols, rows_from(target, r0, cols),
                              rows_from(labels, r0, 1), drow + r0, r1 - r0, cols, eps,
                              dprobs + r0 * cols);
  });
}

void binary_crossentropy_forward(const float* pred, const float* target, int64_t rows,
                                 int64_t cols, bool from_logits, float eps, float* loss) {
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.binary_ce_forward(pred + r0 * cols, target + r0 * cols, r1 - r0, cols, from_logits, eps,
                        loss + r0);
  });
}

void binary_crossentropy_backward(const float* pred, const float* target, const float* drow,
                                  int64_t rows, int64_t cols, bool from_logits, float eps,
                                  float* dpred) {
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.binary_ce_backward(pred + r0 * cols, target + r0 * cols, drow + r0, r1 - r0, cols,
                         from_logits, eps, dpred + r0 * cols);
  });
}

void mean_squared_error_forward(const float* pred, const float* target, int64_t rows,
                                int64_t cols, float* loss) {
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.mse_forward(pred + r0 * cols, target + r0 * cols, r1 - r0, cols, loss + r0);
  });
}

void mean_squared_error_backward(const float* pred, const float* target, const float* drow,
                                 int64_t rows, int64_t cols, float* dpred) {
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.mse_backward(pred + r0 * cols, target + r0 * cols, drow + r0, r1 - r0, cols,
                   dpred + r0 * cols);
  });
}

void mean_absolute_error_forward(const float* pred, const float* target, int64_t rows,
                                 int64_t cols, float* loss) {
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.mae_forward(pred + r0 * cols, target + r0 * cols, r1 - r0, cols, loss + r0);
  });
}

void mean_absolute_error_backward(const float* pred, const float* target, const float* drow,
                                  int64_t rows, int64_t cols, float* dpred) {
  const kernels::LossKernels& k = *kLoss.select().fns;
  parallel_for_rows(rows, cols, kGrain, [&](int64_t r0, int64_t r1) {
    k.mae_backward(pred + r0 * cols, target + r0 * cols, drow + r0, r1 - r0, cols,
                   dpred + r0 * cols);
  });
}

}  // namespace nnfast
