// Fused loss kernels. Each forward writes one loss value per row (sample); the Python
// side applies sample weights and the reduction. Each backward takes the upstream
// gradient of every row's loss (`drow`, length rows) and writes d loss / d prediction.
#pragma once
#include <cstdint>

namespace nnfast {

// Softmax + categorical cross-entropy from logits. Labels are either one-hot/soft targets
// `target` (rows, cols) or class ids `labels` (rows) — exactly one is non-null.
// `probs` receives softmax(logits), reused by the backward pass.
// Throws std::invalid_argument (naming the row) when a class id is outside [0, cols).
void softmax_cross_entropy_forward(const float* logits, const float* target,
                                   const int64_t* labels, int64_t rows, int64_t cols,
                                   float* probs, float* loss);
// dlogits[i, j] = drow[i] * (probs[i, j] - y[i, j]).
void softmax_cross_entropy_backward(const float* probs, const float* target,
                                    const int64_t* labels, const float* drow, int64_t rows,
                                    int64_t cols, float* dlogits);

// Categorical cross-entropy on probabilities as Keras computes it without logits:
// p <- p / sum(p), clipped to [eps, 1 - eps], loss = -sum(y * log p).
void categorical_crossentropy_forward(const float* probs, const float* target,
                                      const int64_t* labels, int64_t rows, int64_t cols,
                                      float eps, float* loss);
void categorical_crossentropy_backward(const float* probs, const float* target,
                                       const int64_t* labels, const float* drow, int64_t rows,
                                       int64_t cols, float eps, float* dprobs);

// Binary cross-entropy, mean over the last axis. from_logits selects the stable
// sigmoid form; otherwise p is clipped to [eps, 1 - eps].
void binary_crossentropy_forward(const float* pred, const float* target, int64_t rows,
                                 int64_t cols, bool from_logits, float eps, float* loss);
void binary_crossentropy_backward(const float* pred, const float* target, const float* drow,
                                  int64_t rows, int64_t cols, bool from_logits, float eps,
                                  float* dpred);

// Mean squared / absolute error, mean over the last axis.
void mean_squared_error_forward(const float* pred, const float* target, int64_t rows,
                                int64_t cols, float* loss);
void mean_squared_error_backward(const float* pred, const float* target, const float* drow,
                                 int64_t rows, int64_t cols, float* dpred);
void mean_absolute_error_forward(const float* pred, const float* target, int64_t rows,
                                 int64_t cols, float* loss);
void mean_absolute_error_backward(const float* pred, const float* target, const float* drow,
                                  int64_t rows, int64_t cols, float* dpred);

}  // namespace nnfast
