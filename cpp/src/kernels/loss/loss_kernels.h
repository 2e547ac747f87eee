// Per-ISA loss kernels over `rows` rows of `cols` (the driver, src/ops/loss.cpp, validates and
// splits rows across threads, offsetting every row-indexed pointer). Semantics as in
// nnfast/loss.h; exactly one of target / labels is non-null where both appear.
#pragma once
#include <stdint.h>

namespace nnfast::kernels {

struct LossKernels {
  void (*softmax_ce_forward)(const float* logits, const float* target, const int64_t* labels,
                             int64_t rows, int64_t cols, float* probs, float* loss);
  void (*softmax_ce_backward)(const float* probs, const float* target, const int64_t* labels,
                              const float* drow, int64_t rows, int64_t cols, float* dlogits);
  void (*categorical_ce_forward)(const float* probs, const float* target,
                                 const int64_t* labels, int64_t rows, int64_t cols, float eps,
                                 float* loss);
  void (*categorical_ce_backward)(const float* probs, const float* target,
                                  const int64_t* labels, const float* drow, int64_t rows,
                                  int64_t cols, float eps, float* dprobs);
  void (*binary_ce_forward)(const float* pred, const float* target, int64_t rows, int64_t cols,
                            bool from_logits, float eps, float* loss);
  void (*binary_ce_backward)(const float* pred, const float* target, const float* drow,
                             int64_t rows, int64_t cols, bool from_logits, float eps,
                             float* dpred);
  void (*mse_forward)(const float* pred, const float* target, int64_t rows, int64_t cols,
                      float* loss);
  void (*mse_backward)(const float* pred, const float* target, const float* drow, int64_t rows,
                       int64_t cols, float* dpred);
  void (*mae_forward)(const float* pred, const float* target, int64_t rows, int64_t cols,
                      float* loss);
  void (*mae_backward)(const float* pred, const float* target, const float* drow, int64_t rows,
                       int64_t cols, float* dpred);
};

extern const LossKernels f32_loss_ref;
extern const LossKernels f32_loss_avx2;
extern const LossKernels f32_loss_avx512;

}  // namespace nnfast::kernels
